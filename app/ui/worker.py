"""Work off the UI thread: loading the engine and super-resolving an ROI.

``models`` (and with it torch, ~2 s to import) is imported only here, inside the threads, so the
window appears at once. Threads hand numpy arrays to the GUI thread through queued signals; no
widget is touched outside the GUI thread (Qt allows widgets in the GUI thread only). Cancel is a
flag polled by the engine between tiles and by the job between methods.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PyQt5.QtCore import QThread, pyqtSignal

from app import quality
from app.formatting import readable_error
from app.jobs import JobResult, MethodResult, SliceRangeResult

log = logging.getLogger(__name__)


class Engine:
    """Thread-safe, lazily created :class:`models.SuperResolver` (or an injected one)."""

    def __init__(self, resolver: Any = None, device: str = "auto",
                 weights_dir: str | Path | None = None) -> None:
        self._lock = threading.RLock()
        self._resolver = resolver
        self._weights_dir = Path(weights_dir) if weights_dir is not None else (
            Path(resolver.weights_dir) if resolver is not None else None)
        self._device = device if resolver is None else str(resolver.device.type)
        self._cuda: bool | None = None

    @property
    def loaded(self) -> bool:
        return self._resolver is not None

    @property
    def device_choice(self) -> str:
        return self._device

    def resolver(self) -> Any:
        """The SuperResolver, created on first use (imports torch: call from a worker thread)."""
        with self._lock:
            if self._resolver is None:
                from models import SuperResolver

                kwargs: dict[str, Any] = {"device": self._device}
                if self._weights_dir is not None:
                    kwargs["weights_dir"] = self._weights_dir
                self._resolver = SuperResolver(**kwargs)
            return self._resolver

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the engine for the block: creating the resolver (a job's first use of it) and
        changing the device wait until the block ends."""
        with self._lock:
            yield

    def peek(self) -> Any:
        """The resolver if it exists already, else None (never blocks on creation)."""
        return self._resolver

    def set_device(self, device: str) -> None:
        """Choose 'auto', 'cpu' or 'cuda'; the resolver is re-created on next use."""
        with self._lock:
            if device == self._device and self._resolver is not None:
                return
            self._device = device
            self._resolver = None

    def cuda_available(self) -> bool:
        """Whether CUDA can be used (imports torch)."""
        if self._cuda is None:
            from models.inference import DeviceUnavailableError, resolve_device

            try:
                resolve_device("cuda")
                self._cuda = True
            except DeviceUnavailableError:
                self._cuda = False
        return self._cuda

    def availability(self, methods: list[str], scale: float) -> dict[str, tuple[bool, str]]:
        """method → (available, reason) at ``scale``; needs the resolver to exist."""
        sr = self._resolver
        out: dict[str, tuple[bool, str]] = {}
        for m in methods:
            if sr is None:
                out[m] = (m == "bicubic", "the engine is still loading")
                continue
            try:
                reason = sr.unavailable_reason(m, scale)
                out[m] = (not reason, reason)
            except Exception as exc:  # a broken manifest must not break the window
                out[m] = (False, str(exc))
        return out


