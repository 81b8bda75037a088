"""ICCA's eq.-14 statistic in one fused CPU pass (numba), measured against the engine's PyTorch
statistic here — an experiment, not part of the engine.

    pip install numba          # measurement only: not a dependency of the viewer
    python tools/icca_kernel_compare.py [--sides 256 512] [--rounds 3]

:func:`models.archs.icca.icca_statistic` makes about 25 memory-bound passes over float32 maps of
the image's size (four box sums as depthwise convolutions, and the element-wise terms between them);
``python -m models.evaluation.speed`` ("where the time goes") finds ICCA blocks at 42–50 % of an
RMISR-BL forward in bf16. This kernel computes the same statistic reading each input once and
writing each output once: a tile of 32 columns at a time walks down the image, keeps the
horizontal box sums of the last ``window`` rows in a ring (in cache) and running vertical sums.
The sums of x and x² slide (add the entering row/column, subtract the leaving one) in float64; those
of ``e = exp(x − m)`` and x·e, which span e⁻⁶⁰…1, are summed afresh for every box in float32 as the
PyTorch path sums them (a running sum that once held a 1 cannot tell a box of e⁻³⁰s from zero: the
first version of this kernel returned NaN on maps spread 30× their SD). It keeps the engine's
statistic as it was when measured (2026-12-07): one shift per channel, its maximum, with the
exponentials floored at e⁻⁶⁰; the engine has since given boxes far below their channel's maximum
lower shifts of their own (``models.archs.icca``), which the kernel does not, so the two agree
only on maps whose boxes all lie within 60 of their channel's maximum.

Printed (Markdown), each figure the best of ``--rounds`` interleaved rounds after a warm-up:

1. the statistic alone on 64 maps of ``side``² (fp32, channels-last): PyTorch against the kernel,
   and the kernel's largest |difference| from :func:`~models.archs.icca.icca_statistic_reference`;
2. ``SuperResolver.upscale`` of RMISR-BL ×4 on a ``side``² image (the shipped weights, the engine's
   ``auto`` precision) with ICCA's statistic from PyTorch, then from the kernel, and the time of its
   four ICCA blocks in each (forward hooks).
"""
from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.archs import icca as icca_module  # noqa: E402
from models.archs.icca import ICCA, icca_statistic, icca_statistic_reference  # noqa: E402
from models.evaluation.speed import icca_clock  # noqa: E402

try:
    import numba
    from numba import njit, prange
except ImportError:
    numba = None

#: exp(x − m) below this is treated as exp(−60), as in :mod:`models.archs.icca` when measured
EXP_FLOOR = -60.0
_TILE = 32  # columns per task: its rings (window × 32 columns × 64 maps) ≈ 0.7 MB, in L2
_LOCK = threading.Lock()  # numba's default (workqueue) thread pool serves one caller at a time


