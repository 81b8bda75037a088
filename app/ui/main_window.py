"""The main window: source canvas, comparison panels, quality table, controls dock.

``MainWindow(resolver=None, settings=None, weights_dir=None, device=None)`` — a SuperResolver and
a QSettings can be injected (tests, self-test); otherwise the engine is created in a background
thread after the window appears (torch takes seconds to import) and settings go to
``QSettings("RMISR", "RMISR Viewer")``.
"""
from __future__ import annotations

import logging
import dataclasses
import math
from html import escape
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PyQt5.QtCore import QEvent, QObject, QPoint, QRect, QSettings, Qt, QTimer
from PyQt5.QtGui import QKeyEvent, QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QActionGroup,
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.io import (
    SAMPLE_PATH,
    SCALE_MAX,
    SCALE_MIN,
    DerivedSeries,
    ImageData,
    ImageIOError,
    corner_texts,
    crop_roi,
    load_window_presets,
    orientation_labels,
    output_size,
    presets_for_modality,
    read_image,
    roi_statistics,
)
from app.batch import output_name
from app.formatting import format_area_mm2, format_number, format_window
from app.result_cache import ResultCache, result_key, slice_id
from app.uncertainty_view import uncertainty_map
from app.io.padding import engine_pixels
from app.io.series import stack_of
from app.progress import RunProgress

from . import export as export_mod
from .canvas import SCROLL_KEYS, ImageCanvas
from .controls import METHOD_LABELS, ControlsPanel
from .diagnostics import diagnostics_text
from .panels import VIEW_MODES, ComparisonView, ElidedLabel, PanelData, sr_overlay_text
from .quality_table import QualityTable
from .notes import NotesDialog
from .series_picker import SeriesPickerDialog
from .slices import (SliceRangeChoice, SliceRangeDialog, SliceRangeResultDialog,
                     default_slice_method, slice_note_lines)
from .worker import (Engine, EngineLoader, FolderScan, JobRequest, JobResult, SeriesScan,
                     SliceRangeJob, SliceRangeRequest, SliceRangeResult, SuperResolveJob,
                     readable_error)

log = logging.getLogger(__name__)

APP_ORG, APP_NAME = "RMISR", "RMISR Viewer"
#: How often the progress bar and the time left are redrawn while a job runs (ms).
PROGRESS_MS = 200
MAX_RECENT = 8
DEFAULT_ROI = 96
#: A run whose results together exceed this many pixels asks first (≈ 0.2 GB as float32, several
#: times that with the quality maps and display copies; the engine refuses one result above
#: ``models.geometry.MAX_OUTPUT_PIXELS``).
CONFIRM_OUTPUT_PIXELS = 50_000_000
#: The window's size at its first start (logical pixels), reduced to what the screen offers.
START_SIZE = (1280, 800)
#: Room left for the window manager's frame (borders, title bar) when sizing to the screen.
FRAME_ALLOWANCE = (16, 40)
#: Keys and gestures of the image itself (not menu commands), for Help ▸ Keyboard shortcuts.
CANVAS_KEYS = (
    ("Move the region of interest by 1 px (Shift: 10 px)", "Arrows"),
    ("Resize the region of interest", "Ctrl+Arrows"),
    ("Draw / move / resize the region of interest", "Left-drag"),
    ("Measure a distance (Esc clears it)", "Ctrl+left-drag"),
    ("Window / level (a click: the context menu)", "Right-drag"),
    ("Pan", "Middle-drag, Space+left-drag"),
    ("Zoom in / out", "+ / −"),
    ("Fit the image", "F, double-click"),
    ("A result panel fills the comparison area / every panel again", "Double-click, Esc"),
    ("Measure a distance on a result panel (its mm and pixels; Esc clears)", "Ctrl+left-drag"),
)
#: How long closing the window waits for a cancelled job to stop before it defers the close.
CLOSE_WAIT_MS = 10_000
#: A folder's series found while a dialog is open or a job runs opens this much later (retried).
FOLDER_RETRY_MS = 400
#: "All files" first: DICOM from a PACS export or a patient CD often has no extension (IM000001)
OPEN_FILTER = ("All files, DICOM without extension included (*);;"
               "Images (*.dcm *.dicom *.ima *.png *.jpg *.jpeg *.tif *.tiff *.bmp);;"
               "DICOM (*.dcm *.dicom *.ima);;PNG / JPEG / TIFF (*.png *.jpg *.jpeg *.tif *.tiff)")


def fitted_size(wanted: tuple[int, int], available: tuple[int, int],
                frame: tuple[int, int] = FRAME_ALLOWANCE) -> tuple[int, int]:
    """The window size (logical pixels, frame excluded) for ``wanted`` on a screen whose
    available area is ``available`` (logical pixels: ``QScreen.availableGeometry``, the same
    numbers on a 2× screen): never more than that area less the window ``frame``."""
    return (max(1, min(wanted[0], available[0] - frame[0])),
            max(1, min(wanted[1], available[1] - frame[1])))


def _fmt_value(value: Any, unit: str) -> str:
    if np.ndim(value) == 0:
        v = float(value)
        return f"{format_number(v)} {unit}".rstrip()
    return "(" + ", ".join(format_number(float(c)) for c in np.ravel(value)) + ")"


