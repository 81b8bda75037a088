"""Blocks and networks named after the paper: shapes, parameter counts, gradients."""
import copy
import math

import pytest
import torch

from models.archs.blocks import PYB, SRB, FusedPYB, PyConv3
from models.archs.icca import ICCA, icca_statistic, icca_statistic_reference
from models.archs.laplacian import laplacian, laplacian_np, laplacian_xy
from models.archs.pfmdb import PFMDB
from models.archs.rmisr import RMISR_BL, RMISR_VP
from models.archs.upsamplers import MetaUpsampler
from models.inference.fusion import fuse_activations, fuse_pyramid_blocks
from models.registry import ARCH_REGISTRY, create_model
from models.resize import imresize


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_pyconv3_has_the_papers_31104_weights():
    weights = sum(p.numel() for n, p in PyConv3(64).named_parameters() if n.endswith("weight"))
    assert weights == 31_104


def test_rmisr_bl_x4_parameter_budget():
    assert 0.80e6 <= n_params(RMISR_BL(scale=4)) <= 1.00e6


def test_rmisr_vp_has_six_sr_and_three_laplacian_blocks():
    vp = RMISR_VP(scale=4)
    assert len(vp.sr_body.blocks) == 6 and len(vp.lap_blocks) == 3


@pytest.mark.parametrize("block", [SRB(8), PYB(64, 16), PFMDB(64, 16)])
def test_blocks_keep_spatial_size(block):
    x = torch.randn(2, 64 if not isinstance(block, SRB) else 8, 11, 13)
    assert block(x).shape[-2:] == (11, 13)


@pytest.mark.parametrize("window", [15, None])
def test_icca_is_finite_with_gradients_for_zeros_and_negatives(window):
    icca = ICCA(8, 4, window=window)
    for x in (torch.zeros(1, 8, 9, 7), -torch.rand(1, 8, 9, 7) * 50, torch.randn(2, 8, 1, 1)):
        x = x.clone().requires_grad_(True)
        y = icca(x)
        y.square().sum().backward()
        assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
        assert icca.excite[0].weight.grad is not None


def test_icca_local_entropy_matches_a_direct_computation():
    x = torch.randn(1, 2, 20, 17) * 3
    s = icca_statistic(x, 15)
    i, j, r = 10, 5, 7
    win = x[:, :, i - r:i + r + 1, max(0, j - r):j + r + 1].reshape(1, 2, -1)
    p = torch.softmax(win, -1)
    ent = -(p * p.log()).sum(-1) / math.log(win.shape[-1])
    ref = ent + win.std(-1, unbiased=False) + win.mean(-1)
    assert torch.allclose(ref, s[:, :, i, j], atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 8, 40, 33), (3, 4, 16, 16), (2, 5, 7, 9), (1, 3, 1, 5),
                                   (1, 2, 1, 1), (1, 2, 20, 1)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_icca_statistic_equals_the_reference(shape, channels_last):
    """The depthwise box-sum formulation equals the term-by-term one (values and gradients),
    with and without autograd, contiguous or channels-last, and under bf16 autocast."""
    torch.manual_seed(0)
    x = torch.randn(shape) * 4 + 1
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ref = icca_statistic_reference(x, 15)
    with torch.inference_mode():
        assert torch.allclose(icca_statistic(x, 15), ref, atol=2e-5, rtol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast = icca_statistic(x, 15)
    assert fast.dtype == torch.float32 and torch.allclose(fast, ref, atol=2e-5, rtol=1e-5)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    w = torch.randn(shape)
    (icca_statistic(xa, 15) * w).sum().backward()
    (icca_statistic_reference(xb, 15) * w).sum().backward()
    assert torch.allclose(xa.grad, xb.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape, window",
                         [((1, 3, 9, 7), 15), ((2, 2, 20, 5), 5), ((1, 2, 1, 6), 15)])
def test_written_out_icca_gradient_is_the_derivative(shape, window):
    """The statistic's hand-written backward (training) is its derivative: gradcheck in float64,
    borders and windows wider than the image included."""
    from models.archs.icca import _box_count, _LocalStatistic
    torch.manual_seed(3)
    x = (torch.randn(shape, dtype=torch.float64) * 3).requires_grad_()
    m = x.detach().amax(dim=(2, 3), keepdim=True)
    n = _box_count(shape[2], shape[3], window, x)
    assert torch.autograd.gradcheck(lambda t: _LocalStatistic.apply(t, m, n, window), (x,))


def test_written_out_icca_gradient_on_a_flat_channel():
    """Where a window is flat the SD sits at its floor and its derivative, 1/(2·SD) times a
    variance that is rounding noise, is as large and as arbitrary in the term-by-term statistic
    under autograd: the written-out gradient stays finite, of the same size there, and equal on
    the channels that are not flat."""
    torch.manual_seed(4)
    x = torch.randn(2, 3, 20, 18)
    x[:, 1] = 0.5
    x[0, 2, :10] = -1.0
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    w = torch.randn(x.shape)
    (icca_statistic(xa, 15) * w).sum().backward()
    (icca_statistic_reference(xb, 15) * w).sum().backward()
    assert torch.isfinite(xa.grad).all()
    assert xa.grad.abs().max() <= 2 * xb.grad.abs().max()
    assert torch.allclose(xa.grad[:, 0], xb.grad[:, 0], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape, window", [((1, 8, 41, 13), 15), ((2, 4, 30, 9), 5),
                                           ((1, 3, 17, 6), 15), ((1, 64, 70, 32), 15)])
