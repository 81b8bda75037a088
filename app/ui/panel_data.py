"""What a comparison panel shows, and the views it can show it in (Qt-free).

Views (:data:`VIEW_MODES`): the image; the difference to bicubic (method − bicubic); the Laplacian
edge map (the product's operator); the data-consistency residual (result downscaled by
1/s − input), each on a symmetric grey scale shared by the panels; the computed uncertainty map
of a best-quality run (the spread of the 8 flipped/rotated runs, :mod:`app.uncertainty_view`) as a
heat image with a colour bar in the image's units. Each SR panel carries the permanent overlay
"SR ×s <method> — computed, not acquired" (:func:`sr_overlay_text`); a narrow panel paints the
longest of its shorter forms that fits (:func:`caption_variants`, :func:`fit_caption`), each of
which still says that the pixels are computed.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: What every panel of computed pixels says, in its shortest forms too.
COMPUTED = "computed, not acquired"

VIEW_MODES = {
    "image": "Image",
    "difference": "Difference to bicubic",
    "edges": "Laplacian edges",
    "residual": "Consistency residual",
    "uncertainty": "Computed uncertainty map",
}
#: How the hover readout names the value of each derived view (after the panel's title).
VALUE_TITLES = {"difference": "− bicubic", "edges": "Laplacian", "residual": "residual",
                "uncertainty": "uncertainty (SD)"}
VIEW_SHORT = {"image": "Image", "difference": "Diff − bicubic", "edges": "Edges",
              "residual": "Residual", "uncertainty": "Uncertainty"}
VIEW_TIPS = {
    "image": "The images through the display window",
    "difference": "Each result minus the bicubic result (grey = equal; shared symmetric scale)",
    "edges": "Laplacian of each image (the operator of the paper's eqs. 6–8)",
    "residual": "Data-consistency residual: result downscaled by 1/s minus the input "
                "(grey = consistent)",
    "uncertainty": "Where the computed pixels can be trusted least: the per-pixel spread (SD) "
                   "of the 8 flipped/rotated runs of a “Best quality” run, as a heat map with "
                   "its colour bar in the image's units",
}


def sr_overlay_text(scale: float, method: str, simulated: bool = False) -> str:
    """The label every computed panel carries.

    Args:
        scale: the magnification of the result.
        method: the engine's method name.
        simulated: the input was the bicubic-reduced ROI (a test of the method, not a picture
            of the patient at higher resolution).

    Returns:
        "SR ×2.5 RMISR-VP — computed, not acquired", with " (from a simulated LR input)" after
        it when ``simulated``.
    """
    from app.io import computed_label

    label = computed_label(scale, method)
    return f"{label} (from a simulated LR input)" if simulated else label


def sr_captions(scale: float, method: str, simulated: bool = False) -> tuple[str, ...]:
    """The caption of a computed panel and its shorter forms, longest first.

    Args:
        scale: the magnification of the result.
        method: the engine's method name.
        simulated: the input was the bicubic-reduced ROI.

    Returns:
        :func:`sr_overlay_text`, then "SR ×2.5 · computed, not acquired", "computed, not
        acquired", "SR ×2.5 · computed" and "computed"; from a simulated input, "… (simulated
        LR input)" and "computed, not acquired (simulated LR)" before the last three.
    """
    from app.io.labels import fmt_scale

    sr = f"SR ×{fmt_scale(scale)}"
    short = (COMPUTED, f"{sr} · computed", "computed")
    if simulated:
        return (sr_overlay_text(scale, method, True), f"{sr} · {COMPUTED} (simulated LR input)",
                f"{COMPUTED} (simulated LR)", *short)
    return (sr_overlay_text(scale, method), f"{sr} · {COMPUTED}", *short)


def simulated_input_captions(scale: float) -> tuple[str, ...]:
    """The caption of the simulated low-resolution input's panel and its shorter forms,
    longest first: "Simulated LR (bicubic ÷2.5) — computed, not acquired", "Simulated LR ·
    computed, not acquired", "computed, not acquired", "computed"."""
    return (f"Simulated LR (bicubic ÷{scale:g}) — {COMPUTED}", f"Simulated LR · {COMPUTED}",
            COMPUTED, "computed")


