"""Finite input gives finite output: intensity headroom around the engine's arithmetic.

The engine computes in float64 and returns float32. Two things could turn finite input into
inf/NaN pixels without an error:

* float64 input near its limit (±1.8e308): ``hi − lo`` of the normalisation, the colour
  transform and the bicubic kernel's overshoot (weights up to ~1.25) overflow;
* float32 input near its limit (±3.4e38): the result's overshoot is finite in float64 but not
  in float32.

Resolved: an image whose magnitudes are far from 1 (above 2**32 or below 2**-32) is divided
by a power of two before the engine's arithmetic and multiplied back after (exact in binary
floating point, so results are unchanged otherwise — :func:`headroom`); the result is clipped to
float32's finite range where an overshoot leaves it (a note says how many values were —
:func:`to_float32`). Input beyond float32's range cannot be returned as float32 at all and is
refused before any work with :class:`ValueRangeError`. A non-finite value left after that is a
defect, reported by :class:`NonFiniteResultError` rather than returned.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["FLOAT32_MAX", "ValueRangeError", "NonFiniteResultError", "headroom", "to_float32"]

FLOAT32_MAX = float(np.finfo(np.float32).max)
_FAR = 2.0 ** 32


class ValueRangeError(ValueError):
    """Finite input whose values float32 (the engine's result type) cannot represent."""


class NonFiniteResultError(ArithmeticError):
    """The computation produced NaN or infinity from finite input; nothing is returned."""


def headroom(image: np.ndarray, window: tuple[float, float] | None,
             value_range: tuple[float, float] | None
             ) -> tuple[np.ndarray, tuple[float, float] | None, tuple[float, float] | None,
                        float]:
    """(image, window, value_range, k): the arguments divided by ``k``, a power of two that
    brings the image's largest magnitude near 1, when that magnitude is above 2**32 or below
    2**-32 (k = 1 and the arguments unchanged otherwise, and for integer images).

    Raises:
        ValueRangeError: a value beyond float32's range (±3.4e38), which the result (float32)
            cannot hold.
    """
    if image.dtype.kind != "f" or image.size == 0:
        return image, window, value_range, 1.0
    peak = float(np.max(np.abs(image)))
    if peak > FLOAT32_MAX:
        raise ValueRangeError(
            f"pixel values reach {peak:.6g}, beyond the float32 range (±{FLOAT32_MAX:.4g}) the "
            "result is returned in: rescale the image (e.g. to other units) first")
    if peak == 0 or 1.0 / _FAR <= peak <= _FAR:
        return image, window, value_range, 1.0
    k = math.ldexp(1.0, math.frexp(peak)[1])
    scaled = image.astype(np.float64) / k

    def div(pair: tuple[float, float] | None) -> tuple[float, float] | None:
        return None if pair is None else (float(pair[0]) / k, float(pair[1]) / k)

    return scaled, div(window), div(value_range), k


def to_float32(out: np.ndarray, k: float, notes: list[str]) -> np.ndarray:
    """``out × k`` as float32: values beyond float32's finite range (an interpolation's overshoot
    of input near ±3.4e38) are clipped to it, with a note in ``notes``.

    Raises:
        NonFiniteResultError: NaN or infinity remains (never expected from finite input).
    """
    y = np.asarray(out, dtype=np.float64)
    if k != 1.0:
        y = y * k
    beyond = np.abs(y) > FLOAT32_MAX  # NaN compares False: left for the check below
    n = int(np.count_nonzero(beyond))
    if n:
        y = np.where(beyond, np.sign(y) * FLOAT32_MAX, y)
        notes.append(f"{n} result value(s) beyond the float32 range (overshoot of input near "
                     f"±{FLOAT32_MAX:.4g}) clipped to it")
    result = y.astype(np.float32)
    bad = int(np.count_nonzero(~np.isfinite(result)))
    if bad:
        raise NonFiniteResultError(f"the computation produced {bad} NaN or infinite value(s) "
                                   "from finite input; no result was returned")
    return result
