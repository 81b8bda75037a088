"""rmisr-sr (app.cli): batch runs, per-file errors, exit codes, and the demo."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from app import _cli_run, cli
from app.io import SAMPLE_PATH, read_image


def _run(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), [ln for ln in err.splitlines() if ln.strip()]


def test_ct_sample_bicubic_writes_derived_dicom(tmp_path, capsys):
    code, out, err = _run(capsys, SAMPLE_PATH, "-o", tmp_path / "out", "--scale", "2.5",
                          "--method", "bicubic", "--roi", "288,224,64,48")
    assert code == 0, err
    target = tmp_path / "out" / "sample_ct_chest_SRx2.5_bicubic.dcm"
    assert out == [str(target)]
    # bicubic overshoot in air is clipped to the lowest value the CT's format stores: said, once
    assert err == ["rmisr-sr: note: sample_ct_chest_SRx2.5_bicubic.dcm: 257 computed value(s) "
                   "below -1024 and 0 above 3071, the range the source's pixel format stores, "
                   "were clipped to it"]
    src = pydicom.dcmread(SAMPLE_PATH)
    ds = pydicom.dcmread(target)
    assert (ds.Rows, ds.Columns) == (120, 160)
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx(
        [float(v) / 2.5 for v in src.PixelSpacing])
    assert ds.SOPInstanceUID != src.SOPInstanceUID
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID
    assert ds.StudyInstanceUID == src.StudyInstanceUID
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert "Bicubic" in ds.DerivationDescription and "x=288 y=224 w=64 h=48" in \
        ds.DerivationDescription
    hu = read_image(target).pixels
    assert -1024 <= hu.min() and hu.max() < 3072  # HU, not stored values
    # the ROI is resized in its context: the region of the whole image's result, not of the
    # crop's (whose edges are mirrored)
    from models import SuperResolver

    whole = read_image(SAMPLE_PATH).pixels
    region = SuperResolver("cpu").upscale(whole, 2.5, "bicubic")[560:680, 720:880]
    alone = SuperResolver("cpu").upscale(whole[224:272, 288:352], 2.5, "bicubic")
    stored = (region > -1024) & (region < 3071)  # elsewhere clipped to the stored range
    assert stored.mean() > 0.9
    assert np.abs(hu - region)[stored].max() <= 0.5 + 1e-3  # rounded to whole stored values
    assert np.abs(hu - alone)[stored].max() > 2


def test_slices_of_one_series_give_one_derived_series(tmp_path, capsys, pydicom_file):
    from pydicom.uid import generate_uid

    inputs = []
    for k in (1, 2):  # two slices of the sample's series
        ds = pydicom.dcmread(SAMPLE_PATH)
        ds.SOPInstanceUID, ds.InstanceNumber = generate_uid(), k
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(tmp_path / f"slice{k}.dcm", enforce_file_format=True)
        inputs.append(tmp_path / f"slice{k}.dcm")
    inputs.append(pydicom_file("CT_small.dcm"))  # another series
    code, out, err = _run(capsys, *inputs, "-o", tmp_path / "out", "--scale", "2",
                          "--method", "bicubic", "--roi", "0,0,32,32")
    assert code == 0, err
    a, b, other = (pydicom.dcmread(p) for p in out)
    assert a.SeriesInstanceUID == b.SeriesInstanceUID != other.SeriesInstanceUID
    assert a.SeriesInstanceUID != pydicom.dcmread(SAMPLE_PATH).SeriesInstanceUID
    assert (a.InstanceNumber, b.InstanceNumber) == (1, 2)
    assert a.SOPInstanceUID != b.SOPInstanceUID


def test_one_bad_file_among_good_ones(tmp_path, capsys, pydicom_file):
    good_dcm = tmp_path / "in" / "ct.dcm"
    good_dcm.parent.mkdir()
    shutil.copy(pydicom_file("CT_small.dcm"), good_dcm)
    bad = tmp_path / "in" / "notes.png"
    bad.write_text("not an image\n")
    good_png = tmp_path / "in" / "grey.png"
    Image.fromarray((np.arange(20 * 30) % 256).astype(np.uint8).reshape(20, 30)).save(good_png)
    code, out, err = _run(capsys, good_dcm, bad, good_png, "-o", tmp_path / "out",
                          "--scale", "2", "--method", "bicubic")
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith(f"rmisr-sr: error: {bad}: ") and "not a PNG" in err[0]
    written = {Path(p).name for p in out}
    assert written == {"ct_SRx2_bicubic.dcm", "grey_SRx2_bicubic.png"}
    captioned = Image.open(tmp_path / "out" / "grey_SRx2_bicubic.png")
    assert captioned.size[0] == 240 and captioned.size[1] > 40  # image 60×40 + legible caption
    assert "computed, not acquired" in captioned.text["Description"]
    assert "image 60x40 at top left" in captioned.text["Caption"]
    code, out, err = _run(capsys, good_png, "-o", tmp_path / "raw", "--scale", "2",
                          "--method", "bicubic", "--no-caption")
    assert code == 0
    raw = Image.open(tmp_path / "raw" / "grey_SRx2_bicubic.png")
    assert raw.size == (60, 40) and "Caption" not in raw.text
    assert np.array_equal(np.asarray(raw), np.asarray(captioned)[:40, :60])
    assert pydicom.dcmread(tmp_path / "out" / "ct_SRx2_bicubic.dcm").Rows == 256


def test_format_option_and_frame(tmp_path, capsys, pydicom_file):
    code, out, err = _run(capsys, pydicom_file("rtdose.dcm"), "-o", tmp_path, "--scale", "2",
                          "--method", "bicubic", "--frame", "4", "--format", "tiff")
    assert code == 0, err
    assert out == [str(tmp_path / "rtdose_f4_SRx2_bicubic.tiff")]  # frames never collide
    assert err == ["rmisr-sr: note: rtdose.dcm: frame 4 of 15 (0-based; --frame chooses "
                   "another, --all-frames takes every one)"]
    back = read_image(out[0])
    assert back.pixels.shape == (20, 20)
    code, _, err = _run(capsys, pydicom_file("rtdose.dcm"), "-o", tmp_path, "--scale", "2",
                        "--method", "bicubic", "--frame", "40", "--overwrite")
    assert code == 1 and len(err) == 1 and "frame 40 does not exist" in err[0]


def test_existing_output_needs_overwrite(tmp_path, capsys, pydicom_file):
    args = [pydicom_file("MR_small.dcm"), "-o", tmp_path, "--scale", "1.5", "--method",
            "bicubic"]
    assert _run(capsys, *args)[0] == 0
    target = tmp_path / "MR_small_SRx1.5_bicubic.dcm"
    before = target.read_bytes()
    code, out, err = _run(capsys, *args)
    assert code == 1 and out == [] and "--overwrite" in err[0]
    assert target.read_bytes() == before
    assert _run(capsys, *args, "--overwrite")[0] == 0


def test_same_output_name_twice_in_one_run(tmp_path, capsys, pydicom_file):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        shutil.copy(pydicom_file("MR_small.dcm"), tmp_path / d / "mr.dcm")
    code, out, err = _run(capsys, tmp_path / "a" / "mr.dcm", tmp_path / "b" / "mr.dcm",
                          "-o", tmp_path / "out", "--scale", "2", "--method", "bicubic",
                          "--overwrite")
    assert code == 1 and len(out) == 1 and len(err) == 1 and "same name" in err[0]


def test_roi_outside_image_is_a_file_error(tmp_path, capsys, pydicom_file):
    code, out, err = _run(capsys, pydicom_file("MR_small.dcm"), "-o", tmp_path, "--scale", "2",
                          "--method", "bicubic", "--roi", "50,50,30,30")
    assert code == 1 and out == [] and "not inside" in err[0]


@pytest.mark.parametrize("argv", [
    ["x.dcm", "-o", "OUT", "--method", "bicubic"],                     # no --scale
    ["x.dcm", "-o", "OUT", "--scale", "7", "--method", "bicubic"],     # scale out of range
    ["x.dcm", "-o", "OUT", "--scale", "2", "--method", "magic"],       # unknown method
    ["x.dcm", "-o", "OUT", "--scale", "2", "--method", "bicubic", "--roi", "1,2,3"],
    ["x.dcm", "--scale", "2", "--method", "bicubic"],                  # no -o
    ["-o", "OUT", "--scale", "2", "--method", "bicubic"],              # no inputs
    ["x.dcm", "-o", "OUT", "--scale", "2", "--method", "bicubic", "--frame", "-1"],
])
def test_usage_errors_exit_2(tmp_path, capsys, argv):
    argv = [str(tmp_path / "OUT") if a == "OUT" else a for a in argv]
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == [] and err
    assert not (tmp_path / "OUT").exists()


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "rmisr-sr" in capsys.readouterr().out


def test_method_without_weights_fails_clearly(tmp_path, capsys, monkeypatch, pydicom_file):
    class NoWeights:
        def available(self, method, scale):
            return method == "bicubic"

        def methods(self):
            return ["bicubic", "srcnn", "rmisr-bl", "rmisr-vp"]

        def unavailable_reason(self, method, scale):
            if self.available(method, scale):
                return ""
            return "has no trained weights for ×2.5; it is served at ×4"

    monkeypatch.setattr(_cli_run, "_make_resolver", lambda device, precision="auto": NoWeights())
    code, out, err = _run(capsys, pydicom_file("MR_small.dcm"), "-o", tmp_path, "--scale", "2.5",
                          "--method", "rmisr-vp")
    assert code == 1 and out == []
    assert err == ["rmisr-sr: error: RMISR-VP has no trained weights for ×2.5; it is served "
                   "at ×4; available at ×2.5: bicubic"]


def test_demo_writes_results_table_and_sheet(tmp_path, capsys, monkeypatch):
    real = _cli_run._make_resolver

    class BicubicOnly:  # keep the test fast whatever weights are installed
        def __init__(self, device, precision="auto"):
            self.sr = real(device, precision)

        def methods(self):
            return self.sr.methods()

        def available(self, method, scale):
            return method == "bicubic"

        def upscale(self, *args, **kwargs):
            return self.sr.upscale(*args, **kwargs)

    monkeypatch.setattr(_cli_run, "_make_resolver", BicubicOnly)
    code, out, err = _run(capsys, "--demo", tmp_path / "demo")
    assert code == 0, err
    demo = tmp_path / "demo"
    names = {p.name for p in demo.iterdir()}
    assert {"sample_ct_chest_SRx2.5_bicubic.png", "sample_ct_chest_SRx2.5_bicubic.dcm",
            "quality.md", "quality.csv", "sample_ct_chest_SRx2.5_comparison.png"} == names
    rows = list(csv.DictReader((demo / "quality.csv").open()))
    assert [r["method"] for r in rows] == ["bicubic"]
    assert float(rows[0]["data_consistency_psnr_db"]) > 30
    assert float(rows[0]["bias_vs_bicubic"]) == 0
    table = (demo / "quality.md").read_text()
    assert "| Bicubic |" in table and "computed, not acquired" in table
    assert "SRCNN" in table  # listed as not run
    sheet = Image.open(demo / "sample_ct_chest_SRx2.5_comparison.png")
    assert sheet.width >= 2 * 320 and "computed, not acquired" in sheet.text["Description"]
    derived = pydicom.dcmread(demo / "sample_ct_chest_SRx2.5_bicubic.dcm")
    assert (derived.Rows, derived.Columns) == (320, 320)


def test_a_network_that_fell_back_to_bicubic_says_so(tmp_path, capsys, monkeypatch,
                                                      pydicom_file):
    """A flat image gets bicubic pixels under a network's name: the note is printed and kept
    in the derived file's DerivationDescription."""
    from models import SuperResolver

    from ._engine import make_weights_dir

    weights = make_weights_dir(tmp_path / "w")
    monkeypatch.setattr(_cli_run, "_make_resolver",
                        lambda device, precision="auto": SuperResolver("cpu", weights))
    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    ds.PixelData = np.full((ds.Rows, ds.Columns), 300, dtype=ds.pixel_array.dtype).tobytes()
    ds.save_as(tmp_path / "flat.dcm")
    code, out, err = _run(capsys, tmp_path / "flat.dcm", "-o", tmp_path / "out", "--scale", "2",
                          "--method", "rmisr-bl")
    assert code == 0, err
    assert err == ["rmisr-sr: note: flat_SRx2_rmisr-bl.dcm: flat image: bicubic used"]
    assert "flat image: bicubic used" in pydicom.dcmread(out[0]).DerivationDescription


