"""Computed values back to a derived DICOM image's stored pixels, and the display attributes
that go with them.

The output's size and channels checked against the ROI and scale (:func:`_check_output`); the
range a pixel format stores (:func:`_stored_limits`, :func:`_int_dtype`, :func:`_colour_bits`);
the source's padding carried to the output grid (:func:`_padding_out`); a display window kept
valid (:func:`_window_function`) and a VOI LUT Sequence checked against the pixel data and
re-encoded with 8- or 16-bit entries (:func:`_voi_lut_consistent`, :func:`_voi_lut_entries_16`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._dicom_iod import voi_function_for
from .errors import InvalidScaleError, WriteError
from .image_data import ImageData
from .labels import fmt_scale
from .roi import output_size

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _stored_limits(bits_stored: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1
    return 0, 2 ** bits_stored - 1


def _int_dtype(bits_allocated: int, signed: bool) -> np.dtype:
    if bits_allocated not in (8, 16, 32):
        raise ValueError(f"BitsAllocated {bits_allocated} is not supported for writing")
    return np.dtype(f"{'i' if signed else 'u'}{bits_allocated // 8}")


def _check_output(source_shape: tuple[int, int], roi: tuple[int, int, int, int], scale: float,
                  arr: np.ndarray, colour: bool, target: Path) -> tuple[int, int]:
    x, y, w, h = roi
    expected = output_size(h, w, scale)
    if tuple(arr.shape[:2]) != expected:
        raise InvalidScaleError(
            f"pixels are {arr.shape[1]}×{arr.shape[0]} but an ROI of {w}×{h} at "
            f"×{fmt_scale(scale)} gives {expected[1]}×{expected[0]} (round half up)", target)
    if colour != (arr.ndim == 3):
        raise WriteError("the pixels' channel count does not match the source "
                         f"({'colour' if colour else 'grey'})", target)
    return expected


def _padding_out(source: ImageData, roi: tuple[int, int, int, int], scale: float,
                 shape: tuple[int, ...]) -> tuple[int, np.ndarray] | None:
    """(stored padding value, mask) of an output of ``shape`` for a source with
    PixelPaddingValue: output pixels whose nearest source pixel (centre-aligned, the engine's
    grid) is padding. None when the source has no padding or its value is unusable."""
    if source.padding is None or source.dataset is None:
        return None
    try:
        value = int(source.dataset.PixelPaddingValue)
    except (AttributeError, TypeError, ValueError):
        return None
    x, y, w, h = roi
    rows = np.minimum(np.floor((np.arange(shape[0]) + 0.5) / scale).astype(int), h - 1) + y
    cols = np.minimum(np.floor((np.arange(shape[1]) + 0.5) / scale).astype(int), w - 1) + x
    mask = source.padding[np.ix_(rows, cols)]
    return (value, mask) if mask.any() else None





def _colour_bits(source_bits: int | None) -> int:
    """Bits per RGB sample written for a colour source of ``source_bits`` per sample: the
    smallest of 8, 16 and 32 that holds them (a 32-bit source is not squeezed into 16 bits)."""
    bits = int(source_bits or 8)
    return 8 if bits <= 8 else 16 if bits <= 16 else 32


def _window_function(ds: Any, report_warnings: list[str]) -> None:
    """Keep a window narrower than 1 valid: VOI LUT Function LINEAR_EXACT where it would be
    LINEAR (:func:`app.io._dicom_iod.voi_function_for`)."""
    value = ds.get("WindowWidth")
    if value is None or ds["WindowWidth"].is_empty:
        return
    values = list(value) if not isinstance(value, (str, bytes)) and hasattr(
        value, "__iter__") else [value]
    try:
        narrowest = min(float(v) for v in values)
        centres = ds.get("WindowCenter")
        centres = list(centres) if not isinstance(centres, (str, bytes)) and hasattr(
            centres, "__iter__") else [centres]
        widest = max(abs(float(v)) for v in values + [c for c in centres if c is not None])
    except (TypeError, ValueError):
        return
    if widest > _FLOAT32_MAX:  # validators and many readers hold DS values in single precision
        for kw in ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation",
                   "VOILUTFunction"):
            if kw in ds:
                del ds[kw]
        report_warnings.append(f"display window not written: its values reach {widest:.4g}, "
                               "beyond the single-precision range (3.4e38) DICOM readers hold "
                               "it in")
        return
    function = voi_function_for(narrowest, str(ds.get("VOILUTFunction", "") or ""))
    if function is not None:
        ds.VOILUTFunction = function
        report_warnings.append(f"window width {narrowest:g} is below 1: written with VOI LUT "
                               f"Function {function} (LINEAR needs a width of at least 1, "
                               "PS3.3 C.11.2.1.2)")


def _voi_lut_entries_16(seq: Any, report_warnings: list[str]) -> None:
    """Re-encode VOI LUT items whose entries have 9–15 bits as 16-bit entries, the same
    fraction of the output range each (entry × 65535 / (2^n − 1), rounded): LUT Descriptor's
    third value is 8 or 16 in the VOI LUT module (PS3.3 C.11.2.1.1), which an enhanced source's
    functional group may not have kept to."""
    for item in seq:
        entries, first, bits = (int(v) for v in item.LUTDescriptor)
        if bits in (8, 16):
            continue
        data = item.LUTData
        raw = isinstance(data, bytes)
        values = (np.frombuffer(data, "<u2") if raw else np.asarray(
            [data] if np.isscalar(data) else list(data))).astype(np.float64)
        scaled = np.clip(np.round(values * 65535.0 / (2 ** bits - 1)), 0, 65535).astype("<u2")
        item.LUTDescriptor = [entries, first, 16]
        item.LUTData = scaled.tobytes() if raw else [int(v) for v in scaled]
        report_warnings.append(f"VOI LUT with {bits}-bit entries re-encoded with 16-bit "
                               "entries (same display), as the VOI LUT module requires 8 or 16")


def _voi_lut_consistent(seq: Any, bits_alloc: int) -> bool:
    try:
        for item in seq:
            entries, _, bits = (int(v) for v in item.LUTDescriptor)
            data = item.LUTData
            n = len(data) if not isinstance(data, bytes) else len(data) // 2
            if n != (entries or 65536) or not 8 <= bits <= 16:
                return False
        return True
    except Exception:  # noqa: BLE001 — malformed items are "inconsistent"
        return False
