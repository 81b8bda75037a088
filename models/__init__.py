"""RMISR engine: Qt-free networks, weights registry and inference API.

Public API::

    from models import SuperResolver
    sr = SuperResolver(device="auto").upscale(image, 2.5, "rmisr-vp")

See ``docs/design.md`` and the paper (``rmisr-paper.txt``) for the networks.
"""
from __future__ import annotations

from .geometry import SCALE_MAX, SCALE_MIN, output_size
from .registry import (ARCH_REGISTRY, METHODS, Manifest, NoWeightsError, WeightsError,
                       WeightsIntegrityError, create_model)

__all__ = [
    "SuperResolver", "UpscaleInfo", "UpscaleCancelled", "InvalidImageError", "OutputTooLargeError",
    "METHODS", "ARCH_REGISTRY", "Manifest", "create_model", "output_size",
    "NoWeightsError", "WeightsError", "WeightsIntegrityError", "SCALE_MIN", "SCALE_MAX",
]


def __getattr__(name: str):  # lazy: importing models stays cheap until inference is needed
    if name in ("SuperResolver", "UpscaleInfo", "UpscaleCancelled", "InvalidImageError",
                "OutputTooLargeError"):
        from . import inference
        return getattr(inference, name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
