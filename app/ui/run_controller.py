"""Running: the engine's loading, a super-resolution of the region (or this session's result
of the same settings), a slice range written to files, cancel, and one progress bar measured
in tiles across a run's steps."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, Qt, QThread, QTimer
from PyQt5.QtWidgets import QDialog

from app.io import ImageIOError, crop_roi
from app.io.labels import METHOD_LABELS
from app.io.padding import engine_pixels
from app.jobs import JobRequest, JobResult, SliceRangeRequest, SliceRangeResult
from app.progress import RunProgress
from app.session import files_in_the_way, slice_range_outputs, slice_range_problem
from app.uncertainty_view import uncertainty_map

from .panel_data import PanelData, simulated_input_captions, sr_captions
from .slices import (
    SliceRangeChoice,
    SliceRangeDialog,
    SliceRangeResultDialog,
    default_slice_method,
    slice_note_lines,
)
from .worker import EngineLoader, SliceRangeJob, SuperResolveJob, WarmUpJob

if TYPE_CHECKING:
    from .main_window import MainWindow

#: How often the progress bar and the time left are redrawn while a job runs (ms).
PROGRESS_MS = 200
#: How long after the engine has loaded the warm-up starts (ms): the window is shown and idle.
WARMUP_DELAY_MS = 1500
#: The quality table may take this share of the window's central area to show every row.
QUALITY_SHARE = 0.4


def build_panels(result: JobResult) -> list[PanelData]:
    """Reference panel(s) then one panel per result, all over one scene rectangle."""
    req = result.request
    rows = {r.method: r for r in (result.report.rows if result.report else [])}
    origin = (float(req.roi[0]), float(req.roi[1]))
    panels: list[PanelData] = []
    if req.simulate and result.reference is not None:
        rh, rw = result.reference.shape[:2]
        extent = (float(rw), float(rh))
        captions = simulated_input_captions(req.scale)
        panels.append(PanelData("input", "Simulated LR input", result.input_pixels, extent,
                                kind="input", overlay=captions[0], overlay_short=captions[1:],
                                origin=origin, simulated=True))
        panels.append(PanelData("reference", "Reference (acquired ROI)", result.reference,
                                extent, kind="reference", origin=origin))
    else:
        h, w = result.input_pixels.shape[:2]
        extent = (float(w), float(h))
        panels.append(PanelData("source", "Source ROI (nearest)", result.input_pixels, extent,
                                kind="source", origin=origin))
    for r in result.results:
        row = rows.get(r.method)
        captions = sr_captions(req.scale, r.method, req.simulate)
        panels.append(PanelData(
            r.method, r.label, r.pixels, extent, kind="sr", method=r.method, scale=req.scale,
            seconds=r.seconds, residual=row.residual if row is not None else None, info=r.info,
            overlay=captions[0], overlay_short=captions[1:],
            uncertainty=uncertainty_map(getattr(r.info, "uncertainty", None)), origin=origin,
            simulated=req.simulate))
    return panels


class RunController(QObject):
    """Starts and follows the window's jobs (one at a time) and shows their results.

    Attributes:
        job: the running job (a ``QThread``), or None.
        loader: the thread creating the engine, or None before the first load.
        warmup: the engine's warm-up while it runs (:meth:`warm_up`), or None.
        warm_up_enabled: warm the engine up once it has loaded.
        warmed: the methods the last warm-up ran.
        slices_result: the open result box of the last slice range, or None.
    """

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.session = win.session
        self.job: SuperResolveJob | SliceRangeJob | None = None
        self.loader: EngineLoader | None = None
        self.warmup: WarmUpJob | None = None
        self.warm_up_enabled = False
        self.warmed: list[str] = []
        self.slices_result: SliceRangeResultDialog | None = None
        self._progress: RunProgress | None = None  # the running job's tiles and time left
        self._progress_text = ""
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_MS)
        self._timer.timeout.connect(self._refresh_progress)

    def is_running(self) -> bool:
        """Whether a job runs."""
        return self.job is not None

    # -- the engine ------------------------------------------------------------------------
    def load_engine(self) -> None:
        """Create the engine in a background thread (no-op while one is loading)."""
        if self.loader is not None and self.loader.isRunning():
            return
        self.win.device_status.setText("engine: loading…")
        self.win.controls.set_engine_text("loading…")
        loader = EngineLoader(self.win.engine, self)
        loader.loaded.connect(self._engine_loaded)
        loader.failed.connect(self._engine_failed)
        self.loader = loader
        loader.start()

    def _engine_loaded(self, device: str, cuda: bool) -> None:
        controls = self.win.controls
        controls.set_cuda_available(cuda)
        controls.set_device_choice(self.win.engine.device_choice)
        controls.set_engine_text(device.upper())
        self.win.device_status.setText(f"device: {device.upper()}")
        self.refresh_availability()
        if self.warm_up_enabled:
            QTimer.singleShot(WARMUP_DELAY_MS, self.warm_up)

    # -- the warm-up -----------------------------------------------------------------------
    def warm_up(self) -> bool:
        """Load the weights of the ticked networks (else the best one available) and run one
        tiny forward of each in a background thread, so that the first Super-resolve does not
        wait for them; a run started meanwhile waits for it (:attr:`WarmUpJob.after`), Cancel
        and closing stop it. False when nothing started (a job or a warm-up runs, no engine,
        no network, or the window is closed: a delayed start must not outlive the window)."""
        if (self.is_running() or self.warming_up() or not self.win.engine.loaded
                or not self.win.isVisible()):
            return False
        settings = self.session.settings
        networks = [m for m in self.win.controls.selected_methods() if m != "bicubic"]
        if not networks:
            best = default_slice_method([m for m in self.win.controls.available_methods()
                                         if m != "bicubic"])
            networks = [best] if best else []
        if not networks:
            return False
        job = WarmUpJob(self.win.engine,
                        [(m, settings.scale, settings.precision) for m in networks], self)
        job.warmed.connect(self._warmed)
        job.finished.connect(lambda job=job: self._warm_up_finished(job))
        self.warmup = job
        job.start(QThread.LowPriority)
        return True

    def warming_up(self) -> bool:
        """Whether the warm-up runs."""
        return self.warmup is not None and self.warmup.isRunning()

    def _warmed(self, methods: list) -> None:
        self.warmed = list(methods)

    def _warm_up_finished(self, job: WarmUpJob) -> None:
        if self.warmup is job:
            self.warmup = None
        job.deleteLater()

    def threads(self) -> list[QThread]:
        """The job, the engine loader and the warm-up (those that exist)."""
        return [t for t in (self.job, self.loader, self.warmup) if t is not None]

    def stop(self) -> None:
        """Ask the job and the warm-up to stop (closing the window)."""
        for thread in (self.job, self.warmup):
            if thread is not None:
                thread.cancel()

    def _engine_failed(self, message: str) -> None:
        if self.loader is not None and self.loader.device_unavailable:
            # asked for (or saved from a computer that had) a GPU this one lacks: the CPU
            # instead, said — not an engine that stays dead at every start
            self.win.show_error("No usable GPU", f"{message}\nThe viewer runs on this "
                                "computer's CPU instead (Device: Auto).")
            self.win.controls.set_device_choice("auto")
            loader, done = self.loader, []

            def on_the_cpu() -> None:  # once, after the failed load's thread has ended
                if not done:
                    done.append(True)
                    self.set_device("auto")
            if loader is not None:
                loader.finished.connect(on_the_cpu)
            if loader is None or loader.isFinished():
                on_the_cpu()
            return
        self.win.controls.set_availability({m: (m == "bicubic", f"the engine failed: {message}")
                                            for m in METHOD_LABELS})
        self.win.controls.set_engine_text("unavailable")
        self.win.device_status.setText("engine: failed")
        self.win.show_error("The super-resolution engine could not start", message)

    def set_device(self, device: str) -> None:
        """Run on ``device`` ("auto", "cpu", "cuda") from now on (not while a job runs)."""
        if self.is_running():
            self.win.controls.set_device_choice(self.win.engine.device_choice)
            return
        if self.warmup is not None:
            self.warmup.cancel()
        self.win.engine.set_device(device)
        self.win.settings.setValue("device", device)
        self.load_engine()

    def refresh_availability(self) -> None:
        """Grey out the methods the engine cannot run at the current scale."""
        avail = self.win.engine.availability(list(METHOD_LABELS), self.win.controls.scale())
        self.win.controls.set_availability(avail)
        self.win.update_run_state()

    # -- a region ----------------------------------------------------------------------------
    def run(self) -> bool:
        """Start a job with the current ROI, scale and methods; False when it cannot start."""
        win, session = self.win, self.session
        if self.is_running():
            win.statusBar().showMessage("A job is already running", 3000)
            return False
        if session.image is None:
            win.show_error("Nothing to super-resolve", "Open an image first (File ▸ Open).")
            return False
        roi = session.roi
        if roi is None:
            win.show_error("No region of interest",
                           "Draw a region of interest: left-drag on the image.")
            return False
        settings = session.settings
        methods = list(settings.methods)
        if not methods:
            win.show_error("No method", "Tick at least one available method.")
            return False
        cached = session.cached_result()
        # the same slice and settings: shown at once, not recomputed — unless a method failed
        # in that run (it may have been transient: running out of memory), then all run again
        if cached is not None and not cached.errors:
            self.show_result(cached)
            win.controls.set_progress(100)
            text = (f"Shown from this session's results (same slice and settings, computed in "
                    f"{cached.seconds:.1f} s): nothing recomputed")
            win.controls.set_job_text(text)
            win.statusBar().showMessage(text, 8000)
            return True
        # CT padding outside the field of view takes the nearest tissue value, as in rmisr-sr
        filled = engine_pixels(session.image)
        try:
            pixels = crop_roi(filled, roi)
        except ImageIOError as exc:
            win.show_error("Invalid region of interest", str(exc))
            return False
        if not self._output_size_accepted(roi, methods):
            return False
        img = session.image
        request = JobRequest(pixels, tuple(roi), settings.scale, methods, settings.simulate,
                             session.display_window, {m: METHOD_LABELS[m] for m in methods},
                             img.value_unit, source_pixels=filled,
                             value_range=img.normalization_range(),
                             precision=settings.precision, modality=img.modality,
                             ensemble=settings.ensemble)
        job = SuperResolveJob(win.engine, request, self)
        job.after = self.warmup if self.warming_up() else None  # waited for in its thread
        job.succeeded.connect(self._job_succeeded)
        job.cancelled.connect(self._job_cancelled)
        self._start(job, RunProgress(methods, ensemble=request.ensemble))
        win.statusBar().showMessage(
            f"Super-resolving {roi[2]}×{roi[3]} px ×{request.scale:g} with "
            f"{', '.join(METHOD_LABELS[m] for m in methods)}"
            + (" in best quality (8 runs each)…" if request.ensemble else "…"))
        job.start()
        return True

    def _output_size_accepted(self, roi: tuple[int, int, int, int], methods: list[str]) -> bool:
        """Refuse a result above the engine's limit; ask before a very large run."""
        refusal, question = self.session.output_size_check(roi, len(methods))
        if refusal:
            self.win.show_error("Result too large", refusal)
            return False
        return not question or self.win.confirm("Large result", question)

    def _start(self, job: SuperResolveJob | SliceRangeJob, progress: RunProgress) -> None:
        """Follow ``job`` (progress in tiles across its steps, failure, end) as the job."""
        job.progressed.connect(self._job_progress)
        self._progress, self._progress_text = progress, ""
        job.stepStarted.connect(self._step_started)
        job.tileDone.connect(self._tile_done)
        self._timer.start()
        job.failed.connect(self._job_failed)
        job.finished.connect(self._job_finished)
        self.job = job
        self.win.update_run_state()
        self.win.controls.set_job_text("starting…")

    def show_result(self, result: JobResult) -> None:
        """Show a run's panels and quality table (a new result, or one from the cache)."""
        win, img = self.win, self.session.image
        self.session.last_result = result
        win.comparison.set_spacing(  # before the panels: their fit uses it
            img.pixel_spacing if img else None,
            bool(img) and img.spacing_source == "ImagerPixelSpacing")
        win.comparison.set_panels(build_panels(result), result.baseline, result.request.unit)
        win.comparison.set_stale(self.session.stale_reason())  # edited while running
        win.comparison.set_window(*win.canvas.window(), invert=img.invert if img else False,
                                  function=img.voi_function if img else None,
                                  lut=img.voi_lut if img else None)
        req = result.request
        ctx = (f"ROI {req.roi[2]}×{req.roi[3]} px · ×{req.scale:g} · "
               + ("reference = acquired ROI (simulated LR input)" if req.simulate
                  else "no reference"))
        if result.report is not None:
            win.quality.set_report(result.report, ctx)
            QTimer.singleShot(100, self._fit_quality_rows)  # once the table is laid out

    def _fit_quality_rows(self) -> None:
        """Give the quality table the height to show every method's row (up to
        :data:`QUALITY_SHARE` of the window's central area; the panels keep the rest)."""
        missing = self.win.quality.rows_shortfall()
        if not missing:
            return
        splitter = self.win.main_splitter
        top, bottom = splitter.sizes()
        grow = min(missing, max(0, int(QUALITY_SHARE * (top + bottom)) - bottom))
        if grow > 0:
            splitter.setSizes([top - grow, bottom + grow])

    def _job_succeeded(self, result: JobResult) -> None:
        self._end_progress()
        # kept for the session (the whole image is not)
        self.session.keep_result(result, dataclasses.replace(
            result, request=dataclasses.replace(result.request, source_pixels=None)))
        self.show_result(result)
        done = f"Done in {result.seconds:.1f} s on {result.device.upper()}"
        notes = [f"{r.label}: {n}" for r in result.results
                 for n in getattr(r.info, "notes", None) or []]
        if notes:  # e.g. a flat region got bicubic pixels under a network's name: say so
            done += " — " + "; ".join(notes)
        self.win.controls.set_job_text(done)
        self.win.statusBar().showMessage(done, 8000)
        if result.errors:
            self.win.show_error("Some methods failed",
                                "\n".join(f"{METHOD_LABELS.get(m, m)}: {e}"
                                          for m, e in result.errors.items()))
        self.win.device_status.setText(f"device: {result.device.upper()}")

    # -- slices ----------------------------------------------------------------------------
    def super_resolve_slices(self, choice: SliceRangeChoice | None = None,
                             overwrite: bool | None = None) -> bool:
        """Process ▸ Super-resolve region over slices: the ROI of a range of the slices PgDn/PgUp
        step through (the series, or the frames of a multi-frame file), one method, at the
        current scale, from the acquired pixels, written into a folder — as one derived DICOM
        series, or TIFF/PNG files — by a :class:`SliceRangeJob`. Without ``choice`` a dialog
        asks; files that exist are replaced only when ``overwrite`` is True (None: ask).
        Returns False when nothing started."""
        win, session = self.win, self.session
        if self.is_running():
            win.statusBar().showMessage("A job is already running", 3000)
            return False
        roi, img = session.roi, session.image
        if img is None or roi is None:
            win.show_error("No region of interest",
                           "Open an image and draw a region of interest first.")
            return False
        if win.series_scan_running():
            win.show_error("The series is still being listed",
                           "The slices of this series are still being found: try again in a "
                           "moment.")
            return False
        stack, scale = session.run_stack(), session.settings.scale
        methods = win.controls.available_methods()
        if choice is None:
            folder = Path(str(win.settings.value("lastExportDir", "") or img.source_path.parent))
            dialog = SliceRangeDialog(len(stack), session.position, methods,
                                      default_slice_method(methods),  # the best network
                                      img.kind == "dicom", folder, scale, roi, win)
            if dialog.exec_() != QDialog.Accepted:
                return False
            choice = dialog.choice()
        problem = slice_range_problem(choice.first, choice.last, choice.method, len(stack),
                                      list(methods), roi, scale)
        if problem:
            win.show_error("Cannot super-resolve the slices", problem)
            return False
        try:
            choice.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            win.show_error("Cannot super-resolve the slices",
                           f"cannot create the folder {choice.folder}: {exc.strerror or exc}")
            return False
        items = slice_range_outputs(stack, choice.first, choice.last, choice.method, choice.fmt,
                                    choice.folder, scale)
        targets = [target for _, _, target in items]
        question, refusal = files_in_the_way(targets, choice.folder, overwrite)
        if question and win.confirm("Replace files?", question):
            refusal = ""
        if refusal:
            win.show_error("Files exist", refusal)
            return False
        request = SliceRangeRequest(items, tuple(roi), scale, choice.method, choice.fmt,
                                    session.display_window if choice.fmt == "png" else None,
                                    METHOD_LABELS[choice.method])
        job = SliceRangeJob(win.engine, request, self)
        job.after = self.warmup if self.warming_up() else None
        weight = {str(k): 1.0 for k in range(len(items))}  # one step per slice, equal cost
        job.succeeded.connect(self._slices_done)
        self._start(job, RunProgress([str(k) for k in range(len(items))], weight))
        win.settings.setValue("lastExportDir", str(choice.folder))
        win.statusBar().showMessage(f"Super-resolving slices {choice.first}–{choice.last} "
                                    f"×{scale:g} with {METHOD_LABELS[choice.method]}…")
        job.start()
        return True

    def _slices_done(self, result: SliceRangeResult) -> None:
        self._end_progress()
        win, req = self.win, result.request
        if req.fmt == "dcm" and result.written:  # what Send derived DICOM to PACS… offers
            self.session.derived_files = list(result.written)
        n, done = len(req.items), len(result.written)
        folder = req.items[0][2].parent
        # raster slices become Secondary Capture files, each its own series (nothing says
        # which study or patient they belong to)
        one_series = (req.fmt == "dcm" and done > 1 and self.session.image is not None
                      and self.session.image.kind == "dicom")
        what = (f"{done} of {n} slices, {req.label} ×{req.scale:g}, written to {folder}"
                + (" as one derived series" if one_series else ""))
        if result.cancelled:
            title, text = "Cancelled", f"Stopped: {what}; each written file is complete."
        elif result.errors:
            title, text = "Some slices failed", what + "."
        else:
            title, text = f"Super-resolved {done} slices", what + f" in {result.seconds:.1f} s."
        win.controls.set_progress(0 if result.cancelled else 100)
        win.controls.set_job_text(title.lower() if result.cancelled else text)
        notes = slice_note_lines(result.per_slice) if result.per_slice else list(result.notes)
        lines = [f"failed: {e}" for e in result.errors] + notes
        if notes:
            win.exports.list_notes(text, notes)
        if self.slices_result is not None:
            self.slices_result.close()
        box = SliceRangeResultDialog(title, text, lines, bool(result.written), win)
        box.setAttribute(Qt.WA_DeleteOnClose)
        written = list(result.written)
        box.openRequested.connect(lambda: win.open_derived(written))
        box.destroyed.connect(lambda _=None, b=box: setattr(self, "slices_result", None)
                              if self.slices_result is b else None)
        self.slices_result = box
        box.show()
        win.statusBar().showMessage(text, 10000)

    # -- cancel, progress, end -------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the running job to stop at its next tile."""
        if self.warmup is not None:
            self.warmup.cancel()
        if self.job is not None:
            self.job.cancel()
            self.win.controls.set_job_text("cancelling… (stops at the next tile)")
            self.win.statusBar().showMessage("Cancelling…")

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
        self.win.controls.set_progress(self._progress.percent())
        left = self._progress.text()
        self.win.controls.set_job_text(" · ".join(t for t in (self._progress_text, left) if t))

    def _end_progress(self) -> None:
        self._timer.stop()
        self._progress = None

    def _job_progress(self, percent: int, message: str) -> None:
        if self._progress is None:
            self.win.controls.set_progress(percent)
            self.win.controls.set_job_text(message)
            return
        self._progress_text = message
        if percent >= 100:
            self._progress.finish()
        self._refresh_progress()

    def _job_failed(self, message: str) -> None:
        self._end_progress()
        self.win.controls.set_job_text("failed")
        self.win.show_error("Super-resolution failed", message)

    def _job_cancelled(self) -> None:
        self._end_progress()
        self.win.controls.set_progress(0)
        self.win.controls.set_job_text("cancelled")
        self.win.statusBar().showMessage("Cancelled", 5000)

    def _job_finished(self) -> None:
        self._end_progress()
        job, self.job = self.job, None
        if job is not None:
            job.deleteLater()
        self.win.update_run_state()
