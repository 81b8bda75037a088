"""Why an upscale call produced no result."""
from __future__ import annotations


class InvalidImageError(ValueError):
    """The input array cannot be super-resolved (wrong shape, empty, NaN/inf)."""


class OutputTooLargeError(InvalidImageError):
    """The result would exceed :data:`models.geometry.MAX_OUTPUT_PIXELS`; nothing was computed."""


class UpscaleCancelled(RuntimeError):
    """``cancel()`` returned True; no result was produced."""


class DeviceUnavailableError(RuntimeError):
    """An explicitly requested device (e.g. CUDA) is not available."""
