"""Writers: windowed PNG, full-range 16-bit TIFF, derived DICOM and Secondary Capture.

Every writer

* writes to a temporary file in the target folder, flushes and fsyncs it, then ``os.replace``\\ s it
  onto the target — a failure at any point leaves the target untouched and no temporary file;
* refuses to write onto its source image, or onto any file :func:`app.io.read_image` has read in
  this process (:class:`SourceOverwriteError`), comparing resolved paths and ``os.path.samefile``;
* labels the result as computed: "SR ×2.5 RMISR-VP — computed, not acquired" (PNG text chunk,
  TIFF ImageDescription, DICOM ImageType DERIVED\\SECONDARY, DerivationDescription, ImageComments).

Derived DICOM (``docs/design.md``, "Image I/O"): a processed image is a new instance, so new SOP
Instance and Series UIDs (Study, Patient and Frame of Reference kept), DerivationCodeSequence
(113085, DCM, "Spatial resampling", the image-derivation code that fits upscaling),
SourceImageSequence with purpose (121322, DCM, "Source image for image processing
operation"), PixelSpacing ÷ scale, ImagePositionPatient moved to the centre of the first output
pixel, pixel values back in the source's stored-value domain (rescale preserved), uncompressed
Explicit VR Little Endian.

Output-grid geometry (the engine's, :mod:`models.geometry`): for an ROI (x, y, w, h) and scale s the
output has (round(h·s), round(w·s)) pixels and output pixel (i, j) is centred on source pixel
coordinate (x + (j + 0.5)/s − 0.5, y + (i + 0.5)/s − 0.5). Hence the output spacing is the source
spacing ÷ s (the *nominal* scale, which is what the resampler uses; the rounded extent may end up to
half an output pixel beyond the ROI edge) and the first pixel's centre is at source coordinate
(x + 0.5/s − 0.5, y + 0.5/s − 0.5).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from ._atomic import _as_path, as_image_array, atomic_write, source_paths, write_text
from ._dicom_writer import (DerivedReport, DerivedSeries, write_dicom_derived,
                            write_secondary_capture)
from ._raster import TIFF_DESCRIPTION_FORMAT
from .errors import WriteError
from .image_data import ImageData
from .labels import SOFTWARE, computed_label, method_label
from .padding import restore_padding
from .roi import validate_roi, validate_scale
from .sheet import add_caption
from .windowing import apply_window

__all__ = ["check_format_fits", "write_png", "write_tiff16", "TiffEncoding",
           "write_dicom_derived", "write_secondary_capture", "write_image", "write_text",
           "DerivedReport", "DerivedSeries", "WrittenImage", "computed_label", "method_label",
           "format_for_path", "TIFF_DESCRIPTION_FORMAT"]


# --------------------------------------------------------------------------- PNG


def write_png(path: str | os.PathLike[str], pixels: np.ndarray, center: float, width: float,
              invert: bool = False, *, source: ImageData | str | os.PathLike[str] | None = None,
              label: str | None = None, caption: bool = False,
              function: str | None = None) -> Path:
    """Write an 8-bit PNG of ``pixels`` displayed through the window (center, width).

    Grey input is windowed (the DICOM VOI LUT function: ``function``, else the source's
    ``voi_function``, else linear; the source's VOI LUT when the window is that one's) and
    optionally inverted; colour input is windowed per
    channel with the same window (the full-range window of an 8-bit image just clips to 0–255) and
    written as 8-bit RGB.

    Args:
        path: target file.
        pixels: (H, W) or (H, W, 3) values in the window's units.
        center: window centre.
        width: window width.
        invert: display inverted (MONOCHROME1); ignored for colour.
        source: the source image or its path: never overwritten.
        label: text stored in the PNG "Description" chunk (e.g. :func:`computed_label`).
        caption: also burn ``label`` into a strip below the image (:func:`add_caption`), so the
            picture says "computed" wherever it is pasted; the "Caption" text chunk gives the
            strip's height. The image's own pixels are unchanged above the strip.

    Returns:
        The path written.
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    target = _as_path(path, "path")
    arr = as_image_array(pixels, target)
    if function is None:
        function = getattr(source, "voi_function", "LINEAR") if arr.ndim == 2 else "LINEAR"
    lut = getattr(source, "voi_lut", None)
    lut_used = lut is not None and arr.ndim == 2 and (float(center), float(width)) == lut.window
    display = apply_window(arr, center, width, invert=invert and arr.ndim == 2, function=function,
                           lut=lut if lut_used else None)
    info = PngInfo()
    info.add_text("Software", SOFTWARE)
    if label:
        info.add_itxt("Description", label)
    if caption and label:
        image_h, image_w = display.shape[:2]
        display = add_caption(display, label)
        info.add_text("Caption", f"image {image_w}x{image_h} at top left; caption strip "
                      f"{display.shape[0] - image_h} px below")
    image = Image.fromarray(display, mode="L" if display.ndim == 2 else "RGB")
    info.add_text("Window", ("the source's VOI LUT" if lut_used else
                             f"center={float(center):g} width={float(width):g}"
                             + (f" function={function}" if function != "LINEAR" else ""))
                  + (" inverted" if invert and arr.ndim == 2 else ""))

    def write(fh: IO[bytes]) -> None:
        image.save(fh, format="PNG", pnginfo=info)

    return atomic_write(target, write, sources=source_paths(source))


