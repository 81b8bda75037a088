"""The one inference API: shapes, tiling, ranges, colour, progress/cancel, devices."""
import numpy as np
import pytest
import torch

import models
from models import SuperResolver, UpscaleCancelled, InvalidImageError, NoWeightsError, output_size
from models import inference
from models.resize import upsample_bicubic
from models.inference import DEFAULT_NORMALIZATION, DeviceUnavailableError, resolve_device

from ._engine import make_weights_dir

SCALES = [2, 2.5, 3, 3.5, 4, 4.5, 5]
METHODS = ["bicubic", "srcnn", "rmisr-bl", "rmisr-vp"]


@pytest.fixture(scope="module")
def resolver(tmp_path_factory):
    return SuperResolver("cpu", make_weights_dir(tmp_path_factory.mktemp("w")))


def test_output_size_rounds_halves_up():
    assert output_size(5, 7, 2.5) == (13, 18)  # 12.5 → 13, 17.5 → 18
    assert output_size(3, 3, 1.1) == (3, 3)    # 3.3000000000000003 → 3
    assert output_size(1, 1, 1.5) == (2, 2)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scale", SCALES)
def test_shapes_for_every_method_and_scale_with_odd_sizes(resolver, method, scale):
    img = np.random.default_rng(0).random((9, 13)).astype(np.float32)
    out = resolver.upscale(img, scale, method)
    assert out.shape == output_size(9, 13, scale)
    assert out.dtype == np.float32 and np.isfinite(out).all()


@pytest.mark.parametrize("method,scale", [("rmisr-bl", 2.5), ("rmisr-bl", 2), ("rmisr-bl", 3),
                                          ("rmisr-vp", 3.5), ("srcnn", 3.3)])
def test_tiled_equals_untiled(resolver, method, scale):
    rng = np.random.default_rng(1)
    img = (rng.random((75, 66)) * 3000 - 1024).astype(np.float32)
    whole = resolver.upscale(img, scale, method, tile=0)
    tiled, info = resolver.upscale(img, scale, method, tile=20, return_info=True)
    assert info.tiles > 1
    assert np.abs(whole - tiled).max() <= 1e-4 * (img.max() - img.min())


@pytest.mark.parametrize("mode", ["range", "percentile", "window"])
@pytest.mark.parametrize("dtype,lo,hi", [(np.uint8, 0, 255), (np.int16, -1024, 3071),
                                         (np.uint16, 0, 4095), (np.float64, -0.5, 0.5)])
def test_intensity_range_and_dtype_round_trip(resolver, monkeypatch, dtype, lo, hi, mode):
    """With an ideal network (= bicubic in [0, 1]) every mode returns bicubic in original units,
    clipped values included: the normalisation round trip loses nothing."""
    monkeypatch.setattr(
        inference, "network_forward",
        lambda model, lr, s, out_size, shift: upsample_bicubic(lr, s, out_size, shift))
    yy, xx = np.mgrid[0:24, 0:20]
    img = (lo + (hi - lo) * (0.5 + 0.5 * np.sin(xx / 3.0) * np.cos(yy / 4.0))).astype(dtype)
    span = float(hi) - float(lo)
    window = (lo + 0.5 * span, 0.3 * span)  # a narrow window: most pixels are clipped
    ref = resolver.upscale(img, 2.5, "bicubic")
    for method in METHODS[1:]:
        out, info = resolver.upscale(img, 2.5, method, normalization=mode, window=window,
                                     return_info=True)
        assert out.dtype == np.float32 and info.normalization == mode
        assert np.abs(out - ref).max() <= 1e-4 * span, method
    flat = np.full((10, 10), 1234, dtype=dtype if dtype != np.uint8 else np.uint16)
    for method in METHODS:
        assert np.allclose(resolver.upscale(flat, 3, method), 1234, atol=1e-3)


def test_untrained_networks_still_return_finite_values_in_units(resolver):
    img = np.random.default_rng(5).integers(-1024, 3000, (16, 16)).astype(np.int16)
    for method in METHODS:
        out = resolver.upscale(img, 2, method)
        assert np.isfinite(out).all() and out.dtype == np.float32


def test_colour_keeps_three_channels_and_grey_stays_grey(resolver):
    rgb = np.random.default_rng(2).integers(0, 256, (12, 10, 3)).astype(np.uint8)
    out = resolver.upscale(rgb, 2.5, "rmisr-bl")
    assert out.shape == (30, 25, 3)
    grey = np.repeat(rgb[..., :1], 3, axis=2)
    g = resolver.upscale(grey, 2, "bicubic")
    assert (np.allclose(g[..., 0], g[..., 1], atol=1e-3)
            and np.allclose(g[..., 0], g[..., 2], atol=1e-3))


