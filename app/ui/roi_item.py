"""The canvas's region of interest: the rectangle with eight handles, its size label, and the
whole-pixel geometry of drawing, moving and resizing it; the canvas's measured distance (a line
with its text) uses the same kind of label.

Scene coordinates are source-pixel units: pixel (col, row) covers [col, col+1) × [row, row+1).
An ROI is (x, y, width, height) in whole pixels inside the image.
"""
from __future__ import annotations

import math

from PyQt5.QtCore import QLineF, QPointF, QRectF, Qt
from PyQt5.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PyQt5.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.formatting import format_number

ROI = tuple[int, int, int, int]

HANDLE_PX = 8          # handle side on screen, in pixels
#: The mouse cursor over each handle.
HANDLE_CURSORS = {"tl": Qt.SizeFDiagCursor, "br": Qt.SizeFDiagCursor,
                  "tr": Qt.SizeBDiagCursor, "bl": Qt.SizeBDiagCursor,
                  "t": Qt.SizeVerCursor, "b": Qt.SizeVerCursor,
                  "l": Qt.SizeHorCursor, "r": Qt.SizeHorCursor}
ROI_COLOUR = QColor(255, 196, 0)


def roi_text(roi: ROI, spacing: tuple[float, float] | None, at_detector: bool = False) -> str:
    """"64 × 48 px · 53.9 × 40.4 mm" (width × height; mm only when the spacing is known, "mm
    at detector" when it is ImagerPixelSpacing)."""
    _, _, w, h = roi
    text = f"{w} × {h} px"
    if spacing is not None:
        row_mm, col_mm = spacing
        text += f" · {format_number(w * col_mm, 1)} × {format_number(h * row_mm, 1)} mm"
        text += " at detector" if at_detector else ""
    return text


def snap_roi(a: tuple[float, float], b: tuple[float, float], size: tuple[int, int]) -> ROI:
    """The whole-pixel ROI spanned by two scene points, clipped to the image.

    Args:
        a: one corner (x, y) in source-pixel units.
        b: the opposite corner.
        size: (width, height) of the image.

    Returns:
        (x, y, width, height); width or height is 0 when the points share a pixel edge.
    """
    iw, ih = size
    x0 = int(math.floor(min(max(min(a[0], b[0]), 0), iw)))
    y0 = int(math.floor(min(max(min(a[1], b[1]), 0), ih)))
    x1 = int(math.ceil(min(max(max(a[0], b[0]), 0), iw)))
    y1 = int(math.ceil(min(max(max(a[1], b[1]), 0), ih)))
    return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)


def resize_roi(start: ROI, handle: str, p: tuple[float, float], size: tuple[int, int]) -> ROI:
    """``start`` with the edges of ``handle`` moved to the pixel edge nearest ``p``.

    Args:
        start: the ROI when the drag began.
        handle: "tl", "t", "tr", "r", "br", "b", "bl" or "l".
        p: the mouse (x, y) in source-pixel units.
        size: (width, height) of the image.

    Returns:
        The resized ROI, at least one pixel wide and high, inside the image.
    """
    iw, ih = size
    x0, y0, w, h = start
    x1, y1 = x0 + w, y0 + h
    px = min(max(int(round(p[0])), 0), iw)
    py = min(max(int(round(p[1])), 0), ih)
    if "l" in handle:
        x0 = min(px, x1 - 1)
    if "r" in handle:
        x1 = max(px, x0 + 1)
    if handle.startswith("t"):
        y0 = min(py, y1 - 1)
    if handle.startswith("b"):
        y1 = max(py, y0 + 1)
    return x0, y0, x1 - x0, y1 - y0


