"""Safety limits checked from file headers before any pixel is decoded or allocated."""
from __future__ import annotations

from models import geometry as _geometry

__all__ = ["MAX_OUTPUT_PIXELS", "MAX_PIXELS", "MAX_SIDE", "MAX_TOTAL_PIXELS"]

#: Largest accepted frame, in pixels (≈ 12 200 × 12 200). Chosen below Pillow's own
#: decompression-bomb error threshold (2 × 89 478 485) so that our clearer error fires first.
MAX_PIXELS = 150_000_000
#: Largest accepted side length in pixels.
MAX_SIDE = 65_535
#: Largest accepted multi-frame file, all frames together (only one frame is ever decoded; a
#: header beyond this is taken as corrupt).
MAX_TOTAL_PIXELS = 8_000_000_000
#: Largest super-resolved result, in pixels: the engine's (torch-free :mod:`models.geometry`), so
#: that the viewer can check a run before torch is loaded.
MAX_OUTPUT_PIXELS = _geometry.MAX_OUTPUT_PIXELS
