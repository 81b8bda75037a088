"""app.io.read_image: DICOM and raster reading, metadata, and the specific errors of bad input."""
from __future__ import annotations

import struct
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile
from PIL import Image

from app.io import (SAMPLE_PATH, SAMPLE_SHA256, CorruptFileError, EmptyFileError, FileMissingError,
                    FrameOutOfRangeError, ImageData, ImageIOError, ImageTooLargeError,
                    InvalidPixelsError, NoPixelDataError, NotAnImageError, TruncatedFileError,
                    UnsupportedTransferSyntaxError, read_image)

# --------------------------------------------------------------------------- DICOM


def test_ct_values_are_hounsfield_units(pydicom_file):
    path = pydicom_file("CT_small.dcm")
    img = read_image(path)
    stored = pydicom.dcmread(path).pixel_array
    assert img.kind == "dicom" and img.modality == "CT" and img.value_unit == "HU"
    assert img.pixels.dtype == np.float32 and img.pixels.shape == (128, 128)
    np.testing.assert_array_equal(img.pixels, stored.astype(np.float32) - 1024)
    assert img.rescale == (1.0, -1024.0)
    assert img.pixel_spacing == pytest.approx((0.661468, 0.661468))
    assert img.image_position is not None and img.image_orientation is not None
    assert img.dataset is not None and "PixelData" not in img.dataset  # header only
    assert img.description.startswith("CT · 128×128 · 0.66 mm")


def test_real_ct_sample(shared_medical):
    img = read_image(shared_medical / "samples" / "default_ct_chest_lung.dcm")
    assert img.value_unit == "HU"
    assert img.stored_range == (-1024.0, 3071.0)  # 12-bit unsigned, intercept −1024
    assert img.pixels.min() == -1024.0
    assert img.window == (-600.0, 1600.0)
    assert img.windows == [(-600.0, 1600.0, "")]  # "-600\-600" de-duplicated
    assert img.pixel_spacing == pytest.approx((0.841796875, 0.841796875))


def test_bundled_sample_is_the_documented_file():
    import hashlib
    assert SAMPLE_PATH.is_file()
    assert hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest() == SAMPLE_SHA256
    assert read_image(SAMPLE_PATH).description == "CT · 512×512 · 0.84 mm"


def test_all_real_ct_files_read(shared_medical):
    for path in sorted((shared_medical / "ct").glob("*.dcm")):
        img = read_image(path)
        assert img.value_unit == "HU" and img.pixels.min() >= -1024, path.name
        assert img.windows, path.name


def test_siemens_ct_has_two_windows(shared_medical):
    img = read_image(shared_medical / "ct" / "LungDx-A0002_Siemens_8mm_B40f_inst08.dcm")
    assert img.windows == [(40.0, 350.0, "WINDOW1"), (-600.0, 1200.0, "WINDOW2")]
    assert img.window == (40.0, 350.0)


def test_monochrome1_sets_invert_not_pixels(pydicom_file):
    path = pydicom_file("dicomdirtests/77654033/CR1/6154")
    ds = pydicom.dcmread(path)
    img = read_image(path)
    assert img.photometric == "MONOCHROME1" and img.invert is True
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(img.pixels, expected, rtol=1e-6)


@pytest.mark.parametrize("photometric,shape,inverted", [
    ("MONOCHROME2", "INVERSE", True), ("MONOCHROME2", "IDENTITY", False),
    ("MONOCHROME1", "INVERSE", True), ("MONOCHROME1", "IDENTITY", True)])
def test_presentation_lut_shape_inverse(tmp_path, pydicom_file, photometric, shape, inverted):
    """MONOCHROME2 + INVERSE is shown inverted; MONOCHROME1's INVERSE is its own inversion."""
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.PhotometricInterpretation, ds.PresentationLUTShape = photometric, shape
    ds.save_as(tmp_path / "p.dcm")
    assert read_image(tmp_path / "p.dcm").invert is inverted


def test_real_cr_j2k_lossy_monochrome1(shared_medical):
    img = read_image(shared_medical / "other" / "CR_chest_RG1_J2KI.dcm")
    assert img.invert and img.lossy and img.modality == "CR"
    assert img.shape == (1955, 1841)
    assert img.pixel_spacing is None  # "0.000\0.000" is no usable spacing
    assert img.window == (15000.0, 30000.0)
    assert any("PixelSpacing" in w for w in img.warnings)


