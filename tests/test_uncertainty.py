"""Uncertainty maps: the AUC and Spearman scores, the map variants, the evaluation command on a
tiny set, and rmisr-sr --ensemble / --uncertainty-out (untrained test weights)."""
from __future__ import annotations

from itertools import product
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from app import _cli_run, cli
from app.io import read_image
from models.inference.uncertainty import (DEFAULT_VARIANT, VARIANTS, auc_worst, features,
                                          fit_calibration, spearman, uncertainty_map)


def _pairwise_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """The AUC by its definition: P(score of a positive > score of a negative), ties ½."""
    pos, neg = score[positive], score[~positive]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_known_cases():
    error = np.arange(20.0)  # the worst 10 %: errors 18 and 19
    assert auc_worst(error, error) == 1.0  # the error ranks itself perfectly
    assert auc_worst(-error, error) == 0.0
    assert auc_worst(np.ones(20), error) == 0.5  # no information: ties count one half
    # a hand-worked case: positives score 5 and 1; of the 18 negatives 2 score above 1
    score = np.zeros(20)
    score[19], score[18], score[0], score[1] = 5.0, 1.0, 2.0, 3.0
    # positive 5 beats all 18; positive 1 beats the 16 zeros: (18 + 16) / 36
    assert auc_worst(score, error) == pytest.approx(34 / 36)


def test_auc_equals_the_pairwise_definition_with_ties():
    rng = np.random.default_rng(3)
    error = rng.random(200)
    score = np.round(error + rng.normal(0, 0.3, 200), 1)  # many ties
    positive = error >= np.quantile(error, 0.9)
    assert auc_worst(score, error) == pytest.approx(_pairwise_auc(score, positive))
    assert auc_worst(score, error, fraction=0.25) == pytest.approx(
        _pairwise_auc(score, error >= np.quantile(error, 0.75)))


