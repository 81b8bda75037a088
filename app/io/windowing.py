"""Display windowing (VOI) and window presets.

* :func:`apply_window` — the DICOM VOI LUT functions (PS3.3 C.11.2.1.2–3: ``LINEAR``,
  ``LINEAR_EXACT``, ``SIGMOID``) to 8-bit display values, or a file's VOI LUT (:class:`VoiLut`,
  C.11.2.1.1) while its own window is the one shown.
* :func:`auto_window` — a robust default window from the 0.5–99.5 percentiles.
* :func:`load_window_presets` — presets are data (``resources/window_presets.json``), not code.

Windows are always (centre, width) in the units of the pixels they apply to (HU for CT after the
Modality LUT), so the same preset works on every CT whatever its stored encoding.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._resources import DEFAULT_PRESETS_PATH
from .errors import InvalidWindowError, WindowPresetError

__all__ = ["apply_window", "voi_label", "VOI_FUNCTIONS", "VoiLut", "auto_window", "minmax_window", "full_range_window",
           "WindowPreset", "load_window_presets", "presets_for_modality", "DEFAULT_PRESETS_PATH"]

#: the VOI LUT Function defined terms (PS3.3 C.11.2.1.3) that :func:`apply_window` implements
VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")

_MAX_SAMPLES = 1 << 20  # percentiles from at most ~1 M values: fast on 100-Mpixel images


def _check_window(center: float, width: float) -> tuple[float, float]:
    c, w = float(center), float(width)
    if not (math.isfinite(c) and math.isfinite(w)) or w <= 0:
        raise InvalidWindowError(f"invalid window centre {center!r} / width {width!r}: "
                                 "the centre must be finite and the width > 0")
    return c, w


@dataclass(frozen=True, eq=False)
class VoiLut:
    """A VOI LUT of the file (VOI LUT Sequence, PS3.3 C.11.2.1.1): input values ``first`` …
    ``first + len(table) − 1`` map to ``table`` (normalised to 0–1); inputs below the first
    entry take the first value, above the last the last.

    Attributes:
        first: the first input value mapped (LUT Descriptor's second value, in the units of the
            pixels: after the Modality LUT).
        table: output values normalised to 0–1 (float64, one per input value).
        explanation: LUTExplanation, or "".
    """

    first: float
    table: np.ndarray
    explanation: str = ""

    @property
    def window(self) -> tuple[float, float]:
        """The linear window over the table's input range: the window that stands for the LUT
        (offered with the file's windows; a W/L drag starts from it, and any other window is
        applied as a window)."""
        n = len(self.table)
        return self.first + n / 2.0, float(n)

    def apply(self, pixels: np.ndarray, invert: bool = False) -> np.ndarray:
        """uint8 display values of ``pixels`` through the table (NaN → the first entry)."""
        lut8 = np.floor(np.clip(self.table, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if invert:
            lut8 = 255 - lut8
        idx = np.subtract(pixels, self.first, dtype=np.float64)
        np.rint(idx, out=idx)
        np.clip(idx, 0, len(lut8) - 1, out=idx)
        np.nan_to_num(idx, copy=False, nan=0.0)
        return lut8[idx.astype(np.intp)]


def apply_window(pixels: np.ndarray, center: float, width: float, invert: bool = False,
                 function: str = "LINEAR", lut: VoiLut | None = None) -> np.ndarray:
    """Map pixel values to 8-bit display values with a DICOM VOI LUT function.

    PS3.3 C.11.2.1.2 (``LINEAR``, the default), with output range 0–255::

        x <= c − 0.5 − (w − 1)/2  → 0
        x >  c − 0.5 + (w − 1)/2  → 255
        else y = ((x − (c − 0.5)) / (w − 1) + 0.5) · 255

    ``LINEAR`` needs w ≥ 1; for 0 < w < 1 (float data such as 0–1 images) ``LINEAR_EXACT``
    is used instead. C.11.2.1.3: ``LINEAR_EXACT`` is y = ((x − c)/w + 0.5)·255 clipped to 0–255;
    ``SIGMOID`` is y = 255 / (1 + exp(−4 (x − c)/w)), never quite 0 or 255 (files that ask for
    it, e.g. some mammography and DX, are shown as their makers meant). ``invert`` flips the
    output after the VOI (MONOCHROME1: minimum shown white). Works on (H, W) and (H, W, 3)
    arrays alike; NaN maps to 0.

    Args:
        pixels: values in the units of the window (e.g. HU).
        center: window centre.
        width: window width (> 0).
        invert: display inverted.
        function: one of :data:`VOI_FUNCTIONS` (the file's VOILUTFunction), any case.
        lut: the file's VOI LUT: used instead of ``function`` while (center, width) is its
            :attr:`VoiLut.window` (grey images only).

    Returns:
        uint8 array of the same shape.

    Raises:
        InvalidWindowError: non-finite centre, width ≤ 0, or an unknown ``function``.
    """
    c, w = _check_window(center, width)
    if lut is not None and (c, w) == lut.window and np.ndim(pixels) == 2:
        return lut.apply(pixels, invert)
    fn = str(function).upper()
    if fn not in VOI_FUNCTIONS:
        raise InvalidWindowError(f"unknown VOI LUT function {function!r} "
                                 f"(known: {', '.join(VOI_FUNCTIONS)})")
    # In place, in float64, one temporary: a W/L drag re-windows the whole image at every step
    # (a 4096² image, one thread, measured once on 2026-12-01: 2.6 s with the textbook
    # expression, 0.6 s so; a test checks both give the same bytes).
    if fn == "SIGMOID":
        y = np.subtract(pixels, c, dtype=np.float64)
        y *= -4.0 / w
        np.clip(y, -700.0, 700.0, out=y)  # exp stays finite; NaN stays NaN
        np.exp(y, out=y)
        y += 1.0
        np.reciprocal(y, out=y)
    elif fn == "LINEAR" and w > 1.0:
        # C.11.2.1.2's thresholds are where the linear part reaches 0 and 1: clipping applies them
        y = np.subtract(pixels, c - 0.5, dtype=np.float64)
        y /= w - 1.0
        y += 0.5
    elif fn == "LINEAR" and w == 1.0:
        # a step (NaN → 0), compared in float64: numpy would round c − 0.5 to a float32
        # input's type
        y = np.greater(np.asarray(pixels, dtype=np.float64), c - 0.5).astype(np.float64)
    else:  # LINEAR_EXACT, and LINEAR below w = 1
        y = np.subtract(pixels, c, dtype=np.float64)
        y /= w
        y += 0.5
    np.clip(y, 0.0, 1.0, out=y)
    np.nan_to_num(y, copy=False, nan=0.0)
    y *= 255.0
    y += 0.5
    np.floor(y, out=y)
    out = y.astype(np.uint8)
    if invert:
        np.subtract(255, out, out=out)
    return out


def voi_label(center: float, width: float, unit: str = "", function: str = "LINEAR",
              lut: VoiLut | None = None) -> str:
    """How the pixels are mapped to grey, for overlays and printouts: "W 400 / L 40 HU",
    "W 300 / L 50 HU (sigmoid)", or "VOI LUT <explanation>" while the file's LUT is shown (the
    rule of :func:`apply_window`)."""
    if lut is not None and (float(center), float(width)) == lut.window:
        return "VOI LUT " + (lut.explanation or "(the file's)")
    u = f" {unit}" if unit else ""
    fn = "" if str(function).upper() == "LINEAR" else f" ({str(function).lower()})"
    return f"W {float(width):.4g} / L {float(center):.4g}{u}{fn}"


def _finite_sample(pixels: np.ndarray) -> np.ndarray:
    a = np.asarray(pixels)
    flat = a.reshape(-1)
    if flat.size > _MAX_SAMPLES:
        flat = flat[:: int(math.ceil(flat.size / _MAX_SAMPLES))]
    flat = flat.astype(np.float64, copy=False)
    return flat[np.isfinite(flat)]


def _integral(values: np.ndarray) -> bool:
    return bool(values.size) and bool(np.all(values == np.round(values)))


def _window_from_range(lo: float, hi: float, integral: bool) -> tuple[float, float]:
    """(centre, width) mapping lo → 0 and hi → 255; never width 0."""
    if integral:
        # with LINEAR, c = (lo + hi + 1)/2 and w = hi − lo + 1 send lo → 0 and hi → 255
        # exactly
        return (lo + hi + 1.0) / 2.0, hi - lo + 1.0
    if hi > lo:
        return (lo + hi) / 2.0, hi - lo
    return lo, 1.0


def minmax_window(pixels: np.ndarray) -> tuple[float, float]:
    """Window spanning the finite minimum to maximum of ``pixels`` (never width 0)."""
    a = np.asarray(pixels)
    if not np.issubdtype(a.dtype, np.integer):
        a = a[np.isfinite(a)]
    if a.size == 0:
        return 0.5, 1.0
    return _window_from_range(float(a.min()), float(a.max()), _integral(_finite_sample(a)))


def auto_window(pixels: np.ndarray) -> tuple[float, float]:
    """Default window from the 0.5 and 99.5 percentiles of the finite pixel values.

    Falls back to min–max when the percentiles coincide (e.g. a mostly constant image), and to
    width 1 for a constant image. Never returns width 0.

    Args:
        pixels: (H, W) or (H, W, 3) array (percentiles over all channels).

    Returns:
        (centre, width).
    """
    v = _finite_sample(pixels)
    if v.size == 0:
        return 0.5, 1.0
    lo, hi = (float(q) for q in np.percentile(v, [0.5, 99.5]))
    if not hi > lo:
        return minmax_window(pixels)
    return _window_from_range(lo, hi, _integral(v))


def full_range_window(lo: float, hi: float) -> tuple[float, float]:
    """Identity-like window for integer data representable in [lo, hi] (e.g.
    0–255 → 128/256)."""
    return _window_from_range(float(lo), float(hi), True)


@dataclass(frozen=True)
class WindowPreset:
    """A named display window.

    Attributes:
        name: label shown to the user ("Lung", "Min–max", …).
        center: window centre in modality units (None for computed modes).
        width: window width (None for computed modes).
        modalities: modalities the preset is meant for (e.g. ("CT",)); empty = every modality.
        mode: "fixed" (centre/width given), "minmax" or "auto" (computed from the pixels).
        source: where the values come from (citation).
    """

    name: str
    center: float | None
    width: float | None
    modalities: tuple[str, ...] = ()
    mode: Literal["fixed", "minmax", "auto"] = "fixed"
    source: str = ""

    def applies_to(self, modality: str | None) -> bool:
        """True when the preset is meant for ``modality`` (or for every modality)."""
        return not self.modalities or (modality or "").upper() in self.modalities

    def resolve(self, pixels: np.ndarray | None = None) -> tuple[float, float]:
        """(centre, width) of this preset; computed modes need ``pixels``."""
        if self.mode == "fixed":
            assert self.center is not None and self.width is not None
            return self.center, self.width
        if pixels is None:
            raise InvalidWindowError(f"preset {self.name!r} is computed from the image: "
                                     "give the pixels")
        return minmax_window(pixels) if self.mode == "minmax" else auto_window(pixels)


def _preset_from_json(item: Any, index: int, path: Path) -> WindowPreset:
    where = f"preset #{index + 1}"
    if not isinstance(item, dict):
        raise WindowPresetError(f"{where} must be an object, got {type(item).__name__}", path)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise WindowPresetError(f"{where} needs a non-empty string 'name'", path)
    where = f"preset {name!r}"
    mode = item.get("mode", "fixed")
    if mode not in ("fixed", "minmax", "auto"):
        raise WindowPresetError(f"{where}: 'mode' must be 'fixed', 'minmax' or 'auto', "
                                f"got {mode!r}", path)
    mods = item.get("modalities", [])
    if not isinstance(mods, list) or not all(isinstance(m, str) for m in mods):
        raise WindowPresetError(f"{where}: 'modalities' must be a list of strings", path)
    center = width = None
    if mode == "fixed":
        center, width = item.get("center"), item.get("width")
        for key, val in (("center", center), ("width", width)):
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise WindowPresetError(f"{where}: '{key}' must be a number, got {val!r}", path)
        try:
            center, width = _check_window(center, width)
        except InvalidWindowError as exc:
            raise WindowPresetError(f"{where}: {exc.message}", path) from None
    source = item.get("source", "")
    return WindowPreset(name.strip(), center, width, tuple(m.upper() for m in mods), mode,
                        source if isinstance(source, str) else "")


def load_window_presets(path: str | Path = DEFAULT_PRESETS_PATH) -> list[WindowPreset]:
    """Read window presets from a JSON file.

    The file is ``{"version": 1, "presets": [{"name": "Lung", "center": -600, "width": 1500,
    "modalities": ["CT"], "source": "…"}, {"name": "Min–max", "mode": "minmax"}, …]}``
    (a bare list of presets is accepted too).

    Args:
        path: the JSON file; defaults to the bundled ``resources/window_presets.json``.

    Returns:
        The presets in file order.

    Raises:
        WindowPresetError: unreadable file, invalid JSON, or an entry not following the schema
            (the message names the entry and the field).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WindowPresetError(f"cannot read window presets: {exc}", path) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WindowPresetError(f"window presets are not valid JSON (line {exc.lineno}, "
                                f"column {exc.colno}: {exc.msg})", path) from exc
    items = data.get("presets") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise WindowPresetError("window presets must be a list, or an object with a "
                                "'presets' list", path)
    presets = [_preset_from_json(item, i, path) for i, item in enumerate(items)]
    names = [p.name for p in presets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise WindowPresetError(f"duplicate preset name(s): {', '.join(dupes)}", path)
    return presets


def presets_for_modality(presets: list[WindowPreset], modality: str | None
                         ) -> list[WindowPreset]:
    """The presets meant for ``modality`` (modality-specific first, then generic ones)."""
    own = [p for p in presets if p.modalities and p.applies_to(modality)]
    generic = [p for p in presets if not p.modalities]
    return own + generic
