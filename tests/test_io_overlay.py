"""app.io.overlay: corner texts and patient-direction letters (Qt-free)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.io import SAMPLE_PATH, corner_texts, orientation_labels, read_image


@pytest.mark.parametrize("iop, expected", [
    ((1, 0, 0, 0, 1, 0), {"left": "R", "right": "L", "top": "A", "bottom": "P"}),   # axial
    ((1, 0, 0, 0, 0, -1), {"left": "R", "right": "L", "top": "H", "bottom": "F"}),  # coronal
    ((0, 1, 0, 0, 0, -1), {"left": "A", "right": "P", "top": "H", "bottom": "F"}),  # sagittal
    ((-1, 0, 0, 0, -1, 0), {"left": "L", "right": "R", "top": "P", "bottom": "A"}),  # flipped
])
def test_orientation_letters_of_the_standard_planes(iop, expected):
    assert orientation_labels(iop) == expected


def test_an_oblique_axis_gets_its_letters_strongest_first():
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    labels = orientation_labels((c, s, 0, -s, c, 0))  # axial rotated by 30°
    assert labels == {"left": "RA", "right": "LP", "top": "AL", "bottom": "PR"}


@pytest.mark.parametrize("iop", [None, (0, 0, 0, 0, 0, 0), (1, 0, 0)])
def test_unknown_or_degenerate_orientation_gives_no_letters(iop):
    assert orientation_labels(iop) is None


def test_dicom_corners_name_patient_study_series_and_spacing():
    img = read_image(SAMPLE_PATH)
    ds = img.dataset
    corners = corner_texts(img)
    assert corners["top_left"][0] == str(ds.PatientName).split("^")[0]
    assert f"ID {ds.PatientID}" in corners["top_left"]
    assert any(str(ds.StudyDate)[:4] in line for line in corners["top_right"])
    assert corners["top_right"][-1].startswith("CT · Im ")
    assert corners["bottom_right"][0] == f"{img.width}×{img.height} px"
    assert corners["bottom_right"][1].endswith(" mm")
    assert not any("LOSSY" in line for line in corners["bottom_right"])


def test_person_name_detector_spacing_and_lossy_are_shown():
    img = read_image(SAMPLE_PATH)
    img.dataset.PatientName = "DOE^JANE^^DR"
    img.spacing_source, img.lossy, img.n_frames, img.frame = "ImagerPixelSpacing", True, 3, 1
    corners = corner_texts(img)
    assert corners["top_left"][0] == "DOE, JANE"
    assert corners["bottom_right"][1].endswith("(at detector)")
    assert corners["bottom_right"][-1] == "LOSSY compressed source"
    assert corners["top_right"][-1].endswith("frame 2/3")


def test_a_raster_says_it_has_no_patient_data(tmp_path):
    Image.fromarray(np.zeros((6, 9), np.uint8)).save(tmp_path / "photo.png")
    corners = corner_texts(read_image(tmp_path / "photo.png"))
    assert corners["top_left"] == ["photo.png", "PNG file: no patient data"]
    assert corners["top_right"] == [] and corners["bottom_right"] == ["9×6 px"]


def test_a_projection_radiograph_gets_its_edge_letters_from_patient_orientation(tmp_path):
    """A CR/DX has no ImageOrientationPatient: Patient Orientation (0020,0020) gives the
    right and bottom edges' directions, the opposite edges their opposites."""
    import numpy as np
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    from app.io import image_edge_labels

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = pydicom.uid.ComputedRadiographyImageStorage, generate_uid()
    ds.Modality, ds.PatientOrientation = "CR", ["L", "F"]
    ds.set_pixel_data(np.zeros((8, 8), np.uint16), "MONOCHROME2", 12)
    ds.save_as(tmp_path / "cr.dcm", enforce_file_format=True)
    img = read_image(tmp_path / "cr.dcm")
    assert image_edge_labels(img) == {"left": "R", "right": "L", "top": "H", "bottom": "F"}
    ds.PatientOrientation = ["AL", "F"]  # an oblique projection
    ds.save_as(tmp_path / "cr2.dcm", enforce_file_format=True)
    assert image_edge_labels(read_image(tmp_path / "cr2.dcm"))["left"] == "PR"
    del ds.PatientOrientation
    ds.save_as(tmp_path / "cr3.dcm", enforce_file_format=True)
    assert image_edge_labels(read_image(tmp_path / "cr3.dcm")) is None
    assert image_edge_labels(read_image(SAMPLE_PATH)) == orientation_labels(
        read_image(SAMPLE_PATH).image_orientation)
