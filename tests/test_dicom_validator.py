"""Derived DICOM against dicom3tools' ``dciodvfy``: every class of source the writers take (CT,
MR, CR MONOCHROME1, enhanced multi-frame, ultrasound RGB / palette, RT Dose, raster → Secondary
Capture, odd character sets) gives a file without an ``Error -`` line its source does not have.

The checks skip when ``dciodvfy`` is not installed, and fail instead under
``RMISR_REQUIRE_DCIODVFY=1`` (set by ``.ci/run``, which installs ``dicom3tools``)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from app.io import read_image, write_dicom_derived, write_image
from app.io._dicom_writer import SC_IMAGE_STORAGE
from models.resize import imresize
from tests import _dciodvfy
from tests.test_io_writers import _enhanced_ct, make_ct

_FLAT = dict(ipp=(-100.0, -80.0, 12.5), iop=(1, 0, 0, 0, 1, 0), spacing=(0.5, 0.6))


def _hu(shape=(24, 30)) -> np.ndarray:
    return np.random.default_rng(3).normal(40, 60, shape)


def _write(tmp_path: Path, src_path: Path, name: str, frame: int = 0, **kw):
    src = read_image(src_path, frame=frame)
    up = imresize(src.pixels.astype(np.float64), 2).astype(np.float32)
    out = tmp_path / f"out_{name}.dcm"
    rep = write_image(out, up, source=src, fmt="dcm", scale=2, method="bicubic", **kw)
    _dciodvfy.assert_valid(out, src_path)
    return pydicom.dcmread(out), rep, src


def test_validator_finds_a_new_error_and_ignores_an_inherited_one(tmp_path):
    """The check itself: an error the source has does not count, a new one does."""
    _dciodvfy.require()
    good = make_ct(tmp_path / "good.dcm", _hu(), **_FLAT, KVP="120", AcquisitionNumber=1)
    ds = pydicom.dcmread(good)
    del ds.KVP  # CT Image module, Type 2
    ds.save_as(tmp_path / "bad.dcm")
    assert any("KVP" in e for e in _dciodvfy.new_errors(tmp_path / "bad.dcm", good))
    assert _dciodvfy.new_errors(tmp_path / "bad.dcm", tmp_path / "bad.dcm") == []


@pytest.mark.parametrize("name,frame", [
    ("CT_small.dcm", 0), ("MR_small.dcm", 0), ("rtdose.dcm", 5), ("rtdose_1frame.dcm", 0),
    ("examples_ybr_color.dcm", 2), ("examples_rgb_color.dcm", 0), ("examples_palette.dcm", 0),
    ("SC_rgb_rle_32bit.dcm", 0), ("MR_small_padded.dcm", 0), ("693_J2KI.dcm", 0),
    ("MR_small_bigendian.dcm", 0), ("dicomdirtests/77654033/CR1/6154", 0),
])
def test_bundled_sources_give_valid_derived_dicom(tmp_path, pydicom_file, name, frame):
    _dciodvfy.require()
    _write(tmp_path, pydicom_file(name), "d", frame)


def test_enhanced_ct_frame_as_ct_image_lifts_type2_attributes(tmp_path):
    """KVP (Type 2 in the CT Image module, PS3.3 C.8.2.1) lives in the CT X-Ray Details
    functional group of an Enhanced CT; a frame written as CT Image has it at the top level."""
    _dciodvfy.require()
    path = _enhanced_ct(tmp_path / "enh.dcm")
    ds = pydicom.dcmread(path)
    item = Dataset()
    item.KVP = "120"
    ds.SharedFunctionalGroupsSequence[0].CTXRayDetailsSequence = Sequence([item])
    for k, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        content = Dataset()
        content.FrameAcquisitionNumber = 7 + k
        frame.FrameContentSequence = Sequence([content])
    ds.save_as(path)
    out, _, _ = _write(tmp_path, path, "d", frame=1)
    assert out.SOPClassUID == CTImageStorage
    assert float(out.KVP) == 120.0 and int(out.AcquisitionNumber) == 8
    # without any KVP in the source: present and empty (Type 2: unknown)
    bare, _, _ = _write(tmp_path, _enhanced_ct(tmp_path / "bare.dcm"), "bare", frame=0)
    assert "KVP" in bare and bare["KVP"].is_empty


def test_enhanced_mr_and_unlisted_multiframe_become_valid_secondary_capture(tmp_path):
    _dciodvfy.require()
    mr = _enhanced_ct(tmp_path / "emr.dcm", "1.2.840.10008.5.1.4.1.1.4.1", "MR")
    out, _, _ = _write(tmp_path, mr, "mr", frame=1)
    assert out.SOPClassUID == SC_IMAGE_STORAGE and "PatientOrientation" in out
    xa = _enhanced_ct(tmp_path / "xa3d.dcm", "1.2.840.10008.5.1.4.1.1.13.1.1", "XA")
    out, _, _ = _write(tmp_path, xa, "xa", frame=2)
    assert out.SOPClassUID == SC_IMAGE_STORAGE


def test_single_frame_class_with_frames_references_no_frame(tmp_path):
    """A CT Image Storage file with two frames (non-conforming): the derived frame refers to the
    instance without Referenced Frame Number, which a single-frame class does not allow
    (PS3.3 Table 10-3), and its Secondary Capture carries Rescale Type (Type 1C)."""
    _dciodvfy.require()
    ds = pydicom.dcmread(make_ct(tmp_path / "ct.dcm", _hu(), **_FLAT))
    frames = np.stack([ds.pixel_array] * 2)
    ds.NumberOfFrames = 2
    ds.FrameIncrementPointer = 0x00180050
    ds.PixelData = frames.tobytes()
    ds.save_as(tmp_path / "ct2.dcm")
    out, _, _ = _write(tmp_path, tmp_path / "ct2.dcm", "d", frame=1)
    assert "ReferencedFrameNumber" not in out.SourceImageSequence[0]
    assert out.SOPClassUID == SC_IMAGE_STORAGE and out.RescaleType == "HU"


def test_rt_dose_without_window_gets_a_valid_narrow_window(tmp_path, pydicom_file):
    """Dose in Gy spans less than 1: the window added is kept (not widened) and written with VOI
    LUT Function LINEAR_EXACT, as LINEAR needs a width ≥ 1 (PS3.3 C.11.2.1.2)."""
    _dciodvfy.require()
    ds = pydicom.dcmread(pydicom_file("rtdose_1frame.dcm"))
    for kw in ("WindowCenter", "WindowWidth"):
        if kw in ds:
            del ds[kw]
    ds.DoseGridScaling = 1e-6
    ds.save_as(tmp_path / "dose.dcm")
    out, rep, src = _write(tmp_path, tmp_path / "dose.dcm", "d")
    assert src.window[1] < 1
    assert float(out.WindowWidth) == pytest.approx(src.window[1], rel=1e-6)
    assert out.VOILUTFunction == "LINEAR_EXACT"
    assert any("LINEAR_EXACT" in w for w in rep.warnings)


@pytest.mark.parametrize("body_part,laterality", [
    ("CHEST", None), ("HEAD", None), ("ABDOMEN", None), ("KNEE", ""), ("BREAST", ""),
    (None, ""),
])
def test_laterality_follows_the_body_part(tmp_path, body_part, laterality):
    """Laterality (General Series, Type 2C) is required for a paired structure only: absent
    beside an unpaired body part (most CT and MR), present and empty beside a paired or unknown
    one, kept as it is when the source has it."""
    _dciodvfy.require()
    extra = {} if body_part is None else {"BodyPartExamined": body_part, "KVP": "120"}
    src = make_ct(tmp_path / "src.dcm", _hu(), **_FLAT, **extra)
    out, _, _ = _write(tmp_path, src, "lat")
    assert (out.get("Laterality") if laterality is None else out.Laterality) == laterality
    if body_part == "KNEE":
        src = make_ct(tmp_path / "src_r.dcm", _hu(), **_FLAT, **extra, Laterality="R")
        assert _write(tmp_path, src, "lat_r")[0].Laterality == "R"


@pytest.mark.parametrize("kind", ["png8", "png16", "rgb", "float", "float_narrow", "rgb32",
                                  "int32"])
def test_raster_secondary_capture_is_valid(tmp_path, kind):
    """Secondary Capture from a raster: Laterality (General Series, Type 2C) is present, empty —
    the body part is unknown; a window below 1 (float TIFF) uses LINEAR_EXACT."""
    _dciodvfy.require()
    rng = np.random.default_rng(5)
    path = tmp_path / (kind + (".png" if kind.startswith(("png", "rgb")) and kind != "rgb32"
                               else ".tif"))
    if kind == "png8":
        Image.fromarray(rng.integers(0, 256, (20, 24)).astype(np.uint8)).save(path)
    elif kind == "png16":
        Image.fromarray(rng.integers(0, 4000, (20, 24)).astype(np.uint16)).save(path)
    elif kind == "rgb":
        Image.fromarray(rng.integers(0, 256, (20, 24, 3)).astype(np.uint8)).save(path)
    elif kind == "float":
        tifffile.imwrite(path, rng.normal(0, 100, (20, 24)).astype(np.float32))
    elif kind == "float_narrow":
        tifffile.imwrite(path, np.linspace(0, 0.3, 480, dtype=np.float32).reshape(20, 24))
    elif kind == "rgb32":
        tifffile.imwrite(path, rng.integers(0, 2 ** 32 - 1, (20, 24, 3), dtype=np.uint64)
                         .astype(np.uint32), photometric="rgb")
    else:
        tifffile.imwrite(path, rng.integers(-2 ** 30, 2 ** 30, (20, 24)).astype(np.int32))
    out, _, _ = _write(tmp_path, path, "sc")
    assert out.SOPClassUID == SC_IMAGE_STORAGE
    assert "Laterality" in out and out["Laterality"].is_empty
    if kind == "float_narrow":
        assert float(out.WindowWidth) < 1 and out.VOILUTFunction == "LINEAR_EXACT"


def test_32bit_rgb_keeps_its_depth_and_says_what_it_did(tmp_path, pydicom_file):
    """A 32-bit RGB source is written with 32-bit samples, not squeezed into 16 bits (which
    clipped most samples); no clipping note claims a range the source does not have."""
    _dciodvfy.require()
    rng = np.random.default_rng(9)
    path = tmp_path / "rgb32.tif"
    tifffile.imwrite(path, rng.integers(2 ** 30, 2 ** 31, (10, 12, 3), dtype=np.uint64)
                     .astype(np.uint32), photometric="rgb")
    out, rep, src = _write(tmp_path, path, "sc")
    assert (out.BitsAllocated, out.BitsStored, out.SamplesPerPixel) == (32, 32, 3)
    assert not any("clipped" in w for w in rep.warnings)
    assert out.pixel_array.max() > 65535
    up = imresize(src.pixels.astype(np.float64), 2)
    np.testing.assert_allclose(out.pixel_array, np.clip(np.round(up), 0, 2 ** 32 - 1),
                               rtol=1e-6)
    dcm, rep, _ = _write(tmp_path, pydicom_file("SC_rgb_rle_32bit.dcm"), "dcm32")
    assert (dcm.BitsAllocated, dcm.BitsStored) == (32, 32)
    assert not any("65535" in w for w in rep.warnings)


@pytest.mark.parametrize("charset,name", [
    ("ISO_IR 100", "Müller^Jürgen"), ("ISO_IR 144", "Люкceмбypг"),
    (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎"), ("ISO_IR 13", "ﾔﾏﾀﾞ^ﾀﾛｳ"),
    ("GB18030", "Wang^XiaoDong=王^小东"), ("ISO_IR 126", "Διονυσιος"), ("", "Plain^Name"),
    (["ISO 2022 IR 6", "ISO 2022 IR 100"], "Buc^Jérôme"),
])
def test_odd_character_sets_hold_the_added_text(tmp_path, charset, name):
    """Text the writer adds ("×", a description with "≥", "µ", "–") is never written in bytes
    outside the declared Specific Character Set (PS3.3 C.12.1.1.2): where the source's set
    cannot hold it, the data set becomes ISO_IR 192; the patient's name survives either way."""
    _dciodvfy.require()
    extra = {"SpecificCharacterSet": charset} if charset else {}
    src = make_ct(tmp_path / "src.dcm", _hu(), **_FLAT, PatientName=name, **extra)
    out, rep, _ = _write(tmp_path, src, "d", description_extra="dose ≥ 2 µGy – test")
    assert str(out.PatientName) == name
    assert "dose ≥ 2 µGy – test" in out.DerivationDescription
    assert "×2" in out.SeriesDescription
    if charset not in ("GB18030",):
        assert out.SpecificCharacterSet == "ISO_IR 192"


