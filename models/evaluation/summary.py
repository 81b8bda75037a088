"""``python -m models.evaluation.summary`` — parameters and multiply-adds of every architecture.

Multiply-adds are counted (:mod:`.complexity`) for one 256×256 LR input, on the ``meta`` device
so nothing is computed. For the meta upsampler the count includes the weight-prediction MLP, run
once per distinct sub-pixel offset pair, and its stacked filter application.
"""
from __future__ import annotations

import argparse
import sys

import torch

from ..archs.blocks import PyConv3
from ..archs.pfmdb import PFMDB
from ..archs.upsamplers import MetaUpsampler, SubPixelUpsampler
from ..geometry import output_size
from ..inference.forward import network_forward
from ..registry import create_model
from .complexity import count_macs, count_params

META = {"scale": None, "upsampler": "meta", "global_skip": "bicubic"}  # as the shipped meta models
ROWS: list[tuple[str, str, dict, float]] = [
    ("SRCNN (9-1-5, on the bicubic image)", "srcnn", {}, 4.0),
    ("RMISR-BL ×2 (sub-pixel)", "rmisr_bl", {"scale": 2}, 2.0),
    ("RMISR-BL ×3 (sub-pixel)", "rmisr_bl", {"scale": 3}, 3.0),
    ("RMISR-BL ×4 (sub-pixel)", "rmisr_bl", {"scale": 4}, 4.0),
    ("RMISR-BL-meta ×2.5", "rmisr_bl", META, 2.5),
    ("RMISR-BL-meta ×4", "rmisr_bl", META, 4.0),
    ("RMISR-VP ×4 (sub-pixel)", "rmisr_vp", {"scale": 4}, 4.0),
    ("RMISR-VP-meta ×2.5", "rmisr_vp", META, 2.5),
]


def rows(size: int = 256) -> list[tuple[str, int, int, str]]:
    """(name, parameters, multiply-adds, output size) for every architecture and upsampler."""
    out = []
    x = torch.zeros(1, 1, size, size, device="meta")
    for name, arch, kwargs, scale in ROWS:
        model = create_model(arch, **kwargs).to("meta").eval()
        macs = count_macs(lambda m=model, s=scale: network_forward(m, x, s)) if arch != "srcnn" \
            else count_macs(model, torch.zeros(1, 1, *output_size(size, size, scale),
                                               device="meta"))
        oh, ow = output_size(size, size, scale)
        out.append((name, count_params(model), macs, f"{oh}×{ow}"))
    feat = torch.zeros(1, 64, size, size, device="meta")
    for s in (2, 3, 4):
        up = SubPixelUpsampler(64, 1, s).to("meta")
        out.append((f"  sub-pixel upsampler ×{s} (64→1)", count_params(up), count_macs(up, feat),
                    "×".join(map(str, output_size(size, size, s)))))
    for s in (2.5, 3.5, 4.0):
        up = MetaUpsampler(64, 1).to("meta")
        macs = count_macs(up, feat, s)
        out.append((f"  meta upsampler ×{s:g} (64→1, "
                    f"{up.last_distinct_offsets} distinct offsets)",
                    count_params(up), macs, "×".join(map(str, output_size(size, size, s)))))
    blk = PFMDB().to("meta")
    out.append(("  PFMDB (64 maps)", count_params(blk), count_macs(blk, feat), f"{size}×{size}"))
    py = PyConv3()
    weights = sum(p.numel() for n, p in py.named_parameters() if n.endswith("weight"))
    out.append((f"  PyConv-3 ({weights:,} weights without bias)", count_params(py),
                count_macs(py.to("meta"), feat), f"{size}×{size}"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.summary",
                                description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=256, help="LR input size (default 256)")
    args = p.parse_args(argv)
    print(f"Parameters and multiply-adds for a {args.size}×{args.size} LR input\n")
    print(f"| {'architecture':<58} | {'parameters':>11} | {'mult-adds (G)':>13} | {'output':>9} |")
    print(f"|{'-' * 60}|{'-' * 12}:|{'-' * 14}:|{'-' * 10}:|")
    for name, params, macs, size in rows(args.size):
        print(f"| {name:<58} | {params:>11,} | {macs / 1e9:>13.2f} | {size:>9} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
