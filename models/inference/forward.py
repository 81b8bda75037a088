"""One forward pass of any registered network on a luminance tensor in [0, 1].

:func:`network_forward` hides the differences between the architectures: SRCNN works on the
MATLAB-bicubic-upsampled input, RMISR-VP returns (SR, Laplacian) of which the SR is kept, and the
sub-pixel / meta upsamplers take the output window (``out_size``, ``shift``) used by tiling.
:func:`forward_memory` is the memory regime to hold around any number of such passes.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from ..archs.icca import icca_row_bands
from ..geometry import output_size
from ..resize import upsample_bicubic
from .memory import freed_memory_reused


@contextlib.contextmanager
def forward_memory(device: torch.device) -> Iterator[None]:
    """Within the block, network passes on ``device`` use memory the fastest way it allows.

    On a CPU: freed feature maps are reused instead of page-faulted in anew
    (:func:`~models.inference.memory.freed_memory_reused`), and ICCA works over the whole image
    where that reuse is in effect, in row bands where it is not (glibc off or absent: the bands'
    small temporaries are what such an allocator keeps; :func:`~models.archs.icca.icca_row_bands`).
    Elsewhere it does nothing. The pixels are the same either way.
    """
    if device.type != "cpu":
        yield
        return
    with freed_memory_reused() as reusing, icca_row_bands(not reusing):
        yield


def network_forward(model: nn.Module, lr: torch.Tensor, scale: float,
                    out_size: tuple[int, int] | None = None,
                    shift: tuple[float, float] = (0.0, 0.0),
                    return_laplacian: bool = False) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """SR (B, 1, H', W') of ``lr`` (B, 1, h, w) in [0, 1] for any registered architecture.

    Args:
        model: a network built from the registry.
        lr: the LR luminance in [0, 1].
        scale: the magnification (a sub-pixel model's own scale only).
        out_size: (rows, cols) of the output window; default: the whole output grid.
        shift: (row, col) of the window's first pixel on the output grid.
        return_laplacian: RMISR-VP: return (SR, predicted Laplacian) instead of SR.

    Returns:
        The SR window (or RMISR-VP's pair).

    Raises:
        ValueError: a sub-pixel model asked for a scale other than its own.
    """
    if out_size is None:
        out_size = output_size(lr.shape[-2], lr.shape[-1], scale)
    kind = getattr(model, "upsampler_kind", None)
    if kind == "bicubic-input":
        return model(upsample_bicubic(lr, scale, out_size, shift))
    fixed = getattr(model, "scale", None)
    if kind == "subpixel" and fixed is not None and abs(float(scale) - fixed) > 1e-9:
        raise ValueError(f"model is ×{fixed}, asked for ×{scale}")
    out = model(lr, scale, out_size, shift)
    if isinstance(out, tuple):
        return out if return_laplacian else out[0]
    return out
