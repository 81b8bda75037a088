"""Region of interest and magnification checks shared by the viewer, the CLI and the writers.

An ROI is ``(x, y, w, h)`` in source pixels: column and row of the top-left pixel, width and height.
The output grid of a magnification ``s`` is the engine's: ``(round(h·s), round(w·s))`` pixels,
halves rounded up, output pixel ``j`` centred on source coordinate ``(j + 0.5)/s − 0.5``. The
limits and the rounding are :mod:`models.geometry`'s, which imports no torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from models.geometry import (SCALE_MAX, SCALE_MIN, check_roi, check_scale, output_size,
                             round_half_up)

from .errors import InvalidArgumentError, InvalidROIError, InvalidScaleError
from .image_data import ImageData

__all__ = ["SCALE_MIN", "SCALE_MAX", "validate_scale", "validate_roi", "crop_roi", "parse_roi",
           "output_size", "round_half_up", "RoiStatistics", "roi_statistics", "distance_text"]

ROI = tuple[int, int, int, int]


def validate_scale(scale: object) -> float:
    """Return ``scale`` as a float if it lies in [1.1, 5].

    Raises:
        InvalidScaleError: not a number, not finite, or outside [1.1, 5].
    """
    return check_scale(scale, InvalidScaleError)


def _shape_of(shape_or_image: Sequence[int] | np.ndarray | ImageData) -> tuple[int, int]:
    if isinstance(shape_or_image, ImageData):
        return shape_or_image.height, shape_or_image.width
    dims = shape_or_image.shape if isinstance(shape_or_image, np.ndarray) else shape_or_image
    if dims is None or len(dims) < 2:
        raise InvalidArgumentError(f"an image (or its shape) with rows and columns is needed, "
                                   f"got {type(shape_or_image).__name__} {dims!r}")
    return int(dims[0]), int(dims[1])


def validate_roi(roi: Sequence[float] | None, shape: Sequence[int] | np.ndarray | ImageData
                 ) -> ROI:
    """Check an ROI against an image and return it as four ints.

    Args:
        roi: (x, y, w, h) in pixels, integral values; None means the whole image.
        shape: the image's shape (rows, cols, …), its pixel array, or an :class:`ImageData`.

    Returns:
        (x, y, w, h) as ints.

    Raises:
        InvalidROIError: not four integral numbers, empty (w or h < 1), or not entirely inside
            the image.
    """
    rows, cols = _shape_of(shape)
    return check_roi(roi, rows, cols, InvalidROIError)


def fit_roi(roi: Sequence[float], width: int, height: int) -> ROI:
    """``roi`` rounded to whole pixels, moved and cut into a ``width`` × ``height`` image, at
    least 1 px a side (a region drawn past an edge, or kept from a slice of another size); a
    region that fits is unchanged."""
    x, y, w, h = (int(round(v)) for v in roi)
    x, y = min(max(x, 0), width - 1), min(max(y, 0), height - 1)
    return x, y, min(max(w, 1), width - x), min(max(h, 1), height - y)


def crop_roi(image: ImageData | np.ndarray, roi: Sequence[float] | None) -> np.ndarray:
    """Crop ``image`` to ``roi`` (validated) and return a contiguous copy of the pixels."""
    pixels = image.pixels if isinstance(image, ImageData) else np.asarray(image)
    x, y, w, h = validate_roi(roi, pixels)
    return np.ascontiguousarray(pixels[y:y + h, x:x + w])


@dataclass(frozen=True)
class RoiStatistics:
    """Pixel statistics of an ROI in the image's units (a CT's HU): what a radiologist reads off
    an ROI. ``mean``/``sd``/``minimum``/``maximum`` are None for colour images and for an ROI
    that is all padding; ``area_mm2`` is None without pixel spacing. ``sd`` is the population
    standard deviation (ddof 0). ``pixels`` counts the measured pixels: ``padding`` pixels
    (outside the scanned field of view, :attr:`ImageData.padding`) are left out."""

    pixels: int
    mean: float | None
    sd: float | None
    minimum: float | None
    maximum: float | None
    area_mm2: float | None
    padding: int = 0


def roi_statistics(image: ImageData, roi: Sequence[float] | None) -> RoiStatistics:
    """Statistics of ``image``'s pixels inside ``roi`` (validated; float64 sums)."""
    x, y, w, h = validate_roi(roi, image)
    area = None
    if image.pixel_spacing is not None:
        area = float(w * h * image.pixel_spacing[0] * image.pixel_spacing[1])
    if image.is_colour:
        return RoiStatistics(w * h, None, None, None, None, area)
    block = np.asarray(image.pixels[y:y + h, x:x + w], dtype=np.float64)
    padded = 0
    if image.padding is not None:
        keep = ~image.padding[y:y + h, x:x + w]
        padded = int(keep.size - keep.sum())
        block = block[keep]
    if block.size == 0:
        return RoiStatistics(0, None, None, None, None, area, padded)
    return RoiStatistics(int(block.size), float(block.mean()), float(block.std()),
                         float(block.min()), float(block.max()), area, padded)


def distance_text(p0: Sequence[float], p1: Sequence[float],
                  spacing: tuple[float, float] | None, at_detector: bool = False) -> str:
    """A measured distance between two points (x, y) in source-pixel units: "23.4 mm" with a
    (row, col) pixel spacing (anisotropic spacing applied per axis), else "41.2 px"
    ("… mm at the detector" for ImagerPixelSpacing, not corrected for magnification)."""
    dx, dy = float(p1[0]) - float(p0[0]), float(p1[1]) - float(p0[1])
    if spacing is None:
        return f"{math.hypot(dx, dy):.1f} px"
    mm = math.hypot(dx * spacing[1], dy * spacing[0])
    return f"{mm:.1f} mm" + (" at the detector" if at_detector else "")


def parse_roi(text: str) -> ROI:
    """Parse "x,y,w,h" (commas and/or spaces) into four ints (not yet checked against an image).

    Raises:
        InvalidROIError: not four integers, or an empty size (also for ``text`` that is not a
            str: a ValueError, like every other bad ROI).
    """
    if not isinstance(text, str):
        raise InvalidROIError(f"ROI must be text 'x,y,w,h', got {type(text).__name__}")
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise InvalidROIError(f"ROI {text!r} must be four integers x,y,w,h") from None
    if len(values) != 4:
        raise InvalidROIError(f"ROI {text!r} must be four integers x,y,w,h")
    x, y, w, h = values
    if w < 1 or h < 1:
        raise InvalidROIError(f"ROI {text!r} is empty (width and height must be ≥ 1)")
    return x, y, w, h