def caption_variants(data: PanelData, mode: str) -> tuple[str, ...]:
    """What a panel's caption can say in view ``mode``, longest first; () for no caption.

    In the Image view (and in the uncertainty view on a panel that is not a computed result)
    the panel's ``overlay`` and ``overlay_short``; in a derived view the first of them (else
    the panel's title) after the view's name, "[Laplacian edges] SR ×2.5 … — computed, not
    acquired", then each of them after the view's short name ("[Edges] computed").
    """
    own = (data.overlay, *data.overlay_short) if data.overlay else ()
    if mode == "image" or (mode == "uncertainty" and data.kind != "sr"):
        return own
    own = own or (data.title,)
    return (f"[{VIEW_MODES[mode]}] {own[0]}", *(f"[{VIEW_SHORT[mode]}] {t}" for t in own))


def caption_line_limit(data: PanelData, mode: str) -> int:
    """How many lines a panel's caption may take: two for the longer captions (a derived
    view's, a simulated input's or its results'), else one."""
    plain = mode == "image" or (mode == "uncertainty" and data.kind != "sr")
    return 1 if plain and not data.simulated else 2


def wrap_words(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """``text`` broken into lines at spaces, each as long as fits in ``width`` (greedy); a
    "—", a "·" and a scale ("×2.5", "÷2.5") stay on the line of the word before it, and a word
    wider than ``width`` gets a line of its own.

    Args:
        text: what to break.
        width: the widest a line may be, in the units of ``measure``.
        measure: the width of a string (e.g. ``QFontMetrics.horizontalAdvance``).

    Returns:
        The lines, [] for an empty text.
    """
    words: list[str] = []
    for word in text.split():
        if words and (word in ("—", "·") or word[0] in "×÷"):
            words[-1] += f" {word}"
        else:
            words.append(word)
    lines: list[str] = []
    for word in words:
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and measure(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines


def fit_caption(variants: Sequence[str], width: float, measure: Callable[[str], float],
                max_lines: int = 1) -> list[str]:
    """The lines of the longest caption among ``variants`` that fits (deterministic).

    Args:
        variants: the caption's forms, longest first (:func:`caption_variants`).
        width: the widest a line may be, in the units of ``measure``.
        measure: the width of a string.
        max_lines: how many lines the caption may take.

    Returns:
        The first variant's lines (:func:`wrap_words`) when there are at most ``max_lines``
        and each fits in ``width``; else the last variant's lines whatever their width (a
        caption is never left out); [] without variants.
    """
    for text in variants:
        lines = wrap_words(text, width, measure)
        if len(lines) <= max_lines and all(measure(line) <= width for line in lines):
            return lines
    return wrap_words(variants[-1], width, measure) if variants else []


@dataclass
class PanelData:
    """What one comparison panel shows.

    Attributes:
        key: "source", "input", "reference" or the method name.
        title: header text ("RMISR-BL", "Source ROI (nearest)").
        pixels: full-range pixels (float32) of the panel.
        extent: (width, height) of the scene rectangle the pixels cover, in source pixels.
        origin: (x, y) of that rectangle's top-left corner on the source image (the run's
            region's corner): scene point p is source point origin + p.
        kind: "source" (the ROI as acquired), "input" (simulated LR), "reference" (ground truth)
            or "sr" (a computed result).
        method: engine method name for "sr" panels.
        scale: the magnification of "sr" panels.
        seconds: runtime of "sr" panels.
        residual: data-consistency residual map (input grid), "sr" panels only.
        info: the engine's record of the run (``UpscaleInfo``), "sr" panels only.
        overlay: permanent overlay text (None: no overlay).
        overlay_short: shorter forms of ``overlay``, longest first, for a panel too narrow for
            it (:func:`sr_captions`); each still says that the pixels are computed.
        simulated: the panel shows the simulated low-resolution input or a result computed
            from it (its caption may take two lines).
        uncertainty: the computed uncertainty map (2-D, the image's units) of a best-quality
            "sr" panel, else None.
    """

    key: str
    title: str
    pixels: np.ndarray
    extent: tuple[float, float]
    kind: str = "sr"
    method: str | None = None
    scale: float | None = None
    seconds: float | None = None
    residual: np.ndarray | None = field(default=None, repr=False)
    info: Any = None
    overlay: str | None = None
    overlay_short: tuple[str, ...] = ()
    uncertainty: np.ndarray | None = field(default=None, repr=False)
    origin: tuple[float, float] = (0.0, 0.0)
    simulated: bool = False

    @property
    def subtitle(self) -> str:
        """The panel header's second line: "×2.5 · 0.42 s · 160×160 px" (what is known)."""
        h, w = self.pixels.shape[:2]
        parts = []
        if self.scale is not None:
            parts.append(f"×{self.scale:g}")
        if self.seconds is not None:
            parts.append(f"{self.seconds:.2f} s")
        parts.append(f"{w}×{h} px")
        return " · ".join(parts)
