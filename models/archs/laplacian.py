"""The fixed Laplacian operator (paper §4.1, eqs. 6–8). Not learned.

Eq. 6 as printed reads I(x+1, y) twice; the intended second derivative is
``I_xx = I(x+1, y) + I(x−1, y) − 2I(x, y)`` (and eq. 7 likewise for y). Eq. 8 stacks
(I_xx, I_yy) as a two-channel map. We use their **sum**, the isotropic 4-neighbour Laplacian

    Lap(I) = I(x+1,y) + I(x−1,y) + I(x,y+1) + I(x,y−1) − 4·I(x,y)

as one channel, with replicate (Neumann) borders, because the paper calls the operator isotropic
and shows one-channel Laplacian maps (Figs. 7–8). :func:`laplacian_xy` gives the two-channel form
of eq. 8. The same operator is used for the RMISR-VP branch input and target, the losses, the
metrics and the viewer's edge view.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..amp import no_autocast

_KERNEL_XX = torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 1.0], [0.0, 0.0, 0.0]])
_KERNEL_YY = _KERNEL_XX.t().contiguous()


def _filter3x3(image: torch.Tensor, kernels: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """``image`` (a half-precision one widened to float32) convolved with 3×3 ``kernels`` over
    replicate borders, with autocast off: on an image, bf16's rounding would be multiplied by the
    kernel's gain, up to 8 for the Laplacian (:mod:`models.archs.float32`)."""
    if image.dtype in (torch.float16, torch.bfloat16):
        image = image.float()
    with no_autocast(image.device.type):
        return F.conv2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), kernels.to(image),
                        groups=groups)


def laplacian_xy(image: torch.Tensor) -> torch.Tensor:
    """Eq. 8: (I_xx, I_yy) for an (B, 1, H, W) tensor → (B, 2, H, W), in float32 even under
    autocast."""
    return _filter3x3(image, torch.stack([_KERNEL_XX, _KERNEL_YY])[:, None])


def laplacian(image: torch.Tensor) -> torch.Tensor:
    """The 4-neighbour Laplacian I_xx + I_yy of a (B, C, H, W) tensor, channel by channel, in
    float32 even under autocast (a half-precision input is widened first)."""
    c = image.shape[1]
    return _filter3x3(image, (_KERNEL_XX + _KERNEL_YY)[None, None].expand(c, 1, 3, 3), groups=c)


def laplacian_np(image: np.ndarray) -> np.ndarray:
    """Same operator for a 2-D numpy array (float64 result)."""
    p = np.pad(np.asarray(image, dtype=np.float64), 1, mode="edge")
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4.0 * p[1:-1, 1:-1]