def test_padding_outside_the_scan_does_not_set_the_normalisation(tmp_path, capsys, monkeypatch):
    """A CT whose out-of-field pixels are PixelPaddingValue: the engine normalises by the
    measured values' range (ImageData.normalization_range), not by the padding's."""
    from models import SuperResolver

    from ._engine import make_weights_dir
    from .test_io_roi import _padded_ct

    sr = SuperResolver("cpu", make_weights_dir(tmp_path / "w"))
    monkeypatch.setattr(_cli_run, "_make_resolver", lambda device, precision="auto": sr)
    path, _ = _padded_ct(tmp_path)
    ds = pydicom.dcmread(path)
    a = ds.pixel_array.copy()
    a[a == 0] = 4000  # padding far above the tissue: it would squeeze the tissue's contrast
    ds.PixelData = a.tobytes()
    ds.PixelPaddingValue = 4000
    ds.save_as(path)
    img = read_image(path)
    assert img.normalization_range()[1] < 3000
    roi = (40, 200, 40, 40)  # across the field of view's edge
    code, out, err = _run(capsys, path, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "rmisr-bl", "--roi", ",".join(map(str, roi)), "--format", "tiff")
    assert code == 0, err
    written = read_image(out[0]).pixels
    from app.io.padding import engine_pixels, restore_padding
    expected = restore_padding(
        sr.upscale(engine_pixels(img), 2, "rmisr-bl", roi=roi, window=img.window,
                   value_range=img.normalization_range(), modality=img.modality), img, roi, 2)
    squeezed = restore_padding(  # padding's 4000 HU in the min–max: the tissue squeezed
        sr.upscale(img.pixels, 2, "rmisr-bl", roi=roi, window=img.window,
                   modality=img.modality), img, roi, 2)
    assert np.abs(written - expected).max() <= 0.5 + 1e-3
    assert np.abs(written - squeezed).max() > 2
    # the derived DICOM says what range the network saw (reproducible)
    code, out, err = _run(capsys, path, "-o", tmp_path / "dcm", "--scale", "2", "--method",
                          "rmisr-bl", "--roi", ",".join(map(str, roi)))
    lo, hi = img.normalization_range()
    desc = pydicom.dcmread(out[0]).DerivationDescription
    assert f"Network input normalised (range) from {lo:.6g} to {hi:.6g} HU;" in desc
    # and the arithmetic it ran in (fp32 for CT; where the CPU has native bf16 the description
    # also says why automatic precision kept fp32)
    assert "Network arithmetic fp32" in desc


