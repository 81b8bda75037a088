"""ICCA — information-entropy contrast-aware channel attention (paper §4.2, eq. 14, Fig. 4).

Eq. 14 replaces global average pooling by a per-channel statistic

    s_c = IE(x_c) + SD(x_c) + ME(x_c)

(information entropy + standard deviation + mean), followed by the usual squeeze/excite
(1×1 down, ReLU, 1×1 up, sigmoid) and a channel-wise product.

Ambiguities resolved
--------------------
* Entropy of signed features. Eq. 14 writes (1/N)·Σ x·log₂x on raw features, undefined for
  x ≤ 0. We use the entropy of a softmax over the positions of the statistics window, normalised
  to [0, 1]: ``p = softmax(x)``, ``IE = −Σ p·log p / log n``. It is finite and differentiable
  for every real input (zeros and negatives included), is 1 for a flat map and tends to 0 for a
  single peak — the paper's "richness" of the map. The division by log n plays the role of the
  paper's N = 256.
* Where the statistics are taken. Global pooling makes every output pixel depend on the whole
  image, so tiled inference could never match untiled inference, and the statistics seen at test
  time (whole image) differ from those seen in training (a 48–64 px patch) — the train/test
  inconsistency of global pooling described by Chu et al., "Improving Image Restoration by
  Revisiting Global Information Aggregation" (ECCV 2022). We therefore take mean, SD and entropy
  over a local ``window × window`` neighbourhood of every pixel (default 15, borders use the valid
  part only), in training and inference alike. The block then has a finite receptive field and
  tiles with enough overlap reproduce the untiled output. ``window=None`` gives the paper's global
  pooling (used only to compare).
* Statistics are computed in float32 even under bf16/fp16 autocast (autocast is switched off
  inside: the box sums are convolutions, which autocast would otherwise run in half precision).
* The softmax's exponentials need a shift, one per channel (60 below its maximum), under which
  the boxes whose own maximum lies up to 110 below the channel's are exact in float32. A box
  further down (a channel whose values span more: the deep blocks of the meta networks on a
  whole CT slice span up to 160) takes a lower shift, found from its own sum, so the entropy is
  the box's own whatever else the image holds: a region equals the whole image's result and
  tiles equal an untiled run. (Until 2026-12-07 such boxes had every exponential floored at
  e⁻⁶⁰ below the channel's maximum, which made them depend on the brightest pixel anywhere:
  up to 90 HU on a chest CT slice at ×2.5, a one-off measurement; ``tests/test_inference.py``
  holds a region of that slice to the whole slice's result.)
"""
from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from ..amp import no_autocast

#: in inference the softmax's exponentials are shifted to e^{x − (max − _HEADROOM)}: up to
#: e⁶⁰ ≈ 1e26, so sums of 225 terms times x stay far inside float32's range, and boxes whose
#: maximum lies up to _HEADROOM + _FAR below the channel's keep a sum of at least e^−_FAR.
#: Training shifts by the maximum itself: its written-out gradient divides by the sums, and
#: gradients divided by sums near e⁶⁰ fall into float32's subnormal range, many times slower on
#: a CPU (an RMISR-BL ×4 step took 1.13 s instead of 0.60 s in a one-off A/B of
#: ``models.evaluation.speed.time_step``).
_HEADROOM = 60.0
#: a box whose shifted sum falls below e^−_FAR is "far" (its largest term is below e^−_FAR)
_FAR = 50.0
#: exponents below this are raised to it: no float32 subnormals and no 0/0; next to a sum of at
#: least e^−_FAR the raised terms add at most 225·e⁻³⁰ ≈ 2e-11 of it
_EXP_FLOOR = -80.0
#: far boxes take shifts this much lower, step by step (:func:`_deep_entropy`), at most
#: _MAX_LEVELS steps (values 1,000 below their channel's maximum)
_LEVEL_STEP = _FAR
_MAX_LEVELS = 20


