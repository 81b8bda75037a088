"""Comparison view: one panel per method plus the source ROI, synchronised by physical position.

Every panel's scene is in **source-pixel units** of the ROI (0…w × 0…h, the same rectangle for
every panel): a ×2.5 result of 160×160 pixels is drawn scaled by w/160, so zoom, pan and the loupe
map the same anatomy in every panel whatever its pixel count. Display is nearest-neighbour
(``Qt.FastTransformation``, no smooth pixmap hint), one display window for all panels.

Views (:data:`VIEW_MODES`): the image; the difference to bicubic (method − bicubic); the Laplacian
edge map (the product's operator); the data-consistency residual (result downscaled by
1/s − input), each on a symmetric grey scale shared by the panels; the computed uncertainty map
of a best-quality run (the spread of the 8 flipped/rotated runs, :mod:`app.uncertainty_view`) as a
heat image with a colour bar in the image's units. Each SR panel carries the permanent overlay
"SR ×s <method> — computed, not acquired".
"""
from __future__ import annotations

import math
from html import escape
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PyQt5.QtCore import QPoint, QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap, QTransform
from PyQt5.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import quality
from app import uncertainty_view as uview
from app.formatting import scale_bar

from .canvas import MEASURE_COLOUR, SCROLL_KEYS, keep_anchor, wheel_slices
from .imaging import blank_pixmap, draw_scale_bar, to_qimage, windowed_pixmap

VIEW_MODES = {
    "image": "Image",
    "difference": "Difference to bicubic",
    "edges": "Laplacian edges",
    "residual": "Consistency residual",
    "uncertainty": "Computed uncertainty map",
}
#: How the hover readout names the value of each derived view (after the panel's title).
VALUE_TITLES = {"difference": "− bicubic", "edges": "Laplacian", "residual": "residual",
                "uncertainty": "uncertainty (SD)"}
VIEW_SHORT = {"image": "Image", "difference": "Diff − bicubic", "edges": "Edges",
              "residual": "Residual", "uncertainty": "Uncertainty"}
VIEW_TIPS = {
    "image": "The images through the display window",
    "difference": "Each result minus the bicubic result (grey = equal; shared symmetric scale)",
    "edges": "Laplacian of each image (the operator of the paper's eqs. 6–8)",
    "residual": "Data-consistency residual: result downscaled by 1/s minus the input "
                "(grey = consistent)",
    "uncertainty": "Where the computed pixels can be trusted least: the per-pixel spread (SD) "
                   "of the 8 flipped/rotated runs of a “Best quality” run, as a heat map with "
                   "its colour bar in the image's units",
}
LOUPE_PX = 150
LOUPE_MAGNIFICATION = 3.0
OVERLAY_COLOUR = QColor(255, 210, 80)


def sr_overlay_text(scale: float, method: str, simulated: bool = False) -> str:
    """The label every computed panel carries: "SR ×2.5 RMISR-VP — computed, not acquired",
    plus "from a simulated LR input" when the input was the bicubic-reduced ROI (a test of the
    method, not a picture of the patient at higher resolution)."""
    from app.io import computed_label

    label = computed_label(scale, method)
    return f"{label} (from a simulated LR input)" if simulated else label


@dataclass
class PanelData:
    """What one comparison panel shows.

    Attributes:
        key: "source", "input", "reference" or the method name.
        title: header text ("RMISR-BL", "Source ROI (nearest)").
        pixels: full-range pixels (float32) of the panel.
        extent: (width, height) of the scene rectangle the pixels cover, in source pixels.
        kind: "source" (the ROI as acquired), "input" (simulated LR), "reference" (ground truth)
            or "sr" (a computed result).
        method: engine method name for "sr" panels.
        scale: the magnification of "sr" panels.
        seconds: runtime of "sr" panels.
        residual: data-consistency residual map (input grid), "sr" panels only.
        info: the engine's record of the run (``UpscaleInfo``), "sr" panels only.
        overlay: permanent overlay text (None: no overlay).
        uncertainty: the computed uncertainty map (2-D, the image's units) of a best-quality
            "sr" panel, else None.
    """

    key: str
    title: str
    pixels: np.ndarray
    extent: tuple[float, float]
    kind: str = "sr"
    method: str | None = None
    scale: float | None = None
    seconds: float | None = None
    residual: np.ndarray | None = field(default=None, repr=False)
    info: Any = None
    overlay: str | None = None
    uncertainty: np.ndarray | None = field(default=None, repr=False)

    @property
    def subtitle(self) -> str:
        h, w = self.pixels.shape[:2]
        parts = []
        if self.scale is not None:
            parts.append(f"×{self.scale:g}")
        if self.seconds is not None:
            parts.append(f"{self.seconds:.2f} s")
        parts.append(f"{w}×{h} px")
        return " · ".join(parts)


