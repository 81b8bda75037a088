"""Comparison view: one panel per method plus the source ROI, synchronised by physical position.

Every panel (:class:`~app.ui.panel_view.PanelView`) shows the same rectangle of the source in
source-pixel units, so one transform serves all: zoom, pan, focus mode, the loupe and a distance
measurement are shared, and so is one display window. The view mode (:data:`VIEW_MODES`) picks
what each panel shows: the image, or a map derived from it by :mod:`app.quality` (difference to
bicubic, Laplacian edges, consistency residual) or the computed uncertainty map of a best-quality
run, on a scale shared by the panels.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PyQt5.QtCore import QPoint, QPointF, QSize, Qt, pyqtSignal
from PyQt5.QtGui import QPixmap
from PyQt5.QtWidgets import (
    QFrame,
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
from app.annotations import Annotation

from .annotation_layer import AnnotationLayer
from .elided_label import ElidedLabel
from .imaging import blank_pixmap, to_qimage, windowed_pixmap
from .navigation import fit_zoom, keep_anchor, pixel_aspect, set_zoom
from .panel_annotations import PanelAnnotations
from .panel_data import VIEW_MODES, PanelData
from .panel_view import PanelView


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


class ComparisonView(PanelAnnotations, QWidget):
    """Grid of synchronised panels with a shared window, view mode and loupe."""

    exportRequested = pyqtSignal(str)
    windowDragged = pyqtSignal(object)     # forwarded PanelView.windowDrag
    valueAt = pyqtSignal(object)           # (title, col, row, value) or None
    contextMenuAt = pyqtSignal(str, QPoint)
    sliceStepRequested = pyqtSignal(int)   # the wheel over a panel: +n slices on, −n back
    focusChanged = pyqtSignal(str)         # the panel filling the area ("": every panel)
    measured = pyqtSignal(object)          # a finished measurement's text, or None (cleared)
    annotationDrawn = pyqtSignal(object)   # a finished Annotation (source coordinates)
    clickedAt = pyqtSignal(float, float, float)  # a plain click: source x, y, pick tolerance

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
        self.spacing_at_detector = False  # that spacing is ImagerPixelSpacing
        self._measure: tuple[str, QPointF, QPointF] | None = None  # panel key, scene ends
        self._columns = 0
        self._layout_key: tuple[int, str | None] = (0, None)
        self._focus: str | None = None  # the panel that fills the area (focus mode)
        self._stale: str | None = None
        self.annotations = AnnotationLayer()  # shared by the panels: they show one anatomy
        self._texts: dict[tuple[Annotation, str], Any] = {}
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
        self._texts.clear()
        self.annotations.cancel()
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

    def set_spacing(self, spacing: tuple[float, float] | None, at_detector: bool = False
                    ) -> None:
        """The source's pixel spacing (row, column) in mm, for the panels' scale bars (None:
        none drawn) and their pixels' aspect (set before :meth:`set_panels`, whose fit uses
        it); ``at_detector``: it is ImagerPixelSpacing, and the bars say so."""
        self.spacing_at_detector = bool(at_detector)
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
        try:  # one result pixel per screen pixel across; down, as tall as the spacing says
            set_zoom(ref.view, z, pixel_aspect(self._spacing))
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
            aspect = pixel_aspect(self._spacing)  # as the image is shown: not stretched
            zooms = [fit_zoom(p.view, *p.data.extent, aspect) for p in self.shown_panels()]
            z = max(min(zooms), 1e-3)
            for p in self._panels:
                set_zoom(p.view, z, aspect)
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
