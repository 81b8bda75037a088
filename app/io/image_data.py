"""The one result type of :func:`app.io.read_image`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

    from .windowing import VoiLut

__all__ = ["ImageData"]


def measured_values(pixels: np.ndarray, padding: np.ndarray | None) -> np.ndarray:
    """``pixels`` without the ``padding`` pixels (flattened), or ``pixels`` itself when there is
    no padding mask (a reader sets one only where some pixel is padding)."""
    return pixels if padding is None else pixels[~padding]


def non_finite_reason(values: np.ndarray) -> str:
    """Why ``values`` (as decoded, before the float32 conversion of :attr:`ImageData.pixels`)
    give non-finite pixels: NaN/infinity in the file, or finite values beyond float32's range
    (±3.4e38), which the viewer and the engine compute in and cannot hold."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)):
        peak = float(np.max(np.abs(arr)))
        return (f"the pixel values reach {peak:.6g}, beyond the float32 range (±3.4028e+38) "
                "the viewer computes in: rescale the data (e.g. to other units) first")
    return "the pixel values contain NaN or infinity"


@dataclass
class ImageData:
    """Full-range pixels of one frame plus the metadata the viewer, the engine and the writers need.

    Attributes:
        pixels: float32, (H, W) grey or (H, W, 3) RGB, in modality units at full range: CT in HU
            (after Rescale Slope/Intercept), MR/CR stored values, raster 8/16-bit values as stored.
            MONOCHROME1 pixels are *not* inverted (see ``invert``).
        source_path: the file read.
        kind: ``"dicom"`` or ``"raster"``.
        modality: DICOM Modality ("CT", "MR", "CR", …); "OT" for rasters.
        photometric: the interpretation of ``pixels``: "MONOCHROME1", "MONOCHROME2" or "RGB"
            (YBR and PALETTE COLOR sources are converted to RGB; see ``source_photometric``).
        invert: display inverted (MONOCHROME1: minimum shown white), applied after windowing.
        window: default display window (centre, width) in the units of ``pixels``: the file's first
            VOI window, else a full-range window for 8-bit and colour data, else
            :func:`app.io.auto_window`.
        windows: every VOI window of the file as (centre, width, explanation).
        voi_function: the file's VOI LUT Function (PS3.3 C.11.2.1.3: "LINEAR", "LINEAR_EXACT"
            or "SIGMOID"), used with every window the image is shown through; "LINEAR" when
            absent or not a defined term (a read warning says so).
        voi_lut: the file's VOI LUT (:class:`app.io.windowing.VoiLut`), applied while its
            window (the last of ``windows``) is the one shown; None when there is none.
        pixel_spacing: (row spacing, column spacing) in mm — PixelSpacing, else
            ImagerPixelSpacing; None when absent, zero or malformed.
        image_position: ImagePositionPatient of the first pixel's centre (mm), or None.
        image_orientation: ImageOrientationPatient (row direction cosines, then column), or None.
        stored_range: (min, max) representable values in the units of ``pixels`` (from BitsStored,
            PixelRepresentation and the rescale; (0, 255) for 8-bit rasters, (0, 65535) for 16-bit).
        value_unit: "HU" for CT with a rescale, the Rescale Type or dose unit where given, else "".
        frame: 0-based index of the frame read.
        n_frames: number of frames (pages) in the file.
        dataset: the DICOM header (Pixel Data removed) to derive new instances from; None for
            rasters.
        bits_stored: BitsStored (DICOM) or the sample bit depth (raster); None for float data.
        description: short human text, e.g. "CT · 512×512 · 0.84 mm".
        rescale: (slope, intercept) with ``pixels = slope·stored + intercept``; (1, 0) for data
            without a rescale, None when a Modality LUT Sequence (not invertible) was applied.
        spacing_source: which attribute gave ``pixel_spacing`` ("PixelSpacing" — top level or
            the frame's Pixel Measures functional group — or "ImagerPixelSpacing"), or "".
        source_photometric: the file's PhotometricInterpretation (or the raster's Pillow mode).
        transfer_syntax: DICOM transfer syntax name, or the raster format ("PNG", "TIFF", …).
        lossy: the source says it was lossy compressed (LossyImageCompression "01", JPEG raster).
        warnings: non-fatal problems met while reading (shown in diagnostics).
        padding: True where the pixel is PixelPaddingValue (to PixelPaddingRangeLimit): outside
            the scanned field of view, not a measurement — left out of statistics, the default
            window and the engine's normalisation. None when the file declares no padding.
        overlay: True where the file's overlay planes (60xx: graphics, regions) mark the
            frame, in its pixels; None when it has none. Shown over the image, never part of
            the pixels the engine or the statistics see.
    """

    pixels: np.ndarray
    source_path: Path
    kind: Literal["dicom", "raster"]
    modality: str = "OT"
    photometric: str = "MONOCHROME2"
    invert: bool = False
    window: tuple[float, float] = (0.5, 1.0)
    windows: list[tuple[float, float, str]] = field(default_factory=list)
    voi_function: str = "LINEAR"
    voi_lut: VoiLut | None = None
    pixel_spacing: tuple[float, float] | None = None
    image_position: tuple[float, float, float] | None = None
    image_orientation: tuple[float, float, float, float, float, float] | None = None
    stored_range: tuple[float, float] = (0.0, 255.0)
    value_unit: str = ""
    frame: int = 0
    n_frames: int = 1
    dataset: pydicom.Dataset | None = None
    bits_stored: int | None = None
    description: str = ""
    rescale: tuple[float, float] | None = (1.0, 0.0)
    spacing_source: str = ""
    source_photometric: str = ""
    transfer_syntax: str = ""
    lossy: bool = False
    warnings: list[str] = field(default_factory=list)
    padding: np.ndarray | None = None
    overlay: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.source_path = Path(self.source_path)
        if not self.description:
            self.description = self.make_description()

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``pixels``."""
        return tuple(self.pixels.shape)

    @property
    def height(self) -> int:
        """Number of rows."""
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(self.pixels.shape[1])

    @property
    def is_colour(self) -> bool:
        """True for (H, W, 3) RGB pixels."""
        return self.pixels.ndim == 3

    def measured(self) -> np.ndarray:
        """The pixel values that are measurements: :func:`measured_values` of ``pixels``."""
        return measured_values(self.pixels, self.padding)

    def normalization_range(self) -> tuple[float, float] | None:
        """(min, max) of the measured values when the image has padding: the span the engine's
        ``range`` normalisation should use (``value_range``) so that padding does not squeeze
        the tissue's contrast. None without padding (the engine then takes the image's
        min–max) or when every pixel is padding.

        An 8-bit image without a rescale gives its stored range (0, 255): what the networks saw
        in training, and how the benchmark tables score them (a min–max stretch of an 8-bit
        photograph or screenshot feeds them contrast they were not trained on)."""
        if self.padding is None and self.bits_stored == 8 and self.rescale == (1.0, 0.0):
            return self.stored_range
        if self.padding is None or self.padding.all():
            return None
        values = self.measured()
        return float(values.min()), float(values.max())

    def make_description(self) -> str:
        """"CT · 512×512 · 0.84 mm" style summary (columns × rows, as image
        sizes are written)."""
        parts = [self.modality or "OT", f"{self.width}×{self.height}"]
        if self.pixel_spacing is not None:
            rs, cs = self.pixel_spacing
            parts.append(f"{cs:.2f} mm" if abs(rs - cs) < 1e-6 else f"{rs:.2f}×{cs:.2f} mm")
        if self.is_colour:
            parts.append("RGB")
        if self.n_frames > 1:
            parts.append(f"frame {self.frame + 1}/{self.n_frames}")
        if self.photometric == "MONOCHROME1":
            parts.append("MONOCHROME1")
        return " · ".join(parts)
