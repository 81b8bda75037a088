"""ICCA — information-entropy contrast-aware channel attention (paper §4.2, eq. 14, Fig. 4).

Eq. 14 replaces global average pooling by a per-channel statistic

    s_c = IE(x_c) + SD(x_c) + ME(x_c)

(information entropy + standard deviation + mean), followed by the usual squeeze/excite
(1×1 down, ReLU, 1×1 up, sigmoid) and a channel-wise product.

Ambiguities resolved
--------------------
* Entropy of signed features. Eq. 14 writes (1/N)·Σ x·log₂x on raw features, undefined for
  x ≤ 0. We use the entropy of a softmax over the positions of the statistics window, normalised
  to [0, 1]: ``p = softmax(x)``, ``IE = −Σ p·log p / log n``. It is finite and differentiable
  for every real input (zeros and negatives included), is 1 for a flat map and tends to 0 for a
  single peak — the paper's "richness" of the map. The division by log n plays the role of the
  paper's N = 256.
* Where the statistics are taken. Global pooling makes every output pixel depend on the whole
  image, so tiled inference could never match untiled inference, and the statistics seen at test
  time (whole image) differ from those seen in training (a 48–64 px patch) — the train/test
  inconsistency of global pooling described by Chu et al., "Improving Image Restoration by
  Revisiting Global Information Aggregation" (ECCV 2022). We therefore take mean, SD and entropy
  over a local ``window × window`` neighbourhood of every pixel (default 15, borders use the valid
  part only), in training and inference alike. The block then has a finite receptive field and
  tiles with enough overlap reproduce the untiled output. ``window=None`` gives the paper's global
  pooling (used only to compare).
* Statistics are computed in float32 even under bf16 autocast.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_EXP_FLOOR = -60.0  # exp(x - max) below this is treated as exp(-60): avoids 0/0 in far windows


def _box_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Mean over a centred window×window box (valid part only at borders), separable."""
    r = window // 2
    x = F.avg_pool2d(x, (window, 1), stride=1, padding=(r, 0), count_include_pad=False)
    return F.avg_pool2d(x, (1, window), stride=1, padding=(0, r), count_include_pad=False)


def _box_count(h: int, w: int, window: int, like: torch.Tensor) -> torch.Tensor:
    r = window // 2
    rows = torch.arange(h, device=like.device)
    cols = torch.arange(w, device=like.device)
    nh = (torch.clamp(rows + r, max=h - 1) - torch.clamp(rows - r, min=0) + 1).to(like.dtype)
    nw = (torch.clamp(cols + r, max=w - 1) - torch.clamp(cols - r, min=0) + 1).to(like.dtype)
    return (nh[:, None] * nw[None, :]).reshape(1, 1, h, w)


def icca_statistic(x: torch.Tensor, window: int | None = 15) -> torch.Tensor:
    """Eq. 14 statistic (normalised entropy + SD + mean) per channel.

    Returns (B, C, 1, 1) for ``window=None`` (global) or (B, C, H, W) for a local window.
    """
    x = x.float()
    b, c, h, w = x.shape
    if window is None:
        n = h * w
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).add(1e-12).sqrt()
        if n <= 1:
            return std + mean
        log_p = torch.log_softmax(x.reshape(b, c, n), dim=-1)
        ent = (-(log_p.exp() * log_p).sum(dim=-1) / math.log(n)).reshape(b, c, 1, 1)
        return ent + std + mean
    mean = _box_mean(x, window)
    var = (_box_mean(x * x, window) - mean * mean).clamp_min(0.0)
    std = var.add(1e-12).sqrt()
    # Entropy of the softmax over each window: H = log Σe^x − Σ x e^x / Σ e^x, with a
    # per-channel shift m (exact: m cancels) and the box means A = mean(e^{x−m}),
    # B = mean(x·e^{x−m}).
    m = x.amax(dim=(2, 3), keepdim=True).detach()
    e = torch.exp((x - m).clamp_min(_EXP_FLOOR))
    a = _box_mean(e, window)
    bb = _box_mean(x * e, window)
    n = _box_count(h, w, window, x)
    log_n = torch.log(n)
    ent = (log_n + torch.log(a) + m - bb / a) / log_n.clamp_min(1e-6)
    ent = torch.where(n > 1, ent, torch.zeros_like(ent))
    return ent + std + mean


class ICCA(nn.Module):
    """Information-entropy contrast-aware channel attention (eq. 14), local statistics window."""

    def __init__(self, channels: int = 64, reduction: int = 16, window: int | None = 15) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.window = window
        self.excite = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    @property
    def receptive_radius(self) -> int:
        return 0 if self.window is None else self.window // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = icca_statistic(x, self.window).to(x.dtype)
        return x * self.excite(s)
