"""What one DICOM frame's header says about its pixels, for :func:`app.io._dicom.read_dicom`.

The attributes of one frame flattened from an enhanced object's functional groups
(:func:`frame_dataset`); its display windows, VOI LUT Function and VOI LUT
(:func:`_windows`, :func:`_voi_function`, :func:`_voi_lut`); pixel spacing, position and
orientation (:func:`_plane_geometry`); whether it is shown inverted (:func:`_inverted`); and its
padding outside the scanned field of view (:func:`_padding_mask`). Malformed values are
ignored with a warning, never an error: the image is still shown.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from .windowing import VOI_FUNCTIONS, VoiLut

_FUNCTIONAL_GROUPS = {
    "PixelValueTransformationSequence": ("RescaleSlope", "RescaleIntercept", "RescaleType"),
    "FrameVOILUTSequence": ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation",
                            "VOILUTFunction", "VOILUTSequence"),  # the latter: "With LUT" macro
    "PixelMeasuresSequence": ("PixelSpacing", "SliceThickness", "SpacingBetweenSlices"),
    "PlanePositionSequence": ("ImagePositionPatient",),
    "PlaneOrientationSequence": ("ImageOrientationPatient",),
}
_FLAT_KEYWORDS = ("RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence",
                  "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTFunction",
                  "VOILUTSequence",
                  "PixelSpacing", "ImagerPixelSpacing", "ImagePositionPatient",
                  "ImageOrientationPatient", "SliceThickness", "SpacingBetweenSlices")


def _num(value: Any) -> float | None:
    """A finite float from a DICOM number, else None (invalid strings, empty values)."""
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _nums(value: Any, n: int) -> tuple[float, ...] | None:
    """``n`` finite floats from a multi-valued element, else None."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        vals = [_num(v) for v in value]
    except TypeError:
        return None
    if len(vals) != n or any(v is None for v in vals):
        return None
    return tuple(v for v in vals if v is not None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def frame_dataset(ds: Dataset, frame: int) -> Dataset:
    """Attributes that describe one frame, flattened to the top level.

    For enhanced multi-frame objects the rescale, VOI window, pixel spacing, position and
    orientation live in the Shared / Per-frame Functional Groups; this returns a small dataset with
    those of ``frame`` (per-frame values override shared ones, which override top-level ones).
    """
    fds = Dataset()
    for kw in _FLAT_KEYWORDS:
        if kw in ds:
            fds[kw] = ds[kw]
    groups: list[Dataset] = []
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        groups.append(shared[0])
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and 0 <= frame < len(per_frame):
        groups.append(per_frame[frame])
    for group in groups:
        for seq_kw, attrs in _FUNCTIONAL_GROUPS.items():
            seq = group.get(seq_kw)
            if not seq:
                continue
            for kw in attrs:
                if kw in seq[0]:
                    fds[kw] = seq[0][kw]
    if hasattr(ds, "file_meta"):
        fds.file_meta = ds.file_meta
    return fds


def _windows(fds: Dataset) -> list[tuple[float, float, str]]:
    centers = _as_list(fds.get("WindowCenter"))
    widths = _as_list(fds.get("WindowWidth"))
    explanations = _as_list(fds.get("WindowCenterWidthExplanation"))
    out: list[tuple[float, float, str]] = []
    for i, (c, w) in enumerate(zip(centers, widths)):
        cf, wf = _num(c), _num(w)
        if cf is None or wf is None or wf <= 0:
            continue
        expl = str(explanations[i]) if i < len(explanations) and explanations[i] else ""
        if any(abs(cf - oc) < 1e-9 and abs(wf - ow) < 1e-9 for oc, ow, _ in out):
            continue  # e.g. WindowCenter "-600\-600"
        out.append((cf, wf, expl))
    return out


def _voi_function(fds: Dataset, warnings: list[str]) -> str:
    """The frame's VOI LUT Function (PS3.3 C.11.2.1.3); "LINEAR" when absent or unknown."""
    raw = fds.get("VOILUTFunction")
    if raw is None or str(raw).strip() == "":
        return "LINEAR"
    fn = str(raw).strip().upper()
    if fn not in VOI_FUNCTIONS:
        warnings.append(f"VOILUTFunction {str(raw)!r} is not a defined term: LINEAR used")
        return "LINEAR"
    return fn


def _voi_lut(fds: Dataset, signed_input: bool, little_endian: bool,
             warnings: list[str]) -> VoiLut | None:
    """The first VOI LUT of the frame's VOI LUT Sequence (PS3.3 C.11.2.1.1; in an enhanced object
    the Frame VOI LUT With LUT macro, C.7.6.16.2.10b, flattened by :func:`frame_dataset`), or None
    (absent, or not usable: then a warning says so and the windows, or an automatic one, are used).

    The LUT Descriptor's first-mapped value is read as signed when the LUT's input (the Modality
    LUT's output) can be negative (C.11.2.1.1.1); entries of 10–16 bits are normalised by
    2^bits − 1, except that a 16-bit table whose largest entry is below 2^12 (a common mislabel of
    12-bit data) is normalised by 2^12 − 1."""
    seq = fds.get("VOILUTSequence")
    if not seq:
        return None
    item = seq[0]
    desc = _nums(item.get("LUTDescriptor"), 3)
    if desc is None or "LUTData" not in item:
        warnings.append("VOILUTSequence has no usable LUT Descriptor/LUT Data: not applied")
        return None
    entries, first, bits = int(desc[0]) or 65536, float(desc[1]), int(desc[2])
    if signed_input and first >= 2 ** 15:
        first -= 2 ** 16
    raw = item["LUTData"].value
    try:
        if isinstance(raw, (bytes, bytearray)):
            table = np.frombuffer(bytes(raw), dtype="<u2" if little_endian else ">u2")
        else:
            table = np.asarray(_as_list(raw), dtype=np.float64)
    except (TypeError, ValueError):
        table = np.zeros(0)
    if not 8 <= bits <= 16 or len(table) < entries or entries < 2:
        warnings.append(f"VOILUTSequence (descriptor {entries}\\{desc[1]:g}\\{bits}, "
                        f"{len(table)} entries) is inconsistent: not applied")
        return None
    table = np.asarray(table[:entries], dtype=np.float64)
    top = 2.0 ** bits - 1
    if bits == 16 and table.max() < 2 ** 12:
        top = 2.0 ** 12 - 1
    return VoiLut(first, table / top, str(item.get("LUTExplanation", "") or ""))


def _plane_geometry(ds: Dataset, fds: Dataset, frame: int, warnings: list[str]
                    ) -> tuple[tuple[float, float] | None, str, tuple[float, ...] | None,
                               tuple[float, ...] | None]:
    """Where frame ``frame`` lies: (pixel spacing (row, column) mm or None, the attribute it came
    from, ImagePositionPatient, ImageOrientationPatient), each None when absent or unusable (a
    warning then says why). ``fds`` is the frame's :func:`frame_dataset`; an RT Dose style
    multi-frame's frame is moved along the normal by its GridFrameOffsetVector entry."""
    spacing, spacing_source = None, ""
    for kw in ("PixelSpacing", "ImagerPixelSpacing"):
        vals = _nums(fds.get(kw), 2)
        if vals is not None and vals[0] > 0 and vals[1] > 0:
            spacing, spacing_source = (vals[0], vals[1]), kw
            break
        if kw in fds and vals is not None:
            warnings.append(f"{kw} {list(vals)} is not usable (zero or negative): no physical "
                            "size")
        elif kw in fds and not fds[kw].is_empty:
            raw = fds[kw].value
            shown = "\\".join(str(v) for v in raw) if isinstance(raw, (list, tuple)) or (
                hasattr(raw, "__iter__") and not isinstance(raw, (str, bytes))) else str(raw)
            warnings.append(f"{kw} {shown!r} is not two finite numbers (row\\column spacing, "
                            "PS3.3 10.7.1.3): no physical size from it")
    position = _nums(fds.get("ImagePositionPatient"), 3)
    orientation = _nums(fds.get("ImageOrientationPatient"), 6)
    if orientation is not None:
        r, c = np.array(orientation[:3]), np.array(orientation[3:])
        if not (abs(np.linalg.norm(r) - 1) < 0.01 and abs(np.linalg.norm(c) - 1) < 0.01):
            warnings.append("ImageOrientationPatient is not made of unit vectors: ignored")
            orientation = None
    offsets = _as_list(ds.get("GridFrameOffsetVector"))
    if frame and position is not None and orientation is not None and len(offsets) > frame:
        # RT Dose style multi-frame: frame k lies GridFrameOffsetVector[k] − [0] along the normal
        # (PS3.3 C.8.8.3.2; relative offsets start at 0, absolute ones at the first plane's z)
        k, k0 = _num(offsets[frame]), _num(offsets[0])
        if k is not None and k0 is not None:
            normal = np.cross(orientation[:3], orientation[3:])
            position = tuple(float(v) for v in np.asarray(position) + (k - k0) * normal)

    return spacing, spacing_source, position, orientation


def _inverted(ds: Any, photometric: str) -> bool:
    """Shown inverted (minimum white): MONOCHROME1, or MONOCHROME2 with Presentation LUT Shape
    INVERSE (PS3.3 C.11.6; a MONOCHROME1 image's INVERSE is that same inversion, not a second
    one — the DX IOD pairs them)."""
    if photometric == "MONOCHROME1":
        return True
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    return photometric == "MONOCHROME2" and shape == "INVERSE"


def _padding_mask(ds: Any, stored: np.ndarray, pixel_kw: str, warnings: list[str]
                  ) -> np.ndarray | None:
    """True where a grey image's stored value is PixelPaddingValue, or between it and
    PixelPaddingRangeLimit (PS3.3 C.7.5.1.1.2): pixels outside the scanned field of view."""
    if pixel_kw != "PixelData" or stored.ndim != 2 or "PixelPaddingValue" not in ds:
        return None
    value, limit = _num(ds.get("PixelPaddingValue")), _num(ds.get("PixelPaddingRangeLimit"))
    if value is None:
        warnings.append(f"PixelPaddingValue {ds.get('PixelPaddingValue')!r} is not a number: "
                        "ignored")
        return None
    lo, hi = (value, value) if limit is None else sorted((value, limit))
    mask = (stored >= lo) & (stored <= hi)
    return mask if mask.any() else None


def overlay_mask(ds: Dataset, frame: int, shape: tuple[int, int],
                 warnings: list[str]) -> np.ndarray | None:
    """The union of the file's overlay planes (groups 6000–601E: graphics such as an outline a
    radiologist drew, or a region) for ``frame``, as a boolean mask of the image's ``shape``
    placed at each plane's Overlay Origin (1-based row, column; PS3.3 C.9.2); None where the
    file has none. A plane that cannot be decoded is skipped with a warning."""
    from pydicom.overlays import get_overlay_array

    mask: np.ndarray | None = None
    for group in range(0x6000, 0x6020, 2):
        if (group, 0x3000) not in ds:
            continue
        try:
            planes = np.asarray(get_overlay_array(ds, group), dtype=bool)
            if planes.ndim == 3:  # a multi-frame overlay: its frames from Image Frame Origin
                first = int(ds.get((group, 0x0051), None).value) if (group, 0x0051) in ds else 1
                k = frame - (first - 1)
                if not 0 <= k < planes.shape[0]:
                    continue
                planes = planes[k]
            origin = ds[group, 0x0050].value if (group, 0x0050) in ds else [1, 1]
            r0, c0 = int(origin[0]) - 1, int(origin[1]) - 1
        except Exception as exc:  # noqa: BLE001 — a damaged plane must not stop viewing
            warnings.append(f"overlay plane ({group:04X},3000) could not be read "
                            f"({type(exc).__name__}); not shown")
            continue
        if mask is None:
            mask = np.zeros(shape, dtype=bool)
        h, w = planes.shape
        rows = slice(max(r0, 0), max(min(r0 + h, shape[0]), 0))
        cols = slice(max(c0, 0), max(min(c0 + w, shape[1]), 0))
        mask[rows, cols] |= planes[rows.start - r0:rows.stop - r0,
                                   cols.start - c0:cols.stop - c0]
    return mask if mask is not None and mask.any() else None