if numba is not None:
    @njit(parallel=True, cache=False, boundscheck=False,
          error_model="numpy", nogil=True)
    def _statistic_kernel(x, m, mf, r, tile, out):  # pragma: no cover - compiled, not traced
        """x, out: (B, H, W, C) float32 (channels-last order); m / mf: (B, C) per-channel maxima
        in float64 / float32; r: box radius; tile: columns per parallel task.

        The sums of x and x² slide (add the entering row/column, subtract the leaving one) in
        float64. Those of e = exp(x − m) and x·e are summed afresh for every box, in float32 as
        the PyTorch path does: they span e⁻⁶⁰…1, and a running sum that once held a 1 cannot
        keep a box of e⁻³⁰s apart from zero."""
        nb, h, w, c = x.shape
        win = 2 * r + 1
        tiles = (w + tile - 1) // tile
        for job in prange(nb * tiles):
            b = job // tiles
            w0 = (job % tiles) * tile
            w1 = min(w, w0 + tile)
            tw = w1 - w0
            a0 = max(0, w0 - r)
            span = min(w, w1 + r) - a0
            ring = np.zeros((win, 2, tw, c), dtype=np.float64)  # row sums of x, x², by row
            vert = np.zeros((2, tw, c), dtype=np.float64)  # their running sum over the box
            ring_e = np.zeros((win, 2, tw, c), dtype=np.float32)  # row sums of e, x·e
            q = np.empty((2, span, c), dtype=np.float64)  # x, x² of one row
            qe = np.empty((2, span, c), dtype=np.float32)  # e, x·e of one row
            acc = np.empty((2, c), dtype=np.float64)
            acc_e = np.empty((2, c), dtype=np.float32)
            for yy in range(h + r):
                slot = yy % win
                if yy >= win:  # row yy − win leaves the box of output row yy − r
                    for k in range(2):
                        for i in range(tw):
                            for j in range(c):
                                vert[k, i, j] -= ring[slot, k, i, j]
                if yy < h:
                    for i in range(span):
                        for j in range(c):
                            vf = x[b, yy, a0 + i, j]
                            d = vf - mf[b, j]
                            if d < np.float32(EXP_FLOOR):
                                d = np.float32(EXP_FLOOR)
                            e = math.exp(d)
                            v = np.float64(vf)
                            q[0, i, j] = v
                            q[1, i, j] = v * v
                            qe[0, i, j] = e
                            qe[1, i, j] = vf * e
                    for k in range(2):  # the box of the tile's first column
                        for j in range(c):
                            acc[k, j] = 0.0
                        for i in range(max(0, w0 - r) - a0, min(w - 1, w0 + r) - a0 + 1):
                            for j in range(c):
                                acc[k, j] += q[k, i, j]
                    for i in range(tw):
                        col = w0 + i
                        if i > 0:  # slide one column right
                            if col + r < w:
                                for k in range(2):
                                    for j in range(c):
                                        acc[k, j] += q[k, col + r - a0, j]
                            if col - r - 1 >= 0:
                                for k in range(2):
                                    for j in range(c):
                                        acc[k, j] -= q[k, col - r - 1 - a0, j]
                        for k in range(2):
                            for j in range(c):
                                ring[slot, k, i, j] = acc[k, j]
                                vert[k, i, j] += acc[k, j]
                        lo = max(0, col - r) - a0
                        hi = min(w - 1, col + r) - a0
                        for k in range(2):
                            for j in range(c):
                                acc_e[k, j] = 0.0
                            for u in range(lo, hi + 1):
                                for j in range(c):
                                    acc_e[k, j] += qe[k, u, j]
                            for j in range(c):
                                ring_e[slot, k, i, j] = acc_e[k, j]
                else:  # below the image: nothing enters
                    for k in range(2):
                        for i in range(tw):
                            for j in range(c):
                                ring[slot, k, i, j] = 0.0
                y = yy - r
                if y < 0:
                    continue
                ylo = max(0, y - r)
                yhi = min(h - 1, y + r)
                nh = yhi - ylo + 1
                for i in range(tw):
                    col = w0 + i
                    n = nh * (min(w - 1, col + r) - max(0, col - r) + 1)
                    inv_n = 1.0 / n
                    inv_log_n = 1.0 / math.log(n) if n > 1 else 0.0
                    for k in range(2):
                        for j in range(c):
                            acc_e[k, j] = 0.0
                        for u in range(ylo, yhi + 1):
                            s = u % win
                            for j in range(c):
                                acc_e[k, j] += ring_e[s, k, i, j]
                    for j in range(c):
                        mean = vert[0, i, j] * inv_n
                        var = vert[1, i, j] * inv_n - mean * mean
                        if var < 0.0:
                            var = 0.0
                        s = math.sqrt(var + 1e-12) + mean
                        if n > 1:
                            se = np.float64(acc_e[0, j])
                            s += (math.log(se) + m[b, j] - acc_e[1, j] / se) * inv_log_n
                        out[b, y, col, j] = s