class PanelView(QGraphicsView):
    """One synchronised panel (zoom/pan forwarded to the :class:`ComparisonView`)."""

    hovered = pyqtSignal(object)          # scene QPointF or None
    valueAt = pyqtSignal(object)          # (title, col, row, value) or None
    windowDrag = pyqtSignal(object)       # ("start"|"move", dx, dy)
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
        return self._item.pixmap()

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

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt)
        if event.key() in SCROLL_KEYS:  # never scroll the result out of the panel
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
        elif event.button() in (Qt.LeftButton, Qt.MiddleButton):
            self._drag = {"mode": "pan", "last": event.pos()}
            self.viewport().setCursor(Qt.ClosedHandCursor)
        elif event.button() == Qt.RightButton:
            self._drag = {"mode": "window", "start": event.pos(), "moved": False}
            self.windowDrag.emit(("start", 0, 0))
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        sp = self.mapToScene(event.pos())
        self._drag_to(event.pos())
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
        if d and d["mode"] == "measure":
            m = self._owner.measurement()
            if m is not None:
                self._owner.set_measurement(m[0], m[1], m[2], final=True)
        self.viewport().setCursor(Qt.ArrowCursor)
        if d and d["mode"] == "window" and not d["moved"]:
            self.contextMenuAt.emit(self.data.key, self.viewport().mapToGlobal(event.pos()))
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
    def overlay_text(self) -> str:
        """The label drawn on the panel; a derived view names itself first ("[Laplacian
        edges] SR ×2.5 … — computed, not acquired")."""
        mode = self._owner.mode()
        if mode == "image" or (mode == "uncertainty" and self.data.kind != "sr"):
            return self.data.overlay  # an acquired panel is never labelled as a computed map
        return f"[{VIEW_MODES[mode]}] {self.data.overlay or self.data.title}"

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        painter.save()
        painter.resetTransform()
        vp = self.viewport().rect()
        font = QFont()
        font.setPointSizeF(8.5)
        painter.setFont(font)
        fm = QFontMetrics(font)
        overlay = self.overlay_text()
        if overlay:
            avail = vp.adjusted(4, 4, -4, -4)
            br = fm.boundingRect(avail, Qt.TextWordWrap, overlay)
            box = br.adjusted(-4, -2, 4, 2).translated(4, 2)
            painter.fillRect(box, QColor(0, 0, 0, 175))
            painter.setPen(OVERLAY_COLOUR)
            painter.drawText(box.adjusted(4, 2, -4, -2), Qt.TextWordWrap, overlay)
        if self._message:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(vp, Qt.AlignCenter | Qt.TextWordWrap, self._message)
        bar = self.colour_bar()
        if bar is not None:
            self._draw_colour_bar(painter, fm, *bar)
        if not self._message:
            draw_scale_bar(painter, vp, self.px_per_mm())
        m = self._owner.measurement()
        if m is not None:  # every panel shows it: they share the physical positions
            self._draw_measurement(painter, fm, m[1], m[2], self._owner.measurement_text())
        pos = self._owner.loupe_position()
        if pos is not None and not self._message:
            self._draw_loupe(painter, pos)
        painter.restore()

    def _draw_measurement(self, painter: QPainter, fm: QFontMetrics, a: QPointF, b: QPointF,
                          text: str) -> None:
        pa, pb = QPointF(self.mapFromScene(a)), QPointF(self.mapFromScene(b))
        painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
        painter.drawLine(pa, pb)
        painter.setPen(QPen(MEASURE_COLOUR, 1.5))
        painter.drawLine(pa, pb)
        for p in (pa, pb):
            painter.drawEllipse(p, 2.5, 2.5)
        if text:
            box = fm.boundingRect(text).adjusted(-3, -1, 3, 1)
            vp = self.viewport().rect()
            x = min(max(pb.x() + 6, 2.0), vp.width() - box.width() - 2)
            y = min(max(pb.y() - 6, box.height() + 2), vp.height() - 2)
            box.moveBottomLeft(QPoint(int(x), int(y)))
            painter.fillRect(box, QColor(0, 0, 0, 175))
            painter.setPen(MEASURE_COLOUR)
            painter.drawText(box, Qt.AlignCenter, text)

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
        title = "SD of 8 runs" + (f" ({unit})" if unit else "")
        return rect, title, uview.colour_bar_ticks(top, unit)

    def _draw_colour_bar(self, painter: QPainter, fm: QFontMetrics, rect: QRectF, title: str,
                         ticks: list[tuple[float, str]]) -> None:
        box = rect.adjusted(-6, -fm.height() - 4, 6, fm.height() + 4)
        painter.fillRect(box, QColor(0, 0, 0, 175))
        painter.drawImage(rect, to_qimage(uview.colour_bar(256)))
        painter.setPen(QColor(230, 230, 230))
        painter.drawText(QRectF(rect.left(), rect.top() - fm.height() - 2, box.width(),
                                fm.height()), Qt.AlignLeft | Qt.AlignVCenter, title)
        for f, text in ticks:
            x = rect.left() + f * rect.width()
            painter.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 2))
            tw = fm.horizontalAdvance(text)
            tx = min(max(x - tw / 2, box.left()), box.right() - tw)
            painter.drawText(QRectF(tx, rect.bottom() + 2, tw + 2, fm.height()),
                             Qt.AlignLeft | Qt.AlignTop, text)

    def _draw_loupe(self, painter: QPainter, sp: QPointF) -> None:
        pm = self._item.pixmap()
        if pm.isNull():
            return
        vp = self.viewport().rect()
        c = self.mapFromScene(sp)
        # a fixed place (bottom-right) so the loupe never hides the overlay label
        size = max(40.0, min(LOUPE_PX, 0.5 * min(vp.width(), vp.height())))
        x = vp.right() - size - 6
        y = vp.bottom() - size - 6
        zoom = max(self.zoom(), 1e-6)
        half = size / 2.0 / (zoom * LOUPE_MAGNIFICATION)  # scene units shown around the spot
        ew, eh = self.data.extent
        sx, sy = pm.width() / ew, pm.height() / eh
        src = QRectF((sp.x() - half) * sx, (sp.y() - half) * sy, 2 * half * sx, 2 * half * sy)
        target = QRectF(x, y, size, size)
        painter.fillRect(target, QColor(0, 0, 0))
        painter.drawPixmap(target, pm, src)
        painter.setPen(QPen(QColor(0, 200, 255), 1.5))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(target)
        # the spot itself, in the panel and at the loupe centre
        for centre, r in ((QPointF(c), 6.0), (target.center(), 5.0)):
            x, y = centre.x(), centre.y()
            painter.drawLine(QPointF(x - r, y), QPointF(x + r, y))
            painter.drawLine(QPointF(x, y - r), QPointF(x, y + r))


