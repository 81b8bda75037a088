"""numpy → Qt display conversion (windowing through
:func:`app.io.apply_window`; no image maths)."""
from __future__ import annotations

from typing import Any

import numpy as np
from PyQt5.QtGui import QImage, QPixmap

from app.io import apply_window


def to_qimage(display: np.ndarray) -> QImage:
    """QImage (a deep copy) of an 8-bit (H, W) grey or (H, W, 3) RGB array.

    ``bytesPerLine`` is passed explicitly: Qt otherwise assumes 32-bit aligned rows and shears
    images of odd width.
    """
    a = np.ascontiguousarray(display, dtype=np.uint8)
    h, w = a.shape[:2]
    if a.ndim == 2:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format_Grayscale8)
    elif a.ndim == 3 and a.shape[2] == 3:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format_RGB888)
    else:
        raise ValueError(f"cannot display an array of shape {a.shape}")
    return img.copy()  # the numpy buffer does not outlive this call


def windowed_pixmap(pixels: np.ndarray, center: float, width: float, invert: bool = False,
                    function: str = "LINEAR", lut: Any = None) -> QPixmap:
    """Pixmap of ``pixels`` through the display window (centre, width) and the image's VOI LUT
    function, or its VOI LUT while that one's window is shown (:func:`app.io.apply_window`)."""
    return QPixmap.fromImage(to_qimage(apply_window(pixels, center, width, invert, function,
                                                    lut)))


def blank_pixmap(width: int, height: int) -> QPixmap:
    """A dark placeholder of the given size (views that do not apply to a panel)."""
    img = QImage(max(1, width), max(1, height), QImage.Format_Grayscale8)
    img.fill(24)
    return QPixmap.fromImage(img)