class _NavigationKeysTo(QObject):
    """Event filter: the keys that move the ROI or page slices (arrows, PgUp/PgDn, Home/End)
    typed while a list such as the window presets has the focus go to ``target`` (focused)
    instead of choosing another entry of the list."""

    def __init__(self, target: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.target = target

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if event.type() == QEvent.KeyPress and event.key() in SCROLL_KEYS and not (
                isinstance(obj, QComboBox) and obj.view().isVisible()):
            self.target.setFocus(Qt.OtherFocusReason)
            owner = self.parent() if self.parent() is not None else self.target
            for action in owner.findChildren(QAction):  # a shortcut of these keys first
                if (action.isEnabled() and action.shortcut() and action.shortcut().matches(
                        QKeySequence(int(event.modifiers()) | event.key()))
                        == QKeySequence.ExactMatch):
                    action.trigger()
                    return True
            QApplication.sendEvent(self.target, QKeyEvent(QEvent.KeyPress, event.key(),
                                                          event.modifiers(), event.text()))
            return True
        return False


class MainWindow(QMainWindow):
    """The RMISR Viewer main window."""

    def __init__(self, resolver: Any = None, settings: QSettings | None = None,
                 weights_dir: str | Path | None = None, device: str | None = None,
                 load_engine: bool = True) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings(APP_ORG, APP_NAME)
        dev = device or str(self.settings.value("device", "auto"))
        self.engine = Engine(resolver, dev, weights_dir)
        self.image: ImageData | None = None
        self.last_result: JobResult | None = None
        self.results_cache = ResultCache()  # this session's results, per slice and settings
        self._job: SuperResolveJob | None = None
        self._progress: RunProgress | None = None  # the running job's tiles and time left
        self._progress_text = ""
        self._progress_timer = QTimer(self)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self._refresh_progress)
        self._loader: EngineLoader | None = None
        self._scans: list[SeriesScan] = []  # background series listings (headers)
        self._scan_generation = 0
        self._presets: list[tuple[str, tuple[float, float]]] = []
        self._msg_box: QMessageBox | None = None
        self._panel_window_start = (0.5, 1.0)
        self._derived = DerivedSeries()  # exports of one series, method, scale, ROI: one series
        self._stack: list[tuple[Path, int]] = []
        self._stack_pos = 0
        self.series_picker: SeriesPickerDialog | None = None  # open while a folder asks
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_menus()
        self._build_status_bar()
        self._restore_settings()
        self._refresh_availability()
        if load_engine:
            QTimer.singleShot(0, self.load_engine)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        """Esc (no job running, nothing else took it) clears a distance measured on the panels,
        else leaves the panels' focus mode."""
        if event.key() == Qt.Key_Escape and self.comparison.measurement() is not None:
            self.comparison.clear_measurement()
            event.accept()
            return
        if event.key() == Qt.Key_Escape and self.comparison.focused():
            self.comparison.set_focus(None)
            event.accept()
            return
        super().keyPressEvent(event)

    # =========================================================================================
    # construction
    # =========================================================================================
    def _build_widgets(self) -> None:
        self.canvas = ImageCanvas()
        self.image_header = ElidedLabel("No image — File ▸ Open, drop a file here, "
                                        "or File ▸ Open sample")
        self.image_header.setObjectName("imageHeader")
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(4, 2, 0, 0)
        ll.setSpacing(2)
        ll.addWidget(self.image_header)
        ll.addWidget(self.canvas, 1)
        self.comparison = ComparisonView()
        self.quality = QualityTable()
        self.top_splitter = QSplitter(Qt.Horizontal)
        self.top_splitter.addWidget(left)
        self.top_splitter.addWidget(self.comparison)
        self.top_splitter.setStretchFactor(0, 2)
        self.top_splitter.setStretchFactor(1, 3)
        self.main_splitter = QSplitter(Qt.Vertical)
        self.main_splitter.addWidget(self.top_splitter)
        self.main_splitter.addWidget(self.quality)
        self.main_splitter.setStretchFactor(0, 4)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setChildrenCollapsible(False)
        self.main_splitter.setContentsMargins(2, 2, 2, 2)
        self.setCentralWidget(self.main_splitter)
        self.top_splitter.setSizes([360, 600])
        self.main_splitter.setSizes([560, 210])

        self.controls = ControlsPanel()
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.NoFrame)
        self.controls_dock = QDockWidget("Controls", self)
        self.controls_dock.setObjectName("controlsDock")
        self.controls_dock.setWidget(scroll)
        self.controls_dock.setFeatures(QDockWidget.DockWidgetMovable
                                       | QDockWidget.DockWidgetFloatable)
        scroll.setMinimumWidth(self.controls.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width() + 2)
        self.addDockWidget(Qt.RightDockWidgetArea, self.controls_dock)

        c = self.canvas
        c.roiChanged.connect(self._roi_changed)
        c.windowChanged.connect(lambda ce, w: self.set_window(ce, w, from_canvas=True))
        c.cursorMoved.connect(self._cursor_moved)
        c.fileDropped.connect(self.open_files)
        c.measured.connect(self._measured)
        c.contextMenuAt.connect(self._canvas_menu)
        c.sliceStepRequested.connect(self._wheel_step)
        k = self.controls
        k.scaleChanged.connect(self._scale_changed)
        k.methodsChanged.connect(self._methods_changed)
        k.deviceChanged.connect(self.set_device)
        k.runRequested.connect(self.run)
        k.cancelRequested.connect(self.cancel)
        k.presetChosen.connect(self._preset_index_chosen)
        self._keys_to_canvas = _NavigationKeysTo(self.canvas, self)
        k.preset_combo.installEventFilter(self._keys_to_canvas)
        k.viewModeChanged.connect(self.comparison.set_mode)
        k.loupeToggled.connect(self.comparison.set_loupe)
        k.fitRequested.connect(self.canvas.fit)
        k.wholeImageRequested.connect(self._whole_image)
        k.simulateChanged.connect(lambda _b: self._roi_changed(self.canvas.roi()))
        k.ensembleChanged.connect(lambda _b: self._roi_changed(self.canvas.roi()))
        cmp_ = self.comparison
        cmp_.exportRequested.connect(self._export_requested)
        cmp_.windowDragged.connect(self._panel_window_drag)
        cmp_.valueAt.connect(self._panel_value)
        cmp_.measured.connect(self._measured)
        cmp_.contextMenuAt.connect(self._panel_menu)
        cmp_.sliceStepRequested.connect(self._wheel_step)
        self.quality.residualRequested.connect(lambda: self.controls.set_view_mode("residual"))

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.act_open = f.addAction("&Open…", self.open_dialog, QKeySequence.Open)
        self.act_open_folder = f.addAction("Open &folder (DICOM series)…", self.open_folder_dialog,
                                           QKeySequence("Ctrl+Shift+O"))
        self.act_open_pacs = f.addAction("Open from &PACS…", self.open_pacs_dialog)
        f.addAction("Open &sample", self.open_sample)
        self.recent_menu = f.addMenu("Open &recent")
        f.addSeparator()
        self.export_menu = f.addMenu("&Export panel")
        self.export_menu.aboutToShow.connect(self._fill_export_menu)
        self.act_sheet = f.addAction("Export comparison &sheet…", self.export_sheet)
        self.act_send_pacs = f.addAction("Send derived DICOM to P&ACS…", self.send_to_pacs_dialog)
        f.addSeparator()
        f.addAction("&Quit", self.close, QKeySequence.Quit)

        e = mb.addMenu("&Edit")
        self.act_undo_roi = e.addAction("&Undo region-of-interest change", self.undo_roi,
                                        QKeySequence.Undo)
        e.addAction("&Whole image as region", self._whole_image)

        v = mb.addMenu("&View")
        v.addAction("&Fit image", self.canvas.fit, QKeySequence("F"))
        v.addAction("Fit &panels", self.comparison.fit_all)
        self.act_actual_pixels = v.addAction("&Actual pixels in the panels (1:1)",
                                             self.comparison.actual_pixels)
        self.act_actual_pixels.setToolTip("One result pixel on one screen pixel (double-click a "
                                          "panel to give it the whole comparison area)")
        v.addAction("Clear &measurement (Ctrl+drag measures)", self.canvas.clear_measurement)
        self.preset_menu = v.addMenu("&Window presets")
        v.addSeparator()
        group = QActionGroup(self)
        self.view_actions: dict[str, QAction] = {}
        for key, label in VIEW_MODES.items():
            a = v.addAction(label)
            a.setCheckable(True)
            a.setChecked(key == "image")
            a.setActionGroup(group)
            a.triggered.connect(lambda _c=False, key=key: self.controls.set_view_mode(key))
            self.view_actions[key] = a
        self.controls.viewModeChanged.connect(lambda m: self.view_actions[m].setChecked(True))
        self.act_next_slice = v.addAction("&Next slice / frame", lambda: self.step_slice(1),
                                          QKeySequence(Qt.Key_PageDown))
        self.act_prev_slice = v.addAction("P&revious slice / frame", lambda: self.step_slice(-1),
                                          QKeySequence(Qt.Key_PageUp))
        self.act_next_10 = v.addAction("Ten slices on", lambda: self.step_slice(10),
                                       QKeySequence("Shift+PgDown"))
        self.act_prev_10 = v.addAction("Ten slices back", lambda: self.step_slice(-10),
                                       QKeySequence("Shift+PgUp"))
        self.act_last_slice = v.addAction("Last slice", lambda: self.step_slice(len(self._stack)),
                                          QKeySequence(Qt.Key_End))
        self.act_first_slice = v.addAction("First slice",
                                           lambda: self.step_slice(-len(self._stack)),
                                           QKeySequence(Qt.Key_Home))
        self._slice_actions = (self.act_next_slice, self.act_prev_slice, self.act_next_10,
                               self.act_prev_10, self.act_last_slice, self.act_first_slice)
        for action in self._slice_actions:
            action.setEnabled(False)  # until an image is open
        self.act_overlay = v.addAction("Patient and image &information")
        self.act_overlay.setCheckable(True)
        self.act_overlay.setShortcut(QKeySequence("I"))
        self.act_overlay.setChecked(True)
        self.act_overlay.toggled.connect(self.canvas.set_overlay_visible)
        self.act_wheel_zooms = v.addAction("Mouse &wheel zooms (Ctrl not needed)")
        self.act_wheel_zooms.setCheckable(True)
        self.act_wheel_zooms.setToolTip("Off (the default, as in Horos, Weasis and RadiAnt): the "
                                        "wheel pages slices and Ctrl+wheel zooms. On: the wheel "
                                        "zooms, as in earlier versions of this viewer")
        self.act_wheel_zooms.toggled.connect(self.set_wheel_zooms)
        self.act_loupe = v.addAction("&Loupe")
        self.act_loupe.setCheckable(True)
        self.act_loupe.setShortcut(QKeySequence("L"))
        self.act_loupe.toggled.connect(self.controls.loupe_box.setChecked)
        self.controls.loupe_box.toggled.connect(self.act_loupe.setChecked)

        p = mb.addMenu("&Process")
        self.act_run = p.addAction("&Super-resolve", self.run, QKeySequence("Ctrl+R"))
        self.act_run.setShortcutContext(Qt.ApplicationShortcut)
        self.act_slices = p.addAction("Super-resolve region over s&lices…",
                                      self.super_resolve_slices, QKeySequence("Ctrl+Shift+R"))
        p.addAction("Send derived series to &PACS…", self.send_to_pacs_dialog)
        self.act_cancel = p.addAction("&Cancel", self.cancel, QKeySequence(Qt.Key_Escape))
        self.act_cancel.setEnabled(False)

        h = mb.addMenu("&Help")
        self.act_shortcuts = h.addAction("&Keyboard shortcuts", self.show_shortcuts,
                                         QKeySequence.HelpContents)
        h.addAction("Copy &diagnostics", self.copy_diagnostics)
        h.addAction("&About", self._about)
        self._rebuild_recent_menu()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        # elided, with minimum widths that do not follow their text (the window never widens)
        self.cursor_label = ElidedLabel("")
        self.cursor_label.setMinimumWidth(160)
        self.window_status = ElidedLabel("")
        self.window_status.setMinimumWidth(90)
        self.device_status = ElidedLabel("engine: loading…")
        self.device_status.setMinimumWidth(70)
        sb.addPermanentWidget(self.cursor_label)
        sb.addPermanentWidget(self.window_status)
        sb.addPermanentWidget(self.device_status)
        self.notes = NotesDialog(self)  # export notes: listed here, never a warning dialog
        self.notes_button = QToolButton()
        self.notes_button.setAutoRaise(True)
        self.notes_button.setToolTip("What the exports noted (e.g. values clipped to the range "
                                     "a file stores)")
        self.notes_button.clicked.connect(self.show_notes)
        self.notes_button.hide()  # until the first note
        sb.addPermanentWidget(self.notes_button)
        self.slices_result: SliceRangeResultDialog | None = None

    # =========================================================================================
    # settings
    # =========================================================================================
    def _restore_settings(self) -> None:
        s = self.settings
        try:
            scale = float(s.value("scale", 2.0))
        except (TypeError, ValueError):
            scale = 2.0
        if not (math.isfinite(scale) and SCALE_MIN <= scale <= SCALE_MAX):  # a damaged file
            scale = 2.0
        self.controls.set_scale(scale, emit=False, force=True)
        methods = s.value("methods", ["bicubic"])
        if isinstance(methods, str):
            methods = [methods]
        self.controls.set_checked_methods(list(methods or ["bicubic"]))
        self.controls.simulate_box.setChecked(str(s.value("simulate", "false")).lower() == "true")
        self.controls.set_device_choice(self.engine.device_choice)
        self.controls.set_precision_choice(str(s.value("precision", "auto")))
        self.controls.set_best_quality(str(s.value("bestQuality", "false")).lower() == "true")
        self.act_overlay.setChecked(str(s.value("overlay", "true")).lower() == "true")
        self.act_wheel_zooms.setChecked(str(s.value("wheelZooms", "false")).lower() == "true")
        geom = s.value("geometry")
        if geom is None or not self.restoreGeometry(geom):
            self.resize(*START_SIZE)
        self.fit_to_screen(centre=geom is None)
        for key, restore in (("windowState", self.restoreState),  # the dock's place
                             ("topSplitter", self.top_splitter.restoreState),
                             ("mainSplitter", self.main_splitter.restoreState)):
            state = s.value(key)
            if state is not None:
                restore(state)

    def available_geometry(self) -> QRect:
        """The available area of the window's screen (logical pixels, task bar excluded)."""
        screen = self.screen() or QApplication.primaryScreen()
        return screen.availableGeometry()

    def fit_to_screen(self, centre: bool = False) -> None:
        """Shrink the window to its screen's available area (a start on a small or high-DPI
        screen, or a size saved on a larger one); ``centre``: place it in that area."""
        avail = self.available_geometry()
        w, h = fitted_size((self.width(), self.height()), (avail.width(), avail.height()))
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        if centre or not avail.intersects(self.frameGeometry()):
            self.move(avail.x() + max(0, (avail.width() - w - FRAME_ALLOWANCE[0]) // 2),
                      avail.y() + max(0, (avail.height() - h - FRAME_ALLOWANCE[1]) // 2))

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("scale", self.controls.scale())
        s.setValue("methods", self.controls.checked_methods())
        s.setValue("simulate", self.controls.simulate_box.isChecked())
        s.setValue("device", self.engine.device_choice)
        s.setValue("precision", self.controls.precision_choice())
        s.setValue("bestQuality", self.controls.best_quality())
        s.setValue("geometry", self.saveGeometry())
        s.setValue("windowState", self.saveState())
        s.setValue("topSplitter", self.top_splitter.saveState())
        s.setValue("mainSplitter", self.main_splitter.saveState())
        s.setValue("overlay", self.act_overlay.isChecked())
        if not s.contains("presetsPath"):
            s.setValue("presetsPath", "")
        s.sync()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.settings.setValue("recentFiles", files[:MAX_RECENT])
        self.settings.setValue("lastDir", str(Path(p).parent))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            a = self.recent_menu.addAction(Path(f).name, lambda f=f: self.open_file(f))
            a.setToolTip(f)
            if not Path(f).is_file():  # moved or deleted since: shown, not offered
                a.setEnabled(False)
                a.setText(f"{Path(f).name} (missing)")
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)
        self.recent_menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.settings.setValue("recentFiles", [])
        self._rebuild_recent_menu()

    # =========================================================================================
    # engine
    # =========================================================================================
    def load_engine(self) -> None:
        """Create the engine in a background thread (no-op while one is loading)."""
        if self._loader is not None and self._loader.isRunning():
            return
        self.device_status.setText("engine: loading…")
        self.controls.device_label.setText("loading…")
        loader = EngineLoader(self.engine, self)
        loader.loaded.connect(self._engine_loaded)
        loader.failed.connect(self._engine_failed)
        self._loader = loader
        loader.start()

    def _engine_loaded(self, device: str, cuda: bool) -> None:
        self.controls.set_cuda_available(cuda)
        self.controls.set_device_choice(self.engine.device_choice)
        self.controls.device_label.setText(device.upper())
        self.device_status.setText(f"device: {device.upper()}")
        self._refresh_availability()

    def _engine_failed(self, message: str) -> None:
        self.controls.set_availability({m: (m == "bicubic", f"the engine failed: {message}")
                                        for m in METHOD_LABELS})
        self.controls.device_label.setText("unavailable")
        self.device_status.setText("engine: failed")
        self.show_error("The super-resolution engine could not start", message)

    def set_device(self, device: str) -> None:
        if self.is_running():
            self.controls.set_device_choice(self.engine.device_choice)
            return
        self.engine.set_device(device)
        self.settings.setValue("device", device)
        self.load_engine()

    def _methods_changed(self, _methods: list) -> None:
        self.settings.setValue("methods", self.controls.checked_methods())
        self._update_run_state()

    def _refresh_availability(self) -> None:
        avail = self.engine.availability(list(METHOD_LABELS), self.controls.scale())
        self.controls.set_availability(avail)
        self._update_run_state()

    def _scale_changed(self, scale: float) -> None:
        self.settings.setValue("scale", scale)
        self._refresh_availability()
        self._roi_changed(self.canvas.roi())

    # =========================================================================================
    # images
    # =========================================================================================
    def open_dialog(self) -> None:
        start = str(self.settings.value("lastDir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open image", start, OPEN_FILTER)
        if path:
            self.open_file(path)

    def open_folder_dialog(self) -> None:
        start = str(self.settings.value("lastDir", str(Path.home())))
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of DICOM files", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> bool:
        """Open a DICOM image series in ``folder`` (subfolders included: a CD's or a PACS
        export's layout) and step through it with PgDn/PgUp: the only one, or the one chosen
        in a series picker (:class:`SeriesPickerDialog`, the largest first) when there are
        several; a folder of raster slices (PNG, TIFF, …) steps through those, in natural order.

        The headers are read in the background (:class:`FolderScan`) and the window stays
        usable; the series opens when the scan ends, unless another file was opened meanwhile.
        Returns False when the scan cannot start (a job is running)."""
        if self.is_running():
            self.statusBar().showMessage("A job is running: cancel it before opening a folder",
                                         5000)
            return False
        self._stop_scans()
        self._scan_generation += 1
        generation = self._scan_generation
        scan = FolderScan(Path(folder), self)
        scan.found.connect(lambda f, series: self._folder_found(generation, f, series))
        scan.failed.connect(lambda f, msg: self._folder_failed(generation, f, msg))
        scan.finished.connect(QApplication.restoreOverrideCursor)
        scan.finished.connect(lambda: self._scans.remove(scan) if scan in self._scans else None)
        self._scans.append(scan)
        QApplication.setOverrideCursor(Qt.BusyCursor)  # busy, but the window still answers
        self.statusBar().showMessage(f"Reading the DICOM headers in {folder}…")
        scan.start()
        return True

    def _stop_scans(self) -> None:
        """Interrupt the listings still running for what was open (their results are ignored
        anyway): they stop at their next file."""
        for scan in self._scans:
            scan.requestInterruption()

    def _folder_failed(self, generation: int, folder: Path, message: str) -> None:
        if generation != self._scan_generation:  # another file or folder was opened since
            return
        self.statusBar().clearMessage()
        self.show_error("Cannot read the folder", f"{folder}: {message}")

    def _folder_found(self, generation: int, folder: Path, series: list) -> None:
        if generation != self._scan_generation:  # another file or folder was opened since
            return
        if QApplication.activeModalWidget() is not None or self.is_running():
            # never swap the image under an open dialog or a running job: open it after them
            QTimer.singleShot(FOLDER_RETRY_MS, lambda: self._folder_found(
                generation, folder, series))
            return
        if not series:
            self.statusBar().clearMessage()
            self.show_error("No images in the folder",
                            f"{folder}: no DICOM file with pixel data and no PNG, JPEG, TIFF "
                            "or BMP image was found (DICOMDIR indexes, reports and other files "
                            "are skipped).")
            return
        if len(series) == 1:
            self._open_series(series[0], 1)
            return
        self.statusBar().showMessage(f"{len(series)} series in {folder}: choose one", 8000)
        dialog = SeriesPickerDialog(folder, series, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        self.series_picker = dialog

        def done(result: int) -> None:
            self.series_picker = None
            chosen = dialog.chosen()
            if result == QDialog.Accepted and chosen is not None \
                    and generation == self._scan_generation:
                self._open_series(chosen, len(series))

        dialog.finished.connect(done)
        dialog.open()  # window-modal, not blocking: the picker is answered in the event loop

    def _open_series(self, chosen: Any, n_series: int) -> bool:
        """Open a series found in a folder (:class:`app.io.series.FolderSeries`)."""
        files = list(chosen.files)
        if not self.open_file(files[0], stack=[(p, 0) for p in files]):
            return False
        more = f" (one of {n_series} series found)" if n_series > 1 else ""
        what = "series" if chosen.uid else "folder"
        self.statusBar().showMessage(f"Opened a {what} of {len(files)} file(s){more}: "
                                     "PgDn/PgUp step through it", 8000)
        return True

    def open_sample(self) -> bool:
        return self.open_file(SAMPLE_PATH, remember=False)

    def open_file(self, path: str | Path, remember: bool = True,
                  stack: list[tuple[Path, int]] | None = None) -> bool:
        """Read and show an image; errors go to the status bar and a non-modal message. A
        folder opens as :meth:`open_folder` does (``rmisr-viewer <folder>``, a recent folder)."""
        if stack is None and Path(path).is_dir():
            return self.open_folder(path)
        if self.is_running():
            self.statusBar().showMessage("A job is running: cancel it before opening a file",
                                         5000)
            return False
        img = self._read(path)
        if img is None:
            return False
        self._stop_scans()
        self._scan_generation += 1  # a scan still running for an earlier file is ignored
        if stack is not None:  # given (a drop of several files, a folder's series)
            self._stack = list(stack)
        elif img.n_frames > 1 or img.kind != "dicom":
            self._stack = stack_of(path, img.n_frames, img.kind)  # no I/O
        else:  # the files of its series in its folder: headers, read in the background
            self._stack = [(Path(path), 0)]
            self._start_series_scan(Path(path))
        self._stack_pos = self._position_in_stack(Path(path), img.frame)
        self.set_image(img)
        if remember:
            self._add_recent(Path(path))
        return True

    def _position_in_stack(self, path: Path, frame: int) -> int:
        here = path.resolve()
        return next((i for i, (q, k) in enumerate(self._stack)
                     if q.resolve() == here and k == frame), 0)

    def _start_series_scan(self, path: Path) -> None:
        scan = SeriesScan(path, self)
        generation = self._scan_generation
        scan.found.connect(lambda p, items: self._series_found(generation, p, items))
        scan.finished.connect(lambda: self._scans.remove(scan) if scan in self._scans else None)
        self._scans.append(scan)
        scan.start()

    def _series_found(self, generation: int, path: Path, items: list) -> None:
        """The background scan of the opened file's series has ended: PgDn/PgUp now step
        through it (unless another file was opened since)."""
        if generation != self._scan_generation or self.image is None or len(items) <= 1:
            return
        self._stack = list(items)
        self._stack_pos = self._position_in_stack(path, 0)
        self._show_stack_state()

    def series_scan_running(self) -> bool:
        return any(s.isRunning() for s in self._scans)

    def open_files(self, paths: list[str | Path]) -> bool:
        """Open the first of several files (a drop) and step through all of them with
        PgDn/PgUp, in the order given; one file opens as :meth:`open_file` does."""
        paths = [Path(p) for p in paths]
        if len(paths) == 1 and paths[0].is_dir():
            return self.open_folder(paths[0])
        paths = [p for p in paths if not p.is_dir()]
        if len(paths) <= 1:
            return self.open_file(paths[0]) if paths else False
        if not self.open_file(paths[0], stack=[(p, 0) for p in paths]):
            return False
        self.statusBar().showMessage(f"Opened {paths[0].name}: PgDn/PgUp step through the "
                                     f"{len(paths)} dropped files", 6000)
        return True

    def _read(self, path: str | Path, frame: int = 0) -> ImageData | None:
        try:
            return read_image(path, frame=frame)
        except ImageIOError as exc:
            self.show_error("Cannot open the image", str(exc))
        except Exception as exc:  # never a traceback dialog
            log.exception("unexpected error reading %s", path)
            self.show_error("Cannot open the image", f"{path}: {readable_error(exc)}")
        return None

    def stack(self) -> list[tuple[Path, int]]:
        """The (file, frame) items PgUp/PgDn step through."""
        return list(self._stack)

    def step_slice(self, delta: int) -> bool:
        """Show the slice ``delta`` steps along the stack (frames of the file or files of its
        series), keeping ROI, window, zoom and pan; a step past either end stops at it, and at
        the end itself nothing changes but the status bar ("Last slice"): False. An unreadable
        slice (truncated, unsupported compression) is skipped for the next readable one in that
        direction, and one message names every slice skipped."""
        if self.is_running():
            self.statusBar().showMessage("A job is running: cancel it before changing slice",
                                         5000)
            return False
        if self.image is None or not delta:
            return False
        n, direction = len(self._stack), (1 if delta > 0 else -1)
        if not 0 <= self._stack_pos + direction < n:  # at the end: keep the view as it is
            if n <= 1:
                text = "Last slice: this image has no other slices or frames"
            elif direction > 0:
                text = f"Last slice ({n}/{n})"
            else:
                text = f"First slice (1/{n})"
            self.statusBar().showMessage(text, 3000)
            return False
        pos, skipped = min(max(self._stack_pos + delta, 0), n - 1), []
        while True:
            if not 0 <= pos < n:
                if skipped:
                    self._report_skipped(skipped, reached_end=True)
                return False
            path, frame = self._stack[pos]
            try:
                img = read_image(path, frame=frame)
                break
            except Exception as exc:  # noqa: BLE001 — named in one message, never a traceback
                skipped.append(f"slice {pos + 1} ({Path(path).name}): {readable_error(exc)}")
            pos += direction
        self._stack_pos = pos
        self.set_image(img, keep_view=True)
        if skipped:
            self._report_skipped(skipped, reached_end=False)
        return True

    def _report_skipped(self, skipped: list[str], reached_end: bool) -> None:
        end = " No readable slice lies beyond them." if reached_end else ""
        self.show_error("Unreadable slices skipped",
                        f"{len(skipped)} slice(s) could not be read and were skipped:{end}\n• "
                        + "\n• ".join(skipped[:20]) + ("\n…" if len(skipped) > 20 else ""))

    def _show_stack_state(self) -> None:
        """The header's "slice k/n" and the PgDn/PgUp actions for the current stack."""
        img = self.image
        if img is None:
            return
        slice_text = (f" · slice {self._stack_pos + 1}/{len(self._stack)}"
                      if len(self._stack) > 1 and img.n_frames <= 1 else "")
        self.image_header.setText(f"{img.source_path.name} · {img.description}{slice_text}")
        for action in self._slice_actions:  # at an end they say so, and keep the view
            action.setEnabled(True)

    def set_image(self, img: ImageData, default_roi: bool = True, keep_view: bool = False) -> None:
        """Show an already read image; ``keep_view``: the next slice of the one shown (same
        ROI, window, zoom and pan when the size is the same)."""
        keep = keep_view and self.image is not None and \
            self.image.pixels.shape[:2] == img.pixels.shape[:2]
        window = self.canvas.window()
        old_lut = self.image.voi_lut if self.image is not None else None
        if keep and old_lut is not None and img.voi_lut is not None and window == old_lut.window:
            window = img.voi_lut.window  # shown through its file's LUT: so is the next slice
        roi = self.canvas.roi()
        had_results = self.last_result is not None
        self.image = img
        self.last_result = None
        self.comparison.clear()
        self.quality.clear()
        self.canvas.set_image(img.pixels, window if keep else img.window, img.invert,
                              img.pixel_spacing, img.value_unit, keep_view=keep,
                              spacing_at_detector=img.spacing_source == "ImagerPixelSpacing",
                              voi_function=img.voi_function, voi_lut=img.voi_lut)
        self.canvas.set_overlay(corner_texts(img), orientation_labels(img.image_orientation))
        self.image_header.setToolTip(str(img.source_path))
        self.setWindowTitle(f"{APP_NAME} — {img.source_path.name}")
        self._load_presets(img)
        self.set_window(*(window if keep else img.window))
        self._show_stack_state()
        kept = self.results_cache.latest_for(slice_id(img.source_path, img.frame))
        if kept is not None:  # back on a slice with results: shown again (maybe outdated)
            self._show_result(kept)
        if keep:
            self._roi_changed(roi)
        elif default_roi:
            s = min(DEFAULT_ROI, img.width, img.height)
            self.canvas.set_roi(((img.width - s) // 2, (img.height - s) // 2, s, s),
                                undoable=False)
        else:
            self._roi_changed(None)
        if img.warnings:  # also listed by Help ▸ Copy diagnostics
            self.image_header.setText(f"⚠ {self.image_header.text()}")
            self.image_header.setToolTip(f"{img.source_path}\nRead warnings:\n• "
                                         + "\n• ".join(img.warnings))
            self.statusBar().showMessage("; ".join(img.warnings), 8000)
        elif kept is not None:
            self.statusBar().showMessage(f"Opened {img.source_path.name}: its results of this "
                                         "session are shown again", 6000)
        elif had_results:
            self.statusBar().showMessage(f"Opened {img.source_path.name}: the results of the "
                                         "previous slice are kept and come back with it", 6000)
        else:
            self.statusBar().showMessage(f"Opened {img.source_path.name}", 4000)

    def set_wheel_zooms(self, zooms: bool) -> None:
        """The mouse wheel zooms (True, the earlier convention) or pages slices with Ctrl+wheel
        zooming (False, the default); remembered in the settings."""
        self.canvas.wheel_zooms = self.comparison.wheel_zooms = bool(zooms)
        if self.act_wheel_zooms.isChecked() != bool(zooms):
            self.act_wheel_zooms.setChecked(bool(zooms))
        self.settings.setValue("wheelZooms", bool(zooms))

    def _wheel_step(self, delta: int) -> None:
        if self.image is not None:
            self.step_slice(delta)

    def set_roi(self, roi: tuple[int, int, int, int] | None) -> None:
        self.canvas.set_roi(roi)

    def undo_roi(self) -> bool:
        """Back to the region of interest before the last change (Ctrl+Z)."""
        if self.is_running():
            return False
        return self.canvas.undo_roi()

    def _whole_image(self) -> None:
        if self.image is not None:
            self.canvas.set_roi((0, 0, self.image.width, self.image.height))

    def _measured(self, text: Any) -> None:
        if text:
            self.statusBar().showMessage(f"Distance: {text} (Esc clears)", 10000)

    def _roi_changed(self, roi: Any) -> None:
        if roi is None or self.image is None:
            self.controls.roi_label.setText("None — left-drag on the image")
        else:
            x, y, w, h = roi
            text = f"{w} × {h} px at x {x}, y {y}"
            stats = roi_statistics(self.image, roi)
            if self.image.pixel_spacing is not None:
                rs, cs = self.image.pixel_spacing
                text += (f"\n{format_number(w * cs, 1)} × {format_number(h * rs, 1)} mm "
                         f"({format_area_mm2(stats.area_mm2)})")
                if self.image.spacing_source == "ImagerPixelSpacing":
                    text += " at the detector"  # not corrected for geometric magnification
            if stats.mean is not None:
                unit = f" {self.image.value_unit}" if self.image.value_unit else ""
                # two short lines (the dock is narrow): never cut, e-notation never needed
                text += (f"\nmean {format_number(stats.mean)} ± "
                         f"{format_number(stats.sd, significant=3)}{unit}"
                         f"\nmin {format_number(stats.minimum)}, "
                         f"max {format_number(stats.maximum)}{unit}")
            if stats.padding:
                text += f"\n{stats.padding} padding px (outside the scan) not counted"
            s = self.controls.scale()
            if self.controls.simulate_box.isChecked():
                hl, wl = math.floor(h / s + 1e-9), math.floor(w / s + 1e-9)
                text += f"\nsimulated input {wl}×{hl} px"
            else:
                text += f"\noutput {math.floor(w * s + 0.5)}×{math.floor(h * s + 0.5)} px"
            self.controls.roi_label.setText(text)
            self.controls.roi_label.setToolTip(text)
        self.comparison.set_stale(self._stale_reason(roi))
        self._update_run_state()

    def _stale_reason(self, roi: Any) -> str | None:
        """What differs between the shown results' run and the current settings, if anything."""
        if self.last_result is None:
            return None
        req = self.last_result.request
        changed = []
        if roi is None or tuple(roi) != tuple(req.roi):
            changed.append("region of interest")
        if abs(self.controls.scale() - req.scale) > 1e-9:
            changed.append("magnification")
        if self.controls.simulate_box.isChecked() != req.simulate:
            changed.append("simulate low resolution")
        if self.controls.best_quality() != req.ensemble:
            changed.append("best quality")
        return ("changed since this result: " + ", ".join(changed)) if changed else None

    # =========================================================================================
    # window / level
    # =========================================================================================
    def _load_presets(self, img: ImageData) -> None:
        """The named presets first (keys 1–9: 1 = Lung on CT, as in PACS viewers), then the
        windows the file suggests; 0 is the file's own window."""
        presets: list[tuple[str, tuple[float, float]]] = []
        path = str(self.settings.value("presetsPath", "") or "")
        try:
            loaded = load_window_presets(path) if path else load_window_presets()
            loaded = presets_for_modality(loaded, img.modality)
        except ImageIOError as exc:
            self.show_error("Window presets not loaded", str(exc))
            loaded = []
        for p in loaded:
            try:
                cw = p.resolve(img.pixels) if hasattr(p, "resolve") else (p.center, p.width)
            except Exception:
                continue
            presets.append((p.name, (float(cw[0]), float(cw[1]))))
        for c, w, name in img.windows:
            presets.append((f"File: {name or 'window'} ({format_window(c, w)})", (c, w)))
        self._presets = presets
        self.controls.set_presets([f"{i + 1}  {n}" if i < 9 else f"    {n}"
                                   for i, (n, _) in enumerate(presets)]
                                  + ["0  The file's own window"])
        self.preset_menu.clear()
        for i, (name, (c, w)) in enumerate(presets):
            a = self.preset_menu.addAction(f"{name} — {format_window(c, w)}")
            a.triggered.connect(lambda _c=False, i=i: self.apply_preset(i))
            if i < 9:
                a.setShortcut(QKeySequence(str(i + 1)))  # keys 1–9, as in PACS viewers
        self.preset_menu.addSeparator()
        self.preset_menu.addAction("Reset to the file's window", self._reset_window,
                                   QKeySequence("0"))
        self.preset_menu.addAction("Load presets file…", self.choose_presets_file)
        if path:
            self.preset_menu.addAction("Use the bundled presets",
                                       lambda: self.set_presets_path(""))

    def choose_presets_file(self) -> None:
        start = str(self.settings.value("presetsPath", "") or self.settings.value("lastDir", ""))
        path, _ = QFileDialog.getOpenFileName(self, "Window presets (JSON)", start,
                                              "Window presets (*.json);;All files (*)")
        if path:
            self.set_presets_path(path)

    def set_presets_path(self, path: str | Path) -> None:
        """Use a window-presets JSON file ('' = the bundled one); remembered in the settings."""
        self.settings.setValue("presetsPath", str(path or ""))
        if self.image is not None:
            self._load_presets(self.image)

    def presets(self) -> list[tuple[str, tuple[float, float]]]:
        return list(self._presets)

    def apply_preset(self, index: int) -> None:
        if 0 <= index < len(self._presets):
            name, (c, w) = self._presets[index]
            self.set_window(c, w)
            self.statusBar().showMessage(f"Window: {name} ({self.window_status.text()})", 3000)

    def _preset_index_chosen(self, combo_index: int) -> None:
        if combo_index - 1 == len(self._presets):  # the last entry: "0  The file's own window"
            self._reset_window()
        else:
            self.apply_preset(combo_index - 1)
        self.controls.preset_combo.setCurrentIndex(0)
        self.canvas.setFocus(Qt.OtherFocusReason)  # arrows move the ROI again, PgDn pages

    def _reset_window(self) -> None:
        if self.image is not None:
            self.set_window(*self.image.window)
            self.statusBar().showMessage(f"Window: the file's own ({self.window_status.text()})",
                                         3000)

    def set_window(self, center: float, width: float, from_canvas: bool = False) -> None:
        """Apply one display window to the canvas and every panel."""
        invert = self.image.invert if self.image is not None else False
        if not from_canvas:
            self.canvas.set_window(center, width)
        img = self.image
        self.comparison.set_window(center, width, invert, img.voi_function if img else None,
                                   img.voi_lut if img else None)
        unit = self.image.value_unit if self.image is not None else ""
        if width >= 10:  # whole numbers, as the overlay and the presets write them
            text = format_window(round(center), round(width), unit)
        else:
            text = format_window(center, width, unit)
        self.window_status.setText(text)
        self.controls.set_window_text(f"Window {text}")

    def window(self) -> tuple[float, float]:
        return self.canvas.window()

    def _panel_window_drag(self, event: tuple[str, int, int]) -> None:
        phase, dx, dy = event
        if phase == "start":
            self._panel_window_start = self.canvas.window()
            return
        c0, w0 = self._panel_window_start
        self.set_window(c0 + dy * w0 / 200.0, w0 * math.exp(dx / 200.0))

    # =========================================================================================
    # status bar readouts
    # =========================================================================================
    def _cursor_moved(self, info: Any) -> None:
        if info is None or self.image is None:
            self.cursor_label.setText("")
            return
        col, row, value = info
        text = f"x {col}, y {row} · {_fmt_value(value, self.image.value_unit)}"
        if self.image.pixel_spacing is not None:
            rs, cs = self.image.pixel_spacing
            text += f" · ({col * cs:.1f}, {row * rs:.1f}) mm"
            if self.image.spacing_source == "ImagerPixelSpacing":
                text += " (detector)"
        self.cursor_label.setText(text)

    def _panel_value(self, info: Any) -> None:
        if info is None or self.image is None:
            self.cursor_label.setText("")
            return
        title, col, row, value = info
        text = _fmt_value(value, self.image.value_unit)
        if title.endswith("− bicubic") and np.ndim(value) == 0 and float(value) > 0:
            text = "+" + text  # a difference is signed
        self.cursor_label.setText(f"{title}: x {col}, y {row} · {text}")

    # =========================================================================================
    # running
    # =========================================================================================
    def is_running(self) -> bool:
        return self._job is not None

    def _update_run_state(self) -> None:
        running = self.is_running()
        ready = (self.image is not None and self.canvas.roi() is not None
                 and bool(self.controls.selected_methods()))
        self.controls.set_running(running)
        self.controls.run_button.setEnabled(ready and not running)
        self.act_run.setEnabled(not running)
        self.act_slices.setEnabled(not running and self.image is not None
                                   and self.canvas.roi() is not None)
        self.act_cancel.setEnabled(running)

    def run(self) -> bool:
        """Start a job with the current ROI, scale and methods; False when it cannot start."""
        if self.is_running():
            self.statusBar().showMessage("A job is already running", 3000)
            return False
        if self.image is None:
            self.show_error("Nothing to super-resolve", "Open an image first (File ▸ Open).")
            return False
        roi = self.canvas.roi()
        if roi is None:
            self.show_error("No region of interest",
                            "Draw a region of interest: left-drag on the image.")
            return False
        methods = self.controls.selected_methods()
        if not methods:
            self.show_error("No method", "Tick at least one available method.")
            return False
        cached = self.results_cache.get(self._result_key(tuple(roi), methods))
        if cached is not None:  # the same slice and settings: shown at once, not recomputed
            self._show_result(cached)
            self.controls.progress.setValue(100)
            text = (f"Shown from this session's results (same slice and settings, computed in "
                    f"{cached.seconds:.1f} s): nothing recomputed")
            self.controls.set_job_text(text)
            self.statusBar().showMessage(text, 8000)
            return True
        # CT padding outside the field of view takes the nearest tissue value, as in rmisr-sr
        filled = engine_pixels(self.image)
        try:
            pixels = crop_roi(filled, roi)
        except ImageIOError as exc:
            self.show_error("Invalid region of interest", str(exc))
            return False
        if not self._output_size_accepted(roi, methods):
            return False
        request = JobRequest(pixels, tuple(roi), self.controls.scale(), methods,
                             self.controls.simulate_box.isChecked(), self.canvas.window(),
                             {m: METHOD_LABELS[m] for m in methods}, self.image.value_unit,
                             source_pixels=filled,
                             value_range=self.image.normalization_range(),
                             precision=self.controls.precision_choice(),
                             modality=self.image.modality,
                             ensemble=self.controls.best_quality())
        job = SuperResolveJob(self.engine, request, self)
        job.progressed.connect(self._job_progress)
        self._track_progress(job, RunProgress(methods, ensemble=request.ensemble))
        job.succeeded.connect(self._job_succeeded)
        job.failed.connect(self._job_failed)
        job.cancelled.connect(self._job_cancelled)
        job.finished.connect(self._job_finished)
        self._job = job
        self._update_run_state()
        self.controls.set_job_text("starting…")
        self.statusBar().showMessage(
            f"Super-resolving {roi[2]}×{roi[3]} px ×{request.scale:g} with "
            f"{', '.join(METHOD_LABELS[m] for m in methods)}"
            + (" in best quality (8 runs each)…" if request.ensemble else "…"))
        job.start()
        return True

    def super_resolve_slices(self, choice: SliceRangeChoice | None = None,
                             overwrite: bool | None = None) -> bool:
        """Process ▸ Super-resolve region over slices: the ROI of a range of the slices PgDn/PgUp
        step through (the series, or the frames of a multi-frame file), one method, at the
        current scale, from the acquired pixels, written into a folder — as one derived DICOM
        series, or TIFF/PNG files — by a :class:`SliceRangeJob`. Without ``choice`` a dialog
        asks; files that exist are replaced only when ``overwrite`` is True (None: ask).
        Returns False when nothing started."""
        if self.is_running():
            self.statusBar().showMessage("A job is already running", 3000)
            return False
        roi = self.canvas.roi()
        if self.image is None or roi is None:
            self.show_error("No region of interest",
                            "Open an image and draw a region of interest first.")
            return False
        if self.series_scan_running():
            self.show_error("The series is still being listed",
                            "The slices of this series are still being found: try again in a "
                            "moment.")
            return False
        stack = self._stack or [(self.image.source_path, self.image.frame)]
        scale = self.controls.scale()
        methods = {m: METHOD_LABELS[m] for m, box in self.controls.method_boxes.items()
                   if box.isEnabled()}
        if choice is None:
            default = default_slice_method(methods)  # the best network available
            folder = Path(str(self.settings.value("lastExportDir", "") or
                              self.image.source_path.parent))
            dialog = SliceRangeDialog(len(stack), self._stack_pos, methods, default,
                                      self.image.kind == "dicom", folder, scale, roi, self)
            if dialog.exec_() != QDialog.Accepted:
                return False
            choice = dialog.choice()
        problem = self._slice_range_problem(choice, len(stack), methods, roi, scale)
        if problem:
            self.show_error("Cannot super-resolve the slices", problem)
            return False
        try:
            choice.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.show_error("Cannot super-resolve the slices",
                            f"cannot create the folder {choice.folder}: {exc.strerror or exc}")
            return False
        frames = len({path for path, _ in stack}) < len(stack)  # frames of one file: _f<k>
        chosen = list(enumerate(stack))[choice.first - 1:choice.last]
        names = [output_name(path, scale, choice.method, choice.fmt, frame if frames else None)
                 for _, (path, frame) in chosen]
        if len(set(names)) < len(names):  # same file names in several folders of a series
            names = [f"s{k + 1:04d}_{name}" for (k, _), name in zip(chosen, names)]
        items = [(path, frame, choice.folder / name)
                 for (_, (path, frame)), name in zip(chosen, names)]
        existing = [target for _, _, target in items if target.exists()]
        if existing and overwrite is None:
            overwrite = QMessageBox.question(
                self, "Replace files?", f"{len(existing)} of the {len(items)} files exist in "
                f"{choice.folder} (e.g. {existing[0].name}). Replace them?",
                QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes
        if existing and not overwrite:
            self.show_error("Files exist", f"{len(existing)} of the {len(items)} files exist in "
                            f"{choice.folder}, e.g. {existing[0].name}: nothing was written "
                            "(choose another folder, or replace them)")
            return False
        request = SliceRangeRequest(items, tuple(roi), scale, choice.method, choice.fmt,
                                    self.canvas.window() if choice.fmt == "png" else None,
                                    METHOD_LABELS[choice.method])
        job = SliceRangeJob(self.engine, request, self)
        job.progressed.connect(self._job_progress)
        weight = {str(k): 1.0 for k in range(len(items))}  # one step per slice, equal cost
        self._track_progress(job, RunProgress([str(k) for k in range(len(items))], weight))
        job.succeeded.connect(self._slices_done)
        job.failed.connect(self._job_failed)
        job.finished.connect(self._job_finished)
        self._job = job
        self.settings.setValue("lastExportDir", str(choice.folder))
        self._update_run_state()
        self.controls.set_job_text("starting…")
        self.statusBar().showMessage(f"Super-resolving slices {choice.first}–{choice.last} "
                                     f"×{scale:g} with {METHOD_LABELS[choice.method]}…")
        job.start()
        return True

    @staticmethod
    def _slice_range_problem(choice: SliceRangeChoice, n_slices: int, methods: dict[str, str],
                             roi: tuple[int, int, int, int], scale: float) -> str:
        """Why ``choice`` cannot run ("" when it can)."""
        from app.io.limits import MAX_OUTPUT_PIXELS

        if not 1 <= choice.first <= choice.last <= n_slices:
            return f"slices {choice.first}–{choice.last} are not within 1–{n_slices}"
        if choice.method not in methods:
            return (f"{METHOD_LABELS.get(choice.method, choice.method)} is not available at "
                    f"×{scale:g}")
        oh, ow = output_size(roi[3], roi[2], scale)
        if oh * ow > MAX_OUTPUT_PIXELS:
            return (f"×{scale:g} of a {roi[2]}×{roi[3]} px region would be {ow}×{oh} px per "
                    f"slice, more than the {MAX_OUTPUT_PIXELS / 1e6:.0f} Mpx one result may "
                    "have: choose a smaller region or a lower scale")
        return ""

    def _slices_done(self, result: SliceRangeResult) -> None:
        self._end_progress()
        req = result.request
        if req.fmt == "dcm" and result.written:  # what Send derived DICOM to PACS… offers
            self._pacs_files = list(result.written)
        n, done = len(req.items), len(result.written)
        folder = req.items[0][2].parent
        what = (f"{done} of {n} slices, {req.label} ×{req.scale:g}, written to {folder}"
                + (" as one derived series" if req.fmt == "dcm" and done > 1 else ""))
        if result.cancelled:
            title, text = "Cancelled", f"Stopped: {what}; each written file is complete."
        elif result.errors:
            title, text = "Some slices failed", what + "."
        else:
            title, text = f"Super-resolved {done} slices", what + f" in {result.seconds:.1f} s."
        self.controls.progress.setValue(0 if result.cancelled else 100)
        self.controls.set_job_text(title.lower() if result.cancelled else text)
        notes = slice_note_lines(result.per_slice) if result.per_slice else list(result.notes)
        lines = [f"failed: {e}" for e in result.errors] + notes
        if notes:
            self.notes.add(text, notes)
            self.notes_button.setText(f"Notes ({self.notes.count()})")
            self.notes_button.show()
        if self.slices_result is not None:
            self.slices_result.close()
        box = SliceRangeResultDialog(title, text, lines, bool(result.written), self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        written = list(result.written)
        box.openRequested.connect(lambda: self.open_derived(written))
        box.destroyed.connect(lambda _=None, b=box: setattr(self, "slices_result", None)
                              if self.slices_result is b else None)
        self.slices_result = box
        box.show()
        self.statusBar().showMessage(text, 10000)

    def open_derived(self, files: list[Path]) -> bool:
        """Open the files a slice range wrote, stepping through them as one series."""
        files = [Path(f) for f in files if Path(f).is_file()]
        if not files:
            return False
        if not self.open_file(files[0], stack=[(p, 0) for p in files]):
            return False
        self.statusBar().showMessage(f"Opened the derived series ({len(files)} file(s)): "
                                     "PgDn/PgUp step through it", 8000)
        return True

    def _output_size_accepted(self, roi: tuple[int, int, int, int], methods: list[str]) -> bool:
        """Refuse a result above the engine's limit; ask before a very large run."""
        from app.io.limits import MAX_OUTPUT_PIXELS

        scale, simulate = self.controls.scale(), self.controls.simulate_box.isChecked()
        w, h = roi[2], roi[3]
        if simulate:  # the LR input is the ROI ÷ s, its result about the ROI's size
            w, h = max(1, math.floor(w / scale + 1e-9)), max(1, math.floor(h / scale + 1e-9))
        oh, ow = output_size(h, w, scale)
        if oh * ow > MAX_OUTPUT_PIXELS:
            self.show_error(
                "Result too large",
                f"×{scale:g} of a {w}×{h} px region would be {ow}×{oh} px ({oh * ow / 1e6:.0f} "
                f"Mpx), more than the {MAX_OUTPUT_PIXELS / 1e6:.0f} Mpx one result may have: "
                "choose a smaller region or a lower scale")
            return False
        total = oh * ow * len(methods)
        if total <= CONFIRM_OUTPUT_PIXELS:
            return True
        gb = total * 4 * 3 / 1e9  # float32 results, their quality maps and display copies
        return self._confirm(
            "Large result",
            f"{len(methods)} result(s) of {ow}×{oh} px ({total / 1e6:.0f} Mpx in all) need about "
            f"{gb:.1f} GB of memory and may take minutes on a CPU "
            f"(one result may have at most {MAX_OUTPUT_PIXELS / 1e6:.0f} Mpx). Run anyway?")

    def _confirm(self, title: str, text: str) -> bool:
        """Ask a yes/no question (No is the default)."""
        answer = QMessageBox.question(self, title, text, QMessageBox.Yes | QMessageBox.No,
                                      QMessageBox.No)
        return answer == QMessageBox.Yes

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.controls.set_job_text("cancelling… (stops at the next tile)")
            self.statusBar().showMessage("Cancelling…")

    def _track_progress(self, job: SuperResolveJob | SliceRangeJob,
                        progress: RunProgress) -> None:
        """Measure ``job`` in tiles across its steps: one smooth bar with the time left."""
        self._progress, self._progress_text = progress, ""
        job.stepStarted.connect(self._step_started)
        job.tileDone.connect(self._tile_done)
        self._progress_timer.start()

    def _step_started(self, index: int) -> None:
        if self._progress is not None:
            self._progress.start(index)
            self._refresh_progress()

    def _tile_done(self, index: int, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.tile(index, done, total)
            self._refresh_progress()

    def _refresh_progress(self) -> None:
        """The bar from the tiles done (moving on within a tile), the label with the time left."""
        if self._progress is None:
            return
        self.controls.progress.setValue(self._progress.percent())
        left = self._progress.text()
        self.controls.set_job_text(" · ".join(t for t in (self._progress_text, left) if t))

    def _end_progress(self) -> None:
        self._progress_timer.stop()
        self._progress = None

    def _job_progress(self, percent: int, message: str) -> None:
        if self._progress is None:
            self.controls.progress.setValue(percent)
            self.controls.set_job_text(message)
            return
        self._progress_text = message
        if percent >= 100:
            self._progress.finish()
        self._refresh_progress()

    def _result_key(self, roi: tuple[int, int, int, int], methods: list[str],
                    request: JobRequest | None = None) -> tuple:
        """The session-cache key of a run of ``methods`` on ``roi`` of the shown slice with the
        current settings (or those of ``request``)."""
        assert self.image is not None
        here = slice_id(self.image.source_path, self.image.frame)
        # the display window reaches the pixels only through a "window" normalisation (the
        # engine's default is the value range): otherwise a W/L change keeps the results
        engine = sys.modules.get("models.inference")  # loaded with the engine; else: keep it
        by_window = getattr(engine, "DEFAULT_NORMALIZATION", "window") == "window"
        if request is not None:
            return result_key(here, request.roi, request.scale, request.methods,
                              request.simulate, request.precision,
                              request.window if by_window else None, request.value_range,
                              request.ensemble)
        return result_key(here, roi, self.controls.scale(), methods,
                          self.controls.simulate_box.isChecked(),
                          self.controls.precision_choice(),
                          self.canvas.window() if by_window else None,
                          self.image.normalization_range(), self.controls.best_quality())

    def _show_result(self, result: JobResult) -> None:
        """Show a run's panels and quality table (a new result, or one from the cache)."""
        self.last_result = result
        self.comparison.set_panels(self.build_panels(result), result.baseline,
                                   result.request.unit)
        self.comparison.set_spacing(self.image.pixel_spacing if self.image else None)
        self.comparison.set_stale(self._stale_reason(self.canvas.roi()))  # edited while running
        self.comparison.set_window(*self.canvas.window(),
                                   invert=self.image.invert if self.image else False,
                                   function=self.image.voi_function if self.image else None,
                                   lut=self.image.voi_lut if self.image else None)
        req = result.request
        ctx = (f"ROI {req.roi[2]}×{req.roi[3]} px · ×{req.scale:g} · "
               + ("reference = acquired ROI (simulated LR input)" if req.simulate
                  else "no reference"))
        if result.report is not None:
            self.quality.set_report(result.report, ctx)
            QTimer.singleShot(100, self._fit_quality_rows)  # once the table is laid out

    def _fit_quality_rows(self) -> None:
        """Give the quality table the height to show every method's row (up to 40 % of the
        window's central area; the panels keep the rest)."""
        missing = self.quality.rows_shortfall()
        if not missing:
            return
        top, bottom = self.main_splitter.sizes()
        grow = min(missing, max(0, int(0.4 * (top + bottom)) - bottom))
        if grow > 0:
            self.main_splitter.setSizes([top - grow, bottom + grow])

    def _job_succeeded(self, result: JobResult) -> None:
        self._end_progress()
        if self.image is not None:  # kept for the session (the whole image is not)
            kept = dataclasses.replace(result, request=dataclasses.replace(
                result.request, source_pixels=None))
            self.results_cache.put(self._result_key(result.request.roi, result.request.methods,
                                                    result.request), kept)
        self._show_result(result)
        done = f"Done in {result.seconds:.1f} s on {result.device.upper()}"
        notes = [f"{r.label}: {n}" for r in result.results
                 for n in getattr(r.info, "notes", None) or []]
        if notes:  # e.g. a flat region got bicubic pixels under a network's name: say so
            done += " — " + "; ".join(notes)
        self.controls.set_job_text(done)
        self.statusBar().showMessage(done, 8000)
        if result.errors:
            self.show_error("Some methods failed",
                            "\n".join(f"{METHOD_LABELS.get(m, m)}: {e}"
                                      for m, e in result.errors.items()))
        self.device_status.setText(f"device: {result.device.upper()}")

    def _job_failed(self, message: str) -> None:
        self._end_progress()
        self.controls.set_job_text("failed")
        self.show_error("Super-resolution failed", message)

    def _job_cancelled(self) -> None:
        self._end_progress()
        self.controls.progress.setValue(0)
        self.controls.set_job_text("cancelled")
        self.statusBar().showMessage("Cancelled", 5000)

    def _job_finished(self) -> None:
        self._end_progress()
        job, self._job = self._job, None
        if job is not None:
            job.deleteLater()
        self._update_run_state()

    def build_panels(self, result: JobResult) -> list[PanelData]:
        """Reference panel(s) then one panel per result, all over one scene rectangle."""
        req = result.request
        rows = {r.method: r for r in (result.report.rows if result.report else [])}
        panels: list[PanelData] = []
        if req.simulate and result.reference is not None:
            rh, rw = result.reference.shape[:2]
            extent = (float(rw), float(rh))
            panels.append(PanelData("input", "Simulated LR input", result.input_pixels,
                                    extent, kind="input",
                                    overlay=f"Simulated LR (bicubic ÷{req.scale:g}) — computed, "
                                            "not acquired"))
            panels.append(PanelData("reference", "Reference (acquired ROI)", result.reference,
                                    extent, kind="reference"))
        else:
            h, w = result.input_pixels.shape[:2]
            extent = (float(w), float(h))
            panels.append(PanelData("source", "Source ROI (nearest)", result.input_pixels, extent,
                                    kind="source"))
        for r in result.results:
            row = rows.get(r.method)
            panels.append(PanelData(r.method, r.label, r.pixels, extent, kind="sr",
                                    method=r.method, scale=req.scale, seconds=r.seconds,
                                    residual=row.residual if row is not None else None,
                                    info=r.info, overlay=sr_overlay_text(req.scale, r.method,
                                                            req.simulate),
                                    uncertainty=uncertainty_map(getattr(r.info, "uncertainty",
                                                                        None))))
        return panels

    # =========================================================================================
    # export
    # =========================================================================================
    def _fill_export_menu(self) -> None:
        self.export_menu.clear()
        panels = self.comparison.panel_data()
        if not panels:
            a = self.export_menu.addAction("(run Super-resolve first)")
            a.setEnabled(False)
            return
        for d in panels:
            self.export_menu.addAction(f"{d.title}…", lambda key=d.key: self.export_panel(key))
        maps = [d for d in panels if d.uncertainty is not None]
        if maps:
            self.export_menu.addSeparator()
        for d in maps:
            self.export_menu.addAction(f"{d.title} uncertainty map…",
                                       lambda key=d.key: self.export_uncertainty(key))

    def _export_roi(self, data: PanelData) -> tuple[int, int, int, int]:
        assert self.last_result is not None
        x, y, w, h = self.last_result.request.roi
        if self.last_result.request.simulate and data.kind != "input":
            rh, rw = data.extent[1], data.extent[0]
            return x, y, int(rw), int(rh)
        return x, y, w, h

    def export_panel(self, key: str, path: str | Path | None = None,
                     fmt: str | None = None) -> Path | None:
        """Export a panel (dialog when ``path`` is None); returns the written path or None."""
        panel = self.comparison.panel(key)
        if panel is None or self.image is None or self.last_result is None:
            self.show_error("Nothing to export", "Run Super-resolve first.")
            return None
        data = panel.data
        if path is None:
            chosen = self._ask_export_path(f"Export {data.title}", export_mod.suggested_name(
                self.image.source_path, data, "png"), export_mod.PANEL_FILTERS)
            if chosen is None:
                return None
            path, fmt = chosen
        fmt = fmt or export_mod.format_from(path)
        roi = self._export_roi(data)
        series_uid = (self._derived.uid_for(self.image, data.method, data.scale, roi)
                      if data.kind == "sr" else None)
        written = self._export_guarded(
            fmt, lambda: export_mod.export_panel(
                path, data, self.image, roi, self.canvas.window(), fmt,
                simulated=self.last_result.request.simulate, series_instance_uid=series_uid))
        if written is None:
            return None
        out = written.path
        if written.warnings:  # e.g. computed values clipped to the range the file can store
            self.add_notes(f"Exported {data.title} to {out}", list(written.warnings))
        else:
            self.statusBar().showMessage(f"Exported {data.title} to {out}", 6000)
        return out

    def add_notes(self, title: str, lines: list[str]) -> None:
        """Say in the status bar that ``title`` came with notes and list them in the non-modal
        Notes area (the status bar's Notes button), without a dialog popping up."""
        self.notes.add(title, lines)
        self.notes_button.setText(f"Notes ({self.notes.count()})")
        self.notes_button.show()
        first = lines[0] if len(lines) == 1 else f"{len(lines)} notes"
        self.statusBar().showMessage(f"{title} — {first} (Notes in the status bar)", 15000)

    def show_notes(self) -> NotesDialog:
        """The Notes area, non-modal."""
        self.notes.show()
        self.notes.raise_()
        return self.notes

    def _ask_export_path(self, caption: str, name: str, filters: dict[str, str]
                         ) -> tuple[str, str] | None:
        """The save dialog of an export, starting in the last export folder: (path, format), or
        None when cancelled."""
        start = Path(str(self.settings.value("lastExportDir", "") or
                         self.settings.value("lastDir", str(Path.home()))))
        chosen, flt = QFileDialog.getSaveFileName(self, caption, str(start / name),
                                                  ";;".join(filters.values()))
        if not chosen:
            return None
        return chosen, export_mod.format_from(chosen, flt)

    def _export_guarded(self, fmt: str, write: Callable[[], Any]) -> Any:
        """Run an export's ``write()``; a failure is shown (None returned). A DICOM written
        becomes what Send to PACS offers, and its folder the next export's start."""
        try:
            written = write()
        except (ImageIOError, ValueError, OSError) as exc:
            self.show_error("Export failed", str(exc))
            return None
        except Exception as exc:
            log.exception("export failed")
            self.show_error("Export failed", readable_error(exc))
            return None
        if fmt == "dcm":
            self._pacs_files = [Path(written.path)]
        self.settings.setValue("lastExportDir", str(Path(written.path).parent))
        return written

    def _export_requested(self, key: str) -> None:
        """A panel's export button: the uncertainty map while the Uncertainty view shows one,
        else the panel's pixels."""
        panel = self.comparison.panel(key)
        if (self.comparison.mode() == "uncertainty" and panel is not None
                and panel.data.uncertainty is not None):
            self.export_uncertainty(key)
        else:
            self.export_panel(key)

    def export_uncertainty(self, key: str, path: str | Path | None = None,
                           fmt: str | None = None) -> Path | None:
        """Export a result panel's computed uncertainty map (dialog when ``path`` is None): PNG
        with colour bar, 16-bit TIFF or DICOM Secondary Capture; the written path or None."""
        panel = self.comparison.panel(key)
        if panel is None or self.image is None or self.last_result is None:
            self.show_error("Nothing to export", "Run Super-resolve first.")
            return None
        data = panel.data
        if path is None:
            chosen = self._ask_export_path(
                f"Export the {data.title} uncertainty map",
                export_mod.suggested_name(self.image.source_path, data, "png", uncertainty=True),
                export_mod.UNCERTAINTY_FILTERS)
            if chosen is None:
                return None
            path, fmt = chosen
        fmt = fmt or export_mod.format_from(path)
        written = self._export_guarded(  # the PNG's colour scale is the one the panels share
            fmt, lambda: export_mod.export_uncertainty(
                path, data, self.image, self._export_roi(data), fmt,
                top=self.comparison.uncertainty_top(),
                simulated=self.last_result.request.simulate))
        if written is None:
            return None
        out = written.path
        self.statusBar().showMessage(f"Exported the {data.title} uncertainty map to {out}", 6000)
        return out

    def export_sheet(self, path: str | Path | None = None) -> Path | None:
        """Export the comparison as one labelled PNG."""
        panels = self.comparison.panel_data()
        if not panels or self.last_result is None or self.image is None:
            self.show_error("Nothing to export", "Run Super-resolve first.")
            return None
        if path is None:
            start = Path(str(self.settings.value("lastExportDir", "") or
                             self.settings.value("lastDir", str(Path.home()))))
            scale = self.last_result.request.scale
            name = f"{self.image.source_path.stem}_comparison_x{scale:g}.png"
            chosen, _ = QFileDialog.getSaveFileName(self, "Export comparison sheet",
                                                    str(start / name), export_mod.SHEET_FILTER)
            if not chosen:
                return None
            path = chosen
        req = self.last_result.request
        header = export_mod.sheet_header(self.image.source_path.name, req.roi, req.scale,
                                         self.canvas.window(), self.image.value_unit,
                                         VIEW_MODES[self.comparison.mode()], req.simulate,
                                         self.image.voi_function, self.image.voi_lut,
                                         patient_id=self._patient_id(),
                                         orientation=self.image.image_orientation)
        scale = self.comparison.colour_scale()
        if scale is not None:  # the heat maps' colour bar, in words
            unit = f" {scale[1]}" if scale[1] else ""
            header += (f"\nComputed uncertainty maps (SD of 8 flipped/rotated runs): inferno "
                       f"colour scale from 0 (black) to {format_number(scale[0], significant=3)}"
                       f"{unit} (pale yellow) and above")
        items = [(d, self.comparison.render_panel(d)[0]) for d in panels]
        try:
            sheet = export_mod.render_sheet(items, header, quality=self.last_result.report,
                                            quality_context=self.quality.context())
            out = export_mod.save_image_atomic(sheet, path, sources=[self.image.source_path])
        except (ImageIOError, OSError) as exc:  # e.g. the name of a source image
            self.show_error("Export failed", str(exc))
            return None
        self.settings.setValue("lastExportDir", str(Path(out).parent))
        self.statusBar().showMessage(f"Comparison sheet saved to {out}", 6000)
        return out

    def _patient_id(self) -> str:
        """The shown image's PatientID ("" for a raster file or a DICOM without one)."""
        ds = getattr(self.image, "dataset", None)
        return str(ds.get("PatientID", "") or "").strip() if ds is not None else ""

    # =========================================================================================
    # PACS (dialogs: pacs_dialog.py; network: app.net)
    # =========================================================================================
    def open_pacs_dialog(self) -> Any:
        """File ▸ Open from PACS…: search, retrieve in the background, then open the series
        as a folder is opened."""
        from .pacs_dialog import PacsDialog

        self._pacs_dialog = PacsDialog(self, settings=self.settings)
        self._pacs_dialog.seriesRetrieved.connect(self.open_folder)
        self._pacs_dialog.open()
        return self._pacs_dialog

    def send_to_pacs_dialog(self, files: list[str | Path] | None = None) -> Any:
        """Send the last derived DICOM export or slice-range series to a PACS (C-STORE, a
        result per instance); with none yet, DICOM files are chosen."""
        from .pacs_dialog import SendDialog

        chosen = list(files) if files is not None else list(getattr(self, "_pacs_files", []))
        if not chosen:
            start = str(self.settings.value("lastExportDir", "") or Path.home())
            chosen, _ = QFileDialog.getOpenFileNames(self, "Derived DICOM files to send", start,
                                                     "DICOM (*.dcm);;All files (*)")
            if not chosen:
                return None
        self._send_dialog = SendDialog(chosen, self, settings=self.settings)
        self._send_dialog.open()
        return self._send_dialog

    # =========================================================================================
    # menus, messages, help
    # =========================================================================================
    def _canvas_menu(self, pos: QPoint) -> None:
        m = QMenu(self)
        for i, (name, (c, w)) in enumerate(self._presets):
            m.addAction(f"{name} — {format_window(c, w)}", lambda i=i: self.apply_preset(i))
        if self._presets:
            m.addSeparator()
        m.addAction("Reset window", self._reset_window)
        m.addAction("Fit image", self.canvas.fit)
        m.addAction("Whole image as ROI", self._whole_image)
        m.addAction("Clear ROI", lambda: self.canvas.set_roi(None))
        m.popup(pos)

    def _panel_menu(self, key: str, pos: QPoint) -> None:
        panel = self.comparison.panel(key)
        if panel is None:
            return
        m = QMenu(self)
        m.addAction(f"Export {panel.data.title}…", lambda: self.export_panel(key))
        if panel.data.uncertainty is not None:
            m.addAction(f"Export {panel.data.title} uncertainty map…",
                        lambda: self.export_uncertainty(key))
        m.addAction("Export comparison sheet…", self.export_sheet)
        m.addSeparator()
        m.addAction("Fit panels", self.comparison.fit_all)
        m.addAction("Reset window", self._reset_window)
        m.popup(pos)

    def show_error(self, title: str, message: str) -> None:
        """Status bar + a non-modal message box (never a traceback)."""
        self.statusBar().showMessage(f"{title}: {message.splitlines()[0] if message else ''}",
                                     10000)
        box = self._msg_box
        if box is None:
            box = QMessageBox(self)
            box.setIcon(QMessageBox.Warning)
            box.setWindowModality(Qt.NonModal)
            box.setStandardButtons(QMessageBox.Close)
            self._msg_box = box
        box.setWindowTitle(title)
        box.setText(f"<b>{title}</b>")
        box.setInformativeText(message)
        box.show()

    def last_message(self) -> str:
        return self._msg_box.informativeText() if self._msg_box is not None else ""

    def copy_diagnostics(self) -> str:
        text = diagnostics_text(self.engine, self.controls.scale(), self.image, self.last_result)
        QApplication.clipboard().setText(text)
        self.statusBar().showMessage("Diagnostics copied to the clipboard", 4000)
        return text

    def shortcut_table(self) -> list[tuple[str, str, str]]:
        """(menu, command, keys) of every menu command with a shortcut, read from the menus
        themselves (so the list never disagrees with them), then the image's own keys and
        mouse gestures (:data:`CANVAS_KEYS`)."""
        rows: list[tuple[str, str, str]] = []

        def walk(menu: QMenu, path: str) -> None:
            for action in menu.actions():
                if action.menu() is not None:
                    walk(action.menu(), f"{path} ▸ {action.menu().title().replace('&', '')}")
                elif not action.isSeparator():
                    keys = ", ".join(k.toString(QKeySequence.NativeText)
                                     for k in action.shortcuts() if not k.isEmpty())
                    if keys:
                        rows.append((path, action.text().replace("&", ""), keys))

        for top in self.menuBar().actions():
            if top.menu() is not None:
                walk(top.menu(), top.menu().title().replace("&", ""))
        wheel = ("Mouse wheel zooms (View menu)" if self.act_wheel_zooms.isChecked()
                 else "Wheel: slices; Ctrl+wheel: zoom")
        rows += [("Image", command, keys) for command, keys in CANVAS_KEYS]
        rows.append(("Image", "Slices and zoom", wheel))
        return rows

    def show_shortcuts(self) -> QDialog:
        """Help ▸ Keyboard shortcuts: a non-modal table made from :meth:`shortcut_table`."""
        from PyQt5.QtWidgets import QDialogButtonBox, QTextBrowser

        rows = "".join(f"<tr><td>{escape(m)}</td><td>{escape(c)}</td><td><b>{escape(k)}</b>"
                       f"</td></tr>" for m, c, k in self.shortcut_table())
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        text = QTextBrowser(dialog)
        text.setHtml("<table cellpadding='3'><tr><th align='left'>Where</th><th align='left'>"
                     f"Command</th><th align='left'>Keys</th></tr>{rows}</table>")
        buttons = QDialogButtonBox(QDialogButtonBox.Close, parent=dialog)
        buttons.rejected.connect(dialog.close)
        lay = QVBoxLayout(dialog)
        lay.addWidget(text)
        lay.addWidget(buttons)
        avail = self.available_geometry()
        dialog.resize(min(640, avail.width() - 40), min(560, avail.height() - 80))
        dialog.show()
        return dialog

    def _about(self) -> None:
        box = QMessageBox(self)
        box.setWindowModality(Qt.NonModal)
        box.setWindowTitle("About RMISR Viewer")
        box.setText("<b>RMISR Viewer</b> — medical image super-resolution (RMISR, pyramidal "
                    "feature multi-distillation network) with Bicubic and SRCNN for comparison.")
        box.setInformativeText("Super-resolved pixels are computed, not acquired. Research "
                               "software: not for diagnostic use.")
        box.show()

    # =========================================================================================
    # window events
    # =========================================================================================
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_files(paths)

    def closeEvent(self, event) -> None:
        """Cancel a running job and wait for it (and the engine loader); a thread that has not
        stopped within ``CLOSE_WAIT_MS`` keeps the window open until it has — destroying a
        running QThread would abort the process."""
        self.save_settings()
        if self._job is not None:
            self._job.cancel()
        self._stop_scans()
        busy = [t for t in (self._job, self._loader, *self._scans)
                if t is not None and t.isRunning()]
        for thread in busy:
            thread.wait(CLOSE_WAIT_MS)
        still = [t for t in busy if t.isRunning()]
        if still:
            event.ignore()
            self.statusBar().showMessage("Stopping the running work: the window closes when it "
                                         "has stopped")
            for thread in still:
                thread.finished.connect(self.close, Qt.QueuedConnection)
            return
        super().closeEvent(event)