@pytest.mark.parametrize("name", ["MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_bigendian.dcm"])
def test_mr_transfer_syntaxes_agree(pydicom_file, name):
    ref = read_image(pydicom_file("MR_small.dcm")).pixels
    img = read_image(pydicom_file(name))
    assert img.modality == "MR" and img.value_unit == ""
    np.testing.assert_array_equal(img.pixels, ref)
    assert img.window == (600.0, 1600.0)


def test_j2k_lossy_ct(pydicom_file):
    img = read_image(pydicom_file("693_J2KI.dcm"))
    assert img.value_unit == "HU" and img.lossy and img.shape == (512, 512)
    assert np.isfinite(img.pixels).all()


def test_multiframe_frame_choice(pydicom_file):
    path = pydicom_file("rtdose.dcm")
    ds = pydicom.dcmread(path)
    scaling = float(ds.DoseGridScaling)
    for frame in (0, 7, 14):
        img = read_image(path, frame=frame)
        assert img.n_frames == 15 and img.frame == frame
        np.testing.assert_allclose(img.pixels, ds.pixel_array[frame] * scaling, rtol=1e-6)
    with pytest.raises(FrameOutOfRangeError, match="15 frames"):
        read_image(path, frame=15)


def test_multiframe_colour_ybr_to_rgb(pydicom_file):
    path = pydicom_file("examples_ybr_color.dcm")
    img = read_image(path, frame=3)
    assert img.n_frames == 30 and img.frame == 3
    assert img.photometric == "RGB" and img.pixels.shape == (240, 320, 3)
    assert img.source_photometric == "YBR_FULL_422"
    expected = pydicom.pixels.pixel_array(pydicom.dcmread(path), index=3)  # converted to RGB
    np.testing.assert_array_equal(img.pixels, expected)
    assert not np.array_equal(read_image(path, frame=0).pixels, img.pixels)


def test_rle_multiframe_rgb(pydicom_file):
    path = pydicom_file("SC_rgb_rle_2frame.dcm")
    a, b = read_image(path, 0), read_image(path, 1)
    assert a.pixels.shape == (100, 100, 3) and a.n_frames == 2
    assert not np.array_equal(a.pixels, b.pixels)


def test_palette_colour_becomes_rgb(pydicom_file):
    img = read_image(pydicom_file("examples_palette.dcm"))
    assert img.photometric == "RGB" and img.pixels.shape == (350, 800, 3)
    assert img.source_photometric == "PALETTE COLOR"


def test_multi_valued_window_with_explanations(pydicom_file):
    img = read_image(pydicom_file("examples_overlay.dcm"))
    assert [w[2] for w in img.windows] == ["WINDOW1", "WINDOW2"]
    assert img.window == img.windows[0][:2]


def test_auto_window_when_file_has_none(shared_medical):
    img = read_image(shared_medical / "samples" / "default_mri_brain_T1w.dcm")
    assert img.windows == []
    lo, hi = img.window[0] - img.window[1] / 2, img.window[0] + img.window[1] / 2
    assert 0 <= lo < hi <= 92


# --------------------------------------------------------------------------- raster


def test_png_16bit_grey_keeps_values(shared_medical):
    path = sorted((shared_medical / "mri_brain" / "val").glob("*.png"))[0]
    img = read_image(path)
    raw = np.array(Image.open(path))
    assert raw.dtype == np.uint16
    assert img.kind == "raster" and img.bits_stored == 16 and img.stored_range == (0.0, 65535.0)
    np.testing.assert_array_equal(img.pixels, raw.astype(np.float32))
    assert img.window[1] < 2000  # auto window, not the 16-bit full range


def test_png_8bit_grey_identity_window(tmp_path):
    a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(a).save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.stored_range == (0.0, 255.0) and img.pixels.ndim == 2
    from app.io import apply_window
    np.testing.assert_array_equal(apply_window(img.pixels, *img.window), a)


def test_colour_with_equal_channels_becomes_grey(tmp_path):
    g = (np.arange(30 * 40) % 256).astype(np.uint8).reshape(30, 40)
    Image.fromarray(np.stack([g, g, g], -1)).save(tmp_path / "grey_rgb.bmp")
    img = read_image(tmp_path / "grey_rgb.bmp")
    assert img.pixels.shape == (30, 40) and img.photometric == "MONOCHROME2"
    rgb = np.stack([g, 255 - g, g], -1)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert read_image(tmp_path / "rgb.png").pixels.shape == (30, 40, 3)