def test_padding_stays_padding_in_the_derived_file(tmp_path, capsys):
    """Out-of-field pixels are written as the source's PixelPaddingValue (nearest source pixel),
    and no computed pixel takes that value: a viewer reading the derived file masks the same
    area."""
    from .test_io_roi import _padded_ct

    path, outside = _padded_ct(tmp_path)  # padding 0 = the lowest stored value
    roi = (30, 180, 50, 60)
    code, out, err = _run(capsys, path, "-o", tmp_path / "out", "--scale", "2.5", "--method",
                          "bicubic", "--roi", ",".join(map(str, roi)))
    assert code == 0, err
    ds = pydicom.dcmread(out[0])
    assert ds.PixelPaddingValue == 0 and "PixelPaddingRangeLimit" not in ds
    derived = read_image(out[0])
    x, y, w, h = roi
    rows = np.floor((np.arange(ds.Rows) + 0.5) / 2.5).astype(int) + y
    cols = np.floor((np.arange(ds.Columns) + 0.5) / 2.5).astype(int) + x
    expected = outside[np.ix_(rows, cols)]
    assert 0 < expected.mean() < 1
    assert derived.padding is not None and np.array_equal(derived.padding, expected)
    assert (ds.pixel_array[~expected] > 0).all()


def test_a_folder_gives_its_images_subfolders_included(tmp_path, capsys, pydicom_file):
    """A CD's layout: extension-less DICOM files in subfolders, a DICOMDIR index and a text
    file beside them; the images are processed, the rest skipped without an error."""
    import shutil

    cd = tmp_path / "cd"
    (cd / "DICOM" / "S1").mkdir(parents=True)
    shutil.copy(pydicom_file("CT_small.dcm"), cd / "DICOM" / "S1" / "IM000001")
    shutil.copy(pydicom_file("MR_small.dcm"), cd / "DICOM" / "S1" / "IM000002")
    shutil.copy(pydicom_file("DICOMDIR"), cd / "DICOMDIR")
    (cd / "README.TXT").write_text("patient CD")
    code, out, err = _run(capsys, cd, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "bicubic")
    assert code == 0 and err == [], err
    assert [Path(p).name for p in out] == ["IM000001_SRx2_bicubic.dcm",
                                           "IM000002_SRx2_bicubic.dcm"]
    (tmp_path / "empty").mkdir()
    code, out, err = _run(capsys, tmp_path / "empty", "-o", tmp_path / "out2", "--scale", "2",
                          "--method", "bicubic")
    assert code == 1 and out == [] and err == [f"rmisr-sr: error: {tmp_path / 'empty'}: no "
                                               "image files in this folder"]


