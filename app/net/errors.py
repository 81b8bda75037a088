"""Errors of the DICOM network functions: each says, in words, what went wrong and with which node.

Every error is a :class:`PacsError` with a readable :attr:`message` (what the viewer shows and
what ``rmisr-pacs`` / ``rmisr-sr --send`` print). None of them ever names a patient.
"""
from __future__ import annotations

__all__ = ["PacsError", "PacsConfigError", "UnknownNodeError", "PacsConnectionError",
           "PacsTimeoutError", "AssociationRejectedError", "AssociationAbortedError",
           "NoPresentationContextError", "QueryFailedError", "RetrieveFailedError",
           "RetrieveCancelled", "StoreRefusedError"]


class PacsError(Exception):
    """Base class: a DICOM network operation failed; :attr:`message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class PacsConfigError(PacsError):
    """The PACS configuration file cannot be read or holds an invalid value."""


class UnknownNodeError(PacsConfigError):
    """No PACS node of that name is configured."""


class PacsConnectionError(PacsError):
    """The TCP connection could not be opened (refused, host unknown, network unreachable)."""


class PacsTimeoutError(PacsError):
    """The peer did not answer within the configured timeout (connect, association or DIMSE)."""


class AssociationRejectedError(PacsError):
    """The peer rejected the association (PS3.8 9.3.4 A-ASSOCIATE-RJ); :attr:`reason` is its
    stated reason, e.g. "Called AE title not recognised"."""

    def __init__(self, message: str, reason: str = "", result: str = "",
                 source: str = "") -> None:
        super().__init__(message)
        self.reason, self.result, self.source = reason, result, source


class AssociationAbortedError(PacsError):
    """The association was aborted (A-ABORT / A-P-ABORT) or the connection dropped."""


class NoPresentationContextError(PacsError):
    """The peer accepted the association but none of the SOP classes / transfer syntaxes needed."""


class QueryFailedError(PacsError):
    """A C-FIND ended with a failure status (PS3.4 C.4.1.1.4)."""


class RetrieveFailedError(PacsError):
    """A C-GET / C-MOVE did not deliver every instance; what had arrived was removed.
    :attr:`received` and :attr:`expected` count instances (expected 0 when unknown)."""

    def __init__(self, message: str, received: int = 0, expected: int = 0,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.received, self.expected, self.status = received, expected, status


class RetrieveCancelled(PacsError):
    """The retrieve was cancelled by the user; what had arrived was removed."""


class StoreRefusedError(PacsError):
    """The peer refused one or more C-STORE requests (status ≠ success, PS3.4 B.2.3);
    :attr:`results` holds the per-instance outcome."""

    def __init__(self, message: str, results: list | None = None) -> None:
        super().__init__(message)
        self.results = list(results or [])