def test_jpeg_colour(shared_medical):
    img = read_image(shared_medical / "other" / "fundus_retina_normal_left_eye.jpg")
    assert img.photometric == "RGB" and img.lossy and img.pixels.shape == (1411, 1411, 3)


def test_tiff_16bit_multipage_and_float(tmp_path):
    pages = np.stack([np.full((8, 9), 1000 * (k + 1), np.uint16) for k in range(3)])
    tifffile.imwrite(tmp_path / "stack.tif", pages, photometric="minisblack")
    img = read_image(tmp_path / "stack.tif", frame=2)
    assert img.n_frames == 3 and img.bits_stored == 16 and img.pixels.max() == 3000
    with pytest.raises(FrameOutOfRangeError):
        read_image(tmp_path / "stack.tif", frame=3)
    f = np.linspace(-1.5, 2.5, 12 * 10, dtype=np.float32).reshape(12, 10)
    tifffile.imwrite(tmp_path / "float.tiff", f)
    img = read_image(tmp_path / "float.tiff")
    np.testing.assert_array_equal(img.pixels, f)
    assert img.bits_stored is None and img.stored_range == (-1.5, 2.5)


def test_float_tiff_with_nan_is_refused(tmp_path):
    f = np.ones((6, 6), np.float32)
    f[2, 3] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", f)
    with pytest.raises(InvalidPixelsError, match="NaN"):
        read_image(tmp_path / "nan.tif")
    f[2, 3] = np.inf
    tifffile.imwrite(tmp_path / "inf.tif", f)
    with pytest.raises(InvalidPixelsError):
        read_image(tmp_path / "inf.tif")


def test_lzw_tiff_falls_back_to_pillow(tmp_path):
    a = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(48, 64)
    Image.fromarray(a).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    np.testing.assert_array_equal(read_image(tmp_path / "lzw.tif").pixels, a)


