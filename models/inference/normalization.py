"""What a network sees: the luminance of an image, normalised to [0, 1].

* Colour images go through Y (network) + CbCr (bicubic): a linear full-range BT.601 YCbCr
  transform without offsets, valid for any intensity range (:func:`rgb_to_ycc`,
  :func:`ycc_to_rgb`).
* The intensities ``lo … hi`` that map to 0 and 1 come from one of :data:`NORMALIZATION_MODES`
  (:func:`normalization_bounds`): ``"range"`` (the image's min–max, or a given value range),
  ``"percentile"`` (0.5–99.5th percentiles; the min–max where they coincide on an image that
  is not flat) or ``"window"`` (the display window).
"""
from __future__ import annotations

import math

import numpy as np

NORMALIZATION_MODES = ("range", "percentile", "window")
#: Default normalisation: the mode with the best mean gain over bicubic in original units, as
#: measured by ``python -m models.evaluation.medical_eval`` (numbers in docs/results.md, "Medical
#: images").
DEFAULT_NORMALIZATION = "range"

RGB2YCC = np.array([[0.299, 0.587, 0.114],
                    [-0.168736, -0.331264, 0.5],
                    [0.5, -0.418688, -0.081312]])
YCC2RGB = np.linalg.inv(RGB2YCC)


def rgb_to_ycc(rgb: np.ndarray) -> np.ndarray:
    """Linear full-range BT.601 Y, Cb, Cr (no offsets: valid for any intensity range)."""
    return rgb @ RGB2YCC.T


def ycc_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """The inverse of :func:`rgb_to_ycc`."""
    return ycc @ YCC2RGB.T


def normalization_bounds(image: np.ndarray, mode: str, window: tuple[float, float] | None = None,
                         value_range: tuple[float, float] | None = None) -> tuple[float, float]:
    """(lo, hi) that map to 0 and 1 for the network.

    Args:
        image: the luminance whose statistics set the bounds (``"range"``, ``"percentile"``).
        mode: one of :data:`NORMALIZATION_MODES`.
        window: the display window (centre, width), for ``"window"``.
        value_range: (lo, hi) to use instead of the image's min–max, for ``"range"``.

    Returns:
        (lo, hi) in the image's units.

    Raises:
        ValueError: an unknown mode, or a given ``value_range``/``window`` that is not finite or
            empty (hi ≤ lo, width ≤ 0): never silently a flat image's bicubic.
    """
    if mode == "range":
        if value_range is not None:
            lo, hi = float(value_range[0]), float(value_range[1])
            if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
                raise ValueError(f"value_range must be finite with low < high, got {value_range}")
            return lo, hi
        return float(image.min()), float(image.max())
    if mode == "percentile":
        lo, hi = np.percentile(image, [0.5, 99.5])
        if not hi > lo:  # ≥ 99 % of one value (air around a small nodule): not a flat image
            return float(image.min()), float(image.max())
        return float(lo), float(hi)
    if mode == "window":
        if window is None:
            raise ValueError("normalization='window' needs window=(center, width)")
        c, w = float(window[0]), float(window[1])
        if not (math.isfinite(c) and math.isfinite(w) and w > 0):
            raise ValueError(f"window must be a finite (center, width) with width > 0, got "
                             f"{window}")
        return c - w / 2.0, c + w / 2.0
    raise ValueError(f"unknown normalization {mode!r}; expected one of {NORMALIZATION_MODES}")
