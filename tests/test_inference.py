"""The one inference API: shapes, tiling, ranges, colour, progress/cancel, devices."""
import numpy as np
import pytest
import torch

import models
from models import SuperResolver, UpscaleCancelled, InvalidImageError, NoWeightsError, output_size
from models import inference
from models.inference import resolver as resolver_module
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


def test_an_overlap_too_small_for_tiled_equals_untiled_is_refused(resolver):
    """The overlap is the context each tile borrows from its neighbours: below the network's
    receptive context the seams differ from an untiled run (12 of 255 with 5 px), so it is
    refused; at the context itself tiles still join exactly."""
    from models.inference.tiling import receptive_context

    img = (np.random.default_rng(1).random((48, 48)) * 255).astype(np.uint8)
    whole = resolver.upscale(img, 2, "rmisr-bl")
    radius, _ = receptive_context(resolver.prepared_model("rmisr-bl", 2), 2.0)
    for bad in (-1, 2.5, "3"):
        with pytest.raises(ValueError, match="overlap must be a whole number"):
            resolver.upscale(img, 2, "rmisr-bl", tile=16, overlap=bad)
    with pytest.raises(ValueError, match=f"below this network's receptive context \\({radius}\\)"):
        resolver.upscale(img, 2, "rmisr-bl", tile=16, overlap=radius - 1)
    tiled = resolver.upscale(img, 2, "rmisr-bl", tile=16, overlap=radius)
    assert np.abs(tiled.astype(np.float64) - whole).max() <= 1e-3
    assert np.array_equal(resolver.upscale(img, 2, "rmisr-bl", overlap=0), whole)  # untiled


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_tiled_equals_untiled_in_half_precision(resolver, precision):
    img = np.random.default_rng(1).random((37, 29)).astype(np.float32) * 300 - 100
    whole, info = resolver.upscale(img, 2.5, "rmisr-bl", tile=0, precision=precision,
                                   return_info=True)
    tiled = resolver.upscale(img, 2.5, "rmisr-bl", tile=16, precision=precision)
    assert info.precision == precision
    assert np.abs(whole - tiled).max() <= 1e-4 * (img.max() - img.min())
    fp32 = resolver.upscale(img, 2.5, "rmisr-bl", precision="fp32")
    assert 0 < np.abs(whole - fp32).max() <= 0.05 * (img.max() - img.min())


def test_precision_is_resolved_and_reported(resolver, monkeypatch, tmp_path):
    from models.inference import precision as prec

    assert resolver.precision == prec.resolve_precision("auto", "cpu")
    _, info = resolver.upscale(np.eye(12, dtype=np.float32), 2, "rmisr-bl", return_info=True)
    assert info.precision == resolver.precision
    _, info = resolver.upscale(np.eye(12, dtype=np.float32), 2, "bicubic", return_info=True)
    assert info.precision is None  # bicubic is float64 NumPy
    monkeypatch.setattr(prec, "_native_bf16", lambda: True)
    assert prec.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(prec, "_native_bf16", lambda: False)
    assert prec.resolve_precision("auto", "cpu") == "fp32"
    assert prec.resolve_precision("FP16", "cpu") == "fp16"
    with pytest.raises(ValueError, match="unknown precision"):
        prec.resolve_precision("int8", "cpu")
    with pytest.raises(ValueError, match="unknown precision"):
        resolver.upscale(np.eye(12, dtype=np.float32), 2, "rmisr-bl", precision="half")