def test_all_frames_of_a_multiframe_file(tmp_path, capsys, pydicom_file):
    code, out, err = _run(capsys, pydicom_file("rtdose.dcm"), "-o", tmp_path, "--scale", "2",
                          "--method", "bicubic", "--all-frames", "--format", "tiff")
    assert code == 0 and err == [], err
    assert [Path(p).name for p in out] == [f"rtdose_f{k}_SRx2_bicubic.tiff" for k in range(15)]
    code, out, err = _run(capsys, pydicom_file("CT_small.dcm"), "-o", tmp_path / "one", "--scale",
                          "2", "--method", "bicubic", "--all-frames")
    assert code == 0 and [Path(p).name for p in out] == ["CT_small_SRx2_bicubic.dcm"]


def test_a_file_given_twice_runs_once_and_frame_with_all_frames_is_refused(tmp_path, capsys,
                                                                          pydicom_file):
    src = pydicom_file("CT_small.dcm")
    code, out, err = _run(capsys, src, src, "-o", tmp_path / "o", "--scale", "2", "--method",
                          "bicubic")
    assert code == 0 and [Path(p).name for p in out] == ["CT_small_SRx2_bicubic.dcm"]
    assert any("given more than once" in line for line in err)
    code, out, err = _run(capsys, pydicom_file("rtdose.dcm"), "-o", tmp_path / "f", "--scale",
                          "2", "--method", "bicubic", "--all-frames", "--frame", "3")
    assert code == 2 and out == [] and "leave --frame out" in err[-1]