class _EngineJob(QThread):
    """A thread that runs ``request`` on the engine; ``cancel()`` sets a flag the work polls
    between tiles (:meth:`is_cancelled`)."""

    def __init__(self, engine: Engine, request: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.request = request
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at the next tile (or method, or slice) boundary."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set() or self.isInterruptionRequested()

    #: A warm-up still running when the job was started, or None: the job waits for it first
    #: (the engine runs one thing at a time; the weights it loaded are then the job's).
    after: QThread | None = None

    def wait_for_warm_up(self) -> bool:
        """Wait (in the job's thread) for :attr:`after` to end; whether there was one."""
        if self.after is None or not self.after.isRunning():
            return False
        self.after.wait()
        return True


class SliceRangeJob(_EngineJob):
    """Super-resolves the ROI of each slice of a range and writes it
    (:func:`app.batch.super_resolve_to_file`); the DICOM files of one run form one derived
    series. A slice that fails is reported and the others go on; cancelling stops at the next
    tile and keeps the files already written (each one is whole: written atomically).
    ``succeeded(SliceRangeResult)`` comes also after a cancel (``result.cancelled``)."""

    progressed = pyqtSignal(int, str)
    stepStarted = pyqtSignal(int)            # slice index (len(items): all done)
    tileDone = pyqtSignal(int, int, int)     # slice index, tiles done, tiles in all
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)

    def run(self) -> None:
        try:
            self.succeeded.emit(self._run())
        except Exception as exc:  # the engine could not start: nothing was written
            log.exception("slice-range job failed")
            self.failed.emit(readable_error(exc))

    def _run(self) -> SliceRangeResult:
        from app.batch import super_resolve_to_file
        from app.io import DerivedSeries, read_image
        from models.inference.memory import freed_memory_reused

        self.wait_for_warm_up()
        req, t0 = self.request, time.perf_counter()
        self.progressed.emit(0, "loading the engine…" if not self.engine.loaded else "starting…")
        sr = self.engine.resolver()
        from models import UpscaleCancelled

        series, n = DerivedSeries(), len(req.items)
        written: list[Path] = []
        notes: list[str] = []
        errors: list[str] = []
        per_slice: list[tuple[str, list[str]]] = []
        cancelled = False
        frames = len({p for p, _, _ in req.items}) < n  # frames of one multi-frame file
        with freed_memory_reused():  # kept from slice to slice, and RELEASE_AFTER_S after
            for k, (path, frame, target) in enumerate(req.items):
                if self.is_cancelled():
                    cancelled = True
                    break
                name = path.name + (f" frame {frame + 1}" if frames else "")
                self.stepStarted.emit(k)
                self.progressed.emit(int(100 * k / n), f"slice {k + 1} of {n}: {name}")

                def progress(done: int, total: int, k: int = k) -> None:
                    self.tileDone.emit(k, done, total)
                    self.progressed.emit(int(100 * (k + done / max(total, 1)) / n),
                                         f"slice {k + 1} of {n}: tile {done}/{total}")

                try:
                    image = read_image(path, frame=frame)
                    done = super_resolve_to_file(sr, image, target, req.fmt, req.scale, req.method,
                                                 req.roi, progress=progress,
                                                 cancel=self.is_cancelled, series=series,
                                                 window=req.window)
                except UpscaleCancelled:
                    cancelled = True
                    break
                except Exception as exc:  # noqa: BLE001 — one bad slice must not stop the others
                    log.exception("slice %s failed", name)
                    errors.append(f"{name}: {readable_error(exc)}")
                    continue
                written.append(done.path)
                notes += [f"{done.path.name}: {note}" for note in done.notes]
                per_slice.append((done.path.name, list(done.notes)))
        if not cancelled:
            self.stepStarted.emit(n)
            self.progressed.emit(100, "done")
        return SliceRangeResult(req, written, notes, errors, cancelled,
                                time.perf_counter() - t0, per_slice)


class SeriesScan(QThread):
    """Lists the slices of an opened file's series (:func:`app.io.series.stack_of`) off the GUI
    thread: a folder of thousands of headers, or one on a network share, would freeze the
    window. ``found(path, items)`` comes unless the listing was interrupted (the window
    closing); ``items`` is the file alone when the scan fails."""

    found = pyqtSignal(object, object)

    def __init__(self, path: Path, parent: Any = None) -> None:
        super().__init__(parent)
        self.path = Path(path)

    def run(self) -> None:
        from app.io.series import stack_of

        try:
            items = stack_of(self.path, 1, "dicom", stop=self.isInterruptionRequested)
        except Exception:  # noqa: BLE001 — browsing is a convenience: the file stays alone
            log.exception("cannot list the series of %s", self.path)
            items = [(self.path, 0)]
        if not self.isInterruptionRequested():
            self.found.emit(self.path, items)