# --------------------------------------------------------------------------- TIFF


@dataclass(frozen=True)
class TiffEncoding:
    """How :func:`write_tiff16` stored the values: **value = offset + scale · stored**.

    Attributes:
        offset: the value of stored 0.
        scale: the value step of one stored unit (the source's rescale slope, 1 for integer data,
            or range / 65535 where the values have no grid or it needs more than 16 bits).
        clipped_low / clipped_high: pixels outside 0–65535 after encoding (0 unless the caller
            forced ``offset``/``scale``).
    """

    offset: float
    scale: float
    clipped_low: int = 0
    clipped_high: int = 0

    @property
    def warnings(self) -> list[str]:
        """What the user should be told: values clipped to the 16-bit range."""
        if not self.clipped_low and not self.clipped_high:
            return []
        return [f"{self.clipped_low + self.clipped_high} pixel value(s) outside the 16-bit range "
                f"were clipped ({self.clipped_low} below, {self.clipped_high} above)"]


def _tiff_grid(arr: np.ndarray, slope: float, intercept: float,
               stored_range: tuple[float, float] | None) -> tuple[float, float]:
    """(offset, scale) on the value grid ``intercept + slope · n`` when 16 bits of it hold the
    data, else the data's own range in 65,535 steps."""
    data_min, data_max = float(np.min(arr)), float(np.max(arr))
    if data_min >= intercept:
        offset = intercept
    elif stored_range is not None and math.isfinite(float(stored_range[0])) and \
            float(stored_range[0]) <= data_min and \
            (float(stored_range[1]) - float(stored_range[0])) / slope <= 65535:
        offset = float(stored_range[0])
    else:
        offset = intercept + slope * math.floor((data_min - intercept) / slope)
    if round((data_max - offset) / slope) <= 65535:
        return offset, slope
    return _tiff_span(data_min, data_max)


def _tiff_span(data_min: float, data_max: float) -> tuple[float, float]:
    return data_min, ((data_max - data_min) / 65535.0) if data_max > data_min else 1.0


