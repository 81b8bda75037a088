"""Derived DICOM and Secondary Capture writing.

The attributes it sets and why: :mod:`app.io.writers`.

See :mod:`app.io.writers` for the geometry of the output grid.
"""
from __future__ import annotations

import copy
import datetime as _dt
import functools
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import DSfloat

from ._atomic import as_image_array, atomic_write
from ._dicom import LOSSY_TRANSFER_SYNTAXES, frame_dataset
from ._dicom_iod import (MULTI_FRAME_CLASSES, complete_type2, lift_functional_groups,
                         missing_type1, text_character_set, voi_function_for)
from .errors import InvalidScaleError, WriteError
from .image_data import ImageData
from .labels import SOFTWARE, fmt_scale, method_label, software_version
from .roi import output_size, validate_roi, validate_scale

__all__ = ["DerivedReport", "DerivedSeries", "write_dicom_derived", "write_secondary_capture",
           "SC_IMAGE_STORAGE"]

SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
_CT, _MR, _PET, _US = ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4",
                       "1.2.840.10008.5.1.4.1.1.128", "1.2.840.10008.5.1.4.1.1.6.1")
#: Multi-frame / enhanced SOP classes → the single-frame class a one-frame derived image uses.
#: Enhanced MR (and MR Color), Enhanced PET and Enhanced XA/XRF become Secondary Capture: their
#: legacy classes require Type 1 attributes the enhanced objects do not carry (e.g. MR's
#: ScanningSequence and SequenceVariant), so relabelling them would write invalid instances.
#: Enhanced CT keeps CT (its rescale and acquisition attributes flatten from the functional
#: groups); the Legacy Converted Enhanced classes keep the attributes of their legacy sources.
_SINGLE_FRAME_CLASS = {
    "1.2.840.10008.5.1.4.1.1.2.1": _CT, "1.2.840.10008.5.1.4.1.1.2.2": _CT,
    "1.2.840.10008.5.1.4.1.1.4.1": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.4.3": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.4.4": _MR,
    "1.2.840.10008.5.1.4.1.1.128.1": _PET, "1.2.840.10008.5.1.4.1.1.130": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.12.1.1": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.12.2.1": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.3.1": _US,
    "1.2.840.10008.5.1.4.1.1.7.1": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.7.2": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.7.3": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.7.4": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.20": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.13.1.3": SC_IMAGE_STORAGE,
    "1.2.840.10008.5.1.4.1.1.6.2": SC_IMAGE_STORAGE,
}
#: Classes whose IOD allows one frame where the source has several (their Multi-frame module is
#: conditional on multi-frame pixel data): a frame of them keeps the class. Any other multi-frame
#: or functional-group class not in :data:`_SINGLE_FRAME_CLASS` (Ophthalmic Tomography, X-Ray 3D,
#: Breast Projection/Tomosynthesis, IVOCT, Whole Slide Microscopy, …) becomes Secondary Capture.
_FRAMES_OPTIONAL = frozenset({
    "1.2.840.10008.5.1.4.1.1.481.2",  # RT Dose
    "1.2.840.10008.5.1.4.1.1.12.1", "1.2.840.10008.5.1.4.1.1.12.2",  # XA, XRF
    _US, SC_IMAGE_STORAGE,
})
#: Classes whose colour images must be 8 bits per sample (US Image module C.8.5.6.1.5, VL Image
#: module C.8.12.1.1.3): a colour source of more bits (16-bit palette entries) becomes Secondary
#: Capture.
_EIGHT_BIT_COLOUR = frozenset({
    _US, "1.2.840.10008.5.1.4.1.1.77.1.1", "1.2.840.10008.5.1.4.1.1.77.1.2",
    "1.2.840.10008.5.1.4.1.1.77.1.3", "1.2.840.10008.5.1.4.1.1.77.1.4",
    "1.2.840.10008.5.1.4.1.1.77.1.5.1",
})
#: Objects whose pixels are not an image of the patient to super-resolve as DICOM.
_NOT_DERIVABLE = {"1.2.840.10008.5.1.4.1.1.66.4": "a Segmentation (label masks)"}
#: Attributes describing the source's pixels or frames that a resampled single frame must not keep.
_STALE_KEYWORDS = (
    "SmallestImagePixelValue", "LargestImagePixelValue", "SmallestPixelValueInSeries",
    "LargestPixelValueInSeries", "PixelPaddingValue", "PixelPaddingRangeLimit",
    "IconImageSequence", "ExtendedOffsetTable", "ExtendedOffsetTableLengths",
    "PixelDataProviderURL", "DataSetTrailingPadding", "SequenceOfUltrasoundRegions",
    "PixelData", "FloatPixelData", "DoubleFloatPixelData",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "AlphaPaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData", "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData", "AlphaPaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData", "SegmentedAlphaPaletteColorLookupTableData",
    "PaletteColorLookupTableUID", "LargeRedPaletteColorLookupTableData",
    "LargeGreenPaletteColorLookupTableData", "LargeBluePaletteColorLookupTableData",
    "LargePaletteColorLookupTableUID", "ICCProfile",
)
_MULTIFRAME_KEYWORDS = (
    "NumberOfFrames", "FrameIncrementPointer", "GridFrameOffsetVector", "FrameTime",
    "FrameTimeVector", "FrameDelay", "StartTrim", "StopTrim", "RecommendedDisplayFrameRate",
    "CineRate", "ActualFrameDuration", "PerFrameFunctionalGroupsSequence",
    "SharedFunctionalGroupsSequence", "DimensionOrganizationSequence", "DimensionIndexSequence",
    "DimensionOrganizationType", "MultiFrameSourceSOPInstanceUID", "SliceVector",
    "NumberOfSlices", "TimeSlotVector", "NumberOfTimeSlots", "RRIntervalVector",
    "NumberOfRRIntervals", "EnergyWindowVector", "NumberOfEnergyWindows", "DetectorVector",
    "NumberOfDetectors", "PhaseVector", "NumberOfPhases", "RotationVector", "NumberOfRotations",
    "AngularViewVector", "TimeSliceVector", "RepresentativeFrameNumber", "FrameLabelVector",
    "FrameNumbersOfInterest", "FrameOfInterestDescription", "FrameOfInterestType",
)
_BINARY_VRS = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SPACING_KEYWORDS = ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing")