@pytest.mark.parametrize("bf16", [False, True])
def test_icca_in_bands_equals_the_whole(monkeypatch, shape, window, bf16):
    """Inference on a CPU can compute ICCA a band of rows at a time: the same output
    as the whole-image statistic, first, inner and short last bands alike, in fp32 and bf16."""
    import models.archs.icca as icca_module
    torch.manual_seed(1)
    icca = ICCA(shape[1], reduction=2, window=window).eval()
    for p in icca.parameters():
        p.data.normal_(0.0, 0.3)
    x = (torch.randn(shape) * 3).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        whole = x * icca.excite(icca_statistic(x, window).to(x.dtype))
        monkeypatch.setattr(icca_module, "_BAND_BYTES", 1)  # the smallest band: 8 rows
        assert icca_module._band_rows(x) == 8 and shape[2] > 16
        banded = icca(x)
    assert banded.dtype == whole.dtype
    # in bf16 a statistic equal to float rounding may still round to the neighbouring bf16 value
    # before the excitation: one bf16 step (2⁻⁸ relative) of the gate
    tol = 2.0 ** -7 if bf16 else 1e-5
    assert torch.allclose(banded, whole, atol=tol * float(x.abs().max()), rtol=tol)


def _far_apart(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Maps whose values span ~300: a smooth ramp and noise, with a bright plateau in a corner
    (the deep layers of a meta network on a whole CT slice span up to 160)."""
    torch.manual_seed(seed)
    b, c, h, w = shape
    ramp = torch.linspace(-150.0, 0.0, w).expand(b, c, h, w).clone()
    x = ramp + torch.randn(shape) * 3
    x[:, ::2, : h // 4, -(w // 4):] += 160.0  # every other channel
    return x


@pytest.mark.parametrize("channels_last", [False, True])
def test_icca_statistic_is_exact_where_a_map_spans_far_more_than_one_shift(monkeypatch,
                                                                            channels_last):
    """A box far below its channel's maximum gets a shift of its own: equal to the float64
    definition in inference (whole and in row bands) and in training (values and gradients)."""
    import models.archs.icca as icca_module
    x = _far_apart((2, 4, 40, 48), seed=5)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ref = icca_statistic_reference(x, 15)
    with torch.inference_mode():
        fast = icca_statistic(x, 15)
    tol = dict(atol=1e-4, rtol=1e-5)  # a few float32 steps of values up to ~300
    assert torch.allclose(fast, ref, **tol)
    icca = ICCA(4, reduction=2).eval()
    with torch.no_grad():
        whole = x * icca.excite(ref)
        monkeypatch.setattr(icca_module, "_BAND_BYTES", 1)  # 8-row bands
        assert torch.allclose(icca(x), whole, **tol)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    w = torch.randn(x.shape)
    (icca_statistic(xa, 15) * w).sum().backward()
    (icca_statistic_reference(xb, 15) * w).sum().backward()
    assert torch.allclose(xa.grad, xb.grad, atol=1e-3, rtol=1e-3)


def test_a_region_of_a_map_spanning_far_gets_the_whole_maps_statistic():
    """What the viewer relies on for a region with its context: ICCA's statistic at a pixel
    depends on its own box only, however bright the image is elsewhere (here 300 above it)."""
    x = _far_apart((1, 4, 64, 96), seed=6)
    with torch.no_grad():
        whole = icca_statistic(x, 15)
        part = icca_statistic(x[:, :, 10:50, :40].contiguous(), 15)  # far from the bright corner
    r = 7
    assert torch.allclose(part[:, :, r:-r, r:-r], whole[:, :, 10 + r:50 - r, r:40 - r],
                          atol=1e-4, rtol=1e-5)


def test_icca_entropy_is_one_for_a_flat_map_and_low_for_a_peak():
    flat = icca_statistic(torch.zeros(1, 1, 8, 8), None)
    assert flat.item() == pytest.approx(1.0, abs=1e-5)  # entropy 1, std 0, mean 0
    peak = torch.zeros(1, 1, 8, 8)
    peak[..., 3, 3] = 40.0
    ent = icca_statistic(peak, None) - peak.std(unbiased=False) - peak.mean()
    assert ent.item() < 0.01


def test_meta_upsampler_passes_gradients_to_features_and_mlp():
    up = MetaUpsampler(8, 1)
    x = torch.randn(1, 8, 6, 5, requires_grad=True)
    up(x, 2.5).sum().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in up.mlp.parameters())


def test_meta_upsampler_runs_the_mlp_once_per_distinct_offset():
    up = MetaUpsampler(4, 1)
    up(torch.randn(1, 4, 40, 40), 2.5)
    assert up.last_distinct_offsets == 25  # 5 offsets per axis for 5/2
    up(torch.randn(1, 4, 40, 40), 4.0)
    assert up.last_distinct_offsets == 16


@pytest.mark.parametrize("scale", [2.5, 4.3])
def test_meta_upsampler_both_paths_agree_and_match_eq_17(scale):
    up = MetaUpsampler(6, 2)
    x = torch.randn(1, 6, 9, 8)
    y = up(x, scale)
    up.max_stacked_pairs = 0
    assert torch.allclose(y, up(x, scale), atol=1e-5)
    i, j = 5, 7
    sy, sx = (i + 0.5) / scale - 0.5, (j + 0.5) / scale - 0.5
    by, bx = math.floor(sy), math.floor(sx)
    w = up.mlp(torch.tensor([[sy - by, sx - bx, 1 / scale]])) * up.filter_scale
    w = w.reshape(2, 6, 3, 3)
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="replicate")
    patch = xp[:, :, by + 1:by + 4, bx + 1:bx + 4]
    assert torch.allclose(torch.einsum("bckl,ockl->bo", patch, w), y[:, :, i, j], atol=1e-5)


@pytest.mark.parametrize("scale", [2.5, 3.5])
def test_meta_upsampler_reads_channels_last_responses_in_place(scale):
    """The stacked path addresses the convolution's response through its strides: a batch of
    channels-last features gives the same pixels as contiguous ones, window and shift included."""
    up = MetaUpsampler(6, 2)
    x = torch.randn(2, 6, 11, 9)
    with torch.no_grad():
        for size, shift in ((None, (0.0, 0.0)), ((17, 12), (4.0, 3.0))):
            y = up(x, scale, size, shift)
            yc = up(x.contiguous(memory_format=torch.channels_last), scale, size, shift)
            assert torch.allclose(y, yc, atol=1e-6)
            up.max_stacked_pairs = 0  # the row-strip path computes the same window
            assert torch.allclose(y, up(x, scale, size, shift), atol=1e-5)
            up.max_stacked_pairs = 400


@pytest.mark.parametrize("arch", ["rmisr_bl", "rmisr_vp"])
def test_untrained_meta_model_with_the_bicubic_skip_is_bicubic_and_still_learns(arch):
    model = create_model(arch, scale=None, upsampler="meta", global_skip="bicubic",
                         channels=16, distilled=8)
    img = torch.rand(1, 1, 9, 11)
    out = model(img, 2.5)
    sr = out[0] if isinstance(out, tuple) else out
    assert torch.allclose(sr[0, 0], torch.from_numpy(imresize(img[0, 0].double().numpy(), 2.5)
                                                     ).float(), atol=1e-5)
    sr.sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert grads  # the zeroed output layer receives gradient
    with pytest.raises(ValueError, match="global_skip"):
        create_model(arch, scale=None, upsampler="meta", global_skip="nearest")


def test_laplacian_is_the_sum_of_eq_6_and_7_with_the_typo_fixed():
    img = torch.rand(1, 1, 6, 7)
    xy = laplacian_xy(img)
    assert torch.allclose(laplacian(img), xy.sum(1, keepdim=True), atol=1e-6)
    a = img[0, 0]
    i, j = 3, 3
    manual = a[i, j + 1] + a[i, j - 1] + a[i + 1, j] + a[i - 1, j] - 4 * a[i, j]
    assert laplacian(img)[0, 0, i, j].item() == pytest.approx(manual.item(), abs=1e-6)
    assert laplacian_np(a.numpy())[i, j] == pytest.approx(manual.item(), abs=1e-6)


def test_the_laplacian_of_an_image_is_float32_under_bf16_autocast():
    img = 0.5 + torch.rand(1, 1, 9, 8) * 2 ** -6  # variations far below bf16's step at 0.5
    with torch.autocast("cpu", dtype=torch.bfloat16):
        lap, xy = laplacian(img), laplacian_xy(img)
    assert lap.dtype == xy.dtype == torch.float32
    assert torch.equal(lap, laplacian(img)) and torch.equal(xy, laplacian_xy(img))
    assert laplacian(img.double()).dtype == torch.float64  # wider inputs stay wide


@pytest.mark.parametrize("arch, kwargs", [
    ("rmisr_bl", {"scale": 2, "num_blocks": 1, "channels": 16, "distilled": 8}),
    ("rmisr_vp", {"scale": 2, "num_blocks": 2, "lap_blocks": 1, "channels": 16, "distilled": 8}),
    ("srcnn", {}),
])
def test_a_bf16_run_sees_the_images_low_bits(arch, kwargs):
    """Under bf16 autocast the convolutions reading the image (and RMISR-VP's Laplacian of it)
    compute in float32: two 16-bit-like images that bf16 cannot tell apart (they differ by
    2⁻¹² at 0.7, a quarter of bf16's step there) still give different outputs."""
    torch.manual_seed(5)
    model = create_model(arch, **kwargs).eval()
    for p in model.parameters():
        p.data.normal_(0.0, 0.2)
    size = 14 if arch == "srcnn" else 7
    a = 0.7 + 0.01 * torch.rand(1, 1, size, size)
    b = a.clone()
    b[0, 0, 3, 3] += 2 ** -12
    assert torch.equal(a.bfloat16(), b.bfloat16())
    net = model.body if arch == "srcnn" else model  # not SRCNN's float32 identity skip
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        ya, yb = net(a), net(b)
        if arch == "rmisr_vp":
            ya, yb = ya[0], yb[0]
    assert not torch.equal(ya, yb)


def test_every_registered_architecture_builds_and_runs():
    assert set(ARCH_REGISTRY.keys()) == {"rmisr_bl", "rmisr_vp", "srcnn"}
    x = torch.rand(1, 1, 7, 9)
    assert create_model("srcnn")(torch.rand(1, 1, 14, 18)).shape == (1, 1, 14, 18)
    assert create_model("rmisr_bl", scale=3, channels=16, distilled=8)(x).shape == (1, 1, 21, 27)
    sr, lap = create_model("rmisr_vp", scale=2, channels=16, distilled=8)(x)
    assert sr.shape == lap.shape == (1, 1, 14, 18)


def test_registry_refuses_duplicate_names():
    with pytest.raises(KeyError):
        ARCH_REGISTRY.register("srcnn")(lambda: None)


@pytest.mark.parametrize("shape", [(2, 64, 23, 31), (1, 64, 9, 8)])
def test_fused_pyb_equals_the_pyb(shape):
    torch.manual_seed(3)
    pyb = PYB(64, 16).eval()
    for p in pyb.parameters():  # trained-like spread, biases included
        p.data.normal_(0.0, 0.1)
    fused = FusedPYB.from_pyb(pyb).eval()
    x = torch.randn(shape)
    with torch.no_grad():
        levels = pyb.reduce(pyb.act(pyb.pyconv(x)))  # the paper's layout, level by level
        assert torch.allclose(pyb(x), levels, atol=1e-5, rtol=1e-5)  # merged on a CPU
        assert torch.allclose(fused(x), levels, atol=1e-5, rtol=1e-5)
        cl = x.contiguous(memory_format=torch.channels_last)
        assert torch.allclose(fused.to(memory_format=torch.channels_last)(cl), levels,
                              atol=1e-5, rtol=1e-5)
    # the grouped levels became one 2-group 7×7 convolution, the dense one stayed
    assert (fused.grouped.groups, fused.grouped.kernel_size, fused.grouped.out_channels) == \
        (2, (7, 7), 32)
    for groups in (1, 4):  # any merged group count that divides the levels' is the same function
        other = FusedPYB.from_pyb(pyb, groups=groups).eval()
        assert other.grouped.groups == groups
        with torch.no_grad():
            assert torch.allclose(other(x), levels, atol=1e-5, rtol=1e-5)


def test_pyb_trains_its_own_levels_through_the_merged_convolution():
    """On a CPU the PYB runs its grouped levels merged; the gradients that reach the levels'
    weights and biases, the reduction and the input are those of the level-by-level layout."""
    torch.manual_seed(5)
    pyb = PYB(64, 16)
    for p in pyb.parameters():
        p.data.normal_(0.0, 0.1)
    x = torch.randn(2, 64, 12, 10, requires_grad=True)
    w = torch.randn(2, 16, 12, 10)
    (pyb(x) * w).sum().backward()
    merged = {n: p.grad.clone() for n, p in pyb.named_parameters()}
    merged_x = x.grad.clone()
    pyb.zero_grad()
    x.grad = None
    (pyb.reduce(pyb.act(pyb.pyconv(x))) * w).sum().backward()
    for n, p in pyb.named_parameters():
        assert torch.allclose(merged[n], p.grad, atol=1e-4, rtol=1e-4), n
    assert torch.allclose(merged_x, x.grad, atol=1e-4, rtol=1e-4)
    assert set(pyb.state_dict()) == {n for n, _ in pyb.named_parameters()}  # the file's layout
    from models.archs.blocks import pyconv_levels_merged
    with torch.no_grad(), pyconv_levels_merged(False):  # the speed tool's baseline: level-wise
        assert torch.allclose(pyb(x), pyb.reduce(pyb.act(pyb.pyconv(x))), atol=0, rtol=0)


@pytest.mark.parametrize("arch", [RMISR_BL, RMISR_VP])
def test_fusing_a_network_keeps_its_output(arch):
    torch.manual_seed(4)
    model = arch(scale=2).eval()
    for p in model.parameters():
        p.data.normal_(0.0, 0.05)
    x = torch.rand(1, 1, 20, 18)
    with torch.no_grad():
        before = model(x)
        assert fuse_pyramid_blocks(model) == (12 if arch is RMISR_BL else 27)
        after = model(x)
    before, after = (t[0] if isinstance(t, tuple) else t for t in (before, after))
    assert not any(isinstance(m, PYB) for m in model.modules())
    assert torch.allclose(after, before, atol=1e-4 * float(before.abs().max()))


@pytest.mark.parametrize("arch", [RMISR_BL, RMISR_VP])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_folding_activations_keeps_the_fused_networks_output(arch, precision):
    """fuse_activations (LeakyReLU and the SRB's add as oneDNN post-ops) = the unfolded network:
    exactly the same arithmetic in fp32 up to summation order, within bf16 rounding in bf16."""
    if precision == "bf16" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        pytest.skip("oneDNN runs no bf16 on this CPU: the plain path runs, nothing to compare")
    torch.manual_seed(5)
    model = arch(scale=2).eval()
    for p in model.parameters():
        p.data.normal_(0.0, 0.05)
    fuse_pyramid_blocks(model)
    folded = copy.deepcopy(model)
    per_pfmdb = 3 + 3 + 1  # SRBs, FusedPYBs, the last distillation conv
    blocks = 4 if arch is RMISR_BL else 9
    assert fuse_activations(folded) == per_pfmdb * blocks + (1 if arch is RMISR_BL else 2)
    assert fuse_activations(folded) == 0  # idempotent
    assert not any(isinstance(m, SRB) for m in folded.modules())
    # what stays: RMISR-VP's activation *before* its Laplacian output conv
    leaky = sum(isinstance(m, torch.nn.LeakyReLU) for m in folded.modules())
    assert leaky == (0 if arch is RMISR_BL else 1)
    x = torch.rand(1, 1, 24, 22).contiguous(memory_format=torch.channels_last)
    model, folded = (m.to(memory_format=torch.channels_last) for m in (model, folded))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                enabled=precision == "bf16"):
        before, after = model(x), folded(x)
    before, after = (t[0] if isinstance(t, tuple) else t for t in (before, after))
    tol = 1e-5 if precision == "fp32" else 3e-2
    assert torch.allclose(after.float(), before.float(), atol=tol * float(before.abs().max()))


def test_folded_blocks_train_as_the_plain_ones():
    """With gradients the folded modules run PyTorch's ops: the same loss and gradients."""
    torch.manual_seed(6)
    model = RMISR_BL(scale=2)
    folded = copy.deepcopy(model)
    fuse_activations(folded)
    x = torch.rand(2, 1, 12, 12)
    grads = []
    for m in (model, folded):
        m.zero_grad()
        m(x).square().mean().backward()
        grads.append(m.body.blocks[0].srb[0].conv.weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_a_replicate_padded_convolution_is_not_folded():
    """oneDNN's fused call pads with zeros: a convolution padded otherwise keeps PyTorch's path."""
    seq = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1, padding_mode="replicate"),
                              torch.nn.LeakyReLU(0.05))
    x = torch.rand(1, 1, 9, 9)
    with torch.inference_mode():
        before = seq(x)
        assert fuse_activations(seq) == 0
        assert torch.equal(seq(x), before)


@pytest.mark.parametrize("arch, kwargs, scale", [
    ("rmisr_bl", {"num_blocks": 1}, 4), ("rmisr_bl", {"num_blocks": 2}, 4),
    ("rmisr_vp", {"num_blocks": 2, "lap_blocks": 1}, 4),
    ("rmisr_bl", {"num_blocks": 2, "scale": None, "upsampler": "meta"}, 2.5),
    ("rmisr_vp", {"num_blocks": 2, "lap_blocks": 1, "scale": None, "upsampler": "meta"}, 2.5)])
def test_declared_receptive_radius_is_the_networks_reach(arch, kwargs, scale):
    """The receptive radius the tiles and regions take their context from is where an output
    pixel's gradient ends: never short of it (an input pixel it depends on left out) and not
    longer than the HR layers' margin needs. ICCA's squeeze gets a positive bias so that no
    ReLU cuts the path; chains of one or two blocks keep the gradient inside float32's range."""
    from models.archs.icca import ICCA
    from models.inference.tiling import receptive_context
    torch.manual_seed(0)
    model = ARCH_REGISTRY.get(arch)(**{"scale": 4, **kwargs}).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    for m in model.modules():
        if isinstance(m, ICCA):
            torch.nn.init.constant_(m.excite[0].bias, 5.0)
    x = torch.rand(1, 1, 101, 101, requires_grad=True)
    y = model(x) if model.scale else model(x, scale)
    y = y[0] if isinstance(y, tuple) else y
    c = y.shape[-1] // 2
    y[0, 0, c, c].backward()
    rows = (x.grad[0, 0].abs() > 0).nonzero()[:, 0].double()
    centre = (c + 0.5) / scale - 0.5
    reach = max(rows.max() - centre, centre - rows.min()).item()
    radius = receptive_context(model, scale)[0]
    assert model.receptive_radius - 1 <= reach <= radius
