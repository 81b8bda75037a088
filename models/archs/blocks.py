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
        return self.act(self.conv(x) + x)


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