def test_auc_refuses_and_says_nan():
    with pytest.raises(ValueError):
        auc_worst(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        auc_worst(np.ones(3), np.ones(3), fraction=1.0)
    assert np.isnan(auc_worst(np.arange(5.0), np.zeros(5)))  # every pixel "worst"


def test_spearman():
    x = np.arange(10.0)
    assert spearman(x, x ** 3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert np.isnan(spearman(x, np.ones(10)))


def test_variants_and_calibration():
    rng = np.random.default_rng(0)
    spread = rng.random((8, 8))
    sr = rng.random((8, 8))
    bic, other = sr + 0.1, sr - 0.3
    assert np.allclose(uncertainty_map("spread", spread), spread)
    assert np.allclose(uncertainty_map("bicubic-diff", spread, sr, bic), 0.1, atol=1e-6)
    assert np.allclose(uncertainty_map("method-diff", spread, sr, other=other), 0.3, atol=1e-6)
    smooth = uncertainty_map("spread-smooth", np.pad(np.ones((1, 1)), 3))
    assert smooth[3, 3] < 1 and smooth[3, 4] > 0  # spread to the neighbours
    colour = uncertainty_map("spread-smooth", np.repeat(np.pad(np.ones((1, 1)), 3)[..., None],
                                                        3, axis=-1))
    assert np.allclose(colour[..., 0], smooth) and np.allclose(colour[..., 2], smooth)
    # a calibration recovers the weights of an error made from the features
    bic, other = sr + rng.random((8, 8)), sr - rng.random((8, 8))
    f = features(spread, sr, bic, other)
    err = f @ np.array([2.0, 0.5, 0.0])
    coef = fit_calibration([(f, err)])
    assert coef == pytest.approx((2.0, 0.5, 0.0), abs=1e-9)
    cal = uncertainty_map("calibrated", spread, sr, bic, other, coef)
    assert np.allclose(cal, err.reshape(8, 8), atol=1e-5)
    for v in VARIANTS:
        if v != "spread" and v != "spread-smooth":
            with pytest.raises(ValueError):
                uncertainty_map(v, spread)
    with pytest.raises(ValueError):
        uncertainty_map("nonsense", spread)


def test_evaluation_command_on_a_tiny_set(tmp_path, capsys):
    """The command prints a row per set and scale with the ensemble's gain and each variant's
    AUC, from the engine's own ensemble (untrained weights, two small images)."""
    from models.evaluation import uncertainty_eval

    from ._engine import make_weights_dir

    weights = make_weights_dir(tmp_path / "w")
    data = tmp_path / "data"
    (data / "benchmark" / "Set5").mkdir(parents=True)
    (data / "train" / "T91").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(2):
        img = (rng.random((24, 20)) * 255).astype(np.uint8)
        Image.fromarray(img).save(data / "benchmark" / "Set5" / f"im{i}.png")
        Image.fromarray(img.T.copy()).save(data / "train" / "T91" / f"t{i}.png")
    out = tmp_path / "table.md"
    code = uncertainty_eval.main(["--data", str(data), "--sets", "Set5", "--scales", "2",
                                  "--weights-dir", str(weights), "--variant", "spread",
                                  "calibrated", "--fit-images", "1", "--out", str(out)])
    assert code == 0
    text = out.read_text()
    row = [ln for ln in text.splitlines() if ln.startswith("| RMISR-BL | Set5 | ×2 | 2 |")]
    assert len(row) == 1
    cells = [c.strip() for c in row[0].strip("|").split("|")]
    plain, ens, gain, auc = float(cells[4]), float(cells[5]), float(cells[6]), float(cells[7])
    assert gain == pytest.approx(ens - plain, abs=2e-3)
    assert 0.0 <= auc <= 1.0
    assert "calibrated RMISR-BL ×2 on 1 T91 images" in text
    assert "Mean AUC over the rows: spread" in text
    assert text == capsys.readouterr().out


# --- rmisr-sr ---------------------------------------------------------------------------------
@pytest.fixture
def engine(tmp_path, monkeypatch):
    from models import SuperResolver

    from ._engine import make_weights_dir

    sr = SuperResolver("cpu", make_weights_dir(tmp_path / "w"))
    monkeypatch.setattr(_cli_run, "_make_resolver", lambda device, precision="auto": sr)
    return sr


def _run(capsys, *argv) -> tuple[int, list[str], list[str]]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), [ln for ln in err.splitlines() if ln.strip()]


def _picture(path: Path) -> np.ndarray:
    img = np.add.outer(np.arange(20.0) * 9, np.arange(16.0) * 5) % 251
    img[5:9, 4:12] = 250
    Image.fromarray(img.astype(np.uint8)).save(path)
    return img


def test_ensemble_flag_gives_the_engine_ensemble(tmp_path, capsys, engine):
    src = tmp_path / "pic.png"
    img = _picture(src)
    code, out, err = _run(capsys, src, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "rmisr-bl", "--format", "tiff", "--ensemble")
    assert code == 0, err
    assert out == [str(tmp_path / "out" / "pic_SRx2_rmisr-bl.tiff")]
    got = read_image(out[0]).pixels
    mean = engine.upscale(img.astype(np.uint8), 2, "rmisr-bl", ensemble=True)
    plain = engine.upscale(img.astype(np.uint8), 2, "rmisr-bl")
    assert np.abs(got - mean).max() <= 0.51  # 16-bit TIFF of the 8-bit source's grid
    assert np.abs(got - plain).max() > 1  # not the plain run


def test_uncertainty_out_writes_png_and_tiff_for_a_raster(tmp_path, capsys, engine):
    src = tmp_path / "pic.png"
    img = _picture(src)
    code, out, err = _run(capsys, src, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "rmisr-bl", "--uncertainty-out", tmp_path / "unc")
    assert code == 0, err
    png = tmp_path / "unc" / "pic_SRx2_rmisr-bl_uncertainty.png"
    tiff = tmp_path / "unc" / "pic_SRx2_rmisr-bl_uncertainty.tiff"
    assert out == [str(tmp_path / "out" / "pic_SRx2_rmisr-bl.png"), str(png), str(tiff)]
    _, info = engine.upscale(img.astype(np.uint8), 2, "rmisr-bl", ensemble=True,
                             return_info=True)
    spread = read_image(tiff).pixels  # values in the image's units
    assert spread.shape == (40, 32)
    expected = uncertainty_map(DEFAULT_VARIANT, info.uncertainty)  # the measured default
    assert np.abs(spread - expected).max() <= expected.max() / 65535 + 1e-4
    assert spread.max() > 0
    with Image.open(png) as im:
        assert im.mode == "RGB" and im.size[0] >= 32 and im.size[1] > 40  # bar + caption below
        assert "uncertainty map" in im.text["Description"].lower()
    # a second run refuses to replace the maps without --overwrite; the result is refused first
    code, out, err = _run(capsys, src, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "rmisr-bl", "--uncertainty-out", tmp_path / "unc")
    assert code == 1 and out == [] and "--overwrite" in err[-1]


def test_a_result_whose_uncertainty_map_fails_is_not_kept(tmp_path, capsys, engine,
                                                          monkeypatch):
    """The result and the maps asked with it are published together or not at all: a map that
    cannot be written (disk full) takes back the result and the maps written before it."""
    from app import uncertainty_view

    src = tmp_path / "pic.png"
    _picture(src)
    real = uncertainty_view.write_uncertainty

    def full_disk(path, *a, **kw):
        if Path(path).suffix == ".tiff":
            raise OSError(28, "No space left on device")
        return real(path, *a, **kw)

    monkeypatch.setattr(uncertainty_view, "write_uncertainty", full_disk)
    code, out, err = _run(capsys, src, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "bicubic", "--uncertainty-out", tmp_path / "unc")
    assert code == 1 and out == []
    assert any("not kept" in line for line in err) and "No space left" in err[-1]
    assert list((tmp_path / "out").iterdir()) == [] and list((tmp_path / "unc").iterdir()) == []
    monkeypatch.setattr(uncertainty_view, "write_uncertainty", real)  # space again: runs
    code, out, err = _run(capsys, src, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "bicubic", "--uncertainty-out", tmp_path / "unc")
    assert code == 0 and len(out) == 3, err


def test_uncertainty_out_writes_a_secondary_capture_for_dicom(tmp_path, capsys, engine,
                                                              pydicom_file):
    src = pydicom_file("MR_small.dcm")
    code, out, err = _run(capsys, src, "-o", tmp_path / "out", "--scale", "2", "--method",
                          "rmisr-bl", "--uncertainty-out", tmp_path / "unc",
                          "--roi", "8,8,24,16")
    assert code == 0, err
    names = [Path(p).name for p in out]
    assert names == ["MR_small_SRx2_rmisr-bl.dcm", "MR_small_SRx2_rmisr-bl_uncertainty.png",
                     "MR_small_SRx2_rmisr-bl_uncertainty.tiff",
                     "MR_small_SRx2_rmisr-bl_uncertainty.dcm"]
    derived = pydicom.dcmread(out[0])
    assert "8 flipped/rotated runs" in derived.DerivationDescription
    ds = pydicom.dcmread(out[3])
    source = pydicom.dcmread(src)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert "uncertainty" in ds.SeriesDescription.lower()
    assert "uncertainty map" in ds.DerivationDescription.lower()
    assert ds.StudyInstanceUID == source.StudyInstanceUID  # files with its study
    assert ds.SeriesInstanceUID not in (source.SeriesInstanceUID, derived.SeriesInstanceUID)
    assert (ds.Rows, ds.Columns) == (32, 48)
    values = read_image(out[3]).pixels
    tiff = read_image(out[2]).pixels
    assert np.allclose(values, tiff, atol=float(tiff.max()) / 30000 + 1e-6)
    assert values.min() >= 0 and values.max() > 0


def test_earlier_uncertainty_maps_are_not_inputs(tmp_path, capsys, engine):
    folder = tmp_path / "in"
    folder.mkdir()
    _picture(folder / "pic.png")
    code, out, err = _run(capsys, folder, "-o", folder / "out", "--scale", "2", "--method",
                          "bicubic", "--uncertainty-out", folder / "unc")
    assert code == 0, err
    assert len(out) == 3
    code, out, err = _run(capsys, folder, "-o", tmp_path / "again", "--scale", "2",
                          "--method", "bicubic")
    assert code == 0, err
    assert out == [str(tmp_path / "again" / "pic_SRx2_bicubic.png")]
