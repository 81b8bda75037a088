"""The training loop of ``rmisr-train``: steps, learning-rate schedule, validation, export.

Adam β = (0.9, 0.999), lr halved (``--lr-gamma``) every ``--lr-step`` iterations, an optional linear
warm-up. Each step draws a scale, a batch of patches, and minimises the architecture's objective
(:func:`models.training.losses.build_loss`). Every ``--val-every`` steps the validation PSNR goes to
``OUT/log.csv`` with the training loss, and the best validation model is exported with its
manifest record (with ``--ema``, an exponential moving average of the weights is what is validated
and exported: the weight averaging the SR literature uses late in training); the resume state is
written every ``--ckpt-minutes`` and on SIGTERM/SIGINT. A run resumed with other settings keeps
the earlier ones: :func:`schedule` lists each segment with the step it started at.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import math
import os
import platform
import random
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from ..evaluation.benchmark import evaluate_folder
from ..inference.forward import network_forward
from ..inference.precision import autocast
from ..manifest import WeightsRecord, export_weights
from ..methods import METHODS
from .data import PatchSampler
from .resume_state import save_state

ARCH_TO_METHOD = {spec.arch: name for name, spec in METHODS.items() if spec.arch}


_SCHEDULE_KEYS = ("lr", "lr_step", "lr_gamma", "seed")
# Recorded in a segment only where they differ from their default, so that segments written
# before an option existed still match a command that leaves it at the default.
_SCHEDULE_OPTIONAL = {"sr_lap_weight": 0.0, "warmup": 0, "train_only": None, "ema": 0.0}
# Recorded in every segment since it was added; a segment written before that (no such key) matches
# any value, so resuming an older run with the same command adds no segment.
_SCHEDULE_SINCE = {"freeze_steps": 0}


def _trim_log(path: Path, step: int) -> None:
    """Drop the rows of ``log.csv`` past ``step``, the step a run resumes at: a run stopped
    without saving its last steps (killed) logged steps it will now take again."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    kept = [r for r in rows if not (r and r[0].isdigit() and int(r[0]) > step)]
    if len(kept) < len(rows):
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as f:
            csv.writer(f).writerows(kept)
        os.replace(tmp, path)
        print(f"{path.name}: {len(rows) - len(kept)} row(s) past step {step} (not in the "
              "resume state) removed")


def _finite_everywhere(loss: torch.Tensor, distributed: bool) -> bool:
    """Whether the loss is finite on every process (all of them stop together, or none)."""
    ok = torch.isfinite(loss.detach()).all().float().reshape(1)
    if distributed:
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item())


def schedule(history: list[dict[str, Any]], args: argparse.Namespace, step: int
             ) -> list[dict[str, Any]]:
    """The run's learning-rate schedule so far, with this command's segment appended if it differs.

    A run resumed with another ``--lr``/``--lr-step``/``--seed``/``--sr-lap-weight``/``--warmup``/
    ``--train-only``/``--ema``/``--freeze-steps`` (a restart) would otherwise export a manifest
    record that describes only its last command. Each segment says from which step it applied (the
    ``_SCHEDULE_OPTIONAL`` keys only where not at their default, the ``_SCHEDULE_SINCE`` ones
    always); a resumed command without ``--note`` inherits the run's last note.
    """
    seg = {"from_step": step, **{k: getattr(args, k) for k in _SCHEDULE_KEYS},
           **{k: getattr(args, k, d) for k, d in _SCHEDULE_OPTIONAL.items()
              if getattr(args, k, d) != d},
           **{k: getattr(args, k, d) for k, d in _SCHEDULE_SINCE.items()}}
    if args.note:
        seg["note"] = args.note
    last = history[-1] if history else None
    if last is not None and all(last.get(k) == seg[k] for k in _SCHEDULE_KEYS) \
            and all(last.get(k, d) == seg.get(k, d) for k, d in _SCHEDULE_OPTIONAL.items()) \
            and all(last.get(k, seg[k]) == seg[k] for k in _SCHEDULE_SINCE) \
            and (not args.note or last.get("note") == args.note):
        return list(history)
    return [*history, seg]


