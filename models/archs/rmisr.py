"""RMISR networks (paper §3.2, §4.1, Figs. 1–2): :class:`RMISR_BL` and :class:`RMISR_VP`.

All networks are luminance networks: 1 channel in, 1 channel out, intensities in [0, 1].

RMISR-BL (Fig. 1)
    conv3×3 head → N PFMDB → concat of the N outputs → 1×1 (+act) → conv3×3, + head
    (long skip) → upsampler (sub-pixel conv3×3 → PixelShuffle, or meta) → SR.
    "A 1×1 convolution, two 3×3 convolutions and a sub-pixel upsampler" (§3.2): the second 3×3 is
    the upsampler's own conv. With N = 4, 64 features, distilled width 16 and sub-pixel ×4 this has
    0.949 M parameters (paper: 0.848 M; accepted band 0.80–1.00 M; see :mod:`models.archs.pfmdb`).

RMISR-VP (Fig. 2)
    SR branch = RMISR-BL body with 6 PFMDB. Laplacian branch: Lap(LR) → conv3×3 → 3 PFMDB,
    where the input of the branch's k-th PFMDB is fused with the SR branch's PFMDB 2k output
    (2, 4, 6) by **concatenation + 1×1** (the paper says "merge"; concatenation keeps both sources
    and costs little) → conv3×3 + branch head (long skip) → upsampler. Fusion happens
    **after upsampling**: both branches upsample their LR features to ``up_channels`` HR feature
    maps (the meta variant first reduces the 64 LR maps to 16 by a 1×1 conv to keep its
    weight-prediction MLP small); the Laplacian features give (a) the predicted HR Laplacian
    through a conv3×3 and (b) are concatenated with the SR branch's upsampled features "before
    feature-map dimensionality reduction" (1×1, 2·up → up, act) and a conv3×3 that reconstructs
    the SR image.
    ``forward`` returns ``(SR, predicted Laplacian)``.

Global bicubic skip (``global_skip="bicubic"``, used by the meta-upsampler models and the ×2/×3
sub-pixel ones): the network predicts the residual over the MATLAB-bicubic enlargement of its input
(:func:`models.resize.upsample_bicubic`), and the layer that produces that residual starts at zero,
so an untrained model *is* bicubic. The paper draws no such skip; without it a meta model
initialised from the ×4 body was still at Set5 ×2.5 21.95 dB after 500 steps (bicubic: 31.79; its
weight-prediction MLP starts from random filters), which our CPU budget cannot afford. The ×2/×3
sub-pixel models take the meta model's body (trained over every scale) and the same skip, so their
zero-initialised sub-pixel conv learns on top of features that already predict that residual; the
×4 model keeps the paper's form (``None``), as RMISR-VP ×4 grown from it.

Every network takes ``forward(x, scale=None, out_size=None, shift=(0, 0))``; ``out_size`` and
``shift`` select a window of the output grid (used by tiled inference).
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import ARCH_REGISTRY
from ..resize import upsample_bicubic
from .blocks import activation, conv
from .float32 import image_conv
from .laplacian import laplacian
from .pfmdb import PFMDB
from .upsamplers import MetaUpsampler, SubPixelUpsampler


def make_upsampler(kind: str, in_channels: int, out_channels: int, scale: int | None,
                   meta_reduce: int | None = None) -> nn.Module:
    """'subpixel' (needs an integer scale) or 'meta' (any scale in [1.1, 5]).

    Args:
        kind: ``"subpixel"`` or ``"meta"``.
        in_channels: feature maps in.
        out_channels: maps out (1 for an image, more for RMISR-VP's fused HR features).
        scale: the integer scale of a sub-pixel upsampler; None for meta.
        meta_reduce: a 1×1 convolution to this many maps before the meta upsampler, so that its
            weight-prediction MLP (hidden → k²·C·out) stays small when ``out_channels`` > 1
            (RMISR-VP).

    Raises:
        ValueError: an unknown ``kind``, or a sub-pixel upsampler without a scale.
    """
    if kind == "subpixel":
        if scale is None:
            raise ValueError("a sub-pixel upsampler needs a fixed integer scale")
        return SubPixelUpsampler(in_channels, out_channels, scale)
    if kind == "meta":
        if meta_reduce:
            return _ReducedMeta(in_channels, meta_reduce, out_channels)
        return MetaUpsampler(in_channels, out_channels)
    raise ValueError(f"unknown upsampler {kind!r} (expected 'subpixel' or 'meta')")


def _check_skip(global_skip: str | None) -> str | None:
    if global_skip not in (None, "bicubic"):
        raise ValueError(f"unknown global_skip {global_skip!r} (expected None or 'bicubic')")
    return global_skip


def _zero_last(module: nn.Module) -> None:
    """Zero the last parameterised layer of ``module`` (its output starts at 0)."""
    last = [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
    nn.init.zeros_(last.weight)
    if last.bias is not None:
        nn.init.zeros_(last.bias)


class _ReducedMeta(nn.Module):
    """1×1 conv (C → r) followed by a meta upsampler (r → out)."""

    def __init__(self, in_channels: int, reduced: int, out_channels: int) -> None:
        super().__init__()
        self.reduce = conv(in_channels, reduced, 1)
        self.meta = MetaUpsampler(reduced, out_channels)

    def forward(self, x: torch.Tensor, scale: float, out_size: tuple[int, int] | None = None,
                shift: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
        return self.meta(self.reduce(x), scale, out_size, shift)


class _PFMDBBody(nn.Module):
    """head conv3×3 → N PFMDB → concat → 1×1 + act → conv3×3, + head."""

    def __init__(self, in_channels: int, channels: int, num_blocks: int, distilled: int,
                 window: int | None) -> None:
        super().__init__()
        self.head = image_conv(in_channels, channels, 3)  # reads the image: float32
        self.blocks = nn.ModuleList(
            PFMDB(channels, distilled, window=window) for _ in range(num_blocks))
        self.fuse = nn.Sequential(conv(channels * num_blocks, channels, 1), activation())
        self.tail = conv(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        head = self.head(x)
        outs = []
        f = head
        for block in self.blocks:
            f = block(f)
            outs.append(f)
        return self.tail(self.fuse(torch.cat(outs, dim=1))) + head, outs


def _pfmdb_radius(window: int | None) -> int:
    # the longest path: two SRBs (conv3×3 each) → the third PYB's 7×7 PyConv level = 5 (the SRB
    # chain + last conv3×3 is 4), then ICCA's window // 2
    return 5 + (0 if window is None else window // 2)


def _up_reach(upsampler: str) -> int:
    # LR pixels from an output pixel's projected position: a sub-pixel conv3×3 reaches 1 from the
    # pixel it is on; the meta upsampler's 3×3 filter sits on floor(position), up to 2 away
    return 2 if upsampler == "meta" else 1


@ARCH_REGISTRY.register("rmisr_bl")
class RMISR_BL(nn.Module):
    """RMISR baseline model (Fig. 1)."""

    def __init__(self, scale: int | None = 4, num_blocks: int = 4, channels: int = 64,
                 distilled: int = 16, upsampler: str = "subpixel", window: int | None = 15,
                 global_skip: str | None = None) -> None:
        super().__init__()
        self.scale = scale
        self.upsampler_kind = upsampler
        self.global_skip = _check_skip(global_skip)
        self.body = _PFMDBBody(1, channels, num_blocks, distilled, window)
        self.upsampler = make_upsampler(upsampler, channels, 1, scale)
        self.residual_out = "upsampler."  # holds the layer zeroed for the global skip
        if self.global_skip:
            _zero_last(self.upsampler)
        # LR pixels: head conv3×3, the blocks, tail conv3×3, the upsampler
        self.receptive_radius = 1 + num_blocks * _pfmdb_radius(window) + 1 + _up_reach(upsampler)
        self.hr_radius = 0  # nothing after the upsampler

    def forward(self, x: torch.Tensor, scale: float | None = None,
                out_size: tuple[int, int] | None = None,
                shift: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
        s = self.scale if scale is None else scale
        f, _ = self.body(x)
        y = self.upsampler(f, s, out_size, shift)
        if self.global_skip:
            y = y + upsample_bicubic(x, s, tuple(y.shape[-2:]), shift)
        return y


@ARCH_REGISTRY.register("rmisr_vp")
class RMISR_VP(nn.Module):
    """RMISR visual-perception model (Fig. 2): SR branch + Laplacian-gradient branch."""

    def __init__(self, scale: int | None = 4, num_blocks: int = 6, lap_blocks: int = 3,
                 channels: int = 64, distilled: int = 16, up_channels: int = 8,
                 upsampler: str = "subpixel", window: int | None = 15,
                 global_skip: str | None = None) -> None:
        super().__init__()
        if num_blocks != 2 * lap_blocks:
            raise ValueError("the Laplacian branch's k-th PFMDB takes SR PFMDB 2k: "
                             "num_blocks must be 2·lap_blocks")
        self.scale = scale
        self.upsampler_kind = upsampler
        self.sr_body = _PFMDBBody(1, channels, num_blocks, distilled, window)
        self.sr_up = make_upsampler(upsampler, channels, up_channels, scale, meta_reduce=16)
        self.lap_head = image_conv(1, channels, 3)  # reads the image's Laplacian: float32
        self.lap_merge = nn.ModuleList(conv(2 * channels, channels, 1) for _ in range(lap_blocks))
        self.lap_blocks = nn.ModuleList(
            PFMDB(channels, distilled, window=window) for _ in range(lap_blocks))
        self.lap_tail = conv(channels, channels, 3)
        self.lap_up = make_upsampler(upsampler, channels, up_channels, scale, meta_reduce=16)
        self.lap_out = nn.Sequential(activation(), conv(up_channels, 1, 3))
        self.reduce = nn.Sequential(conv(2 * up_channels, up_channels, 1), activation())
        self.sr_out = conv(up_channels, 1, 3)
        self.global_skip = _check_skip(global_skip)
        self.residual_out = "sr_out."  # the layer zeroed for the global skip
        if self.global_skip:
            _zero_last(self.sr_out)
        # LR pixels, the longest path: head conv3×3, every SR block, the Laplacian branch's last
        # block (it takes the last SR block's output), its tail and upsampler convs3×3
        self.receptive_radius = (1 + (num_blocks + 1) * _pfmdb_radius(window) + 1
                                 + _up_reach(upsampler))
        self.hr_radius = 1  # the conv3×3 after the fusion (HR pixels)

    def forward(self, x: torch.Tensor, scale: float | None = None,
                out_size: tuple[int, int] | None = None,
                shift: tuple[float, float] = (0.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.scale if scale is None else scale
        sr_feat, block_outs = self.sr_body(x)
        lap_head = self.lap_head(laplacian(x))
        f = lap_head
        for k, (merge, block) in enumerate(zip(self.lap_merge, self.lap_blocks)):
            f = block(merge(torch.cat([f, block_outs[2 * k + 1]], dim=1)))
        lap_feat = self.lap_tail(f) + lap_head
        up_sr = self.sr_up(sr_feat, s, out_size, shift)
        up_lap = self.lap_up(lap_feat, s, out_size, shift)
        lap_pred = self.lap_out(up_lap)
        sr = self.sr_out(self.reduce(torch.cat([up_sr, up_lap], dim=1)))
        if self.global_skip:
            sr = sr + upsample_bicubic(x, s, tuple(sr.shape[-2:]), shift)
        return sr, lap_pred