def test_the_8bit_default_is_the_benchmark_protocol(resolver):
    """An 8-bit image with default settings is normalised by its stored range 0–255, as the
    networks saw it in training and as the benchmark tables score it (rmisr-eval: x / 255), not
    by its own min–max."""
    from models.inference.forward import network_forward
    from models.inference.precision import autocast

    rng = np.random.default_rng(3)
    img = (rng.random((24, 20)) * 150 + 40).astype(np.uint8)  # range 40-190, not 0-255
    out, info = resolver.upscale(img, 2, "rmisr-bl", return_info=True)
    assert info.normalization_range == (0.0, 255.0)
    model = resolver.prepared_model("rmisr-bl", 2)
    assert resolver.prepared_model("rmisr-bl", 2) is model  # prepared once, then kept
    assert resolver.prepared_model("bicubic", 2) is None
    with torch.inference_mode(), autocast("cpu", info.precision):  # bf16 where it is native
        x = torch.from_numpy(img.astype(np.float32) / 255.0)[None, None]
        ref = network_forward(model, x, 2)[0, 0].float().numpy() * 255.0
    inside = (ref >= 0) & (ref <= 255)  # the engine restores what the network clips; same here
    assert np.abs(out - ref)[inside].max() <= 1e-3
    stretched = resolver.upscale(img, 2, "rmisr-bl", normalization="range")
    assert np.abs(stretched - out).max() > 1e-2  # an explicit 'range' keeps the min–max stretch
    _, info16 = resolver.upscale(img.astype(np.uint16), 2, "rmisr-bl", return_info=True)
    assert info16.normalization_range == (float(img.min()), float(img.max()))  # 16-bit: min–max


def test_a_mask_is_read_as_0_and_1(resolver):
    """A boolean image is super-resolved as 0/1 values normalised by their own range (as a
    uint8 image it was normalised by 0–255: the network saw nearly nothing, and overshot)."""
    mask = np.zeros((24, 24), bool)
    mask[6:18, 8:16] = True
    out, info = resolver.upscale(mask, 2, "rmisr-bl", return_info=True)
    assert info.normalization_range == (0.0, 1.0)
    as_float = resolver.upscale(mask.astype(np.float32), 2, "rmisr-bl")
    assert np.array_equal(out, as_float)


def test_percentiles_that_coincide_on_an_image_that_is_not_flat_give_its_range():
    """Air at −1000 HU around a 2×3 px nodule: the 0.5th and 99.5th percentiles are both −1000,
    which is not a flat image (that would get bicubic under a network's name)."""
    from models.inference.normalization import normalization_bounds

    img = np.full((40, 40), -1000.0)
    img[10:12, 10:13] = 40.0
    assert normalization_bounds(img, "percentile") == (-1000.0, 40.0)
    ramp = np.linspace(0, 1000, 400).reshape(20, 20)
    lo, hi = normalization_bounds(ramp, "percentile")
    assert 0 < lo < 10 and 990 < hi < 1000  # the percentiles where they differ


@pytest.mark.parametrize("mode", ["range", "percentile", "window"])
@pytest.mark.parametrize("dtype,lo,hi", [(np.uint8, 0, 255), (np.int16, -1024, 3071),
                                         (np.uint16, 0, 4095), (np.float64, -0.5, 0.5)])