def _box_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Mean over a centred window×window box (valid part only at borders), separable.

    The reference formulation (``avg_pool2d``), kept for :func:`icca_statistic_reference`."""
    r = window // 2
    x = F.avg_pool2d(x, (window, 1), stride=1, padding=(r, 0), count_include_pad=False)
    return F.avg_pool2d(x, (1, window), stride=1, padding=(0, r), count_include_pad=False)


def _box_count(h: int, w: int, window: int, like: torch.Tensor) -> torch.Tensor:
    r = window // 2
    rows = torch.arange(h, device=like.device)
    cols = torch.arange(w, device=like.device)
    nh = (torch.clamp(rows + r, max=h - 1) - torch.clamp(rows - r, min=0) + 1).to(like.dtype)
    nw = (torch.clamp(cols + r, max=w - 1) - torch.clamp(cols - r, min=0) + 1).to(like.dtype)
    return (nh[:, None] * nw[None, :]).reshape(1, 1, h, w)


def _box_sum(t: torch.Tensor, window: int, top: int | None = None,
             bottom: int | None = None) -> torch.Tensor:
    """Sum over a centred window×window box (zero outside the image), as two depthwise
    convolutions with a kernel of ones: oneDNN runs them on channels-last tensors at several
    times the speed of ``avg_pool2d`` with ``count_include_pad=False``.

    For a band of rows (:meth:`ICCA._forward_in_bands`) the sums are of the rows that have
    ``window // 2`` rows on each side in ``t``; ``top``/``bottom`` zero rows (default
    ``window // 2``: the whole image) stand for where the image itself ends."""
    c, r = t.shape[1], window // 2
    top, bottom = (r if top is None else top), (r if bottom is None else bottom)
    ones = torch.ones(c, 1, 1, window, device=t.device, dtype=t.dtype)
    t = F.conv2d(t, ones, padding=(0, r), groups=c)
    if top != bottom:
        t, top = F.pad(t, (0, 0, top, bottom)), 0
    return F.conv2d(t, ones.reshape(c, 1, window, 1), padding=(top, 0), groups=c)


def _deep_channels(m: torch.Tensor, lo: torch.Tensor, headroom: float) -> torch.Tensor | None:
    """The channels (of any image in the batch) whose values span more than the shift
    ``headroom`` below their maximum ``m`` covers (minimum ``lo``), as indices: only their boxes
    can be far; None where there are none."""
    deep = ((m - lo) > headroom + _FAR).flatten(1).any(dim=0)
    return deep.nonzero().flatten() if bool(deep.any()) else None


