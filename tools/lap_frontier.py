"""How far can a fixed sharpening or smoothing of an SR output move its Laplacian-L1, at what PSNR?

    python tools/lap_frontier.py [--method rmisr-bl] [--scale 4] [--sets Set5 Set14]

RMISR-VP is asked for a Laplacian-L1 (mean |Lap(SR) − Lap(HR)|, the benchmark protocol's edge
figure) at least 3 % below RMISR-BL's while losing at most 0.1 dB of PSNR. This tool asks the
cheapest question first: does any unsharp mask ``SR + a·(SR − G_σ * SR)`` (a > 0 sharpens, a < 0
smooths) of the shipped network's output reach that trade? It scores every (σ, a) on the benchmark
protocol (MATLAB-bicubic LR, Y channel, 8-bit rounding, ``ceil(s)`` border shaved) and prints the
PSNR and Laplacian-L1 change of each against a = 0. Prints Markdown.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.evaluation.benchmark import SHARED_DATA, iter_pairs, scored_pair
from models.inference import SuperResolver
from models.metrics import laplacian_l1, psnr


def psnr_and_lap_l1(sr: np.ndarray, hr: np.ndarray, scale: float) -> tuple[float, float]:
    """The protocol's PSNR and Laplacian-L1 (its SSIM is not needed here)."""
    a, r = scored_pair(sr, hr, scale)
    return psnr(a, r), laplacian_l1(a, r)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", default="rmisr-bl")
    p.add_argument("--scale", type=float, default=4.0)
    p.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.7, 1.0, 1.5])
    p.add_argument("--amounts", type=float, nargs="+", default=[-0.2, -0.1, -0.05, 0.05, 0.1, 0.2])
    args = p.parse_args(argv)
    sr = SuperResolver("cpu")
    print(f"{args.method} ×{args.scale:g}: unsharp mask SR + a·(SR − G_σ * SR); change against "
          "a = 0 (PSNR dB / Laplacian-L1 %)\n")
    print("| σ | a | " + " | ".join(args.sets) + " |")
    print("|---:|---:|" + "---:|" * len(args.sets))
    outputs = {}
    base = {}
    for name in args.sets:
        outputs[name] = [(sr.upscale(pair.lr, args.scale, args.method, value_range=(0, 255)),
                          pair.hr) for pair in iter_pairs(SHARED_DATA / "benchmark" / name,
                                                          args.scale)]
        scores = [psnr_and_lap_l1(y, hr, args.scale) for y, hr in outputs[name]]
        base[name] = (np.mean([s[0] for s in scores]), np.mean([s[1] for s in scores]))
    print("| — | 0 | " + " | ".join(f"{base[n][0]:.3f} dB / {base[n][1]:.4f}"
                                   for n in args.sets) + " |")
    for sigma in args.sigmas:
        for a in args.amounts:
            cells = []
            for name in args.sets:
                scores = [psnr_and_lap_l1(y + a * (y - gaussian_filter(y, sigma)), hr,
                                          args.scale) for y, hr in outputs[name]]
                dp = np.mean([s[0] for s in scores]) - base[name][0]
                dl = (np.mean([s[1] for s in scores]) / base[name][1] - 1) * 100
                cells.append(f"{dp:+.3f} / {dl:+.2f} %")
            print(f"| {sigma:g} | {a:+g} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
