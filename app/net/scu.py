"""DICOM network services as a service class user, with pynetdicom (PS3.4, PS3.7, PS3.8).

* :func:`echo` — Verification (PS3.4 Annex A, C-ECHO);
* :func:`find_studies`, :func:`find_series` — Study Root Query/Retrieve, C-FIND at STUDY and
  SERIES level (PS3.4 C.4.1, C.6.2);
* :func:`retrieve_series` — C-GET over the same association (PS3.4 C.4.3; no inbound port), or
  C-MOVE to the local AE (PS3.4 C.4.2) whose storage SCP is started here for the move, into the
  retrieve cache; a retrieve that does not deliver every instance removes what had arrived;
* :func:`store` — Storage (PS3.4 Annex B, C-STORE) of files, one result per instance.

Every failure raises a specific :class:`app.net.errors.PacsError`. The log says node names,
counts, status codes and UIDs, never a patient's name or ID; pynetdicom's own logger (whose debug
output dumps identifiers) is kept at WARNING.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from pydicom.dataset import Dataset

from .cache import RetrieveCache, safe_uid
from .errors import (AssociationAbortedError, AssociationRejectedError,
                     NoPresentationContextError, PacsConnectionError, PacsError,
                     PacsTimeoutError, QueryFailedError, RetrieveCancelled, RetrieveFailedError,
                     StoreRefusedError)
from .nodes import PacsConfig, PacsNode

__all__ = ["StudyQuery", "Study", "Series", "StoreResult", "echo", "find_studies",
           "find_series", "retrieve_series", "store", "status_text"]

log = logging.getLogger(__name__)
logging.getLogger("pynetdicom").setLevel(logging.WARNING)  # its DEBUG output names patients

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

# Transfer syntaxes proposed for every storage SOP class: the uncompressed ones first, then the
# compressed ones the reader decodes (so a PACS can send what it holds without transcoding).
_TRANSFER_SYNTAXES = [
    "1.2.840.10008.1.2.1",     # Explicit VR Little Endian
    "1.2.840.10008.1.2",       # Implicit VR Little Endian
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",     # RLE Lossless
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2",     # Explicit VR Big Endian (retired, still sent by old PACS)
]
_STATUS_TEXT = {
    0x0000: "success",
    0x0001: "warning: requested optional attributes are not supported",
    0xB000: "warning: coercion of data elements / some sub-operations failed",
    0xB006: "warning: elements discarded",
    0xB007: "warning: data set does not match SOP class",
    0xA700: "refused: out of resources (storage full)",
    0xA701: "refused: out of resources, unable to calculate the number of matches",
    0xA702: "refused: out of resources, unable to perform sub-operations",
    0xA801: "refused: move destination unknown",
    0xA900: "error: identifier does not match SOP class",
    0xC000: "error: cannot understand",
    0xC211: "failure: unable to process",
    0xFE00: "cancelled",
    0x0122: "refused: SOP class not supported",
    0x0124: "refused: not authorised",
    0x0210: "failure: duplicate invocation",
    0x0211: "failure: unrecognised operation",
    0x0212: "failure: mistyped argument",
    0x0213: "failure: resource limitation",
}
_WARNING_STORE = {0x0001, 0xB000, 0xB006, 0xB007}
_PENDING = {0xFF00, 0xFF01}


def status_text(code: int | None) -> str:
    """A DIMSE status code as ``0xA700 (refused: out of resources (storage full))``
    (PS3.7 Annex C)."""
    if code is None:
        return "no status (the association ended)"
    text = _STATUS_TEXT.get(code)
    if text is None:
        high = code & 0xF000
        text = ("refused: out of resources" if code & 0xFF00 == 0xA700 else
                "error: data set does not match SOP class" if code & 0xFF00 == 0xA900 else
                "error: cannot understand" if high == 0xC000 else
                "failure" if high == 0xA000 else "unknown status")
    return f"0x{code:04X} ({text})"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StudyQuery:
    """C-FIND matching keys at STUDY level (PS3.4 C.6.2.1.2). Empty fields match anything;
    ``patient_name`` may use ``*`` and ``?`` wildcards (PS3.4 C.2.2.2.4); dates are YYYYMMDD."""

    patient_name: str = ""
    patient_id: str = ""
    date_from: str = ""
    date_to: str = ""
    modality: str = ""
    accession: str = ""

    def study_date(self) -> str:
        """The Study Date matching key: a single date, a range ``from-to``, or open ranges."""
        a, b = self.date_from.strip(), self.date_to.strip()
        for d in (a, b):
            if d and not (len(d) == 8 and d.isdigit()):
                raise ValueError(f"study date {d!r} is not YYYYMMDD")
        if a and b and a > b:
            raise ValueError(f"study date range {a}-{b} ends before it starts")
        if a and b:
            return a if a == b else f"{a}-{b}"
        if a:
            return f"{a}-"
        if b:
            return f"-{b}"
        return ""


@dataclass(frozen=True)
class Study:
    """One C-FIND match at STUDY level."""

    study_uid: str
    patient_name: str
    patient_id: str
    study_date: str
    study_time: str
    description: str
    accession: str
    modalities: str
    n_series: int | None
    n_instances: int | None


@dataclass(frozen=True)
class Series:
    """One C-FIND match at SERIES level."""

    study_uid: str
    series_uid: str
    modality: str
    description: str
    number: int | None
    n_instances: int | None


@dataclass(frozen=True)
class StoreResult:
    """The outcome of one C-STORE: ``ok`` for success and the warning statuses (PS3.4 B.2.3)."""

    path: Path
    sop_instance_uid: str
    status: int | None
    message: str

    @property
    def ok(self) -> bool:
        return self.status == 0x0000 or self.status in _WARNING_STORE


# --------------------------------------------------------------------------- association


def _ae(config: PacsConfig) -> Any:
    from pynetdicom import AE

    ae = AE(ae_title=config.local_ae)
    t = config.timeouts
    ae.connection_timeout = t.connect
    ae.acse_timeout = t.acse
    ae.dimse_timeout = t.dimse
    ae.network_timeout = t.network
    return ae


def _connect_error(node: PacsNode, timeout: float) -> PacsError:
    """Why a TCP connection to ``node`` cannot be opened, as a specific error."""
    where = f"{node.describe()}"
    try:
        with socket.create_connection((node.host, node.port), timeout=timeout):
            pass
    except ConnectionRefusedError:
        return PacsConnectionError(f"{where}: connection refused — nothing listens on port "
                                   f"{node.port} (is the PACS running, is the port right?)")
    except socket.timeout:
        return PacsTimeoutError(f"{where}: no answer to the connection within {timeout:g} s "
                                "(host down, firewall, or wrong address)")
    except socket.gaierror as exc:
        return PacsConnectionError(f"{where}: unknown host {node.host!r} "
                                   f"({exc.strerror or exc})")
    except OSError as exc:
        return PacsConnectionError(f"{where}: cannot connect ({exc.strerror or exc})")
    return AssociationAbortedError(f"{where}: the connection closed before the association "
                                   "was accepted")


@contextmanager
def _association(node: PacsNode, config: PacsConfig, contexts: Sequence[tuple[str, list[str]]],
                 roles: Sequence[Any] = (), handlers: Sequence[Any] = ()) -> Iterator[Any]:
    """An established association with ``node`` (PS3.8 7.1), released at the end (aborted
    when the block raises)."""
    from pynetdicom import evt

    ae = _ae(config)
    for uid, syntaxes in contexts:
        ae.add_requested_context(uid, syntaxes)
    opened = threading.Event()
    handlers = list(handlers) + [(evt.EVT_CONN_OPEN, lambda event: opened.set())]
    t0 = time.monotonic()
    try:
        assoc = ae.associate(node.host, node.port, ae_title=node.ae_title,
                             ext_neg=list(roles) or None, evt_handlers=handlers)
    except socket.gaierror as exc:
        raise PacsConnectionError(f"{node.describe()}: unknown host {node.host!r} "
                                  f"({exc.strerror or exc})") from None
    except (OSError, RuntimeError) as exc:
        raise PacsConnectionError(f"{node.describe()}: cannot connect ({exc})") from None
    if not assoc.is_established:
        elapsed = time.monotonic() - t0
        if assoc.is_rejected:
            rsp = assoc.acceptor.primitive
            reason = getattr(rsp, "reason_str", "") or "no reason given"
            result = getattr(rsp, "result_str", "")
            source = getattr(rsp, "source_str", "")
            hint = ""
            if "Called AE" in reason:
                hint = f" — is {node.ae_title!r} the PACS's AE title?"
            elif "Calling AE" in reason:
                hint = f" — the PACS does not know this program's AE title {config.local_ae!r}"
            log.info("association with %s rejected: %s", node.name, reason)
            raise AssociationRejectedError(
                f"{node.describe()} rejected the association: {reason}{hint}",
                reason=reason, result=result, source=source)
        if not opened.is_set():
            raise _connect_error(node, config.timeouts.connect)
        if assoc.acceptor.primitive is None and elapsed >= config.timeouts.acse * 0.9:
            raise PacsTimeoutError(f"{node.describe()}: no answer to the association request "
                                   f"within {config.timeouts.acse:g} s")
        if assoc.is_aborted and assoc.acceptor.primitive is not None:
            raise NoPresentationContextError(
                f"{node.describe()} accepted none of the requested services / formats")
        raise AssociationAbortedError(f"{node.describe()}: the association was aborted while "
                                      "it was being set up")
    log.info("association with %s established", node.name)
    try:
        yield assoc
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()


def _ended_error(node: PacsNode, config: PacsConfig, what: str, since: float) -> PacsError:
    """The error for a DIMSE exchange that ended without a status: the DIMSE timeout when the
    peer was silent that long since ``since`` (a monotonic time), else an abort by the peer."""
    if time.monotonic() - since >= 0.9 * config.timeouts.dimse:
        return PacsTimeoutError(f"{node.describe()}: no answer to the {what} within "
                                f"{config.timeouts.dimse:g} s")
    return AssociationAbortedError(
        f"{node.describe()} aborted the association during the {what} — the PACS may refuse "
        f"this program's AE title {config.local_ae!r} for that service (is it registered on "
        "the PACS?), or the connection dropped")


# --------------------------------------------------------------------------- C-ECHO


def echo(node: PacsNode, config: PacsConfig) -> float:
    """Verify ``node`` with C-ECHO (PS3.4 A.4, PS3.7 9.1.5); returns the round trip in seconds."""
    from pynetdicom.sop_class import Verification

    t0 = time.monotonic()
    with _association(node, config, [(Verification, _TRANSFER_SYNTAXES[:2])]) as assoc:
        since = time.monotonic()
        status = assoc.send_c_echo()
        if "Status" not in status:
            raise _ended_error(node, config, "C-ECHO", since)
        if status.Status != 0x0000:
            raise PacsError(f"{node.describe()} answered C-ECHO with "
                            f"{status_text(int(status.Status))}")
    seconds = time.monotonic() - t0
    log.info("C-ECHO %s: ok in %.3f s", node.name, seconds)
    return seconds


# --------------------------------------------------------------------------- C-FIND


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword, None)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _find(node: PacsNode, config: PacsConfig, identifier: Dataset, level: str
          ) -> list[Dataset]:
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

    identifier.QueryRetrieveLevel = level
    matches: list[Dataset] = []
    with _association(node, config, [(FIND, _TRANSFER_SYNTAXES[:2])]) as assoc:
        since = time.monotonic()
        for status, ident in assoc.send_c_find(identifier, FIND):
            if "Status" not in status:
                raise _ended_error(node, config, f"C-FIND at {level} level", since)
            since = time.monotonic()
            code = int(status.Status)
            if code in _PENDING:
                if ident is not None:
                    matches.append(ident)
                continue
            if code == 0x0000:
                break
            raise QueryFailedError(f"{node.describe()} could not answer the {level.lower()} "
                                   f"query: {status_text(code)}")
    log.info("C-FIND %s level %s: %d match(es)", node.name, level, len(matches))
    return matches


def find_studies(node: PacsNode, config: PacsConfig, query: StudyQuery) -> list[Study]:
    """C-FIND at STUDY level (PS3.4 C.6.2.1): the matching studies, newest first. No match is
    an empty list, not an error."""
    ds = Dataset()
    ds.PatientName = query.patient_name.strip()
    ds.PatientID = query.patient_id.strip()
    ds.StudyDate = query.study_date()
    ds.StudyTime = ""
    ds.AccessionNumber = query.accession.strip()
    ds.ModalitiesInStudy = query.modality.strip().upper()
    ds.StudyDescription = ""
    ds.StudyInstanceUID = ""
    ds.NumberOfStudyRelatedSeries = ""
    ds.NumberOfStudyRelatedInstances = ""
    studies = [Study(study_uid=_text(m, "StudyInstanceUID"),
                     patient_name=_text(m, "PatientName"), patient_id=_text(m, "PatientID"),
                     study_date=_text(m, "StudyDate"), study_time=_text(m, "StudyTime"),
                     description=_text(m, "StudyDescription"),
                     accession=_text(m, "AccessionNumber"),
                     modalities=_text(m, "ModalitiesInStudy"),
                     n_series=_int(m, "NumberOfStudyRelatedSeries"),
                     n_instances=_int(m, "NumberOfStudyRelatedInstances"))
               for m in _find(node, config, ds, "STUDY")]
    return sorted(studies, key=lambda s: (s.study_date, s.study_time), reverse=True)


def find_series(node: PacsNode, config: PacsConfig, study_uid: str,
                modality: str = "") -> list[Series]:
    """C-FIND at SERIES level within one study (PS3.4 C.6.2.1.3), by series number. No match is
    an empty list."""
    if not study_uid:
        raise ValueError("a series query needs the Study Instance UID")
    ds = Dataset()
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = ""
    ds.Modality = modality.strip().upper()
    ds.SeriesDescription = ""
    ds.SeriesNumber = ""
    ds.NumberOfSeriesRelatedInstances = ""
    series = [Series(study_uid=study_uid, series_uid=_text(m, "SeriesInstanceUID"),
                     modality=_text(m, "Modality"), description=_text(m, "SeriesDescription"),
                     number=_int(m, "SeriesNumber"),
                     n_instances=_int(m, "NumberOfSeriesRelatedInstances"))
              for m in _find(node, config, ds, "SERIES")]
    return sorted(series, key=lambda s: (s.number is None, s.number or 0, s.series_uid))


# --------------------------------------------------------------------------- C-GET / C-MOVE


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
            raise _ended_error(node, config, what, since)
        since = time.monotonic()
        code = int(status.Status)
        if code in _PENDING:
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
        raise _ended_error(node, config, what, since)
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
    contexts = [(GET, _TRANSFER_SYNTAXES[:2])] + [(uid, _TRANSFER_SYNTAXES) for uid in storage]
    roles = [build_role(uid, scp_role=True) for uid in storage]
    with _association(node, config, contexts, roles,
                      [(evt.EVT_C_STORE, receiver.handle)]) as assoc:
        responses = assoc.send_c_get(_retrieve_identifier(study_uid, series_uid), GET)
        _run_retrieve(responses, assoc, node, config, receiver, cancelled, "C-GET")


def _c_move(node: PacsNode, config: PacsConfig, study_uid: str, series_uid: str,
            receiver: _Receiver, cancelled: Cancelled | None) -> None:
    from pynetdicom import evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove as MOVE

    scp = _ae(config)
    for uid in _storage_uids():
        scp.add_supported_context(uid, _TRANSFER_SYNTAXES)
    try:
        server = scp.start_server(("", config.move_port), block=False,
                                  evt_handlers=[(evt.EVT_C_STORE, receiver.handle)])
    except OSError as exc:
        raise PacsConnectionError(
            f"cannot listen on port {config.move_port} for the C-MOVE "
            f"({exc.strerror or exc}); choose another move port or use C-GET") from None
    try:
        with _association(node, config, [(MOVE, _TRANSFER_SYNTAXES[:2])]) as assoc:
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


# --------------------------------------------------------------------------- C-STORE


def store(node: PacsNode, config: PacsConfig, files: Sequence[str | os.PathLike[str]], *,
          progress: Progress | None = None, cancelled: Cancelled | None = None,
          raise_on_refusal: bool = True) -> list[StoreResult]:
    """C-STORE each DICOM file to ``node`` (PS3.4 B.2) over one association; one
    :class:`StoreResult` per file, in order. A refused instance (status other than success or
    warning) raises :class:`StoreRefusedError` naming its status code after every file was tried
    (with ``raise_on_refusal=False`` the results say it instead)."""
    import pydicom

    paths = [Path(f) for f in files]
    if not paths:
        raise ValueError("no files to send")
    datasets: list[Dataset] = []
    for p in paths:
        try:
            ds = pydicom.dcmread(p)
        except Exception as exc:  # noqa: BLE001 — a file that is not DICOM
            raise PacsError(f"{p.name}: not a readable DICOM file ({exc})") from None
        if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
            raise PacsError(f"{p.name}: no SOP Class / Instance UID, cannot be stored")
        datasets.append(ds)
    wanted: dict[str, list[str]] = {}
    for ds in datasets:
        ts = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in ds.file_meta \
            else "1.2.840.10008.1.2"
        syntaxes = wanted.setdefault(str(ds.SOPClassUID), [])
        if ts not in syntaxes:
            syntaxes.append(ts)
    contexts = []
    for uid, syntaxes in wanted.items():
        extra = [t for t in _TRANSFER_SYNTAXES[:2] if t not in syntaxes]
        contexts.append((uid, syntaxes + extra))
    if len(contexts) > 128:
        raise PacsError(f"{len(contexts)} different SOP classes cannot go in one association")
    results: list[StoreResult] = []
    with _association(node, config, contexts) as assoc:
        for i, (p, ds) in enumerate(zip(paths, datasets)):
            if cancelled is not None and cancelled():
                break
            uid = str(ds.SOPInstanceUID)
            since = time.monotonic()
            try:
                status = assoc.send_c_store(ds)
            except ValueError as exc:  # no accepted context for this class / syntax
                results.append(StoreResult(p, uid, None, f"not sent: {exc}"))
                continue
            if "Status" not in status:
                raise _ended_error(node, config, f"C-STORE of {p.name}", since)
            code = int(status.Status)
            results.append(StoreResult(p, uid, code, status_text(code)))
            if progress is not None:
                progress(i + 1, len(paths))
    refused = [r for r in results if not r.ok]
    log.info("C-STORE %s: %d of %d instance(s) stored", node.name,
             len(results) - len(refused), len(paths))
    if refused and raise_on_refusal:
        first = refused[0]
        raise StoreRefusedError(
            f"{node.describe()} refused {len(refused)} of {len(paths)} instance(s); "
            f"{first.path.name}: {first.message}", results)
    return results