def fused_statistic(x: torch.Tensor, window: int) -> torch.Tensor:
    """The eq.-14 statistic of a CPU tensor (B, C, H, W) over ``window``² boxes (float32,
    channels-last), by the fused kernel."""
    xt = x.detach().float()
    xf = np.ascontiguousarray(xt.permute(0, 2, 3, 1).numpy())  # (B, H, W, C): one signature
    m = xt.amax(dim=(2, 3)).numpy()
    out = np.empty_like(xf)
    with _LOCK:
        numba.set_num_threads(max(1, min(torch.get_num_threads(),
                                          numba.config.NUMBA_NUM_THREADS)))
        _statistic_kernel(xf, m.astype(np.float64), m, window // 2, _TILE, out)
    return torch.from_numpy(out).permute(0, 3, 1, 2)


def _icca_forward_fused(self: ICCA, x: torch.Tensor) -> torch.Tensor:
    return x * self.excite(fused_statistic(x, int(self.window)).to(x.dtype))


def _best(fns: list, rounds: int) -> list[float]:
    """Best time of each function over ``rounds`` interleaved rounds after one warm-up round."""
    best = [float("inf")] * len(fns)
    for r in range(rounds + 1):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            if r:
                best[i] = min(best[i], time.perf_counter() - t)
    return best


def statistic_rows(sides: list[int], rounds: int) -> list[str]:
    lines = ["| statistic, 64 maps, fp32 | PyTorch s | kernel s | speed-up | max |Δ| from the "
             "reference |", "|---|---:|---:|---:|---:|"]
    torch.manual_seed(0)
    for side in sides:
        x = (torch.randn(1, 64, side, side) * 3).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), icca_module.icca_row_bands(False):
            diff = (fused_statistic(x, 15) - icca_statistic_reference(x, 15)).abs().max()
            t_torch, t_kernel = _best([lambda: icca_statistic(x, 15),
                                       lambda: fused_statistic(x, 15)], rounds)
        lines.append(f"| {side}² | {t_torch:.3f} | {t_kernel:.3f} | {t_torch / t_kernel:.2f}× | "
                     f"{float(diff):.1e} |")
    return lines


def network_rows(sides: list[int], rounds: int) -> list[str]:
    from models.inference import SuperResolver

    sr = SuperResolver("cpu")
    model = sr.prepared_model("rmisr-bl", 4.0)
    if model is None:
        return ["(no RMISR-BL ×4 weights)"]
    plain = ICCA.forward
    lines = [f"| RMISR-BL ×4 upscale, {sr.precision} | statistic | s | of it, ICCA blocks s |",
             "|---|---|---:|---:|"]
    rng = np.random.default_rng(0)
    for side in sides:
        img = rng.random((side, side)).astype(np.float32) * 1000.0
        best = {"PyTorch": (float("inf"), 0.0), "fused kernel": (float("inf"), 0.0)}
        for r in range(rounds + 1):
            for name, forward in (("PyTorch", plain), ("fused kernel", _icca_forward_fused)):
                ICCA.forward = forward
                try:
                    with icca_clock(model) as clock:
                        t = time.perf_counter()
                        sr.upscale(img, 4.0, "rmisr-bl")
                        dt = time.perf_counter() - t
                finally:
                    ICCA.forward = plain
                if r:
                    best[name] = min(best[name], (dt, clock["s"]))
        for name, (dt, icca) in best.items():
            lines.append(f"| {side}² | {name} | {dt:.2f} | {icca:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sides", type=int, nargs="+", default=[256, 512])
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    if numba is None:
        print("numba is not installed (pip install numba)", file=sys.stderr)
        return 2
    t = time.perf_counter()
    fused_statistic(torch.zeros(1, 1, 2, 2), 3)
    print(f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; kernel compiled in "
          f"{time.perf_counter() - t:.1f} s\n")
    print("\n".join(statistic_rows(args.sides, args.rounds)) + "\n", flush=True)
    print("\n".join(network_rows(args.sides, args.rounds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
