"""DICOM reading with pydicom: one frame → :class:`ImageData` in modality units.

:func:`read_dicom` turns the stored values of one decoded frame into modality units (palette
colour, Modality LUT Sequence, Rescale Slope/Intercept, RT Dose grid scaling) and assembles the
:class:`ImageData`. The file parsing and pixel decoding it calls live in
:mod:`app.io._dicom_decode`, what the frame's header says (windows, VOI LUT, spacing, position,
orientation, padding) in :mod:`app.io._dicom_meta`.
"""
from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut
from pydicom.uid import UID

from ._dicom_decode import (PIXEL_KEYWORDS, _check_decodable, _check_frames_held, _decode,
                            _ensure_transfer_syntax, _int_attr, _read_dataset)
from ._dicom_meta import (_inverted, _num, _padding_mask, _plane_geometry, _voi_function,
                          _voi_lut, _windows, frame_dataset, overlay_mask)
from .errors import (CorruptFileError, FrameOutOfRangeError, ImageIOError, ImageTooLargeError,
                     InvalidPixelsError, NoPixelDataError, NotAnImageError, TruncatedFileError,
                     UnsupportedImageError, UnsupportedTransferSyntaxError)
from .image_data import ImageData, measured_values, non_finite_reason
from .limits import MAX_PIXELS, MAX_TOTAL_PIXELS
from .windowing import auto_window, full_range_window

__all__ = ["read_dicom", "frame_dataset", "PIXEL_KEYWORDS", "LOSSY_TRANSFER_SYNTAXES"]

#: Transfer syntaxes that are always lossy (JPEG 2000 "1.2.840.10008.1.2.4.91" may be either, so it
#: counts as lossy only when LossyImageCompression says "01").
LOSSY_TRANSFER_SYNTAXES = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1",   # JPEG Baseline
    "1.2.840.10008.1.2.4.51": "ISO_10918_1",   # JPEG Extended
    "1.2.840.10008.1.2.4.81": "ISO_14495_1",   # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.100": "ISO_13818_2",  # MPEG2
    "1.2.840.10008.1.2.4.102": "ISO_14496_10",  # MPEG-4 AVC
}


#: (7FE0,0010) Pixel Data as it starts an explicit or implicit little-endian element
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"


