"""What a run's convolutions cost alone: the floor under any rewrite of everything else.

The FLOP bound (:mod:`models.evaluation.speed`) takes every multiply-add at the rate of one dense
64 → 64 3×3 convolution. The network's own convolutions do not all reach it (grouped, 1×1 and
small-channel shapes run slower), so even a runtime that made every other operation free could
not go below the time those convolutions take as oneDNN runs them. :func:`convolution_floor`
measures that time for one call of any function: every convolution operator it dispatches
(forward and backward, PyTorch's and oneDNN's fused ones) is recorded with its tensors' shapes,
strides and dtypes, then run again alone on fresh tensors of the same layout, each the best of a
few runs. ICCA's box sums (depthwise convolutions with one row or one column of ones, the
statistic's implementation rather than the architecture) are counted apart.

The replayed operators run with warm caches and nothing between them, so the sum is a lower
bound for those operators inside the run, not an estimate of them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

#: a recorded tensor argument: ("T", shape, strides, dtype)
_Spec = tuple[str, tuple[int, ...], tuple[int, ...], torch.dtype]


def _is_spec(a: object) -> bool:
    return isinstance(a, tuple) and len(a) == 4 and a[0] == "T"


def _spec(a: object) -> object:
    return ("T", tuple(a.shape), tuple(a.stride()), a.dtype) if isinstance(a, torch.Tensor) else a


class _Recorder(TorchDispatchMode):
    """Records every convolution operator dispatched within it (its tensors as specs)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, tuple[tuple, dict]]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        if "conv" in func.__name__:
            self.calls.append((func, tree_map(_spec, (args, kwargs))))
        return func(*args, **kwargs)


def _weight(func: Any, specs: list[_Spec]) -> tuple[int, ...] | None:
    """The weight's shape among an operator's tensor arguments (by the operators' signatures:
    ``convolution_backward(grad, input, weight, …)``, ``_convolution_pointwise.binary(input,
    other, weight, …)``, else ``(input, weight, …)``)."""
    name = func.__name__
    at = 2 if "backward" in name or name.endswith("binary") else 1
    return specs[at][1] if len(specs) > at else None


def is_box_sum(weight: tuple[int, ...] | None) -> bool:
    """A depthwise convolution whose kernel is one row or one column (ICCA's box sums; no
    convolution of the networks has that shape)."""
    return (weight is not None and len(weight) == 4 and weight[1] == 1
            and min(weight[2], weight[3]) == 1 and max(weight[2], weight[3]) > 1)


def _fresh(a: object) -> object:
    """A new tensor of a spec's shape, strides (zero strides too: an expanded gradient) and
    dtype, filled (uniform in ±1, or zeros)."""
    if not _is_spec(a):
        return a
    _, shape, strides, dtype = a
    size = 1 + sum((d - 1) * st for d, st in zip(shape, strides) if d > 0)
    base = torch.empty(size, dtype=dtype)
    base = base.uniform_(-1.0, 1.0) if dtype.is_floating_point else base.zero_()
    return base.as_strided(shape, strides)


def convolution_floor(fn: Callable[[], object], repeats: int = 3) -> dict[str, float]:
    """Seconds the convolutions of one call of ``fn`` take, each run alone (see the module):
    ``{"network": …, "box sums": …, "operators": …}``, the network's own convolutions (forward
    and backward), ICCA's box sums, and how many operators were replayed; ``fn`` is called once,
    recorded."""
    from .speed import best_time  # (speed imports this module where it prints the floor)

    recorder = _Recorder()
    with recorder:
        fn()
    total = {"network": 0.0, "box sums": 0.0, "operators": float(len(recorder.calls))}
    with torch.no_grad():
        for func, spec in recorder.calls:
            args, kwargs = tree_map(_fresh, spec, is_leaf=_is_spec)
            specs = [a for a in tree_flatten(spec[0], is_leaf=_is_spec)[0] if _is_spec(a)]
            # the warm-up call builds oneDNN's primitive
            best = best_time(lambda f=func, a=args, k=kwargs: f(*a, **k), repeats)
            total["box sums" if is_box_sum(_weight(func, specs)) else "network"] += best
    return total