class FolderScan(QThread):
    """Finds the image series under a folder (:func:`app.io.series.folder_series_list`, the
    largest first) off the GUI thread: File ▸ Open folder on a CD or a network share reads
    thousands of headers. A folder without DICOM images but with raster slices (PNG, TIFF, …)
    gives one series of those, in natural order (:func:`app.io.series.raster_files`).
    ``found(folder, series)`` comes unless the scan was interrupted (``requestInterruption``,
    e.g. the window closing); ``series`` (a list of :class:`app.io.series.FolderSeries`) is
    empty when there is no image, ``failed(folder, message)`` when the folder cannot be read."""

    found = pyqtSignal(object, object)
    failed = pyqtSignal(object, str)

    def __init__(self, folder: Path, parent: Any = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)

    def run(self) -> None:
        from app.io.series import FolderSeries, folder_series_list, raster_files

        try:
            series = folder_series_list(self.folder, stop=self.isInterruptionRequested)
            if not series and not self.isInterruptionRequested():
                rasters = raster_files(self.folder)
                if rasters:
                    kinds = sorted({p.suffix.lstrip(".").upper() for p in rasters})
                    series = [FolderSeries("", tuple(rasters), "",
                                           f"{'/'.join(kinds)} images")]
        except Exception as exc:  # noqa: BLE001 — an unreadable folder is a message, not a crash
            log.exception("cannot scan %s", self.folder)
            self.failed.emit(self.folder, readable_error(exc))
            return
        if not self.isInterruptionRequested():
            self.found.emit(self.folder, series)


class EngineLoader(QThread):
    """Creates the engine in the background; ``loaded(device, cuda_available)`` or ``failed``."""

    loaded = pyqtSignal(str, bool)
    failed = pyqtSignal(str)

    def __init__(self, engine: Engine, parent: Any = None) -> None:
        super().__init__(parent)
        self.engine = engine
        #: the load failed because the device asked for (CUDA) is not on this computer
        self.device_unavailable = False

    def run(self) -> None:
        try:
            sr = self.engine.resolver()
            cuda = self.engine.cuda_available()
            self.loaded.emit(str(sr.device), cuda)
        except Exception as exc:
            log.exception("engine failed to load")
            from models.inference.errors import DeviceUnavailableError

            self.device_unavailable = isinstance(exc, DeviceUnavailableError)
            self.failed.emit(readable_error(exc))


#: The side of the image the warm-up super-resolves (LR pixels): one small tile.
WARMUP_SIDE = 24


class WarmUpJob(_EngineJob):
    """Loads the weights of the networks a first run would use and runs one tiny forward of
    each, so that the user's first Super-resolve does not pay for them.

    ``request`` is a list of (method, scale, precision); a method that fails is skipped (the
    user's run reports it). ``warmed(list of methods)`` when done or cancelled.
    """

    warmed = pyqtSignal(list)

    def run(self) -> None:
        done: list[str] = []
        try:
            sr = self.engine.resolver()
            rng = np.random.default_rng(0)
            for method, scale, precision in self.request:
                if self.is_cancelled():
                    break
                tiny = rng.random((WARMUP_SIDE, WARMUP_SIDE), dtype=np.float32)
                try:
                    sr.upscale(tiny, scale, method, cancel=self.is_cancelled,
                               precision=precision)
                except Exception as exc:  # noqa: BLE001 — the user's run says what failed
                    if type(exc).__name__ == "UpscaleCancelled":
                        break
                    log.info("warm-up of %s skipped: %s", method, readable_error(exc))
                    continue
                done.append(method)
        except Exception as exc:  # noqa: BLE001 — the engine loader reports a broken engine
            log.info("warm-up skipped: %s", readable_error(exc))
        self.warmed.emit(done)


