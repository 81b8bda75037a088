"""The source image canvas: fit, zoom about the cursor, pan, ROI with handles, window/level.

Mouse (right-drag W/L as in radiology viewers such as Inobitec, left-drag reserved for the ROI):

* left-drag on the image: draw a new ROI; inside the ROI: move it; on a handle: resize it;
* Ctrl + left-drag: measure a distance (mm with a pixel spacing, else px); Esc clears it;
* middle-drag, or Space + left-drag: pan; double-click: fit;
* wheel: the next/previous slice (``sliceStepRequested``; down = next, as in Horos, Weasis and
  RadiAnt), Ctrl + wheel: zoom about the cursor (``wheel_zooms``: every wheel zooms);
* right-drag: window/level (left/right = width, multiplicative; up/down = level);
  right-click without moving: the context menu (presets, fit, ROI).

Scene coordinates are source-pixel units: pixel (col, row) covers [col, col+1) × [row, row+1).
The ROI is always whole pixels inside the image.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PyQt5.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen, QTransform
from PyQt5.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.formatting import format_number, format_window, scale_bar
from app.io.roi import distance_text
from app.io.windowing import voi_label

from .imaging import draw_scale_bar, windowed_pixmap

ROI = tuple[int, int, int, int]

HANDLE_PX = 8          # handle side on screen, in pixels
ROI_UNDO_DEPTH = 50    # ROI changes Ctrl+Z can step back through
PREVIEW_PIXELS = 2_000_000  # larger images are re-windowed coarsely while the W/L is dragged
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
_HANDLES = ("tl", "t", "tr", "r", "br", "b", "bl", "l")
_HANDLE_CURSORS = {"tl": Qt.SizeFDiagCursor, "br": Qt.SizeFDiagCursor,
                   "tr": Qt.SizeBDiagCursor, "bl": Qt.SizeBDiagCursor,
                   "t": Qt.SizeVerCursor, "b": Qt.SizeVerCursor,
                   "l": Qt.SizeHorCursor, "r": Qt.SizeHorCursor}
ROI_COLOUR = QColor(255, 196, 0)
OVERLAY_TEXT = QColor(235, 235, 235)
ORIENTATION_COLOUR = QColor(255, 220, 120)
MEASURE_COLOUR = QColor(90, 220, 255)
#: Keys a scroll area would use to scroll the view away from the image: the viewer's own
#: shortcuts use them (slices, ROI), and whatever they leave over does nothing.
SCROLL_KEYS = frozenset({Qt.Key_PageUp, Qt.Key_PageDown, Qt.Key_Home, Qt.Key_End, Qt.Key_Left,
                         Qt.Key_Right, Qt.Key_Up, Qt.Key_Down})


def roi_text(roi: ROI, spacing: tuple[float, float] | None) -> str:
    """"64 × 48 px · 53.9 × 40.4 mm" (width × height; mm only when the spacing is known)."""
    _, _, w, h = roi
    text = f"{w} × {h} px"
    if spacing is not None:
        row_mm, col_mm = spacing
        text += f" · {format_number(w * col_mm, 1)} × {format_number(h * row_mm, 1)} mm"
    return text


def keep_anchor(view: QGraphicsView, factor: float, anchor: QPoint | None) -> None:
    """Scale ``view`` by ``factor`` about the viewport point ``anchor`` (default: the centre).

    Done by hand (scale, then scroll the anchor's scene point back under it) because Qt's
    AnchorUnderMouse relies on the view's own mouse tracking.
    """
    if anchor is None:
        anchor = view.viewport().rect().center()
    before = view.mapToScene(anchor)
    old = view.transformationAnchor()
    view.setTransformationAnchor(QGraphicsView.NoAnchor)
    view.scale(factor, factor)
    view.setTransformationAnchor(old)
    moved = view.mapFromScene(before) - anchor
    h, v = view.horizontalScrollBar(), view.verticalScrollBar()
    h.setValue(h.value() + moved.x())
    v.setValue(v.value() + moved.y())


def wheel_slices(notches: float, signal: Any) -> float:
    """Emit ``signal`` with the whole slices in ``notches`` of wheel travel (down = on: +n) and
    return the fraction left over (a touchpad sends fractions of a notch)."""
    whole = int(notches)  # towards zero
    if whole:
        signal.emit(-whole)
    return notches - whole


class _RoiLabel(QGraphicsItem):
    """Text with a dark background that keeps its screen size at any zoom."""

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

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        r = self._text_rect()
        if widget is not None:  # never cut by the view's right edge: moved left as needed
            x = painter.deviceTransform().map(QPointF(0, 0)).x()
            over = x + r.width() + 18 - widget.width()  # clear of the edge's direction letter
            if over > 0:
                r.translate(-min(over, r.width(), max(x, 0.0)), 0)
        painter.fillRect(r, QColor(0, 0, 0, 170))
        painter.setFont(self._font)
        painter.setPen(self._colour)
        painter.drawText(r.adjusted(4, 2, -4, -2), Qt.AlignLeft | Qt.AlignVCenter, self._text)

    def text(self) -> str:
        return self._text


class RoiItem(QGraphicsItem):
    """The rectangular ROI with eight handles (drawn at a constant screen size)."""

    def __init__(self) -> None:
        super().__init__()
        self._rect = QRectF()
        self._handle = 1.0  # handle side in scene units (set from the view's zoom)
        self.label = _RoiLabel(self)
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


class ImageCanvas(QGraphicsView):
    """QGraphicsView showing one image through a display window, with an ROI."""

    roiChanged = pyqtSignal(object)            # (x, y, w, h) or None, after an edit
    windowChanged = pyqtSignal(float, float)   # (centre, width) after a right-drag step
    cursorMoved = pyqtSignal(object)           # (col, row, value) or None outside the image
    fileDropped = pyqtSignal(list)            # the dropped local paths (str)
    measured = pyqtSignal(object)              # the distance's text after a measurement, or None
    contextMenuAt = pyqtSignal(QPoint)         # global position of a right click
    zoomChanged = pyqtSignal(float)
    sliceStepRequested = pyqtSignal(int)       # +n: n slices on (wheel down), −n: back

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._pixmap_item = QGraphicsPixmapItem()
        self._pixmap_item.setTransformationMode(Qt.FastTransformation)  # nearest neighbour
        self._pixmap_item.setShapeMode(QGraphicsPixmapItem.BoundingRectShape)
        self.scene().addItem(self._pixmap_item)
        self._roi_item = RoiItem()
        self._roi_item.setVisible(False)
        self.scene().addItem(self._roi_item)
        self._measure_item = QGraphicsLineItem()
        pen = QPen(MEASURE_COLOUR, 1.5)
        pen.setCosmetic(True)
        self._measure_item.setPen(pen)
        self._measure_item.setZValue(11)
        self._measure_item.setVisible(False)
        self._measure_label = _RoiLabel(self._measure_item, MEASURE_COLOUR)
        self.scene().addItem(self._measure_item)
        self._spacing_at_detector = False
        self._pixels: np.ndarray | None = None
        self._spacing: tuple[float, float] | None = None
        self._unit = ""
        self._window = (0.5, 1.0)
        self._invert = False
        self._voi_function = "LINEAR"
        self._voi_lut: Any = None
        self._roi: ROI | None = None
        self._fit = True
        self._space = False
        self._drag: dict | None = None
        self.setTransformationAnchor(QGraphicsView.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setDragMode(QGraphicsView.NoDrag)
        self.setRenderHint(QPainter.SmoothPixmapTransform, False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QColor(0, 0, 0))
        self.setFrameShape(QGraphicsView.NoFrame)
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.viewport().setCursor(Qt.CrossCursor)
        self.setMinimumSize(160, 160)
        self.setViewportUpdateMode(QGraphicsView.FullViewportUpdate)  # fixed corner overlay
        self._roi_history: list[ROI | None] = []
        self.wheel_zooms = False  # True: the wheel zooms (the viewer's earlier convention)
        self._wheel_rest = 0.0
        self._corners: dict[str, list[str]] = {}
        self._orientation: dict[str, str] | None = None
        self._overlay_visible = True

    # -- corner overlay ----------------------------------------------------------------------
    def set_overlay(self, corners: dict[str, list[str]],
                    orientation: dict[str, str] | None) -> None:
        """Corner texts (``top_left``, ``top_right``, ``bottom_right``; the window and zoom go
        bottom left) and the patient-direction letters at the edges (see
        :mod:`app.io.overlay`)."""
        self._corners = {k: list(v) for k, v in corners.items()}
        self._orientation = dict(orientation) if orientation else None
        self.viewport().update()

    def set_overlay_visible(self, visible: bool) -> None:
        self._overlay_visible = bool(visible)
        self.viewport().update()

    def overlay_lines(self) -> dict[str, list[str]]:
        """What the overlay shows now, corner by corner (empty when hidden or no image)."""
        if not self._overlay_visible or self._pixels is None:
            return {}
        lines = dict(self._corners)
        lines["bottom_left"] = [self.window_label(), f"zoom {self.zoom() * 100:.0f} %"]
        return lines

    def window_label(self) -> str:
        """"W 30,000 / L 15,000", "W 300 / L 50 HU (sigmoid)" or "VOI LUT …" (the file's LUT
        shown): fixed decimals, never e-notation."""
        label = voi_label(*self._window, self._unit, self._voi_function, self._voi_lut)
        if label.startswith("VOI LUT"):
            return label
        fn = "" if str(self._voi_function).upper() == "LINEAR" else \
            f" ({str(self._voi_function).lower()})"
        return format_window(self._window[0], self._window[1], self._unit) + fn

    def px_per_mm(self) -> float | None:
        """Screen pixels per millimetre along a row at the current zoom (None without a pixel
        spacing)."""
        if self._spacing is None or not self._spacing[1] or self._spacing[1] <= 0:
            return None
        return self.zoom() / float(self._spacing[1])

    def scale_bar(self) -> tuple[float, float, str] | None:
        """The scale bar the overlay shows: (mm, screen px, label), or None."""
        if not self.overlay_lines():
            return None
        return scale_bar(self.px_per_mm() or 0.0, self.viewport().width() * 0.25)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        lines = self.overlay_lines()
        if not lines:
            return
        painter.save()
        painter.resetTransform()
        vp = self.viewport().rect().adjusted(6, 4, -6, -4)
        font = QFont()
        font.setPointSizeF(8.5)
        painter.setFont(font)
        above = QFontMetrics(font).lineSpacing() * len(lines.get("bottom_left", [])) + 6
        draw_scale_bar(painter, vp, self.px_per_mm(), lift=above)
        shadow = QColor(0, 0, 0, 220)
        aligns = {"top_left": Qt.AlignTop | Qt.AlignLeft, "top_right": Qt.AlignTop | Qt.AlignRight,
                  "bottom_left": Qt.AlignBottom | Qt.AlignLeft,
                  "bottom_right": Qt.AlignBottom | Qt.AlignRight}
        for key, align in aligns.items():
            text = "\n".join(lines.get(key, []))
            if text:
                painter.setPen(shadow)
                painter.drawText(vp.translated(1, 1), int(align), text)
                painter.setPen(OVERLAY_TEXT)
                painter.drawText(vp, int(align), text)
        if self._orientation:
            bold = QFont(font)
            bold.setBold(True)
            bold.setPointSizeF(10)
            painter.setFont(bold)
            mid = {"left": Qt.AlignLeft | Qt.AlignVCenter, "right": Qt.AlignRight | Qt.AlignVCenter,
                   "top": Qt.AlignTop | Qt.AlignHCenter, "bottom": Qt.AlignBottom | Qt.AlignHCenter}
            for key, align in mid.items():
                letters = self._orientation.get(key, "")
                if letters:
                    painter.setPen(shadow)
                    painter.drawText(vp.translated(1, 1), int(align), letters)
                    painter.setPen(ORIENTATION_COLOUR)
                    painter.drawText(vp, int(align), letters)
        painter.restore()

    # -- image and window ------------------------------------------------------------------
    def set_image(self, pixels: np.ndarray, window: tuple[float, float], invert: bool = False,
                  spacing: tuple[float, float] | None = None, unit: str = "",
                  keep_view: bool = False, spacing_at_detector: bool = False,
                  voi_function: str = "LINEAR", voi_lut: Any = None) -> None:
        """Show ``pixels`` (full range) through ``window`` and ``voi_function`` (the file's VOI
        LUT Function, kept for every window; ``voi_lut``, its VOI LUT, while that one's window
        is shown); clears the ROI and the measurement and fits,
        unless ``keep_view`` and the size is unchanged (the next slice of a series: same ROI,
        measurement, zoom and pan)."""
        same_size = self._pixels is not None and self._pixels.shape[:2] == pixels.shape[:2]
        self._pixels = pixels
        self._spacing = spacing
        self._spacing_at_detector = spacing_at_detector
        self._unit = unit
        self._invert = invert
        self._voi_function = voi_function
        self._voi_lut = voi_lut
        self._window = (float(window[0]), float(window[1]))
        self._render()
        if keep_view and same_size:
            self.viewport().update()
            return
        h, w = pixels.shape[:2]
        m = max(w, h)
        self.setSceneRect(QRectF(-m, -m, w + 2 * m, h + 2 * m))
        self.set_roi(None, emit=False)
        self._roi_history.clear()
        self.clear_measurement()
        self.fit()

    # -- distance measurement ----------------------------------------------------------------
    def set_measurement(self, p0: tuple[float, float], p1: tuple[float, float]) -> str:
        """Show a distance line from ``p0`` to ``p1`` (x, y in source-pixel units, kept inside
        the image) and return its text."""
        a, b = self._inside(QPointF(*p0)), self._inside(QPointF(*p1))
        text = distance_text((a.x(), a.y()), (b.x(), b.y()), self._spacing,
                             self._spacing_at_detector)
        self._measure_item.setLine(QLineF(a, b))
        self._measure_label.setPos(b)
        self._measure_label.set_text(text)
        self._measure_item.setVisible(True)
        return text

    def measurement(self) -> tuple[tuple[float, float], tuple[float, float], str] | None:
        """((x0, y0), (x1, y1), text) of the distance shown, or None."""
        if not self._measure_item.isVisible():
            return None
        line = self._measure_item.line()
        return ((line.x1(), line.y1()), (line.x2(), line.y2()), self._measure_label.text())

    def clear_measurement(self) -> None:
        if self._measure_item.isVisible():
            self._measure_item.setVisible(False)
            self.measured.emit(None)

    def _inside(self, p: QPointF) -> QPointF:
        w, h = self.image_size()
        return QPointF(min(max(p.x(), 0.0), float(w)), min(max(p.y(), 0.0), float(h)))

    def has_image(self) -> bool:
        return self._pixels is not None

    def image_size(self) -> tuple[int, int]:
        """(width, height) of the image, (0, 0) without one."""
        if self._pixels is None:
            return 0, 0
        return int(self._pixels.shape[1]), int(self._pixels.shape[0])

    def window(self) -> tuple[float, float]:
        return self._window

    def set_window(self, center: float, width: float, preview: bool = False) -> None:
        """Show the image through (centre, width); ``preview`` (during a right-drag): a large
        image is re-windowed at a coarser sampling, and in full when the drag ends."""
        self._window = (float(center), max(float(width), 1e-6))
        self._render(preview)

    def preview_step(self) -> int:
        """The sampling step of a W/L-drag preview: 1 up to ``PREVIEW_PIXELS``, then the
        smallest step that brings the image under it."""
        if self._pixels is None:
            return 1
        h, w = self._pixels.shape[:2]
        return max(1, math.ceil(math.sqrt(h * w / PREVIEW_PIXELS)))

    def _render(self, preview: bool = False) -> None:
        if self._pixels is None:
            return
        c, w = self._window
        k = self.preview_step() if preview else 1
        # every k-th pixel, drawn k× larger: pixel (i, j) still covers scene [j·k, (j+1)·k)
        self._pixmap_item.setPixmap(windowed_pixmap(self._pixels[::k, ::k], c, w, self._invert,
                                                     self._voi_function, self._voi_lut))
        self._pixmap_item.setTransform(QTransform.fromScale(k, k))

    # -- zoom / pan --------------------------------------------------------------------------
    def zoom(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        """Fit the image to the view (and keep fitting on resize until the user zooms)."""
        if self._pixels is None:
            return
        self._fit = True
        self.fitInView(self._pixmap_item.sceneBoundingRect(), Qt.KeepAspectRatio)
        self._zoom_changed()

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Zoom by ``factor`` keeping the scene point under ``anchor`` (viewport px) in place."""
        z = self.zoom()
        factor = min(max(factor, MIN_ZOOM / z), MAX_ZOOM / z)
        self._fit = False
        keep_anchor(self, factor, anchor)
        self._zoom_changed()

    def _zoom_changed(self) -> None:
        self._roi_item.set_view_scale(self.zoom())
        self.zoomChanged.emit(self.zoom())

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps and (self.wheel_zooms or event.modifiers() & Qt.ControlModifier):
            self.zoom_by(1.25 ** steps, event.pos())
        elif steps:
            self._wheel_rest = wheel_slices(self._wheel_rest + steps, self.sliceStepRequested)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def _pan(self, delta: QPoint) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - delta.x())
        v.setValue(v.value() - delta.y())
        self._fit = False

    # -- ROI ---------------------------------------------------------------------------------
    def roi(self) -> ROI | None:
        return self._roi

    def set_roi(self, roi: ROI | None, emit: bool = True, undoable: bool = True) -> None:
        """Set the ROI (x, y, w, h) in pixels (clamped to the image) or clear it with None.

        An emitted change is undoable (:meth:`undo_roi`) unless ``undoable`` is False."""
        before = self._roi
        if roi is not None and self._pixels is not None:
            iw, ih = self.image_size()
            x, y, w, h = (int(round(v)) for v in roi)
            x = min(max(x, 0), iw - 1)
            y = min(max(y, 0), ih - 1)
            w = min(max(w, 1), iw - x)
            h = min(max(h, 1), ih - y)
            roi = (x, y, w, h)
        else:
            roi = None
        self._roi = roi
        self._show_roi(roi)
        if emit:
            if undoable and roi != before:
                self._remember_roi(before)
            self.roiChanged.emit(roi)

    def _remember_roi(self, roi: ROI | None) -> None:
        self._roi_history.append(roi)
        del self._roi_history[:-ROI_UNDO_DEPTH]

    def undo_roi(self) -> bool:
        """Go back to the ROI before the last change (Ctrl+Z); False when there is none."""
        if not self._roi_history or self._pixels is None:
            return False
        self.set_roi(self._roi_history.pop(), undoable=False)
        return True

    def nudge_roi(self, dx: int, dy: int, dw: int = 0, dh: int = 0) -> None:
        """Move the ROI by (dx, dy) pixels and grow it by (dw, dh), inside the image (keyboard:
        arrows move by 1 px, Shift+arrows by 10, Ctrl+arrows resize)."""
        if self._roi is None or self._pixels is None:
            return
        iw, ih = self.image_size()
        x, y, w, h = self._roi
        w = min(max(w + dw, 1), iw)
        h = min(max(h + dh, 1), ih)
        x = min(max(x + dx, 0), iw - w)
        y = min(max(y + dy, 0), ih - h)
        if (x, y, w, h) != self._roi:
            self.set_roi((x, y, w, h))

    def _show_roi(self, roi: ROI | None) -> None:
        if roi is None:
            self._roi_item.setVisible(False)
            return
        self._roi_item.set_rect(QRectF(*roi), roi_text(roi, self._spacing))
        self._roi_item.setVisible(True)

    def _snap(self, a: QPointF, b: QPointF) -> ROI:
        iw, ih = self.image_size()
        x0 = int(math.floor(min(max(min(a.x(), b.x()), 0), iw)))
        y0 = int(math.floor(min(max(min(a.y(), b.y()), 0), ih)))
        x1 = int(math.ceil(min(max(max(a.x(), b.x()), 0), iw)))
        y1 = int(math.ceil(min(max(max(a.y(), b.y()), 0), ih)))
        return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)

    def _resized(self, start: ROI, handle: str, p: QPointF) -> ROI:
        iw, ih = self.image_size()
        x0, y0, w, h = start
        x1, y1 = x0 + w, y0 + h
        px = min(max(int(round(p.x())), 0), iw)
        py = min(max(int(round(p.y())), 0), ih)
        if "l" in handle:
            x0 = min(px, x1 - 1)
        if "r" in handle:
            x1 = max(px, x0 + 1)
        if handle.startswith("t"):
            y0 = min(py, y1 - 1)
        if handle.startswith("b"):
            y1 = max(py, y0 + 1)
        return x0, y0, x1 - x0, y1 - y0

    # -- mouse -------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        pos = event.pos()
        sp = self.mapToScene(pos)
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space):
            self._drag = {"mode": "pan", "last": pos}
            self.viewport().setCursor(Qt.ClosedHandCursor)
        elif event.button() == Qt.RightButton and self._pixels is not None:
            self._drag = {"mode": "window", "start": pos, "window": self._window, "moved": False}
        elif (event.button() == Qt.LeftButton and self._pixels is not None
              and event.modifiers() & Qt.ControlModifier):
            self._drag = {"mode": "measure", "anchor": self._inside(sp)}
        elif event.button() == Qt.LeftButton and self._pixels is not None:
            handle = self._roi_item.handle_at(sp) if self._roi else None
            if handle:
                self._drag = {"mode": "resize", "handle": handle, "start": self._roi}
            elif self._roi and QRectF(*self._roi).contains(sp):
                self._drag = {"mode": "move", "start": self._roi, "anchor": sp}
            else:
                self._drag = {"mode": "new", "anchor": sp, "previous": self._roi}
        else:
            super().mousePressEvent(event)
            return
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        sp = self.mapToScene(event.pos())
        self._report_cursor(sp)
        if self._drag is None:
            self._update_hover_cursor(sp)
            return
        self._drag_to(event.pos())
        event.accept()

    def _drag_to(self, pos: QPoint) -> None:
        """Apply the drag in progress up to ``pos`` (viewport coordinates)."""
        d = self._drag
        if d is None:
            return
        sp = self.mapToScene(pos)
        mode = d["mode"]
        if mode == "pan":
            self._pan(pos - d["last"])
            d["last"] = pos
        elif mode == "window":
            delta = pos - d["start"]
            if delta.manhattanLength() > 2:
                d["moved"] = True
            if d["moved"]:
                c0, w0 = d["window"]
                w = w0 * math.exp(delta.x() / 200.0)
                c = c0 + delta.y() * w0 / 200.0
                if (c, w) != self._window:
                    self.set_window(c, w, preview=True)
                    self.windowChanged.emit(c, w)
        elif mode == "measure":
            a = d["anchor"]
            self.set_measurement((a.x(), a.y()), (sp.x(), sp.y()))
        elif mode == "new":
            roi = self._snap(d["anchor"], sp)
            if roi[2] >= 1 and roi[3] >= 1:
                self._roi = roi
                self._show_roi(roi)
        elif mode == "move":
            iw, ih = self.image_size()
            x, y, w, h = d["start"]
            dx = int(round(sp.x() - d["anchor"].x()))
            dy = int(round(sp.y() - d["anchor"].y()))
            roi = (min(max(x + dx, 0), iw - w), min(max(y + dy, 0), ih - h), w, h)
            self._roi = roi
            self._show_roi(roi)
        elif mode == "resize":
            roi = self._resized(d["start"], d["handle"], sp)
            self._roi = roi
            self._show_roi(roi)

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is None:
            super().mouseReleaseEvent(event)
            return
        self._drag_to(event.pos())  # the release position counts even without move events
        d, self._drag = self._drag, None
        mode = d["mode"]
        if mode == "pan":
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else Qt.CrossCursor)
        elif mode == "window" and not d["moved"]:
            self.contextMenuAt.emit(self.viewport().mapToGlobal(event.pos()))
        elif mode == "window" and self.preview_step() > 1:
            self._render()  # the full image after the coarse preview of the drag
        elif mode == "measure":
            m = self.measurement()
            if m is None or m[0] == m[1]:  # a click, not a drag
                self.clear_measurement()
            else:
                self.measured.emit(m[2])
        elif mode == "new":
            roi = self._roi
            if roi is None or roi == d["previous"] or roi[2] < 2 or roi[3] < 2:
                # a click, not a drag: keep the previous ROI
                self._roi = d["previous"]
                self._show_roi(self._roi)
            else:
                self._remember_roi(d["previous"])
                self.roiChanged.emit(roi)
        elif mode in ("move", "resize") and self._roi != d["start"]:
            self._remember_roi(d["start"])
            self.roiChanged.emit(self._roi)
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and not self._space:
            self.fit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event) -> None:
        event.accept()  # shown on right-button release instead (right-drag is window/level)

    def leaveEvent(self, event) -> None:
        self.cursorMoved.emit(None)
        super().leaveEvent(event)

    def _update_hover_cursor(self, sp: QPointF) -> None:
        if self._space:
            return
        cursor = Qt.CrossCursor
        if self._roi:
            handle = self._roi_item.handle_at(sp)
            if handle:
                cursor = _HANDLE_CURSORS[handle]
            elif QRectF(*self._roi).contains(sp):
                cursor = Qt.SizeAllCursor
        self.viewport().setCursor(cursor)

    def _report_cursor(self, sp: QPointF) -> None:
        if self._pixels is None:
            return
        col, row = int(math.floor(sp.x())), int(math.floor(sp.y()))
        h, w = self._pixels.shape[:2]
        if 0 <= col < w and 0 <= row < h:
            self.cursorMoved.emit((col, row, self._pixels[row, col]))
        else:
            self.cursorMoved.emit(None)

    # -- keys --------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key_F:
            self.fit()
            return
        if event.key() == Qt.Key_Escape and self.measurement() is not None:
            self.clear_measurement()
            event.accept()
            return
        arrows = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1),
                  Qt.Key_Down: (0, 1)}
        if event.key() in arrows and self._roi is not None:
            ax, ay = arrows[event.key()]
            mods = event.modifiers()
            step = 10 if mods & Qt.ShiftModifier else 1
            if mods & Qt.ControlModifier:
                self.nudge_roi(0, 0, ax * step, ay * step)
            else:
                self.nudge_roi(ax * step, ay * step)
            event.accept()
            return
        if event.key() in (Qt.Key_Plus, Qt.Key_Equal):
            self.zoom_by(1.25, None)
            return
        if event.key() == Qt.Key_Minus:
            self.zoom_by(0.8, None)
            return
        if event.key() in SCROLL_KEYS:  # never scroll the image out of the view
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.CrossCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # -- drag and drop -----------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.fileDropped.emit(paths)
        else:
            event.ignore()