def spacing_pair(value: Any) -> tuple[float, float] | None:
    """(row, column) spacing from a PixelSpacing-like value: exactly two finite numbers > 0
    (PS3.3 10.7.1.3, VM 2), else None — one value, three, zero, negative, NaN or text."""
    if value is None or isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return None
    if len(value) != 2:
        return None
    try:
        pair = (float(value[0]), float(value[1]))
    except (TypeError, ValueError, OverflowError):
        return None
    return pair if all(np.isfinite(v) and v > 0 for v in pair) else None


def _shown(value: Any) -> str:
    """A header value as a user reads it: backslash-separated, short."""
    if isinstance(value, (list, tuple)) or (hasattr(value, "__iter__")
                                           and not isinstance(value, (str, bytes))):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")
_DS_MAX = 16


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
    ds.SeriesDate, ds.SeriesTime = date, time
    if str(ds.get("InstanceNumber", "") or "").strip() == "":
        ds.InstanceNumber = 1  # a derived slice keeps its source's, so a series stays in order
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


def _stored_limits(bits_stored: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1
    return 0, 2 ** bits_stored - 1


def _int_dtype(bits_allocated: int, signed: bool) -> np.dtype:
    if bits_allocated not in (8, 16, 32):
        raise ValueError(f"BitsAllocated {bits_allocated} is not supported for writing")
    return np.dtype(f"{'i' if signed else 'u'}{bits_allocated // 8}")


def _set_pixels(ds: Any, arr: np.ndarray, photometric: str, bits_stored: int) -> None:
    """Pixel Data and the Image Pixel module from ``arr`` (uncompressed, little endian)."""
    if arr.dtype.itemsize <= 2:
        ds.set_pixel_data(arr, photometric, bits_stored, generate_instance_uid=False)
        return
    # 32-bit (e.g. RT Dose): pydicom's set_pixel_data supports ≤ 16 bits, so set the module here
    ds.Rows, ds.Columns = int(arr.shape[0]), int(arr.shape[1])
    ds.SamplesPerPixel = 3 if arr.ndim == 3 else 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored, ds.HighBit = bits_stored, bits_stored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    if arr.ndim == 3:
        ds.PlanarConfiguration = 0
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    ds.PixelData = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"))).tobytes()
    ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"


def _file_meta(sop_class: str, sop_instance: str) -> Any:

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "RMISR_VIEWER_1"
    return meta


def _save_dicom(ds: Any, target: Path, sources: list[Path], report_warnings: list[str]) -> None:
    def write(fh: IO[bytes]) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds.save_as(fh, enforce_file_format=True)
        for w in caught:
            report_warnings.append(str(w.message).splitlines()[0])

    atomic_write(target, write, sources=sources)


def _check_output(source_shape: tuple[int, int], roi: tuple[int, int, int, int], scale: float,
                  arr: np.ndarray, colour: bool, target: Path) -> tuple[int, int]:
    x, y, w, h = roi
    expected = output_size(h, w, scale)
    if tuple(arr.shape[:2]) != expected:
        raise InvalidScaleError(
            f"pixels are {arr.shape[1]}×{arr.shape[0]} but an ROI of {w}×{h} at "
            f"×{fmt_scale(scale)} gives {expected[1]}×{expected[0]} (round half up)", target)
    if colour != (arr.ndim == 3):
        raise WriteError("the pixels' channel count does not match the source "
                         f"({'colour' if colour else 'grey'})", target)
    return expected


# --------------------------------------------------------------------------- derived DICOM


def _padding_out(source: ImageData, roi: tuple[int, int, int, int], scale: float,
                 shape: tuple[int, ...]) -> tuple[int, np.ndarray] | None:
    """(stored padding value, mask) of an output of ``shape`` for a source with
    PixelPaddingValue: output pixels whose nearest source pixel (centre-aligned, the engine's
    grid) is padding. None when the source has no padding or its value is unusable."""
    if source.padding is None or source.dataset is None:
        return None
    try:
        value = int(source.dataset.PixelPaddingValue)
    except (AttributeError, TypeError, ValueError):
        return None
    x, y, w, h = roi
    rows = np.minimum(np.floor((np.arange(shape[0]) + 0.5) / scale).astype(int), h - 1) + y
    cols = np.minimum(np.floor((np.arange(shape[1]) + 0.5) / scale).astype(int), w - 1) + x
    mask = source.padding[np.ix_(rows, cols)]
    return (value, mask) if mask.any() else None


@_collect_warnings
def write_dicom_derived(path: str | os.PathLike[str], source: ImageData, pixels: np.ndarray, *,
                        scale: float, roi: tuple[int, int, int, int] | None = None, method: str,
                        weights_sha256: str | None = None, description_extra: str = "",
                        window: tuple[float, float] | None = None,
                        series_instance_uid: str | None = None) -> DerivedReport:
    """Write a super-resolved ROI of a DICOM source as a new, derived DICOM instance.

    Args:
        path: target file (``.dcm``).
        source: the :class:`ImageData` read from the source DICOM (its ``dataset`` is the header
            the new instance derives from; ``frame`` selects the frame of a multi-frame source).
        pixels: the result in the source's modality units (e.g. HU), shape round(ROI × scale),
            (H, W) or (H, W, 3) like the source.
        scale: the magnification used (1.1–5).
        roi: (x, y, w, h) of the source that was upscaled; None = the whole image.
        method: engine method name ("rmisr-vp", …).
        weights_sha256: sha256 of the weights file (None for bicubic).
        description_extra: appended to DerivationDescription.
        window: a display window to store when the source has none (default: ``source.window``).
        series_instance_uid: the new series this instance joins (default: a new series); pass
            one UID for every slice of one source series written with the same method, scale
            and ROI, so that a PACS stacks them (each keeps its source's InstanceNumber; a frame
            of a multi-frame source is numbered by its frame, 1-based).

    Returns:
        A :class:`DerivedReport` (new UIDs, geometry, clipped-value counts).

    Raises:
        WriteError: the source is not DICOM or cannot be derived from (Modality LUT Sequence,
            float pixel data); SourceOverwriteError; InvalidScaleError / InvalidROIError;
            InvalidPixelsError (NaN/inf).
    """
    target = Path(path)
    if source.kind != "dicom" or source.dataset is None:
        raise WriteError("the source is not a DICOM image: use write_secondary_capture", target)
    if source.rescale is None:
        raise WriteError("the source maps stored values through a Modality LUT Sequence, which "
                         "cannot be inverted: export TIFF instead", target)
    if source.bits_stored is None:
        raise WriteError("the source has floating-point pixel data: export TIFF instead", target)
    s = validate_scale(scale)
    roi_v = validate_roi(roi, source)
    arr = as_image_array(pixels, target)
    colour = source.is_colour
    out_rows, out_cols = _check_output(source.shape[:2], roi_v, s, arr, colour, target)
    report_warnings: list[str] = []

    ds = copy.deepcopy(source.dataset)
    try:
        for _ in ds.iterall():  # decode every raw element now (needed to change the encoding)
            pass
    except Exception as exc:  # noqa: BLE001
        raise WriteError(f"the source header cannot be re-encoded ({exc})", target) from exc
    if ds.original_encoding[1] is False:  # big-endian source: binary values would be misread
        for elem in list(ds):
            if elem.VR in _BINARY_VRS:
                del ds[elem.tag]
                report_warnings.append(f"dropped {elem.keyword or elem.tag} (binary value of a "
                                       "big-endian source)")
    ds.set_original_encoding(None, None, ds.original_character_set)

    source_class = str(ds.get("SOPClassUID", "") or "")
    source_instance = str(ds.get("SOPInstanceUID", "") or "")
    if source_class in _NOT_DERIVABLE:
        raise WriteError(f"the source is {_NOT_DERIVABLE[source_class]}, not an image to derive "
                         "a DICOM image from: export PNG or TIFF instead", target)
    multi = source.n_frames > 1 or "PerFrameFunctionalGroupsSequence" in ds or \
        "SharedFunctionalGroupsSequence" in ds
    if multi:
        flat = frame_dataset(ds, source.frame)
        for elem in flat:
            ds[elem.tag] = elem
        lift_functional_groups(ds, source.frame)  # before the groups go
        for kw in _MULTIFRAME_KEYWORDS:
            if kw in ds:
                del ds[kw]
        new_class = _SINGLE_FRAME_CLASS.get(
            source_class, source_class if source_class in _FRAMES_OPTIONAL else SC_IMAGE_STORAGE)
        lacking = missing_type1(ds, new_class)
        if lacking and new_class != SC_IMAGE_STORAGE:
            report_warnings.append(f"{UID(new_class).name} needs {', '.join(lacking)} (Type 1), "
                                   "which the source frame does not give: written as Secondary "
                                   "Capture")
            new_class = SC_IMAGE_STORAGE
        if new_class != source_class:
            report_warnings.append(f"multi-frame {UID(source_class).name} written as a single "
                                   f"{UID(new_class).name} instance (frame {source.frame + 1})")
        ds.SOPClassUID = new_class
        if source.n_frames > 1:
            # the frames written one by one make a series: number them in frame order
            ds.InstanceNumber = source.frame + 1
    if colour and int(source.bits_stored) > 8 and ds.SOPClassUID in _EIGHT_BIT_COLOUR:
        report_warnings.append(f"{UID(str(ds.SOPClassUID)).name} allows 8-bit colour only: the "
                               "16-bit colour result is written as Secondary Capture")
        ds.SOPClassUID = SC_IMAGE_STORAGE
    if ds.SOPClassUID == SC_IMAGE_STORAGE and "ConversionType" not in ds:
        ds.ConversionType = "WSD"  # SC Equipment module, Type 1
    if "SequenceOfUltrasoundRegions" in ds:
        report_warnings.append("ultrasound calibration regions (SequenceOfUltrasoundRegions) "
                               "dropped: distances cannot be measured on the derived image")
    for kw in _STALE_KEYWORDS:
        if kw in ds:
            del ds[kw]
    for elem in list(ds):
        if 0x6000 <= elem.tag.group <= 0x601E and elem.tag.group % 2 == 0:
            del ds[elem.tag]  # overlays are drawn on the source's pixel grid

    label = method_label(method)
    times = _times_sign(ds, f"×{label}{description_extra}", report_warnings)

    # ---- identity
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series_instance_uid or generate_uid()
    try:
        series_number = int(ds.get("SeriesNumber") or 0)
    except (TypeError, ValueError):
        series_number = 0
    ds.SeriesNumber = min(series_number + 1000, 2 ** 31 - 1)
    suffix = f" SR {times}{fmt_scale(s)} {label} (computed)"
    base = str(ds.get("SeriesDescription", "") or "").strip()
    ds.SeriesDescription = (base[: max(0, 64 - len(suffix))] + suffix).strip()[:64]
    derivation = _set_common_derived(
        ds, scale=s, roi=roi_v, method=method, weights_sha256=weights_sha256,
        out_shape=(out_rows, out_cols), description_extra=description_extra, times=times,
        source_image_type=[str(v) for v in (ds.get("ImageType") or [])]
        if not isinstance(ds.get("ImageType"), str) else [str(ds.ImageType)])
    if source_class and source_instance:
        ref = Dataset()
        ref.ReferencedSOPClassUID = source_class
        ref.ReferencedSOPInstanceUID = source_instance
        if source.n_frames > 1 and source_class in MULTI_FRAME_CLASSES:
            # Image SOP Instance Reference Macro (PS3.3 Table 10-3): a frame number only for a
            # multi-frame class; a single-frame class with several frames is referenced whole
            ref.ReferencedFrameNumber = source.frame + 1
        ref.PurposeOfReferenceCodeSequence = Sequence([_code_item(
            "121322", "DCM", "Source image for image processing operation")])
        ds.SourceImageSequence = Sequence([ref])
    else:  # a reference with an empty UID would point nowhere
        if "SourceImageSequence" in ds:
            del ds.SourceImageSequence
        report_warnings.append("the source has no SOP Class/Instance UID: no Source Image "
                               "Sequence written")

    # ---- geometry
    type1_before = set(missing_type1(ds, str(ds.SOPClassUID)))
    x, y, _, _ = roi_v
    new_spacing: tuple[float, float] | None = None
    new_position: tuple[float, float, float] | None = None
    if source.pixel_spacing is not None:
        row_sp, col_sp = source.pixel_spacing
        new_spacing = (row_sp / s, col_sp / s)
    for kw in _SPACING_KEYWORDS:
        if kw not in ds or ds[kw].is_empty:
            continue  # an empty Type 2 value says "unknown", at any scale
        pair = spacing_pair(ds[kw].value)
        if pair is None:
            report_warnings.append(f"{kw} {_shown(ds[kw].value)} is not two positive numbers "
                                   "(row\\column spacing, PS3.3 10.7.1.3): not written, so the "
                                   "result has no physical size from it")
            del ds[kw]
        else:
            ds[kw].value = [_ds(pair[0] / s), _ds(pair[1] / s)]
    if source.image_position is not None:
        if source.image_orientation is not None and source.pixel_spacing is not None:
            ipp = np.asarray(source.image_position, dtype=np.float64)
            iop = np.asarray(source.image_orientation, dtype=np.float64)
            row_dir, col_dir = iop[:3], iop[3:]  # along a row (column index ↑), down a column
            row_sp, col_sp = source.pixel_spacing
            dc = x + 0.5 / s - 0.5
            dr = y + 0.5 / s - 0.5
            origin = ipp + dc * col_sp * row_dir + dr * row_sp * col_dir
            new_position = (float(origin[0]), float(origin[1]), float(origin[2]))
            ds.ImagePositionPatient = [_ds(v) for v in new_position]
        elif "ImagePositionPatient" in ds:
            del ds.ImagePositionPatient
            report_warnings.append("ImagePositionPatient dropped: without PixelSpacing and "
                                   "ImageOrientationPatient it cannot be moved to the ROI")

    lost = [kw for kw in missing_type1(ds, str(ds.SOPClassUID)) if kw not in type1_before]
    if lost:  # e.g. a CT whose malformed PixelSpacing was not written
        report_warnings.append(f"{UID(str(ds.SOPClassUID)).name} needs {', '.join(lost)} (Type "
                               "1), which could not be written: written as Secondary Capture")
        ds.SOPClassUID = SC_IMAGE_STORAGE
        if "ConversionType" not in ds:
            ds.ConversionType = "WSD"

    # ---- pixels back to stored values
    slope, intercept = source.rescale
    if not colour and ("RescaleSlope" in ds or "RescaleIntercept" in ds):
        try:
            written = (float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0)))
        except (TypeError, ValueError):
            written = None
        if written != (float(slope), float(intercept)):  # the reader ignored an invalid pair
            ds.RescaleSlope, ds.RescaleIntercept = _ds(slope), _ds(intercept)
            report_warnings.append(f"Rescale Slope/Intercept written as the {slope:g}/"
                                   f"{intercept:g} used to read the source (its own were "
                                   "invalid)")
    bits_alloc = int(ds.get("BitsAllocated") or 16)
    bits_stored = int(source.bits_stored)
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    if colour:
        bits_stored = _colour_bits(bits_stored)
        bits_alloc, signed, slope, intercept = bits_stored, False, 1.0, 0.0
    lo, hi = _stored_limits(bits_stored, signed)
    stored = np.round((arr.astype(np.float64) - intercept) / slope)
    # out of the scan's field of view stays padding, stored as the source's PixelPaddingValue
    pad = None if colour else _padding_out(source, roi_v, s, stored.shape)
    if pad is not None and not lo <= pad[0] <= hi:
        pad = None
    if pad is not None:
        stored[pad[1]] = pad[0]  # not computed: never counted as clipped
    below, above = int(np.sum(stored < lo)), int(np.sum(stored > hi))
    clipped_low, clipped_high = (below, above) if slope > 0 else (above, below)
    if clipped_low or clipped_high:
        ends = sorted((lo * slope + intercept, hi * slope + intercept))
        what = (f"the range of the {bits_stored}-bit RGB samples written (the source's are "
                f"{source.bits_stored}-bit)" if colour else
                "the range the source's pixel format stores")
        report_warnings.append(f"{clipped_low} computed value(s) below {ends[0]:g} and "
                               f"{clipped_high} above {ends[1]:g}, {what}, were clipped to it")
    try:
        dtype = _int_dtype(max(bits_alloc, 8 if bits_stored <= 8 else
                               16 if bits_stored <= 16 else 32), signed)
    except ValueError as exc:
        raise WriteError(str(exc), target) from None
    stored = np.clip(stored, lo, hi)
    if pad is not None:
        collide = (stored == pad[0]) & ~pad[1]  # a computed value that would read as padding
        stored[collide] += 1 if pad[0] < hi else -1
        ds.add_new(0x00280120, "SS" if signed else "US", int(pad[0]))  # PixelPaddingValue
    out = stored.astype(dtype)
    photometric = "RGB" if colour else source.photometric

    # ---- display / compression flags
    if colour:
        for kw in ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation",
                   "VOILUTFunction", "VOILUTSequence", "RescaleSlope", "RescaleIntercept",
                   "RescaleType", "ModalityLUTSequence", "PresentationLUTShape"):
            if kw in ds:
                del ds[kw]
    else:
        voi = ds.get("VOILUTSequence")
        if voi and not _voi_lut_consistent(voi, bits_alloc):
            del ds.VOILUTSequence
            report_warnings.append("VOILUTSequence dropped (inconsistent with the pixel data)")
        elif voi:
            _voi_lut_entries_16(voi, report_warnings)
        if "WindowCenter" not in ds and "VOILUTSequence" not in ds:
            c, w = window if window is not None else source.window
            ds.WindowCenter, ds.WindowWidth = _ds(c), _ds(w)
        _window_function(ds, report_warnings)
    if str(ds.get("LossyImageCompression", "")).strip() != "01" and source.lossy:
        ds.LossyImageCompression = "01"
        ts = str(source.dataset.file_meta.get("TransferSyntaxUID", "")) \
            if hasattr(source.dataset, "file_meta") else ""
        if ts in LOSSY_TRANSFER_SYNTAXES and "LossyImageCompressionMethod" not in ds:
            ds.LossyImageCompressionMethod = LOSSY_TRANSFER_SYNTAXES[ts]

    complete_type2(ds, str(ds.SOPClassUID),
                   rescale_type="HU" if source.value_unit == "HU" else "US")
    ds.file_meta = _file_meta(str(ds.SOPClassUID), str(ds.SOPInstanceUID))
    try:
        _set_pixels(ds, out, photometric, bits_stored)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise WriteError(f"cannot set the pixel data ({exc})", target) from exc
    _save_dicom(ds, target, [source.source_path], report_warnings)
    return DerivedReport(
        path=target, sop_class_uid=str(ds.SOPClassUID), sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.get("StudyInstanceUID", "")), rows=out_rows, columns=out_cols,
        pixel_spacing=new_spacing, image_position=new_position, clipped_low=clipped_low,
        clipped_high=clipped_high, derivation=derivation, warnings=report_warnings)


