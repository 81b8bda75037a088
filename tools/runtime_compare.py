"""Compare inference runtimes that a bundle could ship, against the engine's torch path, here.

    pip install onnx onnxruntime openvino      # measurement only: not dependencies of the viewer
    python tools/runtime_compare.py [--methods rmisr-bl rmisr-vp] [--sides 128 256 512]

Before the engine adopts another runtime it must beat its own torch path by ≥ 1.5× on this machine
(and still bundle). This tool measures that, in one process, interleaved (each round runs every
runtime once; the best round counts), on the shipped weights:

* **torch** — what :class:`~models.inference.SuperResolver` runs on a CPU: channels-last, the PyConv
  levels merged (:func:`models.inference.fusion.fuse_pyramid_blocks`), activations folded into the
  convolutions (:func:`~models.inference.fusion.fuse_activations`), ICCA in row bands, freed
  memory reused (:func:`models.inference.memory.freed_memory_reused`);
* **OpenVINO** — the paper's architecture converted by ``openvino.convert_model`` and compiled for
  the CPU at the input's static size (OpenVINO fuses the element-wise tails into its convolutions;
  on a CPU with native bf16 it is asked for bf16, as the engine's ``auto`` would be);
* **ONNX Runtime** — the same network exported with ``torch.onnx.export`` (fp32 only: ONNX Runtime
  has no bf16 convolutions on a CPU);
* **inductor** — ``torch.compile`` of the engine's model (the kernels an AOT-compiled inductor
  package would ship; needs a C++ compiler at build time, not on the user's machine);
* **inductor-frozen** — the same compiler as inference is meant to use it on a CPU (weights
  frozen into the graph and pre-packed for oneDNN, ``torch._inductor.config.freezing``) on one
  graph without breaks: the network with its PyConv levels merged (no activation folding: its
  oneDNN calls are opaque to the compiler), the engine's context variables read as constants,
  and ICCA's data-dependent fallback for channels that span more than its shift's headroom
  switched off (:func:`_static_graph`; where the timing's input has such channels, the max |Δ|
  column shows it).

What is timed is the network on a ``side``² LR input up to its output, without the bicubic global
skip (the same torch code on every path). Each runtime's largest |difference| from torch is printed
beside its time. The runtimes are optional (``pip install openvino onnxruntime onnx``): a missing
one gets a row saying so. Prints Markdown.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as _dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.archs import blocks as blocks_module
from models.archs import icca as icca_module
from models.evaluation.speed import cpu_name
from models.inference.forward import forward_memory
from models.inference.fusion import fuse_activations, fuse_pyramid_blocks
from models.inference.memory import freed_memory_reused, one_arena
from models.inference.precision import autocast, resolve_precision
from models.manifest import WEIGHTS_DIR, Manifest, load_model

RUNTIMES = ("torch", "openvino", "onnxruntime", "inductor", "inductor-frozen")


class _SROnly(torch.nn.Module):
    """The network's SR output alone (RMISR-VP returns (SR, Laplacian)) as a one-input module."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out[0] if isinstance(out, tuple) else out


@contextlib.contextmanager
def _whole_image_icca():
    """ICCA in one piece (no row bands): an exporter traces Python loops as fixed code."""
    saved = icca_module._BAND_BYTES
    icca_module._BAND_BYTES = 2 ** 62
    try:
        yield
    finally:
        icca_module._BAND_BYTES = saved


