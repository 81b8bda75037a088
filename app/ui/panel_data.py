"""What a comparison panel shows, and the views it can show it in (Qt-free).

Views (:data:`VIEW_MODES`): the image; the difference to bicubic (method − bicubic); the Laplacian
edge map (the product's operator); the data-consistency residual (result downscaled by
1/s − input), each on a symmetric grey scale shared by the panels; the computed uncertainty map
of a best-quality run (the spread of the 8 flipped/rotated runs, :mod:`app.uncertainty_view`) as a
heat image with a colour bar in the image's units. Each SR panel carries the permanent overlay
"SR ×s <method> — computed, not acquired" (:func:`sr_overlay_text`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
    uncertainty: np.ndarray | None = field(default=None, repr=False)
    origin: tuple[float, float] = (0.0, 0.0)

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
