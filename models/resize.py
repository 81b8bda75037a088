"""MATLAB-compatible bicubic ``imresize``: the training and evaluation degradation, and the
Bicubic method.

Reproduces MATLAB's ``imresize(A, scale, 'bicubic')`` with antialiasing:

* cubic kernel with a = −0.5 (Keys), support 4;
* when shrinking (scale < 1) the kernel is widened by 1/scale and scaled by ``scale``
  (``h(x) = scale·cubic(scale·x)``) — MATLAB's antialiasing;
* output pixel i (1-based) samples input coordinate ``u = i/scale + 0.5·(1 − 1/scale)``,
  i.e. 0-based ``(i + 0.5)/scale − 0.5`` (centre-aligned);
* weights normalised to sum 1 per output pixel; out-of-range taps mirrored symmetrically
  (MATLAB's ``[1:n, n:-1:1]`` index wrap);
* dimensions resized one at a time, rows first when the scales are equal; for ``uint8`` input the
  result of each pass is rounded and clipped to uint8 (MATLAB's ``imresizemex`` keeps the class).

OpenCV's and PIL's bicubic use a = −0.75 and no antialiasing: they must not be used for the
degradation or the evaluation.

``shift`` lets a caller compute only output pixels ``shift … shift+out_len−1`` of the full-image
grid from a crop of the input (used by the tiled inference).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from .amp import no_autocast
from .geometry import output_size


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = −0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


@lru_cache(maxsize=256)
def contributions(in_len: int, out_len: int, scale: float, shift: float = 0.0,
                  antialias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Weights (out_len, P) and 0-based input indices (out_len, P) of one 1-D resize."""
    kernel_width = 4.0
    if scale < 1 and antialias:
        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * cubic(scale * x)
        kernel_width = kernel_width / scale
    else:
        kernel = cubic
    u = (np.arange(out_len, dtype=np.float64) + shift + 0.5) / scale - 0.5
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    ind = left[:, None] + np.arange(taps)[None, :]
    weights = kernel(u[:, None] - ind)
    weights /= weights.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    indices = aux[np.mod(ind.astype(np.int64), 2 * in_len)]
    keep = np.any(weights != 0, axis=0)
    weights, indices = weights[:, keep], indices[:, keep]
    weights.setflags(write=False)
    indices.setflags(write=False)
    return weights, indices


def _resize_axis(a: np.ndarray, axis: int, out_len: int, scale: float, shift: float,
                 antialias: bool) -> np.ndarray:
    w, idx = contributions(a.shape[axis], out_len, float(scale), float(shift), antialias)
    moved = np.moveaxis(a, axis, 0).astype(np.float64, copy=False)
    out = np.einsum("op,op...->o...", w, moved[idx])
    return np.moveaxis(out, 0, axis)


def imresize(image: np.ndarray, scale: float | None = None,
             output_shape: tuple[int, int] | None = None,
             shift: tuple[float, float] = (0.0, 0.0), antialias: bool = True) -> np.ndarray:
    """Resize a 2-D or H×W×C array like MATLAB ``imresize(..., 'bicubic')``.

    Args:
        image: array; ``uint8`` input returns ``uint8`` (rounded after each pass, as MATLAB does),
            any other dtype returns float64.
        scale: the resize factor (>1 enlarges). If omitted it is taken from ``output_shape``.
        output_shape: (rows, cols); default ``round_half_up(size·scale)``.
        shift: output-grid offset (rows, cols) in output pixels, for computing a sub-window.
        antialias: widen the kernel when shrinking (MATLAB default True).
    """
    a = np.asarray(image)
    if a.ndim not in (2, 3):
        raise ValueError(f"imresize expects a 2-D or H×W×C array, got shape {a.shape}")
    h, w = a.shape[:2]
    if scale is None and output_shape is None:
        raise ValueError("give scale or output_shape")
    if output_shape is None:
        output_shape = output_size(h, w, float(scale))
    scales = (float(scale), float(scale)) if scale is not None else (
        output_shape[0] / h, output_shape[1] / w)
    is_uint8 = a.dtype == np.uint8
    out = a
    order = sorted(range(2), key=lambda d: scales[d])  # MATLAB: smallest scale first, stable
    for d in order:
        out = _resize_axis(out, d, int(output_shape[d]), scales[d], shift[d], antialias)
        if is_uint8:
            out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out


@lru_cache(maxsize=256)
def _upsample_matrix(in_len: int, out_len: int, scale: float, shift: float) -> np.ndarray:
    """Dense (out_len, in_len) matrix of one 1-D bicubic enlargement (float64, read-only)."""
    w, idx = contributions(in_len, out_len, scale, shift, True)
    m = np.zeros((out_len, in_len))
    np.add.at(m, (np.arange(out_len)[:, None].repeat(idx.shape[1], 1), idx), w)
    m.setflags(write=False)
    return m


@lru_cache(maxsize=256)
def _upsample_matrix_t(in_len: int, out_len: int, scale: float, shift: float,
                       device: torch.device) -> torch.Tensor:
    """:func:`_upsample_matrix` as a float32 tensor on ``device`` (built once
    per training shape)."""
    return torch.tensor(_upsample_matrix(in_len, out_len, scale, shift), dtype=torch.float32,
                        device=device)


def upsample_bicubic(x: torch.Tensor, scale: float, out_size: tuple[int, int] | None = None,
                     shift: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
    """:func:`imresize` enlargement of a (…, H, W) tensor, differentiable, in float32.

    The same cubic kernel, centre-aligned grid, symmetric border and ``shift`` window as
    :func:`imresize` (for ``scale`` ≥ 1 antialiasing plays no part), computed as two small matrix
    products; autocast is switched off so a bf16 training step does not round the result.
    Used as the global bicubic skip of the meta-upsampler models (:mod:`models.archs.rmisr`).
    """
    h, w = x.shape[-2:]
    oh, ow = out_size if out_size is not None else output_size(h, w, float(scale))
    my = _upsample_matrix_t(h, oh, float(scale), float(shift[0]), x.device)
    mx = _upsample_matrix_t(w, ow, float(scale), float(shift[1]), x.device)
    with no_autocast(x.device.type):
        return my @ x.float() @ mx.T


def degrade(hr: np.ndarray, scale: float, round_to: str | None = "uint8",
            lr_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Bicubic degradation: HR → LR by 1/scale, float64 in, optional 8-bit rounding.

    ``lr_shape`` defaults to (floor(H/s), floor(W/s)); the caller should have cropped the HR to
    ``round(H_lr·s)`` so the grids align.
    """
    hr = np.asarray(hr, dtype=np.float64)
    if lr_shape is None:
        lr_shape = (int(math.floor(hr.shape[0] / scale + 1e-9)),
                    int(math.floor(hr.shape[1] / scale + 1e-9)))
    lr = imresize(hr, 1.0 / scale, output_shape=lr_shape)
    if round_to == "uint8":
        lr = np.clip(np.round(lr), 0, 255)
    return lr
