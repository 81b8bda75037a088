"""The source image canvas: fit, zoom about the cursor, pan, ROI with handles, window/level.

Mouse (right-drag W/L as in radiology viewers such as Inobitec, left-drag reserved for the ROI):

* left-drag on the image: draw a new ROI; inside the ROI: move it; on a handle: resize it; a
  click on an annotation selects it (``clickedAt``); hovering shows its measurement (tooltip);
* with a measuring tool chosen (``annotations.tool``), left clicks and drags draw an annotation
  instead (``annotationDrawn``; Esc drops an unfinished one);
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
from PyQt5.QtCore import QPoint, QPointF, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFontMetrics, QPainter, QPixmap, QTransform
from PyQt5.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from app.formatting import format_window, scale_bar
from app.io.roi import distance_text, fit_roi
from app.io.windowing import voi_label

from .annotation_layer import PICK_PX, AnnotationLayer, AnnotationTips
from .drops import FileDrops
from .imaging import mask_pixmap, windowed_pixmap
from .navigation import (SCROLL_KEYS, fit_zoom, keep_anchor, pixel_aspect, roi_nudge,
                         set_zoom, wheel_slices)
from .overlays import MEASURE_COLOUR, draw_corner_overlay, overlay_font
from .roi_item import (
    HANDLE_CURSORS,
    ROI,
    DistanceItem,
    RoiItem,
    ScreenLabel,
    resize_roi,
    roi_text,
    snap_roi,
)

PREVIEW_PIXELS = 2_000_000  # larger images are re-windowed coarsely while the W/L is dragged
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0


class ImageCanvas(FileDrops, AnnotationTips, QGraphicsView):
    """QGraphicsView showing one image through a display window, with an ROI."""

    roiChanged = pyqtSignal(object)            # (x, y, w, h) or None, after an edit
    roiEdited = pyqtSignal(object, object)     # (before, after) of an undoable change
    windowDragDone = pyqtSignal(object, object)  # (centre, width) before and after a right-drag
    annotationDrawn = pyqtSignal(object)       # a finished Annotation (source coordinates)
    clickedAt = pyqtSignal(float, float, float)  # a plain click: x, y, pick tolerance (px)
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
        self._graphics_item = QGraphicsPixmapItem()  # the file's overlay planes, over the image
        self._graphics_item.setTransformationMode(Qt.FastTransformation)
        self.scene().addItem(self._graphics_item)
        self._roi_item = RoiItem()
        self._roi_item.setVisible(False)
        self.scene().addItem(self._roi_item)
        self._measure_item = DistanceItem(MEASURE_COLOUR)
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
        self.annotations = AnnotationLayer()
        self.measurement_of: Any = lambda annotation: None  # its Measurement on the image
        self.painted_labels: list = []  # (annotation, its label's rectangle) painted last
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

    def set_graphics(self, mask: np.ndarray | None) -> None:
        """The file's overlay planes (DICOM 60xx: an outline, a label) as a mask over the image
        (``ImageData.overlay``), or None; View ▸ DICOM overlays shows or hides them."""
        self._graphics_item.setPixmap(mask_pixmap(mask) if mask is not None else QPixmap())

    def set_graphics_visible(self, visible: bool) -> None:
        self._graphics_item.setVisible(bool(visible))

    def graphics_shown(self) -> bool:
        """Whether overlay graphics are on the image now (some, and not hidden)."""
        return self._graphics_item.isVisible() and not self._graphics_item.pixmap().isNull()

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

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt)
        if self._pixels is not None:
            painter.save()
            painter.resetTransform()
            painter.setFont(overlay_font())
            roi = self._roi_item.on_screen(self) if self._roi else ([], [])
            self.painted_labels = self.annotations.paint(
                painter, QFontMetrics(painter.font()), QRectF(self.viewport().rect()),
                lambda p: QPointF(self.mapFromScene(QPointF(*p))),
                lambda a: getattr(self.measurement_of(a), "lines", ()), *roi)
            painter.restore()
        lines = self.overlay_lines()
        if not lines:
            return
        painter.save()
        painter.resetTransform()
        draw_corner_overlay(painter, self.viewport().rect(), lines, self._orientation,
                            self.px_per_mm(), self._spacing_at_detector)
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
        self.annotations.cancel()
        self.clear_measurement()
        self.fit()

    # -- distance measurement ----------------------------------------------------------------
    def set_measurement(self, p0: tuple[float, float], p1: tuple[float, float]) -> str:
        """Show a distance line from ``p0`` to ``p1`` (x, y in source-pixel units, kept inside
        the image) and return its text."""
        a, b = self._inside(QPointF(*p0)), self._inside(QPointF(*p1))
        text = distance_text((a.x(), a.y()), (b.x(), b.y()), self._spacing,
                             self._spacing_at_detector)
        self._measure_item.show_distance(a, b, text)
        return text

    def measurement(self) -> tuple[tuple[float, float], tuple[float, float], str] | None:
        """((x0, y0), (x1, y1), text) of the distance shown, or None."""
        return self._measure_item.distance()

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

    def pixmap(self) -> QPixmap:
        """What is shown: the windowed image (every k-th pixel while a W/L drag previews it)."""
        return self._pixmap_item.pixmap()

    def pixmap_scene_rect(self) -> QRectF:
        """The scene rectangle the shown pixmap covers: the image's, also while previewing."""
        return self._pixmap_item.sceneBoundingRect()

    def transformation_mode(self) -> Qt.TransformationMode:
        """How the image is scaled on screen (``Qt.FastTransformation``: nearest neighbour)."""
        return self._pixmap_item.transformationMode()

    def roi_label(self) -> ScreenLabel:
        """The ROI's size label ("64 × 48 px · 53.9 × 40.4 mm") beside its lower left corner."""
        return self._roi_item.label

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
        rect, aspect = self.pixmap_scene_rect(), pixel_aspect(self._spacing)
        set_zoom(self, fit_zoom(self, rect.width(), rect.height(), aspect), aspect)
        self.centerOn(rect.center())
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

        An emitted change is undoable (``roiEdited``) unless ``undoable`` is False."""
        before = self._roi
        if roi is not None and self._pixels is not None:
            roi = fit_roi(roi, *self.image_size())
        else:
            roi = None
        self._roi = roi
        self._show_roi(roi)
        if emit:
            self.roiChanged.emit(roi)
            if undoable and roi != before:
                self.roiEdited.emit(before, roi)

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
        self._roi_item.set_rect(QRectF(*roi), roi_text(roi, self._spacing,
                                                        self._spacing_at_detector))
        self._roi_item.setVisible(True)

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
        elif (event.button() == Qt.LeftButton and self._pixels is not None
              and self.annotations.press(self._source(sp), pos)):
            self._drag = {"mode": "annotate"}
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
        if self.annotations.drawing():
            self.annotations.move(self._source(sp))
            self.viewport().update()
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
            roi = snap_roi((d["anchor"].x(), d["anchor"].y()), (sp.x(), sp.y()),
                           self.image_size())
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
            roi = resize_roi(d["start"], d["handle"], (sp.x(), sp.y()), self.image_size())
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
        elif mode == "window":
            if self.preview_step() > 1:
                self._render()  # the full image after the coarse preview of the drag
            self.windowDragDone.emit(d["window"], self._window)
        elif mode == "annotate":
            shape = self.annotations.release(self._source(self.mapToScene(event.pos())),
                                             event.pos())
            self.viewport().update()
            if shape is not None:
                self.annotationDrawn.emit(shape)
        elif mode == "measure":
            m = self.measurement()
            if m is None or m[0] == m[1]:  # a click, not a drag
                self.clear_measurement()
            else:
                self.measured.emit(m[2])
        elif mode == "new":
            roi = self._roi
            if roi is None or roi == d["previous"] or roi[2] < 2 or roi[3] < 2:
                # a click, not a drag: keep the previous ROI (and perhaps select an annotation)
                self._roi = d["previous"]
                self._show_roi(self._roi)
                self._clicked(d["anchor"])
            else:
                self.roiChanged.emit(roi)
                self.roiEdited.emit(d["previous"], roi)
        elif mode in ("move", "resize") and self._roi != d["start"]:
            self.roiChanged.emit(self._roi)
            self.roiEdited.emit(d["start"], self._roi)
        elif mode == "move":
            self._clicked(d["anchor"])
        event.accept()

    def _source(self, sp: QPointF) -> tuple[float, float]:
        p = self._inside(sp)
        return p.x(), p.y()

    def annotation_tip(self, pos: QPoint) -> str:
        """What the annotation (or label) under ``pos`` measures on the image, in full."""
        a = self.annotations.under(self.painted_labels, QPointF(pos),
                                   self._source(self.mapToScene(pos)),
                                   PICK_PX / max(self.zoom(), 1e-6))
        m = self.measurement_of(a) if a is not None and self._pixels is not None else None
        return self.annotations.tip(a, m.text, "on the image") if m is not None else ""

    def _clicked(self, sp: QPointF) -> None:
        self.clickedAt.emit(sp.x(), sp.y(), PICK_PX / max(self.zoom(), 1e-6))

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
                cursor = HANDLE_CURSORS[handle]
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
    def drawing_annotation(self) -> bool:
        return self.annotations.drawing()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key_F:
            self.fit()
            return
        if event.key() == Qt.Key_Escape and self.annotations.cancel():
            self.viewport().update()
            event.accept()
            return
        if event.key() == Qt.Key_Escape and self.measurement() is not None:
            self.clear_measurement()
            event.accept()
            return
        nudge = roi_nudge(event.key(), event.modifiers())
        if nudge is not None and self._roi is not None:
            self.nudge_roi(*nudge)
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

    def files_dropped(self, paths: list[str]) -> None:
        """Dropped local files: ``fileDropped``."""
        self.fileDropped.emit(paths)
