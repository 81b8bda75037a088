"""Upsamplers (paper §4.3, eqs. 15–17, Fig. 5).

* :class:`SubPixelUpsampler` — conv3×3 (C → out·s²) → PixelShuffle(s), integer
  s ∈ {2, 3, 4}.
* :class:`MetaUpsampler` — Meta-SR style arbitrary-scale upsampler.

Meta upsampler, with the printed typos resolved:

* Eq. 15, position projection: output pixel (i, j) maps to the LR position
  ``((i + 0.5)/s − 0.5, (j + 0.5)/s − 0.5)`` — centre-aligned, the geometry of the MATLAB
  degradation (eq. 15 prints i/s, a corner-aligned variant that is off by half a pixel).
* Eq. 16 prints ``p/s − p/s`` (always zero); the intended offset is the fractional part
  ``R = p′ − floor(p′)``. A small MLP f(R_y, R_x, 1/s; θ): 3 → 256 → k·k·C·out
  predicts the k×k filter of that output pixel.
* Eq. 17: the output is that filter applied to the k×k LR feature neighbourhood centred at
  ``floor(p′)`` (replicate padding outside the image).

Efficiency: the offsets take few distinct values (a rational scale p/q has at most p per axis),
so the MLP runs once per **distinct** (R_y, R_x) pair, never per output pixel. The filters of all
pairs are stacked into one convolution over the LR grid and the output gathers, for every output
pixel, the response of its own filter at its own LR position — fully vectorised. When the pairs
are so many that this wastes work (e.g. a scale like 2.37), the filters are applied only at the
positions that use them instead.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..geometry import output_size, project


class SubPixelUpsampler(nn.Module):
    """conv3×3 (C → out·s²) → PixelShuffle(s) (ESPCN)."""

    def __init__(self, in_channels: int, out_channels: int, scale: int) -> None:
        super().__init__()
        if int(scale) != scale or scale < 2:
            raise ValueError(f"sub-pixel upsampler needs an integer scale ≥ 2, got {scale}")
        self.scale = int(scale)
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, out_channels * self.scale ** 2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(self.scale)

    def forward(self, x: torch.Tensor, scale: float | None = None,
                out_size: tuple[int, int] | None = None,
                shift: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
        if scale is not None and abs(float(scale) - self.scale) > 1e-9:
            raise ValueError(f"this sub-pixel upsampler is ×{self.scale}, asked for ×{scale}")
        y = self.shuffle(self.conv(x))
        if out_size is None and shift == (0.0, 0.0):
            return y
        sy, sx = int(round(shift[0])), int(round(shift[1]))
        oh, ow = out_size if out_size is not None else (y.shape[-2] - sy, y.shape[-1] - sx)
        return y[..., sy:sy + oh, sx:sx + ow]


def _axis_plan(in_len: int, out_len: int, scale: float, shift: float, pad: int
               ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Per output index: padded LR index of floor(p′), distinct offsets, inverse index."""
    src = project(out_len, scale, shift)
    base = np.floor(src + 1e-9)
    offset = np.round(src - base, 6)
    offset[offset >= 1.0] = 0.0
    index = np.clip(base, -pad, in_len - 1 + pad).astype(np.int64) + pad
    uniq, inverse = np.unique(offset, return_inverse=True)
    return torch.from_numpy(index), uniq, inverse


