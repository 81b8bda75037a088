"""RMISR engine: Qt-free networks, weights registry and inference API.

Public API::

    from models import SuperResolver
    sr = SuperResolver(device="auto").upscale(image, 2.5, "rmisr-vp")

The package by concern: :mod:`models.archs` (the networks, registered by name),
:mod:`models.inference` (``SuperResolver`` and its parts), :mod:`models.training` (``rmisr-train``)
and :mod:`models.evaluation` (``rmisr-eval`` and the measuring tools); beside them
:mod:`models.registry` (how an architecture is built), :mod:`models.methods` (what exists),
:mod:`models.manifest` (where the weights are), :mod:`models.geometry` (the output grid),
:mod:`models.resize` (MATLAB-compatible bicubic), :mod:`models.amp` (autocast off for the
float32-only parts) and :mod:`models.metrics`. See
``docs/design.md`` and the paper (``rmisr-paper.txt``) for the networks.

``import models`` imports no torch: the names that need it load on first use (PEP 562), so that
:mod:`app.io` can use :mod:`models.geometry` without the engine.
"""
from __future__ import annotations

import importlib
from typing import Any

from .geometry import SCALE_MAX, SCALE_MIN, output_size
from .methods import METHODS
from .registry import ARCH_REGISTRY, create_model

_LAZY = {
    "SuperResolver": "inference", "UpscaleInfo": "inference", "UpscaleCancelled": "inference",
    "InvalidImageError": "inference", "OutputTooLargeError": "inference",
    "Manifest": "manifest", "NoWeightsError": "manifest", "WeightsError": "manifest",
    "WeightsIntegrityError": "manifest",
}

__all__ = [
    "SuperResolver", "UpscaleInfo", "UpscaleCancelled", "InvalidImageError", "OutputTooLargeError",
    "METHODS", "ARCH_REGISTRY", "Manifest", "create_model", "output_size",
    "NoWeightsError", "WeightsError", "WeightsIntegrityError", "SCALE_MIN", "SCALE_MAX",
]


def __getattr__(name: str) -> Any:  # lazy: importing models stays cheap until torch is needed
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
