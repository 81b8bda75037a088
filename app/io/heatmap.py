"""Heat-map pictures of computed maps (the uncertainty of a super-resolved image) with a colour
bar in the image's units, and figures of grey and heat panels side by side. Qt-free, PIL only.

The colour map (:data:`INFERNO_ANCHORS`, the only colour table of the project's heat maps: the
viewer's Uncertainty view and :mod:`app.uncertainty_view` use it too) is matplotlib's *inferno*
(black → purple → orange → pale yellow) sampled at 10 points: perceptually ordered, readable in
grey print and by colour-blind readers, and it never suggests the grey anatomy it sits beside.
Zero is black; the top of the bar is the map's 99.5th percentile (rounded to a tidy number) so
that a few extreme pixels do not flatten the rest, and values above it are drawn at the top
colour (the bar says "≥").
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from ._atomic import atomic_write
from .errors import WriteError
from .sheet import _ASCII, _font

__all__ = ["INFERNO_ANCHORS", "COLOUR_MAP", "colour_lut", "heat_colours", "nice_top",
           "render_heat", "compose_panels"]

#: The one colour table of every computed heat map (the viewer's Uncertainty view, its exports,
#: ``rmisr-sr --uncertainty-out`` and the evaluation figure): matplotlib's *inferno* (Smith & van
#: der Walt) sampled at 10 evenly spaced points, dark (zero) through purple and orange to pale
#: yellow (the top of the scale); :func:`colour_lut` interpolates it linearly.
INFERNO_ANCHORS: tuple[tuple[int, int, int], ...] = (
    (0, 0, 4), (27, 12, 66), (75, 12, 107), (120, 28, 109), (165, 44, 96), (207, 68, 70),
    (237, 105, 37), (251, 154, 6), (247, 208, 60), (252, 255, 164))
COLOUR_MAP = "inferno"


def colour_lut(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 table of the colour map, linear between :data:`INFERNO_ANCHORS`."""
    anchors = np.asarray(INFERNO_ANCHORS, dtype=np.float64)
    at = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, max(int(n), 2))
    return np.stack([np.interp(t, at, anchors[:, c]) for c in range(3)],
                    axis=-1).round().astype(np.uint8)


_LUT = colour_lut()


def heat_colours(values: np.ndarray, top: float) -> np.ndarray:
    """uint8 RGB of ``values`` on the colour map (the 256-entry :func:`colour_lut`): 0 → the
    first colour, ``top`` and above → the last, NaN and negative values → the first."""
    top = float(top)
    scale = 255.0 / top if math.isfinite(top) and top > 0 else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        t = np.asarray(values, dtype=np.float64) * scale
    idx = np.clip(np.nan_to_num(t, nan=0.0, posinf=255.0, neginf=0.0), 0, 255).round()
    return _LUT[idx.astype(np.intp)]


def nice_top(values: np.ndarray, percentile: float = 99.5) -> float:
    """The colour bar's top: the ``percentile`` of ``values`` rounded up to 1, 2, 2.5 or 5 × 10ⁿ
    (1.0 for an all-zero map)."""
    v = float(np.percentile(np.asarray(values, dtype=np.float64), percentile))
    if not math.isfinite(v) or v <= 0:
        v = float(np.max(values)) if np.size(values) else 0.0
    if not math.isfinite(v) or v <= 0:
        return 1.0
    exp = 10.0 ** math.floor(math.log10(v))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * exp >= v * (1 - 1e-9):
            return step * exp
    return 10.0 * exp  # pragma: no cover


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _text(s: str, unicode_ok: bool) -> str:
    return s if unicode_ok else s.translate(_ASCII)


def _colour_bar(height: int, top: float, unit: str, font_size: int = 12,
                bar_width: int = 14) -> np.ndarray:
    """uint8 RGB strip: the colour map from 0 (bottom) to ``top`` with 5 ticks and the unit."""
    from PIL import Image, ImageDraw

    font, unicode_ok = _font(font_size)
    labels = [_fmt(top * k / 4) for k in range(5)]
    labels[-1] = _text("≥ ", unicode_ok) + labels[-1]
    unit_text = _text(unit, unicode_ok) if unit else ""
    text_w = max(int(math.ceil(font.getlength(s))) for s in labels + [unit_text])  # type: ignore
    width = bar_width + 6 + text_w + 6
    h = max(int(height), 5 * (font_size + 2))
    canvas = Image.new("RGB", (width, h), (24, 24, 24))
    pad = font_size // 2 + 2
    ramp_h = max(h - 2 * pad - (font_size + 6 if unit_text else 0), 10)
    y0 = pad + (font_size + 6 if unit_text else 0)
    ramp = heat_colours(np.linspace(top, 0.0, ramp_h)[:, None].repeat(bar_width, 1), top)
    canvas.paste(Image.fromarray(ramp, "RGB"), (2, y0))
    draw = ImageDraw.Draw(canvas)
    if unit_text:
        draw.text((2, 1), unit_text, fill=(235, 235, 235), font=font)
    for k, label in enumerate(labels):
        y = y0 + ramp_h - 1 - round(k * (ramp_h - 1) / 4)
        draw.line([(2 + bar_width, y), (2 + bar_width + 3, y)], fill=(235, 235, 235))
        draw.text((bar_width + 8, y - font_size // 2 - 1), label, fill=(235, 235, 235), font=font)
    return np.asarray(canvas)


def render_heat(values: np.ndarray, unit: str, top: float | None = None,
                font_size: int = 12) -> tuple[np.ndarray, float]:
    """uint8 RGB: the map in colour (pixels unchanged in size and place at the top left) with
    its colour bar on the right; returns (picture, top of the bar)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise WriteError(f"a heat map needs a 2-D map, got shape {v.shape}")
    top = nice_top(v) if top is None else float(top)
    heat = heat_colours(v, top)
    bar = _colour_bar(v.shape[0], top, unit, font_size)
    h = max(heat.shape[0], bar.shape[0])
    out = np.full((h, heat.shape[1] + 4 + bar.shape[1], 3), 24, dtype=np.uint8)
    out[:heat.shape[0], :heat.shape[1]] = heat
    out[:bar.shape[0], heat.shape[1] + 4:] = bar
    return out, top


def compose_panels(path: object, panels: Sequence[tuple[str, np.ndarray, str,
                                                          tuple[float, float] | None]],
                   title: str = "", unit: str = "", top: float | None = None) -> None:
    """Write a PNG of panels side by side: ("grey", values, label, (center, width)) windowed
    grey, or ("heat", values, label, None) in colour with its own bar in ``unit``. Each heat
    panel has its own scale (:func:`nice_top`) unless ``top`` is given: an error map and an
    uncertainty map differ several-fold in size, and on a shared scale the smaller one would
    show nothing; their bars say the numbers."""
    from .sheet import compose_sheet
    from .windowing import apply_window

    cells = []
    for kind, values, label, window in panels:
        if kind == "grey":
            c, w = window if window is not None else (float(np.mean(values)),
                                                      float(np.ptp(values)) or 1.0)
            cells.append((apply_window(np.asarray(values, dtype=np.float64), c, w), label))
        elif kind == "heat":
            cells.append((render_heat(values, unit, top)[0], label))
        else:
            raise WriteError(f"unknown panel kind {kind!r}")
    sheet = compose_sheet(cells, title, columns=len(cells))
    target = Path(path)  # type: ignore[arg-type]
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda fh: sheet.save(fh, format="PNG"))