class ElidedLabel(QLabel):
    """One line that ends in "…" when it is narrower than its text; its minimum width never
    follows the text (a long title cannot widen the window). :meth:`text` is the full text,
    :meth:`shown_text` what is drawn; the tooltip is the full text unless ``tooltip`` is False.
    ``suffix`` (e.g. " — outdated") is drawn after a bold title in ``suffix_colour``."""

    MIN_WIDTH = 24

    def __init__(self, text: str = "", tooltip: bool = True, bold: bool = False) -> None:
        super().__init__()
        self._full = ""
        self._suffix = ""
        self._suffix_colour = "#ff9f40"
        self._auto_tip = tooltip
        self._bold = bold
        if bold:
            font = self.font()
            font.setBold(True)
            self.setFont(font)
        self.setTextFormat(Qt.RichText if bold else Qt.PlainText)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        self.setText(text)

    @property
    def full_text(self) -> str:
        return self._full + self._suffix

    def text(self) -> str:  # noqa: D102 — the full text, not the elided one
        return self.full_text

    def shown_text(self) -> str:
        return super().text()

    def setText(self, text: str, suffix: str = "") -> None:  # noqa: N802 (Qt)
        self._full = str(text)
        self._suffix = str(suffix)
        if self._auto_tip:
            self.setToolTip(self.full_text)
        self._elide()
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        fm = self.fontMetrics()
        m = self.contentsMargins()
        return QSize(fm.horizontalAdvance(self.full_text) + 4 + m.left() + m.right(),
                     fm.height() + m.top() + m.bottom())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(self.MIN_WIDTH, self.sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 1)
        shown = self.fontMetrics().elidedText(self.full_text, Qt.ElideRight, width)
        if not self._bold:
            super().setText(shown)
            return
        head = shown[:len(self._full)]
        tail = shown[len(self._full):] if shown.startswith(self._full) else ""
        html = f"<b>{escape(head)}</b>"
        if tail:
            html += f"<span style='color:{self._suffix_colour}'>{escape(tail)}</span>"
        super().setText(html)


