"""Per-pixel uncertainty maps for a super-resolved image, and how to score them.

The engine's best-quality mode (``SuperResolver.upscale(..., ensemble=True)``) returns the mean of
the 8 flipped/rotated runs and their per-pixel standard deviation (``info.uncertainty``): where
the network's answer depends on the orientation it was shown, it is guessing. This module holds
the variants of that map that ``python -m models.evaluation.uncertainty_eval --variant``
compares, and the scores it uses:

* ``spread`` — the ensemble's standard deviation as the engine returns it;
* ``spread-smooth`` — the spread averaged over a Gaussian of σ = 1 output pixel (errors cluster
  along edges, a pixel's neighbours' spread is evidence about it too);
* ``bicubic-diff`` — |network − bicubic|: where the network departs from plain interpolation;
* ``method-diff`` — |RMISR-BL − RMISR-VP|: where two trained networks disagree;
* ``spread×bicubic-diff`` — the geometric mean √(spread · |network − bicubic|), a combination
  that needs no fitted weight (only the ranking matters for the AUC);
* ``calibrated`` — a non-negative linear model a·spread + b·|network − bicubic| +
  c·|RMISR-BL − RMISR-VP| of the expected |error|, fitted by :func:`fit_calibration` on training
  images (never on the benchmark sets it is scored on). No intercept, so the map stays in the
  image's units and scales with them (the weights fitted on 8-bit images hold for HU and MR).

:data:`DEFAULT_VARIANT` is the one with the best measured AUC (docs/results.md, "Uncertainty");
the scores are :func:`auc_worst` (how well the map ranks the worst pixels) and :func:`spearman`.
Numpy/scipy only, no torch.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage, optimize, stats

VARIANTS: tuple[str, ...] = ("spread", "spread-smooth", "bicubic-diff", "method-diff",
                             "spread×bicubic-diff", "calibrated")
#: The variant the CLI and viewer show: the plain spread unless another measured better
#: (``python -m models.evaluation.uncertainty_eval --variant all``; docs/results.md,
#: "Uncertainty").
DEFAULT_VARIANT = "spread-smooth"
#: Which extra inputs each variant needs beyond the ensemble's spread.
NEEDS: dict[str, frozenset[str]] = {
    "spread": frozenset(), "spread-smooth": frozenset(), "bicubic-diff": frozenset({"bicubic"}),
    "method-diff": frozenset({"other"}), "spread×bicubic-diff": frozenset({"bicubic"}),
    "calibrated": frozenset({"bicubic", "other"}),
}
#: Fraction of pixels that :func:`auc_worst` counts as "the worst" by default.
WORST_FRACTION = 0.10


def auc_worst(score: np.ndarray, error: np.ndarray, fraction: float = WORST_FRACTION) -> float:
    """Area under the ROC curve with which ``score`` picks out the ``fraction`` of pixels with
    the largest ``error`` (|SR − HR|).

    Positives are the pixels whose error is at least the (1 − fraction) quantile. The AUC is the
    Mann–Whitney rank formula (average ranks for ties, so a constant score gives exactly 0.5):
    the probability that a random positive scores above a random negative. NaN when every pixel
    is a positive or none is.
    """
    s = np.asarray(score, dtype=np.float64).ravel()
    e = np.asarray(error, dtype=np.float64).ravel()
    if s.shape != e.shape:
        raise ValueError(f"score and error differ in size: {s.size} vs {e.size}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    positive = e >= np.quantile(e, 1.0 - fraction)
    n_pos = int(positive.sum())
    n_neg = s.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(s)  # average ranks for ties
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (NaN when either is constant)."""
    x, y = np.ravel(a), np.ravel(b)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def features(spread: np.ndarray, sr: np.ndarray, bicubic: np.ndarray | None = None,
             other: np.ndarray | None = None) -> np.ndarray:
    """The calibration's inputs as an (N, 3) array: spread, |SR − bicubic|, |SR − other|
    (a missing input's column is zero)."""
    cols = [np.ravel(spread).astype(np.float64)]
    for ref in (bicubic, other):
        cols.append(np.zeros(cols[0].size) if ref is None
                    else np.abs(np.ravel(sr).astype(np.float64) - np.ravel(ref)))
    return np.stack(cols, axis=1)


def fit_calibration(samples: list[tuple[np.ndarray, np.ndarray]], max_rows: int = 200_000,
                    seed: int = 0) -> tuple[float, float, float]:
    """Non-negative least squares of |error| on the :func:`features` columns, pooled over
    ``samples`` = [(features (N, 3), |SR − HR| (N,)), ...] (at most ``max_rows`` random rows).

    Returns the weights (a, b, c) of spread, |SR − bicubic| and |SR − other|.
    """
    x = np.concatenate([f for f, _ in samples])
    y = np.concatenate([np.ravel(e) for _, e in samples]).astype(np.float64)
    if len(y) > max_rows:
        pick = np.random.default_rng(seed).choice(len(y), max_rows, replace=False)
        x, y = x[pick], y[pick]
    coef, _ = optimize.nnls(x, y)
    return float(coef[0]), float(coef[1]), float(coef[2])


def uncertainty_map(variant: str, spread: np.ndarray, sr: np.ndarray | None = None,
                    bicubic: np.ndarray | None = None, other: np.ndarray | None = None,
                    calibration: tuple[float, float, float] | None = None) -> np.ndarray:
    """The ``variant`` (one of :data:`VARIANTS`) map of a result (2-D, or H×W×3 like the
    engine's colour spread), float32 in the image's units (the geometric mean too;
    ``calibrated`` is an expected |error|).

    Args:
        spread: the ensemble's per-pixel standard deviation (``info.uncertainty``).
        sr: the ensemble's result (needed by every variant that compares it with something).
        bicubic: the bicubic result of the same input and scale.
        other: another network's result (RMISR-VP for RMISR-BL).
        calibration: (a, b, c) from :func:`fit_calibration` for ``calibrated``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown uncertainty variant {variant!r}; choose one of {VARIANTS}")
    spread = np.asarray(spread, dtype=np.float64)
    missing = [n for n in sorted(NEEDS[variant]) if {"bicubic": bicubic, "other": other}[n] is None]
    if missing or (NEEDS[variant] and sr is None):
        raise ValueError(f"variant {variant!r} needs the SR result and {', '.join(missing)}")
    if variant == "spread":
        out = spread
    elif variant == "spread-smooth":
        # over the image plane only: a colour result's channels stay apart
        out = ndimage.gaussian_filter(spread, (1.0, 1.0) + (0.0,) * (spread.ndim - 2),
                                      mode="nearest")
    elif variant == "bicubic-diff":
        out = np.abs(np.asarray(sr, dtype=np.float64) - bicubic)
    elif variant == "method-diff":
        out = np.abs(np.asarray(sr, dtype=np.float64) - other)
    elif variant == "spread×bicubic-diff":
        out = np.sqrt(spread * np.abs(np.asarray(sr, dtype=np.float64) - bicubic))
    else:
        if calibration is None:
            raise ValueError("variant 'calibrated' needs the calibration weights")
        out = (features(spread, sr, bicubic, other) @ np.asarray(calibration, dtype=np.float64)
               ).reshape(spread.shape)
    return out.astype(np.float32)
