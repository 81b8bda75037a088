"""What a derived single-frame instance needs to satisfy its target IOD (PS3.3 Annex A).

A derived instance starts as a copy of its source's header. That copy can fall short of the
IOD it is written as in a few ways, each handled here as a free function:

* a frame of an enhanced / legacy-converted multi-frame object keeps attributes the legacy
  single-frame IOD requires at the top level inside functional-group macros (PS3.3 C.7.6.16):
  :func:`lift_functional_groups` copies them out;
* Type 2 attributes (present, possibly empty) the target IOD requires and the source did not
  carry: :func:`complete_type2` adds them empty (PS3.5 7.4.3);
* Type 1 attributes the target IOD requires and nothing supplies: :func:`missing_type1` names
  them, and the writer falls back to Secondary Capture, whose IOD needs none of them;
* Referenced Frame Number is only allowed for a multi-frame referenced SOP Class (Image SOP
  Instance Reference Macro, PS3.3 C.10.2.1 / Table 10-3): :data:`MULTI_FRAME_CLASSES`;
* a window narrower than 1 is only defined for VOI LUT Function LINEAR_EXACT or SIGMOID
  (PS3.3 C.11.2.1.2): :func:`voi_function_for`;
* text added to the header must be representable in the declared Specific Character Set
  (PS3.3 C.12.1.1.2, PS3.5 6.1): :func:`text_character_set`.
"""
from __future__ import annotations

import codecs
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

__all__ = ["SC_IMAGE_STORAGE", "MULTI_FRAME_CLASSES", "lift_functional_groups",
           "missing_type1", "complete_type2", "voi_function_for", "text_character_set"]

SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
_CT, _MR, _PET, _US, _CR = ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4",
                            "1.2.840.10008.5.1.4.1.1.128", "1.2.840.10008.5.1.4.1.1.6.1",
                            "1.2.840.10008.5.1.4.1.1.1")
_RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"

#: SOP Classes whose IOD includes the Multi-frame module or Multi-frame Functional Groups (so a
#: reference to one of their instances may name a frame). Single-frame classes (CT, MR, CR, DX,
#: US Image, SC Image, PET, …) are absent: a Referenced Frame Number "shall not be present" for
#: them even when a non-conforming source has several frames.
MULTI_FRAME_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2",  # Enhanced / Legacy CT
    "1.2.840.10008.5.1.4.1.1.3.1",  # US Multi-frame
    "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.3",  # Enhanced MR (colour)
    "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR
    "1.2.840.10008.5.1.4.1.1.6.2", "1.2.840.10008.5.1.4.1.1.6.3",  # Enhanced US, Photoacoustic
    "1.2.840.10008.5.1.4.1.1.7.1", "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame SC
    "1.2.840.10008.5.1.4.1.1.7.3", "1.2.840.10008.5.1.4.1.1.7.4",
    "1.2.840.10008.5.1.4.1.1.12.1", "1.2.840.10008.5.1.4.1.1.12.1.1",  # XA, Enhanced XA
    "1.2.840.10008.5.1.4.1.1.12.2", "1.2.840.10008.5.1.4.1.1.12.2.1",  # XRF, Enhanced XRF
    "1.2.840.10008.5.1.4.1.1.13.1.1", "1.2.840.10008.5.1.4.1.1.13.1.2",  # X-Ray 3D
    "1.2.840.10008.5.1.4.1.1.13.1.3", "1.2.840.10008.5.1.4.1.1.13.1.4",  # Breast tomo/proj
    "1.2.840.10008.5.1.4.1.1.13.1.5",
    "1.2.840.10008.5.1.4.1.1.14.1", "1.2.840.10008.5.1.4.1.1.14.2",  # IVOCT
    "1.2.840.10008.5.1.4.1.1.20",  # NM
    "1.2.840.10008.5.1.4.1.1.30",  # Parametric Map
    "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
    "1.2.840.10008.5.1.4.1.1.77.1.1.1", "1.2.840.10008.5.1.4.1.1.77.1.2.1",  # video
    "1.2.840.10008.5.1.4.1.1.77.1.4.1",
    "1.2.840.10008.5.1.4.1.1.77.1.5.1", "1.2.840.10008.5.1.4.1.1.77.1.5.2",  # ophthalmic
    "1.2.840.10008.5.1.4.1.1.77.1.5.4", "1.2.840.10008.5.1.4.1.1.77.1.5.7",
    "1.2.840.10008.5.1.4.1.1.77.1.5.8",
    "1.2.840.10008.5.1.4.1.1.77.1.6",  # VL Whole Slide Microscopy
    "1.2.840.10008.5.1.4.1.1.128.1", "1.2.840.10008.5.1.4.1.1.130",  # Legacy / Enhanced PET
    "1.2.840.10008.5.1.4.1.1.481.1",  # RT Image (Multi-frame module, conditional)
    _RT_DOSE,
})

