"""Pixel padding (outside the scanned field of view) kept out of super-resolution.

CT images mark the pixels outside the reconstructed field of view with Pixel Padding Value
(0028,0120), optionally up to Pixel Padding Range Limit (0028,0121) (PS3.3 C.7.5.1.1.2 and
C.7.6.3.1.10); the reader turns them into :attr:`ImageData.padding`. Those values (−2000 or
−3024 HU, far below any tissue) are not measurements: interpolated as if they were, they drag
the tissue next to the field-of-view ring down to values no tissue has.

Resolved here, as free functions:

* before super-resolution the padded pixels take the value of the **nearest measured pixel**
  (Euclidean distance; :func:`fill_padding`), so the network and the bicubic kernel see the
  tissue continue instead of a cliff; the lowest tissue value would instead draw a false edge
  inside the ring;
* afterwards, output pixels whose **nearest source pixel** (centre-aligned grid of the engine:
  output pixel j samples source ``(j + 0.5)/s − 0.5``, nearest = ``floor((j + 0.5)/s)``) is
  padding get that source pixel's padding value back (:func:`restore_padding`), so the result
  says "outside the scan" exactly where the source does.
"""
from __future__ import annotations

import numpy as np

from .image_data import ImageData

__all__ = ["fill_padding", "engine_pixels", "output_padding", "restore_padding"]


def fill_padding(pixels: np.ndarray, padding: np.ndarray | None) -> np.ndarray:
    """``pixels`` (H, W) with every ``padding`` pixel replaced by the value of its nearest
    non-padding pixel; ``pixels`` itself when there is nothing to fill (no mask, no padded
    pixel, or every pixel padded — no tissue to take a value from)."""
    if padding is None or pixels.ndim != 2 or padding.shape != pixels.shape:
        return pixels
    if not padding.any() or padding.all():
        return pixels
    from scipy.ndimage import distance_transform_edt

    rows, cols = distance_transform_edt(padding, return_distances=False, return_indices=True)
    return pixels[rows, cols]


def engine_pixels(image: ImageData) -> np.ndarray:
    """The pixels to hand the super-resolution engine: :attr:`ImageData.pixels` with padding
    filled from the nearest tissue (:func:`fill_padding`)."""
    return fill_padding(image.pixels, image.padding)


def _nearest(n_out: int, n_in: int, scale: float, start: int) -> np.ndarray:
    return np.minimum(np.floor((np.arange(n_out) + 0.5) / scale).astype(np.int64),
                      n_in - 1) + start


def output_padding(image: ImageData, roi: tuple[int, int, int, int], scale: float,
                   shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, cols) index arrays of each output pixel's nearest source pixel and the output
    padding mask, for an output of ``shape`` made from ``roi`` = (x, y, w, h) at ``scale``;
    None when the source has no padding or none falls in the output."""
    if image.padding is None:
        return None
    x, y, w, h = roi
    rows = _nearest(int(shape[0]), h, scale, y)
    cols = _nearest(int(shape[1]), w, scale, x)
    mask = image.padding[np.ix_(rows, cols)]
    if not mask.any():
        return None
    return np.ix_(rows, cols), mask  # type: ignore[return-value]


def restore_padding(pixels: np.ndarray, image: ImageData, roi: tuple[int, int, int, int],
                    scale: float) -> np.ndarray:
    """A copy of the result ``pixels`` (in the source's units) with the padding value of the
    nearest source pixel wherever that pixel is padding; ``pixels`` itself when the source has
    no padding there (or the result is colour, which has no padding)."""
    arr = np.asarray(pixels)
    if arr.ndim != 2:
        return pixels
    found = output_padding(image, roi, scale, arr.shape)
    if found is None:
        return pixels
    index, mask = found
    out = np.array(arr, copy=True)
    out[mask] = image.pixels[index][mask]
    return out
