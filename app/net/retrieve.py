"""Retrieve of one series into the retrieve cache: C-GET over the same association (PS3.4
C.4.3; no inbound port), or C-MOVE to the local AE (PS3.4 C.4.2) whose storage SCP is started
here for the move. A retrieve that does not deliver every instance removes what had arrived.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from pydicom.dataset import Dataset

from .association import (PENDING, TRANSFER_SYNTAXES, Cancelled, Progress, application_entity,
                          association, ended_error, status_text)
from .cache import RetrieveCache, safe_uid
from .errors import PacsConnectionError, RetrieveCancelled, RetrieveFailedError
from .nodes import PacsConfig, PacsNode

__all__ = ["retrieve_series"]

log = logging.getLogger(__name__)


def _storage_uids(limit: int | None = None) -> list[str]:
    from pynetdicom import AllStoragePresentationContexts, StoragePresentationContexts

    source = StoragePresentationContexts if limit else AllStoragePresentationContexts
    uids = [str(cx.abstract_syntax) for cx in source]
    return uids[:limit] if limit else uids


class _Receiver:
    """The C-STORE handler of a retrieve (PS3.4 B.2.2, as the storage SCP): writes each instance
    as ``<SOP Instance UID>.dcm`` into ``folder`` and counts. A write that fails answers
    0xA700 (out of resources) and is remembered."""

    def __init__(self, folder: Path, progress: Progress | None, expected: int,
                 cancelled: Cancelled | None) -> None:
        self.folder = folder
        self.progress = progress
        self.expected = expected
        self.cancelled = cancelled
        self.received: list[Path] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def write(self, path: Path, data: bytes) -> None:
        """Write one received file (a separate step so that tests can fail it)."""
        with open(path, "xb") as fh:
            fh.write(data)

    def handle(self, event: Any) -> int:
        if self.cancelled is not None and self.cancelled():
            return 0xA702  # refused: the user cancelled; the retrieve is abandoned
        uid = str(event.request.AffectedSOPInstanceUID or "")
        with self._lock:
            n = len(self.received)
        path = self.folder / f"{safe_uid(uid) or n}.dcm"
        if path.exists():
            path = self.folder / f"{safe_uid(uid)}_{n}.dcm"
        try:
            self.write(path, bytes(event.encoded_dataset()))
        except OSError as exc:
            path.unlink(missing_ok=True)
            with self._lock:
                self.errors.append(f"cannot write a received instance: {exc.strerror or exc}")
            return 0xA700
        with self._lock:
            self.received.append(path)
            n = len(self.received)
        if self.progress is not None:
            self.progress(n, max(self.expected, n))
        return 0x0000


def _retrieve_identifier(study_uid: str, series_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    return ds


def _count(status: Dataset, keyword: str) -> int:
    return int(status.get(keyword, 0) or 0)


def _run_retrieve(responses: Iterator[tuple[Dataset, Any]], assoc: Any, node: PacsNode,
                  config: PacsConfig, receiver: _Receiver, cancelled: Cancelled | None,
                  what: str) -> None:
    """Follow the C-GET / C-MOVE responses to the end; raise unless every instance arrived."""
    final: int | None = None
    failed = 0
    since = time.monotonic()
    for status, _ident in responses:
        if cancelled is not None and cancelled():
            raise RetrieveCancelled(f"retrieve from {node.name} cancelled; the "
                                    f"{len(receiver.received)} instance(s) received were removed")
        if "Status" not in status:
            raise ended_error(node, config, what, since)
        since = time.monotonic()
        code = int(status.Status)
        if code in PENDING:
            remaining = _count(status, "NumberOfRemainingSuboperations")
            done = _count(status, "NumberOfCompletedSuboperations")
            total = remaining + done + _count(status, "NumberOfFailedSuboperations") + \
                _count(status, "NumberOfWarningSuboperations")
            if total:
                receiver.expected = max(receiver.expected, total)
            continue
        final = code
        failed = _count(status, "NumberOfFailedSuboperations")
        done = _count(status, "NumberOfCompletedSuboperations") + \
            _count(status, "NumberOfWarningSuboperations")
        if done + failed:
            receiver.expected = max(receiver.expected, done + failed)
        break
    if cancelled is not None and cancelled():
        raise RetrieveCancelled(f"retrieve from {node.name} cancelled; the "
                                f"{len(receiver.received)} instance(s) received were removed")
    got, expected = len(receiver.received), receiver.expected
    if final is None:
        raise ended_error(node, config, what, since)
    if final != 0x0000 or failed or receiver.errors or (expected and got < expected):
        why = receiver.errors[0] if receiver.errors else status_text(final)
        raise RetrieveFailedError(
            f"{what} from {node.describe()} delivered {got} of {expected or '?'} instance(s) "
            f"({why}); the partial series was removed", received=got, expected=expected,
            status=final)
    if got == 0:
        raise RetrieveFailedError(f"{what} from {node.describe()} delivered no instance (the "
                                  "series is empty or no longer on the PACS)", status=final)


def retrieve_series(node: PacsNode, config: PacsConfig, study_uid: str, series_uid: str, *,
                    cache: RetrieveCache | None = None, expected: int = 0,
                    progress: Progress | None = None, cancelled: Cancelled | None = None,
                    method: str | None = None) -> Path:
    """Retrieve one series into the cache and return its folder.

    Anything short of every instance leaves nothing in the cache.

    Args:
        node: the PACS to retrieve from.
        config: the local AE, timeouts, retrieve method and cache limit.
        study_uid: Study Instance UID of the series.
        series_uid: Series Instance UID of the series.
        cache: the retrieve cache (default: one of ``config.cache_mb``).
        expected: the number of instances expected (0: unknown), for ``progress``.
        progress: ``progress(received, expected)``, called per instance (from a network thread).
        cancelled: polled; True stops the retrieve.
        method: "get" or "move" (default ``config.retrieve``): C-GET (PS3.4 C.4.3) receives the
            instances over the same association; C-MOVE (PS3.4 C.4.2) asks the PACS to send them
            to ``config.local_ae``, whose storage SCP listens on ``config.move_port`` meanwhile
            (the PACS must know that AE title, host and port).

    Returns:
        The series' folder in the cache.

    Raises:
        ValueError: an unknown ``method``, or an empty Study or Series UID.
        RetrieveFailedError: not every instance arrived.
        RetrieveCancelled: ``cancelled()`` returned True.
    """
    method = method or config.retrieve
    if method not in ("get", "move"):
        raise ValueError(f"retrieve method must be 'get' or 'move', not {method!r}")
    if not study_uid or not series_uid:
        raise ValueError("a retrieve needs the Study and Series Instance UIDs")
    cache = cache or RetrieveCache(max_bytes=config.cache_mb * 1024 * 1024)
    t0 = time.monotonic()
    with cache.partial(series_uid) as folder:
        receiver = _Receiver(folder, progress, expected, cancelled)
        if method == "get":
            _c_get(node, config, study_uid, series_uid, receiver, cancelled)
        else:
            _c_move(node, config, study_uid, series_uid, receiver, cancelled)
        n = len(receiver.received)
    log.info("retrieved %d instance(s) of series %s from %s by C-%s in %.1f s", n, series_uid,
             node.name, method.upper(), time.monotonic() - t0)
    return cache.series_dir(series_uid)


def _c_get(node: PacsNode, config: PacsConfig, study_uid: str, series_uid: str,
           receiver: _Receiver, cancelled: Cancelled | None) -> None:
    from pynetdicom import build_role, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet as GET

    storage = _storage_uids(limit=127)  # 128 presentation contexts at most (PS3.8 9.3.2.2)
    contexts = [(GET, TRANSFER_SYNTAXES[:2])] + [(uid, TRANSFER_SYNTAXES) for uid in storage]
    roles = [build_role(uid, scp_role=True) for uid in storage]
    with association(node, config, contexts, roles,
                      [(evt.EVT_C_STORE, receiver.handle)]) as assoc:
        responses = assoc.send_c_get(_retrieve_identifier(study_uid, series_uid), GET)
        _run_retrieve(responses, assoc, node, config, receiver, cancelled, "C-GET")


def _c_move(node: PacsNode, config: PacsConfig, study_uid: str, series_uid: str,
            receiver: _Receiver, cancelled: Cancelled | None) -> None:
    from pynetdicom import evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove as MOVE

    scp = application_entity(config)
    for uid in _storage_uids():
        scp.add_supported_context(uid, TRANSFER_SYNTAXES)
    try:
        server = scp.start_server(("", config.move_port), block=False,
                                  evt_handlers=[(evt.EVT_C_STORE, receiver.handle)])
    except OSError as exc:
        raise PacsConnectionError(
            f"cannot listen on port {config.move_port} for the C-MOVE "
            f"({exc.strerror or exc}); choose another move port or use C-GET") from None
    try:
        with association(node, config, [(MOVE, TRANSFER_SYNTAXES[:2])]) as assoc:
            responses = assoc.send_c_move(_retrieve_identifier(study_uid, series_uid),
                                          config.local_ae, MOVE)
            try:
                _run_retrieve(responses, assoc, node, config, receiver, cancelled, "C-MOVE")
            except RetrieveFailedError as exc:
                if exc.status == 0xA801:
                    raise RetrieveFailedError(
                        f"{node.describe()} does not know the move destination "
                        f"{config.local_ae!r}: register this AE title with its host and port "
                        f"{config.move_port} on the PACS, or use C-GET", status=0xA801
                    ) from None
                raise
    finally:
        server.shutdown()
