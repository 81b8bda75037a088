"""The PACS dialogs' background tasks: every network call runs in a :class:`NetTask` thread, so
the window never waits on the network.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from PyQt5.QtCore import QThread, pyqtSignal
from PyQt5.QtWidgets import QApplication

from app.net import PacsError, RetrieveCancelled

log = logging.getLogger(__name__)

__all__ = ["NetTask"]

#: tasks still running, kept alive here (not by their dialog, which may close first) until they
#: end; cancelled and waited for when the application quits
_RUNNING: set["NetTask"] = set()


def _stop_running_tasks(wait_ms: int = 10_000) -> None:
    for task in list(_RUNNING):
        task.cancel()
    for task in list(_RUNNING):
        task.wait(wait_ms)


class NetTask(QThread):
    """Runs ``work(progress, cancelled)`` off the GUI thread. ``progress(done, total)`` from the
    work becomes the ``progressed`` signal; the outcome comes as ``succeeded(result)`` or
    ``failed(message, cancelled)``; a :class:`PacsError`'s message is shown as it is.

    A task has no Qt parent: closing its dialog cancels it, and it ends on its own (a retrieve
    removes what it had received); the application waits for running tasks when it quits."""

    progressed = pyqtSignal(int, int)
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str, bool)

    def __init__(self, work: Callable[[Callable[[int, int], None], Callable[[], bool]], Any],
                 parent: Any = None) -> None:
        super().__init__(None)
        self._work = work
        self._cancel = threading.Event()
        self._thread: int | None = None  # the thread's identity while the work runs
        self._aborted = False  # a cancel aborted the association: its error is the cancel
        _RUNNING.add(self)
        self.finished.connect(lambda: _RUNNING.discard(self))
        app = QApplication.instance()
        if app is not None and not getattr(app, "_rmisr_pacs_quit_hook", False):
            app.aboutToQuit.connect(_stop_running_tasks)
            app._rmisr_pacs_quit_hook = True

    def cancel(self, abort: bool = True) -> None:
        """Ask the work to stop, and with ``abort`` abort the association it has open (a query
        or an echo waiting on a silent peer would otherwise wait for its timeout)."""
        self._cancel.set()
        if abort:
            self._aborted = True
            thread = self._thread  # None once the work has ended: the id may be another's then
            if thread is not None:
                from app.net.association import abort_in_thread
                abort_in_thread(thread)

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        self._thread = threading.get_ident()
        try:
            self._run()
        finally:
            self._thread = None

    def _run(self) -> None:
        try:
            result = self._work(lambda done, total: self.progressed.emit(int(done), int(total)),
                                self._cancel.is_set)
        except RetrieveCancelled as exc:
            self.failed.emit(exc.message, True)
        except PacsError as exc:  # after an aborting cancel, the request's error is the cancel
            self.failed.emit("stopped" if self._aborted else exc.message, self._aborted)
        except ValueError as exc:  # a bad query field
            self.failed.emit(str(exc), False)
        except Exception as exc:  # noqa: BLE001 — never a traceback dialog
            log.exception("PACS task failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}", False)
        else:
            self.succeeded.emit(result)
