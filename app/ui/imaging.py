"""numpy → Qt display conversion (windowing through
:func:`app.io.apply_window`; no image maths)."""
from __future__ import annotations

from typing import Any

import numpy as np
from PyQt5.QtCore import QPointF, QRect, QRectF, Qt
from PyQt5.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPixmap

from app.formatting import scale_bar
from app.io import apply_window

#: Scale bar colours: the bar and its label, and the shadow that keeps them legible on white.
SCALE_BAR_COLOUR = QColor(255, 255, 255)
SCALE_BAR_SHADOW = QColor(0, 0, 0, 200)


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


#: the colour of the file's overlay planes (DICOM 60xx graphics) drawn over the image
GRAPHICS_COLOUR = (255, 200, 0)


def mask_pixmap(mask: np.ndarray, colour: tuple[int, int, int] = GRAPHICS_COLOUR) -> QPixmap:
    """A pixmap of ``mask`` (boolean, H × W): ``colour`` where True, transparent elsewhere."""
    m = np.ascontiguousarray(mask, dtype=bool)
    h, w = m.shape
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[m] = (*colour, 255)
    img = QImage(rgba.data, w, h, rgba.strides[0], QImage.Format_RGBA8888)
    return QPixmap.fromImage(img.copy())


def blank_pixmap(width: int, height: int) -> QPixmap:
    """A dark placeholder of the given size (views that do not apply to a panel)."""
    img = QImage(max(1, width), max(1, height), QImage.Format_Grayscale8)
    img.fill(24)
    return QPixmap.fromImage(img)


def draw_scale_bar(painter: QPainter, area: QRect, px_per_mm: float | None, lift: int = 0,
                   at_detector: bool = False) -> tuple[float, float, str] | None:
    """Draw a scale bar at the bottom left of ``area`` (viewport pixels, painter untransformed),
    ``lift`` pixels above its bottom edge, for a view showing ``px_per_mm`` screen pixels per
    millimetre; at most a quarter of the width (at least 24 px); ``at_detector``: the spacing is
    ImagerPixelSpacing, measured at the detector, and the label says so. Returns what was drawn
    (:func:`app.formatting.scale_bar`), None when nothing was (no spacing, too small)."""
    if not px_per_mm:
        return None
    bar = scale_bar(float(px_per_mm), max(area.width() * 0.25, 0.0))
    if bar is None:
        return None
    _, length, label = bar
    if at_detector:
        label += " at detector"
        bar = (bar[0], length, label)
    font = QFont()
    font.setPointSizeF(8)
    painter.save()
    painter.setFont(font)
    fm = QFontMetrics(font)
    x0 = area.left() + 8.0
    y = area.bottom() - 6.0 - lift
    for colour, dx in ((SCALE_BAR_SHADOW, 1.0), (SCALE_BAR_COLOUR, 0.0)):
        painter.setPen(QPen(colour, 2))
        painter.drawLine(QPointF(x0 + dx, y + dx), QPointF(x0 + length + dx, y + dx))
        for x in (x0, x0 + length):
            painter.drawLine(QPointF(x + dx, y - 4 + dx), QPointF(x + dx, y + dx))
        painter.setPen(colour)
        painter.drawText(QRectF(x0 + dx, y - 6 - fm.height() + dx, max(length, 80), fm.height()),
                         int(Qt.AlignLeft | Qt.AlignBottom), label)
    painter.restore()
    return bar


def scale_bar_box(area: QRect, length: float, lift: int = 0) -> QRectF:
    """The rectangle :func:`draw_scale_bar` paints a bar ``length`` pixels long into (its label
    above it), for the texts that keep clear of it."""
    font = QFont()
    font.setPointSizeF(8)
    h = QFontMetrics(font).height()
    return QRectF(area.left() + 6.0, area.bottom() - 14.0 - lift - h, max(length, 40.0) + 6.0,
                  h + 16.0)