def test_two_folders_of_one_layout_are_mirrored_apart(tmp_path, capsys, pydicom_file):
    """Two CDs (or two patients' folders) with the same names inside: each folder's results go
    under its own name (every file of the second one collided with the first's)."""
    for cd in ("cdA", "cdB"):
        (tmp_path / cd / "SE0").mkdir(parents=True)
        shutil.copy(pydicom_file("CT_small.dcm"), tmp_path / cd / "SE0" / "IM0")
    code, out, err = _run(capsys, tmp_path / "cdA", tmp_path / "cdB", "-o", tmp_path / "out",
                          "--scale", "2", "--method", "bicubic")
    assert code == 0, err
    assert sorted(Path(p).relative_to(tmp_path / "out").as_posix() for p in out) == [
        "cdA/SE0/IM0_SRx2_bicubic.dcm", "cdB/SE0/IM0_SRx2_bicubic.dcm"]
    for cd in ("cd1", "cd2"):  # two CDs mounted side by side: both folders are called DICOM
        (tmp_path / cd / "DICOM").mkdir(parents=True)
        shutil.copy(pydicom_file("CT_small.dcm"), tmp_path / cd / "DICOM" / "IM0")
    code, out, err = _run(capsys, tmp_path / "cd1" / "DICOM", tmp_path / "cd2" / "DICOM", "-o",
                          tmp_path / "out2", "--scale", "2", "--method", "bicubic")
    assert code == 0, err
    assert sorted(Path(p).relative_to(tmp_path / "out2").as_posix() for p in out) == [
        "DICOM-2/IM0_SRx2_bicubic.dcm", "DICOM/IM0_SRx2_bicubic.dcm"]


