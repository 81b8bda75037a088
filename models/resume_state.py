"""``python -m models.resume_state RUN_STATE DEST [--half]`` — a small, committable resume state.

A run's ``state.safetensors`` holds the model and Adam's two moment buffers (3× the model). The
compact copy keeps the model (float32) and the step/metadata only, so it stays a few MB; resuming
from it (``rmisr-train ... --resume-from DEST``) restarts Adam's moments, which re-estimate within
a few hundred steps thanks to Adam's bias correction. The run's ``log.csv`` (loss and validation
history) travels with it as ``DEST`` with the suffix ``.log.csv``; ``python -m models.curve``
prints it. ``--half`` stores the model in float16 (half the size, for models whose float32 copy
would exceed the ~8 MB commit limit, e.g. RMISR-VP's 2.26 M parameters); loading casts it back to
float32, so resuming costs only float16 rounding of the weights (relative 5e-4).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file


def compact(src: str | Path, dest: str | Path, half: bool = False) -> Path:
    with safe_open(str(src), "pt") as f:
        meta = f.metadata() or {}
    tensors = {k: (v.half() if half and v.is_floating_point() else v)
               for k, v in load_file(str(src)).items() if k.startswith("model.")}
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, dest)
    log = Path(src).parent / "log.csv"
    if log.exists():
        shutil.copyfile(log, dest.with_suffix(".log.csv"))
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.resume_state",
                                description=__doc__.strip().splitlines()[0])
    p.add_argument("run_state")
    p.add_argument("dest")
    p.add_argument("--half", action="store_true", help="store the model in float16")
    args = p.parse_args(argv)
    out = compact(args.run_state, args.dest, args.half)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
