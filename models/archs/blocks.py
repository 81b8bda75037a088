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

import contextlib
import contextvars
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
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


@dataclass(frozen=True)
class _MergePlan:
    """Where each grouped level's weights go in the one grouped convolution that merges them."""

    groups: int                                    #: groups of the merged convolution
    kernel: int                                    #: its (largest) kernel size
    shape: tuple[int, int, int, int]               #: its weight's shape
    weight_index: tuple[torch.Tensor, ...]         #: per grouped level, flat weight positions
    bias_index: tuple[torch.Tensor, ...]           #: per grouped level, merged output of each
    source: torch.Tensor                           #: PyConv-3 channel of each output, then dense


class PyConv3(nn.Module):
    """Pyramidal convolution with three levels (Fig. 3d), 64 → 64 maps.

    Levels: 7×7 → 16 maps (groups 8), 5×5 → 16 maps (groups 4), 3×3 → 32 maps (groups 1),
    concatenated. With 64 input maps this has exactly 31,104 weights, as the paper states.

    :meth:`merged` gives the two grouped levels as one convolution (see :class:`FusedPYB`),
    built from the levels' weights with gradients flowing back to them.
    """

    LEVELS: tuple[tuple[int, int, int], ...] = ((7, 16, 8), (5, 16, 4), (3, 32, 1))

    def __init__(self, in_channels: int = 64) -> None:
        super().__init__()
        self.levels = nn.ModuleList(
            conv(in_channels, out, k, groups=g) for k, out, g in self.LEVELS
        )
        self.out_channels = sum(out for _, out, _ in self.LEVELS)
        self._plans: dict[tuple[torch.device, int], _MergePlan] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([level(x) for level in self.levels], dim=1)

    @property
    def grouped_levels(self) -> list[nn.Conv2d]:
        return [lv for lv in self.levels if lv.groups > 1]

    @property
    def dense_level(self) -> nn.Conv2d:
        dense = [lv for lv in self.levels if lv.groups == 1]
        if len(dense) != 1:
            raise ValueError("merging PyConv-3 expects exactly one dense level")
        return dense[0]

    def merge_plan(self, device: torch.device, groups: int | None = None) -> _MergePlan:
        """The merged convolution's layout (computed once per device and ``groups``): ``groups``
        (default: the fewest groups of a grouped level; it must divide every level's), kernels
        zero-padded to the largest, each level's group placed in the merged group that holds its
        inputs, outputs filling each merged group in level order."""
        levels, grouped = list(self.levels), self.grouped_levels
        if not grouped:
            raise ValueError("merging PyConv-3 expects at least one grouped level")
        groups = min(lv.groups for lv in grouped) if groups is None else int(groups)
        key = (device, groups)
        if key not in self._plans:
            dense = self.dense_level
            cin = levels[0].in_channels
            if any(lv.groups % groups or lv.out_channels % lv.groups for lv in grouped):
                raise ValueError("the grouped levels' groups must nest")
            k = max(lv.kernel_size[0] for lv in grouped)
            per_group = sum(lv.out_channels for lv in grouped) // groups
            shape = (groups * per_group, cin // groups, k, k)
            start = {id(lv): sum(m.out_channels for m in levels[:i]) for i, lv in enumerate(levels)}
            source = [0] * (groups * per_group)
            slot = [g * per_group for g in range(groups)]  # next free output of each merged group
            weight_index, bias_index = [], []
            for lv in grouped:
                outs, lk = lv.out_channels // lv.groups, lv.kernel_size[0]
                cin_g, pad = cin // lv.groups, (k - lk) // 2
                merged_out, offsets = [], []
                for o in range(lv.out_channels):
                    g_level = o // outs
                    g = g_level * groups // lv.groups  # the merged group holding its inputs
                    merged_out.append(slot[g])
                    offsets.append(g_level * cin_g - g * (cin // groups))
                    source[slot[g]] = start[id(lv)] + o
                    slot[g] += 1
                m = torch.tensor(merged_out)[:, None, None, None]
                i = (torch.tensor(offsets)[:, None, None, None]
                     + torch.arange(cin_g)[None, :, None, None])
                u = torch.arange(lk)[None, None, :, None] + pad
                v = torch.arange(lk)[None, None, None, :] + pad
                flat = ((m * shape[1] + i) * k + u) * k + v  # shaped as lv.weight: merged index
                weight_index.append(flat.reshape(-1).to(device))
                bias_index.append(torch.tensor(merged_out, device=device))
            source += [start[id(dense)] + o for o in range(dense.out_channels)]
            self._plans[key] = _MergePlan(groups, k, shape, tuple(weight_index),
                                          tuple(bias_index), torch.tensor(source, device=device))
        return self._plans[key]

    def merged(self, groups: int | None = None) -> tuple[torch.Tensor, torch.Tensor, _MergePlan]:
        """(weight, bias, plan) of the grouped levels as one convolution; differentiable in the
        levels' parameters. The zero weights add exact zeros: ``F.conv2d(x, weight, bias,
        padding=plan.kernel // 2, groups=plan.groups)`` equals the grouped levels' outputs, in
        the order ``plan.source`` names, up to float summation order."""
        grouped = self.grouped_levels
        ref = grouped[0].weight
        plan = self.merge_plan(ref.device, groups)
        weight = ref.new_zeros(math.prod(plan.shape))
        bias = ref.new_zeros(plan.shape[0])
        for lv, wi, bi in zip(grouped, plan.weight_index, plan.bias_index):
            weight = weight.index_add(0, wi, lv.weight.reshape(-1))
            bias = bias.index_add(0, bi, lv.bias)
        return weight.reshape(plan.shape), bias, plan


_MERGED_LEVELS: contextvars.ContextVar[bool] = contextvars.ContextVar("pyconv_levels_merged",
                                                                     default=True)


@contextlib.contextmanager
def pyconv_levels_merged(enabled: bool) -> Iterator[None]:
    """Within the block (this thread or task), :class:`PYB` on a CPU runs PyConv-3's grouped
    levels merged (``True``, the default) or level by level as the paper draws them (``False``:
    the baseline of the speed tool's ablation). The outputs are the same up to float summation
    order."""
    token = _MERGED_LEVELS.set(bool(enabled))
    try:
        yield
    finally:
        _MERGED_LEVELS.reset(token)


class PYB(nn.Module):
    """Pyramidal block (Fig. 3d): PyConv-3 → activation → 1×1 conv to ``out_channels``.

    On a CPU, PyConv-3's grouped levels run merged into one grouped convolution
    (:meth:`PyConv3.merged`; why, in :class:`FusedPYB`), in training too: gradients reach the
    levels' own weights, which the weights file keeps. An RMISR-BL ×4 training step (batch 16 ×
    48², bf16 autocast, channels-last) took 0.71–0.73 s with the levels apart and 0.60–0.61 s
    merged (64²: 1.24–1.27 and 1.06 s) on the project's 2-core Xeon with AMX, 2026-12-07.
    Elsewhere (CUDA, the ``meta`` device that counts multiply-adds, a trace for an exporter such
    as ONNX or OpenVINO, within :func:`pyconv_levels_merged` ``(False)``) the levels run as the
    paper draws them."""

    def __init__(self, in_channels: int = 64, out_channels: int = 16) -> None:
        super().__init__()
        self.pyconv = PyConv3(in_channels)
        self.act = activation()
        self.reduce = conv(self.pyconv.out_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or torch.jit.is_tracing() or not _MERGED_LEVELS.get():
            return self.reduce(self.act(self.pyconv(x)))
        weight, bias, plan = self.pyconv.merged()
        y = torch.cat([F.conv2d(x, weight, bias, padding=plan.kernel // 2, groups=plan.groups),
                       self.pyconv.dense_level(x)], dim=1)
        return F.conv2d(self.act(y), self.reduce.weight[:, plan.source], self.reduce.bias)


#: groups of the merged PyConv-3 convolution in inference (:class:`FusedPYB`)
INFERENCE_GROUPS = 2


class FusedPYB(nn.Module):
    """A :class:`PYB` rewritten for inference: the same function, less time on a CPU.

    oneDNN runs PyConv-3's grouped levels (7×7 with 2 output maps per group, 5×5 with 4) at a
    fraction of its dense rate. So the grouped levels become one 7×7 convolution in
    :data:`INFERENCE_GROUPS` groups (:meth:`PyConv3.merged`): a 5×5 kernel is zero-padded to
    7×7, and each group of a level sits inside the merged group that holds its inputs (zero
    weights on the others). Two groups of 32 inputs and 16 outputs carry three times the
    multiply-adds of the levels, in zeros, yet suit oneDNN's tiles best: in an interleaved A/B
    of the engine against four groups (half zeros), RMISR-BL ×4 on a 512² image took 1.46
    against 1.57 s in bf16 and 3.39 against 3.50 s in fp32, the 128² regions at ×2.5 3–5 %
    less (2-core Xeon with AMX, 2026-12-07; the layer rows of ``python -m
    models.evaluation.speed`` time the shapes alone). The merged outputs come in group order,
    not PyConv-3's; the 1×1 reduction's input columns are permuted to match. :class:`PYB`
    computes the same on a CPU but assembles the merged weights on every call (for its
    gradients, in the levels' fewest groups, 4: faster there in fp32); this module holds them
    fixed as parameters, so the inference fusions (:mod:`models.inference.fusion`) see plain
    convolutions. Build with :meth:`from_pyb` (it shares the PYB's dense level, unchanged).
    """

    def __init__(self, grouped: nn.Conv2d, dense: nn.Conv2d, reduce: nn.Conv2d) -> None:
        super().__init__()
        self.grouped = grouped
        self.dense = dense
        self.act = activation()
        self.reduce = reduce

    @classmethod
    @torch.no_grad()
    def from_pyb(cls, pyb: PYB, groups: int | None = None) -> FusedPYB:
        """The PYB's function with its grouped levels merged into ``groups`` groups (default
        :data:`INFERENCE_GROUPS`)."""
        weight, bias, plan = pyb.pyconv.merged(INFERENCE_GROUPS if groups is None else groups)
        cin = pyb.pyconv.levels[0].in_channels
        grouped = nn.Conv2d(cin, plan.shape[0], plan.kernel, padding=plan.kernel // 2,
                            groups=plan.groups)
        grouped.weight.copy_(weight)
        grouped.bias.copy_(bias)
        reduce = conv(pyb.reduce.in_channels, pyb.reduce.out_channels, 1)
        reduce.weight.copy_(pyb.reduce.weight[:, plan.source])
        reduce.bias.copy_(pyb.reduce.bias)
        return cls(grouped.to(weight.device, weight.dtype), pyb.pyconv.dense_level,
                   reduce.to(weight.device, weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.act(torch.cat([self.grouped(x), self.dense(x)], dim=1)))
