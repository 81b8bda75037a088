"""Output size and pixel projection shared by every method.

* Output size for an H×W input at scale s is ``(round_half_up(H·s), round_half_up(W·s))`` with
  ``round_half_up(x) = floor(x + 0.5)`` (not Python's banker's rounding) — everywhere in the
  product.
* Output pixel i (0-based) projects to the LR coordinate ``(i + 0.5)/s − 0.5`` (centre-aligned),
  which is the geometry of MATLAB's ``imresize`` and therefore of the training degradation.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

SCALE_MIN = 1.1
SCALE_MAX = 5.0
#: Largest output the engine produces, in pixels (≈ 12 200 × 12 200, the I/O layer's largest
#: accepted input). The result is one float32 array (≈ 600 MB at this size, ×3 for colour) held
#: in memory with its copies on the way to the screen or a file; a hospital PC has 8–16 GB.
MAX_OUTPUT_PIXELS = 150_000_000


def round_half_up(x: float) -> int:
    """floor(x + 0.5), robust to the float error of products such as 3 × 1.1."""
    return int(math.floor(round(x, 9) + 0.5))


def output_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(round(H·s), round(W·s)) with halves rounded up."""
    return round_half_up(height * scale), round_half_up(width * scale)


def check_output_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """:func:`output_size`, or ValueError when it exceeds :data:`MAX_OUTPUT_PIXELS`."""
    oh, ow = output_size(height, width, scale)
    if oh * ow > MAX_OUTPUT_PIXELS:
        raise ValueError(
            f"×{scale:g} of a {width}×{height} px image would be {ow}×{oh} px "
            f"({oh * ow / 1e6:.0f} Mpx), more than the {MAX_OUTPUT_PIXELS / 1e6:.0f} Mpx one "
            "result may have: choose a smaller region or a lower scale")
    return oh, ow


def check_scale(scale: object, error: type[Exception] = ValueError) -> float:
    """Return ``scale`` as float if it is a number in [1.1, 5], else raise ``error`` saying why
    (the engine raises ValueError, the I/O layer its InvalidScaleError: one check, one wording)."""
    try:
        s = float(scale)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise error(f"scale {scale!r} is not a number") from None
    if not math.isfinite(s) or s < SCALE_MIN - 1e-9 or s > SCALE_MAX + 1e-9:
        raise error(f"scale ×{scale} is outside the supported range ×{SCALE_MIN:g}–×{SCALE_MAX:g}")
    return s


def check_roi(roi: Sequence[float] | None, rows: int, cols: int,
              error: type[Exception] = ValueError) -> tuple[int, int, int, int]:
    """``roi`` = (x, y, w, h) in pixels of a ``rows`` × ``cols`` image as four ints; the whole image
    for None. Raises ``error`` when it is not four whole numbers, is empty (w or h < 1) or is not
    entirely inside the image — the one ROI check of the engine and the I/O layer."""
    if roi is None:
        return 0, 0, int(cols), int(rows)
    try:
        values = [float(v) for v in roi]
    except (TypeError, ValueError):
        raise error(f"ROI {roi!r} must be four numbers x, y, w, h") from None
    if len(values) != 4:
        raise error(f"ROI {tuple(roi)!r} must have four values x, y, w, h, got {len(values)}")
    if not all(math.isfinite(v) and v == int(v) for v in values):
        raise error(f"ROI {tuple(roi)!r} must be whole pixels")
    x, y, w, h = (int(v) for v in values)
    if w < 1 or h < 1:
        raise error(f"ROI {x},{y},{w},{h} is empty (width and height must be ≥ 1)")
    if x < 0 or y < 0 or x + w > cols or y + h > rows:
        raise error(f"ROI {x},{y},{w},{h} (x, y, w, h) is not inside the {cols}×{rows} image")
    return x, y, w, h


def project(count: int, scale: float, shift: float = 0.0) -> np.ndarray:
    """LR coordinates of output pixels ``shift + 0 … shift + count−1`` (float64)."""
    i = np.arange(count, dtype=np.float64) + shift
    return (i + 0.5) / scale - 0.5
