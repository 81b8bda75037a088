"""A training run's resume state, and ``python -m models.training.resume_state RUN_STATE DEST
[--half | --same-as WEIGHTS | --at-weights WEIGHTS --step N]``, a small, committable copy of it.

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

A compact state whose model is exactly a shipped weights file (the best validation was the last
step, as for most shipped files) is written as a *reference* (``--same-as WEIGHTS``): metadata
only, naming that file (relative to the state) and its sha256, so the working tree does not hold
the same tensors twice (every tracked byte travels to a GPU machine, whose limit is 64 MiB).
Loading it reads the named file's tensors after checking its sha256; a file that changed since is
refused with a message saying how to get the state back from git.

When the run went on past the step that was shipped (it was stopped after a later validation),
``--at-weights WEIGHTS --step N`` writes the reference for the shipped step instead: the run's
metadata with the step set back to ``N`` and its log cut at ``N``, naming ``WEIGHTS``. Resuming
from it continues the shipped model, not the run's later one (Adam restarts, as for any compact
state).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load as load_safetensors
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
            # Adam's own count: the moments' age, which its bias correction divides by (not
            # the run's step when the moments started later: a run seeded from a compact state)
            tensors[f"opt.{i}.step"] = torch.tensor([float(st["step"])], dtype=torch.float64)
    meta = {"step": str(step), "extra": json.dumps(extra)}
    tmp = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)


class ResumeStateError(ValueError):
    """A resume state that cannot be read as written (a reference whose weights changed)."""


def state_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """A resume state's tensors (the model's under ``model.``), a reference's from its weights
    file, after checking that file's sha256 (see the module docstring).

    Raises:
        ResumeStateError: the referenced file is missing or not the one referenced.
    """
    path = Path(path)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if "weights_file" not in meta:
        return load_file(str(path))
    target = (path.parent / meta["weights_file"]).resolve()
    if not target.is_file():
        raise ResumeStateError(f"resume state {path} refers to {target}, which does not exist")
    data = target.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != meta.get("weights_sha256"):
        raise ResumeStateError(
            f"resume state {path} refers to {target} with sha256 {meta.get('weights_sha256')}, "
            f"but that file's sha256 is {found}: it was replaced after the state was written "
            f"(get the state's tensors back with `git log -- {path}` and `git show`)")
    return {f"model.{k}": v for k, v in load_safetensors(data).items()}


def load_state(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer
               ) -> tuple[int, dict[str, Any]]:
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    tensors = state_tensors(path)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    step = int(meta.get("step", 0))
    group = opt.param_groups[0]
    on_device = bool(group.get("fused") or group.get("capturable"))  # where Adam keeps it
    for i, p in enumerate(group["params"]):
        if f"opt.{i}.exp_avg" in tensors:
            # the moments' own age (states written before 2026-12-08 hold none: the run's step,
            # as they were resumed then — too old where the moments began after step 0)
            age = float(tensors[f"opt.{i}.step"].item()) if f"opt.{i}.step" in tensors \
                else float(step)
            opt.state[p] = {
                "step": torch.tensor(age, dtype=torch.float32,
                                     device=p.device if on_device else "cpu"),
                "exp_avg": tensors[f"opt.{i}.exp_avg"].to(p.device, torch.float32),
                "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"].to(p.device, torch.float32),
            }
    return step, json.loads(meta.get("extra", "{}"))


def state_extra(path: Path) -> dict[str, Any]:
    """The metadata a resume state carries beside its step (architecture arguments, schedule,
    best validation…); {} where it has none."""
    with safe_open(str(path), "pt") as f:
        return json.loads((f.metadata() or {}).get("extra", "{}"))


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



def compact(src: str | Path, dest: str | Path, half: bool = False,
            same_as: str | Path | None = None, at_weights: str | Path | None = None,
            step: int | None = None) -> Path:
    """Write the compact copy of resume state ``src`` to ``dest`` (and its log beside it).

    Args:
        src: a run's ``state.safetensors`` (or a compact state).
        dest: the compact file to write (atomically).
        half: store the model's floating-point tensors in float16.
        same_as: a weights file (e.g. the shipped export of the same run); where the compact
            model's tensors equal it exactly (names, dtypes, values), ``dest`` is written as a
            reference to it instead of a copy. Otherwise the copy is written.
        at_weights: a weights file the run exported at an earlier ``step`` (the run went on):
            ``dest`` is written as a reference to it at that step, its log cut there. The file's
            tensor names and shapes must be the run's model's.
        step: the step ``at_weights`` was exported at (required with it; not after the run's).

    Returns:
        ``dest`` as a Path.

    Raises:
        ValueError: ``at_weights`` without a valid ``step``, or a file that is not this model.
    """
    with safe_open(str(src), "pt") as f:
        meta = f.metadata() or {}
    meta = {k: v for k, v in meta.items() if k not in ("weights_file", "weights_sha256")}
    tensors = {k: (v.half() if half and v.is_floating_point() else v)
               for k, v in state_tensors(src).items() if k.startswith("model.")}
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if at_weights is not None:
        run_step = int(meta.get("step", 0))
        if step is None or not 0 <= step <= run_step:
            raise ValueError(f"--at-weights needs --step, the step {at_weights} was exported at "
                             f"(0 to the run's step {run_step}); got {step}")
    weights = at_weights if at_weights is not None else same_as
    if weights is not None:
        data = Path(weights).read_bytes()
        shipped = load_safetensors(data)
        model = {k[len("model."):]: v for k, v in tensors.items()}
        if at_weights is not None:  # an earlier step's export: the same model, other values
            if {k: v.shape for k, v in shipped.items()} != {k: v.shape for k, v in model.items()}:
                raise ValueError(f"{at_weights} is not a model of this run ({src}): its tensor "
                                 "names or shapes differ")
            meta["step"] = str(step)
        refer = at_weights is not None or (shipped.keys() == model.keys() and all(
            v.dtype == shipped[k].dtype and torch.equal(v, shipped[k]) for k, v in model.items()))
        if refer:
            meta["weights_file"] = os.path.relpath(Path(weights).resolve(), dest.parent.resolve())
            meta["weights_sha256"] = hashlib.sha256(data).hexdigest()
            tensors = {}
    tmp = dest.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, dest)
    log = Path(src).parent / "log.csv"
    if log.exists() and at_weights is not None:
        head, *rows = log.read_text().splitlines(keepends=True)
        dest.with_suffix(".log.csv").write_text(
            head + "".join(r for r in rows if int(r.split(",", 1)[0]) <= step))
    elif log.exists():
        shutil.copyfile(log, dest.with_suffix(".log.csv"))
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.training.resume_state",
                                description=__doc__.strip().splitlines()[0])
    p.add_argument("run_state")
    p.add_argument("dest")
    p.add_argument("--half", action="store_true", help="store the model in float16")
    p.add_argument("--same-as", default=None, metavar="WEIGHTS",
                   help="a weights file: where the model equals it exactly, write a reference "
                        "to it (metadata only) instead of a copy")
    p.add_argument("--at-weights", default=None, metavar="WEIGHTS",
                   help="a weights file the run exported at an earlier --step: write a reference "
                        "to it at that step (the log cut there)")
    p.add_argument("--step", type=int, default=None, help="the step --at-weights was exported at")
    args = p.parse_args(argv)
    if (args.at_weights is None) != (args.step is None):
        p.error("--at-weights and --step go together")
    if args.at_weights is not None and (args.half or args.same_as):
        p.error("--at-weights writes a reference: no --half or --same-as with it")
    try:
        out = compact(args.run_state, args.dest, args.half, args.same_as, args.at_weights,
                      args.step)
    except ValueError as e:
        p.error(str(e))
    with safe_open(str(out), "pt") as f:
        ref = (f.metadata() or {}).get("weights_file")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB" + (f"; a reference to {ref})" if ref
                                                              else ")"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