class SuperResolveJob(_EngineJob):
    """Runs every requested method on the ROI, then the quality figures."""

    progressed = pyqtSignal(int, str)      # percent, message
    stepStarted = pyqtSignal(int)          # method index (len(methods): quality figures)
    tileDone = pyqtSignal(int, int, int)   # method index, tiles done, tiles in all (8 runs
    #                                        per tile with the ensemble): app.progress
    methodFinished = pyqtSignal(str, float)
    succeeded = pyqtSignal(object)         # JobResult
    failed = pyqtSignal(str)
    cancelled = pyqtSignal()

    def run(self) -> None:
        if self.after is not None and self.after.isRunning():
            self.progressed.emit(0, "finishing the engine's warm-up…")
        self.wait_for_warm_up()
        t0 = time.perf_counter()
        try:
            result = self._run(t0)
        except Exception as exc:
            if type(exc).__name__ == "UpscaleCancelled":
                self.cancelled.emit()
                return
            log.exception("super-resolution job failed")
            self.failed.emit(readable_error(exc))
            return
        if result is None:
            self.cancelled.emit()
        else:
            self.succeeded.emit(result)

    def _run(self, t0: float) -> JobResult | None:
        req = self.request
        n = max(len(req.methods), 1)
        self.progressed.emit(0, "loading the engine…" if not self.engine.loaded
                             else "starting…")
        sr = self.engine.resolver()
        from models import UpscaleCancelled

        if req.simulate:
            lr, reference = quality.simulate_low_resolution(req.roi_pixels, req.scale)
            lr = lr.astype(np.float32)
            reference = reference.astype(np.float32)
        else:
            lr, reference = np.asarray(req.roi_pixels, dtype=np.float32), None
        # a simulated LR has no surroundings; a real ROI is super-resolved in its context
        where = ({} if req.simulate or req.source_pixels is None
                 else {"image": req.source_pixels, "roi": req.roi})
        span = None if req.simulate else req.value_range
        results: list[MethodResult] = []
        errors: dict[str, str] = {}
        for i, method in enumerate(req.methods):
            if self.is_cancelled():
                return None
            label = req.labels.get(method, method)
            self.stepStarted.emit(i)
            self.progressed.emit(int(100 * i / (n + 0.25)), f"{label} ×{req.scale:g}…")

            def progress(done: int, total: int, i: int = i, label: str = label) -> None:
                self.tileDone.emit(i, done, total)
                frac = (i + done / max(total, 1)) / (n + 0.25)
                self.progressed.emit(int(100 * frac), f"{label}: tile {done}/{total}")

            try:
                out, info = sr.upscale(where.get("image", lr), req.scale, method,
                                       progress=progress, cancel=self.is_cancelled,
                                       window=req.window, roi=where.get("roi"),
                                       value_range=span, precision=req.precision,
                                       ensemble=req.ensemble, modality=req.modality,
                                       return_info=True)
            except UpscaleCancelled:
                return None
            except Exception as exc:  # one failing method must not lose the others
                log.exception("method %s failed", method)
                errors[method] = readable_error(exc)
                continue
            results.append(MethodResult(method, label, out, float(info.seconds), info))
            self.methodFinished.emit(method, float(info.seconds))
        if self.is_cancelled():
            return None
        if not results:
            raise RuntimeError("; ".join(f"{req.labels.get(m, m)}: {e}"
                                         for m, e in errors.items()) or "no method to run")
        self.stepStarted.emit(len(req.methods))
        self.progressed.emit(int(100 * n / (n + 0.25)), "quality figures…")
        # the bias column and the difference view measure against bicubic, ticked or not
        baseline = next((r.pixels for r in results if r.method == "bicubic"), None)
        if baseline is None:
            baseline = sr.upscale(where.get("image", lr), req.scale, "bicubic",
                                  roi=where.get("roi"))
        report = quality.compute_quality({r.method: (r.pixels, r.seconds) for r in results}, lr,
                                         req.scale, reference, req.labels, req.unit,
                                         baseline=baseline,
                                         precisions={r.method: r.info.precision for r in results},
                                         uncertainties={r.method: r.info.uncertainty
                                                        for r in results})
        if self.is_cancelled():
            return None
        self.progressed.emit(100, "done")
        return JobResult(req, lr, reference, results, report, errors, str(sr.device),
                         time.perf_counter() - t0, baseline)