def _holds(path: Path, needle: bytes) -> bool:
    """Whether the file's bytes contain ``needle`` (mapped, not read into memory)."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(needle) >= 0
    except (OSError, ValueError):  # an empty or unmappable file
        return False


def _stored_limits(bits_stored: int, signed: bool) -> tuple[float, float]:
    if signed:
        return -(2.0 ** (bits_stored - 1)), 2.0 ** (bits_stored - 1) - 1
    return 0.0, 2.0 ** bits_stored - 1


def read_dicom(path: Path, frame: int, *, sniffed: bool) -> ImageData:
    """Read frame ``frame`` of a DICOM file.

    Args:
        path: the file.
        frame: 0-based frame index.
        sniffed: the file had the "DICM" prefix (False: a last-resort attempt on unknown content).

    Raises:
        ImageIOError subclasses only.
    """
    try:
        return _read_dicom(path, frame, sniffed)
    except ImageIOError:
        raise
    except MemoryError:
        raise ImageTooLargeError("not enough memory to read the file", path) from None
    except RecursionError:
        raise CorruptFileError("the DICOM data set is malformed (nested too deeply)",
                               path) from None
    except EOFError as exc:
        raise TruncatedFileError(f"the file ends early ({exc})", path) from exc
    except Exception as exc:  # noqa: BLE001 — pydicom can raise nearly anything on corrupt input
        first = (str(exc).splitlines() or [""])[0][:200]
        if not sniffed:
            raise NotAnImageError("not a DICOM, PNG, JPEG, TIFF or BMP file", path) from exc
        raise CorruptFileError(f"the DICOM file is corrupt ({type(exc).__name__}: {first})",
                               path) from exc


def _read_dicom(path: Path, frame: int, sniffed: bool) -> ImageData:
    ds = _read_dataset(path)
    pixel_kw = next((kw for kw in PIXEL_KEYWORDS if kw in ds), None)
    if pixel_kw is None:
        meta = getattr(ds, "file_meta", None)
        sop = ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta else None)
        name = UID(str(sop)).name if sop else ""
        if "Rows" in ds or "Image Storage" in name or len(ds) == 0:
            # an image's header with no pixels after it: pydicom stops quietly at the end of a
            # file (or where it can read no further), so a copy cut short reads like this —
            # not like a non-image object; the Pixel Data tag's bytes tell the two apart
            what = f"a '{name}' file" if name else "a DICOM image header"
            if _holds(path, _PIXEL_DATA_TAG):
                raise CorruptFileError(f"{what} whose header is damaged: it cannot be read as "
                                       "far as its pixel data", path)
            raise TruncatedFileError(f"{what} that ends before its pixel data: the file is "
                                     "incomplete (cut short in copying or transfer?)", path)
        what = f"a DICOM '{name}' object" if sop else "a DICOM object"
        raise NoPixelDataError(f"{what} without image pixel data: nothing to display", path)
    ts, ts_in_file = _ensure_transfer_syntax(ds, path)
    if not ts.is_transfer_syntax and ts.is_valid:
        raise UnsupportedTransferSyntaxError(f"unknown transfer syntax {ts}", path)

    rows = _int_attr(ds, "Rows", path)
    cols = _int_attr(ds, "Columns", path)
    samples = _int_attr(ds, "SamplesPerPixel", path, 1)
    n_frames = _int_attr(ds, "NumberOfFrames", path, 1)
    bits_alloc = _int_attr(ds, "BitsAllocated", path, 16 if pixel_kw == "PixelData" else 32)
    bits_stored = _int_attr(ds, "BitsStored", path, bits_alloc)
    signed = _int_attr(ds, "PixelRepresentation", path, 0) == 1
    if rows < 1 or cols < 1:
        raise CorruptFileError(f"invalid image size Rows={rows} Columns={cols}", path)
    if rows * cols * max(n_frames, 1) > MAX_TOTAL_PIXELS:
        raise ImageTooLargeError(f"the header announces {n_frames} frames of {cols}×{rows} "
                                 f"pixels; the limit is {MAX_TOTAL_PIXELS / 1e9:.0f} Gpixel per "
                                 "file", path)
    if rows * cols > MAX_PIXELS:
        raise ImageTooLargeError(f"the header announces {cols}×{rows} pixels "
                                 f"({rows * cols / 1e6:.0f} Mpixel); the limit is "
                                 f"{MAX_PIXELS / 1e6:.0f} Mpixel per frame", path)
    if samples not in (1, 3):
        raise UnsupportedImageError(f"{samples} samples per pixel are not supported "
                                    "(only grey and RGB)", path)
    if n_frames < 1:
        n_frames = 1
    if not 0 <= frame < n_frames:
        raise FrameOutOfRangeError(f"frame {frame} does not exist: the file has {n_frames} "
                                   f"frame{'s' if n_frames > 1 else ''} (0–{n_frames - 1})", path)
    if not 1 <= bits_stored <= bits_alloc <= 64:
        raise CorruptFileError(f"inconsistent BitsStored {bits_stored} / BitsAllocated "
                               f"{bits_alloc}", path)
    _check_decodable(ts, path)
    _check_frames_held(ds, pixel_kw, ts, (rows, cols, samples, bits_alloc), n_frames, path)

    decoder_notes: list[str] = []
    arr = _decode(ds, frame if n_frames > 1 else None, ts, path, sniffed and ts_in_file,
                  decoder_notes)
    if n_frames > 1 and arr.ndim in (3, 4) and arr.shape[0] == n_frames and arr.shape[1] == rows:
        arr = arr[frame]  # a plugin that ignored ``index``
    source_photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    fds = frame_dataset(ds, frame)
    warnings: list[str] = list(decoder_notes)

    rescale: tuple[float, float] | None = (1.0, 0.0)
    value_unit = ""
    modality = str(ds.get("Modality", "") or "OT").strip().upper() or "OT"
    padding = (_padding_mask(ds, arr, pixel_kw, warnings)  # on stored values, before any LUT
               if source_photometric.startswith("MONOCHROME") else None)
    if source_photometric == "PALETTE COLOR" and arr.ndim == 2:
        try:
            arr = apply_color_lut(arr, ds)
        except Exception as exc:  # noqa: BLE001
            raise CorruptFileError(f"the palette colour lookup table is unusable ({exc})",
                                   path) from exc
        bits_out: int | None = 16 if arr.dtype.itemsize > 1 else 8
        stored_range = (0.0, 2.0 ** bits_out - 1)
    elif arr.ndim == 3:
        stored_range = _stored_limits(bits_stored, False) if pixel_kw == "PixelData" else (
            float(np.nanmin(arr)), float(np.nanmax(arr)))
        bits_out = bits_stored if pixel_kw == "PixelData" else None
    else:
        bits_out = bits_stored if pixel_kw == "PixelData" else None
        if pixel_kw == "PixelData":
            lo, hi = _stored_limits(bits_stored, signed)
        else:
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if fds.get("ModalityLUTSequence"):
            arr = apply_modality_lut(arr, fds)
            lut = np.asarray(apply_modality_lut(np.array([int(lo), int(hi)]), fds))
            lo, hi = float(np.min(arr)), float(np.max(arr))
            lo, hi = min(lo, float(lut.min())), max(hi, float(lut.max()))
            rescale = None
            warnings.append("a Modality LUT Sequence was applied (not invertible: derived DICOM "
                            "export is not possible)")
            value_unit = str(fds["ModalityLUTSequence"][0].get("ModalityLUTType", "") or "")
        elif "RescaleSlope" in fds or "RescaleIntercept" in fds:
            slope = _num(fds.get("RescaleSlope", 1))
            intercept = _num(fds.get("RescaleIntercept", 0))
            if slope is None or slope == 0 or intercept is None:
                warnings.append(f"invalid Rescale Slope/Intercept "
                                f"{fds.get('RescaleSlope')!r}/{fds.get('RescaleIntercept')!r} "
                                "ignored")
                slope, intercept = 1.0, 0.0
            flat = Dataset()
            flat.RescaleSlope, flat.RescaleIntercept = slope, intercept
            arr = apply_modality_lut(arr, flat)
            rescale = (slope, intercept)
            lo, hi = sorted((lo * slope + intercept, hi * slope + intercept))
            rtype = str(fds.get("RescaleType", "") or "").strip()
            if modality == "CT" and rtype in ("", "HU"):
                value_unit = "HU"
            elif rtype and rtype != "US":
                value_unit = rtype
        if modality == "RTDOSE" and _num(ds.get("DoseGridScaling")):
            scaling = float(_num(ds.get("DoseGridScaling")))  # type: ignore[arg-type]
            arr = arr.astype(np.float64) * scaling
            slope, intercept = rescale if rescale else (1.0, 0.0)
            rescale = (slope * scaling, intercept * scaling) if rescale else None
            lo, hi = sorted((lo * scaling, hi * scaling))
            value_unit = str(ds.get("DoseUnits", "") or "GY")
        if modality in ("PT", "NM") and not value_unit:  # PET Series' Units (0054,1001):
            value_unit = str(ds.get("Units", "") or "").strip()  # BQML, CNTS, GML (SUV)…
        stored_range = (float(lo), float(hi))

    pixels = np.asarray(arr, dtype=np.float32)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or pixels.shape[:2] != (rows, cols):
        raise UnsupportedImageError(f"decoded pixel array has shape {pixels.shape}, expected "
                                    f"({rows}, {cols}[, 3])", path)
    if not np.all(np.isfinite(pixels)):
        raise InvalidPixelsError(non_finite_reason(arr), path)

    colour = pixels.ndim == 3
    photometric = "RGB" if colour else (
        "MONOCHROME1" if source_photometric == "MONOCHROME1" else "MONOCHROME2")
    windows = [] if colour else _windows(fds)
    voi_function = "LINEAR" if colour or not windows else _voi_function(fds, warnings)
    voi_lut = None if colour else _voi_lut(fds, stored_range[0] < 0,
                                           ds.original_encoding[1] is not False, warnings)
    if voi_lut is not None:  # offered after the file's windows; shown when it is the only one
        windows.append((*voi_lut.window, "VOI LUT" + (f" {voi_lut.explanation}"
                                                      if voi_lut.explanation else "")))
    if windows:
        window = windows[0][:2]
    elif colour:
        window = full_range_window(*stored_range)
    else:
        measured = measured_values(pixels, padding)
        window = auto_window(measured) if measured.size else auto_window(pixels)

    spacing, spacing_source, position, orientation = _plane_geometry(ds, fds, frame, warnings)
    overlay = overlay_mask(ds, frame, pixels.shape[:2], warnings)

    lossy = str(ds.get("LossyImageCompression", "") or "").strip() == "01" or \
        str(ts) in LOSSY_TRANSFER_SYNTAXES
    for kw in PIXEL_KEYWORDS:  # keep the header only: the pixels live in ``pixels``
        if kw in ds:
            del ds[kw]
    try:  # load deferred / raw values now, so the header no longer depends on the file
        for _ in ds.iterall():
            pass
    except Exception as exc:  # noqa: BLE001 — a damaged private element must not stop viewing
        warnings.append(f"part of the header could not be decoded ({type(exc).__name__})")
    return ImageData(
        pixels=pixels, source_path=path, kind="dicom", modality=modality,
        photometric=photometric, invert=_inverted(ds, photometric),
        window=(float(window[0]), float(window[1])), windows=windows,
        voi_function=voi_function, voi_lut=voi_lut, pixel_spacing=spacing,
        image_position=position,  # type: ignore[arg-type]
        image_orientation=orientation,  # type: ignore[arg-type]
        stored_range=stored_range, value_unit=value_unit, frame=frame, n_frames=n_frames,
        dataset=ds, bits_stored=bits_out, rescale=rescale if not colour else (1.0, 0.0),
        spacing_source=spacing_source, source_photometric=source_photometric,
        transfer_syntax=ts.name, lossy=lossy, warnings=warnings, padding=padding,
        overlay=overlay)
