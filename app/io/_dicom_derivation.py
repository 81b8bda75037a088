"""The identity and history of a derived DICOM object, whatever its pixels.

What :func:`app.io.write_dicom_derived` and :func:`app.io.write_secondary_capture` both set: the
:class:`DerivedReport` they return, the derived series UIDs (:class:`DerivedSeries`), the
derivation text and codes (ImageType DERIVED\\SECONDARY, DerivationDescription,
DerivationCodeSequence "Spatial resampling"), the image comments, the creation dates and this
software as Contributing Equipment (:func:`_set_common_derived`), the character set the added
text needs (:func:`_times_sign`), and the recording of pydicom's warnings into the report
(:func:`_collect_warnings`).
"""
from __future__ import annotations

import datetime as _dt
import functools
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from pydicom.valuerep import DSfloat

from ._dicom_iod import text_character_set
from .image_data import ImageData
from .labels import SOFTWARE, fmt_scale, method_label, software_version

__all__ = ["DerivedReport", "DerivedSeries"]


@dataclass
class DerivedReport:
    """What :func:`write_dicom_derived` / :func:`write_secondary_capture` wrote.

    Attributes:
        path: the file written.
        sop_class_uid, sop_instance_uid, series_instance_uid, study_instance_uid: the new object.
        rows, columns: output size.
        pixel_spacing: (row, col) mm of the output, or None.
        image_position: ImagePositionPatient of the output, or None.
        clipped_low, clipped_high: output values below / above the representable range that were
            clipped when converting back to stored values.
        derivation: the DerivationDescription text.
        warnings: anything the caller should know (dropped attributes, pydicom warnings).
    """

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    rows: int
    columns: int
    pixel_spacing: tuple[float, float] | None = None
    image_position: tuple[float, float, float] | None = None
    clipped_low: int = 0
    clipped_high: int = 0
    derivation: str = ""
    warnings: list[str] = field(default_factory=list)


def _collect_warnings(func: Callable[..., DerivedReport]) -> Callable[..., DerivedReport]:
    """Run a writer with Python warnings (pydicom's value checks) recorded into the report."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> DerivedReport:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report = func(*args, **kwargs)
        for w in caught:
            text = (str(w.message).splitlines() or [w.category.__name__])[0]
            if text not in report.warnings:
                report.warnings.append(text)
        return report

    return wrapper


def _ds(value: float) -> Any:
    return DSfloat(float(value), auto_format=True)


def _times_sign(ds: Any, added: str, report_warnings: list[str]) -> str:
    """"×" or "x" for the text this writer adds to ``ds`` (``added``: all of it, written with
    "×"), changing Specific Character Set to ISO_IR 192 where the declared one cannot hold the
    added text (:func:`app.io._dicom_iod.text_character_set`)."""
    times, charset = text_character_set(ds, added)
    if charset is not None:
        old = ds.get("SpecificCharacterSet")
        old_text = "\\".join(old) if isinstance(old, (list, tuple)) or hasattr(old, "__iter__") \
            and not isinstance(old, str) else str(old or "")
        ds.SpecificCharacterSet = charset
        if old_text and old_text.strip() not in ("", "ISO_IR 6"):
            report_warnings.append(f"SpecificCharacterSet (0008,0005) changed from {old_text} "
                                   f"to {charset}: the added description cannot be written in "
                                   "the source's character set")
    return times


def _now() -> tuple[str, str]:
    now = _dt.datetime.now()
    return now.strftime("%Y%m%d"), now.strftime("%H%M%S.%f")


@dataclass
class _SeriesRecord:
    """What the instances of one derived series written in this process share: Series Date
    and Time (series-level attributes, the same in every instance: a PACS and dicom3tools'
    ``dcentvfy`` check it, while a run writes its instances over minutes) and the numbers given
    to instances whose source had none (1, 2, … in the order written)."""

    date_time: tuple[str, str]
    unnumbered: int = 0


#: by Series Instance UID, the most recently written last; at most _SERIES_KEPT
_SERIES: OrderedDict[str, _SeriesRecord] = OrderedDict()
_SERIES_KEPT = 4096
_SERIES_LOCK = threading.Lock()


def _series_record(series_uid: str, now: tuple[str, str]) -> _SeriesRecord:
    """The record of ``series_uid`` (begun at ``now`` for its first instance). Call under
    ``_SERIES_LOCK``."""
    record = _SERIES.setdefault(series_uid, _SeriesRecord(now))
    _SERIES.move_to_end(series_uid)
    while len(_SERIES) > _SERIES_KEPT:
        _SERIES.popitem(last=False)
    return record


def _series_time(series_uid: str, now: tuple[str, str]) -> tuple[str, str]:
    """(SeriesDate, SeriesTime) of the series ``series_uid``: ``now`` for its first instance,
    the first instance's for the others."""
    with _SERIES_LOCK:
        return _series_record(series_uid, now).date_time


