"""A computed per-pixel map (e.g. the uncertainty of a super-resolved ROI) as a DICOM Secondary
Capture Image in a new series.

The map is not an image of the patient: it goes in its own series, of the source's patient and
study when the source is DICOM (so that it files with that study in a PACS), else of a new and
empty patient and study. Its values are non-negative floats in the image's units; they are
stored as 16-bit unsigned pixels with a RescaleSlope that maps the largest value to 65535, so that
a reader gets the values back to 1/65535 of the peak.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from . import _dicom_file
from ._dicom_derivation import DerivedReport, _code_item, _ds, _now
from ._dicom_file import _file_meta, _set_pixels
from ._dicom_iod import complete_type2
from ._dicom_writer import SC_IMAGE_STORAGE
from .image_data import ImageData
from .labels import SOFTWARE
from .roi import validate_roi, validate_scale

__all__ = ["write_map_dicom"]

#: Patient and study attributes a map of a DICOM source keeps, so that it files with its study.
_PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
                  "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
                  "StudyInstanceUID", "StudyDescription")


def write_map_dicom(path: str | os.PathLike[str], map2d: np.ndarray, *, source: ImageData,
                    scale: float, roi: tuple[int, int, int, int] | None, kind: str,
                    series_description: str, derivation: str, comments: str,
                    window_top: float, window_explanation: str = "0 to the top of the scale",
                    series_number: int = 1001) -> DerivedReport:
    """Write ``map2d`` (the map of ``roi`` of ``source`` at ``scale``, on the result's grid) as a
    Secondary Capture: ImageType DERIVED\\SECONDARY\\``kind``, Modality OT, ConversionType WSD,
    ``series_description`` (cut to 64 characters), ``derivation`` as Derivation Description (cut
    to 1024) with the code "Spatial resampling", ``comments`` as Image Comments, the source's
    pixel spacing divided by ``scale``, a window over 0 … ``window_top`` (``window_explanation``). NaN counts as 0 and
    negative values are clipped to 0.

    Raises:
        InvalidScaleError, InvalidROIError: the scale or ROI are not the source's;
        WriteError: the file could not be written (nothing is left half-written).
    """
    target = Path(path)
    s = validate_scale(scale)
    validate_roi(roi, source)
    a = np.maximum(np.nan_to_num(np.asarray(map2d, dtype=np.float64)), 0.0)
    peak = float(a.max()) if a.size else 0.0
    slope = peak / 65535.0 if peak > 0 else 1.0
    stored = np.clip(np.round(a / slope), 0, 65535).astype(np.uint16)

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SC_IMAGE_STORAGE
    ds.SOPInstanceUID = generate_uid()
    original = source.dataset if getattr(source, "kind", "") == "dicom" else None
    for kw in _PATIENT_STUDY:
        value = original.get(kw, "") if original is not None else ""
        setattr(ds, kw, value if value is not None else "")
    if not str(ds.StudyInstanceUID or ""):
        ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.SecondaryCaptureDeviceManufacturer = SOFTWARE
    ds.SeriesNumber = int(series_number)
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.SeriesDescription = series_description[:64]
    ds.ImageType = ["DERIVED", "SECONDARY", kind]
    ds.DerivationDescription = derivation[:1024]
    ds.DerivationCodeSequence = [_code_item("113085", "DCM", "Spatial resampling")]
    ds.ImageComments = comments
    date, time = _now()
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.ContentDate, ds.ContentTime = date, time
    ds.SeriesDate, ds.SeriesTime = date, time
    sp = source.pixel_spacing
    spacing = None if sp is None else (sp[0] / s, sp[1] / s)
    if spacing is not None:
        ds.PixelSpacing = [_ds(spacing[0]), _ds(spacing[1])]
    ds.RescaleSlope, ds.RescaleIntercept = _ds(slope), _ds(0.0)
    ds.RescaleType = "US"
    top = float(window_top)
    ds.WindowCenter, ds.WindowWidth = _ds(top / 2.0), _ds(top)
    ds.WindowCenterWidthExplanation = window_explanation[:64]
    complete_type2(ds, SC_IMAGE_STORAGE)
    ds.file_meta = _file_meta(SC_IMAGE_STORAGE, str(ds.SOPInstanceUID))
    _set_pixels(ds, stored, "MONOCHROME2", 16)
    warnings: list[str] = []
    _dicom_file._save_dicom(ds, target, [source.source_path], warnings)  # tests replace it there
    return DerivedReport(
        path=target, sop_class_uid=SC_IMAGE_STORAGE, sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.StudyInstanceUID), rows=int(stored.shape[0]),
        columns=int(stored.shape[1]), pixel_spacing=spacing, derivation=ds.DerivationDescription,
        warnings=warnings)