# --------------------------------------------------------------------------- bad input


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileMissingError, match="no such file"):
        read_image(tmp_path / "nope.dcm")
    with pytest.raises(NotAnImageError, match="folder"):
        read_image(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(EmptyFileError, match="0 bytes"):
        read_image(tmp_path / "empty.dcm")


def test_truncated_dicom(pydicom_file):
    with pytest.raises(TruncatedFileError, match="shorter"):
        read_image(pydicom_file("MR_truncated.dcm"))


def test_truncated_copy_of_real_ct(tmp_path, shared_medical):
    data = (shared_medical / "ct" / "LungDx-A0001_Philips_5mm_L_inst18.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
    with pytest.raises((TruncatedFileError, CorruptFileError)):
        read_image(tmp_path / "cut.dcm")


@pytest.mark.parametrize("cut", [400, 900, "before_pixels"])
def test_an_image_file_cut_inside_its_header_reads_as_truncated(tmp_path, pydicom_file, cut):
    """pydicom stops quietly where a file ends: an image's header without its pixel data is a
    file cut short, not "an object without pixel data" (which an RT Plan is)."""
    data = pydicom_file("CT_small.dcm").read_bytes()
    at = data.index(b"\xe0\x7f\x10\x00") if cut == "before_pixels" else cut  # (7FE0,0010)
    (tmp_path / "cut.dcm").write_bytes(data[:at])
    with pytest.raises(TruncatedFileError, match="ends before its pixel data"):
        read_image(tmp_path / "cut.dcm")


def test_an_image_file_whose_header_is_damaged_reads_as_corrupt(tmp_path, pydicom_file):
    """Bytes overwritten inside the header stop pydicom before the pixel data too; the file still
    holds them, so it is damaged, not cut short."""
    data = bytearray(pydicom_file("CT_small.dcm").read_bytes())
    data[700:800] = b"\xff" * 100
    (tmp_path / "bad.dcm").write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="header is damaged"):
        read_image(tmp_path / "bad.dcm")


def test_dicom_without_pixel_data(pydicom_file):
    with pytest.raises(NoPixelDataError, match="RT Plan"):
        read_image(pydicom_file("rtplan.dcm"))


def test_lossless_jpeg_syntaxes_decode_exactly(pydicom_file):
    """JPEG Lossless (…4.70, the commonest in CT/MR archives) and JPEG-LS decode through GDCM
    (python-gdcm, a dependency), bit-exact."""
    from app.io import crop_roi
    from app.io._resources import SELF_TEST_JPEG_LOSSLESS, SELF_TEST_JPEG_LOSSLESS_ROI

    crop = read_image(SELF_TEST_JPEG_LOSSLESS)
    assert crop.transfer_syntax.startswith("JPEG Lossless") and crop.value_unit == "HU"
    assert SELF_TEST_JPEG_LOSSLESS_ROI == (240, 240, 32, 32)  # rows/columns 240–271
    assert np.array_equal(crop.pixels,
                          crop_roi(read_image(SAMPLE_PATH), SELF_TEST_JPEG_LOSSLESS_ROI))
    ls = read_image(pydicom_file("MR_small_jpeg_ls_lossless.dcm"))
    assert np.array_equal(ls.pixels, read_image(pydicom_file("MR_small.dcm")).pixels)


def test_undecodable_variant_names_syntax_and_plugin(pydicom_file):
    """12-bit JPEG Extended: neither GDCM nor Pillow decodes it; the error says what would."""
    try:
        import libjpeg  # noqa: F401
        pytest.skip("pylibjpeg-libjpeg is installed: 12-bit JPEG Extended decodes")
    except ImportError:
        pass
    with pytest.raises(UnsupportedTransferSyntaxError) as info:
        read_image(pydicom_file("JPEG-lossy.dcm"))
    msg = str(info.value)
    assert "JPEG Extended" in msg and "1.2.840.10008.1.2.4.51" in msg
    assert "pylibjpeg-libjpeg" in msg


def test_text_file_named_png(tmp_path):
    (tmp_path / "notes.png").write_text("these are not pixels\n" * 5)
    with pytest.raises(NotAnImageError, match=r"\.png.*not a PNG"):
        read_image(tmp_path / "notes.png")
    (tmp_path / "notes.dat").write_text("plain text, no extension hint\n" * 5)
    with pytest.raises(NotAnImageError):
        read_image(tmp_path / "notes.dat")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def test_huge_png_header_is_refused_fast_without_allocating(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
           + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))
    path = tmp_path / "bomb.png"
    path.write_bytes(png)
    assert len(png) < 200
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ImageTooLargeError, match="40000×40000"):
            read_image(path)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 50 * 2**20  # 1.6 G pixels were never allocated


def test_huge_dicom_header_is_refused_before_decoding(tmp_path, pydicom_file):
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.Rows, ds.Columns = 60000, 60000
    ds.save_as(tmp_path / "huge.dcm")
    with pytest.raises(ImageTooLargeError, match="60000×60000"):
        read_image(tmp_path / "huge.dcm")


def test_bad_frame_argument(pydicom_file):
    with pytest.raises(FrameOutOfRangeError):
        read_image(pydicom_file("CT_small.dcm"), frame=1)
    with pytest.raises(FrameOutOfRangeError):
        read_image(pydicom_file("CT_small.dcm"), frame=-1)


def test_dicom_without_preamble_is_read_by_content(tmp_path, pydicom_file):
    """A raw data set (no preamble, no file meta) with pixel data is accepted via force=True."""
    src = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    raw = tmp_path / "raw_dataset"
    del src.file_meta
    src.preamble = None
    src.save_as(raw, implicit_vr=True, little_endian=True)  # no enforce: no preamble, no meta
    assert raw.read_bytes()[128:132] != b"DICM"
    img = read_image(raw)
    np.testing.assert_array_equal(img.pixels, read_image(pydicom_file("CT_small.dcm")).pixels)


def test_every_error_is_an_image_io_error():
    import app.io as io
    for name in io.__all__:
        obj = getattr(io, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj is not ImageIOError:
            assert issubclass(obj, ImageIOError), name


def test_image_data_is_a_dataclass_with_contract_fields():
    import dataclasses
    names = {f.name for f in dataclasses.fields(ImageData)}
    assert {"pixels", "source_path", "kind", "modality", "photometric", "invert", "window",
            "windows", "pixel_spacing", "image_position", "image_orientation", "stored_range",
            "value_unit", "frame", "n_frames", "dataset", "bits_stored",
            "description"} <= names


def test_io_imports_no_qt_and_no_torch():
    import subprocess
    code = ("import sys, app.io, app.cli; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PyQt5', 'PySide2', 'PySide6', 'PyQt6', 'torch')]; "
            "assert not bad, bad")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)