def write_tiff16(path: str | os.PathLike[str], pixels: np.ndarray, *,
                 offset: float | None = None, scale: float | None = None, unit: str | None = None,
                 computed: str = "", source: ImageData | str | os.PathLike[str] | None = None,
                 stored_range: tuple[float, float] | None = None,
                 pixel_spacing: tuple[float, float] | None = None,
                 invert: bool | None = None) -> TiffEncoding:
    """Write a 16-bit TIFF that keeps the full intensity range.

    Stored value = round((value − offset) / scale), i.e. **value = offset + scale · stored**. By
    default the values keep the source's quantisation: ``scale`` is the source's rescale slope (1
    for integer data: PNG, most CT), and ``offset`` is the rescale intercept when no value lies
    below it (−1024 for a CT with intercept −1024, so the TIFF holds the scanner's stored values),
    else the minimum of the representable range when 16 bits of the grid span it, else the grid
    step below the data minimum. Where 16 bits of that grid cannot hold the data (a PET volume in
    Bq/ml with slope 100 and a wide range), and for floating-point sources, the data's own range
    is spread over 0–65535 instead, so nothing is clipped. The ImageDescription tag holds JSON,
    e.g.::

        {"format": "rmisr-tiff16/1", "offset": -1024, "scale": 1, "unit": "HU",
         "value": "offset + scale * stored", "computed": "SR ×2.5 RMISR-VP — computed, not
         acquired", "clipped_low": 0, "clipped_high": 0}

    :func:`app.io.read_image` reads that description back and returns values in the original
    units. A MONOCHROME1 source (``invert``) is written min-is-white, so that it displays the same.

    Args:
        path: target file.
        pixels: (H, W) or (H, W, 3) values.
        offset: value stored as 0; default as above.
        scale: value step of one stored unit (> 0); default as above (1 when ``offset`` is given).
        unit: value unit for the description (default: the source's ``value_unit``).
        computed: provenance label (e.g. :func:`computed_label`).
        source: the source image (range, unit, rescale, polarity; never overwritten) or its path.
        stored_range: representable range used for the default offset (default: the source's).
        pixel_spacing: (row, col) mm of the written pixels, stored as TIFF resolution (px/cm).
        invert: write min-is-white (default: the source's ``invert`` for greyscale).

    Returns:
        The :class:`TiffEncoding` used (offset, scale, clipped counts).
    """
    import tifffile

    target = _as_path(path, "path")
    arr = as_image_array(pixels, target).astype(np.float64)
    slope, intercept, graded = 1.0, 0.0, True
    if isinstance(source, ImageData):
        stored_range = stored_range if stored_range is not None else source.stored_range
        unit = unit if unit is not None else source.value_unit
        invert = source.invert if invert is None else invert
        if source.bits_stored is None:  # floating-point data: no grid to keep
            graded = False
        elif source.rescale is not None and all(math.isfinite(v) for v in source.rescale) \
                and source.rescale[0] > 0:
            slope, intercept = float(source.rescale[0]), float(source.rescale[1])
    if offset is None and scale is None:
        offset, scale = (_tiff_grid(arr, slope, intercept, stored_range) if graded else
                         _tiff_span(float(np.min(arr)), float(np.max(arr))))
    offset = float(offset) if offset is not None else float(np.min(arr))
    scale = float(scale) if scale is not None else 1.0
    if not math.isfinite(offset):
        raise WriteError(f"invalid TIFF offset {offset!r}", target)
    if not (math.isfinite(scale) and scale > 0):
        raise WriteError(f"invalid TIFF scale {scale!r}", target)
    stored = np.round((arr - offset) / scale)
    clipped_low, clipped_high = int(np.sum(stored < 0)), int(np.sum(stored > 65535))
    data = np.clip(stored, 0, 65535).astype(np.uint16)
    description: dict[str, Any] = {
        "format": TIFF_DESCRIPTION_FORMAT, "offset": int(offset) if offset.is_integer() else offset,
        "scale": int(scale) if scale.is_integer() else scale, "unit": unit or "",
        "value": "offset + scale * stored",
        "computed": computed, "clipped_low": clipped_low, "clipped_high": clipped_high}
    if isinstance(source, ImageData):
        description["source"] = source.source_path.name
    extra: dict[str, Any] = {}
    if pixel_spacing is not None and all(v and v > 0 for v in pixel_spacing):
        description["pixel_spacing_mm"] = [float(pixel_spacing[0]), float(pixel_spacing[1])]
        extra = {"resolution": (10.0 / pixel_spacing[1], 10.0 / pixel_spacing[0]),
                 "resolutionunit": "CENTIMETER"}
    text = json.dumps(description, ensure_ascii=True)
    photometric = "rgb" if data.ndim == 3 else ("miniswhite" if invert else "minisblack")

    def write(fh: IO[bytes]) -> None:
        tifffile.imwrite(fh, data, photometric=photometric,
                         description=text, metadata=None, software=SOFTWARE, **extra)

    atomic_write(target, write, sources=source_paths(source))
    return TiffEncoding(offset, scale, clipped_low, clipped_high)


# --------------------------------------------------------------------------- dispatch


@dataclass
class WrittenImage:
    """Result of :func:`write_image`.

    Attributes:
        path: the file written.
        fmt: "png", "tiff" or "dcm".
        tiff: the :class:`TiffEncoding` (value = offset + scale · stored) for "tiff".
        dicom: the :class:`DerivedReport` for "dcm".
    """

    path: Path
    fmt: Literal["png", "tiff", "dcm"]
    tiff: TiffEncoding | None = None
    dicom: DerivedReport | None = None

    @property
    def warnings(self) -> list[str]:
        """What the user should be told about the file written (values clipped to the stored
        range, attributes dropped); empty when nothing."""
        if self.tiff is not None:
            return self.tiff.warnings
        return list(self.dicom.warnings) if self.dicom is not None else []