def test_a_cds_series_and_uid_named_files_keep_apart(tmp_path, capsys, pydicom_file):
    """DICOM/ST0/SE0/IM0 and DICOM/ST0/SE1/IM0 write to out/ST0/SE0 and out/ST0/SE1 (the
    folders mirrored); UID-named files keep their whole name (a UID's last part is no
    extension); a preamble-less DICOM file in the folder counts as an image, as it does alone."""
    cd = tmp_path / "cd"
    for series in ("SE0", "SE1"):
        (cd / "ST0" / series).mkdir(parents=True)
        for k in range(2):
            shutil.copy(pydicom_file("CT_small.dcm"), cd / "ST0" / series / f"IM{k}")
    uid = tmp_path / "cd" / "uid"
    uid.mkdir()
    for last in ("12322", "12323"):
        shutil.copy(pydicom_file("MR_small.dcm"), uid / f"1.3.6.1.4.1.5962.1.1.1.{last}")
    bare = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    bare.preamble = None
    del bare.file_meta
    bare.save_as(uid / "bare", enforce_file_format=False)
    code, out, err = _run(capsys, cd, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "bicubic")
    assert code == 0 and err == [], err
    rel = sorted(str(Path(p).relative_to(tmp_path / "out")) for p in out)
    assert rel == ["ST0/SE0/IM0_SRx2_bicubic.dcm", "ST0/SE0/IM1_SRx2_bicubic.dcm",
                   "ST0/SE1/IM0_SRx2_bicubic.dcm", "ST0/SE1/IM1_SRx2_bicubic.dcm",
                   "uid/1.3.6.1.4.1.5962.1.1.1.12322_SRx2_bicubic.dcm",
                   "uid/1.3.6.1.4.1.5962.1.1.1.12323_SRx2_bicubic.dcm",
                   "uid/bare_SRx2_bicubic.dcm"]


