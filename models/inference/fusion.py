"""Inference-only rewrites of a loaded network that keep its function and save CPU time.

* :func:`fuse_pyramid_blocks` replaces every :class:`~models.archs.blocks.PYB` by its
  :class:`~models.archs.blocks.FusedPYB` (PyConv-3's two grouped levels as one 2-group 7×7
  convolution; the output equals the PYB's up to float summation order). oneDNN's grouped kernels
  with 2–4 outputs per group are slow.
* :func:`fuse_activations` folds each LeakyReLU that follows a convolution into that convolution
  (oneDNN's post-op: the activation is applied to the accumulator before the result is written),
  and the SRB's identity add into its convolution. Each such element-wise op is otherwise a whole
  pass over a feature map, and in bf16 PyTorch's element-wise kernels run below memory speed (a
  LeakyReLU over 64 × 512² bf16 values took longer than the fp32 one on a 2-core Xeon with AMX,
  2026-12-07, ``docs/speed.md``). Same outputs up to rounding: in bf16 the activation is applied
  before the one rounding to bf16 instead of after it.

The resolver applies both on the CPU; the weights file keeps the paper's layout (training on a
CPU runs PyConv-3 merged too, with its weights assembled on every call: :class:`PYB`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..archs.blocks import NEGATIVE_SLOPE, PYB, SRB, FusedPYB
from ..archs.pfmdb import PFMDB


def fuse_pyramid_blocks(model: nn.Module) -> int:
    """Replace each PYB in ``model`` (in place) by its FusedPYB; return how many were replaced."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, PYB):
                setattr(parent, name, FusedPYB.from_pyb(child).train(child.training))
                count += 1
    return count


def _onednn_dtype(x: torch.Tensor) -> torch.dtype | None:
    """The dtype a fused oneDNN call on ``x`` computes in (autocast's where it is on), or None
    where the plain PyTorch path must run: not a CPU tensor, gradients wanted, oneDNN absent, or a
    dtype oneDNN cannot run here (bf16 needs AVX-512; fp16 is left to PyTorch)."""
    if x.device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return None
    if torch.is_grad_enabled() and x.requires_grad:
        return None
    dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
    if dtype == torch.float32:
        return dtype
    if dtype == torch.bfloat16 and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return dtype
    return None


def _conv_args(conv: nn.Conv2d, dtype: torch.dtype) -> tuple:
    bias = None if conv.bias is None else conv.bias.to(dtype)
    return (conv.weight.to(dtype), bias, list(conv.padding), list(conv.stride),
            list(conv.dilation), conv.groups)


class ConvLeakyReLU(nn.Module):
    """``leaky_relu(conv(x), slope)``: on a CPU without gradients one oneDNN convolution with the
    activation as its post-op, elsewhere the two PyTorch ops. Holds (shares) the convolution."""

    def __init__(self, conv: nn.Conv2d, slope: float = NEGATIVE_SLOPE) -> None:
        super().__init__()
        self.conv = conv
        self.slope = float(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = _onednn_dtype(x)
        if dtype is None:
            return F.leaky_relu(self.conv(x), self.slope, inplace=True)
        return torch.ops.mkldnn._convolution_pointwise(
            x.to(dtype), *_conv_args(self.conv, dtype), "leaky_relu", [self.slope], "")


class FusedSRB(nn.Module):
    """An :class:`~models.archs.blocks.SRB` (``act(conv3×3(x) + x)``) for inference: the identity
    add is the convolution's post-op on a CPU without gradients (oneDNN cannot chain the
    LeakyReLU after an add, so that stays a pass of its own)."""

    def __init__(self, srb: SRB) -> None:
        super().__init__()
        self.conv = srb.conv
        self.slope = float(srb.act.negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = _onednn_dtype(x)
        if dtype is None:
            return F.leaky_relu(self.conv(x).add_(x), self.slope, inplace=True)
        x = x.to(dtype)
        y = torch.ops.mkldnn._convolution_pointwise.binary(
            x, x, *_conv_args(self.conv, dtype), "add", None, None, [], None)
        return F.leaky_relu(y, self.slope, inplace=True)


def _foldable(conv: nn.Module) -> bool:
    """A convolution the oneDNN call can stand for: 2-D, zero padding given as numbers (a
    replicate-padded or ``padding="same"`` one keeps PyTorch's path)."""
    return (isinstance(conv, nn.Conv2d) and conv.padding_mode == "zeros"
            and isinstance(conv.padding, tuple))


def _is_leaky(m: nn.Module) -> bool:
    return isinstance(m, nn.LeakyReLU)


def fuse_activations(model: nn.Module) -> int:
    """Fold, in place, each LeakyReLU that directly follows a convolution into it
    (:class:`ConvLeakyReLU`), and each SRB's identity add into its convolution
    (:class:`FusedSRB`): in ``nn.Sequential(conv, LeakyReLU)``, PFMDB's last distillation conv,
    and FusedPYB's two levels (the activation of a concatenation is the concatenation of the
    activations). Run after :func:`fuse_pyramid_blocks`. Returns how many modules were replaced."""
    count = 0
    for parent in list(model.modules()):
        if isinstance(parent, nn.Sequential):
            mods = list(parent)
            for i in range(len(mods) - 1):
                if _foldable(mods[i]) and _is_leaky(mods[i + 1]):
                    parent[i] = ConvLeakyReLU(mods[i], mods[i + 1].negative_slope)
                    parent[i + 1] = nn.Identity()
                    count += 1
        elif isinstance(parent, PFMDB) and _is_leaky(parent.act) and _foldable(parent.last):
            parent.last = ConvLeakyReLU(parent.last, parent.act.negative_slope)
            parent.act = nn.Identity()
            count += 1
        elif (isinstance(parent, FusedPYB) and _is_leaky(parent.act)
              and _foldable(parent.grouped) and _foldable(parent.dense)):
            slope = parent.act.negative_slope
            parent.grouped = ConvLeakyReLU(parent.grouped, slope)
            parent.dense = ConvLeakyReLU(parent.dense, slope)
            parent.act = nn.Identity()
            count += 1
        for name, child in list(parent.named_children()):
            if isinstance(child, SRB) and _foldable(child.conv):
                setattr(parent, name, FusedSRB(child))
                count += 1
    return count