def _colour_bits(source_bits: int | None) -> int:
    """Bits per RGB sample written for a colour source of ``source_bits`` per sample: the
    smallest of 8, 16 and 32 that holds them (a 32-bit source is not squeezed into 16 bits)."""
    bits = int(source_bits or 8)
    return 8 if bits <= 8 else 16 if bits <= 16 else 32


def _window_function(ds: Any, report_warnings: list[str]) -> None:
    """Keep a window narrower than 1 valid: VOI LUT Function LINEAR_EXACT where it would be
    LINEAR (:func:`app.io._dicom_iod.voi_function_for`)."""
    value = ds.get("WindowWidth")
    if value is None or ds["WindowWidth"].is_empty:
        return
    values = list(value) if not isinstance(value, (str, bytes)) and hasattr(
        value, "__iter__") else [value]
    try:
        narrowest = min(float(v) for v in values)
        centres = ds.get("WindowCenter")
        centres = list(centres) if not isinstance(centres, (str, bytes)) and hasattr(
            centres, "__iter__") else [centres]
        widest = max(abs(float(v)) for v in values + [c for c in centres if c is not None])
    except (TypeError, ValueError):
        return
    if widest > _FLOAT32_MAX:  # validators and many readers hold DS values in single precision
        for kw in ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation",
                   "VOILUTFunction"):
            if kw in ds:
                del ds[kw]
        report_warnings.append(f"display window not written: its values reach {widest:.4g}, "
                               "beyond the single-precision range (3.4e38) DICOM readers hold "
                               "it in")
        return
    function = voi_function_for(narrowest, str(ds.get("VOILUTFunction", "") or ""))
    if function is not None:
        ds.VOILUTFunction = function
        report_warnings.append(f"window width {narrowest:g} is below 1: written with VOI LUT "
                               f"Function {function} (LINEAR needs a width of at least 1, "
                               "PS3.3 C.11.2.1.2)")


