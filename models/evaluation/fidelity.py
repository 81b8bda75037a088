"""``python -m models.evaluation.fidelity`` — what half precision costs in accuracy, per precision.

For each precision (default bf16 and fp16) against fp32, with the shipped RMISR-BL weights
(``--method rmisr-vp``: RMISR-VP's):

* the benchmark protocol (:mod:`models.evaluation.benchmark`: MATLAB-bicubic LR, Y channel, 8-bit
  rounding, shave ⌈s⌉) on Set5 and Set14 at ×2 and ×4: PSNR in each precision and the difference;
* the chest CT slices (``../shared/data/medical/ct``, HR → MATLAB-bicubic LR → SR in HU, the
  engine's default normalisation): mean and 99.9th percentile of |SR(precision) − SR(fp32)| in HU.

A precision the CPU does not run natively is emulated: the figures hold (the arithmetic is the
same), only the time does not. Prints Markdown.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from ..geometry import round_half_up
from ..inference import SuperResolver
from ..resize import imresize
from .benchmark import SHARED_DATA, evaluate_folder
from .engine_args import add_engine_arguments, resolver_from_args
from .medical_data import read_dicom

_DATA = SHARED_DATA


def benchmark_rows(sr: SuperResolver, data: Path, sets: list[str], scales: list[float],
                   precisions: list[str], method: str = "rmisr-bl") -> list[str]:
    """Markdown rows: set, scale, fp32 PSNR, then each precision's PSNR and difference."""
    lines = []
    for set_name in sets:
        for s in scales:
            scores = {}
            for p in ["fp32"] + precisions:
                def up(lr: np.ndarray, scale: float, p: str = p) -> np.ndarray:
                    return sr.upscale(lr, scale, method, normalization="range",
                                      value_range=(0, 255), precision=p)
                scores[p] = evaluate_folder(up, data / set_name, s).psnr
            cells = " | ".join(f"{scores[p]:.3f} ({scores[p] - scores['fp32']:+.3f})"
                               for p in precisions)
            lines.append(f"| {set_name} | ×{s:g} | {scores['fp32']:.3f} | {cells} |")
    return lines


def ct_rows(sr: SuperResolver, ct_dir: Path, scales: list[float], precisions: list[str],
            method: str = "rmisr-bl") -> list[str]:
    """Markdown rows: scale, then each precision's mean and 99.9th-percentile |Δ| in HU."""
    slices = [read_dicom(p)[0] for p in sorted(ct_dir.glob("*.dcm"))]
    lines = []
    for s in scales:
        diffs: dict[str, list[np.ndarray]] = {p: [] for p in precisions}
        for hr_full in slices:
            h = int(math.floor(hr_full.shape[0] / s + 1e-9))
            w = int(math.floor(hr_full.shape[1] / s + 1e-9))
            hr = hr_full[:round_half_up(h * s), :round_half_up(w * s)]
            lr = imresize(hr, 1.0 / s, output_shape=(h, w))
            ref = sr.upscale(lr, s, method, precision="fp32").astype(np.float64)
            for p in precisions:
                out = sr.upscale(lr, s, method, precision=p).astype(np.float64)
                diffs[p].append(np.abs(out - ref).ravel())
        cells = []
        for p in precisions:
            d = np.concatenate(diffs[p])
            cells.append(f"{d.mean():.3f} / {np.percentile(d, 99.9):.2f}")
        lines.append(f"| ×{s:g} ({len(slices)} slices) | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.fidelity",
                                description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(_DATA), help="folder holding benchmark/ and medical/")
    p.add_argument("--precisions", nargs="+", default=["bf16", "fp16"],
                   choices=["bf16", "fp16"])
    p.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    p.add_argument("--scales", type=float, nargs="+", default=[2.0, 4.0])
    p.add_argument("--method", default="rmisr-bl", choices=["rmisr-bl", "rmisr-vp"],
                   help="the network measured (the shipped file serving each scale)")
    add_engine_arguments(p, precision=False,
                         device_help="where to run (fp16 is measured where it runs natively: cuda)")
    args = p.parse_args(argv)
    data = Path(args.data)
    sr = resolver_from_args(args)
    name = {"rmisr-bl": "RMISR-BL", "rmisr-vp": "RMISR-VP"}[args.method]
    print(f"{name}, shipped weights, on {args.device} (fp32: IEEE float32, TF32 off); auto "
          f"precision there: {sr.precision}\n")
    print("| set | scale | fp32 PSNR (dB) | " + " | ".join(f"{q} PSNR (Δ)" for q in args.precisions)
          + " |")
    print("|---|---:|---:|" + "---:|" * len(args.precisions))
    for line in benchmark_rows(sr, data / "benchmark", args.sets, args.scales, args.precisions,
                               args.method):
        print(line, flush=True)
    ct = data / "medical" / "ct"
    if ct.is_dir():
        print("\n| chest CT, HR → bicubic LR → SR | "
              + " | ".join(f"{q}: mean / 99.9th pct |Δ| (HU)" for q in args.precisions) + " |")
        print("|---|" + "---:|" * len(args.precisions))
        for line in ct_rows(sr, ct, args.scales, args.precisions, args.method):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
