"""``python -m models.evaluation.speed`` — how far the engine is from this machine's limit.

The limit is the FLOP bound: a network's multiply-adds (counted as :mod:`models.evaluation.summary`
counts them: convolutions and matrix products) divided by the rate this machine sustains on one
dense convolution (64 → 64 maps, 3×3, 256×256, channels-last: the shape most of RMISR's work has),
measured first in the same run. Every figure is then a ratio to that bound, so runs on different
machines, or on one machine under different load, compare.

Printed as Markdown:

1. the convolution rate in fp32, and in bf16 where the CPU runs it natively, then the rate of each
   convolution shape a PFMDB block has (the grouped PyConv levels run far below the dense rate;
   the engine runs them merged, :class:`models.archs.blocks.FusedPYB`);
2. ``SuperResolver.upscale`` (the shipped weights, the resolver's precision) of SRCNN, RMISR-BL and
   RMISR-VP on a 512×512 image at ×4 and ×2.5, and on a 128×128 region at ×2.5 with the context the
   engine adds around it: seconds, GMAC/s and the ratio to the bound, plus the four-method
   comparison of that region (what a doctor waits for);
3. the engine's CPU rewrites added one at a time to an RMISR-BL ×4 forward in the same precision
   (what each is worth);
4. where the time of an RMISR-BL ×4 upscale and of the RMISR-VP region goes: ICCA's share
   (timed per block), and the convolution operators' share of the profiled self time;
   then the same two and a training step against their convolutions replayed alone
   (:mod:`models.evaluation.conv_floor`): how far below the run any rewrite of the rest could go;
5. a training step of RMISR-BL ×4 (batch 16 × 48², L1, Adam; backward counted as twice the
   forward) in each memory format and precision, with its ratio.

Timings are the best of ``--repeats`` runs after one warm-up run.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from ..inference.forward import forward_memory, network_forward
from ..inference.memory import freed_memory_reused, one_arena
from ..inference.precision import autocast, cpu_has_native_bf16, resolve_precision
from ..manifest import WEIGHTS_DIR
from ..registry import create_model
from .complexity import count_macs

if TYPE_CHECKING:
    from ..inference import SuperResolver

#: (label, method, scale, image side, region side or 0 for the whole image)
CASES: list[tuple[str, float, int, int]] = [
    ("srcnn", 4.0, 512, 0), ("srcnn", 2.5, 512, 0), ("srcnn", 2.5, 512, 128),
    ("rmisr-bl", 4.0, 512, 0), ("rmisr-bl", 2.5, 512, 0), ("rmisr-bl", 2.5, 512, 128),
    ("rmisr-vp", 4.0, 512, 0), ("rmisr-vp", 2.5, 512, 0), ("rmisr-vp", 2.5, 512, 128),
]


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def conv_rate(precision: str = "fp32", side: int = 256, repeats: int = 20,
              device: str = "cpu") -> float:
    """Multiply-adds per second of one 64 → 64 3×3 convolution on ``side``², channels-last: the
    best of ``repeats`` (on a shared VM five gave 78 GMAC/s where the same shape ran at 95 a
    minute later; the bound must be the rate the machine can reach, or every ratio flatters)."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(device, memory_format=torch.channels_last)
    x = torch.randn(1, 64, side, side, device=device).contiguous(
        memory_format=torch.channels_last)
    with torch.inference_mode(), autocast(device, precision):
        t = best_time(lambda: conv(x), repeats)
    return side * side * 64 * 64 * 9 / t


#: PFMDB's convolution shapes (name, in, out, kernel, groups): where RMISR's time goes
LAYERS: list[tuple[str, int, int, int, int]] = [
    ("SRB conv 3×3, 64→64", 64, 64, 3, 1),
    ("PyConv level 3×3, 64→32", 64, 32, 3, 1),
    ("PyConv level 5×5, 64→16, groups 4", 64, 16, 5, 4),
    ("PyConv level 7×7, 64→16, groups 8", 64, 16, 7, 8),
    ("the two merged, as training runs them on a CPU: 7×7, 64→32, groups 4 (half zeros)",
     64, 32, 7, 4),
    ("the two merged, as inference runs them on a CPU: 7×7, 64→32, groups 2 (¾ zeros)",
     64, 32, 7, 2),
    ("1×1, 64→64 (fusion)", 64, 64, 1, 1),
    ("ICCA box sum 15×1, depthwise", 64, 64, (15, 1), 64),
]


