"""Autocast switched off for a block: the one helper every float32-only computation uses.

A leaf module (it imports only torch), so that :mod:`models.resize` and :mod:`models.archs` can
both use it without importing each other.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def no_autocast(device_type: str) -> Iterator[None]:
    """Within the block autocast is off on ``device_type``; a no-op for device types autocast
    does not know, such as the "meta" tensors the operation counter runs on."""
    if torch.amp.is_autocast_available(device_type):
        with torch.autocast(device_type=device_type, enabled=False):
            yield
    else:
        yield