def test_progress_and_cancel_between_tiles(resolver):
    img = np.random.default_rng(3).random((60, 60)).astype(np.float32)
    calls = []
    resolver.upscale(img, 2, "rmisr-bl", progress=lambda d, t: calls.append((d, t)), tile=20)
    assert calls[-1][0] == calls[-1][1] == 9 and len(calls) == 9
    seen = []

    def cancel():
        seen.append(1)
        return len(seen) > 2
    with pytest.raises(UpscaleCancelled):
        resolver.upscale(img, 2, "rmisr-bl", cancel=cancel, tile=20)
    assert len(seen) == 3


def test_cancel_is_also_polled_inside_one_tile(resolver):
    img = np.random.default_rng(3).random((30, 30)).astype(np.float32)
    polls, progress = [], []

    def cancel():
        polls.append(1)
        return len(polls) >= 3  # before the tile, then at PFMDB 1 and 2
    with pytest.raises(UpscaleCancelled):
        resolver.upscale(img, 2.5, "rmisr-vp", cancel=cancel,
                         progress=lambda d, t: progress.append(d))
    assert progress == [] and len(polls) == 3
    out = resolver.upscale(img, 2.5, "rmisr-vp", cancel=lambda: False)  # hooks removed afterwards
    assert out.shape == (75, 75)


@pytest.mark.parametrize("bad", [np.zeros((0, 5)), np.zeros((4, 4, 2)), np.zeros((2, 2, 2, 2))])
def test_bad_shapes_are_refused(resolver, bad):
    with pytest.raises(InvalidImageError):
        resolver.upscale(bad, 2, "bicubic")


def test_nan_and_inf_are_refused_with_a_count(resolver):
    img = np.ones((8, 8), np.float32)
    img[1, 1], img[2, 2] = np.nan, np.inf
    with pytest.raises(InvalidImageError, match="2 NaN or infinite"):
        resolver.upscale(img, 2, "rmisr-bl")


def test_an_output_above_the_limit_is_refused_before_any_work(resolver, monkeypatch):
    import models.geometry
    from models import OutputTooLargeError

    monkeypatch.setattr(models.geometry, "MAX_OUTPUT_PIXELS", 100 * 100)
    calls = []
    with pytest.raises(OutputTooLargeError, match=r"×2.5 of a 41×40 px image would be 103×100 px"):
        resolver.upscale(np.ones((40, 41), np.float32), 2.5, "rmisr-bl",
                         progress=lambda d, t: calls.append(d))
    assert calls == []
    assert resolver.upscale(np.ones((40, 40), np.float32), 2.5, "bicubic").shape == (100, 100)


@pytest.mark.parametrize("scale", [1.0, 5.5, 0, float("nan")])
def test_scale_outside_range_is_refused(resolver, scale):
    with pytest.raises(ValueError, match="outside the supported range"):
        resolver.upscale(np.ones((4, 4)), scale, "bicubic")


def test_missing_weights_are_reported_and_bicubic_always_works(tmp_path):
    empty = SuperResolver("cpu", tmp_path)
    assert not empty.available("rmisr-vp", 2.5) and empty.available("bicubic", 2.5)
    with pytest.raises(NoWeightsError, match="RMISR-VP has no trained weights"):
        empty.upscale(np.ones((4, 4)), 2.5, "rmisr-vp")
    assert empty.upscale(np.ones((4, 4)), 2.5, "bicubic").shape == (10, 10)


def test_info_reports_device_weights_and_normalisation(resolver):
    _, info = resolver.upscale(np.random.rand(8, 8), 2, "rmisr-bl", return_info=True)
    assert info.device == "cpu" and info.weights_file == "bl_x2.safetensors"
    assert len(info.weights_sha256) == 64 and info.normalization == DEFAULT_NORMALIZATION == "range"
    _, info = resolver.upscale(np.random.rand(8, 8), 2, "rmisr-bl", return_info=True,
                               normalization="window", window=(0.5, 1.0))
    assert info.normalization == "window"


def test_fixed_scale_file_preferred_and_meta_serves_the_rest(resolver):
    assert resolver.weights_record("rmisr-bl", 2).file == "bl_x2.safetensors"
    assert resolver.weights_record("rmisr-bl", 2.5).file == "bl_meta.safetensors"
    assert resolver.weights_record("rmisr-bl", 4).file == "bl_meta.safetensors"


def test_cpu_fallback_when_cuda_is_absent(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    assert SuperResolver("auto").device.type == "cpu"
    with pytest.raises(DeviceUnavailableError):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(resolver, tmp_path_factory):
    gpu = SuperResolver("cuda", resolver.weights_dir)
    img = np.random.default_rng(4).random((40, 40)).astype(np.float32)
    a = resolver.upscale(img, 2.5, "rmisr-bl")
    b, info = gpu.upscale(img, 2.5, "rmisr-bl", return_info=True)
    assert info.device == "cuda" and np.abs(a - b).max() < 1e-3


def test_public_api_is_small_and_explicit():
    assert {"SuperResolver", "METHODS", "NoWeightsError"} <= set(models.__all__)