def _next_instance_number(series_uid: str) -> int:
    """1 for the first unnumbered instance written into the derived series ``series_uid``, 2
    for the next, …"""
    with _SERIES_LOCK:
        record = _series_record(series_uid, _now())
        record.unnumbered += 1
        return record.unnumbered


def _derivation_text(scale: float, roi: tuple[int, int, int, int], method: str,
                     weights_sha256: str | None, out_shape: tuple[int, int], times: str,
                     extra: str) -> str:
    x, y, w, h = roi
    text = (f"Super-resolution {times}{fmt_scale(scale)} with {method_label(method)} "
            f"(method {method}) of ROI x={x} y={y} w={w} h={h} (source pixels) to "
            f"{out_shape[1]}{times}{out_shape[0]} pixels; centre-aligned output grid "
            f"(pixel j at source (j+0.5)/s-0.5); weights sha256 "
            f"{weights_sha256 or 'none (no network)'}; software {SOFTWARE}. Pixel values are "
            "computed, not acquired.")
    if extra:
        text += " " + extra.strip()
    return text[:1024]


def _code_item(value: str, scheme: str, meaning: str) -> Any:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _set_common_derived(ds: Any, *, scale: float, roi: tuple[int, int, int, int], method: str,
                        weights_sha256: str | None, out_shape: tuple[int, int],
                        description_extra: str, times: str, source_image_type: list[str]) -> str:

    derivation = _derivation_text(scale, roi, method, weights_sha256, out_shape, times,
                                  description_extra)
    ds.ImageType = ["DERIVED", "SECONDARY"] + [str(v) for v in source_image_type[2:]]
    # an already derived source keeps its history after ours (ours first: truncation cuts the
    # oldest part; DerivationDescription is ST, 1024 characters)
    earlier = str(ds.get("DerivationDescription", "") or "").strip()
    ds.DerivationDescription = (derivation + (f" Earlier derivation: {earlier}" if earlier
                                              else ""))[:1024]
    codes = list(ds.get("DerivationCodeSequence") or [])
    ds.DerivationCodeSequence = Sequence(codes + [_code_item("113085", "DCM",
                                                             "Spatial resampling")])
    # BurnedInAnnotation: a derived image keeps its source's (a crop may still show burnt-in
    # patient details); nothing is claimed for a raster source, whose content is unknown.
    comments = str(ds.get("ImageComments", "") or "").strip()
    ds.ImageComments = (f"SR {times}{fmt_scale(scale)} {method_label(method)}: computed by "
                        f"super-resolution, not acquired ({SOFTWARE})."
                        + (f" Source comments: {comments}" if comments else ""))[:10240]
    date, time = _now()
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.ContentDate, ds.ContentTime = date, time
    ds.SeriesDate, ds.SeriesTime = _series_time(str(ds.SeriesInstanceUID), (date, time))
    if str(ds.get("InstanceNumber", "") or "").strip() == "":
        # a derived slice keeps its source's, so a series stays in order; one without numbers
        # the instances of its derived series in the order they are written (1, 2, …)
        ds.InstanceNumber = _next_instance_number(str(ds.SeriesInstanceUID))
    # this software as the equipment that processed the image (PS3.3 C.7.5.1, CID 7005), after
    # whatever contributed before; Manufacturer / SoftwareVersions stay the source's (scanner)
    item = Dataset()
    item.Manufacturer = f"{SOFTWARE} project"
    item.ManufacturerModelName = SOFTWARE
    item.SoftwareVersions = software_version()[:64]
    item.ContributionDateTime = f"{date}{time}"
    item.ContributionDescription = (f"super-resolution {times}{fmt_scale(scale)} "
                                    f"{method_label(method)}: computed pixels")[:1024]
    item.PurposeOfReferenceCodeSequence = Sequence([_code_item("109102", "DCM",
                                                               "Processing Equipment")])
    ds.ContributingEquipmentSequence = Sequence(list(ds.get("ContributingEquipmentSequence")
                                                     or []) + [item])
    return derivation


class DerivedSeries:
    """New Series Instance UIDs, one per (source series, method, scale, ROI): the slices of one
    source series written alike by one run or session form one derived series, which a PACS
    stacks (pass :meth:`uid_for` as ``series_instance_uid``)."""

    def __init__(self) -> None:
        self._uids: dict[tuple, str] = {}

    def uid_for(self, source: ImageData, method: str, scale: float,
                roi: tuple[int, int, int, int]) -> str | None:
        """The derived series UID for this source and run settings; None for a source without a
        SeriesInstanceUID (a raster becomes a Secondary Capture of its own)."""
        ds = source.dataset if source.kind == "dicom" else None
        series = str(ds.get("SeriesInstanceUID", "") or "") if ds is not None else ""
        if not series:
            return None
        return self._uids.setdefault((series, method, float(scale), tuple(roi)), generate_uid())
