"""SRCNN baseline (Dong et al., 2014/2016), the 9-1-5 variant with 64/32 channels.

It works on the bicubic-upsampled image (MATLAB-compatible resize, :mod:`models.resize`), so one
model serves every scale. Two documented departures from the 2014 recipe, both parameter-free:
'same' replicate padding (the output has the input's size) and a global residual connection (the
network predicts the detail added to the bicubic image), which makes Adam/L1 training converge in
the few CPU-hours we have. Parameters (``python -m models.evaluation.summary``): 5,248 (9×9) + 2,080
(1×1) + 801 (5×5) = 8,129.
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import ARCH_REGISTRY
from .float32 import ImageConv2d


@ARCH_REGISTRY.register("srcnn")
class SRCNN(nn.Module):
    """9-1-5 SRCNN with global residual; input = bicubic-upsampled LR (same size as output)."""

    def __init__(self, channels: tuple[int, int] = (64, 32),
                 kernels: tuple[int, int, int] = (9, 1, 5)) -> None:
        super().__init__()
        c1, c2 = channels
        k1, k2, k3 = kernels
        self.body = nn.Sequential(
            # reads the (bicubic) image: float32 under autocast (models.archs.float32)
            ImageConv2d(1, c1, k1, padding=k1 // 2, padding_mode="replicate"), nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, k2, padding=k2 // 2, padding_mode="replicate"), nn.ReLU(inplace=True),
            nn.Conv2d(c2, 1, k3, padding=k3 // 2, padding_mode="replicate"),
        )
        self.hr_radius = k1 // 2 + k2 // 2 + k3 // 2  # all of it at HR resolution
        self.receptive_radius = 2  # the bicubic input, in LR pixels
        self.scale = None
        self.upsampler_kind = "bicubic-input"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)