def _entropy_nats(x: torch.Tensor, shift: torch.Tensor, window: int, top: int | None = None,
                  bottom: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(log Σe^x − Σx·e^x / Σe^x over each box, Σe^{x − shift}): the entropy in nats and the
    shifted sum, exact where the sum is at least e^−_FAR and no value exceeds the shift by more
    than _HEADROOM (larger ones count as e^_HEADROOM, which keeps every sum finite, as the
    gradient of the branch a torch.where does not take needs)."""
    e = torch.exp((x - shift).clamp(_EXP_FLOOR, _HEADROOM))
    s_e = _box_sum(e, window, top, bottom)
    return torch.log(s_e) + shift - _box_sum(x * e, window, top, bottom) / s_e, s_e


def _far_boxes(s_e: torch.Tensor, deep: torch.Tensor | None) -> torch.Tensor | None:
    """Where the ``deep`` channels' shifted box sums ``s_e`` are far (a bool map over those
    channels), or None where there are no far boxes."""
    if deep is None:
        return None
    far = s_e.detach().index_select(1, deep) < math.exp(-_FAR)
    return far if bool(far.any()) else None


def _deep_entropy(x: torch.Tensor, shift: torch.Tensor, ent: torch.Tensor, far: torch.Tensor,
                  channels: torch.Tensor, window: int, top: int | None = None,
                  bottom: int | None = None) -> torch.Tensor:
    """``ent`` (nats, computed with ``shift``) recomputed where ``far`` (for the ``channels``
    only): there the shifted box sum fell below e^−_FAR, so its largest term did too. Such a box
    takes the shift lowered by k·_LEVEL_STEP for k = 1, 2, …, its first k whose sum reaches
    e^−_FAR: its largest term then lies in [e^−_FAR / n, 1] (the sum at k − 1 said none was
    above this shift), so the result is exact. Out of place: autograd follows it. Boxes more
    than _MAX_LEVELS steps down keep ``ent``."""
    some = far.transpose(0, 1).flatten(1).any(dim=1).nonzero().flatten()
    if len(some) < len(channels):  # only the channels that have far boxes
        channels, far = channels[some], far.index_select(1, some)
    # kept channels-last: the depthwise box sums run several times slower on a plain layout
    last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    fmt = torch.channels_last if last else torch.contiguous_format
    xs = x.index_select(1, channels).contiguous(memory_format=fmt)
    shifts, out = shift.index_select(1, channels), ent.index_select(1, channels)
    for k in range(1, _MAX_LEVELS + 1):
        ent_k, s_e = _entropy_nats(xs, shifts - k * _LEVEL_STEP, window, top, bottom)
        with torch.no_grad():
            take = far & (s_e >= math.exp(-_FAR))
            far = far & ~take
        out = torch.where(take, ent_k, out)
        if not bool(far.any()):
            break
    return ent.index_copy(1, channels, out)


def icca_statistic_reference(x: torch.Tensor, window: int | None = 15) -> torch.Tensor:
    """Eq. 14 statistic, written out term by term (box means of x, x², e^x and x·e^x); the
    entropy's exponentials in float64, where one shift per channel is exact for values spanning
    up to ~700.

    The definition :func:`icca_statistic` must equal within float tolerance (tests compare them)."""
    x = x.float()
    b, c, h, w = x.shape
    if window is None:
        return _global_statistic(x)
    mean = _box_mean(x, window)
    var = (_box_mean(x * x, window) - mean * mean).clamp_min(0.0)
    std = var.add(1e-12).sqrt()
    # Entropy of the softmax over each window: H = log Σe^x − Σ x e^x / Σ e^x, with a
    # per-channel shift m (exact: m cancels) and the box means A = mean(e^{x−m}),
    # B = mean(x·e^{x−m}).
    xd = x.double()
    m = xd.amax(dim=(2, 3), keepdim=True).detach()
    e = torch.exp((xd - m).clamp_min(-700.0))
    a = _box_mean(e, window)
    bb = _box_mean(xd * e, window)
    n = _box_count(h, w, window, xd)
    log_n = torch.log(n)
    ent = (log_n + torch.log(a) + m - bb / a) / log_n.clamp_min(1e-6)
    ent = torch.where(n > 1, ent, torch.zeros_like(ent))
    return ent.float() + std + mean


def _global_statistic(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    n = h * w
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).add(1e-12).sqrt()
    if n <= 1:
        return std + mean
    log_p = torch.log_softmax(x.reshape(b, c, n), dim=-1)
    ent = (-(log_p.exp() * log_p).sum(dim=-1) / math.log(n)).reshape(b, c, 1, 1)
    return ent + std + mean


def icca_statistic(x: torch.Tensor, window: int | None = 15) -> torch.Tensor:
    """Eq. 14 statistic (normalised entropy + SD + mean) per channel.

    Returns (B, C, 1, 1) for ``window=None`` (global) or (B, C, H, W) for a local window.

    Written for speed (it was 30–40 % of a CPU forward pass): box *sums* S of x, x², e = e^{x−m}
    and x·e by depthwise convolutions, then with n the box's pixel count

        mean = S_x / n,   SD = sqrt(S_x² / n − mean²),
        IE   = (log S_e + m − S_xe / S_e) / log n

    (the entropy of the softmax over the box, log n folded away), in place where no gradient is
    needed. Equal to :func:`icca_statistic_reference` within float32 rounding.
    """
    with no_autocast(x.device.type):  # statistics need float32's range
        return _local_statistic(x.float(), window)


def _local_statistic(x: torch.Tensor, window: int | None) -> torch.Tensor:
    b, c, h, w = x.shape
    if window is None:
        return _global_statistic(x)
    n = _box_count(h, w, window, x)
    m = x.amax(dim=(2, 3), keepdim=True).detach()
    lo = x.detach().amin(dim=(2, 3), keepdim=True)
    if not (torch.is_grad_enabled() and x.requires_grad):
        r = window // 2
        deep = _deep_channels(m, lo, _HEADROOM) if h * w > 1 else None
        return _band_statistic(x, m - _HEADROOM, n, window, r, r, entropy=h * w > 1, deep=deep)
    if h * w == 1:  # a single pixel: one value per window, entropy 0
        return _sd_plus_mean(x, n, window)
    deep = _deep_channels(m, lo, 0.0)
    if deep is None:
        return _LocalStatistic.apply(x, m, n, window)
    # rare in training (a patch whose map spans more than _FAR): left to autograd
    ent, s_e = _entropy_nats(x, m, window)
    far = _far_boxes(s_e, deep)
    if far is not None:
        ent = _deep_entropy(x, m, ent, far, deep, window)
    return ent / torch.log(n) + _sd_plus_mean(x, n, window)


def _sd_plus_mean(x: torch.Tensor, n: torch.Tensor, window: int) -> torch.Tensor:
    """SD + mean over each box (box counts ``n``), out of place: autograd follows it."""
    inv_n = n.reciprocal()
    mean = _box_sum(x, window) * inv_n
    return (_box_sum(x * x, window) * inv_n - mean * mean).clamp_min(0.0).add(1e-12).sqrt() + mean


class _LocalStatistic(torch.autograd.Function):
    """:func:`icca_statistic` with its gradient written out, for training.

    Left to autograd, each of the statistic's element-wise operations records a backward node
    that keeps its inputs and makes its own passes over the feature maps: the statistic's forward
    and backward were 28 % of an RMISR-BL ×4 training step (0.22 of 0.78 s, batch 16 × 48², bf16,
    2-core Xeon with AMX, 2026-12-07); written out, the step is 12 % faster (docs/speed.md). With
    c = g / (S_e·log n), t = g / (n·SD) and the box sum B its own adjoint (a symmetric window,
    zero outside the image):

        ∂L/∂x = B(g/n − t·mean) + x·B(t) + e·(B(c·(1 + S_xe/S_e)) − (1 + x)·B(c))

    (the S_x, S_x², S_e and x·e terms). As in the autograd version, no gradient flows through
    the shift m (the entropy does not depend on it) nor where the variance was clamped at 0;
    where e^{x−m} sits at its floor e^_EXP_FLOOR its derivative is taken as that, not 0 (a
    difference below float32's resolution of any gradient it is added to). Only for maps that
    span at most _FAR: others are left to autograd (:func:`_deep_entropy`)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, m: torch.Tensor, n: torch.Tensor,  # type: ignore[override]
                window: int) -> torch.Tensor:
        e = torch.exp((x - m).clamp_min(_EXP_FLOOR))
        s_e = _box_sum(e, window)
        q = _box_sum(x * e, window).div_(s_e)
        inv_n = n.reciprocal()
        mean = _box_sum(x, window).mul_(inv_n)
        var = _box_sum(x * x, window).mul_(inv_n).sub_(mean * mean)
        kept = var >= 0  # where clamp_min passes the gradient
        std = var.clamp_min_(0.0).add_(1e-12).sqrt_()
        inv_log_n = torch.log(n).reciprocal()
        out = torch.log(s_e).add_(m).sub_(q).mul_(inv_log_n).add_(std).add_(mean)
        ctx.save_for_backward(x, e, s_e, q, mean, std, kept, inv_n, inv_log_n)
        ctx.window = window
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        x, e, s_e, q, mean, std, kept, inv_n, inv_log_n = ctx.saved_tensors
        window = ctx.window
        a = g * inv_n                                   # through the mean
        t = (a / std).mul_(kept)                        # through the SD: S_x² and S_x
        c = (g * inv_log_n).div_(s_e)                   # through the entropy: S_e and S_xe
        grad = _box_sum(c * (q + 1), window)
        grad.addcmul_(x + 1, _box_sum(c, window), value=-1).mul_(e)
        grad.addcmul_(x, _box_sum(t, window))
        grad.add_(_box_sum(torch.addcmul(a, t, mean, value=-1), window))
        return grad, None, None, None


