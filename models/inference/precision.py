"""Numeric precision of a network run: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"fp16"``.

Half precision runs the convolutions under :func:`torch.autocast`; what needs float32's range or
exactness stays float32 whatever the setting: ICCA's box statistics (:mod:`models.archs.icca`
switches autocast off inside), the normalisation to [0, 1], the clipping restore and the
de-normalisation (NumPy float64, outside the network), and the global bicubic skip
(:func:`models.resize.upsample_bicubic` switches autocast off).

``"auto"`` picks what is fastest without a measurable loss: bf16 on a CPU that executes it natively
(the AVX512-BF16 or AMX-BF16 instructions: the capability is read from the CPU flags, not guessed
from a model name), bf16 on a CUDA device that supports it and fp16 on one that does not, fp32
elsewhere — on a CPU without native bf16, bf16 is emulated and measured about 2× *slower* than
fp32 (a 2-core Xeon with AVX-512 but no AVX512-BF16, 2026-12-01: 3.0 against 1.6 s per RMISR
training step at ×4).
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: Modalities for which ``auto`` stays fp32 whatever the device: on the chest CT slices of the
#: evaluation data, RMISR-BL in bf16 differs from fp32 by 0.15–0.21 HU on average but by 2.7–4.2 HU
#: at the 99.9th percentile (×2–×4, ``python -m models.evaluation.fidelity``, 2026-12-07, with the
#: image read in float32: :mod:`models.archs.float32`; 7–14 HU before), above the 2 HU a reader
#: could see in a narrow soft-tissue window. On the natural benchmarks bf16 is within 0.001 dB of
#: fp32 (native bf16 on an AMX Xeon, 2026-12-07: docs/speed.md).
FP32_MODALITIES = frozenset({"CT"})
#: Architectures for which ``auto`` stays fp32 on a CPU: SRCNN's 1-channel 9×9 and 1-output 5×5
#: convolutions on the bicubic-sized image do not suit AMX's tiles, so in bf16 it is no faster —
#: 0–14 % slower than fp32 on a 2-core Xeon with AMX (×4 on 512²: 1.63 against 1.43 s; a 128²
#: region at ×2.5: 0.05 s either way; a one-off A/B, 2026-12-07, docs/speed.md).
FP32_ARCHS_ON_CPU = frozenset({"srcnn"})
_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool | None:
    """Whether this CPU computes bf16 natively (AMX-BF16 or AVX512-BF16 in its flags); None
    when that cannot be told (no ``/proc/cpuinfo``: not Linux)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    if not flags:
        return None
    return bool(flags & {"amx_bf16", "avx512_bf16"})


@functools.lru_cache(maxsize=None)
def _native_bf16() -> bool:
    return bool(cpu_has_native_bf16())


def resolve_precision(precision: str, device: torch.device | str,
                      modality: str | None = None, arch: str | None = None) -> str:
    """The precision a run on ``device`` uses for the setting ``precision`` (one of
    :data:`PRECISIONS`): ``"auto"`` resolved as the module docstring says — fp32 for an image of
    one of :data:`FP32_MODALITIES` and for an architecture of :data:`FP32_ARCHS_ON_CPU` on a
    CPU —, anything else as given.

    Raises:
        ValueError: an unknown setting.
    """
    p = str(precision).lower()
    if p not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {list(PRECISIONS)}")
    if p != "auto":
        return p
    if modality is not None and str(modality).upper() in FP32_MODALITIES:
        return "fp32"
    kind = torch.device(device).type
    if kind == "cpu" and arch in FP32_ARCHS_ON_CPU:
        return "fp32"
    if kind == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if kind == "cpu" and _native_bf16():
        return "bf16"
    return "fp32"


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a resolved precision (None for fp32: autocast off)."""
    if precision not in _DTYPES:
        raise ValueError(f"precision {precision!r} is not resolved (expected fp32, bf16 or fp16)")
    return _DTYPES[precision]


@contextlib.contextmanager
def autocast(device: torch.device | str, precision: str, allow_tf32: bool = False
             ) -> Iterator[None]:
    """Within the block, networks on ``device`` compute in a resolved precision: autocast to bf16
    or fp16 (off for fp32), and on CUDA float32 that is IEEE float32.

    PyTorch runs cuDNN convolutions in TF32 by default (a 10-bit mantissa, fp16's), so without
    this the engine's "fp32" on a GPU, and the float32 statistics and bicubic skip kept under
    half precision, would not be float32; the block switches TF32 off for convolutions and
    matrix products and restores the previous settings after it. ``allow_tf32=True`` keeps
    PyTorch's settings (training, where TF32's speed is the usual trade).
    """
    dtype = autocast_dtype(precision)
    kind = torch.device(device).type
    with torch.autocast(kind, dtype=dtype or torch.bfloat16, enabled=dtype is not None), \
            _ieee_float32(kind == "cuda" and not allow_tf32):
        yield


@contextlib.contextmanager
def _ieee_float32(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.allow_tf32, matmul.allow_tf32)
    cudnn.allow_tf32 = matmul.allow_tf32 = False
    try:
        yield
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = before
