"""A training run's resume state, and ``python -m models.training.resume_state RUN_STATE DEST
[--half]``, a small, committable copy of it.

:func:`save_state` writes the model, Adam's moments and the step as safetensors with JSON metadata
(no pickle), atomically; :func:`load_state` restores them; ``--resume-from`` seeds a run until the
run's own state is further along (:func:`pick_resume_state`).

A run's ``state.safetensors`` holds the model and Adam's two moment buffers (3× the model). The
compact copy keeps the model (float32) and the step/metadata only, so it stays a few MB; resuming
from it (``rmisr-train ... --resume-from DEST``) restarts Adam's moments, which re-estimate within
a few hundred steps thanks to Adam's bias correction. The run's ``log.csv`` (loss and validation
history) travels with it as ``DEST`` with the suffix ``.log.csv``;
``python -m models.evaluation.curve`` prints it. ``--half`` stores the model in float16 (half the
size, for models whose float32 copy would exceed the ~8 MB commit limit, e.g. RMISR-VP's 2.26 M
parameters); loading casts it back to float32, so resuming costs only float16 rounding of the
weights (relative 5e-4).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


def save_state(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int,
               extra: dict[str, Any], moments_dtype: torch.dtype = torch.float32) -> None:
    """Resume state as safetensors (+ JSON metadata), written atomically."""
    tensors = {f"model.{k}": v.detach().float().cpu().contiguous()
               for k, v in model.state_dict().items()}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        st = opt.state.get(p, {})
        if "exp_avg" in st:
            tensors[f"opt.{i}.exp_avg"] = st["exp_avg"].detach().to(
                "cpu", moments_dtype).contiguous()
            tensors[f"opt.{i}.exp_avg_sq"] = st["exp_avg_sq"].detach().to(
                "cpu", moments_dtype).contiguous()
    meta = {"step": str(step), "extra": json.dumps(extra)}
    tmp = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)


def load_state(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer
               ) -> tuple[int, dict[str, Any]]:
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    step = int(meta.get("step", 0))
    params = opt.param_groups[0]["params"]
    for i, p in enumerate(params):
        if f"opt.{i}.exp_avg" in tensors:
            opt.state[p] = {
                "step": torch.tensor(float(step)),
                "exp_avg": tensors[f"opt.{i}.exp_avg"].to(p.device, torch.float32),
                "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"].to(p.device, torch.float32),
            }
    return step, json.loads(meta.get("extra", "{}"))


def state_step(path: Path) -> int:
    """The step recorded in a resume state's metadata (-1 when the file is missing)."""
    if not path.exists():
        return -1
    with safe_open(str(path), "pt") as f:
        return int((f.metadata() or {}).get("step", 0))


def pick_resume_state(run_state: Path, resume_from: Path | None) -> Path:
    """``--resume-from`` seeds a run; once the run's own state is further along, that one wins."""
    if resume_from is None or state_step(run_state) > state_step(resume_from):
        return run_state
    return resume_from



def compact(src: str | Path, dest: str | Path, half: bool = False) -> Path:
    """Write the compact copy of resume state ``src`` to ``dest`` (and its log beside it).

    Args:
        src: a run's ``state.safetensors``.
        dest: the compact file to write (atomically).
        half: store the model's floating-point tensors in float16.

    Returns:
        ``dest`` as a Path.
    """
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
    p = argparse.ArgumentParser(prog="python -m models.training.resume_state",
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