def _band_statistic(x: torch.Tensor, m: torch.Tensor, n: torch.Tensor, window: int, top: int,
                    bottom: int, entropy: bool = True,
                    deep: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`icca_statistic` without gradient, in place where it can be, of the rows of ``x``
    whose boxes lie in it (all of them for ``top`` = ``bottom`` = ``window // 2``, see
    :func:`_box_sum`); ``m`` is the whole image's shift, ``n`` those rows' box counts;
    ``entropy=False`` for a single pixel (one value per window, entropy 0); ``deep``: the
    channels whose far boxes need a lower shift (:func:`_deep_channels` of the whole image)."""
    e = torch.exp((x - m).clamp_min(_EXP_FLOOR))
    s_e = _box_sum(e, window, top, bottom)
    s_xe = _box_sum(x * e, window, top, bottom).div_(s_e)
    del e
    far = _far_boxes(s_e, deep)
    inv_n = n.reciprocal()
    mean = _box_sum(x, window, top, bottom).mul_(inv_n)
    out = _box_sum(x * x, window, top, bottom).mul_(inv_n).sub_(mean * mean)
    out = out.clamp_min_(0.0).add_(1e-12).sqrt_().add_(mean)
    if not entropy:
        return out
    ent = s_e.log_().add_(m).sub_(s_xe)
    if far is not None:
        ent = _deep_entropy(x, m, ent, far, deep, window, top, bottom)
    return out.add_(ent.mul_(torch.log(n).reciprocal()))


class ICCA(nn.Module):
    """Information-entropy contrast-aware channel attention (eq. 14), local statistics window."""

    def __init__(self, channels: int = 64, reduction: int = 16, window: int | None = 15) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.window = window
        self.excite = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    @property
    def receptive_radius(self) -> int:
        return 0 if self.window is None else self.window // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # on the meta device nothing is computed, only counted (models.evaluation.summary): the
        # reference formulation keeps the multiply-add count to the architecture's own convolutions,
        # not the depthwise box sums that implement the statistic
        if x.device.type == "meta":
            return x * self.excite(icca_statistic_reference(x, self.window).to(x.dtype))
        rows = _band_rows(x)
        if (self.window is not None and x.device.type == "cpu" and x.shape[2] > 2 * rows
                and _ROW_BANDS.get() and not (torch.is_grad_enabled() and x.requires_grad)):
            return self._forward_in_bands(x, rows)
        return x * self.excite(icca_statistic(x, self.window).to(x.dtype))

    def _forward_in_bands(self, x: torch.Tensor, rows: int) -> torch.Tensor:
        """The same output, computed ``rows`` image rows at a time (inference on a CPU).

        On a large image every one of the statistic's ~25 passes allocates a tensor of the
        image's size (64 maps × 512² floats are 64 MB); where the allocator returns such blocks to
        the system on free, each pass page-faults its memory anew. A band of rows with the
        ``window // 2`` rows above and below it that its box sums need is a few MB, which the
        allocator keeps (an RMISR-BL ×4 forward on 512² 1.24× faster on the project's 2-core
        machine: ``python -m models.evaluation.speed``, its ablation rows). Where freed memory is
        reused anyway (:func:`models.inference.memory.freed_memory_reused` on glibc) the whole
        image is 2–7 % faster than the bands, so the engine turns them off there
        (:func:`icca_row_bands`). The shift ``m`` of the entropy is the
        whole image's per-channel maximum, as in :func:`icca_statistic`, so each band equals the
        matching rows of the whole within float rounding (tested)."""
        b, c, h, w = x.shape
        window = int(self.window)  # type: ignore[arg-type]
        r = window // 2
        out = torch.empty_like(x)
        with no_autocast(x.device.type):  # statistics need float32's range
            xf = x.float()
            m = xf.amax(dim=(2, 3), keepdim=True)
            deep = _deep_channels(m, xf.amin(dim=(2, 3), keepdim=True), _HEADROOM)
            m = m - _HEADROOM  # the entropy's shift
            n = _box_count(h, w, window, xf)
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            e0, e1 = max(0, r0 - r), min(h, r1 + r)
            with no_autocast(x.device.type):
                stat = _band_statistic(xf[:, :, e0:e1], m, n[:, :, r0:r1], window,
                                       r - (r0 - e0), r - (e1 - r1), deep=deep)
            out[:, :, r0:r1] = x[:, :, r0:r1] * self.excite(stat.to(x.dtype))  # as autocast says
        return out


#: bytes of one band of a 4-D feature tensor (rows × width × maps floats): a few MB, small enough
#: for glibc's default allocator to keep rather than unmap; measured fastest at 16–32 rows of 64
#: maps × 256–512 px on the project's machine (16th session)
_BAND_BYTES = 2 ** 21


def _band_rows(x: torch.Tensor) -> int:
    return max(8, _BAND_BYTES // max(1, int(x.shape[1]) * int(x.shape[3]) * 4))


_ROW_BANDS: contextvars.ContextVar[bool] = contextvars.ContextVar("icca_row_bands", default=True)


@contextlib.contextmanager
def icca_row_bands(enabled: bool) -> Iterator[None]:
    """Within the block (this thread or task), ICCA on a CPU without gradients runs in row bands
    (``True``, the default: small temporaries, for allocators that unmap large blocks on free)
    or over the whole image at once (``False``: faster where freed memory is reused). The
    outputs are the same either way."""
    token = _ROW_BANDS.set(bool(enabled))
    try:
        yield
    finally:
        _ROW_BANDS.reset(token)