#: Attributes of functional-group macros (PS3.3 C.7.6.16.2, C.8.15.3, C.8.13.5) that a legacy
#: single-frame IOD has at the top level: (macro sequence, attribute in its item, top-level
#: keyword). Geometry, rescale and window are flattened by the reader already.
_LIFTED = (
    ("CTXRayDetailsSequence", "KVP", "KVP"),
    ("CTXRayDetailsSequence", "FocalSpots", "FocalSpots"),
    ("CTXRayDetailsSequence", "FilterType", "FilterType"),
    ("CTExposureSequence", "ExposureTime", "ExposureTime"),
    ("CTExposureSequence", "XRayTubeCurrent", "XRayTubeCurrent"),
    ("CTAcquisitionDetailsSequence", "DataCollectionDiameter", "DataCollectionDiameter"),
    ("CTAcquisitionDetailsSequence", "GantryDetectorTilt", "GantryDetectorTilt"),
    ("CTAcquisitionDetailsSequence", "TableHeight", "TableHeight"),
    ("CTAcquisitionDetailsSequence", "RotationDirection", "RotationDirection"),
    ("CTReconstructionSequence", "ConvolutionKernel", "ConvolutionKernel"),
    ("CTReconstructionSequence", "ReconstructionDiameter", "ReconstructionDiameter"),
    ("FrameContentSequence", "FrameAcquisitionNumber", "AcquisitionNumber"),
    ("MRTimingAndRelatedParametersSequence", "RepetitionTime", "RepetitionTime"),
    ("MRTimingAndRelatedParametersSequence", "EchoTrainLength", "EchoTrainLength"),
    ("MRTimingAndRelatedParametersSequence", "FlipAngle", "FlipAngle"),
    ("MREchoSequence", "EffectiveEchoTime", "EchoTime"),
    ("FrameAnatomySequence", "FrameLaterality", "ImageLaterality"),
)
#: Legacy Converted Enhanced objects keep the legacy attributes that fit no macro in these items
#: (PS3.3 C.7.6.16.2.25): they go back to the top level as they came.
_UNASSIGNED = ("UnassignedSharedConvertedAttributesSequence",
               "UnassignedPerFrameConvertedAttributesSequence")

_PLANE = ("PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient")
#: Type 1 attributes (beyond the Image Pixel module, which the writer sets) of the class-specific
#: modules of each target IOD: CT Image C.8.2.1, MR Image C.8.3.1, PET Series/Image C.8.9.1 and
#: C.8.9.4, RT Dose C.8.8.3, each with Image Plane C.7.6.2 and Frame of Reference C.7.4.1 where the
#: IOD has them.
_TYPE1 = {
    _CT: ("ImageType", "RescaleIntercept", "RescaleSlope", *_PLANE, "FrameOfReferenceUID"),
    _MR: ("ImageType", "ScanningSequence", "SequenceVariant", *_PLANE, "FrameOfReferenceUID"),
    _PET: ("ImageType", "RescaleIntercept", "RescaleSlope", "Units", "CountsSource",
           "SeriesType", "CorrectedImage", "DecayCorrection", "FrameReferenceTime",
           "ImageIndex", "SeriesDate", "SeriesTime", *_PLANE, "FrameOfReferenceUID"),
    _RT_DOSE: ("DoseUnits", "DoseType", "DoseSummationType", "FrameOfReferenceUID"),
    _US: ("ImageType",),
}
_COMMON_TYPE2 = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex",  # Patient C.7.1.1
    "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",  # General Study C.7.2.1
    "AccessionNumber",
    "Manufacturer",  # General Equipment C.7.5.1
)
#: Type 2 attributes of the class-specific modules (present, empty when unknown).
_TYPE2 = {
    _CT: ("KVP", "AcquisitionNumber", "SliceThickness"),
    _MR: ("ScanOptions", "MRAcquisitionType", "EchoTime", "EchoTrainLength", "SliceThickness"),
    _PET: ("SliceThickness",),
    _CR: ("BodyPartExamined", "ViewPosition"),
}
_TYPE2_SEQUENCES = {
    _PET: ("RadiopharmaceuticalInformationSequence", "PatientOrientationCodeSequence",
           "PatientGantryRelationshipCodeSequence"),
}


