"""DICOM network services as a service class user, with pynetdicom (PS3.4, PS3.7, PS3.8).

* :func:`echo` — Verification (PS3.4 Annex A, C-ECHO);
* :func:`find_studies`, :func:`find_series` — Study Root Query/Retrieve, C-FIND at STUDY and
  SERIES level (PS3.4 C.4.1, C.6.2);
* :func:`app.net.retrieve.retrieve_series` — C-GET or C-MOVE of one series into the retrieve
  cache (its own module);
* :func:`store` — Storage (PS3.4 Annex B, C-STORE) of files, one result per instance.

Every failure raises a specific :class:`app.net.errors.PacsError` (the association's own
failures: :mod:`app.net.association`). The log says node names,
counts, status codes and UIDs, never a patient's name or ID; pynetdicom's own logger (whose debug
output dumps identifiers) is kept at WARNING.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pydicom.dataset import Dataset

from .association import (PENDING, TRANSFER_SYNTAXES, WARNING_STORE, Cancelled, Progress,
                          association, ended_error, status_text)
from .errors import AssociationAbortedError, PacsError, QueryFailedError, StoreRefusedError
from .nodes import PacsConfig, PacsNode

__all__ = ["StudyQuery", "Study", "Series", "StoreResult", "echo", "find_studies",
           "find_series", "store", "status_text"]

log = logging.getLogger(__name__)


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
        return self.status == 0x0000 or self.status in WARNING_STORE


# --------------------------------------------------------------------------- C-ECHO


def echo(node: PacsNode, config: PacsConfig) -> float:
    """Verify ``node`` with C-ECHO (PS3.4 A.4, PS3.7 9.1.5); returns the round trip in seconds."""
    from pynetdicom.sop_class import Verification

    t0 = time.monotonic()
    with association(node, config, [(Verification, TRANSFER_SYNTAXES[:2])]) as assoc:
        since = time.monotonic()
        status = assoc.send_c_echo()
        if "Status" not in status:
            raise ended_error(node, config, "C-ECHO", since)
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
    with association(node, config, [(FIND, TRANSFER_SYNTAXES[:2])]) as assoc:
        since = time.monotonic()
        for status, ident in assoc.send_c_find(identifier, FIND):
            if "Status" not in status:
                raise ended_error(node, config, f"C-FIND at {level} level", since)
            since = time.monotonic()
            code = int(status.Status)
            if code in PENDING:
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
        extra = [t for t in TRANSFER_SYNTAXES[:2] if t not in syntaxes]
        contexts.append((uid, syntaxes + extra))
    if len(contexts) > 128:
        raise PacsError(f"{len(contexts)} different SOP classes cannot go in one association")
    results: list[StoreResult] = []
    with association(node, config, contexts) as assoc:
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
                ended = ended_error(node, config, f"C-STORE of {p.name}", since)
                if isinstance(ended, AssociationAbortedError) and any(r.ok for r in results):
                    ended = AssociationAbortedError(  # it took some: the link dropped
                        f"{node.describe()} aborted the association during the C-STORE of "
                        f"{p.name}, after {sum(r.ok for r in results)} instance(s) stored (the "
                        "connection dropped, or the PACS gave up)")
                # what was stored before stays stored: said per instance; the one in flight got
                # no answer (the PACS may or may not hold it), the rest were not sent
                results.append(StoreResult(p, uid, None, f"no answer: {ended.message}"))
                results += [StoreResult(q, str(d.SOPInstanceUID), None,
                                        f"not sent: {ended.message}")
                            for q, d in zip(paths[i + 1:], datasets[i + 1:])]
                if raise_on_refusal:
                    stored = sum(r.ok for r in results)
                    raise type(ended)(f"{ended.message}; {stored} of {len(paths)} instance(s) "
                                      "were stored before it") from None
                break
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