def layer_rates(precision: str = "fp32", side: int = 256, repeats: int = 3,
                ) -> list[tuple[str, float, float]]:
    """(name, ms, GMAC/s) of each of :data:`LAYERS` on a ``side``² channels-last input."""
    x = torch.randn(1, 64, side, side).contiguous(memory_format=torch.channels_last)
    rows = []
    for name, cin, cout, k, groups in LAYERS:
        conv = torch.nn.Conv2d(cin, cout, k, groups=groups, bias=groups == 1,
                               padding=tuple(v // 2 for v in (k if isinstance(k, tuple)
                                                              else (k, k))))
        conv = conv.to(memory_format=torch.channels_last)
        kh, kw = k if isinstance(k, tuple) else (k, k)
        macs = side * side * cout * (cin // groups) * kh * kw
        with torch.inference_mode(), autocast("cpu", precision):
            t = best_time(lambda c=conv: c(x), repeats)
        rows.append((name, t * 1e3, macs / t / 1e9))
    return rows


def region_window(model: torch.nn.Module | None, scale: float, side: int, region: int
                  ) -> int:
    """Side of the LR window the engine runs for a centred ``region``² of a ``side``² image
    (the region plus the context :meth:`SuperResolver.upscale` adds), or ``side`` for the whole."""
    if not region:
        return side
    from ..inference.tiling import BICUBIC_CONTEXT, receptive_context
    m = BICUBIC_CONTEXT if model is None else receptive_context(model, scale)[0] + 2
    x0 = (side - region) // 2
    return region + min(m, x0) + min(m, side - x0 - region)


def network_macs(model: torch.nn.Module, scale: float, side: int) -> int:
    """Multiply-adds of one forward pass of ``model`` on a ``side``² LR input at ``scale``."""
    import copy
    meta = copy.deepcopy(model).to("meta").eval()
    x = torch.zeros(1, 1, side, side, device="meta")
    return count_macs(lambda: network_forward(meta, x, scale))


def training_step(arch: str, channels_last: bool, bf16: bool, batch: int, patch: int
                  ) -> Callable[[], None]:
    """One training step (L1, Adam) of ``arch`` at ×4 on ``batch`` random LR patches of
    ``patch``² (SRCNN on their bicubic-sized input), as a function to call repeatedly."""
    torch.manual_seed(0)
    model = create_model(arch) if arch == "srcnn" else create_model(arch, scale=4)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 2e-4)
    side = patch * 4 if arch == "srcnn" else patch  # SRCNN's input is the bicubic-upscaled patch
    x = torch.rand(batch, 1, side, side)
    y = torch.rand(batch, 1, patch * 4, patch * 4)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            out = out[0] if isinstance(out, tuple) else out
        loss = (out.float() - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def time_step(arch: str, channels_last: bool, bf16: bool, steps: int, batch: int, patch: int
              ) -> float:
    """Best seconds of one :func:`training_step` over ``steps`` steps after a first one (which
    warms up oneDNN)."""
    return best_time(training_step(arch, channels_last, bf16, batch, patch), steps)


def training_macs(arch: str, batch: int, patch: int) -> int:
    """Multiply-adds of one training step: forward + backward (counted as twice the forward)."""
    model = (create_model(arch) if arch == "srcnn" else create_model(arch, scale=4)).to("meta")
    side = patch * 4 if arch == "srcnn" else patch
    x = torch.zeros(batch, 1, side, side, device="meta")
    return 3 * count_macs(model, x)


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def case_macs(sr: SuperResolver, method: str, scale: float, side: int, region: int
              ) -> tuple[int, int]:
    """(side of the LR window run, multiply-adds) of an engine case (``region`` 0: the whole
    ``side``² image), counted on the architecture as the paper draws it (as the weights file
    holds it): the engine's CPU rewrite (FusedPYB) runs zero weights the count must not credit
    it with."""
    record = sr.weights_record(method, scale)
    model = create_model(record.arch, **record.arch_args)
    window = region_window(sr.prepared_model(method, scale), scale, side, region)
    return window, network_macs(model, scale, window)


def inference_table(weights_dir: Path, precision: str, cases: list[tuple[str, float, int, int]],
                    repeats: int, peaks: dict[str, float]) -> list[str]:
    """Markdown rows: each case's seconds, GMAC/s and ratio to the bound of the precision it ran
    in (``peaks``: resolved precision → conv rate; ``auto`` keeps SRCNN in fp32 on a CPU), then
    the four-method comparison of each region size."""
    from ..inference import SuperResolver

    sr = SuperResolver("cpu", weights_dir, precision=precision)
    rng = np.random.default_rng(0)
    lines = ["| method | scale | input | LR pixels run | precision | GMAC | s | GMAC/s | "
             "× bound |", "|---|---:|---|---:|---|---:|---:|---:|---:|"]
    comparison: dict[tuple[float, int, int], float] = {}
    for method, scale, side, region in cases:
        if not sr.available(method, scale):
            lines.append(f"| {method} | ×{scale:g} | — | — | — | — | — | — | no weights |")
            continue
        img = rng.random((side, side)).astype(np.float32) * 1000.0
        roi = None
        if region:
            x0 = (side - region) // 2
            roi = (x0, x0, region, region)
        window, macs = case_macs(sr, method, scale, side, region)
        info = {}

        def run() -> None:
            info["i"] = sr.upscale(img, scale, method, roi=roi, return_info=True)[1]
        t = best_time(run, repeats)
        bound = macs / peaks[info["i"].precision]
        what = f"{region}² region of {side}²" if region else f"{side}²"
        lines.append(f"| {method} | ×{scale:g} | {what} | {window}² | {info['i'].precision} | "
                     f"{macs / 1e9:.1f} | {t:.2f} | {macs / t / 1e9:.0f} | {t / bound:.2f} |")
        comparison[(scale, side, region)] = comparison.get((scale, side, region), 0.0) + t
    for (scale, side, region), t in comparison.items():
        if not region:
            continue
        x0 = (side - region) // 2
        img = rng.random((side, side)).astype(np.float32) * 1000.0
        tb = best_time(lambda: sr.upscale(img, scale, "bicubic", roi=(x0, x0, region, region)),
                       repeats)
        lines.append(f"\nFour methods (bicubic + the rows above) on the {region}² region at "
                     f"×{scale:g}: **{t + tb:.2f} s**")
    return lines


def ablation_rows(weights_dir: Path, side: int, repeats: int, precision: str = "fp32"
                  ) -> list[str]:
    """Markdown rows: RMISR-BL ×4 forward on a ``side``² LR input in ``precision`` (resolved)
    with the engine's CPU rewrites added one at a time (merged PyConv levels, ICCA in row bands,
    freed memory reused — with which the engine runs ICCA over the whole image again —, the
    activations folded into their convolutions), timed interleaved in this process, each the best
    of ``repeats`` — what each rewrite is worth; a row with the pages of a run before kept (the
    engine's back-to-back runs: every other row starts with its pages given back); a last row
    keeps the bands with the reuse."""
    import copy

    from ..archs.blocks import pyconv_levels_merged
    from ..archs.icca import icca_row_bands
    from ..inference.fusion import fuse_activations, fuse_pyramid_blocks
    from ..manifest import Manifest, load_model

    record = Manifest(weights_dir).resolve("rmisr-bl", 4.0)
    if record is None:
        return ["| (no RMISR-BL ×4 weights) | | |"]
    plain = load_model(record, weights_dir, "cpu").to(memory_format=torch.channels_last)
    fused = copy.deepcopy(plain)
    fuse_pyramid_blocks(fused)
    fused = fused.to(memory_format=torch.channels_last)
    folded = copy.deepcopy(fused)
    fuse_activations(folded)
    x = torch.rand(1, 1, side, side).contiguous(memory_format=torch.channels_last)
    # (label, model, ICCA in row bands, freed memory reused, after an untimed run in the block)
    configs = [("the paper's layout (channels-last)", plain, False, False, False),
               ("+ PyConv levels merged", fused, False, False, False),
               ("+ ICCA in row bands (where freed memory is unmapped: glibc's defaults, "
                "Windows, macOS)", fused, True, False, False),
               ("+ freed memory reused, ICCA over the whole image again", fused, False, True,
                False),
               ("+ activations folded into their convolutions (the engine on glibc, its first "
                "run)", folded, False, True, False),
               ("+ the pages of a run before kept (the engine's back-to-back runs)", folded,
                False, True, True),
               ("(all of these, ICCA kept in row bands)", folded, True, True, True)]
    best = [float("inf")] * len(configs)
    with torch.inference_mode():
        for rep in range(max(1, repeats) + 1):  # the first round warms up
            for i, (_, model, bands, reuse, after_run) in enumerate(configs):
                # pages given back as each block ends: the next config may be one without reuse
                with (freed_memory_reused(keep_after=0) if reuse else contextlib.nullcontext(),
                      icca_row_bands(bands), autocast("cpu", precision),
                      pyconv_levels_merged(model is not plain)):
                    if after_run:
                        network_forward(model, x, 4.0)
                    t = time.perf_counter()
                    network_forward(model, x, 4.0)
                    dt = time.perf_counter() - t
                if rep:
                    best[i] = min(best[i], dt)
    rows = [f"| {name} | {t:.2f} | {best[0] / t:.2f}× |"
            for (name, *_), t in zip(configs, best)]
    return [f"| RMISR-BL ×4 forward, {side}² LR, {precision} | s | speed-up |",
            "|---|---:|---:|"] + rows


#: the cases :func:`profile_rows` takes apart: the whole-image upscale the bound targets and the
#: slowest part of the four-method region comparison
PROFILE_CASES: list[tuple[str, float, int, int]] = [("rmisr-bl", 4.0, 512, 0),
                                                     ("rmisr-vp", 2.5, 512, 128)]


def _is_convolution(op: str) -> bool:
    return "conv" in op.lower()


@contextlib.contextmanager
def icca_clock(model: torch.nn.Module) -> Iterator[dict[str, float]]:
    """Within the block, ``clock["s"]`` adds up the seconds ``model``'s ICCA blocks take (forward
    pre/post hooks on each; a CPU runs synchronously, so wall time is theirs). Reset it to 0
    between runs; the hooks are removed when the block ends."""
    from ..archs.icca import ICCA

    clock = {"s": 0.0, "start": 0.0}

    def start(*_: object) -> None:
        clock["start"] = time.perf_counter()

    def stop(*_: object) -> None:
        clock["s"] += time.perf_counter() - clock["start"]
    handles = [h for m in model.modules() if isinstance(m, ICCA)
               for h in (m.register_forward_pre_hook(start), m.register_forward_hook(stop))]
    try:
        yield clock
    finally:
        for h in handles:
            h.remove()


def profile_rows(weights_dir: Path, precision: str, cases: list[tuple[str, float, int, int]],
                 repeats: int) -> list[str]:
    """Markdown rows: where an engine upscale's time goes. Each case runs ``repeats`` times with
    a clock on every ICCA block (forward pre/post hooks; a CPU runs synchronously), the best run
    kept: its total and ICCA's inclusive share (its statistics' depthwise box sums, element-wise
    passes, squeeze/excite and gate). Then one run under ``torch.profiler``: the self time of the
    convolution operators (every aten/mkldnn op named ``*conv*``: the network's own and ICCA's
    box sums) against everything else (element-wise, copies, concatenation, reductions)."""
    from torch.profiler import ProfilerActivity, profile

    from ..inference import SuperResolver

    sr = SuperResolver("cpu", weights_dir, precision=precision)
    rng = np.random.default_rng(0)
    lines = ["| case | precision | s | ICCA blocks (inclusive) | convolutions (self) | "
             "everything else (self) |", "|---|---|---:|---:|---:|---:|"]
    for method, scale, side, region in cases:
        model = sr.prepared_model(method, scale)
        if model is None:
            lines.append(f"| {method} ×{scale:g} | — | — | — | — | no weights |")
            continue
        img = rng.random((side, side)).astype(np.float32) * 1000.0
        x0 = (side - region) // 2
        roi = (x0, x0, region, region) if region else None
        with icca_clock(model) as clock:
            sr.upscale(img, scale, method, roi=roi)  # warm-up
            best = (float("inf"), 0.0)
            for _ in range(max(1, repeats)):
                clock["s"] = 0.0
                t = time.perf_counter()
                sr.upscale(img, scale, method, roi=roi)
                best = min(best, (time.perf_counter() - t, clock["s"]))
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            sr.upscale(img, scale, method, roi=roi)
        conv = other = 0.0
        for ev in prof.key_averages():
            if _is_convolution(ev.key):
                conv += ev.self_cpu_time_total
            else:
                other += ev.self_cpu_time_total
        total, icca = best
        what = f"{region}² region of {side}²" if region else f"{side}²"
        lines.append(f"| {method} ×{scale:g}, {what} | {sr.precision} | "
                     f"{total:.3f} | {icca:.3f} s ({icca / total:.0%}) | "
                     f"{conv / (conv + other):.0%} | {other / (conv + other):.0%} |")
    return lines


def floor_rows(weights_dir: Path, precision: str, cases: list[tuple[str, float, int, int]],
               repeats: int, peaks: dict[str, float], arch: str, batch: int, patch: int
               ) -> list[str]:
    """Markdown rows: each case (and a channels-last training step of ``arch`` in the resolved
    precision) timed, then its convolutions replayed alone
    (:func:`models.evaluation.conv_floor.convolution_floor`): the network's own and ICCA's box
    sums, what is left for everything else, and the ratios to the bound of the run and of the
    network's convolutions alone (the floor no rewrite of the rest can go below)."""
    from ..inference import SuperResolver
    from .conv_floor import convolution_floor

    sr = SuperResolver("cpu", weights_dir, precision=precision)
    rng = np.random.default_rng(0)
    lines = ["| case | precision | s | network convolutions alone | ICCA box sums alone | "
             "everything else | × bound | network convolutions alone, × bound |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    runs: list[tuple[str, str, Callable[[], object], float]] = []
    for method, scale, side, region in cases:
        if sr.prepared_model(method, scale) is None:
            continue
        img = rng.random((side, side)).astype(np.float32) * 1000.0
        x0 = (side - region) // 2
        roi = (x0, x0, region, region) if region else None
        _, macs = case_macs(sr, method, scale, side, region)
        info = sr.upscale(img, scale, method, roi=roi, return_info=True)[1]
        what = f"{region}² region of {side}²" if region else f"{side}²"
        runs.append((f"{method} ×{scale:g}, {what}", info.precision,
                     lambda i=img, s=scale, m=method, r=roi: sr.upscale(i, s, m, roi=r),
                     macs / peaks[info.precision]))
    bf16 = resolve_precision(precision, "cpu") == "bf16"  # training: bf16 autocast or fp32
    step = training_step(arch, True, bf16, batch, patch)
    runs.append((f"training step, {arch} ×4, {batch} × {patch}², channels-last",
                  "bf16" if bf16 else "fp32", step,
                  training_macs(arch, batch, patch) / peaks["bf16" if bf16 else "fp32"]))
    with freed_memory_reused():
        for name, prec, fn, bound in runs:
            t = best_time(fn, repeats)
            floor = convolution_floor(fn)
            rest = t - floor["network"] - floor["box sums"]
            lines.append(f"| {name} | {prec} | {t:.3f} | {floor['network']:.3f} | "
                         f"{floor['box sums']:.3f} | {rest:.3f} | {t / bound:.2f} | "
                         f"{floor['network'] / bound:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.speed",
                                description=__doc__.split("\n")[0])
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="the engine's precision for the inference rows (default auto)")
    p.add_argument("--weights-dir", default=str(WEIGHTS_DIR))
    p.add_argument("--repeats", type=int, default=2, help="timed runs per figure (best kept)")
    p.add_argument("--size", type=int, default=512, help="image side of the inference rows")
    p.add_argument("--region", type=int, default=128, help="region side of the ROI rows")
    p.add_argument("--arch", default="rmisr_bl", choices=["rmisr_bl", "rmisr_vp", "srcnn"],
                   help="architecture of the training-step rows")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--patch", type=int, default=48)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--skip", nargs="*", default=[],
                   choices=["layers", "ablation", "inference", "profile", "floor", "training"])
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    # as the viewer does before it starts threads (models.inference.memory); each engine run then
    # reuses freed memory as it does for a user, and the training rows as rmisr-train does
    reused = one_arena()
    native = cpu_has_native_bf16()
    precision = resolve_precision(args.precision, "cpu")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{_dt.date.today().isoformat()} · {cpu_name()} · {os.cpu_count()} cores, "
          f"{torch.get_num_threads()} threads · native bf16: {native} · torch {torch.__version__}"
          f" · load average before the run {load:.2f} · freed memory reused: {reused}\n")
    peaks = {"fp32": conv_rate("fp32")}
    if native or precision != "fp32":
        peaks[precision] = conv_rate(precision)
    print("| convolution 64→64 3×3, 256², channels-last | GMAC/s |\n|---|---:|")
    for k, v in peaks.items():
        print(f"| {k}{'' if k == 'fp32' or native else ' (emulated)'} | {v / 1e9:.0f} |")
    peak = peaks[precision]
    if "layers" not in args.skip:
        print(f"\n| layer shape ({precision}, 256², channels-last) | ms | GMAC/s |\n"
              "|---|---:|---:|")
        for name, ms, rate in layer_rates(precision):
            print(f"| {name} | {ms:.1f} | {rate:.1f} |")
            if name == LAYERS[0][0] and rate * 1e9 > peak:  # the same shape, measured again
                peak = rate * 1e9
        if peak > peaks[precision]:
            print(f"\nOn a shared machine the same shape ran faster a moment later: the bound "
                  f"uses that rate, {peak / 1e9:.0f} GMAC/s (the best this run saw).")
    print(f"\nBound = multiply-adds ÷ the rate of the precision a row ran in ({precision} "
          f"unless it says otherwise); '× bound' = seconds ÷ bound (1.00 is the limit).\n",
          flush=True)
    # the ablation runs first (printed after the inference rows): its rows without the memory
    # reuse measure glibc's defaults, which the inference rows' earlier runs in this process would
    # leave with a different heap (the first ablation row read 6.3 s after them, 9.1 s alone)
    ablation = ([] if "ablation" in args.skip
                else ablation_rows(Path(args.weights_dir), args.size, args.repeats, precision))
    if "inference" not in args.skip:
        cases = [(m, s, args.size, args.region if r else 0) for m, s, _, r in CASES]
        for line in inference_table(Path(args.weights_dir), args.precision, cases,
                                    args.repeats, {**peaks, precision: peak}):
            print(line, flush=True)
    if ablation:
        print("\n" + "\n".join(ablation), flush=True)
    # the cases the profile and the floor take apart, at this run's sizes
    profiled = [(m, s, args.size, args.region if r else 0) for m, s, _, r in PROFILE_CASES]
    if "profile" not in args.skip:
        print("\nWhere the time goes (profile_rows):\n")
        print("\n".join(profile_rows(Path(args.weights_dir), args.precision, profiled,
                                     args.repeats)), flush=True)
    if "floor" not in args.skip:
        print("\nThe convolutions alone (floor_rows):\n")
        print("\n".join(floor_rows(Path(args.weights_dir), args.precision, profiled,
                                   args.repeats, {**peaks, precision: peak}, args.arch,
                                   args.batch, args.patch)), flush=True)
    if "training" not in args.skip:
        macs = training_macs(args.arch, args.batch, args.patch)
        print(f"\nTraining step, {args.arch} ×4, batch {args.batch} × {args.patch}² "
              f"({macs / 1e9:.0f} GMAC: forward + 2 × forward for backward)\n")
        print("| memory format | precision | s / step | GMAC/s | × bound |")
        print("|---|---|---:|---:|---:|")
        for cl in (False, True):
            for bf16 in ((False, True) if native else (False,)):
                with forward_memory(torch.device("cpu")):  # as rmisr-train runs its loop
                    t = time_step(args.arch, cl, bf16, args.steps, args.batch, args.patch)
                rate = peaks.get("bf16" if bf16 else "fp32", peaks["fp32"])
                print(f"| {'channels_last' if cl else 'contiguous'} | "
                      f"{'bf16 autocast' if bf16 else 'fp32'} | {t:.2f} | {macs / t / 1e9:.0f} | "
                      f"{t / (macs / rate):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
