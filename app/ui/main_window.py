"""The main window: source canvas, comparison panels, quality table, controls dock.

``MainWindow(resolver=None, settings=None, weights_dir=None, device=None)`` — a SuperResolver and
a QSettings can be injected (tests, self-test); otherwise the engine is created in a background
thread after the window appears (torch takes seconds to import), then warmed up (``warm_up``:
the ticked networks' weights and one tiny forward, in the background), and settings go to
``QSettings("RMISR", "RMISR Viewer")``.

The window keeps the window itself: its layout and docks, the status bar, drops, settings and
closing. What is open and the decisions about it live in :class:`app.session.ViewerSession`;
opening and stepping, running, exports and window/level are small controllers
(``open_controller``, ``run_controller``, ``export_controller``, ``window_level``); the menus
are the table in ``menus``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt5.QtCore import QRect, QSettings, Qt, QTimer
from PyQt5.QtWidgets import (
    QAction,
    QActionGroup,
    QApplication,
    QDialog,
    QDockWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.io import ImageData
from app.jobs import JobResult
from app.result_cache import ResultCache
from app.session import ViewerSession

from . import menus, window_settings
from .ask import confirm
from .canvas import ImageCanvas
from .controls import ControlsPanel
from .diagnostics import diagnostics_text
from .drops import FileDrops
from .elided_label import ElidedLabel
from .export_controller import ExportController
from .measure_controller import MeasureController
from .notes import NotesDialog
from .open_controller import OpenController
from .panel_data import VIEW_MODES
from .panels import ComparisonView
from .quality_table import QualityTable
from .run_controller import RunController
from .series_picker import SeriesPickerDialog
from .slices import SliceRangeChoice, SliceRangeResultDialog
from .window_level import WindowLevelController
from .worker import Engine

APP_ORG, APP_NAME = "RMISR", "RMISR Viewer"
#: Room left for the window manager's frame (borders, title bar) when sizing to the screen.
FRAME_ALLOWANCE = (16, 40)
#: The Measure menu's entries the Controls show as buttons, with the buttons' text.
TOOL_BUTTONS = {"tool_none": "Region (S)", "tool_distance": "Distance (D)",
                "tool_angle": "Angle (A)", "tool_ellipse": "Ellipse (E)",
                "tool_rectangle": "Rectangle (R)", "clear_annotations": "Clear slice"}
#: How long closing the window waits for a cancelled job to stop before it defers the close.
CLOSE_WAIT_MS = 10_000


def fitted_size(wanted: tuple[int, int], available: tuple[int, int],
                frame: tuple[int, int] = FRAME_ALLOWANCE) -> tuple[int, int]:
    """The window size (logical pixels, frame excluded) for ``wanted`` on a screen whose
    available area is ``available`` (logical pixels: ``QScreen.availableGeometry``, the same
    numbers on a 2× screen): never more than that area less the window ``frame``."""
    return (max(1, min(wanted[0], available[0] - frame[0])),
            max(1, min(wanted[1], available[1] - frame[1])))


class MainWindow(FileDrops, QMainWindow):
    """The RMISR Viewer main window.

    Attributes:
        session: the viewer's state (:class:`ViewerSession`).
        opening: opens files, folders and drops and steps slices (:class:`OpenController`).
        runs: the engine and the jobs (:class:`RunController`).
        exports: the exports and the PACS dialogs (:class:`ExportController`).
        levels: window/level and the presets (:class:`WindowLevelController`).
        measure: the measuring tools, the annotations and undo/redo (:class:`MeasureController`).
    """

    def __init__(self, resolver: Any = None, settings: QSettings | None = None,
                 weights_dir: str | Path | None = None, device: str | None = None,
                 load_engine: bool = True, warm_up: bool | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings(APP_ORG, APP_NAME)
        dev = device or str(self.settings.value("device", "auto"))
        self.engine = Engine(resolver, dev, weights_dir)
        self.session = ViewerSession()
        self._msg_box: QMessageBox | None = None
        self.opening = OpenController(self)
        self.runs = RunController(self)
        self.runs.warm_up_enabled = resolver is None if warm_up is None else warm_up
        self.exports = ExportController(self)
        self.levels = WindowLevelController(self)
        self.measure = MeasureController(self)
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_menus()
        self._build_status_bar()
        self.measure.connect()
        self.session.events.roi.connect(self._show_roi)
        self.session.events.settings.connect(self._show_roi)
        self.session.events.stack.connect(self.opening.show_stack_state)
        self._restore_settings()
        self.runs.refresh_availability()
        if load_engine:
            QTimer.singleShot(0, self.runs.load_engine)

    # -- the session's state, as the window's -----------------------------------------------
    @property
    def image(self) -> ImageData | None:
        """The shown slice."""
        return self.session.image

    @property
    def last_result(self) -> JobResult | None:
        """The result the panels show."""
        return self.session.last_result

    @property
    def results_cache(self) -> ResultCache:
        """This session's results per slice and settings."""
        return self.session.results

    @property
    def series_picker(self) -> SeriesPickerDialog | None:
        """The series picker while a folder asks which series to open."""
        return self.opening.series_picker

    @property
    def slices_result(self) -> SliceRangeResultDialog | None:
        """The open result box of the last slice range."""
        return self.runs.slices_result

    def keyPressEvent(self, event: Any) -> None:
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
        self._connect_widgets()

    def _connect_widgets(self) -> None:
        c = self.canvas
        c.roiChanged.connect(self.session.set_roi)
        c.windowChanged.connect(lambda ce, w: self.set_window(ce, w, from_canvas=True))
        c.cursorMoved.connect(self._cursor_moved)
        c.fileDropped.connect(self.open_files)
        c.measured.connect(self._measured)
        c.contextMenuAt.connect(self.levels.canvas_menu)
        c.sliceStepRequested.connect(self._wheel_step)
        k = self.controls
        k.scaleChanged.connect(self._scale_changed)
        k.methodsChanged.connect(self._methods_changed)
        k.deviceChanged.connect(self.runs.set_device)
        k.runRequested.connect(self.run)
        k.cancelRequested.connect(self.cancel)
        k.presetChosen.connect(self.levels.preset_index_chosen)
        k.watch_preset_keys(menus.NavigationKeysTo(self.canvas, self))
        k.viewModeChanged.connect(self.comparison.set_mode)
        k.loupeToggled.connect(self.comparison.set_loupe)
        k.fitRequested.connect(self.canvas.fit)
        k.wholeImageRequested.connect(self.whole_image)
        for changed in (k.simulateChanged, k.ensembleChanged, k.precisionChanged):
            changed.connect(self._sync_settings)
        cmp_ = self.comparison
        cmp_.exportRequested.connect(self.exports.export_requested)
        cmp_.windowDragged.connect(self.levels.panel_window_drag)
        cmp_.valueAt.connect(self._panel_value)
        cmp_.measured.connect(self._measured)
        cmp_.contextMenuAt.connect(self.exports.panel_menu)
        cmp_.sliceStepRequested.connect(self._wheel_step)
        self.quality.residualRequested.connect(lambda: self.controls.set_view_mode("residual"))

    def _build_menus(self) -> None:
        self.menus = menus.build_menus(self.menuBar(), self, self._menu_section)
        acts, subs = self.menus.actions, self.menus.submenus
        self.act_run, self.act_slices, self.act_cancel = acts["run"], acts["slices"], \
            acts["cancel"]
        self.act_overlay, self.act_wheel_zooms = acts["overlay"], acts["wheel_zooms"]
        self.act_actual_pixels, self.act_loupe = acts["actual_pixels"], acts["loupe"]
        self.recent_menu, self.preset_menu = subs["recent"], subs["presets"]
        self.export_menu = subs["export"]
        self.export_menu.aboutToShow.connect(self.exports.fill_export_menu)
        self.controls.loupeToggled.connect(self.act_loupe.setChecked)
        for key, short in TOOL_BUTTONS.items():
            acts[key].setIconText(short)
        self.controls.set_tool_actions([acts[key] for key in TOOL_BUTTONS])
        self.opening.rebuild_recent_menu()

    def _menu_section(self, section: str, menu: QMenu) -> None:
        """The view modes, one checkable entry each, in step with the controls' choice."""
        assert section == "view_modes", section
        group = QActionGroup(self)
        self.view_actions: dict[str, QAction] = {}
        for key, label in VIEW_MODES.items():
            a = menu.addAction(label)
            a.setCheckable(True)
            a.setChecked(key == "image")
            a.setActionGroup(group)
            a.triggered.connect(lambda _c=False, key=key: self.controls.set_view_mode(key))
            self.view_actions[key] = a
        self.controls.viewModeChanged.connect(lambda m: self.view_actions[m].setChecked(True))

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

    # =========================================================================================
    # settings and screen
    # =========================================================================================
    def _restore_settings(self) -> None:
        window_settings.restore(self)
        self._sync_settings()

    def save_settings(self) -> None:
        """Remember the run settings, the window's geometry and layout, and the display options."""
        window_settings.save(self)

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

    def show_title(self, name: str) -> None:
        """The window's title for an opened file."""
        self.setWindowTitle(f"{APP_NAME} — {name}")

    def set_wheel_zooms(self, zooms: bool) -> None:
        """The mouse wheel zooms (True, the earlier convention) or pages slices with Ctrl+wheel
        zooming (False, the default); remembered in the settings."""
        self.canvas.wheel_zooms = self.comparison.wheel_zooms = bool(zooms)
        if self.act_wheel_zooms.isChecked() != bool(zooms):
            self.act_wheel_zooms.setChecked(bool(zooms))
        self.settings.setValue("wheelZooms", bool(zooms))

    # =========================================================================================
    # the controls and the session
    # =========================================================================================
    def _sync_settings(self, *_: Any) -> None:
        """The controls' run settings into the session (whose views follow)."""
        self.session.set_settings(self.controls.run_settings())

    def _scale_changed(self, scale: float) -> None:
        self.settings.setValue("scale", scale)
        self._sync_settings()
        self.runs.refresh_availability()

    def _methods_changed(self, _methods: list) -> None:
        self.settings.setValue("methods", self.controls.checked_methods())
        self._sync_settings()
        self.update_run_state()

    def _show_roi(self, *_: Any) -> None:
        """The region's description, the results' outdated mark and what can run now."""
        self.controls.set_roi_text(self.session.roi_text())
        self.comparison.set_stale(self.session.stale_reason())
        self.update_run_state()

    def update_run_state(self) -> None:
        """Enable Super-resolve, Cancel and the menu commands for the current state."""
        running = self.is_running()
        image, roi = self.session.image is not None, self.session.roi is not None
        self.controls.set_running(running, ready=image and roi
                                  and bool(self.controls.selected_methods()))
        menus.refresh_enabled(self.menus, running, image, roi)

    def _cursor_moved(self, info: Any) -> None:
        if info is None or self.session.image is None:
            self.cursor_label.setText("")
        else:
            self.cursor_label.setText(self.session.cursor_text(*info))

    def _panel_value(self, info: Any) -> None:
        if info is None or self.session.image is None:
            self.cursor_label.setText("")
        else:
            self.cursor_label.setText(self.session.panel_value_text(*info))

    def _measured(self, text: Any) -> None:
        if text:
            self.statusBar().showMessage(f"Distance: {text} (Esc clears)", 10000)

    def _wheel_step(self, delta: int) -> None:
        if self.session.image is not None:
            self.step_slice(delta)

    # =========================================================================================
    # opening and stepping (OpenController)
    # =========================================================================================
    def open_file(self, path: str | Path, remember: bool = True,
                  stack: list[tuple[Path, int]] | None = None) -> bool:
        """Read and show an image (a folder opens as :meth:`open_folder`)."""
        return self.opening.open_file(path, remember, stack)

    def open_files(self, paths: list[str | Path]) -> bool:
        """Open dropped files, stepping through all of them."""
        return self.opening.open_files(paths)

    def open_folder(self, folder: str | Path) -> bool:
        """Open a folder's series (scanned in the background; a picker when several)."""
        return self.opening.open_folder(folder)

    def open_sample(self) -> bool:
        """Open the bundled sample."""
        return self.opening.open_sample()

    def open_derived(self, files: list[Path]) -> bool:
        """Open the files a slice range wrote as one series."""
        return self.opening.open_derived(files)

    def set_image(self, img: ImageData, default_roi: bool = True, keep_view: bool = False) -> None:
        """Show an already read image (``keep_view``: the next slice of the one shown)."""
        self.opening.show_image(img, default_roi, keep_view)

    def stack(self) -> list[tuple[Path, int]]:
        """The (file, frame) items PgUp/PgDn step through."""
        return list(self.session.stack)

    def step_slice(self, delta: int) -> bool:
        """Show the slice ``delta`` steps along the stack; False when nothing changed."""
        return self.opening.step_slice(delta)

    def series_scan_running(self) -> bool:
        """Whether a folder or series listing is still running."""
        return self.opening.scan_running()

    def recent_files(self) -> list[str]:
        """The files opened lately, the latest first."""
        return self.opening.recent_files()

    # =========================================================================================
    # the region and the display window
    # =========================================================================================
    def set_roi(self, roi: tuple[int, int, int, int] | None) -> None:
        """Set the region of interest (undoable)."""
        self.canvas.set_roi(roi)

    def undo_roi(self) -> bool:
        """Edit ▸ Undo (Ctrl+Z): the last change of the region, an annotation or the
        window/level; False when there is none."""
        return self.measure.undo()

    def whole_image(self) -> None:
        """The whole image as the region of interest."""
        roi = self.session.whole_image()
        if roi is not None:
            self.canvas.set_roi(roi)

    def set_window(self, center: float, width: float, from_canvas: bool = False) -> None:
        """Apply one display window to the canvas and every panel."""
        self.levels.set_window(center, width, from_canvas)

    def window(self) -> tuple[float, float]:
        """The display window (centre, width)."""
        return self.canvas.window()

    def presets(self) -> list[tuple[str, tuple[float, float]]]:
        """The shown image's named windows."""
        return list(self.session.presets)

    def apply_preset(self, index: int) -> None:
        """Apply the ``index``-th named window."""
        self.levels.apply_preset(index)

    def reset_window(self) -> None:
        """Back to the file's own window."""
        self.levels.reset_window()

    def set_presets_path(self, path: str | Path) -> None:
        """Use a window-presets JSON file ('' = the bundled one)."""
        self.levels.set_presets_path(path)

    # =========================================================================================
    # running (RunController) and exports (ExportController)
    # =========================================================================================
    def is_running(self) -> bool:
        """Whether a job runs."""
        return self.runs.is_running()

    def run(self) -> bool:
        """Super-resolve the region with the current settings; False when nothing started."""
        return self.runs.run()

    def super_resolve_slices(self, choice: SliceRangeChoice | None = None,
                             overwrite: bool | None = None) -> bool:
        """Super-resolve the region over a range of slices into files."""
        return self.runs.super_resolve_slices(choice, overwrite)

    def cancel(self) -> None:
        """Stop the running job at its next tile."""
        self.runs.cancel()

    def export_panel(self, key: str, path: str | Path | None = None,
                     fmt: str | None = None) -> Path | None:
        """Export a panel (dialog when ``path`` is None); the written path or None."""
        return self.exports.export_panel(key, path, fmt)

    def export_uncertainty(self, key: str, path: str | Path | None = None,
                           fmt: str | None = None) -> Path | None:
        """Export a result panel's uncertainty map; the written path or None."""
        return self.exports.export_uncertainty(key, path, fmt)

    def export_sheet(self, path: str | Path | None = None) -> Path | None:
        """Export the comparison as one labelled PNG; the written path or None."""
        return self.exports.export_sheet(path)

    def open_pacs_dialog(self) -> Any:
        """File ▸ Open from PACS…"""
        return self.exports.open_pacs_dialog()

    def send_to_pacs_dialog(self, files: list[str | Path] | None = None) -> Any:
        """Send derived DICOM files to a PACS."""
        return self.exports.send_to_pacs_dialog(files)

    # =========================================================================================
    # messages, notes, help
    # =========================================================================================
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

    def message_box(self) -> QMessageBox | None:
        """The non-modal message box of :meth:`show_error` (None before the first message)."""
        return self._msg_box

    def last_message(self) -> str:
        """The text of the last message shown."""
        return self._msg_box.informativeText() if self._msg_box is not None else ""

    def confirm(self, title: str, text: str) -> bool:
        """Ask a yes/no question (No is the default)."""
        return confirm(self, title, text)

    def show_notes(self) -> NotesDialog:
        """The Notes area, non-modal."""
        self.notes.show()
        self.notes.raise_()
        return self.notes

    def copy_diagnostics(self) -> str:
        """Help ▸ Copy diagnostics: versions, device, weights and the last run, to the
        clipboard."""
        text = diagnostics_text(self.engine, self.controls.scale(), self.session.image,
                                self.session.last_result)
        QApplication.clipboard().setText(text)
        self.statusBar().showMessage("Diagnostics copied to the clipboard", 4000)
        return text

    def shortcut_table(self) -> list[tuple[str, str, str]]:
        """(menu, command, keys) of every menu command with keys, from the menu table (the
        window presets from the presets menu's entries), then the image's own keys and mouse
        gestures (:data:`menus.CANVAS_KEYS`)."""
        return menus.shortcut_rows(
            self.menus, lambda sub: self.levels.shortcut_rows() if sub == "presets" else [],
            self.act_wheel_zooms.isChecked())

    def show_shortcuts(self) -> QDialog:
        """Help ▸ Keyboard shortcuts: a non-modal table made from :meth:`shortcut_table`."""
        return menus.shortcuts_dialog(self, self.shortcut_table(), self.available_geometry())

    def about(self) -> QMessageBox:
        """Help ▸ About."""
        return menus.about_box(self)

    # =========================================================================================
    # window events
    # =========================================================================================
    def files_dropped(self, paths: list[str]) -> None:
        """Local files dropped on the window: opened (:meth:`open_files`)."""
        self.open_files(paths)

    def closeEvent(self, event) -> None:
        """Cancel a running job and wait for it (and the engine loader); a thread that has not
        stopped within ``CLOSE_WAIT_MS`` keeps the window open until it has — destroying a
        running QThread would abort the process."""
        self.save_settings()
        self.runs.stop()
        self.opening.stop_scans()
        busy = [t for t in (*self.runs.threads(), *self.opening.threads())
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
