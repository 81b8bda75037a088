"""Metric code reproduces the SR literature's published bicubic figures.

The protocol: docs/design.md, "Evaluation protocol".
"""
from pathlib import Path

import numpy as np
import pytest

from models import metrics
from models.evaluation.benchmark import evaluate_folder, make_pair
from models.resize import imresize

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmark"
needs_data = pytest.mark.skipif(not BENCH.is_dir(), reason="../shared/data/benchmark not present")


@needs_data
@pytest.mark.parametrize("set_name,scale,psnr,ssim", [
    ("Set5", 4, 28.42, 0.8104), ("Set14", 4, 26.00, 0.7027), ("Set5", 2, 33.66, 0.9299)])
def test_bicubic_reproduces_published_figures(set_name, scale, psnr, ssim):
    score = evaluate_folder(lambda lr, s: imresize(lr, s), BENCH / set_name, scale)
    assert abs(score.psnr - psnr) <= 0.02
    assert abs(score.ssim - ssim) <= 0.002


def test_psnr_and_ssim_basics():
    rng = np.random.default_rng(0)
    a = rng.random((32, 32)) * 255
    assert metrics.psnr(a, a) == float("inf")
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    b = a + 5.0
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / 25))
    assert metrics.ssim(a, rng.random((32, 32)) * 255) < 0.2


def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    a = rng.random((40, 48)) * 255
    b = np.clip(a + rng.normal(0, 10, a.shape), 0, 255)
    ref = skm.structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False)
    assert metrics.ssim(a, b) == pytest.approx(ref, abs=1e-3)


def test_rgb_to_y_is_matlab_rgb2ycbcr():
    assert metrics.rgb_to_y(np.array([0.0, 0.0, 0.0])) == pytest.approx(16.0)
    assert metrics.rgb_to_y(np.array([255.0, 255.0, 255.0])) == pytest.approx(235.0, abs=0.01)


def test_gradient_domain_figures():
    yy, xx = np.mgrid[0:32, 0:32]
    sharp = (xx >= 16).astype(float) * 100
    blurred = imresize(imresize(sharp, 0.25), 4)
    assert metrics.sharpness(sharp) > metrics.sharpness(blurred)
    assert metrics.laplacian_l1(sharp, sharp) == 0
    assert metrics.laplacian_l1(blurred, sharp) > 0
    assert metrics.gradient_energy(sharp) > metrics.gradient_energy(blurred)
    assert metrics.entropy(sharp) == pytest.approx(1.0)
    assert f"{metrics.entropy(np.full((8, 8), -900.0)):.3f}" == "0.000"  # not "-0.000"
    assert metrics.contrast(sharp) == pytest.approx(50.0)


def test_data_consistency_is_high_for_bicubic_and_low_for_added_content():
    rng = np.random.default_rng(2)
    hr = imresize(rng.random((16, 16)) * 1000, 4)
    hr, lr = make_pair(hr, 2)
    good = imresize(lr, 2)
    p_good, residual = metrics.data_consistency(good, lr, 2)
    bad = good + rng.normal(0, 200, good.shape)
    p_bad, _ = metrics.data_consistency(bad, lr, 2)
    assert residual.shape == lr.shape and p_good > p_bad + 10