def test_an_input_is_never_overwritten_and_earlier_results_are_not_inputs(tmp_path, capsys,
                                                                          pydicom_file):
    """A rerun into a folder inside the input folder skips what it wrote; an input named like
    another input's result is refused, --overwrite or not."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(pydicom_file("MR_small.dcm"), src / "a.dcm")
    args = ["-o", src / "out", "--scale", "2", "--method", "bicubic"]
    assert _run(capsys, src, *args)[0] == 0
    code, out, err = _run(capsys, src, *args, "--overwrite")
    assert code == 0 and len(out) == 1 and "1 earlier result(s) of rmisr-sr skipped" in err[0]
    beside = ["-o", src, "--scale", "2", "--method", "bicubic"]  # results beside the sources
    assert _run(capsys, src, *beside)[0] == 0 and (src / "a_SRx2_bicubic.dcm").exists()
    code, out, err = _run(capsys, src, *beside, "--overwrite")
    assert code == 0 and len(out) == 1 and "earlier result(s)" in err[0]  # not SR of SR
    (src / "a_SRx2_bicubic.dcm").unlink()
    # results in a folder above the input folder ("cd parent; rmisr-sr in -o ."): the inputs
    # are inputs, not earlier results
    code, out, err = _run(capsys, src, "-o", tmp_path, "--scale", "2", "--method", "bicubic")
    assert code == 0 and out == [str(tmp_path / "a_SRx2_bicubic.dcm")], err

    shutil.copy(pydicom_file("CT_small.dcm"), src / "a_SRx2_bicubic.dcm")
    before = (src / "a_SRx2_bicubic.dcm").read_bytes()
    code, out, err = _run(capsys, src / "a.dcm", src / "a_SRx2_bicubic.dcm", "-o", src,
                          "--scale", "2", "--method", "bicubic", "--overwrite")
    assert code == 1 and "is an input of this run" in err[0]
    assert (src / "a_SRx2_bicubic.dcm").read_bytes() == before


def _bicubic_only(cli_module):
    """A resolver that offers bicubic only (fast whatever weights are installed)."""
    real = cli_module._make_resolver

    class BicubicOnly:
        def __init__(self, *args):
            self.sr = real(*args)

        def methods(self):
            return self.sr.methods()

        def available(self, method, scale):
            return method == "bicubic"

        def unavailable_reason(self, method, scale):
            return "" if method == "bicubic" else "is not offered here"

        def upscale(self, *args, **kwargs):
            return self.sr.upscale(*args, **kwargs)

    return BicubicOnly


def test_a_run_writing_a_name_another_run_holds_is_refused(tmp_path, capsys, pydicom_file):
    """Two runs, one output name: the one that claims it first writes it; the other is told,
    even with --overwrite, and replaces nothing."""
    import threading

    from app.io import claim_output

    out = tmp_path / "out"
    out.mkdir()
    target = out / "MR_small_SRx1.5_bicubic.dcm"
    claimed, done = threading.Event(), threading.Event()

    def other_run() -> None:  # claims the name, then computes until told to stop
        with claim_output(target, overwrite=True):
            claimed.set()
            done.wait(30)

    other = threading.Thread(target=other_run)
    other.start()
    try:
        assert claimed.wait(10)
        code, lines, err = _run(capsys, pydicom_file("MR_small.dcm"), "-o", out, "--scale",
                                "1.5", "--method", "bicubic", "--overwrite")
    finally:
        done.set()
        other.join()
    assert code == 1 and lines == []
    assert len(err) == 1 and str(target) in err[0] and "another writer" in err[0]
    assert not target.exists()
    assert sorted(p.name for p in out.iterdir()) == []  # no lock or .part left


def test_a_file_written_by_another_program_during_the_compute_is_kept(tmp_path, capsys,
                                                                      monkeypatch, pydicom_file):
    out = tmp_path / "out"
    target = out / "MR_small_SRx1.5_bicubic.dcm"
    Resolver = _bicubic_only(_cli_run)

    class Meanwhile(Resolver):
        def upscale(self, *args, **kwargs):
            target.write_bytes(b"the other program's result")  # checked before: absent
            return super().upscale(*args, **kwargs)

    monkeypatch.setattr(_cli_run, "_make_resolver", Meanwhile)
    code, lines, err = _run(capsys, pydicom_file("MR_small.dcm"), "-o", out, "--scale", "1.5",
                            "--method", "bicubic")
    assert code == 1 and lines == []
    assert len(err) == 1 and str(target) in err[0] and "left as it was" in err[0]
    assert target.read_bytes() == b"the other program's result"
    assert sorted(p.name for p in out.iterdir()) == [target.name]


def test_demo_never_replaces_files_without_overwrite(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_cli_run, "_make_resolver", _bicubic_only(_cli_run))
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "quality.md").write_text("my notes")
    (demo / "sample_ct_chest_SRx2.5_bicubic.png").write_bytes(b"mine")
    code, out, err = _run(capsys, "--demo", demo)
    assert code == 1 and out == []
    assert len(err) == 1 and "quality.md" in err[0] and "sample_ct_chest_SRx2.5_bicubic.png" \
        in err[0] and "--overwrite" in err[0]
    assert sorted(p.name for p in demo.iterdir()) == ["quality.md",
                                                      "sample_ct_chest_SRx2.5_bicubic.png"]
    assert (demo / "quality.md").read_text() == "my notes"
    code, out, err = _run(capsys, "--demo", demo, "--overwrite")
    assert code == 0, err
    assert (demo / "quality.md").read_text() != "my notes" and len(out) == 5
    assert not [p for p in demo.iterdir() if p.name.endswith((".part", ".lock"))]


@pytest.mark.parametrize("extra", [["--method", "bicubic"], ["--format", "tiff"],
                                   ["--ensemble"], ["--uncertainty-out", "u"], ["--frame", "1"],
                                   ["--no-caption"], ["-o", "x"]])
def test_demo_refuses_the_options_it_does_not_take(tmp_path, capsys, extra):
    """--demo runs every method into PNG and DICOM: an option it would ignore is a usage error
    (it was silently ignored, exit 0), before anything is written."""
    code, out, err = _run(capsys, "--demo", tmp_path / "demo", *extra)
    assert code == 2 and out == [] and "does not take " + extra[0].split()[0] in err[-1]
    assert not (tmp_path / "demo").exists()


def test_all_frames_of_a_file_with_phantom_frames_is_one_error(tmp_path, capsys, pydicom_file):
    ds = pydicom.dcmread(pydicom_file("rtdose.dcm"))
    ds.NumberOfFrames = 100_000  # the pixel data hold 15
    ds.save_as(tmp_path / "dose.dcm")
    code, out, err = _run(capsys, tmp_path / "dose.dcm", "-o", tmp_path / "out", "--scale", "2",
                          "--method", "bicubic", "--all-frames")
    assert code == 1 and out == []
    assert len(err) == 1 and "NumberOfFrames is 100,000" in err[0] and "6,000 bytes" in err[0]


def test_a_named_pipe_in_a_folder_is_skipped_with_a_note(tmp_path, capsys, pydicom_file):
    import os

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(pydicom_file("MR_small.dcm"), src / "mr.dcm")
    os.mkfifo(src / "pipe")
    code, out, err = _run(capsys, src, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "bicubic")
    assert code == 0 and out == [str(tmp_path / "out" / "mr_SRx2_bicubic.dcm")]
    assert err == [f"rmisr-sr: note: {src / 'pipe'}: skipped, a named pipe, not a regular file"]


def test_library_messages_become_notes_not_stray_stderr(tmp_path, capfd):
    """tifffile logs a damaged page chain; it is said once as rmisr-sr's own note."""
    import struct

    import tifffile

    tifffile.imwrite(tmp_path / "t.tif", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    data = bytearray((tmp_path / "t.tif").read_bytes())
    ifd = struct.unpack("<I", data[4:8])[0]
    n = struct.unpack("<H", data[ifd:ifd + 2])[0]
    data[ifd + 2 + 12 * n:ifd + 6 + 12 * n] = struct.pack("<I", 10 ** 8)  # next page: nowhere
    (tmp_path / "t.tif").write_bytes(bytes(data))
    code = cli.main([str(tmp_path / "t.tif"), "-o", str(tmp_path / "out"), "--scale", "2",
                     "--method", "bicubic", "--format", "tiff"])
    out, err = capfd.readouterr()
    assert code == 0
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == ["rmisr-sr: note: t.tif: tifffile reported: <tifffile.TiffPages @8> invalid "
                     "page offset 100000000"], err


def test_decoder_prints_are_captured_into_the_error(pydicom_file, capfd):
    from app.io import CorruptFileError

    with pytest.raises(CorruptFileError, match="the decoder reported: Invalid number of tiles"):
        read_image(pydicom_file("JPEG2000-embedded-sequence-delimiter.dcm"))
    assert capfd.readouterr().err == ""


def test_a_closed_stdout_is_not_a_failure_of_written_files(tmp_path, capsys, monkeypatch,
                                                           pydicom_file):
    import os
    import sys

    src = tmp_path / "in"
    src.mkdir()
    for k in range(3):
        shutil.copy(pydicom_file("MR_small.dcm"), src / f"mr{k}.dcm")
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # `| head -1` has gone
    pipe = os.fdopen(write_fd, "w")
    monkeypatch.setattr(sys, "stdout", pipe)
    try:
        code = cli.main([str(src), "-o", str(tmp_path / "out"), "--scale", "2", "--method",
                         "bicubic"])
    finally:
        monkeypatch.undo()
        try:
            pipe.close()
        except OSError:
            pass
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 141 and err == []  # quiet: no file reported as failed
    assert (tmp_path / "out" / "mr0_SRx2_bicubic.dcm").is_file()


def test_sigterm_during_a_png_write_leaves_no_part_file(tmp_path, capsys, monkeypatch,
                                                        pydicom_file):
    import os
    import signal

    from PIL import Image as PILImage

    real_save = PILImage.Image.save

    def save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        return real_save(self, fp, *args, **kwargs)

    import time

    monkeypatch.setattr(PILImage.Image, "save", save)
    before = signal.getsignal(signal.SIGTERM)
    code = cli.main([str(pydicom_file("MR_small.dcm")), "-o", str(tmp_path / "out"), "--scale",
                     "2", "--method", "bicubic", "--format", "png"])
    err = capsys.readouterr().err
    assert code == 143 and "terminated" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []  # no .part, no lock
    assert signal.getsignal(signal.SIGTERM) == before
