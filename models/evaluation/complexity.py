"""Model size and cost: parameters and multiply-adds, shared by the evaluation tools.

Multiply-adds are counted by :class:`torch.utils.flop_counter.FlopCounterMode` (convolutions,
linear layers and matrix products; FLOPs / 2); on the ``meta`` device nothing is computed.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_params(module: torch.nn.Module) -> int:
    """The number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def count_macs(fn: Callable[..., Any], *args: Any) -> int:
    """Multiply-adds of one call ``fn(*args)`` (a module or any function of tensors).

    Args:
        fn: what to run, e.g. a model.
        *args: its arguments (tensors on the ``meta`` device count without computing).

    Returns:
        Counted FLOPs // 2.
    """
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops() // 2