def _groups(ds: Dataset, frame: int) -> list[Dataset]:
    """The shared functional-group item, then the per-frame item of ``frame`` (later wins)."""
    out: list[Dataset] = []
    for kw, index in (("SharedFunctionalGroupsSequence", 0),
                      ("PerFrameFunctionalGroupsSequence", frame)):
        seq = ds.get(kw)
        if seq and 0 <= index < len(seq):
            out.append(seq[index])
    return out


def lift_functional_groups(ds: Dataset, frame: int) -> list[str]:
    """Copy the attributes a single-frame IOD keeps at the top level out of ``ds``'s shared and
    per-frame (``frame``, 0-based) functional groups, where the top level lacks them (a
    top-level value wins: it is the object's own). Returns the keywords lifted.

    Must run before the functional-group sequences are removed."""
    found: dict[str, Any] = {}
    for group in _groups(ds, frame):
        for seq_kw in _UNASSIGNED:
            for item in group.get(seq_kw) or []:
                for elem in item:
                    found[elem.keyword or str(elem.tag)] = elem
        for seq_kw, attr, target in _LIFTED:
            seq = group.get(seq_kw)
            if seq and attr in seq[0] and not seq[0][attr].is_empty:
                found[target] = (target, seq[0][attr].value)
    lifted = []
    for key, elem in found.items():
        if isinstance(elem, tuple):
            keyword, value = elem
            if keyword in ds and not ds[keyword].is_empty:
                continue
            setattr(ds, keyword, value)
            lifted.append(keyword)
        elif elem.tag not in ds:
            ds[elem.tag] = elem
            lifted.append(key)
    return lifted


def missing_type1(ds: Dataset, sop_class: str) -> list[str]:
    """Type 1 attributes ``sop_class``'s IOD needs (see :data:`_TYPE1`) that ``ds`` lacks or has
    empty; [] for classes not listed (Secondary Capture needs none beyond what the writer
    sets)."""
    return [kw for kw in _TYPE1.get(sop_class, ()) if kw not in ds or ds[kw].is_empty]


#: Body Part Examined defined terms (PS3.16 Annex L) of unpaired structures: an image of one
#: of them has no Laterality (General Series C.7.3.1's condition). The terms dicom3tools'
#: ``dciodvfy`` treats as unpaired, checked term by term (2026-12-08): it flags an empty
#: Laterality beside these and a missing one beside any other term.
UNPAIRED_BODY_PARTS = frozenset("""
    ABDOMEN ABDOMENPELVIS AORTA BLADDER BRAIN CERVIX CHEST CHESTABDOMEN CHESTABDPELVIS COCCYX
    COLON CSPINE CTSPINE DUODENUM ESOPHAGUS FACE GALLBLADDER HEAD HEADNECK HEART ILEUM ILIUM
    JAW JEJUNUM LARYNX LIVER LSPINE LSSPINE MAXILLA MEDIASTINUM MOUTH NECK NOSE PANCREAS PELVIS
    PENIS PHARYNX PROSTATE RECTUM SKULL SPINE SPLEEN SSPINE STERNUM STOMACH THYROID TLSPINE
    TONGUE TRACHEA TSPINE URETHRA UTERUS VAGINA VULVA WHOLEBODY
""".split())


def complete_type2(ds: Dataset, sop_class: str, *, rescale_type: str = "US") -> list[str]:
    """Add the Type 2 / 2C attributes ``sop_class``'s IOD requires and ``ds`` lacks, empty (their
    value is unknown), and the Type 1C Rescale Type a Secondary Capture with a rescale needs
    (``rescale_type``: "HU" for CT values, else "US", unspecified — PS3.3 C.11.1.1.2). Returns
    the keywords added.

    2C conditions resolved: Patient Orientation (General Image C.7.6.1) when the IOD has no
    Image Plane module (Secondary Capture) or the plane is unknown; Laterality (General Series
    C.7.3.1, "required if the body part examined is a paired structure") when no laterality at
    all is recorded and Body Part Examined does not name an unpaired part
    (:data:`UNPAIRED_BODY_PARTS`): where it is unknown, so is whether it is paired, and an
    empty value is what the condition allows; Position Reference Indicator (Frame of
    Reference C.7.4.1) with a Frame of Reference UID."""
    added: list[str] = []

    def need(keyword: str, value: Any = "") -> None:
        if keyword not in ds:
            setattr(ds, keyword, value)
            added.append(keyword)

    for kw in _COMMON_TYPE2 + _TYPE2.get(sop_class, ()):
        need(kw)
    for kw in _TYPE2_SEQUENCES.get(sop_class, ()):
        need(kw, Sequence())
    if "FrameOfReferenceUID" in ds:
        need("PositionReferenceIndicator")
    if sop_class == SC_IMAGE_STORAGE or not all(kw in ds for kw in _PLANE[1:]):
        need("PatientOrientation")
    if (not any(kw in ds for kw in ("Laterality", "ImageLaterality", "FrameLaterality"))
            and str(ds.get("BodyPartExamined", "") or "").strip() not in UNPAIRED_BODY_PARTS):
        need("Laterality")
    if sop_class == SC_IMAGE_STORAGE and "RescaleIntercept" in ds:
        need("RescaleType", rescale_type)
    return added


