"""Compare inference runtimes that a bundle could ship without a compiler, on this machine.

    pip install onnx onnxruntime openvino      # measurement only: not dependencies of the viewer
    python tools/runtime_compare.py [--side 256] [--rounds 5]

Exports the shipped RMISR-BL ×4 (sub-pixel, bicubic skip) for a fixed ``side``² LR input to ONNX
(opset 17, TorchScript exporter), then times, interleaved round by round in one process so that
load on the machine affects each alike: torch (fp32, channels-last, the engine's path), ONNX
Runtime (CPU provider) and OpenVINO (CPU, f32, and bf16 where the CPU has it natively). Prints
the best time of each and its largest difference from torch's output. The engine adopts another
runtime only if it beats torch by 1.5× or more (docs/speed.md).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.inference import SuperResolver  # noqa: E402
from models.inference.precision import cpu_has_native_bf16  # noqa: E402


class _Fixed(torch.nn.Module):
    """The ×4 network with its scale and output size fixed, for export."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, 4.0, (x.shape[-2] * 4, x.shape[-1] * 4))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--side", type=int, default=256)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    import onnxruntime as ort
    import openvino as ov

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    sr = SuperResolver("cpu", precision="fp32")
    model = sr._model(sr.weights_record("rmisr-bl", 4)).eval()
    for m in model.modules():  # the engine's cancel hooks are not part of the network
        m._forward_pre_hooks.clear()
    x = np.random.default_rng(0).random((1, 1, args.side, args.side)).astype(np.float32)
    xt = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    path = Path(tempfile.mkdtemp()) / "rmisr_bl_x4.onnx"
    with torch.no_grad():
        torch.onnx.export(_Fixed(model), (torch.from_numpy(x),), str(path), dynamo=False,
                          opset_version=17)
    model.eval()  # the exporter leaves the module in training mode
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    core = ov.Core()
    runners = {}
    with torch.inference_mode():
        runners["torch fp32 channels-last"] = lambda: model(xt, 4.0, (args.side * 4,) * 2).numpy()
    name = sess.get_inputs()[0].name
    runners["ONNX Runtime fp32"] = lambda: sess.run(None, {name: x})[0]
    hints = ["f32"] + (["bf16"] if cpu_has_native_bf16() else [])
    for hint in hints:
        comp = core.compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                     "INFERENCE_PRECISION_HINT": hint})
        req = comp.create_infer_request()
        out = comp.output(0)
        runners[f"OpenVINO {hint}"] = lambda req=req, out=out: req.infer({0: x})[out]
    ref = None
    best = {k: float("inf") for k in runners}
    diffs = {}
    with torch.inference_mode():
        for k, run in runners.items():  # warm-up and the outputs
            y = np.asarray(run())
            ref = y if ref is None else ref
            diffs[k] = float(np.abs(y - ref).max())
        for _ in range(args.rounds):
            for k, run in runners.items():
                t = time.perf_counter()
                run()
                best[k] = min(best[k], time.perf_counter() - t)
    print(f"RMISR-BL ×4, {args.side}² LR, {threads} threads, best of {args.rounds} interleaved "
          f"rounds; OpenVINO {ov.__version__}, ONNX Runtime {ort.__version__}, "
          f"torch {torch.__version__}\n")
    print("| runtime | s | vs torch | max abs diff from torch (0–1 scale) |")
    print("|---|---:|---:|---:|")
    base = best["torch fp32 channels-last"]
    for k in runners:
        print(f"| {k} | {best[k]:.3f} | {base / best[k]:.2f}× | {diffs[k]:.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
