"""Associations with a PACS node (PS3.8) and the DIMSE vocabulary every service here shares.

:func:`association` opens one, proposing the given presentation contexts, and turns each way
it can fail (connection refused, unknown host, timeout, rejection with its reason, no accepted
context, abort) into a specific :class:`app.net.errors.PacsError`; :func:`ended_error` names
an exchange that ended without a status; :func:`status_text` reads a DIMSE status code.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from .errors import (AssociationAbortedError, AssociationRejectedError,
                     NoPresentationContextError, PacsConnectionError, PacsError,
                     PacsTimeoutError)
from .nodes import PacsConfig, PacsNode

__all__ = ["TRANSFER_SYNTAXES", "PENDING", "WARNING_STORE", "Progress", "Cancelled",
           "status_text", "application_entity", "association", "ended_error"]

log = logging.getLogger(__name__)
logging.getLogger("pynetdicom").setLevel(logging.WARNING)  # its DEBUG output names patients

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

# Transfer syntaxes proposed for every storage SOP class: the uncompressed ones first, then the
# compressed ones the reader decodes (so a PACS can send what it holds without transcoding).
TRANSFER_SYNTAXES = [
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
WARNING_STORE = {0x0001, 0xB000, 0xB006, 0xB007}
PENDING = {0xFF00, 0xFF01}


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

# --------------------------------------------------------------------------- association


def application_entity(config: PacsConfig) -> Any:
    """A pynetdicom AE with this program's AE title and ``config``'s timeouts."""
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


def _keep_rejection(event: Any, kept: list[Any]) -> None:
    """EVT_PDU_RECV: keep an A-ASSOCIATE-RJ PDU (its ``result_str``/``source_str``/
    ``reason_str`` are the primitive's)."""
    from pynetdicom.pdu import A_ASSOCIATE_RJ

    if isinstance(event.pdu, A_ASSOCIATE_RJ):
        kept.append(event.pdu)


@contextmanager
def association(node: PacsNode, config: PacsConfig, contexts: Sequence[tuple[str, list[str]]],
                 roles: Sequence[Any] = (), handlers: Sequence[Any] = ()) -> Iterator[Any]:
    """An established association with ``node`` (PS3.8 7.1), released at the end (aborted
    when the block raises)."""
    from pynetdicom import evt

    ae = application_entity(config)
    for uid, syntaxes in contexts:
        ae.add_requested_context(uid, syntaxes)
    opened = threading.Event()
    rejection: list[Any] = []  # an A-ASSOCIATE-RJ PDU as decoded (_keep_rejection)
    handlers = list(handlers) + [
        (evt.EVT_CONN_OPEN, lambda event: opened.set()),
        (evt.EVT_PDU_RECV, lambda event: _keep_rejection(event, rejection))]
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
        if assoc.is_rejected or rejection:
            # pynetdicom can lose a rejection: when the PACS closes the connection right after
            # its A-ASSOCIATE-RJ (Orthanc does), the close may be handled before the decoded
            # PDU reaches the association, which then reads as aborted (pynetdicom 3.0.4, 6 of
            # 40 tries on a loaded 2-core machine); the PDU itself was seen, and says why
            rsp = assoc.acceptor.primitive if assoc.is_rejected else rejection[0]
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
    thread = threading.get_ident()
    with _LIVE_LOCK:
        _LIVE[thread] = assoc
    try:
        yield assoc
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()
    finally:
        with _LIVE_LOCK:
            if _LIVE.get(thread) is assoc:
                del _LIVE[thread]


#: the association each thread has open (:func:`association`), for :func:`abort_in_thread`
_LIVE: dict[int, Any] = {}
_LIVE_LOCK = threading.Lock()


def abort_in_thread(thread: int) -> bool:
    """Abort the association that thread ``thread`` (a :func:`threading.get_ident`) has open, so
    that a request waiting on the peer ends now rather than at its timeout (a cancel); False
    when it has none."""
    with _LIVE_LOCK:
        assoc = _LIVE.get(thread)
    if assoc is None or not assoc.is_established:
        return False
    assoc.abort()

    def wake() -> None:
        # a request blocked on the reply queue waits out the DIMSE timeout unless woken with
        # what pynetdicom reads as "no reply"; again until the thread has left the association
        # (an abort that raced the request's send lands before its wait)
        while True:
            with _LIVE_LOCK:
                if _LIVE.get(thread) is not assoc:
                    return
            try:
                assoc.dimse.msg_queue.put_nowait((None, None))
            except Exception:  # noqa: BLE001 — other pynetdicom internals: the timeout ends it
                log.debug("could not wake the aborted request", exc_info=True)
                return
            time.sleep(0.2)

    threading.Thread(target=wake, name="pacs-abort-wake", daemon=True).start()
    return True


def ended_error(node: PacsNode, config: PacsConfig, what: str, since: float) -> PacsError:
    """The error for a DIMSE exchange that ended without a status: the DIMSE timeout when the
    peer was silent that long since ``since`` (a monotonic time), else an abort by the peer."""
    if time.monotonic() - since >= 0.9 * config.timeouts.dimse:
        return PacsTimeoutError(f"{node.describe()}: no answer to the {what} within "
                                f"{config.timeouts.dimse:g} s")
    return AssociationAbortedError(
        f"{node.describe()} aborted the association during the {what} — the PACS may refuse "
        f"this program's AE title {config.local_ae!r} for that service (is it registered on "
        "the PACS?), or the connection dropped")