def test_voi_lut_function_is_read_kept_and_used(tmp_path):
    """VOILUTFunction (PS3.3 C.11.2.1.3) goes with the image: read (top level or a frame's
    Frame VOI LUT), used for the PNG, kept in the derived DICOM; an unknown term is a warning."""
    from app.io import apply_window, write_dicom_derived, write_png

    from .test_io_writers import _enhanced_ct, make_ct

    hu = np.linspace(-200, 300, 16 * 16).reshape(16, 16)
    kw = dict(ipp=(0, 0, 0), iop=(1, 0, 0, 0, 1, 0), spacing=(1, 1))
    img = read_image(make_ct(tmp_path / "sig.dcm", hu, VOILUTFunction="SIGMOID", **kw))
    assert img.voi_function == "SIGMOID" and not img.warnings
    png = write_png(tmp_path / "sig.png", img.pixels, *img.window, source=img)
    with Image.open(png) as im:
        assert "function=SIGMOID" in im.text["Window"]
        np.testing.assert_array_equal(np.asarray(im), apply_window(img.pixels, *img.window,
                                                                   function="SIGMOID"))
        assert not np.array_equal(np.asarray(im), apply_window(img.pixels, *img.window))
    write_dicom_derived(tmp_path / "d.dcm", img, np.kron(img.pixels, np.ones((2, 2))), scale=2,
                        roi=(0, 0, 16, 16), method="bicubic")
    assert read_image(tmp_path / "d.dcm").voi_function == "SIGMOID"

    odd = read_image(make_ct(tmp_path / "odd.dcm", hu, VOILUTFunction="GAMMA", **kw))
    assert odd.voi_function == "LINEAR"
    assert any("VOILUTFunction 'GAMMA' is not a defined term" in w for w in odd.warnings)
    assert read_image(make_ct(tmp_path / "lin.dcm", hu, **kw)).voi_function == "LINEAR"

    enh = _enhanced_ct(tmp_path / "enh.dcm")
    ds = pydicom.dcmread(enh)
    ds.PerFrameFunctionalGroupsSequence[1].FrameVOILUTSequence[0].VOILUTFunction = \
        "LINEAR_EXACT"
    ds.save_as(enh)
    assert read_image(enh, frame=1).voi_function == "LINEAR_EXACT"
    assert read_image(enh, frame=0).voi_function == "LINEAR"