def voi_function_for(width: float, current: str = "") -> str | None:
    """The VOI LUT Function a window of ``width`` can be written with: None (keep ``current`` /
    leave it absent, i.e. LINEAR) where width ≥ 1 or the function is already LINEAR_EXACT or
    SIGMOID; "LINEAR_EXACT" for a width below 1, which LINEAR does not define (PS3.3
    C.11.2.1.2.1: "Window Width shall be ≥ 1" for LINEAR; C.11.2.1.3.2 for LINEAR_EXACT:
    > 0) — the window is kept, not widened, so the display of small-valued data (dose in Gy,
    float images) is not flattened."""
    cur = current.strip().upper()
    if width >= 1 or cur in ("LINEAR_EXACT", "SIGMOID"):
        return None
    return "LINEAR_EXACT"


#: Single-valued character sets whose Python codec is exactly their repertoire.
_SINGLE_BYTE = {
    "ISO_IR 100": "latin_1", "ISO_IR 101": "iso8859_2", "ISO_IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4", "ISO_IR 144": "iso8859_5", "ISO_IR 127": "iso8859_6",
    "ISO_IR 126": "iso8859_7", "ISO_IR 138": "iso8859_8", "ISO_IR 148": "iso8859_9",
    "ISO_IR 203": "iso8859_15", "ISO_IR 166": "iso8859_11",
}
_UNICODE = {"ISO_IR 192", "GB18030"}


def _declared(ds: Dataset) -> list[str]:
    charset = ds.get("SpecificCharacterSet")
    values = [] if not charset else ([charset] if isinstance(charset, str) else list(charset))
    return [str(v).strip() for v in values]


def text_character_set(ds: Dataset, added: str) -> tuple[str, str | None]:
    """Decide how text added to a copy of a source header is encoded.

    ``added`` is every text the writer adds (with "×" where it would like to use it). Returns
    (``times``, ``new_charset``): ``times`` is "×" when it can be written, else "x"; and
    ``new_charset`` is "ISO_IR 192" when Specific Character Set (0008,0005) must change (set it),
    else None.

    Resolved: the default repertoire (no value, ISO_IR 6) holds ASCII only — pydicom would write
    other characters in Latin-1, outside the declared repertoire — so non-ASCII text switches the
    data set to UTF-8 (ISO_IR 192, of which ASCII is a subset). Any other set that cannot hold
    the text is replaced by ISO_IR 192 too: every value of the copy is decoded text, and
    re-encodes losslessly in UTF-8. A single-byte set keeps
    "×" when its repertoire has it (Latin ones); ISO_IR 13 (JIS X 0201) and the ISO 2022 code
    extensions are treated as ASCII-only for added text (no escape sequences are written).
    Text that only lacks "×" uses "x" instead rather than changing the set."""
    values = [v for v in _declared(ds) if v] or ["ISO_IR 6"]
    if len(values) == 1 and values[0] in _UNICODE:
        return "×", None
    if values == ["ISO_IR 6"]:  # the default repertoire is a subset of UTF-8: widen it
        return "×", (None if added.isascii() else "ISO_IR 192")
    codec = _SINGLE_BYTE.get(values[0]) if len(values) == 1 else None

    def fits(text: str) -> bool:
        if text.isascii():
            return True
        if codec is None:
            return False
        try:
            text.encode(codecs.lookup(codec).name)
            return True
        except UnicodeError:
            return False

    if fits(added):
        return "×", None
    plain = added.replace("×", "x")
    if fits(plain):
        return "x", None
    return "×", "ISO_IR 192"
