"""Derived DICOM and Secondary Capture writing: :func:`write_dicom_derived` and
:func:`write_secondary_capture`, with the SOP Class choices of a derived single frame and the
header attributes a resampled frame must not keep.

The attributes it sets and why: :mod:`app.io.writers`. What both writers share lives beside
this module: the derived object's identity and history in :mod:`app.io._dicom_derivation`, the
computed values' stored range and display attributes in :mod:`app.io._dicom_pixels`, and the
file written in :mod:`app.io._dicom_file`.

See :mod:`app.io.writers` for the geometry of the output grid.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, generate_uid

from ._atomic import as_image_array
from ._dicom import LOSSY_TRANSFER_SYNTAXES
from ._dicom_derivation import (
    DerivedReport,
    DerivedSeries,
    _code_item,
    _collect_warnings,
    _ds,
    _set_common_derived,
    _times_sign,
)
from ._dicom_file import _write_instance
from ._dicom_iod import MULTI_FRAME_CLASSES, complete_type2, lift_functional_groups, missing_type1
from ._dicom_meta import _as_list, _num, frame_dataset
from ._dicom_pixels import (
    _check_output,
    _colour_bits,
    _int_dtype,
    _padding_out,
    _stored_limits,
    _voi_lut_consistent,
    _voi_lut_entries_16,
    _window_function,
)
from .errors import WriteError
from .image_data import ImageData
from .labels import SOFTWARE, fmt_scale, method_label
from .roi import validate_roi, validate_scale

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


def _window_widths_positive(ds: Any) -> bool:
    """Whether every Window Width of ``ds`` reads as a number above 0 (what every VOI LUT
    Function needs, PS3.3 C.11.2.1.2–3); an absent or empty one counts as positive (nothing to
    mend)."""
    if "WindowWidth" not in ds or ds["WindowWidth"].is_empty:
        return True
    widths = [_num(v) for v in _as_list(ds.get("WindowWidth"))]  # as the reader reads them
    return all(w is not None and w > 0 for w in widths)


def _shown(value: Any) -> str:
    """A header value as a user reads it: backslash-separated, short."""
    if isinstance(value, (list, tuple)) or (hasattr(value, "__iter__")
                                           and not isinstance(value, (str, bytes))):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")
_DS_MAX = 16


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
        if "WindowCenter" in ds and not _window_widths_positive(ds):
            # no VOI function defines a width ≤ 0 (PS3.3 C.11.2.1.2): the reader ignored it too
            report_warnings.append(f"the source's window width {ds.get('WindowWidth')} is not "
                                   "above 0 (invalid): written with the window the image is "
                                   "shown with instead")
            for kw in ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation"):
                if kw in ds:
                    del ds[kw]
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
    _write_instance(ds, out, photometric, bits_stored, target, [source.source_path],
                    report_warnings)
    return DerivedReport(
        path=target, sop_class_uid=str(ds.SOPClassUID), sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.get("StudyInstanceUID", "")), rows=out_rows, columns=out_cols,
        pixel_spacing=new_spacing, image_position=new_position, clipped_low=clipped_low,
        clipped_high=clipped_high, derivation=derivation, warnings=report_warnings)


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
    if colour and source.bits_stored is None:  # RGB has no rescale: values would be lost
        raise WriteError("a colour image of non-integer values (a float TIFF) cannot be stored "
                         "in DICOM without changing them (DICOM colour has no rescale): export "
                         "it as TIFF", target)
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
    _write_instance(ds, out, photometric, bits, target, [source.source_path], report_warnings)
    return DerivedReport(
        path=target, sop_class_uid=SC_IMAGE_STORAGE, sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.StudyInstanceUID), rows=out_rows, columns=out_cols,
        clipped_low=below, clipped_high=above, derivation=derivation, warnings=report_warnings)
