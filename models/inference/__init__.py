"""Inference: :class:`SuperResolver` and the parts it is made of.

* :mod:`.resolver` — ``SuperResolver(device).upscale(image, scale, method, ...)``, its
  :class:`UpscaleInfo` and device choice;
* :mod:`.normalization` — luminance and colour, the [0, 1] normalisation modes;
* :mod:`.tiling` — :func:`sliding_window_inference` over any predictor, the dihedral ensemble;
* :mod:`.forward` — one forward pass of any registered network;
* :mod:`.precision` — fp32 / bf16 / fp16 autocast and which device gets which;
* :mod:`.finite` — finite input gives finite output;
* :mod:`.fusion` — inference-only rewrites that keep a network's function (merged PyConv levels);
* :mod:`.memory` — freed memory reused within a CPU run (glibc's malloc);
* :mod:`.uncertainty` — the uncertainty map from the ensemble's spread (NumPy/SciPy only);
* :mod:`.errors` — why a call produced no result.

The names below are loaded on first use (PEP 562), so that importing a torch-free submodule such
as :mod:`.uncertainty` does not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SuperResolver": "resolver", "UpscaleInfo": "resolver", "resolve_device": "resolver",
    "UpscaleCancelled": "errors", "InvalidImageError": "errors", "OutputTooLargeError": "errors",
    "DeviceUnavailableError": "errors",
    "NORMALIZATION_MODES": "normalization", "DEFAULT_NORMALIZATION": "normalization",
    "DIHEDRAL": "tiling", "sliding_window_inference": "tiling",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