def lr_at(step: int, args: argparse.Namespace, segment_start: int) -> float:
    """The lr of ``step``: halved (``--lr-gamma``) every ``--lr-step`` steps, and within the first
    ``--warmup`` steps of the current schedule segment scaled by (steps into it + 1) / warmup."""
    lr = args.lr * (args.lr_gamma ** (step // args.lr_step))
    into = step - segment_start
    if args.warmup and 0 <= into < args.warmup:
        lr *= (into + 1) / args.warmup
    return lr



def run_note(history: list[dict[str, Any]]) -> str:
    """The last ``--note`` of a run's schedule segments (``""`` when none)."""
    return next((h["note"] for h in reversed(history) if h.get("note")), "")



def hardware(device: torch.device) -> str:
    """The device as the manifest's training record names it."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"



def validation_scales(args: argparse.Namespace) -> list[float]:
    """The scales a run validates at: ``--val-scales``, else ×4 and ×2.5 for a scale range, else
    the model's own scale."""
    return args.val_scales or ([4.0, 2.5] if args.scale_range else [float(args.scale)])


def validate(model: torch.nn.Module, folder: str, scales: list[float], device: torch.device
             ) -> dict[float, float]:
    """Validation PSNR of ``model`` on the benchmark images in ``folder`` at each scale (the
    protocol of :mod:`models.evaluation.benchmark`, in IEEE fp32 on every device); the model is
    left in train mode."""
    model.eval()
    out = {}
    with torch.no_grad(), autocast(device, "fp32"):
        def up(lr: np.ndarray, s: float) -> np.ndarray:
            x = torch.from_numpy(lr.astype(np.float32) / 255.0)[None, None].to(device)
            return network_forward(model, x, s)[0, 0].float().cpu().numpy() * 255.0
        for s in scales:
            out[s] = evaluate_folder(up, folder, s).psnr
    model.train()
    return out



@dataclass
class TrainingRun:
    """What ``rmisr-train`` prepared for the loop."""

    args: argparse.Namespace                 #: the command's options
    model: torch.nn.Module                   #: the model (unwrapped)
    net: torch.nn.Module                     #: what the step calls: the model or its DDP wrapper
    opt: torch.optim.Optimizer
    sampler: PatchSampler
    objective: Callable[..., torch.Tensor]   #: :func:`models.training.losses.build_loss`
    device: torch.device
    precision: str                           #: the training step's autocast precision
    channels_last: bool
    arch_args: dict[str, Any]
    seeds: dict[str, Any]                    #: the files that seeded the model (manifest record)
    out_dir: Path
    state_path: Path                         #: the resume state the run continued from
    step: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  #: the resume state's metadata
    schedule: list[dict[str, Any]] = field(default_factory=list)
    frozen: list[torch.nn.Parameter] = field(default_factory=list)
    seed: int = 0
    rank: int = 0
    distributed: bool = False


def train_loop(run: TrainingRun) -> int:
    """Train until ``--iters`` (or a stop signal), validating, exporting and saving the resume
    state on the way.

    Args:
        run: the prepared run.

    Returns:
        0.
    """
    args, model, ddp_model, opt, sampler = run.args, run.model, run.net, run.opt, run.sampler
    device, rank, distributed, schedule = run.device, run.rank, run.distributed, run.schedule
    step, extra, frozen, arch_args = run.step, run.extra, run.frozen, run.arch_args
    seed = run.seed
    train_seconds = float(extra.get("train_seconds", 0.0))
    if args.scale_range:
        lo, hi = args.scale_range
        scale_choices = [round(lo + 0.1 * i, 1) for i in range(int(round((hi - lo) / 0.1)) + 1)]
    else:
        scale_choices = [float(args.scale)]
    val_scales = validation_scales(args)
    val_key = {"set": Path(args.val).name if args.val else None, "scales": val_scales}
    best = float(extra.get("best_val", -math.inf))
    # A best mean over other scales or images is no yardstick: it restarts. (States written
    # before the validation was recorded keep theirs, so a run's better export is not replaced.)
    if best > -math.inf and "val" in extra and extra["val"] != val_key:
        best = -math.inf
        if rank == 0:
            print("the resumed state's best validation PSNR was measured on other scales or "
                  "images: it restarts")
    rng = random.Random(seed + step)
    # --ema: the average is what is validated and exported; it starts from the weights as they
    # are now (initialised or resumed: the resume state does not carry it)
    ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema))
           if args.ema else None)
    scored = ema.module if ema is not None else model

    log_path = run.out_dir / "log.csv"
    carried_log = run.state_path.with_suffix(".log.csv")  # the history a compact state carries
    if rank == 0 and not log_path.exists() and carried_log.exists():
        shutil.copyfile(carried_log, log_path)
    if rank == 0 and step > 0 and log_path.exists():
        _trim_log(log_path, step)
    new_log = not log_path.exists()
    log_file = open(log_path, "a", newline="") if rank == 0 else None
    log = csv.writer(log_file) if log_file else None
    if log and new_log:
        log.writerow(["step", "loss", "lr", "val_scale", "val_psnr", "train_seconds", "time"])
        log_file.flush()

    def export(val: dict[float, float]) -> None:
        if not args.export or rank != 0:
            return
        method = ARCH_TO_METHOD[args.arch]
        fixed = arch_args.get("upsampler") == "subpixel"
        record = WeightsRecord(
            file=args.export, method=method, arch=args.arch, arch_args=arch_args,
            scales=[int(args.scale)] if fixed else [],
            scale_range=None if fixed else [min(scale_choices), max(scale_choices)],
            training={
                "iterations": step,
                "batch": args.batch * (dist.get_world_size() if distributed else 1),
                "patch_lr": args.patch, "lr": args.lr, "lr_step": args.lr_step,
                "data": [str(Path(d)) for d in args.data],
                **({"data_weights": list(args.data_weights)}
                   if getattr(args, "data_weights", None) else {}),
                "validation": {Path(args.val).name if args.val else "none":
                               {f"x{k:g}": round(v, 3) for k, v in val.items()}},
                "loss": run.objective.name,
                **run.seeds,
                **({"freeze_steps": args.freeze_steps} if args.freeze_steps else {}),
                **({"ema": args.ema} if ema is not None else {}),
                **({"train_only": args.train_only} if args.train_only else {}),
                "date": _dt.date.today().isoformat(), "hardware": hardware(device),
                "train_hours": round(train_seconds / 3600.0, 2), "note": run_note(schedule),
                **({"schedule": schedule} if len(schedule) > 1 or args.warmup else {}),
            })
        export_weights(scored, record, args.weights_dir)
        print(f"exported {args.export} (val {val})")

    stop = {"requested": False}

    def _request_stop(signum: int, frame: Any) -> None:  # save the resume state, then exit
        stop["requested"] = True
    if rank == 0:
        signal.signal(signal.SIGTERM, _request_stop)
        signal.signal(signal.SIGINT, _request_stop)

    if args.export_now:  # export the model as it stands, train nothing
        if rank == 0:
            val = validate(model, args.val, val_scales, device)
            print(f"step {step}: " + ", ".join(f"x{s:g} {v:.3f} dB" for s, v in val.items()))
            export(val)
        if log_file:
            log_file.close()
        return 0

    if rank == 0 and args.init and step == 0 and args.val:  # where the seeded model starts
        for s, v in validate(model, args.val, val_scales, device).items():
            log.writerow([0, "", f"{args.lr:.3g}", s, f"{v:.4f}", "0",
                          _dt.datetime.now().isoformat(timespec="seconds")])
            print(f"step 0 (as initialised from {args.init}): x{s:g} {v:.2f} dB")
        log_file.flush()

    if rank == 0 and step >= args.iters:
        print(f"the run is at step {step} already, --iters {args.iters}: nothing to train "
              f"(give --iters above {step} to go on)")
    last_ckpt = time.time()
    pbar = tqdm(total=args.iters, initial=step, disable=rank != 0, dynamic_ncols=True)
    model.train()
    t0 = time.time()
    loss_ema = None

    def save() -> None:
        save_state(run.out_dir / "state.safetensors",
                   model, opt, step, {"best_val": best, "val": val_key,
                                      "train_seconds": train_seconds,
                                      "arch_args": arch_args, "schedule": schedule,
                                      "seeds": run.seeds})

    saved_at = step
    try:
        while step < args.iters:
            scale = rng.choice(scale_choices)
            lr_t, hr_t = sampler.sample(args.batch, scale)
            lr_t, hr_t = lr_t.to(device), hr_t.to(device)
            if run.channels_last:
                lr_t = lr_t.contiguous(memory_format=torch.channels_last)
            lr_now = lr_at(step, args, schedule[-1]["from_step"])
            for g in opt.param_groups:
                g["lr"] = lr_now
            with autocast(device, run.precision, allow_tf32=True):
                loss = run.objective(ddp_model, lr_t, hr_t, scale)
            if not _finite_everywhere(loss, distributed):  # diverged: keep the last good state
                if rank == 0:
                    pbar.close()
                    where = "on some process" if distributed else f"{float(loss.detach())}"
                print(f"\nrmisr-train: error: the loss is not finite ({where}) at step "
                          f"{step + 1} (the run diverged: a lower --lr, or bf16 → --precision "
                          "fp32?); "
                          f"stopped before updating the weights; the resume state and the exports "
                          f"keep the last ones saved", file=sys.stderr)
                if log_file:
                    log_file.close()
                return 3
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            if frozen and step >= args.freeze_steps:
                for p in frozen:
                    p.requires_grad_(True)
                frozen = []
            lv = float(loss.detach())
            loss_ema = lv if loss_ema is None else 0.98 * loss_ema + 0.02 * lv
            pbar.update(1)
            pbar.set_postfix(loss=f"{loss_ema:.5f}", s=scale, best=f"{best:.2f}")
            now = time.time()
            train_seconds += now - t0
            t0 = now
            if rank == 0 and (step % args.val_every == 0 or step == args.iters) and args.val:
                val = validate(scored, args.val, val_scales, device)
                for s, v in val.items():
                    log.writerow([step, f"{loss_ema:.6f}", f"{lr_now:.3g}", s, f"{v:.4f}",
                                  f"{train_seconds:.0f}",
                                  _dt.datetime.now().isoformat(timespec="seconds")])
                log_file.flush()
                score = float(np.mean(list(val.values())))
                if score > best or args.export_latest:
                    best = max(best, score)
                    export(val)
                t0 = time.time()
            elif rank == 0 and step % 100 == 0:
                log.writerow([step, f"{loss_ema:.6f}", f"{lr_now:.3g}", "", "",
                              f"{train_seconds:.0f}",
                              _dt.datetime.now().isoformat(timespec="seconds")])
                log_file.flush()
            if rank == 0 and (time.time() - last_ckpt > args.ckpt_minutes * 60 or step == args.iters
                              or stop["requested"]):
                save()
                saved_at = step
                last_ckpt = time.time()
                if stop["requested"]:
                    print(f"\nstopped at step {step}; resume state saved")
                    break
    except Exception:
        # an export that failed (a full disk, a damaged manifest): the steps since the last
        # save are kept before the error ends the run (the weights are those of a whole step)
        if rank == 0 and step > saved_at:
            save()
            print(f"\nresume state saved at step {step} before the error below", file=sys.stderr)
        raise
    pbar.close()
    if log_file:
        log_file.close()
    return 0