def test_ascii_description_keeps_a_latin1_character_set(tmp_path):
    _dciodvfy.require()
    src = make_ct(tmp_path / "src.dcm", _hu(), **_FLAT, SpecificCharacterSet="ISO_IR 100",
                  PatientName="Müller^Jürgen")
    out, rep, _ = _write(tmp_path, src, "d", description_extra="plain")
    assert out.SpecificCharacterSet == "ISO_IR 100" and "×2" in out.SeriesDescription
    assert not any("SpecificCharacterSet" in w for w in rep.warnings)


@pytest.mark.parametrize("spacing", [["0.5"], ["0.5", "0.5", "0.5"], ["0", "0.5"],
                                     ["-0.5", "0.5"], ["NaN", "0.5"]])
def test_malformed_pixel_spacing_is_not_copied_into_the_scaled_result(tmp_path, spacing):
    """PixelSpacing must be two positive numbers (PS3.3 10.7.1.3, VM 2). A malformed one is not
    copied unscaled into the derived image: it is left out with a warning naming it, and a CT
    (which needs PixelSpacing, Type 1) is written as Secondary Capture."""
    _dciodvfy.require()
    path = make_ct(tmp_path / "src.dcm", _hu(), **_FLAT)
    ds = pydicom.dcmread(path)
    ds["PixelSpacing"].value = spacing
    ds.save_as(path)
    src = read_image(path)
    assert src.pixel_spacing is None
    assert any("PixelSpacing" in w for w in src.warnings)
    up = imresize(src.pixels.astype(np.float64), 2).astype(np.float32)
    rep = write_dicom_derived(tmp_path / "d.dcm", src, up, scale=2, method="bicubic")
    out = pydicom.dcmread(tmp_path / "d.dcm")
    assert "PixelSpacing" not in out and rep.pixel_spacing is None
    assert any("PixelSpacing" in w and "not two positive numbers" in w for w in rep.warnings)
    assert out.SOPClassUID == SC_IMAGE_STORAGE
    assert read_image(tmp_path / "d.dcm").pixel_spacing is None
    _dciodvfy.assert_valid(tmp_path / "d.dcm", path)


def test_malformed_imager_pixel_spacing_beside_a_valid_pixel_spacing(tmp_path):
    path = make_ct(tmp_path / "src.dcm", _hu(), **_FLAT, ImagerPixelSpacing=["0.4"])
    src = read_image(path)
    up = imresize(src.pixels.astype(np.float64), 2).astype(np.float32)
    rep = write_dicom_derived(tmp_path / "d.dcm", src, up, scale=2, method="bicubic")
    out = pydicom.dcmread(tmp_path / "d.dcm")
    assert "ImagerPixelSpacing" not in out
    assert [float(v) for v in out.PixelSpacing] == [0.25, 0.3]
    assert out.SOPClassUID == CTImageStorage
    assert any("ImagerPixelSpacing" in w for w in rep.warnings)
    assert not math.isnan(rep.pixel_spacing[0])
