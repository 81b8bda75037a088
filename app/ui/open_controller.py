"""Opening and stepping: files, folders (scanned off the GUI thread, a series picker when they
hold several), drops, recent files, and PgDn/PgUp along the stack.

What to open and where a step lands is decided by :class:`app.session.ViewerSession`; this
controller runs the dialogs and the background scans and shows the result.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import QObject, Qt, QTimer
from PyQt5.QtWidgets import QApplication, QDialog, QFileDialog

from app.formatting import readable_error
from app.io import (
    SAMPLE_PATH,
    ImageData,
    ImageIOError,
    corner_texts,
    image_edge_labels,
    read_image,
)
from app.session import StackItem, StepOutcome, folder_outcome

from .series_picker import SeriesPickerDialog
from .worker import FolderScan, SeriesScan

if TYPE_CHECKING:
    from .main_window import MainWindow

log = logging.getLogger(__name__)

#: A folder's series found while a dialog is open or a job runs opens this much later (retried).
FOLDER_RETRY_MS = 400
MAX_RECENT = 8
#: "All files" first: DICOM from a PACS export or a patient CD often has no extension (IM000001)
OPEN_FILTER = ("All files, DICOM without extension included (*);;"
               "Images (*.dcm *.dicom *.ima *.png *.jpg *.jpeg *.tif *.tiff *.bmp);;"
               "DICOM (*.dcm *.dicom *.ima);;PNG / JPEG / TIFF (*.png *.jpg *.jpeg *.tif *.tiff)")


class OpenController(QObject):
    """Opens images, folders and drops into the window, and steps along the stack.

    Attributes:
        series_picker: the series picker while a folder asks which series to open.
    """

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.session = win.session
        self.series_picker: SeriesPickerDialog | None = None
        self._scans: list[FolderScan | SeriesScan] = []  # background listings (headers)

    def threads(self) -> list[Any]:
        """The background scans still referenced (for closing)."""
        return list(self._scans)

    def scan_running(self) -> bool:
        """Whether a folder or series listing is still running."""
        return any(s.isRunning() for s in self._scans)

    def stop_scans(self) -> None:
        """Interrupt the listings still running for what was open (their results are ignored
        anyway): they stop at their next file."""
        for scan in self._scans:
            scan.requestInterruption()

    def _track(self, scan: FolderScan | SeriesScan) -> None:
        scan.finished.connect(lambda: self._scans.remove(scan) if scan in self._scans else None)
        self._scans.append(scan)

    def _refuse_while_running(self, what: str) -> bool:
        if self.win.is_running():
            self.win.statusBar().showMessage(f"A job is running: cancel it before {what}", 5000)
            return True
        return False

    # -- dialogs ---------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """File ▸ Open."""
        start = str(self.win.settings.value("lastDir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self.win, "Open image", start, OPEN_FILTER)
        if path:
            self.open_file(path)

    def open_folder_dialog(self) -> None:
        """File ▸ Open folder."""
        start = str(self.win.settings.value("lastDir", str(Path.home())))
        folder = QFileDialog.getExistingDirectory(self.win, "Open a folder of DICOM files", start)
        if folder:
            self.open_folder(folder)

    # -- folders ---------------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> bool:
        """Open a DICOM image series in ``folder`` (subfolders included: a CD's or a PACS
        export's layout) and step through it with PgDn/PgUp: the only one, or the one chosen
        in a series picker (:class:`SeriesPickerDialog`, the largest first) when there are
        several; a folder of raster slices (PNG, TIFF, …) steps through those, in natural order.

        The headers are read in the background (:class:`FolderScan`) and the window stays
        usable; the series opens when the scan ends, unless another file was opened meanwhile.
        Returns False when the scan cannot start (a job is running)."""
        if self._refuse_while_running("opening a folder"):
            return False
        self.stop_scans()
        generation = self.session.supersede_scans()
        scan = FolderScan(Path(folder), self)
        scan.found.connect(lambda f, series: self._folder_found(generation, f, series))
        scan.failed.connect(lambda f, msg: self._folder_failed(generation, f, msg))
        scan.finished.connect(QApplication.restoreOverrideCursor)
        self._track(scan)
        QApplication.setOverrideCursor(Qt.BusyCursor)  # busy, but the window still answers
        self.win.statusBar().showMessage(f"Reading the DICOM headers in {folder}…")
        scan.start()
        return True

    def _folder_failed(self, generation: int, folder: Path, message: str) -> None:
        if not self.session.is_current(generation):  # another file or folder was opened since
            return
        self.win.statusBar().clearMessage()
        self.win.show_error("Cannot read the folder", f"{folder}: {message}")

    def _folder_found(self, generation: int, folder: Path, series: list) -> None:
        if not self.session.is_current(generation):  # another file or folder was opened since
            return
        if QApplication.activeModalWidget() is not None or self.win.is_running():
            # never swap the image under an open dialog or a running job: open it after them
            QTimer.singleShot(FOLDER_RETRY_MS, lambda: self._folder_found(
                generation, folder, series))
            return
        outcome = folder_outcome(series)
        if outcome == "empty":
            self.win.statusBar().clearMessage()
            self.win.show_error("No images in the folder",
                                f"{folder}: no DICOM file with pixel data and no PNG, JPEG, "
                                "TIFF or BMP image was found (DICOMDIR indexes, reports and "
                                "other files are skipped).")
            return
        if outcome == "open":
            self._open_series(series[0], 1)
            return
        self.win.statusBar().showMessage(f"{len(series)} series in {folder}: choose one", 8000)
        dialog = SeriesPickerDialog(folder, series, self.win)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        self.series_picker = dialog

        def done(result: int) -> None:
            self.series_picker = None
            chosen = dialog.chosen()
            if result == QDialog.Accepted and chosen is not None \
                    and self.session.is_current(generation):
                self._open_series(chosen, len(series))

        dialog.finished.connect(done)
        dialog.open()  # window-modal, not blocking: the picker is answered in the event loop

    def _open_series(self, chosen: Any, n_series: int) -> bool:
        """Open a series found in a folder (:class:`app.io.series.FolderSeries`) at its first
        readable slice (the folder scan reads headers only: a slice's pixels may still fail,
        and those before the one shown are named, as a step skipping them would). A series of
        one multi-frame file pages through its frames, as File ▸ Open does."""
        files = list(chosen.files)
        outcome = StepOutcome()
        for k, path in enumerate(files):
            try:
                img = read_image(path)
                break
            except Exception as exc:  # noqa: BLE001 — named below, never a traceback dialog
                outcome.skipped.append(f"slice {k + 1} ({path.name}): {readable_error(exc)}")
        else:
            outcome.reached_end = True
            self.win.show_error("Cannot open the series", outcome.skipped_text())
            return False
        stack = None if len(files) == 1 else [(p, 0) for p in files]
        if not self.open_file(path, stack=stack, image=img):
            return False
        if outcome.skipped:
            self.win.show_error("Unreadable slices skipped", outcome.skipped_text())
        more = f" (one of {n_series} series found)" if n_series > 1 else ""
        what = "series" if chosen.uid else "folder"
        self.win.statusBar().showMessage(f"Opened a {what} of {len(files)} file(s){more}: "
                                         "PgDn/PgUp step through it", 8000)
        return True

    # -- files -----------------------------------------------------------------------------
    def open_sample(self) -> bool:
        """File ▸ Open sample: the bundled chest CT slice."""
        return self.open_file(SAMPLE_PATH, remember=False)

    def open_file(self, path: str | Path, remember: bool = True,
                  stack: list[StackItem] | None = None, image: ImageData | None = None) -> bool:
        """Read and show an image (``image``: already read from ``path``); errors go to the
        status bar and a non-modal message. A folder opens as :meth:`open_folder` does
        (``rmisr-viewer <folder>``, a recent folder)."""
        if stack is None and image is None and Path(path).is_dir():
            return self.open_folder(path)
        if self._refuse_while_running("opening a file"):
            return False
        img = image if image is not None else self._read(path)
        if img is None:
            return False
        self.stop_scans()
        generation = self.session.supersede_scans()  # a scan of an earlier file is ignored
        if self.session.place(path, img, stack):
            self._start_series_scan(Path(path), generation)
        self.show_image(img)
        if remember:
            self.add_recent(Path(path))
        return True

    def _start_series_scan(self, path: Path, generation: int) -> None:
        scan = SeriesScan(path, self)
        scan.found.connect(lambda p, items: self.session.series_listed(generation, p, items))
        self._track(scan)
        scan.start()

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
        self.win.statusBar().showMessage(f"Opened {paths[0].name}: PgDn/PgUp step through the "
                                         f"{len(paths)} dropped files", 6000)
        return True

    def open_derived(self, files: list[Path]) -> bool:
        """Open the files a slice range wrote, stepping through them as one series."""
        files = [Path(f) for f in files if Path(f).is_file()]
        if not files:
            return False
        if not self.open_file(files[0], stack=[(p, 0) for p in files]):
            return False
        self.win.statusBar().showMessage(f"Opened the derived series ({len(files)} file(s)): "
                                         "PgDn/PgUp step through it", 8000)
        return True

    def _read(self, path: str | Path, frame: int = 0) -> ImageData | None:
        try:
            return read_image(path, frame=frame)
        except ImageIOError as exc:
            self.win.show_error("Cannot open the image", str(exc))
        except Exception as exc:  # never a traceback dialog
            log.exception("unexpected error reading %s", path)
            self.win.show_error("Cannot open the image", f"{path}: {readable_error(exc)}")
        return None

    # -- stepping --------------------------------------------------------------------------
    def step_slice(self, delta: int) -> bool:
        """Show the slice ``delta`` steps along the stack (frames of the file or files of its
        series), keeping ROI, window, zoom and pan; a step past either end stops at it, and at
        the end itself nothing changes but the status bar ("Last slice"): False. An unreadable
        slice (truncated, unsupported compression) is skipped for the next readable one in that
        direction, and one message names every slice skipped."""
        if self._refuse_while_running("changing slice"):
            return False
        outcome = self.session.step(delta, lambda path, frame: read_image(path, frame=frame))
        if outcome.at_end:
            self.win.statusBar().showMessage(outcome.at_end, 3000)
        if outcome.image is not None:
            self.show_image(outcome.image, keep_view=True)
        if outcome.skipped:
            self.win.show_error("Unreadable slices skipped", outcome.skipped_text())
        return outcome.image is not None

    def step_to_end(self, direction: int) -> bool:
        """The last (``direction`` > 0) or first slice of the stack."""
        return self.step_slice(len(self.session.stack) * (1 if direction > 0 else -1))

    def show_stack_state(self) -> None:
        """The header's "slice k/n" for the current stack."""
        img = self.session.image
        if img is not None:
            self.win.image_header.setText(f"{img.source_path.name} · {img.description}"
                                          f"{self.session.slice_label()}")

    def show_image(self, img: ImageData, default_roi: bool = True,
                   keep_view: bool = False) -> None:
        """Show an already read image; ``keep_view``: the next slice of the one shown (same
        ROI, window, zoom and pan when the size is the same; on a slice of another size the
        ROI fitted into it; the edit history kept either way)."""
        win, session = self.win, self.session
        old = session.image
        paging = keep_view and old is not None
        keep = paging and old.pixels.shape[:2] == img.pixels.shape[:2]
        window = win.canvas.window()
        old_lut = old.voi_lut if old is not None else None
        if keep and old_lut is not None and img.voi_lut is not None and window == old_lut.window:
            window = img.voi_lut.window  # shown through its file's LUT: so is the next slice
        roi = session.roi
        had_results = session.last_result is not None
        kept = session.show(img)
        win.comparison.clear()
        win.quality.clear()
        win.canvas.set_image(img.pixels, window if keep else img.window, img.invert,
                             img.pixel_spacing, img.value_unit, keep_view=keep,
                             spacing_at_detector=img.spacing_source == "ImagerPixelSpacing",
                             voi_function=img.voi_function, voi_lut=img.voi_lut)
        win.canvas.set_overlay(corner_texts(img), image_edge_labels(img))
        win.canvas.set_graphics(img.overlay)
        win.image_header.setToolTip(str(img.source_path))
        win.show_title(img.source_path.name)
        win.levels.load_presets()
        win.set_window(*(window if keep else img.window))
        self.show_stack_state()
        if kept is not None:  # back on a slice with results: shown again (maybe outdated)
            win.runs.show_result(kept)
        if not paging:  # another image: its edits cannot be undone on this one
            session.history.clear()
        win.measure.refresh()  # this slice's annotations
        if keep:
            session.set_roi(roi)
        elif paging and roi is not None:  # a slice of another size in the same stack
            session.set_roi(session.fit_roi(roi))
        elif default_roi:
            win.canvas.set_roi(session.default_roi(), undoable=False)
        else:
            session.set_roi(None)
        self._say_opened(img, kept is not None, had_results)

    def _say_opened(self, img: ImageData, kept: bool, had_results: bool) -> None:
        bar, name = self.win.statusBar(), img.source_path.name
        if img.warnings:  # also listed by Help ▸ Copy diagnostics
            header = self.win.image_header
            header.setText(f"⚠ {header.text()}")
            header.setToolTip(f"{img.source_path}\nRead warnings:\n• "
                              + "\n• ".join(img.warnings))
            bar.showMessage("; ".join(img.warnings), 8000)
        elif kept:
            bar.showMessage(f"Opened {name}: its results of this session are shown again", 6000)
        elif had_results:
            bar.showMessage(f"Opened {name}: the results of the previous slice are kept and "
                            "come back with it", 6000)
        else:
            bar.showMessage(f"Opened {name}", 4000)

    # -- recent files ----------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """The files opened lately, the latest first."""
        value = self.win.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: Path) -> None:
        """Put ``path`` first in the recent files and remember its folder."""
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.win.settings.setValue("recentFiles", files[:MAX_RECENT])
        self.win.settings.setValue("lastDir", str(Path(p).parent))
        self.rebuild_recent_menu()

    def rebuild_recent_menu(self) -> None:
        """File ▸ Open recent from the settings (a file gone since is shown, not offered)."""
        menu = self.win.recent_menu
        menu.clear()
        files = self.recent_files()
        for f in files:
            a = menu.addAction(Path(f).name, lambda f=f: self.open_file(f))
            a.setToolTip(f)
            if not Path(f).is_file():  # moved or deleted since: shown, not offered
                a.setEnabled(False)
                a.setText(f"{Path(f).name} (missing)")
        if files:
            menu.addSeparator()
            menu.addAction("Clear list", self._clear_recent)
        menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.win.settings.setValue("recentFiles", [])
        self.rebuild_recent_menu()
