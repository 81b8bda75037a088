"""app.io windowing: the DICOM linear VOI function, auto window, and presets as data."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.io import (DEFAULT_PRESETS_PATH, InvalidWindowError, WindowPreset, WindowPresetError,
                    apply_window, auto_window, load_window_presets, minmax_window, read_image)
from app.io.windowing import presets_for_modality


def _dicom_linear(x: float, c: float, w: float) -> float:
    """PS3.3 C.11.2.1.2 written out literally (ymin 0, ymax 255)."""
    if x <= c - 0.5 - (w - 1) / 2:
        return 0.0
    if x > c - 0.5 + (w - 1) / 2:
        return 255.0
    return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0


@pytest.mark.parametrize("c,w", [(40, 400), (-600, 1500), (0.5, 2), (1000, 1)])
def test_apply_window_matches_dicom_formula(c, w):
    x = np.linspace(c - w, c + w, 301)
    got = apply_window(x, c, w)
    want = np.floor(np.array([_dicom_linear(v, c, w) for v in x]) + 0.5)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, want.astype(np.uint8))


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
@pytest.mark.parametrize("c,w", [(40, 400), (-600, 1500), (100.5, 3)])
def test_voi_functions_match_pydicom(function, c, w):
    """PS3.3 C.11.2.1.2–3 as pydicom implements them (its output range 0–255 for an unsigned
    8-bit image): an independent check of every VOI LUT function."""
    from pydicom import Dataset
    from pydicom.pixels import apply_windowing

    ds = Dataset()
    ds.BitsStored, ds.PixelRepresentation, ds.PhotometricInterpretation = 8, 0, "MONOCHROME2"
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = c, w, function
    x = np.linspace(c - 1.5 * w, c + 1.5 * w, 401)
    want = np.floor(apply_windowing(x.copy(), ds) + 0.5)
    got = apply_window(x, c, w, function=function.lower())
    assert np.abs(got.astype(float) - want).max() <= (1 if function == "LINEAR" else 0)
    if function == "SIGMOID":  # never saturates, and the centre is mid-grey
        assert 0 < got.min() and got.max() < 255 and apply_window(np.array([c]), c, w,
                                                                   function=function)[0] == 128
    with pytest.raises(InvalidWindowError, match="unknown VOI LUT function 'GAMMA'"):
        apply_window(x, c, w, function="GAMMA")


def test_voi_label_names_the_mapping_shown():
    from app.io import VoiLut, voi_label

    assert voi_label(40, 400, "HU") == "W 400 / L 40 HU"
    assert voi_label(50, 300, "", "sigmoid") == "W 300 / L 50 (sigmoid)"
    lut = VoiLut(0.0, np.linspace(0, 1, 100), "GAMMA")
    assert voi_label(*lut.window, "", "LINEAR", lut) == "VOI LUT GAMMA"
    assert voi_label(40, 100, "", "LINEAR", lut) == "W 100 / L 40"


def test_apply_window_invert_and_colour():
    x = np.array([[-2000.0, -600.0, 3000.0]])
    np.testing.assert_array_equal(apply_window(x, -600, 1500), [[0, 128, 255]])
    np.testing.assert_array_equal(apply_window(x, -600, 1500, invert=True), [[255, 127, 0]])
    rgb = np.dstack([np.arange(256.0)] * 3).reshape(16, 16, 3)
    np.testing.assert_array_equal(apply_window(rgb, 128, 256), rgb.astype(np.uint8))


def test_apply_window_small_float_width_and_bad_windows():
    x = np.array([0.0, 0.25, 0.5])
    np.testing.assert_array_equal(apply_window(x, 0.25, 0.5), [0, 128, 255])
    for c, w in ((0, 0), (0, -5), (np.nan, 10), (0, np.inf)):
        with pytest.raises(InvalidWindowError):
            apply_window(x, c, w)


def test_auto_window_percentiles_and_fallbacks():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 1000, size=(200, 200)).astype(np.float32)
    img[0, 0], img[0, 1] = -30000, 30000  # outliers must not drive the window
    c, w = auto_window(img)
    assert -50 < c - w / 2 < 20 and 980 < c + w / 2 < 1050
    assert auto_window(np.full((5, 5), 7.0))[1] > 0  # constant image: width never 0
    spikes = np.zeros((100, 100))
    spikes[0, 0] = 50  # percentiles coincide → min–max
    c, w = auto_window(spikes)
    assert c - w / 2 <= 0 and c + w / 2 >= 50
    assert minmax_window(np.array([[np.nan, 1.0, 3.0]])) == (2.5, 3.0)


def test_default_presets_file():
    presets = {p.name: p for p in load_window_presets()}
    assert DEFAULT_PRESETS_PATH.is_file()
    assert (presets["Lung"].center, presets["Lung"].width) == (-600, 1500)
    assert (presets["Mediastinum"].center, presets["Mediastinum"].width) == (50, 350)
    assert (presets["Brain"].center, presets["Brain"].width) == (40, 80)
    assert (presets["Abdomen"].center, presets["Abdomen"].width) == (40, 400)
    assert (presets["Bone"].center, presets["Bone"].width) == (400, 1800)
    assert all(p.source for p in presets.values())
    minmax = presets["Min–max"]
    assert minmax.mode == "minmax" and minmax.applies_to("MR") and not presets["Lung"].applies_to(
        "MR")
    assert minmax.resolve(np.array([10.0, 20.0])) == (15.5, 11.0)


def test_presets_for_modality_orders_specific_first():
    presets = load_window_presets()
    ct = presets_for_modality(presets, "CT")
    assert ct[0].name == "Lung" and ct[-1].modalities == ()
    assert all(not p.modalities for p in presets_for_modality(presets, "MR"))


def test_lung_preset_on_real_ct(shared_medical):
    img = read_image(shared_medical / "samples" / "default_ct_chest_lung.dcm")
    lung = next(p for p in load_window_presets() if p.name == "Lung")
    view = apply_window(img.pixels, *lung.resolve(img.pixels))
    assert img.pixels[0, 0] == -1024 and 50 <= view[0, 0] <= 60  # air is dark grey in lung W/L
    mediastinum = next(p for p in load_window_presets() if p.name == "Mediastinum")
    assert apply_window(img.pixels, *mediastinum.resolve())[0, 0] == 0  # and black here


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"),
    ('{"presets": 3}', "must be a list"),
    ('[{"center": 1, "width": 2}]', "name"),
    ('[{"name": "A", "center": "x", "width": 2}]', "'center' must be a number"),
    ('[{"name": "A", "center": 1, "width": 0}]', "width"),
    ('[{"name": "A", "mode": "magic"}]', "mode"),
    ('[{"name": "A", "center": 1, "width": 2, "modalities": "CT"}]', "modalities"),
    ('[{"name": "A", "center": 1, "width": 2}, {"name": "A", "center": 1, "width": 3}]',
     "duplicate"),
])
def test_malformed_user_presets_give_clear_errors(tmp_path, content, match):
    path = tmp_path / "presets.json"
    path.write_text(content)
    with pytest.raises(WindowPresetError, match=match) as info:
        load_window_presets(path)
    assert str(path) in str(info.value)


def test_user_presets_round_trip(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"presets": [{"name": "Liver", "center": 30, "width": 150,
                                             "modalities": ["ct"]}]}))
    assert load_window_presets(path) == [WindowPreset("Liver", 30.0, 150.0, ("CT",))]
    with pytest.raises(WindowPresetError, match="cannot read"):
        load_window_presets(tmp_path / "missing.json")


def _reference_window(pixels, c, w):
    """PS3.3 C.11.2.1.2 / C.11.2.1.3 written as in the standard (float64, both thresholds)."""
    x = np.asarray(pixels, dtype=np.float64)
    if w >= 1.0:
        y = ((x - (c - 0.5)) / (w - 1.0) + 0.5) if w > 1.0 else (x > c - 0.5).astype(np.float64)
        y = np.where(x <= c - 0.5 - (w - 1.0) / 2.0, 0.0, y)
        y = np.where(x > c - 0.5 + (w - 1.0) / 2.0, 1.0, y)
    else:
        y = (x - c) / w + 0.5
    y = np.nan_to_num(np.clip(y, 0.0, 1.0), nan=0.0) * 255.0
    return np.floor(y + 0.5).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint16])
def test_in_place_window_equals_the_standards_expression(dtype):
    rng = np.random.default_rng(7)
    centres = [40.0, -600.0, 0.5, 127.5, 584.9200747243775]  # the last: c − 0.5 not a float32
    widths = [1.0, 2.0, 400.0, 0.25, 0.999, 256.0]
    pairs = [(c, w) for c in centres for w in widths]
    pairs += [(rng.normal() * 500, rng.random() * 3000 + 0.01) for _ in range(20)]
    for c, w in pairs:
        x = np.concatenate([rng.normal(c, max(w, 1.0), 4000),
                            np.arange(np.floor(c - w) - 3, np.ceil(c + w) + 3)[:4000],
                            [c - 0.5, c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2]])
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            x = np.clip(np.round(x), info.min, info.max)
        else:
            x = np.concatenate([x, [np.nan, np.inf, -np.inf]])
        x = x.astype(dtype)
        assert np.array_equal(apply_window(x, c, w), _reference_window(x, c, w)), (c, w)