def _cr_with_voi_lut(path: Path, *, lut_data, descriptor, windows: bool = False,
                     ow: bool = False) -> Path:
    """A 12-bit CR whose display is a VOI LUT Sequence (a gamma curve over 0–4095)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR Image Storage
    ds.SOPInstanceUID, ds.StudyInstanceUID = generate_uid(), generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = "CR", "Test^LUT", "LUT-1"
    item = Dataset()
    item.LUTDescriptor = list(descriptor)
    item.LUTExplanation = "GAMMA 0.5"
    if ow:
        item.add_new(0x00283006, "OW", np.asarray(lut_data, "<u2").tobytes())
    else:
        item.add_new(0x00283006, "US", [int(v) for v in lut_data])
    ds.VOILUTSequence = Sequence([item])
    if windows:
        ds.WindowCenter, ds.WindowWidth = 2000, 1000
    ds.set_pixel_data(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), "MONOCHROME2", 12)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("ow", [False, True])
def test_voi_lut_sequence_is_applied_while_its_window_is_shown(tmp_path, ow):
    """PS3.3 C.11.2.1.1: the table itself, not a linear window over its range, until the user
    picks another window; with file windows too, the window comes first and the LUT is offered."""
    from pydicom.pixels import apply_voi

    from app.io import apply_window, write_png

    table = np.round(4095 * np.linspace(0, 1, 3000) ** 0.5)
    path = _cr_with_voi_lut(tmp_path / "cr.dcm", lut_data=table, descriptor=(3000, 500, 12),
                            ow=ow)
    img = read_image(path)
    assert img.voi_lut is not None and not img.warnings
    assert img.window == img.voi_lut.window == (2000.0, 3000.0)
    assert img.windows[-1][2] == "VOI LUT GAMMA 0.5"
    shown = apply_window(img.pixels, *img.window, lut=img.voi_lut)
    want = apply_voi(img.pixels.astype(np.int64), pydicom.dcmread(path)) / 4095.0
    np.testing.assert_array_equal(shown, np.floor(want * 255 + 0.5).astype(np.uint8))
    linear = apply_window(img.pixels, *img.window)
    assert np.abs(shown.astype(int) - linear).max() > 40  # a gamma curve, not the linear window
    np.testing.assert_array_equal(apply_window(img.pixels, 2000, 2999, lut=img.voi_lut),
                                  apply_window(img.pixels, 2000, 2999))  # another window: linear
    png = write_png(tmp_path / "cr.png", img.pixels, *img.window, source=img)
    with Image.open(png) as im:
        np.testing.assert_array_equal(np.asarray(im), shown)
        assert im.text["Window"] == "the source's VOI LUT"

    both = read_image(_cr_with_voi_lut(tmp_path / "both.dcm", lut_data=table,
                                       descriptor=(3000, 500, 12), windows=True, ow=ow))
    assert both.window == (2000.0, 1000.0) and both.windows[-1][:2] == (2000.0, 3000.0)


def test_an_inconsistent_voi_lut_is_reported_not_applied(tmp_path):
    img = read_image(_cr_with_voi_lut(tmp_path / "short.dcm", lut_data=range(100),
                                      descriptor=(3000, 0, 12)))
    assert img.voi_lut is None
    assert any("VOILUTSequence" in w and "inconsistent" in w for w in img.warnings)
    assert img.window[1] > 0  # an automatic window instead
    # a 16-bit descriptor over 12-bit entries (a common mislabel) is read as 12-bit
    odd = read_image(_cr_with_voi_lut(tmp_path / "odd.dcm", lut_data=np.linspace(0, 4095, 4096),
                                      descriptor=(4096, 0, 16)))
    assert odd.voi_lut.table.max() == 1.0


def test_per_frame_voi_lut_of_an_enhanced_object(tmp_path):
    """Frame VOI LUT With LUT macro (PS3.3 C.7.6.16.2.10b): each frame shows its own table."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    def lut_item(gamma: float) -> Dataset:
        item = Dataset()
        item.LUTDescriptor = [4096, 0, 12]
        item.LUTExplanation = f"GAMMA {gamma:g}"
        item.add_new(0x00283006, "US",
                     [int(v) for v in np.round(4095 * np.linspace(0, 1, 4096) ** gamma)])
        return item

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage
    ds.SOPInstanceUID, ds.StudyInstanceUID = generate_uid(), generate_uid()
    ds.SeriesInstanceUID, ds.Modality = generate_uid(), "DX"
    ds.PerFrameFunctionalGroupsSequence = Sequence([])
    for gamma in (0.5, 2.0):
        frame_group = Dataset()
        voi = Dataset()
        voi.VOILUTSequence = Sequence([lut_item(gamma)])
        frame_group.FrameVOILUTSequence = Sequence([voi])
        ds.PerFrameFunctionalGroupsSequence.append(frame_group)
    frames = np.stack([np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)] * 2)
    ds.set_pixel_data(frames, "MONOCHROME2", 12)
    ds.save_as(tmp_path / "mf.dcm", enforce_file_format=True)

    first, second = (read_image(tmp_path / "mf.dcm", frame=k) for k in (0, 1))
    assert first.voi_lut.explanation == "GAMMA 0.5" and second.voi_lut.explanation == "GAMMA 2"
    assert first.window == first.voi_lut.window and not first.warnings
    mid = np.array([[2048.0]])
    assert first.voi_lut.apply(mid)[0, 0] == round(255 * 0.5 ** 0.5)  # uint8 display values
    assert second.voi_lut.apply(mid)[0, 0] == round(255 * 0.25)
    # a derived instance of frame 2 keeps frame 2's table, at the top level
    from app.io import write_dicom_derived
    write_dicom_derived(tmp_path / "d.dcm", second, np.kron(second.pixels, np.ones((2, 2))),
                        scale=2, method="bicubic")
    back = read_image(tmp_path / "d.dcm")
    assert back.voi_lut is not None and back.voi_lut.explanation == "GAMMA 2"