class ScreenLabel(QGraphicsItem):
    """Text with a dark background that keeps its screen size at any zoom (the ROI's size, a
    measured distance)."""

    def __init__(self, parent: QGraphicsItem, colour: QColor = ROI_COLOUR) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.ItemIgnoresTransformations, True)
        self._colour = colour
        self._text = ""
        self._font = QFont()
        self._font.setPointSizeF(9.0)

    def set_text(self, text: str) -> None:
        self.prepareGeometryChange()
        self._text = text
        self.update()

    def _text_rect(self) -> QRectF:
        fm = QFontMetrics(self._font)
        return QRectF(0, 2, fm.horizontalAdvance(self._text) + 8, fm.height() + 4)

    def boundingRect(self) -> QRectF:
        r = self._text_rect()  # and as far left again: the label may move left (paint)
        return r.adjusted(-r.width(), 0, 0, 0)

    def placed_rect(self, painter: QPainter, widget: QWidget | None) -> QRectF:
        """The label's box in item coordinates, moved left as far as needed (never past the
        view's left edge) to stay clear of the view's right edge and its direction letter.

        The painter's device transform is in device pixels: on a 2× screen they are divided
        by the device's pixel ratio before they are compared with the view's width."""
        r = self._text_rect()
        if widget is not None:
            device = painter.device()
            ratio = device.devicePixelRatioF() if device is not None else 1.0
            x = painter.deviceTransform().map(QPointF(0, 0)).x() / max(ratio, 1e-6)
            r.translate(-self._shift_left(x, r.width(), widget.width()), 0)
        return r

    @staticmethod
    def _shift_left(x: float, width: float, view_width: float) -> float:
        """How far a label ``width`` wide at viewport x ``x`` moves left (see placed_rect)."""
        over = x + width + 18 - view_width
        return min(over, width, max(x, 0.0)) if over > 0 else 0.0

    def viewport_rect(self, view: QGraphicsView) -> QRectF:
        """Where the label is painted in ``view``'s viewport pixels (as :meth:`placed_rect`
        places it), for the texts that keep clear of it."""
        at = QPointF(view.mapFromScene(self.scenePos()))
        r = self._text_rect().translated(at)
        return r.translated(-self._shift_left(at.x(), r.width(), view.viewport().width()), 0)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        r = self.placed_rect(painter, widget)
        painter.fillRect(r, QColor(0, 0, 0, 170))
        painter.setFont(self._font)
        painter.setPen(self._colour)
        painter.drawText(r.adjusted(4, 2, -4, -2), Qt.AlignLeft | Qt.AlignVCenter, self._text)

    def text(self) -> str:
        return self._text


class DistanceItem(QGraphicsLineItem):
    """A measured distance: a line (as thin at any zoom) with its text beside its end, hidden
    until :meth:`show_distance`."""

    def __init__(self, colour: QColor) -> None:
        super().__init__()
        pen = QPen(colour, 1.5)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setZValue(11)
        self.setVisible(False)
        self._label = ScreenLabel(self, colour)

    def show_distance(self, a: QPointF, b: QPointF, text: str) -> None:
        """Show the line from ``a`` to ``b`` (scene points) with ``text`` beside ``b``."""
        self.setLine(QLineF(a, b))
        self._label.setPos(b)
        self._label.set_text(text)
        self.setVisible(True)

    def distance(self) -> tuple[tuple[float, float], tuple[float, float], str] | None:
        """((x0, y0), (x1, y1), text) of the distance shown, or None."""
        if not self.isVisible():
            return None
        line = self.line()
        return (line.x1(), line.y1()), (line.x2(), line.y2()), self._label.text()


class RoiItem(QGraphicsItem):
    """The rectangular ROI with eight handles (drawn at a constant screen size)."""

    def __init__(self) -> None:
        super().__init__()
        self._rect = QRectF()
        self._handle = 1.0  # handle side in scene units (set from the view's zoom)
        self.label = ScreenLabel(self)
        self.setZValue(10)

    def set_rect(self, rect: QRectF, text: str) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)
        self.label.setPos(self._rect.bottomLeft())
        self.label.set_text(text)
        self.update()

    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def set_view_scale(self, scale: float) -> None:
        self.prepareGeometryChange()
        self._handle = HANDLE_PX / max(scale, 1e-6)
        self.update()

    def handle_rects(self) -> dict[str, QRectF]:
        r, s = self._rect, self._handle
        xs = {"l": r.left(), "c": r.center().x(), "r": r.right()}
        ys = {"t": r.top(), "c": r.center().y(), "b": r.bottom()}
        pos = {"tl": ("l", "t"), "t": ("c", "t"), "tr": ("r", "t"), "r": ("r", "c"),
               "br": ("r", "b"), "b": ("c", "b"), "bl": ("l", "b"), "l": ("l", "c")}
        return {k: QRectF(xs[a] - s / 2, ys[b] - s / 2, s, s) for k, (a, b) in pos.items()}

    def on_screen(self, view: QGraphicsView) -> tuple[list[QRectF], list[QRectF]]:
        """([its size label], its handles) in ``view``'s viewport pixels: what a measurement's
        label keeps clear of, and what it rather does not cover."""
        handles = [view.mapFromScene(r).boundingRect() for r in self.handle_rects().values()]
        return ([self.label.viewport_rect(view)],
                [QRectF(r).adjusted(-2, -2, 2, 2) for r in handles])

    def handle_at(self, p: QPointF) -> str | None:
        for name, hr in self.handle_rects().items():
            if hr.adjusted(-self._handle / 2, -self._handle / 2, self._handle / 2,
                           self._handle / 2).contains(p):
                return name
        return None

    def boundingRect(self) -> QRectF:
        s = self._handle
        return self._rect.adjusted(-s, -s, s, s)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self._rect.isEmpty():
            return
        pen = QPen(ROI_COLOUR, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(self._rect)
        painter.setBrush(QBrush(ROI_COLOUR))
        for hr in self.handle_rects().values():
            painter.drawRect(hr)

