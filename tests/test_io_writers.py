"""app.io writers: PNG, 16-bit TIFF, derived DICOM (checklist + geometry), Secondary Capture,
atomicity and source protection."""
from __future__ import annotations

import dataclasses

import json
import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from app.io import (ImageData, InvalidPixelsError, InvalidROIError, InvalidScaleError,
                    SourceOverwriteError, WriteError, apply_window, computed_label, crop_roi,
                    output_size, read_image, write_dicom_derived, write_image, write_png,
                    write_secondary_capture, write_text, write_tiff16)
from app.io._atomic import atomic_write
from app.io._dicom_writer import SC_IMAGE_STORAGE
from models.resize import imresize


def _upscale(img: ImageData, roi, scale: float) -> np.ndarray:
    """The engine's bicubic (MATLAB imresize, centre-aligned output grid) on the ROI."""
    crop = crop_roi(img, roi).astype(np.float64)
    return imresize(crop, scale).astype(np.float32)


def _rotation(a: float, b: float, c: float) -> np.ndarray:
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rx = np.array([[1, 0, 0], [0, cc, -sc], [0, sc, cc]])
    return rz @ ry @ rx


def make_ct(path: Path, hu: np.ndarray, *, ipp, iop, spacing, intercept: float = -1024.0,
            bits_stored: int = 12, **extra) -> Path:
    """A minimal, valid CT Image Storage file with the given geometry
    (stored = HU − intercept)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.PatientName, ds.PatientID = "Test^Geometry", "GEO-1"
    ds.Modality, ds.SeriesNumber, ds.SeriesDescription = "CT", 7, "Synthetic geometry"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp]
    ds.ImageOrientationPatient = [f"{v:.8f}" for v in iop]
    ds.PixelSpacing = [f"{v:.6f}" for v in spacing]
    ds.RescaleIntercept, ds.RescaleSlope = intercept, 1
    ds.WindowCenter, ds.WindowWidth = 40, 400
    for k, v in extra.items():
        setattr(ds, k, v)
    stored = np.round(hu - intercept).astype(np.uint16)
    ds.set_pixel_data(stored, "MONOCHROME2", bits_stored)
    ds.save_as(path, enforce_file_format=True)
    return path


def _patient_position(ipp, iop, spacing, r: float, c: float) -> np.ndarray:
    """DICOM PS3.3 C.7.6.2.1.1: P = IPP + c·Δc·row_dir + r·Δr·col_dir
    (PixelSpacing = Δr\\Δc)."""
    iop = np.asarray(iop, dtype=np.float64)
    return (np.asarray(ipp, dtype=np.float64) + c * float(spacing[1]) * iop[:3]
            + r * float(spacing[0]) * iop[3:])


def _centroid(image: np.ndarray) -> tuple[float, float]:
    """Sub-pixel peak of a Gaussian blob on a flat background: log-parabola through the maximum
    along each axis (exact for a sampled Gaussian)."""
    a = np.clip(image - np.median(image), 1e-3, None)
    r, c = np.unravel_index(int(np.argmax(a)), a.shape)

    def vertex(m: float, z: float, p: float) -> float:
        lm, lz, lp = np.log(m), np.log(z), np.log(p)
        return float((lm - lp) / (2.0 * (lm - 2.0 * lz + lp)))

    return (r + vertex(a[r - 1, c], a[r, c], a[r + 1, c]),
            c + vertex(a[r, c - 1], a[r, c], a[r, c + 1]))


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("scale,roi", [(2.5, (30, 20, 32, 24)), (2.0, (17, 9, 50, 40)),
                                       (3.5, (38, 25, 15, 13))])
def test_derived_dicom_keeps_physical_positions(tmp_path, scale, roi):
    """A blob at patient position P in the source lies at P in the derived image."""
    rot = _rotation(0.4, -0.25, 0.3)  # oblique plane
    iop = np.concatenate([rot[:, 0], rot[:, 1]])
    ipp, spacing = (-120.5, 33.25, 78.0), (0.7, 0.45)  # anisotropic: catches row/col swaps
    r0, c0 = 31.3, 45.7  # sub-pixel blob centre (rows, cols)
    rows, cols = np.indices((60, 80))
    hu = 1000.0 * np.exp(-((rows - r0) ** 2 + (cols - c0) ** 2) / (2 * 1.8 ** 2))
    src_path = make_ct(tmp_path / "src.dcm", hu, ipp=ipp, iop=iop, spacing=spacing)
    src = read_image(src_path)
    assert _centroid(src.pixels) == pytest.approx((r0, c0), abs=0.02)

    up = _upscale(src, roi, scale)
    report = write_dicom_derived(tmp_path / "sr.dcm", src, up, scale=scale, roi=roi,
                                 method="bicubic")
    ds = pydicom.dcmread(tmp_path / "sr.dcm")
    out = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert out.shape == up.shape == output_size(roi[3], roi[2], scale)
    p_src = _patient_position(ipp, iop, spacing, r0, c0)
    r1, c1 = _centroid(out)
    p_out = _patient_position(ds.ImagePositionPatient, ds.ImageOrientationPatient,
                              ds.PixelSpacing, r1, c1)
    err = float(np.linalg.norm(p_out - p_src))
    assert err < 0.5 * min(spacing)  # the requirement: within half a source pixel …
    assert err < 0.25 * min(spacing) / scale  # … and in fact within a quarter output pixel
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx([0.7 / scale, 0.45 / scale])
    assert [float(v) for v in ds.ImageOrientationPatient] == pytest.approx(list(iop), abs=1e-7)
    assert report.image_position == pytest.approx([float(v) for v in ds.ImagePositionPatient],
                                                  abs=1e-4)
    derived = read_image(tmp_path / "sr.dcm")  # and our own reader sees the same geometry
    assert derived.pixel_spacing == pytest.approx((0.7 / scale, 0.45 / scale))


def test_first_pixel_centre_formula(tmp_path):
    """IPP' = IPP + (x + 0.5/s − 0.5)·Δc·row_dir + (y + 0.5/s − 0.5)·Δr·col_dir,
    exactly."""
    iop = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    src = read_image(make_ct(tmp_path / "a.dcm", np.zeros((20, 30)), ipp=(10.0, 20.0, 30.0),
                             iop=iop, spacing=(0.8, 0.5)))
    up = _upscale(src, (4, 6, 10, 8), 2.5)
    rep = write_dicom_derived(tmp_path / "b.dcm", src, up, scale=2.5, roi=(4, 6, 10, 8),
                              method="bicubic")
    assert rep.image_position == pytest.approx((10.0 + (4 + 0.2 - 0.5) * 0.5,
                                                20.0 + (6 + 0.2 - 0.5) * 0.8, 30.0))


# --------------------------------------------------------------------------- derived checklist


def test_derived_dicom_checklist(tmp_path, pydicom_file):
    src_path = pydicom_file("CT_small.dcm")
    src = read_image(src_path)
    src_ds = pydicom.dcmread(src_path)
    roi = (20, 30, 40, 36)
    up = _upscale(src, roi, 2.5)
    sha = "ab" * 32
    rep = write_dicom_derived(tmp_path / "d.dcm", src, up, scale=2.5, roi=roi,
                              method="rmisr-vp", weights_sha256=sha, description_extra="test")
    ds = pydicom.dcmread(tmp_path / "d.dcm")
    # identity
    assert ds.SOPInstanceUID != src_ds.SOPInstanceUID == src.dataset.SOPInstanceUID
    assert ds.SeriesInstanceUID != src_ds.SeriesInstanceUID
    assert ds.StudyInstanceUID == src_ds.StudyInstanceUID
    assert ds.FrameOfReferenceUID == src_ds.FrameOfReferenceUID
    assert ds.PatientID == src_ds.PatientID and ds.PatientName == src_ds.PatientName
    assert ds.SOPClassUID == src_ds.SOPClassUID
    assert int(ds.SeriesNumber) == int(src_ds.SeriesNumber) + 1000
    assert ds.SeriesDescription.endswith("SR ×2.5 RMISR-VP (computed)")
    assert len(ds.SeriesDescription) <= 64
    # derivation
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert list(ds.ImageType)[2:] == list(src_ds.ImageType)[2:]
    for text in ("RMISR-VP", "2.5", "x=20 y=30 w=40 h=36", sha, "test"):
        assert text in ds.DerivationDescription
    code = ds.DerivationCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning) == (
        "113085", "DCM", "Spatial resampling")
    ref = ds.SourceImageSequence[0]
    assert ref.ReferencedSOPClassUID == src_ds.SOPClassUID
    assert ref.ReferencedSOPInstanceUID == src_ds.SOPInstanceUID
    assert ref.PurposeOfReferenceCodeSequence[0].CodeValue == "121322"
    assert "BurnedInAnnotation" not in ds and "not acquired" in ds.ImageComments  # as the source
    eq = ds.ContributingEquipmentSequence[-1]  # this software, as processing equipment
    assert eq.ManufacturerModelName == "RMISR Viewer" and eq.SoftwareVersions
    assert eq.PurposeOfReferenceCodeSequence[0].CodeValue == "109102"
    assert "×2.5 RMISR-VP" in eq.ContributionDescription
    assert ds.Manufacturer == src_ds.Manufacturer  # the scanner's, unchanged
    assert ds.InstanceNumber == src_ds.InstanceNumber
    # pixels and encoding
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.preamble is not None
    assert (ds.Rows, ds.Columns) == up.shape == (90, 100)
    assert ds.pixel_array.shape == (ds.Rows, ds.Columns)
    assert (ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation) == (
        src_ds.BitsAllocated, src_ds.BitsStored, src_ds.PixelRepresentation)
    assert (ds.RescaleSlope, ds.RescaleIntercept) == (src_ds.RescaleSlope,
                                                      src_ds.RescaleIntercept)
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx(
        [float(v) / 2.5 for v in src_ds.PixelSpacing])
    back = read_image(tmp_path / "d.dcm")
    np.testing.assert_array_equal(back.pixels, np.round(up))  # HU survive (within rounding)
    assert back.value_unit == "HU"
    assert (rep.clipped_low, rep.clipped_high) == (0, 0)
    assert rep.sop_instance_uid == ds.SOPInstanceUID
    for kw in ("SmallestImagePixelValue", "LargestImagePixelValue"):
        assert kw not in ds


def test_burned_in_annotation_is_the_sources_and_unclaimed_for_rasters(tmp_path):
    iop = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    for flag in ("YES", "NO"):
        src = read_image(make_ct(tmp_path / f"{flag}.dcm", np.zeros((20, 30)), ipp=(0, 0, 0),
                                 iop=iop, spacing=(1, 1), BurnedInAnnotation=flag))
        write_dicom_derived(tmp_path / f"{flag}_sr.dcm", src, _upscale(src, (0, 0, 30, 20), 2),
                            scale=2, roi=(0, 0, 30, 20), method="bicubic")
        assert pydicom.dcmread(tmp_path / f"{flag}_sr.dcm").BurnedInAnnotation == flag
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "shot.png")
    raster = read_image(tmp_path / "shot.png")
    write_secondary_capture(tmp_path / "sc.dcm", _upscale(raster, (0, 0, 8, 8), 2),
                            source=raster, scale=2, roi=(0, 0, 8, 8), method="bicubic")
    assert "BurnedInAnnotation" not in pydicom.dcmread(tmp_path / "sc.dcm")


def test_slices_of_one_series_join_one_derived_series_in_order(tmp_path):
    """One SeriesInstanceUID for the slices of one source series (same method, scale, ROI), each
    keeping its InstanceNumber, so that a PACS stacks them, with one Series Date/Time; without it
    each export is a series."""
    iop, series, uid = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0), generate_uid(), generate_uid()
    reports = []
    for k in (1, 2, 3):
        src = read_image(make_ct(tmp_path / f"s{k}.dcm", np.full((20, 30), 10.0 * k),
                                 ipp=(0, 0, 2.5 * k), iop=iop, spacing=(1, 1),
                                 SeriesInstanceUID=series, InstanceNumber=k))
        reports.append(write_image(tmp_path / f"s{k}_sr.dcm", _upscale(src, (5, 5, 10, 10), 2),
                                   source=src, scale=2, roi=(5, 5, 10, 10), method="bicubic",
                                   series_instance_uid=uid))
    out = [pydicom.dcmread(r.path) for r in reports]
    assert {d.SeriesInstanceUID for d in out} == {uid}
    assert [d.InstanceNumber for d in out] == [1, 2, 3]
    assert len({d.SOPInstanceUID for d in out}) == 3 and len({d.SeriesNumber for d in out}) == 1
    # series-level attributes agree in every instance (the instances' own times do not)
    assert len({(d.SeriesDate, d.SeriesTime) for d in out}) == 1
    assert len({d.ContentTime for d in out}) == 3
    alone = write_image(tmp_path / "alone.dcm", _upscale(src, (5, 5, 10, 10), 2), source=src,
                        scale=2, roi=(5, 5, 10, 10), method="bicubic")
    assert alone.dicom.series_instance_uid not in (uid, series)


def test_a_result_wider_than_dicom_holds_is_refused_before_the_compute(tmp_path):
    """Rows and Columns are 16-bit: a result of more than 65,535 of either is refused as DICOM,
    in words, by the writer and before the engine runs (it was a struct error after it)."""
    from app.batch import super_resolve_to_file
    from app.io import WriteError, check_format_fits

    check_format_fits("dcm", 65_535, 10)
    check_format_fits("tiff", 10, 70_000)
    with pytest.raises(WriteError, match="does not fit DICOM"):
        check_format_fits("dcm", 10, 65_536)
    path = make_ct(tmp_path / "strip.dcm", np.zeros((2, 13_108)), ipp=(0, 0, 0),
                   iop=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), spacing=(1, 1))
    src = read_image(path)
    with pytest.raises(WriteError, match="65540×10 px result does not fit DICOM"):
        write_image(tmp_path / "w.dcm", np.zeros((10, 65_540), np.float32), source=src,
                    fmt="dcm", scale=5, method="bicubic")

    class NoEngine:
        def upscale(self, *a, **kw):
            raise AssertionError("computed before the format was checked")

    with pytest.raises(WriteError, match="write it as TIFF or PNG"):
        super_resolve_to_file(NoEngine(), src, tmp_path / "sr.dcm", "dcm", 5, "bicubic", None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["strip.dcm"]


def test_a_derived_file_that_would_not_read_back_is_not_written(tmp_path, monkeypatch):
    """A damaged source header can hold elements that encode but do not parse (a (FFFF,FFFF)
    of undefined length from overwritten bytes): the encoding is read back before it is
    published, and refused whole."""
    from app.io import WriteError, _dicom_file

    path = make_ct(tmp_path / "src.dcm", np.zeros((8, 8)), ipp=(0, 0, 0),
                   iop=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), spacing=(1, 1))
    src = read_image(path)

    def unreadable(*a, **kw):
        raise OSError("No tag to read at file position 901C")

    monkeypatch.setattr(_dicom_file, "dcmread", unreadable)
    with pytest.raises(WriteError, match="would not read back .* No tag to read"):
        write_dicom_derived(tmp_path / "sr.dcm", src, _upscale(src, (0, 0, 8, 8), 2), scale=2,
                            roi=(0, 0, 8, 8), method="bicubic")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.dcm"]


def test_a_source_window_of_width_0_is_not_copied(tmp_path):
    """Window Width 0 defines no display (every VOI function needs a width above 0; the reader
    ignores it): the derived file gets the window the image is shown with, and says so."""
    path = make_ct(tmp_path / "w0.dcm", np.random.default_rng(1).normal(0, 300, (16, 16)),
                   ipp=(0, 0, 0), iop=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), spacing=(1, 1),
                   WindowCenter=40, WindowWidth=0)
    src = read_image(path)
    assert src.window[1] > 0
    rep = write_dicom_derived(tmp_path / "sr.dcm", src, _upscale(src, (0, 0, 16, 16), 2),
                              scale=2, roi=(0, 0, 16, 16), method="bicubic")
    out = pydicom.dcmread(tmp_path / "sr.dcm")
    assert float(out.WindowWidth) == pytest.approx(src.window[1]) and "VOILUTFunction" not in out
    assert any("window width 0" in w for w in rep.warnings)


def test_unnumbered_slices_are_numbered_in_their_derived_series(tmp_path):
    """Sources without InstanceNumber: the instances of one derived series are numbered in the
    order they are written (all were 1), a series of their own starts again at 1."""
    iop, series, uid = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0), generate_uid(), generate_uid()
    numbers = []
    for k in (1, 2, 3):
        src = read_image(make_ct(tmp_path / f"s{k}.dcm", np.full((8, 8), 10.0 * k),
                                 ipp=(0, 0, 2.5 * k), iop=iop, spacing=(1, 1),
                                 SeriesInstanceUID=series))
        rep = write_image(tmp_path / f"s{k}_sr.dcm", _upscale(src, (0, 0, 8, 8), 2), source=src,
                          scale=2, roi=(0, 0, 8, 8), method="bicubic", series_instance_uid=uid)
        numbers.append(int(pydicom.dcmread(rep.path).InstanceNumber))
    assert numbers == [1, 2, 3]
    alone = write_image(tmp_path / "alone.dcm", _upscale(src, (0, 0, 8, 8), 2), source=src,
                        scale=2, roi=(0, 0, 8, 8), method="bicubic")
    assert int(pydicom.dcmread(alone.path).InstanceNumber) == 1


def test_a_source_without_instance_uid_gets_no_empty_reference(tmp_path):
    path = make_ct(tmp_path / "nouid.dcm", np.zeros((8, 8)), ipp=(0, 0, 0),
                   iop=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), spacing=(1, 1))
    ds = pydicom.dcmread(path)
    del ds.SOPInstanceUID
    ds.save_as(path)
    src = read_image(path)
    rep = write_dicom_derived(tmp_path / "sr.dcm", src, _upscale(src, (0, 0, 8, 8), 2), scale=2,
                              roi=(0, 0, 8, 8), method="bicubic")
    assert "SourceImageSequence" not in pydicom.dcmread(tmp_path / "sr.dcm")
    assert any("no Source Image Sequence" in w for w in rep.warnings)


def test_deriving_from_a_derived_image_keeps_its_history(tmp_path, pydicom_file):
    src = read_image(pydicom_file("CT_small.dcm"))
    write_dicom_derived(tmp_path / "once.dcm", src, _upscale(src, (0, 0, 40, 40), 2), scale=2,
                        roi=(0, 0, 40, 40), method="bicubic")
    once = read_image(tmp_path / "once.dcm")
    write_dicom_derived(tmp_path / "twice.dcm", once, _upscale(once, (0, 0, 30, 30), 1.5),
                        scale=1.5, roi=(0, 0, 30, 30), method="bicubic")
    ds = pydicom.dcmread(tmp_path / "twice.dcm")
    assert ds.DerivationDescription.startswith("Super-resolution ×1.5")
    assert "Earlier derivation: Super-resolution ×2" in ds.DerivationDescription
    assert len(ds.DerivationDescription) <= 1024 and len(ds.DerivationCodeSequence) == 2
    assert ds.ImageComments.startswith("SR ×1.5") and "Source comments: SR ×2" in \
        ds.ImageComments
    assert len(ds.ContributingEquipmentSequence) == 2


def test_an_invalid_rescale_is_written_as_the_one_used(tmp_path):
    src = read_image(make_ct(tmp_path / "zero.dcm", np.full((20, 30), 100.0), ipp=(0, 0, 0),
                             iop=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), spacing=(1, 1),
                             RescaleSlope=0))
    assert src.rescale == (1.0, 0.0) and any("invalid Rescale" in w for w in src.warnings)
    rep = write_dicom_derived(tmp_path / "sr.dcm", src, _upscale(src, (0, 0, 30, 20), 2),
                              scale=2, roi=(0, 0, 30, 20), method="bicubic")
    ds = pydicom.dcmread(tmp_path / "sr.dcm")
    assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (1.0, 0.0)
    assert any("Rescale Slope/Intercept written" in w for w in rep.warnings)
    again = read_image(tmp_path / "sr.dcm")
    assert np.allclose(again.pixels, src.pixels.mean())


def test_derived_dicom_clips_and_reports(tmp_path, shared_medical):
    src = read_image(shared_medical / "samples" / "default_ct_chest_lung.dcm")
    roi = (0, 0, 64, 64)
    up = _upscale(src, roi, 2.0)
    up[0, :10] = -5000.0  # below the 12-bit range (−1024 HU)
    up[1, :3] = 9000.0  # above it (3071 HU)
    rep = write_dicom_derived(tmp_path / "c.dcm", src, up, scale=2, roi=roi, method="bicubic")
    assert rep.clipped_low >= 10 and rep.clipped_high == 3
    back = read_image(tmp_path / "c.dcm")
    assert back.pixels.min() == -1024 and back.pixels.max() <= 3071
    ds = pydicom.dcmread(tmp_path / "c.dcm")
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian  # source: implicit VR
    assert str(ds.WindowCenter[0]).strip() in ("-600", "-0600")  # window kept


def test_lossy_flag_is_never_reset(tmp_path, pydicom_file):
    src = read_image(pydicom_file("693_J2KI.dcm"))
    up = _upscale(src, (100, 100, 40, 40), 2)
    write_dicom_derived(tmp_path / "l.dcm", src, up, scale=2, roi=(100, 100, 40, 40),
                        method="bicubic")
    ds = pydicom.dcmread(tmp_path / "l.dcm")
    assert ds.LossyImageCompression == "01"
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian  # decompressed


def test_monochrome1_is_kept(tmp_path, pydicom_file):
    src = read_image(pydicom_file("dicomdirtests/77654033/CR1/6154"))
    up = _upscale(src, None, 2)
    write_dicom_derived(tmp_path / "m.dcm", src, up, scale=2, method="bicubic")
    back = read_image(tmp_path / "m.dcm")
    assert back.photometric == "MONOCHROME1" and back.invert
    np.testing.assert_allclose(back.pixels, up, atol=float(src.rescale[0]))


def test_multiframe_source_gives_single_frame(tmp_path, pydicom_file):
    src = read_image(pydicom_file("rtdose.dcm"), frame=5)
    up = _upscale(src, None, 2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydicom's value warnings go into the report
        rep = write_dicom_derived(tmp_path / "f.dcm", src, up, scale=2, method="bicubic")
    assert any("Invalid value for VR UI" in w for w in rep.warnings)
    ds = pydicom.dcmread(tmp_path / "f.dcm")
    assert "NumberOfFrames" not in ds and "GridFrameOffsetVector" not in ds
    assert ds.SourceImageSequence[0].ReferencedFrameNumber == 6
    assert ds.InstanceNumber == 6  # frames written one by one stack in frame order
    src_ds = pydicom.dcmread(pydicom_file("rtdose.dcm"))
    z = float(src_ds.ImagePositionPatient[2]) + float(src_ds.GridFrameOffsetVector[5])
    assert float(ds.ImagePositionPatient[2]) == pytest.approx(z)  # the plane of frame 6
    back = read_image(tmp_path / "f.dcm")
    assert back.n_frames == 1
    np.testing.assert_allclose(back.pixels, up, atol=float(src.rescale[0]))


def test_colour_multiframe_ultrasound(tmp_path, pydicom_file):
    src = read_image(pydicom_file("examples_ybr_color.dcm"), frame=2)
    roi = (50, 40, 60, 50)
    up = _upscale(src, roi, 2.5)
    rep = write_dicom_derived(tmp_path / "u.dcm", src, up, scale=2.5, roi=roi, method="srcnn")
    ds = pydicom.dcmread(tmp_path / "u.dcm")
    assert (ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration) == (
        3, "RGB", 0)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.6.1"  # single-frame US Image Storage
    assert ds.LossyImageCompression == "01"  # the source was JPEG baseline
    assert rep.warnings and "single" in rep.warnings[0]
    assert "SequenceOfUltrasoundRegions" not in ds  # calibration of the source grid: dropped,
    assert any("cannot be measured" in w for w in rep.warnings)  # and the user told so
    np.testing.assert_allclose(read_image(tmp_path / "u.dcm").pixels,
                               np.clip(np.round(up), 0, 255))


def test_big_endian_source_is_written_little_endian(tmp_path, pydicom_file):
    src = read_image(pydicom_file("MR_small_bigendian.dcm"))
    up = _upscale(src, None, 2)
    write_dicom_derived(tmp_path / "b.dcm", src, up, scale=2, method="bicubic")
    back = read_image(tmp_path / "b.dcm")
    assert back.transfer_syntax == "Explicit VR Little Endian"
    np.testing.assert_array_equal(back.pixels, np.round(up))


def test_derived_dicom_rejects_bad_input(tmp_path, pydicom_file):
    src = read_image(pydicom_file("CT_small.dcm"))
    good = _upscale(src, (0, 0, 10, 10), 2.5)
    with pytest.raises(InvalidScaleError, match="gives 25×25"):
        write_dicom_derived(tmp_path / "x.dcm", src, good[:-1], scale=2.5, roi=(0, 0, 10, 10),
                            method="bicubic")
    with pytest.raises(InvalidScaleError):
        write_dicom_derived(tmp_path / "x.dcm", src, good, scale=7, roi=(0, 0, 10, 10),
                            method="bicubic")
    with pytest.raises(InvalidROIError):
        write_dicom_derived(tmp_path / "x.dcm", src, good, scale=2.5, roi=(120, 0, 10, 10),
                            method="bicubic")
    bad = good.copy()
    bad[3, 3] = np.nan
    with pytest.raises(InvalidPixelsError):
        write_dicom_derived(tmp_path / "x.dcm", src, bad, scale=2.5, roi=(0, 0, 10, 10),
                            method="bicubic")
    raster = ImageData(pixels=np.zeros((4, 4), np.float32), source_path=tmp_path / "r.png",
                       kind="raster")
    with pytest.raises(WriteError, match="not a DICOM"):
        write_dicom_derived(tmp_path / "x.dcm", raster, np.zeros((8, 8)), scale=2,
                            method="bicubic")
    assert not (tmp_path / "x.dcm").exists()


# --------------------------------------------------------------------------- Secondary Capture


def test_secondary_capture_from_16bit_png(tmp_path):
    a = (np.arange(40 * 50) * 13 % 4000).astype(np.uint16).reshape(40, 50)
    Image.fromarray(a).save(tmp_path / "mr.png")
    src = read_image(tmp_path / "mr.png")
    roi = (5, 6, 30, 20)
    up = _upscale(src, roi, 2)
    rep = write_secondary_capture(tmp_path / "sc.dcm", up, source=src, scale=2, roi=roi,
                                  method="rmisr-bl")
    ds = pydicom.dcmread(tmp_path / "sc.dcm")
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" == rep.sop_class_uid
    assert ds.ConversionType == "WSD" and ds.Modality == "OT"
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert (ds.BitsAllocated, ds.BitsStored) == (16, 16)
    assert "mr.png" in ds.DerivationDescription
    np.testing.assert_array_equal(ds.pixel_array, np.clip(np.round(up), 0, 65535))
    other = write_secondary_capture(tmp_path / "sc2.dcm", up, source=src, scale=2, roi=roi,
                                    method="rmisr-bl")
    assert other.study_instance_uid != rep.study_instance_uid


def test_secondary_capture_rgb_and_float(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (20, 24, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    src = read_image(tmp_path / "c.png")
    up = _upscale(src, None, 2)
    write_image(tmp_path / "c.dcm", up, source=src, scale=2, method="bicubic")
    ds = pydicom.dcmread(tmp_path / "c.dcm")
    assert (ds.PhotometricInterpretation, ds.BitsAllocated, ds.SamplesPerPixel) == ("RGB", 8, 3)
    f = np.linspace(-0.5, 1.5, 16 * 16, dtype=np.float32).reshape(16, 16)
    tifffile.imwrite(tmp_path / "f.tif", f)
    fsrc = read_image(tmp_path / "f.tif")
    fup = _upscale(fsrc, None, 2)
    write_image(tmp_path / "f.dcm", fup, source=fsrc, scale=2, method="bicubic")
    back = read_image(tmp_path / "f.dcm")
    np.testing.assert_allclose(back.pixels, fup, atol=2.5 / 65535 + 1e-6)


# --------------------------------------------------------------------------- PNG / TIFF


def test_png_is_windowed_8bit_with_label(tmp_path, pydicom_file):
    src = read_image(pydicom_file("CT_small.dcm"))
    write_png(tmp_path / "w.png", src.pixels, 40, 400, source=src,
              label=computed_label(2.5, "rmisr-vp"))
    im = Image.open(tmp_path / "w.png")
    assert im.mode == "L"
    np.testing.assert_array_equal(np.array(im), apply_window(src.pixels, 40, 400))
    assert im.text["Description"] == "SR ×2.5 RMISR-VP — computed, not acquired"
    rgb = np.dstack([src.pixels / 8, src.pixels / 8, np.zeros_like(src.pixels)])
    write_png(tmp_path / "c.png", rgb, 128, 256)
    assert Image.open(tmp_path / "c.png").mode == "RGB"


def test_tiff16_keeps_full_range_with_documented_offset(tmp_path, shared_medical):
    src = read_image(shared_medical / "samples" / "default_ct_chest_lung.dcm")
    enc = write_tiff16(tmp_path / "ct.tif", src.pixels, source=src,
                       computed=computed_label(2, "bicubic"))
    assert (enc.offset, enc.scale) == (-1024, 1)  # stored values of the 12-bit scanner data
    with tifffile.TiffFile(tmp_path / "ct.tif") as tf:
        page = tf.pages[0]
        data = page.asarray()
        meta = json.loads(page.description)
    assert data.dtype == np.uint16
    np.testing.assert_array_equal(data.astype(np.float64) + meta["offset"], src.pixels)
    assert meta["unit"] == "HU" and meta["scale"] == 1 and "computed" in meta["computed"]
    back = read_image(tmp_path / "ct.tif")  # the reader applies the offset again
    np.testing.assert_array_equal(back.pixels, src.pixels)
    assert back.value_unit == "HU"


def test_tiff16_offset_rules(tmp_path):
    pos = np.array([[0.0, 1000.0], [65535.0, 7.4]])
    assert write_tiff16(tmp_path / "p.tif", pos).offset == 0
    assert tifffile.imread(tmp_path / "p.tif")[1, 1] == 7
    neg = np.array([[-1100.0, 0.0], [200.0, 3000.0]])
    assert write_tiff16(tmp_path / "n.tif", neg, stored_range=(-1024, 3071)).offset == -1100
    assert write_tiff16(tmp_path / "n2.tif", neg, offset=-2000).offset == -2000
    np.testing.assert_array_equal(read_image(tmp_path / "n2.tif").pixels, neg)


def test_tiff16_keeps_the_sources_value_grid_or_spreads_the_range(tmp_path, pydicom_file):
    """Fractional values (MR with a rescale slope, RT Dose in Gy) keep the source's step where 16
    bits of it hold them, else the range is spread over 0–65535: never rounded to integers, never
    clipped; a float source has no grid."""
    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    ds.RescaleSlope, ds.RescaleIntercept = 0.0123, 0
    ds.save_as(tmp_path / "mr.dcm")
    mr = read_image(tmp_path / "mr.dcm")
    up = mr.pixels.astype(np.float64) + 0.0123 / 3  # SR output between the source's levels
    enc = write_tiff16(tmp_path / "mr.tif", up, source=mr)
    assert (enc.offset, enc.scale) == (0, pytest.approx(0.0123)) and not enc.warnings
    back = read_image(tmp_path / "mr.tif")
    np.testing.assert_allclose(back.pixels, up, atol=0.0123 / 2 + 1e-5)
    assert back.rescale == pytest.approx((0.0123, 0))
    again = write_tiff16(tmp_path / "again.tif", back.pixels, source=back)  # the grid is kept
    assert again.scale == pytest.approx(0.0123)

    dose = read_image(pydicom_file("rtdose_1frame.dcm"))  # Gy, step 1e-6: 16 bits hold 0.066 Gy
    levels = len(np.unique(dose.pixels))
    enc = write_tiff16(tmp_path / "dose.tif", dose.pixels, source=dose)
    span = float(dose.pixels.max() - dose.pixels.min())
    assert enc.scale == pytest.approx(span / 65535) and not enc.warnings
    back = read_image(tmp_path / "dose.tif")
    np.testing.assert_allclose(back.pixels, dose.pixels, atol=enc.scale / 2 + 1e-6)
    assert len(np.unique(back.pixels)) == levels > 50

    wide = np.array([[0.0, 214_500.0], [1234.5, 99_999.9]])  # PET-like Bq/ml, 32-bit integers
    pet = dataclasses.replace(dose, rescale=(1.0, 0.0), stored_range=(0.0, 2.0 ** 32 - 1))
    enc = write_tiff16(tmp_path / "pet.tif", wide, source=pet)
    assert enc.scale == pytest.approx(214_500 / 65535) and not enc.warnings
    np.testing.assert_allclose(read_image(tmp_path / "pet.tif").pixels, wide,
                               atol=enc.scale / 2 + 1e-2)

    floats = dataclasses.replace(dose, bits_stored=None, rescale=(1.0, 0.0))
    enc = write_tiff16(tmp_path / "f.tif", np.array([[0.25, 0.5], [0.75, 1.0]]), source=floats)
    assert (enc.offset, enc.scale) == (0.25, pytest.approx(0.75 / 65535))

    forced = write_tiff16(tmp_path / "forced.tif", wide, offset=0, scale=1)
    assert forced.clipped_high == 2 and "2 pixel value(s)" in forced.warnings[0]


def test_tiff16_of_a_monochrome1_source_is_min_is_white(tmp_path, pydicom_file):
    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "m1.dcm")
    src = read_image(tmp_path / "m1.dcm")
    assert src.invert
    written = write_image(tmp_path / "m1.tif", src.pixels, source=src, scale=2, method="bicubic")
    with tifffile.TiffFile(tmp_path / "m1.tif") as tf:
        assert tf.pages[0].photometric == tifffile.PHOTOMETRIC.MINISWHITE
    assert read_image(written.path).invert


def test_write_image_dispatch(tmp_path, pydicom_file):
    src = read_image(pydicom_file("CT_small.dcm"))
    up = _upscale(src, (0, 0, 16, 16), 2)
    for name, fmt in (("a.png", "png"), ("a.tif", "tiff"), ("a.tiff", "tiff"), ("a.dcm", "dcm")):
        res = write_image(tmp_path / name, up, source=src, scale=2, roi=(0, 0, 16, 16),
                          method="bicubic")
        assert res.fmt == fmt and res.path.is_file()
    assert res.dicom is not None and res.dicom.rows == 32
    res = write_image(tmp_path / "noext", up, source=src, fmt="dcm", scale=2, roi=(0, 0, 16, 16),
                      method="bicubic")
    assert pydicom.dcmread(res.path).Rows == 32
    with pytest.raises(WriteError, match="unknown output format"):
        write_image(tmp_path / "a.gif", up, source=src, scale=2, roi=(0, 0, 16, 16),
                    method="bicubic")


# --------------------------------------------------------------------------- atomicity


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_failed_write_leaves_nothing_and_keeps_old_file(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old content")

    def half_then_fail(fh):
        fh.write(b"\x89PNG partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(WriteError, match="disk on fire"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old content"
    assert _names(tmp_path) == {"out.png"}  # no temporary file left


def test_writer_failure_inside_library_leaves_nothing(tmp_path, monkeypatch, pydicom_file):
    src = read_image(pydicom_file("CT_small.dcm"))

    def boom(*args, **kwargs):
        args[0].write(b"II*\x00 half a tiff")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tifffile, "imwrite", boom)
    with pytest.raises(WriteError, match="No space left"):
        write_tiff16(tmp_path / "t.tif", src.pixels)
    assert _names(tmp_path) == set()


def test_successful_write_leaves_no_temp_and_normal_permissions(tmp_path, pydicom_file):
    src = read_image(pydicom_file("CT_small.dcm"))
    write_png(tmp_path / "ok.png", src.pixels, 40, 400)
    assert _names(tmp_path) == {"ok.png"}
    if os.name == "posix":
        assert (tmp_path / "ok.png").stat().st_mode & 0o044  # not a private 0600 temp file


def test_never_overwrites_the_source(tmp_path, pydicom_file):
    path = tmp_path / "src.dcm"
    path.write_bytes(pydicom_file("CT_small.dcm").read_bytes())
    before = path.read_bytes()
    src = read_image(path)
    up = _upscale(src, None, 2)
    with pytest.raises(SourceOverwriteError):
        write_dicom_derived(path, src, up, scale=2, method="bicubic")
    with pytest.raises(SourceOverwriteError):
        write_png(tmp_path / "." / "src.dcm", src.pixels, 0, 100, source=src)
    if hasattr(os, "symlink"):
        os.symlink(path, tmp_path / "link.dcm")
        with pytest.raises(SourceOverwriteError):
            write_image(tmp_path / "link.dcm", up, source=src, scale=2, method="bicubic")
    os.link(path, tmp_path / "hard.dcm")
    with pytest.raises(SourceOverwriteError):
        write_tiff16(tmp_path / "hard.dcm", src.pixels, source=src)
    # a file opened as a source in this session is protected even when not passed as source
    with pytest.raises(SourceOverwriteError):
        write_png(path, src.pixels, 0, 100)
    assert path.read_bytes() == before
    assert _names(tmp_path) <= {"src.dcm", "link.dcm", "hard.dcm"}


def test_write_text_is_atomic(tmp_path):
    write_text(tmp_path / "t.md", "| a |\n")
    assert (tmp_path / "t.md").read_text() == "| a |\n"
    with pytest.raises(WriteError, match="does not exist"):
        write_text(tmp_path / "missing" / "t.md", "x")


def _enhanced_ct(path: Path, sop_class: str = "1.2.840.10008.5.1.4.1.1.2.1",
                 modality: str = "CT") -> Path:
    """A 3-frame Enhanced CT (by default) with geometry, rescale and window in functional groups
    only."""
    from pydicom.sequence import Sequence

    def item(**kw):
        d = Dataset()
        for k, v in kw.items():
            setattr(d, k, v)
        return d

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class  # Enhanced CT Image Storage by default
    ds.SOPInstanceUID, ds.StudyInstanceUID = generate_uid(), generate_uid()
    ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Test^Enhanced", "ENH-1", modality
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.SharedFunctionalGroupsSequence = Sequence([item(
        PixelMeasuresSequence=Sequence([item(PixelSpacing=[0.5, 0.6], SliceThickness=1)]),
        PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]),
        PixelValueTransformationSequence=Sequence([item(RescaleSlope=1, RescaleIntercept=-1024,
                                                        RescaleType="HU")]))])
    ds.PerFrameFunctionalGroupsSequence = Sequence([item(
        PlanePositionSequence=Sequence([item(ImagePositionPatient=[-50, -60, 10.0 * k])]),
        FrameVOILUTSequence=Sequence([item(WindowCenter=40 + k, WindowWidth=400)]))
        for k in range(3)])
    frames = np.stack([np.full((16, 20), 1024 + 100 * k, np.uint16) for k in range(3)])
    ds.set_pixel_data(frames, "MONOCHROME2", 12)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_enhanced_multiframe_functional_groups(tmp_path):
    src = read_image(_enhanced_ct(tmp_path / "enh.dcm"), frame=2)
    assert src.n_frames == 3 and src.value_unit == "HU"
    assert float(src.pixels.mean()) == 200.0  # frame 2: stored 1224 − 1024
    assert src.pixel_spacing == (0.5, 0.6) and src.image_position == (-50.0, -60.0, 20.0)
    assert src.window == (42.0, 400.0)
    up = _upscale(src, (2, 4, 8, 6), 2)
    rep = write_dicom_derived(tmp_path / "d.dcm", src, up, scale=2, roi=(2, 4, 8, 6),
                              method="bicubic")
    ds = pydicom.dcmread(tmp_path / "d.dcm")
    assert ds.SOPClassUID == CTImageStorage and "single" in " ".join(rep.warnings)
    for kw in ("NumberOfFrames", "PerFrameFunctionalGroupsSequence",
               "SharedFunctionalGroupsSequence"):
        assert kw not in ds
    assert [float(v) for v in ds.PixelSpacing] == [0.25, 0.3]
    assert [float(v) for v in ds.ImagePositionPatient] == pytest.approx(
        [-50 + (2 - 0.25) * 0.6, -60 + (4 - 0.25) * 0.5, 20.0])
    assert ds.SourceImageSequence[0].ReferencedFrameNumber == 3
    back = read_image(tmp_path / "d.dcm")
    assert back.window == (42.0, 400.0) and float(back.pixels.mean()) == 200.0


def test_enhanced_mr_becomes_secondary_capture_not_an_invalid_legacy_mr(tmp_path):
    """Legacy MR Image Storage requires ScanningSequence/SequenceVariant (Type 1), which an
    Enhanced MR object does not carry: its derived frame is a Secondary Capture."""
    src = read_image(_enhanced_ct(tmp_path / "emr.dcm", "1.2.840.10008.5.1.4.1.1.4.1", "MR"),
                     frame=1)
    rep = write_dicom_derived(tmp_path / "d.dcm", src, _upscale(src, (2, 4, 8, 6), 2), scale=2,
                              roi=(2, 4, 8, 6), method="bicubic")
    ds = pydicom.dcmread(tmp_path / "d.dcm")
    assert ds.SOPClassUID == SC_IMAGE_STORAGE and ds.ConversionType == "WSD"
    assert ds.Modality == "MR" and "Secondary Capture" in " ".join(rep.warnings)
    assert [float(v) for v in ds.PixelSpacing] == [0.25, 0.3]
    assert ds.StudyInstanceUID == src.dataset.StudyInstanceUID


def test_comparison_sheet(tmp_path):
    from app.io import compose_sheet, write_sheet
    a = np.zeros((40, 50), np.uint8)
    b = np.full((40, 50, 3), 200, np.uint8)
    sheet = compose_sheet([(a, "Input ROI — acquired"), (b, computed_label(2, "srcnn"))],
                          "title")
    assert sheet.mode == "RGB" and sheet.height > 40
    write_sheet(tmp_path / "s.png", [(a, "x"), (b, computed_label(2, "srcnn"))])
    assert "SR ×2 SRCNN — computed, not acquired" in Image.open(tmp_path / "s.png").text[
        "Description"]
    with pytest.raises(WriteError):
        compose_sheet([(a.astype(np.float32), "float")])
    assert {p.name for p in tmp_path.iterdir()} == {"s.png"}


def test_png_caption_strip(tmp_path):
    from PIL import Image

    from app.io import add_caption, computed_label, write_png

    pixels = np.linspace(0, 1000, 32 * 300).reshape(32, 300)
    label = computed_label(2.5, "rmisr-vp")
    plain = write_png(tmp_path / "plain.png", pixels, 500, 1000, label=label)
    shown = write_png(tmp_path / "shown.png", pixels, 500, 1000, label=label, caption=True)
    a, b = np.asarray(Image.open(plain)), np.asarray(Image.open(shown))
    assert a.shape == (32, 300) and b.shape[1] == 300 and b.shape[0] > 32
    assert np.array_equal(b[:32], a)  # the image's pixels are untouched
    assert b[32:].max() == 255 and b[32:].min() == 0  # white text on black
    assert Image.open(shown).text["Caption"].startswith("image 300x32")
    # a narrow image is padded so the label stays legible, wrapped onto several lines
    narrow = add_caption(np.full((8, 10, 3), 128, np.uint8), label, min_width=120)
    assert narrow.shape[1] == 120 and narrow.shape[2] == 3
    assert narrow.shape[0] > 8 + 2 * 17  # at least two lines of text
    assert (narrow[:8, :10] == 128).all() and (narrow[:8, 10:] == 0).all()
    with pytest.raises(WriteError):
        add_caption(np.zeros((4, 4), np.float32), label)


def test_imager_pixel_spacing_only_source_keeps_its_kind(tmp_path, pydicom_file):
    """A CR/DX source with ImagerPixelSpacing only: the derived file has ImagerPixelSpacing ÷ s
    (the detector plane, not corrected for magnification) and no invented PixelSpacing."""
    from app.io import read_image, write_dicom_derived

    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    del ds.PixelSpacing
    ds.ImagerPixelSpacing = [0.2, 0.25]
    ds.save_as(tmp_path / "cr.dcm")
    src = read_image(tmp_path / "cr.dcm")
    assert src.spacing_source == "ImagerPixelSpacing"
    out = np.zeros((40, 50), np.float32) + 100
    write_dicom_derived(tmp_path / "d.dcm", src, out, scale=2.5, roi=(0, 0, 20, 16),
                        method="bicubic")
    d = pydicom.dcmread(tmp_path / "d.dcm")
    assert "PixelSpacing" not in d
    assert [float(v) for v in d.ImagerPixelSpacing] == pytest.approx([0.08, 0.1])
    assert read_image(tmp_path / "d.dcm").spacing_source == "ImagerPixelSpacing"


def test_derived_classes_stay_valid(tmp_path, pydicom_file):
    """An unlisted multi-frame class (X-Ray 3D Angiographic) becomes Secondary Capture; 16-bit
    colour from a palette ultrasound becomes Secondary Capture (US allows 8-bit colour only); a
    Segmentation is refused (its frames are label masks)."""
    src = read_image(_enhanced_ct(tmp_path / "xa3d.dcm", "1.2.840.10008.5.1.4.1.1.13.1.1", "XA"),
                     frame=1)
    write_dicom_derived(tmp_path / "a.dcm", src, _upscale(src, None, 2), scale=2,
                        method="bicubic")
    assert pydicom.dcmread(tmp_path / "a.dcm").SOPClassUID == SC_IMAGE_STORAGE

    pal = read_image(pydicom_file("examples_palette.dcm"))
    assert pal.is_colour and pal.bits_stored > 8
    up = np.kron(pal.pixels, np.ones((2, 2, 1)))
    rep = write_dicom_derived(tmp_path / "p.dcm", pal, up, scale=2, method="bicubic")
    ds = pydicom.dcmread(tmp_path / "p.dcm")
    assert ds.SOPClassUID == SC_IMAGE_STORAGE and ds.ConversionType == "WSD"
    assert any("8-bit colour only" in w for w in rep.warnings)

    seg = read_image(pydicom_file("liver_1frame.dcm"))
    with pytest.raises(WriteError, match="Segmentation"):
        write_dicom_derived(tmp_path / "s.dcm", seg, np.kron(seg.pixels, np.ones((2, 2))),
                            scale=2, method="bicubic")
    assert not (tmp_path / "s.dcm").exists()


def test_a_float_colour_image_is_not_squeezed_into_dicom(tmp_path):
    """DICOM colour has no rescale: a float RGB TIFF's values (0–1 here) would collapse to two
    levels; the Secondary Capture is refused with the way out (TIFF), nothing written."""
    from app.io import WriteError

    rgb = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", rgb, photometric="rgb")
    src = read_image(tmp_path / "f.tif")
    assert src.is_colour and src.bits_stored is None
    up = np.repeat(np.repeat(src.pixels, 2, axis=0), 2, axis=1)
    with pytest.raises(WriteError, match="export it as TIFF"):
        write_image(tmp_path / "sc.dcm", up, source=src, fmt="dcm", scale=2, method="bicubic")
    assert not (tmp_path / "sc.dcm").exists()
    assert write_image(tmp_path / "ok.tif", up, source=src, fmt="tiff", scale=2,
                       method="bicubic").path.exists()
