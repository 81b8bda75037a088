"""What a viewer writes in the corners of an image and at its edges (Qt-free).

Radiology viewers show who and what is on screen in the four corners — patient top left, study
and series top right, display settings bottom left, image facts bottom right — and the patient
direction at each edge (research notes, "radiology UI conventions"). These functions give the
texts; the viewer paints them and adds what only it knows (window, zoom).
"""
from __future__ import annotations

from typing import Any

from .image_data import ImageData

__all__ = ["corner_texts", "image_edge_labels", "orientation_labels"]

#: The letter of each patient axis, negative direction first (DICOM PS3.3 C.7.6.2.1.1: +x is the
#: patient's left, +y posterior, +z head).
_AXIS_LETTERS = (("R", "L"), ("A", "P"), ("F", "H"))
#: A direction cosine below this contributes no letter (an oblique axis gets up to three).
_OBLIQUE_MIN = 0.25


def _direction_letters(v: tuple[float, float, float]) -> str:
    """'L', 'LP', 'HLA'…: the axes ``v`` points along, strongest first."""
    ranked = sorted(range(3), key=lambda i: -abs(v[i]))
    return "".join(_AXIS_LETTERS[i][int(v[i] > 0)] for i in ranked if abs(v[i]) >= _OBLIQUE_MIN)


def orientation_labels(
        orientation: tuple[float, float, float, float, float, float] | None
) -> dict[str, str] | None:
    """Patient-direction letters at the image's ``left``, ``right``, ``top`` and ``bottom`` edges.

    ``orientation`` is ImageOrientationPatient: the direction of increasing column (towards the
    right edge), then of increasing row (towards the bottom). An axial slice in the standard
    view gives left "R", right "L", top "A", bottom "P". None when the orientation is unknown
    or degenerate.
    """
    if orientation is None or len(orientation) != 6:
        return None
    row = tuple(float(c) for c in orientation[:3])
    col = tuple(float(c) for c in orientation[3:])
    right, bottom = _direction_letters(row), _direction_letters(col)
    if not right or not bottom:
        return None
    left = _direction_letters(tuple(-c for c in row))
    top = _direction_letters(tuple(-c for c in col))
    return {"left": left, "right": right, "top": top, "bottom": bottom}


_OPPOSITE = str.maketrans("APRLHF", "PALRFH")


def image_edge_labels(image: ImageData) -> dict[str, str] | None:
    """The edge letters of a shown image: from ImageOrientationPatient
    (:func:`orientation_labels`), else — a projection radiograph (CR, DX, MG) has no patient
    plane — from Patient Orientation (0020,0020, PS3.3 C.7.6.1.1.1: the directions of the rows
    towards the right edge and of the columns towards the bottom, e.g. ``L\\F``; the opposite
    edges the opposite letters). None when neither says."""
    labels = orientation_labels(image.image_orientation)
    if labels is not None or image.dataset is None:
        return labels
    value = image.dataset.get("PatientOrientation")
    parts = [str(v).strip().upper() for v in (value or [])] if not isinstance(value, str) \
        else [v.strip().upper() for v in value.split("\\")]
    if len(parts) != 2 or not all(p and set(p) <= set("APRLHF") for p in parts):
        return None
    right, bottom = parts
    return {"left": right.translate(_OPPOSITE), "right": right,
            "top": bottom.translate(_OPPOSITE), "bottom": bottom}


def _text(ds: Any, keyword: str) -> str:
    value = ds.get(keyword, "") if ds is not None else ""
    return str(value if value is not None else "").strip()


def _date(value: str) -> str:
    v = value.strip()
    return f"{v[:4]}-{v[4:6]}-{v[6:8]}" if len(v) == 8 and v.isdigit() else v


def _time(value: str) -> str:
    v = value.strip().split(".")[0]
    return f"{v[:2]}:{v[2:4]}" if len(v) >= 4 and v[:4].isdigit() else v


def _person(value: str) -> str:
    """'DOE^JOHN^^DR' → 'DOE, JOHN' (family, given)."""
    parts = [p.strip() for p in value.split("=")[0].split("^")]
    family, given = (parts + ["", ""])[:2]
    return f"{family}, {given}" if family and given else (family or given)


def corner_texts(image: ImageData) -> dict[str, list[str]]:
    """Lines for the ``top_left``, ``top_right`` and ``bottom_right`` corners of ``image``.

    Top left: patient name, ID, birth date and sex (DICOM), or that a raster file carries no
    patient data. Top right: institution, study date/time and description, series, modality,
    instance and frame. Bottom right: size, pixel spacing (marked when it is the detector's —
    ImagerPixelSpacing, not corrected for magnification) and a LOSSY warning when the source was
    lossy compressed. Empty fields are left out.
    """
    ds = image.dataset
    if image.kind != "dicom" or ds is None:
        top_left = [f"{image.source_path.name}", f"{image.transfer_syntax or 'raster'} file: "
                    "no patient data"]
        top_right: list[str] = []
    else:
        top_left = [_person(_text(ds, "PatientName")) or "(no patient name)"]
        if _text(ds, "PatientID"):
            top_left.append(f"ID {_text(ds, 'PatientID')}")
        born = " · ".join(x for x in (
            f"born {_date(_text(ds, 'PatientBirthDate'))}" if _text(ds, "PatientBirthDate")
            else "", _text(ds, "PatientSex"), _text(ds, "PatientAge")) if x)
        if born:
            top_left.append(born)
        top_right = []
        if _text(ds, "InstitutionName"):
            top_right.append(_text(ds, "InstitutionName"))
        when = " ".join(x for x in (_date(_text(ds, "StudyDate")),
                                    _time(_text(ds, "StudyTime"))) if x)
        if when:
            top_right.append(when)
        if _text(ds, "StudyDescription"):
            top_right.append(_text(ds, "StudyDescription"))
        series = " ".join(x for x in (
            f"Se {_text(ds, 'SeriesNumber')}" if _text(ds, "SeriesNumber") else "",
            _text(ds, "SeriesDescription")) if x)
        if series:
            top_right.append(series)
        instance = " · ".join(x for x in (
            image.modality,
            f"Im {_text(ds, 'InstanceNumber')}" if _text(ds, "InstanceNumber") else "",
            f"frame {image.frame + 1}/{image.n_frames}" if image.n_frames > 1 else "") if x)
        top_right.append(instance)
    bottom_right = [f"{image.width}×{image.height} px"]
    if image.pixel_spacing is not None:
        rs, cs = image.pixel_spacing
        spacing = f"{cs:.3g} mm" if abs(rs - cs) < 1e-6 else f"{rs:.3g}×{cs:.3g} mm"
        if image.spacing_source == "ImagerPixelSpacing":
            spacing += " (at detector)"
        bottom_right.append(spacing)
    if image.lossy:
        bottom_right.append("LOSSY compressed source")
    return {"top_left": top_left, "top_right": top_right, "bottom_right": bottom_right}
