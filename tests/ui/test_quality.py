"""app.quality: the quality panel's figures, headless (no Qt)."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app import quality

ROOT = Path(__file__).resolve().parents[2]


def _image(h=48, w=40, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    return (1000 * np.sin(x / 5.0) * np.cos(y / 7.0) + rng.normal(0, 20, (h, w)) - 300).astype(
        np.float32)


def test_quality_and_ui_package_import_neither_qt_nor_torch():
    """app.quality is Qt-free; importing app.quality or the app.ui package loads neither Qt nor
    torch (the engine loads lazily, on first use)."""
    code = ("import sys, app.quality, app.ui; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PyQt5', 'torch')]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


@pytest.mark.parametrize("scale", [2.0, 2.5, 3.5, 5.0])
def test_simulate_low_resolution_sizes(scale):
    from models import output_size

    roi = _image(47, 53)
    lr, ref = quality.simulate_low_resolution(roi, scale)
    hl, wl = math.floor(47 / scale), math.floor(53 / scale)
    assert lr.shape == (hl, wl)
    assert ref.shape == output_size(hl, wl, scale)  # the methods' output size
    assert np.array_equal(ref, roi[:ref.shape[0], :ref.shape[1]])


def test_simulate_low_resolution_too_small():
    with pytest.raises(ValueError, match="too small"):
        quality.simulate_low_resolution(_image(8, 8), 5.0)


def test_compute_quality_with_reference():
    from models.resize import imresize

    roi = _image()
    lr, ref = quality.simulate_low_resolution(roi, 2.0)
    bic = imresize(lr, 2.0, output_shape=ref.shape)
    report = quality.compute_quality({"bicubic": (bic, 0.01), "perfect": (ref, 0.5)}, lr, 2.0,
                                     ref, {"bicubic": "Bicubic", "perfect": "Oracle"}, "HU")
    assert report.has_reference and report.peak == pytest.approx(float(ref.max() - ref.min()))
    rows = {r.method: r for r in report.rows}
    assert math.isinf(rows["perfect"].psnr) and rows["perfect"].ssim == pytest.approx(1.0)
    assert 10 < rows["bicubic"].psnr < 60 and 0 < rows["bicubic"].ssim < 1
    assert rows["bicubic"].bias == 0.0
    assert rows["perfect"].residual.shape == lr.shape
    headers, body = report.table()
    assert headers[:3] == ["Method", "PSNR (dB)", "SSIM"] and body[1][1] == "∞"
    tsv = report.to_tsv()
    assert tsv.splitlines()[0].split("\t") == headers and "fidelity" in tsv
    assert headers[-1] == "Arithmetic" and [r[-1] for r in body] == ["fp64", "fp64"]
    named = quality.compute_quality({"bicubic": (bic, 0.01), "perfect": (ref, 0.5)}, lr, 2.0,
                                    ref, precisions={"perfect": "bf16", "bicubic": None})
    assert [r[-1] for r in named.table()[1]] == ["fp64", "bf16"]


def test_compute_quality_without_reference_colour():
    rgb = np.stack([_image(seed=i) for i in range(3)], axis=-1)
    from models.resize import imresize

    out = imresize(rgb, 2.5)
    report = quality.compute_quality({"bicubic": (out, None)}, rgb, 2.5)
    assert not report.has_reference
    keys = [c.key for c in report.columns()]
    assert "psnr" not in keys and "dc_psnr" in keys
    row = report.rows[0]
    assert row.dc_psnr > 25 and row.sharpness > 0 and row.entropy > 0
    assert quality.format_value(None, ".2f") == "—"
    # a colour result's figures are of its luminance: the note says so (a grey one's does not)
    assert quality.LUMINANCE_NOTE in report.note
    grey = quality.compute_quality({"bicubic": (imresize(rgb[..., 0], 2.5), None)},
                                   rgb[..., 0], 2.5)
    assert quality.LUMINANCE_NOTE not in grey.note


def test_derived_views():
    a, b = _image(), _image(seed=1)
    d = quality.difference_map(a, b)
    assert d.dtype == np.float32 and np.allclose(d, a - b)
    assert quality.difference_map(a, b[:10]) is None
    e = quality.edge_map(a)
    assert e.shape == a.shape and np.isfinite(e).all()
    c, w = quality.symmetric_window([d, None])
    assert c == 0 and w > 0
    assert quality.symmetric_window([np.zeros((3, 3))]) == (0.0, 2.0)
