"""MATLAB-compatible bicubic resize: the training and evaluation degradation."""
import numpy as np
import pytest

import torch

from models.resize import contributions, cubic, degrade, imresize, upsample_bicubic


def test_upscale_by_two_matches_hand_computation():
    # out pixel 0 samples u = -0.25: taps x0 (mirrored twice) and x1 with the a = -0.5 kernel:
    # 0.2265625 + 0.8671875 on x0, -0.0234375 - 0.0703125 on x1  → 1.09375·x0 − 0.09375·x1
    row = np.array([[1.0, 2.0, 3.0, 4.0]])
    out = imresize(row, 2)
    assert out.shape == (2, 8)
    assert out[0, 0] == pytest.approx(0.90625)
    assert out[0, 1] == pytest.approx(1.1796875)
    assert cubic(np.array([0.25, 0.75, 1.25, 1.75])) == pytest.approx(
        [0.8671875, 0.2265625, -0.0703125, -0.0234375])


def test_downscale_uses_the_widened_antialiasing_kernel():
    # scale 1/2: h(x) = 0.5·cubic(0.5x), 8 taps around u = 0.5, mirrored at the left border
    x = np.arange(8, dtype=np.float64)[None, :]
    out = imresize(x, 0.5)
    assert out.shape == (1, 4)
    assert out[0, 0] == pytest.approx(0.44921875)
    w, idx = contributions(8, 4, 0.5)
    assert w.sum(axis=1) == pytest.approx(np.ones(4))


def test_uint8_input_is_rounded_per_pass_and_stays_uint8():
    img = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    out = imresize(img, 0.5)
    assert out.dtype == np.uint8
    assert np.abs(out.astype(float) - np.round(imresize(img.astype(float), 0.5))).max() <= 1


def test_constant_image_stays_constant_and_shapes_follow_the_rounding_rule():
    img = np.full((7, 9), 3.5)
    out = imresize(img, 2.5)
    assert out.shape == (18, 23) and np.allclose(out, 3.5)
    assert degrade(np.zeros((10, 10)), 3).shape == (3, 3)


def test_shift_computes_a_window_of_the_full_grid():
    img = np.random.default_rng(0).random((20, 20))
    full = imresize(img, 2.5)
    part = imresize(img, 2.5, output_shape=(10, 7), shift=(12, 30))
    assert np.allclose(part, full[12:22, 30:37])


@pytest.mark.parametrize("scale", [1.1, 2.0, 2.5, 4.7])
def test_tensor_enlargement_matches_imresize_in_full_and_in_a_window(scale):
    img = np.random.default_rng(1).random((11, 14))
    x = torch.from_numpy(img).float()[None, None]
    full = imresize(img, scale)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # must not round to bf16
        y = upsample_bicubic(x, scale)
    assert y.dtype == torch.float32
    assert np.allclose(y[0, 0].numpy(), full, atol=1e-5)
    part = upsample_bicubic(x, scale, out_size=(5, 6), shift=(3, 4))
    assert np.allclose(part[0, 0].numpy(), full[3:8, 4:10], atol=1e-5)


def test_differs_from_opencv_bicubic():
    cv2 = pytest.importorskip("cv2")
    img = np.random.default_rng(1).random((32, 32)).astype(np.float32) * 255
    ours = imresize(img.astype(np.float64), 0.25)
    theirs = cv2.resize(img, (8, 8), interpolation=cv2.INTER_CUBIC)
    assert np.abs(ours - theirs).max() > 5.0  # OpenCV: a = -0.75 and no antialiasing
    up_ours = imresize(img[:8, :8].astype(np.float64), 2)
    up_cv = cv2.resize(img[:8, :8], (16, 16), interpolation=cv2.INTER_CUBIC)
    assert np.abs(up_ours - up_cv).max() > 0.5