class MetaUpsampler(nn.Module):
    """Arbitrary-scale upsampler (eqs. 15–17) with a weight-prediction MLP
    3 → hidden → k²·C·out."""

    def __init__(self, in_channels: int, out_channels: int = 1, kernel_size: int = 3,
                 hidden: int = 256, max_stacked_pairs: int = 400) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.max_stacked_pairs = max_stacked_pairs
        self.filter_scale = 1.0 / (kernel_size * kernel_size * in_channels)
        self.mlp = nn.Sequential(
            nn.Linear(3, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, kernel_size * kernel_size * in_channels * out_channels),
        )
        self.last_distinct_offsets = 0  # number of MLP evaluations in the last forward (for tests)

    def predict_filters(self, ry: np.ndarray, rx: np.ndarray, scale: float,
                        like: torch.Tensor) -> torch.Tensor:
        """Filters for every (ry, rx) pair: (len(ry)·len(rx)·out, C, k, k)."""
        gy, gx = np.meshgrid(ry, rx, indexing="ij")
        inp = np.stack([gy.ravel(), gx.ravel(), np.full(gy.size, 1.0 / scale)], axis=1)
        inp_t = torch.as_tensor(inp, dtype=torch.float32, device=like.device)
        w = self.mlp(inp_t) * self.filter_scale
        self.last_distinct_offsets = inp.shape[0]
        k = self.kernel_size
        return w.reshape(-1, self.out_channels, self.in_channels, k, k).reshape(
            -1, self.in_channels, k, k)

    def forward(self, x: torch.Tensor, scale: float, out_size: tuple[int, int] | None = None,
                shift: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
        b, c, h, w = x.shape
        scale = float(scale)
        oh, ow = out_size if out_size is not None else output_size(h, w, scale)
        r = self.kernel_size // 2
        pad = r + 1  # +1: the first output rows project slightly before LR row 0
        iy, ry, inv_y = _axis_plan(h, oh, scale, shift[0], pad)
        ix, rx, inv_x = _axis_plan(w, ow, scale, shift[1], pad)
        filters = self.predict_filters(ry, rx, scale, x).to(x.dtype)
        xp = F.pad(x, (pad, pad, pad, pad), mode="replicate")
        ny, nx, o = len(ry), len(rx), self.out_channels
        iy, ix = iy.to(x.device), ix.to(x.device)
        pair = (torch.as_tensor(inv_y, device=x.device)[:, None] * nx
                + torch.as_tensor(inv_x, device=x.device)[None, :])  # (oh, ow)
        if ny * nx <= self.max_stacked_pairs:
            # one convolution with every pair's filters, then gather each pixel's own response
            resp = F.conv2d(xp, filters)  # (b, pairs·o, h+2pad−2r, ...), channel = pair·o + o_i
            # each output pixel reads its pair's o channels at its LR position (padded index p ↦
            # conv output index p − r), addressed through the strides of whatever memory format
            # the convolution returned (channels-last on a CPU): no copy of the response
            st = resp.stride()
            channel = pair[None] * o + torch.arange(o, device=x.device)[:, None, None]
            flat = (channel * st[1] + (iy - r)[None, :, None] * st[2]
                    + (ix - r)[None, None, :] * st[3])  # (o, oh, ow)
            per_image = resp.as_strided((b, resp.numel() // b), (st[0], 1))
            out = torch.gather(per_image, 1, flat.reshape(1, -1).expand(b, -1))
            return out.reshape(b, o, oh, ow)
        # many distinct pairs: per row offset class, one convolution over just the LR row strips
        # that class uses (its nx column filters), then each output pixel gathers its column
        fil = filters.reshape(ny, nx * o, c, self.kernel_size, self.kernel_size)
        taps = torch.arange(-r, r + 1, device=x.device)
        cols = ix - r  # padded index ↦ conv output column
        inv_x_t = torch.as_tensor(inv_x, device=x.device)
        out = x.new_empty((b, o, oh, ow))
        for a in range(ny):
            rows_a = np.nonzero(inv_y == a)[0]
            if rows_a.size == 0:
                continue
            rows_t = torch.as_tensor(rows_a, device=x.device)
            strips = xp[:, :, iy[rows_t][:, None] + taps]  # (b, c, n_a, k, W')
            n_a = rows_a.size
            strips = strips.permute(0, 2, 1, 3, 4).reshape(b * n_a, c, self.kernel_size, -1)
            resp = F.conv2d(strips, fil[a]).reshape(b, n_a, nx, o, -1)  # (b, n_a, nx, o, W'−2r)
            picked = resp[:, :, inv_x_t, :, cols]  # (ow, b, n_a, o)
            out[:, :, rows_t] = picked.permute(1, 3, 2, 0)
        return out
