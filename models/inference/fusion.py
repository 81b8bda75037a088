"""Inference-only rewrites of a loaded network that keep its function and save CPU time.

:func:`fuse_pyramid_blocks` replaces every :class:`~models.archs.blocks.PYB` by its
:class:`~models.archs.blocks.FusedPYB` (PyConv-3's two grouped levels as one 4-group 7×7
convolution; the output equals the PYB's up to float summation order). The resolver applies it on
the CPU, where oneDNN's grouped kernels with 2–4 outputs per group are slow; the weights file and
training keep the paper's layout.
"""
from __future__ import annotations

from torch import nn

from ..archs.blocks import PYB, FusedPYB


def fuse_pyramid_blocks(model: nn.Module) -> int:
    """Replace each PYB in ``model`` (in place) by its FusedPYB; return how many were replaced."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, PYB):
                setattr(parent, name, FusedPYB.from_pyb(child).train(child.training))
                count += 1
    return count
