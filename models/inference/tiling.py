"""Tiled inference as a free function over any predictor (MONAI's ``sliding_window_inference``).

:func:`sliding_window_inference` cuts an LR image into tiles of ``tile`` pixels, runs each with
``overlap`` pixels of context through ``predictor`` and writes the output pixels that tile owns.
Output grid pixel i belongs to the tile whose LR edges bracket i/scale (an LR edge e lies at grid
pixel round_half_up(e·scale)), so every output pixel is computed once. With ``overlap`` at least
a network's receptive radius (:func:`receptive_context`) each output pixel sees all the input it
depends on, and the stitched result equals the untiled one; with its measured reach, all the input
that moves it by more than float32 rounding (the same, within that).

A super-resolved window need not start on the output grid's origin: ``out_shape`` pixels starting
``shift`` pixels into the grid of the whole input (a region with its context around it). Layers
after the upsampler (the HR layers, ``hr_margin``) pad at the borders of the whole image's output
grid, ``on_grid``, as an untiled run of the whole image would.

With ``ensemble=True`` every tile runs in the 8 flips and rotations of the square
(:data:`DIHEDRAL`, :func:`dihedral_forward`); the result is their mean and their per-pixel
standard deviation the spread.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..geometry import output_size, round_half_up
from .errors import UpscaleCancelled

#: ``predictor(lr, out_size, at)``: the output window of ``out_size`` (rows, cols) pixels starting
#: ``at`` (row, col) output pixels into the grid of ``lr`` (1, 1, h, w) in [0, 1], as (1, 1, rows,
#: cols) — e.g. ``functools.partial(network_forward, model)`` with the scale bound.
Predictor = Callable[[torch.Tensor, tuple[int, int], tuple[float, float]], torch.Tensor]

#: LR pixels of context for bicubic: the cubic kernel's reach (2) plus one for the centre's offset.
BICUBIC_CONTEXT = 3

#: the 8 symmetries of the square as (transpose, flip rows, flip columns), identity first
DIHEDRAL: tuple[tuple[bool, bool, bool], ...] = tuple(
    (t, fr, fc) for t in (False, True) for fr in (False, True) for fc in (False, True))


def tile_edges(n: int, tile: int) -> list[int]:
    """LR edges of near-equal tiles of at most ``tile`` pixels along an axis of ``n`` (one tile
    for ``tile`` ≤ 0 or ≥ n)."""
    if tile <= 0 or tile >= n:
        return [0, n]
    k = math.ceil(n / tile)
    return [round(i * n / k) for i in range(k)] + [n]


def owned_edges(edges: list[int], scale: float, n_grid: int, shift: float = 0.0,
                n_out: int | None = None) -> list[int]:
    """Output edges owned by each LR tile, in the coordinates of a window of ``n_out`` pixels
    starting ``shift`` pixels into the ``n_grid``-pixel output grid: grid pixel i belongs to the
    tile whose LR edges bracket i/scale (edge e at grid pixel round(e·scale))."""
    n_out = n_grid if n_out is None else n_out
    inner = [min(max(math.ceil(min(round_half_up(e * scale), n_grid) - shift), 0), n_out)
             for e in edges[1:-1]]
    return [0] + inner + [n_out]


def receptive_context(model: torch.nn.Module, scale: float) -> tuple[int, int]:
    """(LR radius, HR margin): how far a network's output depends on its input, in LR pixels
    (its receptive radius plus its HR layers' reach), and the HR margin those layers need.

    The receptive radius is the architecture's (``receptive_radius``: where the gradient of an
    output pixel ends), or the reach measured on the trained weights where their manifest record
    holds one (``measured_reach``, :mod:`models.evaluation.reach`): the trained networks'
    influence decays much faster than their structure allows, and beyond that reach no input,
    however extreme, moves an output by more than the tolerance it was measured at (1e-6 of the
    normalised range: below float32's resolution of the values it is added to)."""
    hr_margin = int(getattr(model, "hr_radius", 0)) + 1
    radius = int(getattr(model, "receptive_radius", 16))
    reach = getattr(model, "measured_reach", None)
    if reach is not None:
        radius = min(radius, int(reach))
    return radius + int(math.ceil(hr_margin / scale)), hr_margin


def dihedral_forward(predictor: Predictor, lr: torch.Tensor, scale: float,
                     out_size: tuple[int, int], shift: tuple[float, float],
                     transform: tuple[bool, bool, bool], channels_last: bool = False
                     ) -> torch.Tensor:
    """The output window (``out_size`` at ``shift``) of ``lr`` computed in the frame of
    ``transform`` and transformed back.

    Mirroring an axis of length L maps an output window that starts ``a`` HR pixels into the
    input's grid and spans ``n`` to the window starting at ``L·scale − a − n`` (output pixel j
    lies at LR position ``a/scale + (j + 0.5)/scale − 0.5``), so the mirrored run samples the
    very same positions, whether or not ``L·scale`` is whole.

    Args:
        predictor: see :data:`Predictor`.
        lr: (1, 1, h, w) input in [0, 1].
        scale: the magnification.
        out_size: (rows, cols) of the output window.
        shift: (row, col) of the window's first pixel on ``lr``'s output grid.
        transform: (transpose, flip rows, flip columns), one of :data:`DIHEDRAL`.
        channels_last: run the transformed input in channels-last memory format.

    Returns:
        The window, in ``lr``'s own frame.
    """
    transpose, flip_r, flip_c = transform
    x = lr.transpose(-1, -2) if transpose else lr
    size = list(out_size[::-1] if transpose else out_size)
    at = list(shift[::-1] if transpose else shift)
    dims = []
    for axis, flip in ((0, flip_r), (1, flip_c)):
        if flip:
            at[axis] = x.shape[-2 + axis] * scale - at[axis] - size[axis]
            dims.append(-2 + axis)
    if dims:
        x = torch.flip(x, dims)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = predictor(x, (size[0], size[1]), (at[0], at[1]))
    if dims:
        y = torch.flip(y, dims)
    return y.transpose(-1, -2) if transpose else y


@dataclass
class TiledResult:
    out: np.ndarray                 #: float64, the output window
    spread: np.ndarray | None       #: float64, the dihedral runs' SD (``ensemble``), else None
    tiles: int                      #: tiles run (those that own output pixels)


def sliding_window_inference(x: np.ndarray, scale: float, predictor: Predictor, *,
                             tile: int, overlap: int, hr_margin: int = 1,
                             out_shape: tuple[int, int] | None = None,
                             shift: tuple[float, float] = (0.0, 0.0),
                             on_grid: tuple[int, int, int, int] | None = None,
                             device: torch.device | str = "cpu", channels_last: bool = False,
                             ensemble: bool = False,
                             progress: Callable[[int, int], None] | None = None,
                             cancel: Callable[[], bool] | None = None) -> TiledResult:
    """Run ``predictor`` over ``x`` in overlapping tiles and stitch the output window.

    Args:
        x: (h, w) LR image in [0, 1].
        scale: the magnification.
        predictor: see :data:`Predictor`; called once per tile (8 times with ``ensemble``).
        tile: LR tile size in pixels; 0 = one tile.
        overlap: LR pixels of context on each side of a tile.
        hr_margin: output pixels computed beyond a tile's own and cropped (the HR layers' reach).
        out_shape: (rows, cols) of the output window; default: ``x``'s whole output grid.
        shift: (row, col) of the window's first pixel on ``x``'s output grid.
        on_grid: (first row, end row, first col, end col) of the whole image's output grid in
            window coordinates, where the HR layers pad; default: the window itself.
        device: where the tiles run.
        channels_last: tiles in channels-last memory format.
        ensemble: run each tile in the 8 :data:`DIHEDRAL` transforms; mean and spread.
        progress: called as ``progress(done, total)`` after each run.
        cancel: polled before each run; True raises :class:`UpscaleCancelled`.

    Returns:
        A :class:`TiledResult`.

    Raises:
        UpscaleCancelled: ``cancel()`` returned True.
    """
    h, w = x.shape
    grid = output_size(h, w, scale)  # x's whole output grid; the window is shifted within it
    out_shape = grid if out_shape is None else out_shape
    on_grid = (0, out_shape[0], 0, out_shape[1]) if on_grid is None else on_grid
    ey, ex = tile_edges(h, tile), tile_edges(w, tile)
    hy, hx = (owned_edges(e, scale, n, k, d)
              for e, n, k, d in zip((ey, ex), grid, shift, out_shape))
    # tiles that own no output pixel (a region smaller than a tile) are not run or counted
    tiles = sum(1 for a in range(len(ey) - 1) for b in range(len(ex) - 1)
                if hy[a + 1] > hy[a] and hx[b + 1] > hx[b])
    out = np.empty(out_shape, dtype=np.float64)
    spread = np.empty(out_shape, dtype=np.float64) if ensemble else None
    sy, sx = shift
    ya, yb, xa, xb = on_grid  # the HR layers pad beyond them, as in a run of the whole image
    transforms = DIHEDRAL if ensemble else DIHEDRAL[:1]
    total = tiles * len(transforms)
    done = 0
    with torch.inference_mode():
        for a in range(len(ey) - 1):
            for b in range(len(ex) - 1):
                if cancel is not None and cancel():
                    raise UpscaleCancelled("cancelled by the user")
                i0, i1, j0, j1 = hy[a], hy[a + 1], hx[b], hx[b + 1]
                if i1 <= i0 or j1 <= j0:
                    continue  # owns no output pixel (not in ``total``)
                p0 = max(0, ey[a] - overlap)
                p1 = min(h, ey[a + 1] + overlap)
                q0 = max(0, ex[b] - overlap)
                q1 = min(w, ex[b + 1] + overlap)
                t = torch.from_numpy(np.ascontiguousarray(x[p0:p1, q0:q1], np.float32))
                t = t[None, None].to(device)
                if channels_last:
                    t = t.contiguous(memory_format=torch.channels_last)
                # HR window with a margin for the layers after the upsampler, clipped to the
                # whole image's grid (where its untiled run pads too) but never inside
                # [i0, i1) (a region's window can reach half a pixel beyond that grid),
                # computed then cropped to [i0, i1)
                e0, e1 = min(i0, max(ya, i0 - hr_margin)), max(i1, min(yb, i1 + hr_margin))
                f0, f1 = min(j0, max(xa, j0 - hr_margin)), max(j1, min(xb, j1 + hr_margin))
                at = (e0 + sy - p0 * scale, f0 + sx - q0 * scale)
                size = (e1 - e0, f1 - f0)
                if not ensemble:
                    res = predictor(t, size, at)
                    res = res[0, 0, i0 - e0:i1 - e0, j0 - f0:j1 - f0]
                    out[i0:i1, j0:j1] = res.float().cpu().numpy()
                    done += 1
                    if progress is not None:
                        progress(done, total)
                    continue
                runs_out = []
                for transform in transforms:
                    if cancel is not None and cancel():
                        raise UpscaleCancelled("cancelled by the user")
                    res = dihedral_forward(predictor, t, scale, size, at, transform,
                                           channels_last)
                    runs_out.append(res[0, 0, i0 - e0:i1 - e0, j0 - f0:j1 - f0].float())
                    done += 1
                    if progress is not None:
                        progress(done, total)
                stack = torch.stack(runs_out).cpu().double()
                out[i0:i1, j0:j1] = stack.mean(0).numpy()
                spread[i0:i1, j0:j1] = stack.std(0, unbiased=False).numpy()
    return TiledResult(out, spread, tiles)
