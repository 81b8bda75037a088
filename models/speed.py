"""``python -m models.speed`` — seconds per training step on this machine, by memory format and
precision (SPEC §4.4): fp32 vs bf16 autocast, contiguous vs channels_last, for one batch of
16 × 48² LR patches at ×4 (L1 loss, Adam; SRCNN runs on their bicubic-sized 192² inputs). Prints
a Markdown table; the fastest setting is what ``rmisr-train`` should use on this hardware
(channels_last is its default, bf16 is ``--bf16``).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

from .precision import cpu_has_native_bf16  # noqa: F401  (re-exported)
from .registry import create_model


def time_step(arch: str, channels_last: bool, bf16: bool, steps: int, batch: int, patch: int
              ) -> float:
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
    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            out = out[0] if isinstance(out, tuple) else out
        loss = (out.float() - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step warms up oneDNN
            times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.speed", description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="rmisr_bl", choices=["rmisr_bl", "rmisr_vp", "srcnn"])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--patch", type=int, default=48)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{args.arch} ×4, batch {args.batch}×{args.patch}², "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}\n")
    print("| memory format | precision | s / step | speed-up |")
    print("|---|---|---:|---:|")
    base = None
    for cl in (False, True):
        for bf16 in (False, True):
            t = time_step(args.arch, cl, bf16, args.steps, args.batch, args.patch)
            base = base or t
            print(f"| {'channels_last' if cl else 'contiguous'} | "
                  f"{'bf16 autocast' if bf16 else 'fp32'} | {t:.2f} | {base / t:.2f}× |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