def _voi_lut_entries_16(seq: Any, report_warnings: list[str]) -> None:
    """Re-encode VOI LUT items whose entries have 9–15 bits as 16-bit entries, the same
    fraction of the output range each (entry × 65535 / (2^n − 1), rounded): LUT Descriptor's
    third value is 8 or 16 in the VOI LUT module (PS3.3 C.11.2.1.1), which an enhanced source's
    functional group may not have kept to."""
    for item in seq:
        entries, first, bits = (int(v) for v in item.LUTDescriptor)
        if bits in (8, 16):
            continue
        data = item.LUTData
        raw = isinstance(data, bytes)
        values = (np.frombuffer(data, "<u2") if raw else np.asarray(
            [data] if np.isscalar(data) else list(data))).astype(np.float64)
        scaled = np.clip(np.round(values * 65535.0 / (2 ** bits - 1)), 0, 65535).astype("<u2")
        item.LUTDescriptor = [entries, first, 16]
        item.LUTData = scaled.tobytes() if raw else [int(v) for v in scaled]
        report_warnings.append(f"VOI LUT with {bits}-bit entries re-encoded with 16-bit "
                               "entries (same display), as the VOI LUT module requires 8 or 16")


def _voi_lut_consistent(seq: Any, bits_alloc: int) -> bool:
    try:
        for item in seq:
            entries, _, bits = (int(v) for v in item.LUTDescriptor)
            data = item.LUTData
            n = len(data) if not isinstance(data, bytes) else len(data) // 2
            if n != (entries or 65536) or not 8 <= bits <= 16:
                return False
        return True
    except Exception:  # noqa: BLE001 — malformed items are "inconsistent"
        return False