def test_a_decoder_panic_is_a_corrupt_file_error(tmp_path, pydicom_file):
    """pylibjpeg-rle panics (pyo3 PanicException, a BaseException) on some damaged RLE data:
    still a readable CorruptFileError, never a crash."""
    data = bytearray(pydicom_file("MR_small_RLE.dcm").read_bytes())
    data[3600:3616] = bytes(16)
    (tmp_path / "bad.dcm").write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="could not be decoded"):
        read_image(tmp_path / "bad.dcm")


def test_what_a_raster_loses_on_reading_is_noted(tmp_path):
    """Transparency, samples beyond RGB + alpha and integers beyond float32's exact range are
    said (the viewer's header and diagnostics list an image's notes); an opaque alpha is not."""
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "opaque.png")
    assert read_image(tmp_path / "opaque.png").warnings == []
    rgba[0, :3, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "holes.png")
    img = read_image(tmp_path / "holes.png")
    assert img.pixels.shape == (8, 8) and img.warnings == [
        "transparency (alpha) left out: 3 partly or fully transparent pixel(s) are shown with "
        "their stored values"]
    tifffile.imwrite(tmp_path / "five.tif", np.full((8, 8, 5), 65535, np.uint16),
                     photometric="rgb", extrasamples=[2, 0])
    assert read_image(tmp_path / "five.tif").warnings == [
        "1 sample(s) per pixel beyond RGB and alpha left out"]
    tifffile.imwrite(tmp_path / "deep.tif", np.full((8, 8), 2 ** 25 + 1, np.uint32))
    assert "2^24" in read_image(tmp_path / "deep.tif").warnings[0]
    tifffile.imwrite(tmp_path / "exact.tif", np.full((8, 8), 2 ** 24, np.uint32))
    assert read_image(tmp_path / "exact.tif").warnings == []


def test_a_pet_image_s_values_carry_its_units(tmp_path):
    """PET values (after the rescale) are in the series' Units (0054,1001): BQML, GML (SUV)…"""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, PositronEmissionTomographyImageStorage

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = PositronEmissionTomographyImageStorage
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.Modality, ds.Units = "PT", "BQML"
    ds.RescaleSlope, ds.RescaleIntercept = 2.5, 0
    ds.set_pixel_data(np.full((8, 8), 400, np.uint16), "MONOCHROME2", 16)
    ds.save_as(tmp_path / "pt.dcm", enforce_file_format=True)
    img = read_image(tmp_path / "pt.dcm")
    assert img.value_unit == "BQML" and float(img.pixels[0, 0]) == 1000.0


def test_a_colour_tiff_read_at_fewer_bits_says_so(tmp_path, monkeypatch):
    """Where tifffile cannot decode a compression (no imagecodecs) Pillow reads the file, and
    keeps 8 bits of a 16-bit colour TIFF: the image says so. A TIFF without pages is named."""
    rgb = np.full((8, 8, 3), 26007, np.uint16)
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb, photometric="rgb")

    def no_codec(self, *a, **k):
        raise ValueError("requires the 'imagecodecs' package")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", no_codec)
    img = read_image(tmp_path / "rgb16.tif")
    assert any("read at 8 bits per sample of 16" in w for w in img.warnings)
    (tmp_path / "empty.tif").write_bytes(b"II*\0\0\0\0\0")
    with pytest.raises(CorruptFileError, match="holds no image page"):
        read_image(tmp_path / "empty.tif")


def test_overlay_planes_are_placed_at_their_origin_and_cut_to_the_image(tmp_path):
    """A 4 × 4 overlay plane at Overlay Origin (7, 7) (1-based row, column) on an 8 × 8 image:
    its top-left 2 × 2 lies on the image, the rest is cut off."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.pixels import pack_bits
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = CTImageStorage, generate_uid(), "CT"
    ds.set_pixel_data(np.zeros((8, 8), np.uint16), "MONOCHROME2", 12)
    ds.add_new(0x60000010, "US", 4)
    ds.add_new(0x60000011, "US", 4)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [7, 7])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", pack_bits(np.ones(16, np.uint8)))
    ds.save_as(tmp_path / "ov.dcm", enforce_file_format=True)
    mask = read_image(tmp_path / "ov.dcm").overlay
    expected = np.zeros((8, 8), bool)
    expected[6:, 6:] = True
    assert mask is not None and np.array_equal(mask, expected)