class _Fixed:
    """A context variable's stand-in that the compiler traces as a constant."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def get(self) -> bool:
        return self.value


@contextlib.contextmanager
def _static_graph():
    """Within the block the network traces as one graph: ICCA over the whole image and PyConv-3's
    levels merged, read as constants instead of context variables, and no deep-channel check
    (``bool(tensor)`` branches; the entropy of channels spanning more than the shift's headroom
    then saturates instead of being recomputed with a lower shift)."""
    saved = icca_module._ROW_BANDS, blocks_module._MERGED_LEVELS, icca_module._deep_channels
    icca_module._ROW_BANDS, blocks_module._MERGED_LEVELS = _Fixed(False), _Fixed(True)
    icca_module._deep_channels = lambda *args, **kwargs: None
    try:
        yield
    finally:
        icca_module._ROW_BANDS, blocks_module._MERGED_LEVELS, icca_module._deep_channels = saved


#: a runtime's builder: (the paper's network, the engine's CPU model, input, precision, threads)
#: → a call that returns the SR output as an array
Builder = Callable[[torch.nn.Module, torch.nn.Module, torch.Tensor, str, int],
                   Callable[[], np.ndarray]]


def _openvino(net: torch.nn.Module, fast: torch.nn.Module, x: torch.Tensor, precision: str,
              threads: int) -> Callable[[], np.ndarray]:
    import openvino as ov
    with torch.no_grad(), _whole_image_icca():
        model = ov.convert_model(net, example_input=x)
    model.reshape(list(x.shape))  # static: OpenVINO plans its kernels for this size
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
              "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
    compiled = ov.Core().compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    data, out = x.numpy(), compiled.output(0)
    return lambda: request.infer({0: data})[out]


def _onnxruntime(net: torch.nn.Module, fast: torch.nn.Module, x: torch.Tensor, precision: str,
                 threads: int) -> Callable[[], np.ndarray]:
    import onnxruntime as ort
    if precision != "fp32":
        raise RuntimeError("no bf16 convolutions on a CPU")
    folder = tempfile.mkdtemp(prefix="rmisr-onnx-")
    try:
        path = os.path.join(folder, "net.onnx")
        with torch.no_grad(), _whole_image_icca():
            torch.onnx.export(net, (x,), path, dynamo=False, opset_version=17)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name, data = session.get_inputs()[0].name, x.numpy()
    return lambda: session.run(None, {name: data})[0]


def _need_compiler() -> None:
    """RuntimeError where inductor could not build its C++ kernels (no ``$CXX`` / ``c++``)."""
    if not shutil.which(os.environ.get("CXX", "c++")):
        raise RuntimeError("no C++ compiler")


def _inductor(net: torch.nn.Module, fast: torch.nn.Module, x: torch.Tensor, precision: str,
              threads: int) -> Callable[[], np.ndarray]:
    _need_compiler()
    compiled = torch.compile(fast, dynamic=False)
    xc = x.contiguous(memory_format=torch.channels_last)

    def run() -> np.ndarray:
        with torch.no_grad(), autocast("cpu", precision), freed_memory_reused():
            return compiled(xc).float().numpy()
    return run


def _inductor_frozen(net: torch.nn.Module, fast: torch.nn.Module, x: torch.Tensor,
                     precision: str, threads: int) -> Callable[[], np.ndarray]:
    _need_compiler()
    import torch._inductor.config as inductor_config
    model = copy.deepcopy(net)
    fuse_pyramid_blocks(model)
    model = model.to(memory_format=torch.channels_last).eval()
    torch._dynamo.reset()
    with inductor_config.patch(freezing=True):
        compiled = torch.compile(model, dynamic=False, fullgraph=True)
        xc = x.contiguous(memory_format=torch.channels_last)

        def run() -> np.ndarray:
            with torch.no_grad(), autocast("cpu", precision), freed_memory_reused(), \
                    _static_graph():
                return compiled(xc).float().numpy()
        run()  # compiles (inside the patch: freezing is read when the graph is compiled)
    return run


BUILDERS: dict[str, Builder] = {"openvino": _openvino, "onnxruntime": _onnxruntime,
                                "inductor": _inductor, "inductor-frozen": _inductor_frozen}


def compare(method: str, scale: float, side: int, rounds: int, precision: str, threads: int,
            weights_dir: Path, runtimes: tuple[str, ...] = RUNTIMES) -> list[str]:
    """Markdown rows for one fixed-scale (sub-pixel) network and input size: each runtime's best
    time, its speed relative to the engine's torch path, its largest |difference| from torch, and
    its one-off preparation time (conversion, compilation, first run)."""
    record = Manifest(weights_dir).resolve(method, scale)
    if not record.is_fixed:
        raise SystemExit(f"{method} ×{scale:g} is served by {record.file}, an arbitrary-scale "
                         "file: this comparison takes the fixed-scale (sub-pixel) networks")
    plain = load_model(record, weights_dir, "cpu").eval()
    plain.global_skip = None
    fast = copy.deepcopy(plain)
    fuse_pyramid_blocks(fast)
    fuse_activations(fast)
    fast = _SROnly(fast.to(memory_format=torch.channels_last))
    plain = _SROnly(plain)
    x = torch.rand(1, 1, side, side, generator=torch.Generator().manual_seed(side))
    xc = x.contiguous(memory_format=torch.channels_last)

    def run_torch() -> np.ndarray:  # the engine's memory regime (ICCA whole where memory is reused)
        with torch.no_grad(), autocast("cpu", precision), forward_memory(torch.device("cpu")):
            return fast(xc).float().numpy()
    reference = run_torch()
    runners: dict[str, Callable[[], np.ndarray]] = {"torch": run_torch}
    notes: dict[str, str] = {"torch": "—"}
    for name in runtimes:
        if name == "torch":
            continue
        t = time.perf_counter()
        try:
            runners[name] = BUILDERS[name](plain, fast, x, precision, threads)
            diff = float(np.abs(runners[name]() - reference).max())
            notes[name] = f"{diff:.1e}; prepared in {time.perf_counter() - t:.0f} s"
        except Exception as exc:  # noqa: BLE001 — a missing or failing runtime is a row, not a crash
            runners.pop(name, None)
            notes[name] = f"not run: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    best = {name: float("inf") for name in runners}
    for _ in range(max(1, rounds)):
        for name, fn in runners.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    rows = []
    for name in runtimes:
        what = f"| {method} | ×{scale:g} | {side}² | {name} |"
        if name in best:
            rows.append(f"{what} {best[name]:.3f} | {best['torch'] / best[name]:.2f}× | "
                        f"{notes[name]} |")
        else:
            rows.append(f"{what} — | — | {notes[name]} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", default=["rmisr-bl", "rmisr-vp"])
    p.add_argument("--scale", type=float, default=4.0)
    p.add_argument("--sides", type=int, nargs="+", default=[128, 256, 512])
    p.add_argument("--rounds", type=int, default=3, help="timed rounds after the check run")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--runtimes", nargs="+", default=list(RUNTIMES[1:]), choices=RUNTIMES[1:])
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--weights-dir", default=str(WEIGHTS_DIR))
    args = p.parse_args(argv)
    one_arena()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    precision = resolve_precision(args.precision, "cpu")
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = [f"torch {torch.__version__}"]
    for module in ("openvino", "onnxruntime"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            versions.append(f"{module} not installed")
    print(f"# Runtimes on {cpu_name()}, {threads} threads, {precision}, {when}\n")
    print(f"{', '.join(versions)}; best of {args.rounds} interleaved rounds\n")
    print("| network | scale | LR input | runtime | s | speed vs torch | max \\|Δ\\| from torch |")
    print("|---|---:|---|---|---:|---:|---|")
    for method in args.methods:
        for side in args.sides:
            for row in compare(method, args.scale, side, args.rounds, precision, threads,
                               Path(args.weights_dir), ("torch", *args.runtimes)):
                print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