class PanelWidget(QFrame):
    """Header (title, scale · size · runtime, export button) above a :class:`PanelView`."""

    exportRequested = pyqtSignal(str)

    def __init__(self, owner: ComparisonView, data: PanelData) -> None:
        super().__init__()
        self.data = data
        self.setObjectName("panel")
        self.setFrameShape(QFrame.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(1)
        head = QHBoxLayout()
        head.setContentsMargins(4, 0, 0, 0)
        head.setSpacing(6)
        self.title = ElidedLabel(data.title, tooltip=False, bold=True)
        self.title.setObjectName("panelTitle")
        self.title.setToolTip(data.title)
        self.subtitle = ElidedLabel(data.subtitle)
        self.subtitle.setObjectName("panelSubtitle")
        self.subtitle.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        export = QToolButton()
        export.setIcon(self.style().standardIcon(QStyle.SP_DialogSaveButton))
        export.setToolTip(f"Export the {data.title} panel (PNG, 16-bit TIFF, derived DICOM)")
        export.setAutoRaise(True)
        export.clicked.connect(lambda: self.exportRequested.emit(self.data.key))
        self.export_button = export
        head.addWidget(self.title)
        head.addWidget(self.subtitle, 1)
        head.addWidget(export)
        lay.addLayout(head)
        self.view = PanelView(owner, data)
        lay.addWidget(self.view, 1)

    def set_stale(self, reason: str | None) -> None:
        """Mark the header when the inputs changed since this result was computed."""
        if reason:
            self.title.setText(self.data.title, " — outdated")
            self.title.setToolTip(f"{self.data.title} — outdated: {reason}: press Super-resolve "
                                  "(Ctrl+R) for a result of the current settings")
        else:
            self.title.setText(self.data.title)
            self.title.setToolTip(self.data.title)


class ComparisonView(QWidget):
    """Grid of synchronised panels with a shared window, view mode and loupe."""

    exportRequested = pyqtSignal(str)
    windowDragged = pyqtSignal(object)     # forwarded PanelView.windowDrag
    valueAt = pyqtSignal(object)           # (title, col, row, value) or None
    contextMenuAt = pyqtSignal(str, QPoint)
    sliceStepRequested = pyqtSignal(int)   # the wheel over a panel: +n slices on, −n back
    focusChanged = pyqtSignal(str)         # the panel filling the area ("": every panel)
    measured = pyqtSignal(object)          # a finished measurement's text, or None (cleared)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wheel_zooms = False  # True: the wheel zooms (the viewer's earlier convention)
        self.wheel_rest = 0.0
        self._panels: list[PanelWidget] = []
        self._baseline: np.ndarray | None = None  # bicubic, for the difference view
        self._window = (0.5, 1.0)
        self._invert = False
        self._voi_function = "LINEAR"
        self._voi_lut: Any = None
        self._mode = "image"
        self._loupe_enabled = False
        self._loupe_pos: QPointF | None = None
        self._syncing = False
        self._fit = True
        self._cache: dict[tuple[str, str], np.ndarray | None] = {}
        self._mode_windows: dict[str, tuple[float, float]] = {}
        self._unit = ""
        self._spacing: tuple[float, float] | None = None  # the source's (row, column) mm
        self._measure: tuple[str, QPointF, QPointF] | None = None  # panel key, scene ends
        self._columns = 0
        self._layout_key: tuple[int, str | None] = (0, None)
        self._focus: str | None = None  # the panel that fills the area (focus mode)
        self._stale: str | None = None
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self._placeholder = QLabel("Draw a region of interest on the image, choose the scale and "
                                   "methods, then Super-resolve (Ctrl+R).\nThe results appear "
                                   "here side by side.")
        self._placeholder.setAlignment(Qt.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setObjectName("placeholder")
        self._grid.addWidget(self._placeholder, 0, 0)

    # -- content ---------------------------------------------------------------------------
    def panels(self) -> list[PanelWidget]:
        return list(self._panels)

    def panel(self, key: str) -> PanelWidget | None:
        return next((p for p in self._panels if p.data.key == key), None)

    def panel_data(self) -> list[PanelData]:
        return [p.data for p in self._panels]

    def clear(self) -> None:
        for p in self._panels:
            self._grid.removeWidget(p)
            p.setParent(None)
            p.deleteLater()
        self._panels = []
        self._focus = None
        self._measure = None
        self._baseline = None
        self._cache.clear()
        self._mode_windows.clear()
        self._loupe_pos = None
        self._placeholder.show()
        self._grid.addWidget(self._placeholder, 0, 0)

    def set_panels(self, panels: list[PanelData], baseline: np.ndarray | None = None,
                   unit: str = "") -> None:
        """Replace the panels (grid shaped to give each panel the largest image); ``baseline``
        is the bicubic result the difference view subtracts when no Bicubic panel is shown;
        ``unit`` the pixels' unit ("HU"), for the uncertainty map's colour bar."""
        focus = self._focus  # a new run of the same methods keeps the focused panel
        self.clear()
        self._stale = None
        self._baseline = baseline
        self._unit = str(unit or "")
        if not panels:
            return
        self._placeholder.hide()
        self._grid.removeWidget(self._placeholder)
        for data in panels:
            w = PanelWidget(self, data)
            w.exportRequested.connect(self.exportRequested)
            w.view.hovered.connect(self._hovered)
            w.view.valueAt.connect(self.valueAt)
            w.view.windowDrag.connect(self.windowDragged)
            w.view.contextMenuAt.connect(self.contextMenuAt)
            self._panels.append(w)
        self._columns = 0
        if any(d.key == focus for d in panels):
            self._focus = focus
        self._layout_grid()
        self._render_all()
        self._fit = True
        self.fit_all()

    def set_stale(self, reason: str | None) -> None:
        """Mark every panel as outdated (``reason``: what changed since the run) or current."""
        self._stale = reason or None
        for p in self._panels:
            p.set_stale(self._stale)

    def stale(self) -> str | None:
        return self._stale

    def set_spacing(self, spacing: tuple[float, float] | None) -> None:
        """The source's pixel spacing (row, column) in mm, for the panels' scale bars (None:
        none drawn)."""
        self._spacing = (float(spacing[0]), float(spacing[1])) if spacing else None
        self._update_views()

    def spacing(self) -> tuple[float, float] | None:
        return self._spacing

    # -- measuring -------------------------------------------------------------------------
    def set_measurement(self, key: str, a: QPointF, b: QPointF, final: bool = True) -> None:
        """A distance from ``a`` to ``b`` (scene points: source pixels) measured on panel
        ``key``; shown on every panel; ``final`` (the mouse released) emits ``measured``."""
        self._measure = (key, QPointF(a), QPointF(b))
        self._update_views()
        if final:
            self.measured.emit(self.measurement_text())

    def measurement(self) -> tuple[str, QPointF, QPointF] | None:
        return self._measure

    def clear_measurement(self) -> None:
        if self._measure is not None:
            self._measure = None
            self._update_views()
            self.measured.emit(None)

    def measurement_text(self) -> str:
        """The distance in the measured panel's physical units: mm from the source's spacing
        (a result pixel is the spacing ÷ the scale), with the length in that panel's own
        pixels ("12.3 mm · 36.5 px of RMISR-BL"); in its pixels alone without a spacing."""
        if self._measure is None:
            return ""
        key, a, b = self._measure
        panel = self.panel(key)
        dx, dy = b.x() - a.x(), b.y() - a.y()
        px = ""
        if panel is not None:
            h, w = panel.data.pixels.shape[:2]
            ew, eh = panel.data.extent
            px = f"{math.hypot(dx * w / ew, dy * h / eh):.1f} px of {panel.data.title}"
        if self._spacing is None:
            return px
        mm = math.hypot(dx * self._spacing[1], dy * self._spacing[0])
        return f"{mm:.1f} mm" + (f" · {px}" if px else "")

    # -- focus mode ------------------------------------------------------------------------
    def focused(self) -> str | None:
        """The key of the panel filling the comparison area, or None (every panel shown)."""
        return self._focus

    def set_focus(self, key: str | None) -> None:
        """Show panel ``key`` alone, fitted to the whole comparison area (None: every panel,
        in their grid). Zoom, pan and window stay shared with the hidden panels."""
        if key is not None and self.panel(key) is None:
            key = None
        if key == self._focus:
            return
        self._focus = key
        self._layout_grid()
        if self._fit:
            self.fit_all()
        self.focusChanged.emit(key or "")

    def toggle_focus(self, key: str) -> None:
        """Double-click: focus ``key``, or return to every panel when it is focused already."""
        self.set_focus(None if self._focus == key else key)

    def shown_panels(self) -> list[PanelWidget]:
        """The panels on screen: the focused one alone, else all."""
        if self._focus is None:
            return list(self._panels)
        return [p for p in self._panels if p.data.key == self._focus]

    def actual_pixels(self) -> None:
        """1:1: one result pixel on one screen pixel (of the focused panel, else the first
        super-resolved one), about the current centre; every panel follows."""
        shown = self.shown_panels()
        ref = next((p for p in shown if p.data.kind == "sr"), shown[0] if shown else None)
        if ref is None:
            return
        ew, _ = ref.data.extent
        w = ref.data.pixels.shape[1]
        z = w / max(ew, 1e-9) / max(ref.view.devicePixelRatioF(), 1e-3)
        centre = ref.view.scene_center()
        self._fit = False
        self._syncing = True
        try:
            ref.view.resetTransform()
            ref.view.scale(z, z)
            ref.view.centerOn(centre)
        finally:
            self._syncing = False
        self.sync_from(ref.view)

    def best_columns(self, width: int | None = None, height: int | None = None) -> int:
        """Columns that maximise the displayed size of the ROI in every panel shown."""
        n = len(self.shown_panels())
        if n == 0:
            return 1
        width = width if width is not None else self.width()
        height = height if height is not None else self.height()
        ew, eh = self._panels[0].data.extent
        best, best_zoom = 1, -1.0
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            cell_w = width / cols - 8
            cell_h = height / rows - 34  # header and frame
            zoom = min(cell_w / ew, cell_h / eh)
            if zoom > best_zoom + 1e-9:
                best, best_zoom = cols, zoom
        return best

    def _layout_grid(self) -> None:
        cols = self.best_columns()
        if cols == self._columns and self._layout_key == (cols, self._focus):
            return
        self._columns = cols
        self._layout_key = (cols, self._focus)
        for p in self._panels:
            self._grid.removeWidget(p)
        shown = self.shown_panels()
        n = len(shown)
        rows = math.ceil(n / cols) if n else 1
        for i, p in enumerate(shown):
            self._grid.addWidget(p, i // cols, i % cols)
        for p in self._panels:
            if p.parent() is not self:  # never a top-level window, even while hidden
                p.setParent(self)
            p.setVisible(p in shown)
        for c in range(len(self._panels) + 2):
            self._grid.setColumnStretch(c, 1 if c < cols else 0)
        for r in range(len(self._panels) + 2):
            self._grid.setRowStretch(r, 1 if r < rows else 0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._panels:
            self._layout_grid()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        """One panel's minimum, whatever the number of panels: the grid takes fewer columns
        when narrower, so the results never push the window (and the controls) wider."""
        if not self._panels:
            return QSize(120, 80)
        hint = self._panels[0].minimumSizeHint()
        return QSize(hint.width(), hint.height())

    # -- display ---------------------------------------------------------------------------
    def set_window(self, center: float, width: float, invert: bool | None = None,
                   function: str | None = None, lut: Any = False) -> None:
        """Show the panels through (centre, width); ``invert``, ``function`` (the source's VOI
        LUT Function) and ``lut`` (its VOI LUT or None) stay as they were when not given."""
        self._window = (float(center), max(float(width), 1e-6))
        if invert is not None:
            self._invert = bool(invert)
        if function is not None:
            self._voi_function = function
        if lut is not False:
            self._voi_lut = lut
        if self._mode == "image":
            self._render_all()

    def window(self) -> tuple[float, float]:
        return self._window

    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in VIEW_MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        self._mode = mode
        self._render_all()

    def derived(self, data: PanelData, mode: str) -> np.ndarray | None:
        """The array a panel shows in ``mode`` (None: not applicable to this panel)."""
        key = (data.key, mode)
        if key not in self._cache:
            self._cache[key] = self._compute(data, mode)
        return self._cache[key]

    def _compute(self, data: PanelData, mode: str) -> np.ndarray | None:
        if mode == "image":
            return data.pixels
        if mode == "difference":
            base = next((p.data.pixels for p in self._panels if p.data.key == "bicubic"),
                        self._baseline)
            if base is None or data.key == "bicubic" or data.kind not in ("sr", "reference"):
                return None
            return quality.difference_map(data.pixels, base)
        if mode == "edges":
            return quality.edge_map(data.pixels)
        if mode == "residual":
            return data.residual
        if mode == "uncertainty":
            return data.uncertainty if data.kind == "sr" else None
        raise ValueError(mode)

    def _not_applicable(self, data: PanelData) -> str:
        if self._mode == "difference":
            if self._baseline is None and not any(p.data.key == "bicubic"
                                                  for p in self._panels):
                return "Difference view needs a Bicubic result"
            return "Baseline" if data.key == "bicubic" else "Not a result: no difference"
        if self._mode == "residual":
            return "Residual applies to computed results"
        if self._mode == "uncertainty":
            return (uview.NEEDS_BEST_QUALITY if data.kind == "sr"
                    else "Uncertainty applies to computed results")
        return "Not applicable"

    def display_window(self) -> tuple[float, float]:
        """The window of the current view mode (symmetric around 0 for derived views)."""
        if self._mode == "image":
            return self._window
        if self._mode == "uncertainty":
            top = self.uncertainty_top()
            return top / 2.0, top
        if self._mode not in self._mode_windows:
            arrays = [self.derived(p.data, self._mode) for p in self._panels
                      if p.data.kind == "sr" or self._mode == "difference"]
            self._mode_windows[self._mode] = quality.symmetric_window(arrays)
        return self._mode_windows[self._mode]

    def render_panel(self, data: PanelData) -> tuple[QPixmap, str]:
        """(pixmap, message) of a panel in the current mode and window."""
        arr = self.derived(data, self._mode)
        if arr is None:
            h, w = data.pixels.shape[:2]
            return blank_pixmap(w, h), self._not_applicable(data)
        c, w = self.display_window()
        if self._mode == "uncertainty":  # a heat map on 0 … top, the colour bar's scale
            return QPixmap.fromImage(to_qimage(uview.colourize(arr, w))), ""
        if self._mode != "image":
            return windowed_pixmap(arr, c, w), ""
        return windowed_pixmap(arr, c, w, self._invert, self._voi_function, self._voi_lut), ""

    def uncertainty_top(self) -> float:
        """The top of the uncertainty maps' shared colour scale."""
        if "uncertainty" not in self._mode_windows:
            top = uview.display_range(self.derived(p.data, "uncertainty") for p in self._panels)
            self._mode_windows["uncertainty"] = (top / 2.0, top)
        return self._mode_windows["uncertainty"][1]

    def unit(self) -> str:
        return self._unit

    def colour_scale(self) -> tuple[float, str] | None:
        """(top of the scale, unit) of the heat map shown now, or None (no heat map shown)."""
        if self._mode != "uncertainty" or not any(
                self.derived(p.data, "uncertainty") is not None for p in self._panels):
            return None
        return self.uncertainty_top(), self._unit

    def _render_all(self) -> None:
        for p in self._panels:
            pm, msg = self.render_panel(p.data)
            arr = self.derived(p.data, self._mode)
            shape = (arr.shape[:2] if arr is not None else p.data.pixels.shape[:2])
            p.view.set_pixmap(pm, shape, msg)

    # -- loupe -----------------------------------------------------------------------------
    def set_loupe(self, enabled: bool) -> None:
        self._loupe_enabled = bool(enabled)
        if not enabled:
            self._loupe_pos = None
        self._update_views()

    def loupe_enabled(self) -> bool:
        return self._loupe_enabled

    def loupe_position(self) -> QPointF | None:
        return self._loupe_pos if self._loupe_enabled else None

    def set_loupe_position(self, pos: QPointF | None) -> None:
        self._loupe_pos = pos
        self._update_views()

    def _hovered(self, pos: QPointF | None) -> None:
        if self._loupe_enabled:
            self.set_loupe_position(pos)

    def _update_views(self) -> None:
        for p in self._panels:
            p.view.viewport().update()

    # -- synchronised zoom / pan -----------------------------------------------------------
    def user_zoomed(self) -> None:
        self._fit = False

    def zoom_view(self, view: PanelView, factor: float, anchor: QPoint | None = None) -> None:
        """Zoom one panel about ``anchor`` (viewport px) and give the others its transform."""
        z = view.zoom()
        factor = min(max(factor, 0.05 / z), 128.0 / z)
        self._fit = False
        self._syncing = True
        try:
            keep_anchor(view, factor, anchor)
        finally:
            self._syncing = False
        self.sync_from(view)

    def sync_from(self, view: PanelView) -> None:
        """Give every other panel the transform and scene centre of ``view``."""
        if self._syncing:
            return
        self._syncing = True
        try:
            t = view.transform()
            centre = view.scene_center()
            for p in self._panels:
                if p.view is not view:
                    p.view.setTransform(t)
                    p.view.centerOn(centre)
        finally:
            self._syncing = False
        self._update_views()

    def fit_all(self) -> None:
        """Fit the ROI in every panel (one transform for all: the smallest fitting zoom)."""
        if not self._panels:
            return
        self._fit = True
        self._syncing = True
        try:
            zooms = []
            for p in self.shown_panels():
                vp = p.view.viewport().rect()
                ew, eh = p.data.extent
                zooms.append(min((vp.width() - 4) / ew, (vp.height() - 4) / eh))
            z = max(min(zooms), 1e-3)
            for p in self._panels:
                p.view.resetTransform()
                p.view.scale(z, z)
                p.view.centerOn(p.view.image_rect().center())
        finally:
            self._syncing = False
        self._update_views()

    def view_resized(self, view: PanelView) -> None:
        if self._fit:
            self.fit_all()

    def zoom(self) -> float:
        return self._panels[0].view.zoom() if self._panels else 1.0

    def scene_center(self) -> QPointF | None:
        return self._panels[0].view.scene_center() if self._panels else None
