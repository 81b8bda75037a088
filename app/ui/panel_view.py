"""One panel of the comparison view: the image of one method, synchronised with the others.

The scene is in **source-pixel units** of the ROI (0…w × 0…h, the same rectangle for every
panel): a ×2.5 result of 160×160 pixels is drawn scaled by w/160, so zoom, pan and the loupe map
the same anatomy in every panel whatever its pixel count. Display is nearest-neighbour
(``Qt.FastTransformation``, no smooth pixmap hint). Zoom, pan, the measurement, the loupe and the
display window belong to the :class:`~app.ui.panels.ComparisonView` that owns the panel; the
panel forwards its mouse and wheel to it and paints what it says (:mod:`app.ui.overlays`).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import QPoint, QPointF, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFontMetrics, QPainter, QPixmap, QTransform
from PyQt5.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from app import uncertainty_view as uview
from app.formatting import scale_bar

from .annotation_layer import CLICK_SLOP, PICK_PX, AnnotationTips
from .imaging import draw_scale_bar, scale_bar_box
from .navigation import SCROLL_KEYS, wheel_slices
from .overlays import (
    caption_box,
    caption_width,
    draw_caption,
    draw_colour_bar,
    draw_distance,
    draw_loupe,
    overlay_font,
)
from .panel_data import (
    VALUE_TITLES,
    PanelData,
    caption_line_limit,
    caption_variants,
    fit_caption,
)

if TYPE_CHECKING:
    from .panels import ComparisonView


class PanelView(AnnotationTips, QGraphicsView):
    """One synchronised panel (zoom/pan forwarded to the :class:`ComparisonView`)."""

    hovered = pyqtSignal(object)          # scene QPointF or None
    valueAt = pyqtSignal(object)          # (title, col, row, value) or None
    windowDrag = pyqtSignal(object)       # ("start"|"move"|"end", dx, dy)
    contextMenuAt = pyqtSignal(str, QPoint)

    def __init__(self, owner: ComparisonView, data: PanelData) -> None:
        super().__init__()
        self._owner = owner
        self.data = data
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.FastTransformation)
        self.scene().addItem(self._item)
        ew, eh = data.extent
        m = max(ew, eh)
        self.setSceneRect(QRectF(-m, -m, ew + 2 * m, eh + 2 * m))
        self._display_shape = data.pixels.shape[:2]
        self._message = ""
        self._drag: dict | None = None
        self.painted_labels: list = []  # (annotation, its label's rectangle) painted last
        self.setRenderHint(QPainter.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.FullViewportUpdate)  # fixed overlays
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QColor(0, 0, 0))
        self.setFrameShape(QFrame.NoFrame)
        self.setMouseTracking(True)
        self.setToolTip("Double-click: this panel fills the comparison area (double-click "
                        "again or Esc: every panel); Ctrl+drag measures a distance")
        self.setMinimumSize(80, 60)
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)

    # -- content ---------------------------------------------------------------------------
    def set_pixmap(self, pixmap: QPixmap, shape: tuple[int, int], message: str = "") -> None:
        """Show ``pixmap`` (of an array of ``shape``) stretched over the panel's extent."""
        self._display_shape = shape
        self._message = message
        self._item.setPixmap(pixmap)
        ew, eh = self.data.extent
        self._item.setTransform(QTransform.fromScale(ew / max(pixmap.width(), 1),
                                                                 eh / max(pixmap.height(), 1)))
        self.viewport().update()

    def pixmap(self) -> QPixmap:
        """What the panel shows (the image, or the map of a derived view)."""
        return self._item.pixmap()

    def message(self) -> str:
        """The text shown instead of a map the view does not apply to ("Baseline",
        "Uncertainty applies to computed results"); "" where it applies."""
        return self._message

    def transformation_mode(self) -> Qt.TransformationMode:
        """How the pixmap is scaled on screen (``Qt.FastTransformation``: nearest neighbour)."""
        return self._item.transformationMode()

    def image_rect(self) -> QRectF:
        ew, eh = self.data.extent
        return QRectF(0, 0, ew, eh)

    def zoom(self) -> float:
        return float(self.transform().m11())

    def scene_center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    # -- sync ------------------------------------------------------------------------------
    def _scrolled(self, _value: int) -> None:
        self._owner.sync_from(self)

    def wheelEvent(self, event) -> None:
        """Ctrl + wheel zooms every panel (the wheel alone pages slices, as on the image)."""
        steps = event.angleDelta().y() / 120.0
        owner = self._owner
        if steps and (owner.wheel_zooms or event.modifiers() & Qt.ControlModifier):
            owner.zoom_view(self, 1.25 ** steps, event.pos())
        elif steps:
            owner.wheel_rest = wheel_slices(owner.wheel_rest + steps, owner.sliceStepRequested)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._owner.view_resized(self)

    def drawing_annotation(self) -> bool:
        return self._owner.annotations.drawing()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt)
        if event.key() in SCROLL_KEYS:  # never scroll the result out of the panel
            event.accept()
            return
        if event.key() == Qt.Key_Escape and self._owner.cancel_drawing():
            event.accept()
            return
        if event.key() == Qt.Key_Escape and self._owner.measurement() is not None:
            self._owner.clear_measurement()
            event.accept()
            return
        if event.key() == Qt.Key_Escape and self._owner.focused():
            self._owner.set_focus(None)
            event.accept()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and event.modifiers() & Qt.ControlModifier:
            start = self.mapToScene(event.pos())  # Ctrl+drag measures (as on the image)
            self._drag = {"mode": "measure", "start": start}
            self._owner.set_measurement(self.data.key, start, start, final=False)
        elif event.button() == Qt.LeftButton and self._owner.annotation_press(
                self, self.mapToScene(event.pos()), event.pos()):
            self._drag = {"mode": "annotate"}
        elif event.button() in (Qt.LeftButton, Qt.MiddleButton):
            self._drag = {"mode": "pan", "last": event.pos(), "start": event.pos()}
            self.viewport().setCursor(Qt.ClosedHandCursor)
        elif event.button() == Qt.RightButton:
            self._drag = {"mode": "window", "start": event.pos(), "moved": False}
            self.windowDrag.emit(("start", 0, 0))
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        sp = self.mapToScene(event.pos())
        self._drag_to(event.pos())
        self._owner.annotation_move(self, sp)
        inside = self.image_rect().contains(sp)
        self.hovered.emit(sp if inside else None)
        self.valueAt.emit(self.value_at(sp) if inside else None)
        event.accept()

    def _drag_to(self, pos: QPoint) -> None:
        d = self._drag
        if d and d["mode"] == "measure":
            self._owner.set_measurement(self.data.key, d["start"], self.mapToScene(pos),
                                        final=False)
        elif d and d["mode"] == "pan":
            delta = pos - d["last"]
            d["last"] = pos
            if not delta.isNull():
                h, v = self.horizontalScrollBar(), self.verticalScrollBar()
                self._owner.user_zoomed()
                h.setValue(h.value() - delta.x())
                v.setValue(v.value() - delta.y())
        elif d and d["mode"] == "window":
            delta = pos - d["start"]
            if delta.manhattanLength() > 2:
                d["moved"] = True
            if d["moved"]:
                self.windowDrag.emit(("move", delta.x(), delta.y()))

    def mouseReleaseEvent(self, event) -> None:
        self._drag_to(event.pos())
        d, self._drag = self._drag, None
        if d and d["mode"] == "annotate":
            self._owner.annotation_release(self, self.mapToScene(event.pos()), event.pos())
        elif (d and d["mode"] == "pan" and event.button() == Qt.LeftButton
              and (event.pos() - d["start"]).manhattanLength() <= CLICK_SLOP):
            self._owner.panel_clicked(self, self.mapToScene(event.pos()))
        if d and d["mode"] == "measure":
            m = self._owner.measurement()
            if m is not None:
                self._owner.set_measurement(m[0], m[1], m[2], final=True)
        self.viewport().setCursor(Qt.ArrowCursor)
        if d and d["mode"] == "window" and not d["moved"]:
            self.contextMenuAt.emit(self.data.key, self.viewport().mapToGlobal(event.pos()))
        elif d and d["mode"] == "window":
            self.windowDrag.emit(("end", 0, 0))
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:
        """Focus mode: this panel alone fills the comparison area; again: every panel."""
        if event.button() == Qt.LeftButton:
            self._owner.toggle_focus(self.data.key)
        else:
            self._owner.fit_all()
        event.accept()

    def contextMenuEvent(self, event) -> None:
        event.accept()

    def leaveEvent(self, event) -> None:
        self.hovered.emit(None)
        self.valueAt.emit(None)
        super().leaveEvent(event)

    def value_at(self, sp: QPointF) -> tuple[str, int, int, Any] | None:
        """(title, col, row, value) of the pixel under a scene point of what the panel shows:
        the result's value in the Image view, the shown map's in the others (the difference
        to bicubic — title "RMISR-BL − bicubic" —, the edge map, the residual, the computed
        uncertainty); the result's value where the view does not apply to the panel."""
        mode = self._owner.mode()
        shown = self._owner.derived(self.data, mode) if mode != "image" else None
        arr, title = self.data.pixels, self.data.title
        if shown is not None:
            arr, title = shown, f"{self.data.title} {VALUE_TITLES[mode]}"
        h, w = arr.shape[:2]
        ew, eh = self.data.extent
        col = int(math.floor(sp.x() * w / ew))
        row = int(math.floor(sp.y() * h / eh))
        if 0 <= col < w and 0 <= row < h:
            return title, col, row, arr[row, col]
        return None

    def px_per_mm(self) -> float | None:
        """Screen pixels per millimetre at the panel's zoom: the scene's unit is one source
        pixel (the result's pixels are the source's spacing ÷ the scale); None without a
        pixel spacing."""
        spacing = self._owner.spacing()
        if spacing is None or not spacing[1] or spacing[1] <= 0:
            return None
        return self.zoom() / float(spacing[1])

    def scale_bar(self) -> tuple[float, float, str] | None:
        """The scale bar drawn at the bottom left: (mm, screen px, label), or None."""
        return scale_bar(self.px_per_mm() or 0.0, self.viewport().width() * 0.25)

    # -- overlays --------------------------------------------------------------------------
    def overlay_text(self) -> str | None:
        """The panel's caption in full (the panel paints a shorter form where it is narrow:
        :meth:`caption`); a derived view names itself first ("[Laplacian edges] SR ×2.5 … —
        computed, not acquired"); None without a caption (an acquired panel is never labelled
        as a computed map)."""
        variants = caption_variants(self.data, self._owner.mode())
        return variants[0] if variants else None

    def caption(self) -> list[str]:
        """The lines of the caption painted: the longest form of :meth:`overlay_text` that fits
        the panel's width on one line (two for a derived view's or a simulated input's); []
        without a caption."""
        mode = self._owner.mode()
        fm = QFontMetrics(overlay_font())
        return fit_caption(caption_variants(self.data, mode), caption_width(self.viewport().rect()),
                           fm.horizontalAdvance, caption_line_limit(self.data, mode))

    def caption_rect(self) -> QRectF | None:
        """The painted caption's box in viewport pixels, or None without a caption."""
        lines = self.caption()
        if not lines:
            return None
        fm = QFontMetrics(overlay_font())
        return QRectF(caption_box(fm, self.viewport().rect(), "\n".join(lines)))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt)
        painter.save()
        painter.resetTransform()
        vp = self.viewport().rect()
        font = overlay_font()
        painter.setFont(font)
        fm = QFontMetrics(font)
        caption = "\n".join(self.caption())
        texts = []  # what the annotations' labels keep clear of
        if caption:
            draw_caption(painter, fm, vp, caption)
            texts.append(QRectF(caption_box(fm, vp, caption)))
        if self._message:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(vp, Qt.AlignCenter | Qt.TextWordWrap, self._message)
        bar = self.colour_bar()
        if bar is not None:
            draw_colour_bar(painter, fm, *bar)
            texts.append(bar[0].adjusted(-6, -fm.height() - 4, 6, fm.height() + 4))
        drawn = None if self._message else draw_scale_bar(
            painter, vp, self.px_per_mm(), at_detector=self._owner.spacing_at_detector)
        if drawn is not None:
            texts.append(scale_bar_box(vp, drawn[1]))
        self.painted_labels = self._owner.annotations.paint(
            painter, fm, QRectF(vp), self._to_viewport,
            lambda a: self._owner.annotation_lines(a, self.data), texts)
        m = self._owner.measurement()
        if m is not None:  # every panel shows it: they share the physical positions
            draw_distance(painter, fm, vp, QPointF(self.mapFromScene(m[1])),
                          QPointF(self.mapFromScene(m[2])), self._owner.measurement_text())
        pos = self._owner.loupe_position()
        pm = self.pixmap()
        if pos is not None and not self._message and not pm.isNull():
            draw_loupe(painter, vp, pm, self.data.extent, pos, QPointF(self.mapFromScene(pos)),
                       self.zoom())
        painter.restore()

    def annotation_tip(self, pos: QPoint) -> str:
        """What the annotation (or label) under ``pos`` measures on this panel, in full; over
        a caption shortened to fit the panel, the caption in full."""
        sp = self.mapToScene(pos)
        source = (sp.x() + self.data.origin[0], sp.y() + self.data.origin[1])
        layer = self._owner.annotations
        a = layer.under(self.painted_labels, QPointF(pos), source,
                        PICK_PX / max(self.zoom(), 1e-6))
        if a is None:
            return self._caption_tip(pos)
        return layer.tip(a, self._owner.annotation_text(a, self.data), f"on {self.data.title}")

    def _caption_tip(self, pos: QPoint) -> str:
        full, rect = self.overlay_text(), self.caption_rect()
        if full and rect is not None and rect.contains(QPointF(pos)) \
                and " ".join(self.caption()) != full:
            return full
        return ""

    def _to_viewport(self, p: tuple[float, float]) -> QPointF:
        ox, oy = self.data.origin
        return QPointF(self.mapFromScene(QPointF(p[0] - ox, p[1] - oy)))

    def colour_bar(self) -> tuple[QRectF, str, list[tuple[float, str]]] | None:
        """(bar rectangle in viewport pixels, title, ticks) of the heat map's colour bar, drawn
        at the bottom left (the loupe takes the bottom right); None when the panel shows no
        heat map."""
        scale = self._owner.colour_scale()
        if scale is None or self._message or self._owner.derived(self.data, "uncertainty") is None:
            return None
        top, unit = scale
        vp = self.viewport().rect()
        width = max(60.0, min(180.0, 0.45 * vp.width()))
        rect = QRectF(10, vp.bottom() - 30, width, 9)
        title = "SD of 8 runs, smoothed" + (f" ({unit})" if unit else "")
        return rect, title, uview.colour_bar_ticks(top, unit)
