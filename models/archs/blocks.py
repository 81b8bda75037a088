"""Building blocks of the RMISR networks (paper §4.2, Fig. 3c–d).

* :class:`SRB` — shallow residual block: conv3×3 + identity, then activation (Fig. 3c).
* :class:`PyConv3` — pyramidal convolution with three kernel sizes (Fig. 3d).
* :class:`PYB` — pyramidal block: PyConv-3 followed by a 1×1 convolution to the distilled width.

Interpretation notes
--------------------
* Activation. The paper's text says "ReLU" for the SRB; its reference [30] (RFDN), from which the
  SRB is taken, uses LeakyReLU(0.05). We use LeakyReLU(0.05) everywhere inside the blocks, as RFDN
  and IMDN do: it has no parameters, so parameter counts are unaffected.
* PyConv-3 widths and groups are the ones that reproduce the paper's 31,104 weights (bias excluded):
  7×7 → 16 maps in 8 groups (6,272) + 5×5 → 16 maps in 4 groups (6,400) + 3×3 → 32 maps
  (18,432).
"""
from __future__ import annotations

import torch
from torch import nn

NEGATIVE_SLOPE = 0.05


def activation() -> nn.Module:
    """The activation used inside every block (LeakyReLU 0.05, see module docstring)."""
    return nn.LeakyReLU(NEGATIVE_SLOPE, inplace=True)


def conv(in_channels: int, out_channels: int, kernel_size: int, groups: int = 1,
         bias: bool = True) -> nn.Conv2d:
    """A 'same'-padded convolution (odd kernel, stride 1)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                     groups=groups, bias=bias)


class SRB(nn.Module):
    """Shallow residual block (Fig. 3c): ``act(conv3x3(x) + x)``."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv = conv(channels, channels, 3)
        self.act = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x).add_(x))  # in place: conv's backward needs not its output


class PyConv3(nn.Module):
    """Pyramidal convolution with three levels (Fig. 3d), 64 → 64 maps.

    Levels: 7×7 → 16 maps (groups 8), 5×5 → 16 maps (groups 4), 3×3 → 32 maps (groups 1),
    concatenated. With 64 input maps this has exactly 31,104 weights, as the paper states.
    """

    LEVELS: tuple[tuple[int, int, int], ...] = ((7, 16, 8), (5, 16, 4), (3, 32, 1))

    def __init__(self, in_channels: int = 64) -> None:
        super().__init__()
        self.levels = nn.ModuleList(
            conv(in_channels, out, k, groups=g) for k, out, g in self.LEVELS
        )
        self.out_channels = sum(out for _, out, _ in self.LEVELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([level(x) for level in self.levels], dim=1)


class PYB(nn.Module):
    """Pyramidal block (Fig. 3d): PyConv-3 → activation → 1×1 conv to ``out_channels``."""

    def __init__(self, in_channels: int = 64, out_channels: int = 16) -> None:
        super().__init__()
        self.pyconv = PyConv3(in_channels)
        self.act = activation()
        self.reduce = conv(self.pyconv.out_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.act(self.pyconv(x)))


class FusedPYB(nn.Module):
    """A :class:`PYB` rewritten for inference: the same function, less time on a CPU.

    oneDNN runs PyConv-3's grouped levels (7×7 with 2 output maps per group, 5×5 with 4) at a
    fraction of its dense rate; one 7×7 convolution in 4 groups with 8 outputs each runs in about
    the time of the 7×7 level alone. So the grouped levels become one convolution: a 5×5 kernel
    is zero-padded to 7×7, and each 8-input group of the 7×7 level sits inside the 16-input group
    of the 4-group convolution that holds its inputs (zero weights on the other 8). The merged
    outputs come in group order, not PyConv-3's; the 1×1 reduction's input columns are permuted to
    match, so no tensor is reordered at run time. The zero weights add exact zeros: the output
    equals the PYB's up to float summation order. Build with :meth:`from_pyb` (it shares the
    PYB's dense level, unchanged); not for training (twice the multiply-adds of those levels).
    """

    def __init__(self, grouped: nn.Conv2d, dense: nn.Conv2d, reduce: nn.Conv2d) -> None:
        super().__init__()
        self.grouped = grouped
        self.dense = dense
        self.act = activation()
        self.reduce = reduce

    @classmethod
    @torch.no_grad()
    def from_pyb(cls, pyb: PYB) -> FusedPYB:
        levels = list(pyb.pyconv.levels)
        grouped_levels = [lv for lv in levels if lv.groups > 1]
        dense_levels = [lv for lv in levels if lv.groups == 1]
        if len(dense_levels) != 1 or not grouped_levels:
            raise ValueError("FusedPYB expects one dense level and at least one grouped level")
        groups = min(lv.groups for lv in grouped_levels)
        cin = levels[0].in_channels
        if any(lv.groups % groups or lv.out_channels % lv.groups for lv in grouped_levels):
            raise ValueError("the grouped levels' groups must nest")
        k = max(lv.kernel_size[0] for lv in grouped_levels)
        per_group = sum(lv.out_channels for lv in grouped_levels) // groups
        ref = grouped_levels[0].weight
        weight = ref.new_zeros(groups * per_group, cin // groups, k, k)
        bias = ref.new_zeros(groups * per_group)
        # the PyConv-3 channel each merged output stands for (levels concatenated in order)
        start = {id(lv): sum(m.out_channels for m in levels[:i]) for i, lv in enumerate(levels)}
        source: list[int] = [0] * (groups * per_group)
        slot = [g * per_group for g in range(groups)]  # next free output of each merged group
        for lv in grouped_levels:
            outs, lk = lv.out_channels // lv.groups, lv.kernel_size[0]
            cin_g, pad = cin // lv.groups, (k - lv.kernel_size[0]) // 2
            for o in range(lv.out_channels):
                g_level = o // outs
                g = g_level * groups // lv.groups  # the merged group holding its inputs
                offset = g_level * cin_g - g * (cin // groups)
                m = slot[g]
                slot[g] += 1
                weight[m, offset:offset + cin_g, pad:pad + lk, pad:pad + lk] = lv.weight[o]
                bias[m] = lv.bias[o]
                source[m] = start[id(lv)] + o
        dense = dense_levels[0]  # shared with the PYB, unchanged
        source += [start[id(dense)] + o for o in range(dense.out_channels)]
        grouped = nn.Conv2d(cin, groups * per_group, k, padding=k // 2, groups=groups)
        grouped.weight.copy_(weight)
        grouped.bias.copy_(bias)
        reduce = conv(pyb.reduce.in_channels, pyb.reduce.out_channels, 1)
        reduce.weight.copy_(pyb.reduce.weight[:, source])
        reduce.bias.copy_(pyb.reduce.bias)
        return cls(grouped.to(ref.device, ref.dtype), dense, reduce.to(ref.device, ref.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.act(torch.cat([self.grouped(x), self.dense(x)], dim=1)))