# --------------------------------------------------------------------------- Secondary Capture


@_collect_warnings
def write_secondary_capture(path: str | os.PathLike[str], pixels: np.ndarray, *,
                            source: ImageData, scale: float,
                            roi: tuple[int, int, int, int] | None = None, method: str,
                            weights_sha256: str | None = None, description_extra: str = "",
                            window: tuple[float, float] | None = None) -> DerivedReport:
    """Write a super-resolved ROI of a non-DICOM source as a Secondary Capture Image.

    SC Image Storage (1.2.840.10008.5.1.4.1.1.7), new Study / Series / SOP Instance UIDs, empty
    patient module (nothing is known about the patient), Modality OT, ConversionType "WSD",
    ImageType DERIVED\\SECONDARY, derivation description and code as for derived images. Grey
    data are stored as 8-bit for 8-bit sources, 16-bit otherwise (signed if negative values are
    representable in the source); non-integer sources (float TIFF) are mapped linearly onto 16 bits
    with RescaleSlope/Intercept so that the values survive. Colour → 8- or 16-bit RGB.

    Args: as :func:`write_dicom_derived`.

    Returns:
        A :class:`DerivedReport`.
    """
    target = Path(path)
    s = validate_scale(scale)
    roi_v = validate_roi(roi, source)
    arr = as_image_array(pixels, target).astype(np.float64)
    colour = source.is_colour
    out_rows, out_cols = _check_output(source.shape[:2], roi_v, s, arr, colour, target)
    report_warnings: list[str] = []

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SC_IMAGE_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    for kw in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
               "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
               "PatientOrientation"):
        setattr(ds, kw, "")
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.SecondaryCaptureDeviceManufacturer = SOFTWARE
    ds.SeriesNumber = 1000
    label = method_label(method)
    ds.SeriesDescription = f"SR ×{fmt_scale(s)} {label} (computed)"[:64]
    extra = f"Source file {source.source_path.name}. {description_extra}".strip()
    derivation = _set_common_derived(
        ds, scale=s, roi=roi_v, method=method, weights_sha256=weights_sha256,
        out_shape=(out_rows, out_cols), description_extra=extra, times="×",
        source_image_type=[])
    if source.lossy:
        ds.LossyImageCompression = "01"
        if source.transfer_syntax == "JPEG":
            ds.LossyImageCompressionMethod = "ISO_10918_1"

    lo_src, hi_src = source.stored_range
    if colour:
        bits = _colour_bits(source.bits_stored)
        lo, hi = 0, 2 ** bits - 1
        stored = np.round(arr)
        photometric, signed = "RGB", False
        slope, intercept = 1.0, 0.0
    elif source.bits_stored is not None:
        src_bits = int(source.bits_stored or 16)
        bits = 8 if src_bits <= 8 and lo_src >= 0 else 16 if src_bits <= 16 else 32
        signed = lo_src < 0
        lo, hi = _stored_limits(bits, signed)
        stored = np.round(arr)
        photometric = source.photometric if source.photometric.startswith("MONO") else \
            "MONOCHROME2"
        slope, intercept = 1.0, 0.0
    else:  # float data: linear map of the value range onto 0..65535
        vmin = min(float(arr.min()), lo_src)
        vmax = max(float(arr.max()), hi_src)
        slope = (vmax - vmin) / 65535.0 if vmax > vmin else 1.0
        intercept = vmin
        bits, signed, lo, hi = 16, False, 0, 65535
        stored = np.round((arr - intercept) / slope)
        photometric = "MONOCHROME2"
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = _ds(slope), _ds(intercept), "US"
    below, above = int(np.sum(stored < lo)), int(np.sum(stored > hi))
    if below or above:
        ends = sorted((lo * slope + intercept, hi * slope + intercept))
        report_warnings.append(f"{below} value(s) below {ends[0]:g} and {above} above "
                               f"{ends[1]:g}, the range of the {bits}-bit "
                               f"{'RGB samples' if colour else 'pixels'} written, were clipped")
    out = np.clip(stored, lo, hi).astype(_int_dtype(bits, signed))
    if not colour:
        c, w = window if window is not None else source.window
        ds.WindowCenter, ds.WindowWidth = _ds(c), _ds(w)
        _window_function(ds, report_warnings)
    complete_type2(ds, SC_IMAGE_STORAGE)  # Laterality (2C): the body part is unknown
    ds.file_meta = _file_meta(SC_IMAGE_STORAGE, str(ds.SOPInstanceUID))
    try:
        _set_pixels(ds, out, photometric, bits)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise WriteError(f"cannot set the pixel data ({exc})", target) from exc
    _save_dicom(ds, target, [source.source_path], report_warnings)
    return DerivedReport(
        path=target, sop_class_uid=SC_IMAGE_STORAGE, sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.StudyInstanceUID), rows=out_rows, columns=out_cols,
        clipped_low=below, clipped_high=above, derivation=derivation, warnings=report_warnings)