def test_intensity_range_and_dtype_round_trip(resolver, monkeypatch, dtype, lo, hi, mode):
    """With an ideal network (= bicubic in [0, 1]) every mode returns bicubic in original units,
    clipped values included: the normalisation round trip loses nothing."""
    monkeypatch.setattr(
        resolver_module, "network_forward",
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


# --- a region with its context ---------------------------------------------------------------
def _ct_like(shape=(70, 64), seed=5):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (600 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 80 * rng.standard_normal(shape)
            - 200).astype(np.float32)


@pytest.mark.parametrize("method,scale,roi", [
    ("bicubic", 2.5, (10, 6, 21, 17)), ("srcnn", 3, (12, 9, 20, 22)),
    ("rmisr-bl", 2, (31, 40, 18, 23)), ("rmisr-bl", 2.5, (8, 12, 25, 19)),
    ("rmisr-vp", 3, (5, 20, 30, 16)), ("rmisr-vp", 3.5, (2, 4, 20, 30))])
def test_a_region_is_that_part_of_the_whole_images_result(resolver, method, scale, roi):
    """Where the region's origin falls on the whole image's output grid (x·s, y·s whole), its
    result is exactly that window of the whole image's: no edge of the box is seen by the
    network, and the normalisation is the whole image's."""
    img = _ct_like()
    x, y, w, h = roi
    whole = resolver.upscale(img, scale, method)
    part, info = resolver.upscale(img, scale, method, roi=roi, return_info=True)
    oh, ow = output_size(h, w, scale)
    assert part.shape == (oh, ow) and info.output_shape == (oh, ow)
    top, left = round(y * scale), round(x * scale)
    ref = whole[top:top + oh, left:left + ow]
    assert np.abs(part - ref).max() <= 1e-4 * float(img.max() - img.min())
    # the crop alone (the old behaviour) differs at the box's edges
    if method != "bicubic":
        alone = resolver.upscale(img[y:y + h, x:x + w], scale, method)
        assert np.abs(alone - ref).max() > 1e-3 * float(img.max() - img.min())


@pytest.mark.parametrize("method,scale", [("rmisr-bl", 2.3), ("rmisr-vp", 4.5), ("srcnn", 1.7),
                                          ("bicubic", 3.3)])
def test_a_region_off_the_grid_sees_as_far_as_its_network(resolver, monkeypatch, method, scale):
    """Any origin: the context the engine takes (receptive radius) gives the same result as the
    whole image as context, tiled or not."""
    img = _ct_like(seed=6)
    roi = (17, 13, 23, 26)
    part = resolver.upscale(img, scale, method, roi=roi)
    tiled, info = resolver.upscale(img, scale, method, roi=roi, tile=12, return_info=True)
    assert method == "bicubic" or info.tiles > 1
    monkeypatch.setattr(resolver_module, "BICUBIC_CONTEXT", 10_000)
    monkeypatch.setattr(resolver_module, "receptive_context", lambda model, s: (10_000, int(getattr(
        model, "hr_radius", 0)) + 1))
    everything = resolver.upscale(img, scale, method, roi=roi)
    span = float(img.max() - img.min())
    assert np.abs(part - everything).max() <= 1e-4 * span
    assert np.abs(tiled - everything).max() <= 1e-4 * span


@pytest.mark.parametrize("method", ["srcnn", "rmisr-bl", "rmisr-vp"])
@pytest.mark.parametrize("scale,roi", [(2.5, (0, 1, 12, 11)), (2.5, (1, 0, 11, 12)),
                                       (1.5, (3, 5, 9, 7)), (3.3, (2, 7, 10, 5))])
def test_a_region_at_the_right_or_bottom_edge(resolver, monkeypatch, method, scale, roi):
    """A region reaching the image's last row or column at a fractional scale: its context's
    own output grid can stop half a pixel short of the whole image's (the context starts at a
    fractional output position), which once left rows uncomputed (a broadcast error). It equals
    the run with the whole image as context."""
    img = _ct_like((12, 12), seed=8)
    part = resolver.upscale(img, scale, method, roi=roi)
    assert part.shape == output_size(roi[3], roi[2], scale)
    monkeypatch.setattr(resolver_module, "receptive_context", lambda model, s: (10_000, int(getattr(
        model, "hr_radius", 0)) + 1))
    everything = resolver.upscale(img, scale, method, roi=roi)
    assert np.abs(part - everything).max() <= 1e-4 * float(img.max() - img.min())


def test_a_region_on_the_grid_at_the_edge_is_the_whole_images(resolver):
    img = _ct_like((14, 17), seed=9)
    whole = resolver.upscale(img, 2.5, "srcnn")
    part = resolver.upscale(img, 2.5, "srcnn", roi=(16, 2, 1, 8))  # x·s = 40, y·s = 5
    assert np.abs(part - whole[5:25, 40:43]).max() <= 1e-4 * float(img.max() - img.min())


def test_one_callers_cancel_never_stops_another(resolver):
    """The cancel check runs inside the shared, cached model: it must be the running call's.
    The other call says "cancel" whenever asked, and holds its first answer until this call has
    run; this call, without a cancel, must never ask it."""
    import threading

    img = np.random.default_rng(4).random((24, 24)).astype(np.float32)
    resolver.upscale(img, 2, "rmisr-bl")  # model loaded
    armed, done = threading.Event(), threading.Event()
    askers, outcome = [], []

    def other_cancel():
        askers.append(threading.current_thread())
        if not armed.is_set():  # the other call is inside its run, its cancel installed
            armed.set()
            done.wait(30)
        return True

    def other_caller():
        try:
            resolver.upscale(img, 2, "rmisr-bl", cancel=other_cancel)
        except UpscaleCancelled:
            outcome.append("cancelled")
    t = threading.Thread(target=other_caller)
    t.start()
    assert armed.wait(30)
    try:
        out = resolver.upscale(img, 2, "rmisr-bl")  # no cancel: runs to the end
    finally:
        done.set()
        t.join(30)
    assert out.shape == (48, 48) and outcome == ["cancelled"]
    assert set(askers) == {t}


def test_progress_counts_only_the_tiles_that_run(resolver):
    img = np.random.default_rng(5).random((64, 64)).astype(np.float32)
    calls = []
    _, info = resolver.upscale(img, 2.5, "srcnn", roi=(0, 0, 8, 8), tile=8, return_info=True,
                               progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] == info.tiles == len(calls)
    with pytest.raises(UpscaleCancelled):  # a flat image's bicubic still honours cancel
        resolver.upscale(np.ones((8, 8)), 2, "rmisr-bl", cancel=lambda: True)


@pytest.mark.parametrize("kwargs", [{"normalization": "range", "value_range": (0, -1000)},
                                    {"normalization": "range", "value_range": (np.nan, 1)},
                                    {"normalization": "window", "window": (-500, -400)}])
def test_invalid_normalisation_settings_are_refused(resolver, kwargs):
    """Never a silent bicubic labelled as the network."""
    img = _ct_like((16, 16))
    with pytest.raises(ValueError):
        resolver.upscale(img, 2, "srcnn", **kwargs)


def test_array_like_input(resolver):
    assert resolver.upscale([[1.0, 2.0], [3.0, 4.0]], 2, "bicubic").shape == (4, 4)


@pytest.mark.slow
def test_a_region_of_a_whole_ct_slice_is_the_whole_slices_result_with_the_shipped_weights(
        shared_medical):
    """The meta network's deepest ICCA block spans ~160 on a whole 512² chest CT slice: its far
    boxes once shared one floored shift, so the whole slice at ×2.5 differed from the same region
    super-resolved with its context by up to 55 HU (90 HU from the exact result)."""
    from models.evaluation.medical_data import read_dicom
    path = sorted((shared_medical / "ct").glob("*.dcm"))[3]
    hu, _ = read_dicom(path)
    sr = SuperResolver("cpu", precision="fp32")
    if not sr.available("rmisr-bl", 2.5):
        pytest.skip("no shipped RMISR-BL-meta weights")
    whole = sr.upscale(hu, 2.5, "rmisr-bl")
    part = sr.upscale(hu, 2.5, "rmisr-bl", roi=(192, 192, 128, 128))  # x·s = 480
    assert np.abs(part - whole[480:800, 480:800]).max() <= 0.01  # HU


def test_pixels_beyond_the_context_do_not_change_a_region(resolver):
    img = _ct_like((120, 120), seed=7)
    roi = (4, 4, 16, 16)
    before = resolver.upscale(img, 2.5, "rmisr-bl", roi=roi)
    far = img.copy()
    far[100:, 100:] = np.clip(far[100:, 100:][::-1], img.min(), img.max())  # same min–max
    assert np.array_equal(resolver.upscale(far, 2.5, "rmisr-bl", roi=roi), before)
    near = img.copy()
    near[21, 21] += 50.0  # just outside the box, inside the network's reach
    assert not np.array_equal(resolver.upscale(near, 2.5, "rmisr-bl", roi=roi), before)


def test_a_colour_region_and_its_normalisation(resolver):
    rgb = np.stack([_ct_like(seed=s) for s in (1, 2, 3)], axis=-1)
    whole = resolver.upscale(rgb, 2, "rmisr-bl")
    part = resolver.upscale(rgb, 2, "rmisr-bl", roi=(10, 20, 16, 12))
    assert part.shape == (24, 32, 3)
    assert np.abs(part - whole[40:64, 20:52]).max() <= 1e-4 * float(rgb.max() - rgb.min())


@pytest.mark.parametrize("roi", [(0, 0, 0, 5), (60, 0, 10, 10), (-1, 0, 4, 4), (1.5, 0, 4, 4),
                                 (0, 0, 4), "0,0,4,4"])
def test_bad_regions_are_refused_before_any_work(resolver, roi):
    with pytest.raises(ValueError, match="ROI"):
        resolver.upscale(np.zeros((64, 64)), 2, "rmisr-bl", roi=roi)


def test_info_records_the_normalisation_range(resolver):
    img = _ct_like()
    _, info = resolver.upscale(img, 2, "rmisr-bl", roi=(3, 4, 10, 10), return_info=True)
    assert info.normalization_range == (float(img.min()), float(img.max()))
    _, info = resolver.upscale(img, 2, "rmisr-bl", value_range=(-1000, 1000), return_info=True)
    assert info.normalization_range == (-1000.0, 1000.0)
    _, info = resolver.upscale(np.full((8, 8), 3.0), 2, "rmisr-bl", return_info=True)
    assert info.normalization_range is None and info.notes == ["flat image: bicubic used"]
    assert resolver.upscale(img, 2, "bicubic", return_info=True)[1].normalization_range is None


def test_gpu_out_of_memory_retries_with_smaller_tiles(resolver, monkeypatch):
    """An out-of-memory error from the device is retried with half-size tiles (noted), and the
    result is the untiled one."""
    img = _ct_like()
    expected = resolver.upscale(img, 2, "rmisr-bl")
    real = inference.SuperResolver._tiled
    calls = []

    def flaky(self, model, x, s, out_shape, shift, on_grid, tile, *args):
        calls.append(tile)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(self, model, x, s, out_shape, shift, on_grid, tile, *args)
    monkeypatch.setattr(inference.SuperResolver, "_tiled", flaky)
    out, info = resolver.upscale(img, 2, "rmisr-bl", return_info=True)
    assert calls == [0, 64] and info.notes == ["GPU out of memory: retried with 64 px tiles"]
    assert info.tiles > 1 and np.abs(out - expected).max() <= 1e-4 * float(img.max() - img.min())


# --- best-quality ensemble and its uncertainty -------------------------------------------------
def _tf(a, t):
    tr, fr, fc = t
    a = a.T if tr else a
    a = a[::-1] if fr else a
    return np.ascontiguousarray(a[:, ::-1] if fc else a)


def _untf(a, t):
    tr, fr, fc = t
    a = a[:, ::-1] if fc else a
    a = a[::-1] if fr else a
    return a.T if tr else a


@pytest.mark.parametrize("method,scale", [("rmisr-bl", 2.5), ("rmisr-bl", 2), ("rmisr-vp", 3),
                                          ("srcnn", 2.5)])
def test_ensemble_is_the_mean_and_spread_of_the_eight_transformed_runs(resolver, method, scale):
    img = np.random.default_rng(5).random((20, 16)).astype(np.float32) * 80 - 20  # 20·2.5 whole
    kw = {"normalization": "range", "value_range": (-20.0, 60.0)}
    runs = [_untf(resolver.upscale(_tf(img, t), scale, method, **kw), t)
            for t in inference.DIHEDRAL]
    out, info = resolver.upscale(img, scale, method, ensemble=True, return_info=True, **kw)
    assert info.ensemble and info.uncertainty.dtype == np.float32
    assert np.abs(out - np.mean(runs, 0)).max() <= 1e-4 * 80
    assert np.abs(info.uncertainty - np.std(runs, 0)).max() <= 1e-4 * 80
    assert info.uncertainty.max() > 0  # an untrained network is far from symmetric


def test_an_equivariant_network_has_no_spread_even_off_the_grid(tmp_path):
    """SRCNN with its residual layer at zero is bicubic, which commutes with every flip and
    rotation: its 8 runs agree at fractional scales and off-grid regions too, so the mirrored
    windows sample the very positions of the plain run."""
    sr = SuperResolver("cpu", make_weights_dir(tmp_path))
    model = sr.prepared_model("srcnn", 2.5)
    with torch.no_grad():
        model.body[-1].weight.zero_()
        model.body[-1].bias.zero_()
    img = np.random.default_rng(6).random((23, 19)).astype(np.float32) * 100
    for roi in (None, (3, 2, 13, 11), (0, 5, 19, 7)):
        plain = sr.upscale(img, 2.5, "srcnn", roi=roi)
        out, info = sr.upscale(img, 2.5, "srcnn", roi=roi, ensemble=True, return_info=True)
        assert info.uncertainty.max() <= 1e-4 * 100
        assert np.abs(out - plain).max() <= 1e-4 * 100


def test_ensemble_tiled_equals_untiled_and_a_region_is_a_crop_of_the_whole(resolver):
    img = np.random.default_rng(7).random((40, 36)).astype(np.float32) * 1000
    whole, wi = resolver.upscale(img, 2.5, "rmisr-bl", ensemble=True, return_info=True)
    tiled, ti = resolver.upscale(img, 2.5, "rmisr-bl", ensemble=True, tile=16, return_info=True)
    assert ti.tiles > 1
    assert np.abs(whole - tiled).max() <= 1e-4 * 1000
    assert np.abs(wi.uncertainty - ti.uncertainty).max() <= 1e-4 * 1000
    part, pi = resolver.upscale(img, 2.5, "rmisr-bl", ensemble=True, roi=(8, 4, 14, 12),
                                return_info=True)
    assert np.abs(part - whole[10:40, 20:55]).max() <= 1e-4 * 1000
    assert np.abs(pi.uncertainty - wi.uncertainty[10:40, 20:55]).max() <= 1e-4 * 1000


def test_ensemble_progress_cancel_colour_precision_and_bicubic(resolver):
    img = np.random.default_rng(8).random((30, 30)).astype(np.float32)
    calls = []
    _, info = resolver.upscale(img, 2, "rmisr-bl", ensemble=True, tile=20, return_info=True,
                               progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (8 * info.tiles, 8 * info.tiles) and len(calls) == 8 * info.tiles
    polls = []
    with pytest.raises(UpscaleCancelled):  # polled between the transformed runs too
        resolver.upscale(img, 2, "rmisr-bl", ensemble=True,
                         cancel=lambda: polls.append(1) or len(polls) > 3)
    rgb = np.random.default_rng(9).random((12, 10, 3)).astype(np.float32)
    out, info = resolver.upscale(rgb, 2.5, "rmisr-vp", ensemble=True, return_info=True)
    assert info.uncertainty.shape == out.shape == (30, 25, 3)
    assert np.array_equal(info.uncertainty[..., 0], info.uncertainty[..., 2])
    _, info = resolver.upscale(img, 2.5, "rmisr-bl", ensemble=True, precision="bf16",
                               return_info=True)
    assert info.precision == "bf16" and np.isfinite(info.uncertainty).all()
    out, info = resolver.upscale(img, 2.5, "bicubic", ensemble=True, return_info=True)
    assert info.uncertainty.shape == out.shape and not info.uncertainty.any()
    _, info = resolver.upscale(img, 2.5, "rmisr-bl", return_info=True)
    assert info.uncertainty is None and not info.ensemble


def test_auto_precision_keeps_ct_in_fp32(resolver, monkeypatch):
    """bf16 differs from fp32 by more than 2 HU at the 99.9th percentile on chest CT: where the
    device would run half precision, 'auto' keeps CT in fp32 and says so; an explicit choice and
    other modalities are unchanged."""
    from models.inference import precision as prec

    monkeypatch.setattr(prec, "_native_bf16", lambda: True)
    assert prec.resolve_precision("auto", "cpu", "CT") == "fp32"
    assert prec.resolve_precision("auto", "cpu", "MR") == "bf16"
    assert prec.resolve_precision("bf16", "cpu", "CT") == "bf16"
    img = np.random.default_rng(10).random((16, 16)).astype(np.float32) * 2000 - 1000
    _, info = resolver.upscale(img, 2, "rmisr-bl", precision="auto", modality="CT",
                               return_info=True)
    assert info.precision == "fp32" and any("fp32 for CT" in n for n in info.notes)
    _, info = resolver.upscale(img, 2, "rmisr-bl", precision="auto", modality="MR",
                               return_info=True)
    assert info.precision == "bf16" and not info.notes
    monkeypatch.setattr(prec, "_native_bf16", lambda: False)
    _, info = resolver.upscale(img, 2, "rmisr-bl", precision="auto", modality="CT",
                               return_info=True)
    assert info.precision == "fp32" and not info.notes  # fp32 anyway: nothing to say


def test_auto_precision_keeps_srcnn_in_fp32_on_a_cpu(resolver, monkeypatch):
    """SRCNN is no faster in bf16 on a CPU (its 1-channel convolutions do not suit AMX): 'auto'
    runs it in fp32 there, and still runs the RMISR networks in bf16 where bf16 is native."""
    from models.inference import precision as prec

    monkeypatch.setattr(prec, "_native_bf16", lambda: True)
    assert prec.resolve_precision("auto", "cpu", arch="srcnn") == "fp32"
    assert prec.resolve_precision("bf16", "cpu", arch="srcnn") == "bf16"  # asked for: given
    img = np.random.default_rng(11).random((16, 16)).astype(np.float32)
    _, info = resolver.upscale(img, 2, "srcnn", precision="auto", return_info=True)
    assert info.precision == "fp32" and not info.notes
    _, info = resolver.upscale(img, 2, "rmisr-bl", precision="auto", return_info=True)
    assert info.precision == "bf16"


def test_sliding_window_inference_takes_any_predictor():
    """Tiling is a free function: with a bicubic predictor, tiles (and the 8-fold ensemble)
    reproduce the untiled output."""
    from models.inference import sliding_window_inference

    x = np.random.default_rng(3).random((23, 17))
    calls = []

    def predictor(lr, size, at):
        calls.append(size)
        return upsample_bicubic(lr, 2.5, size, at)

    whole = sliding_window_inference(x, 2.5, predictor, tile=0, overlap=4)
    tiled = sliding_window_inference(x, 2.5, predictor, tile=8, overlap=4, ensemble=True)
    assert whole.tiles == 1 and tiled.tiles == 9 and len(calls) == 1 + 9 * 8
    assert whole.out.shape == output_size(23, 17, 2.5)
    assert np.abs(tiled.out - whole.out).max() < 1e-5 and tiled.spread.max() < 1e-5


@pytest.mark.filterwarnings("ignore:CUDA is not available")  # autocast("cuda") without a GPU
def test_fp32_on_cuda_is_ieee_float32_inside_the_engine_and_restored_after():
    """PyTorch runs cuDNN convolutions in TF32 by default: the engine's fp32 (and the float32
    parts kept under half precision) switch it off for the run only. Flags only: no GPU needed."""
    from models.inference.precision import autocast
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.allow_tf32, matmul.allow_tf32)
    try:
        cudnn.allow_tf32, matmul.allow_tf32 = True, True
        for precision in ("fp32", "bf16", "fp16"):
            with autocast(torch.device("cuda"), precision):
                assert (cudnn.allow_tf32, matmul.allow_tf32) == (False, False)
            assert (cudnn.allow_tf32, matmul.allow_tf32) == (True, True)
        with autocast("cuda", "bf16", allow_tf32=True):  # training keeps PyTorch's choice
            assert cudnn.allow_tf32
        with autocast("cpu", "fp32"):  # a CPU has no TF32 to switch
            assert cudnn.allow_tf32
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = before
