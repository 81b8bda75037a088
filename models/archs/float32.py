"""The operations that read the image itself, kept in float32 under half-precision autocast.

A network run in bf16 (``torch.autocast``) rounds every convolution's input to bf16, whose
significand has 8 bits. Deep in a network that is the usual, measured trade; at the input it is
not: a normalised 12–16-bit image loses its low bits before the network sees them. A chest CT
slice normalised over its ≈ 4,000 HU range is rounded to steps of up to 2⁻⁸ of that range
(errors of up to 8 HU in its upper half), and a Laplacian of it multiplies the rounding by up to
8. So the first convolution of each branch, and the fixed Laplacian the RMISR-VP branch reads,
compute in float32 whatever the autocast setting; the features they output are then rounded to
bf16 like any other layer's, where a feature's own scale sets the step.

Measured on the shipped RMISR-BL ×4 at native bf16 (2-core Xeon with AMX, 2026-12-07, four chest
CT slices, against fp32, a one-off script): the 99.9th percentile of |bf16 − fp32| went from 14.2
to 4.9 HU with only the head convolution in float32 (0.04 of RMISR-BL's 62 G multiply-adds at
256²: its input has one channel); the whole feature body in float32 would give 1.9 HU, at nearly
fp32's cost. ``python -m models.evaluation.fidelity`` prints the engine's figures.

Nothing changes in fp32 runs, and the modules keep :class:`torch.nn.Conv2d`'s parameters, so
weight files load unchanged.
"""
from __future__ import annotations

import torch
from torch import nn

from ..amp import no_autocast


class ImageConv2d(nn.Conv2d):
    """A convolution that reads the image: computed in float32 even under autocast (module
    docstring), its output then rounded once to autocast's dtype — what the next layer would
    round it to anyway, and a float32 feature map would cost a conversion pass in every layer
    that reads it (RMISR-BL ×4 on a 512² image 15 % slower, a one-off A/B). Otherwise
    :class:`torch.nn.Conv2d`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kind = x.device.type
        with no_autocast(kind):
            y = super().forward(x.float())
        if kind in ("cpu", "cuda") and torch.is_autocast_enabled(kind):
            y = y.to(torch.get_autocast_dtype(kind))
        return y


def image_conv(in_channels: int, out_channels: int, kernel_size: int, **kwargs) -> ImageConv2d:
    """A 'same'-padded :class:`ImageConv2d` (odd kernel, stride 1), as
    :func:`models.archs.blocks.conv`."""
    return ImageConv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, **kwargs)