_EXT_FORMATS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".dcm": "dcm", ".dicom": "dcm"}


#: the most rows or columns a DICOM image holds (Rows and Columns are unsigned 16-bit)
DICOM_MAX_SIDE = 65_535


def check_format_fits(fmt: str, rows: int, columns: int,
                      target: str | os.PathLike[str] | None = None) -> None:
    """WriteError where a ``rows`` × ``columns`` result cannot be written as ``fmt`` (a DICOM
    image has at most :data:`DICOM_MAX_SIDE` of each) — callers check before they compute."""
    if fmt == "dcm" and max(rows, columns) > DICOM_MAX_SIDE:
        raise WriteError(f"a {columns}×{rows} px result does not fit DICOM (at most "
                         f"{DICOM_MAX_SIDE:,} rows and columns): write it as TIFF or PNG, or "
                         "choose a smaller region or scale", target)


def format_for_path(path: str | os.PathLike[str]) -> str | None:
    """"png", "tiff" or "dcm" from a file name's extension, or None."""
    return _EXT_FORMATS.get(Path(path).suffix.lower())


def write_image(path: str | os.PathLike[str], pixels: np.ndarray, *, source: ImageData,
                fmt: Literal["png", "tiff", "dcm"] | None = None, scale: float,
                roi: tuple[int, int, int, int] | None = None, method: str,
                weights_sha256: str | None = None, window: tuple[float, float] | None = None,
                invert: bool | None = None, description_extra: str = "",
                caption: bool = True, series_instance_uid: str | None = None) -> WrittenImage:
    """Write a super-resolution result in the format named by ``fmt`` or the file extension.

    * "png": 8-bit, through ``window`` (default: the source's) and the source's invert flag,
      with the computed label burnt into a strip below the image unless ``caption`` is False;
    * "tiff": 16-bit full range (:func:`write_tiff16`), spacing ÷ scale as resolution;
    * "dcm": derived DICOM for a DICOM source (joining ``series_instance_uid`` when given: see
      :func:`write_dicom_derived`), Secondary Capture otherwise (its own study and series).

    Raises:
        WriteError: unknown format; plus the errors of the chosen writer.
    """
    target = _as_path(path, "path")
    if not isinstance(source, ImageData):
        raise ValueError(f"source must be the ImageData read with read_image, got "
                         f"{type(source).__name__}")
    chosen = fmt or format_for_path(target)
    if chosen not in ("png", "tiff", "dcm"):
        raise WriteError(f"unknown output format {fmt or target.suffix!r}: use .png, .tif/.tiff "
                         "or .dcm", target)
    s = validate_scale(scale)
    check_format_fits(chosen, *np.shape(pixels)[:2], target)
    # outside the scanned field of view stays padding (the engine saw it filled with the
    # nearest tissue: app.io.padding)
    if source.padding is not None:
        pixels = restore_padding(pixels, source, validate_roi(roi, source), s)
    label = computed_label(s, method)
    if chosen == "png":
        c, w = window if window is not None else source.window
        inv = source.invert if invert is None else invert
        write_png(target, pixels, c, w, inv, source=source, label=label, caption=caption)
        return WrittenImage(target, "png")
    if chosen == "tiff":
        spacing = None
        if source.pixel_spacing is not None:
            spacing = (source.pixel_spacing[0] / s, source.pixel_spacing[1] / s)
        encoding = write_tiff16(target, pixels, source=source, computed=label,
                                pixel_spacing=spacing, invert=invert)
        return WrittenImage(target, "tiff", tiff=encoding)
    if source.kind == "dicom" and source.dataset is not None:
        report = write_dicom_derived(target, source, pixels, scale=s, roi=roi, method=method,
                                     weights_sha256=weights_sha256,
                                     description_extra=description_extra, window=window,
                                     series_instance_uid=series_instance_uid)
    else:
        report = write_secondary_capture(target, pixels, source=source, scale=s, roi=roi,
                                         method=method, weights_sha256=weights_sha256,
                                         description_extra=description_extra, window=window)
    return WrittenImage(target, "dcm", dicom=report)
