"""The computed uncertainty map the viewer shows and ``rmisr-sr --uncertainty-out`` writes: one
numpy function (:func:`app.uncertainty_view.uncertainty_map`) equal to the evaluation's default
variant, and the project's one heat-map colour table (:mod:`app.io.heatmap`). Qt-free and
torch-free."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from app import uncertainty_view as uv
from app.io import heatmap, read_image


def _engine_uncertainty():
    """The engine's map variants, which the benchmark scores (models/inference/uncertainty.py)."""
    from models.inference import uncertainty

    return uncertainty


def _spread(shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.abs(rng.normal(0, 3, shape)).astype(np.float32)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (40, 33), (17, 12, 3)])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.3])
def test_gaussian_smooth_is_scipys_gaussian_filter(shape, sigma):
    a = _spread(shape)
    want = ndimage.gaussian_filter(a.astype(np.float64),
                                   (sigma, sigma) + (0.0,) * (a.ndim - 2), mode="nearest")
    got = uv.gaussian_smooth(a, sigma)
    assert got.shape == a.shape
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_gaussian_smooth_keeps_constants_and_total_and_leaves_degenerate_input():
    assert np.allclose(uv.gaussian_smooth(np.full((9, 5), 2.5)), 2.5)
    impulse = np.pad(np.ones((1, 1)), 6)
    smooth = uv.gaussian_smooth(impulse)
    assert smooth.sum() == pytest.approx(1.0) and smooth.max() < 0.2
    assert np.allclose(smooth, smooth.T) and smooth[6, 6] == smooth.max()
    assert uv.gaussian_smooth(np.zeros((0, 4))).shape == (0, 4)
    assert np.array_equal(uv.gaussian_smooth(np.arange(4.0)), np.arange(4.0))  # not an image


@pytest.mark.parametrize("shape", [(40, 33), (24, 20, 3)])
def test_the_viewers_map_is_the_evaluations_default_variant(shape):
    """What the panels show (and rmisr-sr writes) = the variant the benchmark measured best."""
    engine = _engine_uncertainty()
    assert engine.DEFAULT_VARIANT == uv.MAP_VARIANT
    spread = _spread(shape, 1)
    if spread.ndim == 3:  # the engine's colour spread: three equal channels
        spread = np.repeat(spread[..., :1], 3, axis=-1)
    got = uv.uncertainty_map(spread)
    want = engine.uncertainty_map(engine.DEFAULT_VARIANT, spread)
    if want.ndim == 3:
        want = want.mean(axis=-1)
    assert got.dtype == np.float32 and got.shape == shape[:2]
    assert np.allclose(got, want, rtol=1e-6, atol=1e-6)
    assert not np.allclose(got, spread if spread.ndim == 2 else spread[..., 0])  # smoothed
    assert uv.uncertainty_map(None) is None


def test_the_command_lines_map_is_the_viewers(tmp_path):
    """rmisr-sr --uncertainty-out writes uncertainty_map of the engine's spread, as the panels."""
    from app.batch import SliceResult, write_uncertainty_files

    src = tmp_path / "pic.png"
    Image.fromarray(np.arange(20 * 16, dtype=np.uint8).reshape(20, 16)).save(src)
    image = read_image(src)
    spread = _spread((40, 32), 2)
    result = SliceResult(np.zeros((40, 32), np.float32),
                         SimpleNamespace(uncertainty=spread, weights_sha256=None),
                         tmp_path / "out.png")
    tiff = tmp_path / "u.tiff"
    assert write_uncertainty_files(result, image, {"tiff": tiff}, 2.0, "rmisr-bl", None) == [tiff]
    want = uv.uncertainty_map(spread)
    got = read_image(tiff).pixels
    assert np.abs(got - want).max() <= float(want.max()) / 65535 + 1e-6
    # the viewer's export of that map writes the same values: it is not smoothed twice
    again = tmp_path / "again.tiff"
    uv.write_uncertainty(again, want, source=image, scale=2.0, roi=(0, 0, 16, 20),
                         method="rmisr-bl", fmt="tiff")
    assert np.array_equal(read_image(again).pixels, got)


def test_one_colour_table_for_every_heat_map():
    assert uv.INFERNO_ANCHORS is heatmap.INFERNO_ANCHORS and uv.colour_lut is heatmap.colour_lut
    assert not hasattr(heatmap, "INFERNO")  # the second table is gone
    lut = heatmap.colour_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert tuple(lut[0]) == heatmap.INFERNO_ANCHORS[0] == (0, 0, 4)
    assert tuple(lut[-1]) == heatmap.INFERNO_ANCHORS[-1] == (252, 255, 164)
    assert np.all(np.diff(lut @ np.array([0.299, 0.587, 0.114])) > 0)  # brighter = more
    values = np.array([[-1.0, np.nan, 0.0, 2.5], [5.0, 7.0, np.inf, 1e300]])
    rgb = heatmap.heat_colours(values, 5.0)
    assert np.array_equal(rgb, uv.colourize(values, 5.0))  # the viewer's = the figure's
    assert [tuple(c) for c in rgb[0]] == [tuple(lut[0])] * 3 + [tuple(lut[128])]
    assert all(tuple(c) == tuple(lut[-1]) for c in rgb[1])
    assert np.array_equal(heatmap.heat_colours(values, 0.0), np.broadcast_to(lut[0], rgb.shape))
    # the figure's colour bar and the viewer's are the same ramp
    ramp = np.linspace(0.0, 1.0, 256)
    assert np.array_equal(heatmap.heat_colours(ramp, 1.0), uv.colour_bar(256)[0])
    picture, top = heatmap.render_heat(np.outer(np.ones(64), np.linspace(0, 5, 64)), "HU")
    assert top == 5.0 and np.array_equal(picture[0, :64], heatmap.heat_colours(
        np.linspace(0, 5, 64), 5.0))


def test_the_map_and_its_colours_import_neither_qt_nor_torch():
    code = ("import sys, numpy as np; import app.uncertainty_view as uv, app.io.heatmap; "
            "uv.uncertainty_map(np.ones((8, 8), np.float32)); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PyQt5')); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stdout + done.stderr
