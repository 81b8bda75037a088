"""``rmisr-train`` / ``python -m models.training.train`` — train a network, export its weights.

Examples::

    rmisr-train --arch rmisr_bl --scale 4 \\
        --data ../shared/data/train/T91 ../shared/data/train/BSD200 \\
        --val ../shared/data/benchmark/Set5 --iters 200000 --out runs/rmisr_bl_x4
    rmisr-train --arch rmisr_bl --upsampler meta --scale-range 1.1 5.0 \\
        --init weights/rmisr_bl_x4.safetensors ...
    torchrun --nproc_per_node 2 -m models.training.train ... --device cuda   # DDP

This module is the driver: options, device, the model built from the registry, warm start
(:mod:`.warm_start`), resume (:mod:`.resume_state`), the architecture's objective
(:mod:`.losses`); :mod:`.loop` trains.

Adam β = (0.9, 0.999), lr 2e-4 halved every ``--lr-step`` iterations. Every ``--ckpt-minutes`` the
resume state (model + optimiser moments + step, safetensors + JSON, no pickle) is written to
``OUT/state.safetensors``; ``--resume`` continues from it. Validation PSNR (the benchmark protocol
of :mod:`models.evaluation.benchmark`) on ``--val`` every ``--val-every`` steps goes to
``OUT/log.csv`` with the training loss; the best validation model is exported (``--export``) with
its manifest record at every improvement (every validation with ``--export-latest``); the run's
command repeated with ``--resume --export-now`` exports its saved state, validated anew, without
training (a last step that was not the best validation). A run resumed with another
``--lr``/``--lr-step``/``--seed`` keeps the earlier segments: the record's ``schedule`` lists each
with the step it started at, and its ``note`` is the run's last ``--note``. On CPU, channels_last is
on by default; bf16 autocast is optional (``--bf16``) because on CPUs without AMX it measured slower
than fp32 for these grouped convolutions (README).
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ..evaluation.benchmark import check_set
from ..geometry import SCALE_MAX, SCALE_MIN
from ..inference.forward import forward_memory
from ..inference.precision import cpu_has_native_bf16, resolve_precision
from ..manifest import MANIFEST_NAME, WEIGHTS_DIR
from ..registry import ARCH_REGISTRY, create_model
from .data import PatchSampler, check_folder_weights
from .loop import TrainingRun, schedule, train_loop, validation_scales
from .losses import LossSettings, build_loss
from .resume_state import load_state, pick_resume_state, state_extra
from .warm_start import fix_tensors, seed_model


def build_parser() -> argparse.ArgumentParser:
    """``rmisr-train``'s options; ``--arch`` offers every registered architecture."""
    p = argparse.ArgumentParser(prog="rmisr-train", description=__doc__.split("\n")[0])
    p.add_argument("--arch", required=True, choices=ARCH_REGISTRY.keys())
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--scale", type=float, help="fixed integer scale (sub-pixel models)")
    g.add_argument("--scale-range", type=float, nargs=2, metavar=("MIN", "MAX"),
                   help="train over scales in [MIN, MAX] in 0.1 steps (meta models, SRCNN)")
    p.add_argument("--upsampler", choices=["subpixel", "meta"], default=None)
    p.add_argument("--arch-args", default="{}",
                   help='extra architecture arguments as JSON, e.g. \'{"channels": 32}\'')
    p.add_argument("--data", nargs="+", required=True, help="folders of HR training images")
    p.add_argument("--data-weights", type=float, nargs="+", default=None, metavar="W",
                   help="one sampling weight per --data folder (default 1 each): a folder's "
                        "patches are drawn in proportion to its pixels times its weight, e.g. "
                        "0.5 to add 16-bit MRI slices at half their share")
    p.add_argument("--val", default=None, help="folder for validation PSNR (e.g. Set5)")
    p.add_argument("--val-scales", type=float, nargs="+", default=None)
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument("--patch", type=int, default=48, help="LR patch size")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--iters", type=int, default=100000)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--lr-step", type=int, default=200000, help="halve the lr every N iterations")
    p.add_argument("--lr-gamma", type=float, default=0.5)
    p.add_argument("--warmup", type=int, default=0,
                   help="ramp the lr linearly up to --lr over the first N steps of this schedule "
                        "segment (e.g. when a resume makes tensors trainable whose Adam moments "
                        "start empty); a resume with the same settings continues the ramp")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="autocast precision of the training step (validation is always fp32); "
                        "auto: bf16 where the device runs it natively "
                        "(models.inference.precision), else fp32")
    p.add_argument("--bf16", action="store_true", help="the same as --precision bf16")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--out", required=True, help="run folder (state, log)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.safetensors")
    p.add_argument("--resume-from", default=None, help="a state .safetensors to continue from")
    p.add_argument("--init", default=None, help="initialise matching tensors from a weights file")
    p.add_argument("--freeze-steps", type=int, default=0,
                   help="keep the tensors copied verbatim from --init fixed for the first N steps "
                        "(the new parts learn first; see models.training.grow)")
    p.add_argument("--init-laplacian", default=None,
                   help="a trained RMISR-VP file (any upsampler) whose Laplacian-branch trunk "
                        "and SR PFMDBs 5-6 seed an RMISR-VP grown from an RMISR-BL --init file "
                        "(models.training.grow.transplant_laplacian_trunk)")
    p.add_argument("--train-only", nargs="+", default=None, metavar="PREFIX",
                   help="train only the tensors whose names start with one of these prefixes (e.g. "
                        "lap_ first, so that a transplanted Laplacian branch learns while the SR "
                        "output stays the grown BL's); the rest stay fixed for the whole command")
    p.add_argument("--export", default=None,
                   help="weights file name written into --weights-dir at the best validation "
                        "(see --export-latest)")
    p.add_argument("--weights-dir", default=None,
                   help="where --export writes, with its manifest (default OUT/export; never "
                        "the shipped weights/: models.training.ship copies a file there)")
    p.add_argument("--export-latest", action="store_true",
                   help="export at every validation, not only at a new best PSNR (RMISR-VP: its "
                        "Laplacian losses trade a little PSNR for edges, so the best PSNR is "
                        "the least-trained model)")
    p.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="validate and export an exponential moving average of the weights "
                        "(torch.optim.swa_utils, e.g. 0.999; 0 = off, the default). The average "
                        "is not in the resume state: a resumed run restarts it from the resumed "
                        "weights")
    p.add_argument("--export-now", action="store_true",
                   help="validate the model as initialised or resumed, export it and stop, "
                        "without training (e.g. a run's last state, which was not its best "
                        "validation: repeat the run's command with --resume --export-now)")
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--lap-weight", type=float, default=10.0, help="α of eq. 18 (RMISR-VP)")
    p.add_argument("--cx-weight", type=float, default=1.0, help="β of eq. 18 (RMISR-VP)")
    p.add_argument("--sr-lap-weight", type=float, default=0.0,
                   help="γ·L1(Lap(SR), Lap(HR)) added to eq. 18 (RMISR-VP; 0 = eq. 18 as "
                        "printed). Eq. 18's Laplacian terms reach the SR output only through the "
                        "fusion; this one asks the output itself for the HR edges (a deviation, "
                        "see README)")
    p.add_argument("--pixel-loss", choices=["l1", "l2"], default="l1",
                   help="the SR output's loss for RMISR-BL and SRCNN: l1 (eq. 19, the default) "
                        "or l2 (mean squared error: a last low-rate fine-tune towards PSNR)")
    p.add_argument("--cx-h", type=float, default=0.5)
    p.add_argument("--vgg", default=None, help="VGG-19 state dict for the contextual loss")
    p.add_argument("--p-rescale", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="free text for the manifest's training record")
    return p


def _upsampler(args: argparse.Namespace) -> str:
    """"meta" or "subpixel": --upsampler, else meta for a --scale-range."""
    return args.upsampler or ("meta" if args.scale_range else "subpixel")


def _has_upsampler(arch: str) -> bool:
    """Whether ``arch`` upsamples its LR input itself (takes ``scale`` and ``upsampler``); one that
    does not (SRCNN) works on the bicubic image, serves every scale with one model and trains
    without channels_last."""
    return "upsampler" in inspect.signature(ARCH_REGISTRY.get(arch)).parameters


def _arch_args(args: argparse.Namespace) -> dict[str, Any]:
    """The architecture's arguments: ``--arch-args`` plus, for a network with an upsampler, its
    kind and scale (and the bicubic global skip of a meta model)."""
    extra = json.loads(args.arch_args)
    if not _has_upsampler(args.arch):
        return extra
    up = _upsampler(args)
    if up == "subpixel" and (args.scale is None or float(args.scale) not in (2.0, 3.0, 4.0)):
        raise SystemExit("a sub-pixel model needs --scale 2, 3 or 4 (use --upsampler meta "
                         "--scale-range for other scales)")
    scale = None if up == "meta" else int(args.scale)
    skip = {"global_skip": "bicubic"} if up == "meta" else {}  # see models.archs.rmisr
    return {"scale": scale, "upsampler": up, **skip, **extra}


def _resolve_device(name: str) -> torch.device:
    """``--device`` as a torch device; SystemExit for CUDA where there is none."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available on this machine")
    return torch.device(name)


def _check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, before any work, settings that would fail later (at the first validation, after
    minutes of training) or train something the registry cannot serve."""
    for name in ("iters", "val_every", "lr_step", "batch", "patch", "ckpt_minutes"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.scale_range:
        lo, hi = args.scale_range
        if not SCALE_MIN <= lo <= hi <= SCALE_MAX:
            p.error(f"--scale-range needs {SCALE_MIN} <= MIN <= MAX <= {SCALE_MAX}, got {lo} {hi}")
    elif not SCALE_MIN <= args.scale <= SCALE_MAX:
        p.error(f"--scale must be in {SCALE_MIN}-{SCALE_MAX}, got {args.scale}")
    for v in args.val_scales or []:
        if not SCALE_MIN <= v <= SCALE_MAX:
            p.error(f"--val-scales must be in {SCALE_MIN}-{SCALE_MAX}, got {v}")
    fixed = _has_upsampler(args.arch) and _upsampler(args) == "subpixel"
    if fixed and args.scale is not None and any(float(v) != float(args.scale)
                                                for v in args.val_scales or []):
        p.error(f"a ×{args.scale:g} sub-pixel model validates at ×{args.scale:g} only "
                f"(--val-scales {' '.join(f'{v:g}' for v in args.val_scales)})")
    if not 0.0 <= args.ema < 1.0:  # 1 would keep the first step's weights for ever
        p.error(f"--ema must be a decay in [0, 1) (0 = off), got {args.ema}")
    for name, ok, rule in (("lr", args.lr > 0, "positive"),
                           ("lr_gamma", args.lr_gamma > 0, "positive"),
                           ("warmup", args.warmup >= 0, "0 or more"),
                           ("freeze_steps", args.freeze_steps >= 0, "0 or more"),
                           ("threads", args.threads >= 0, "0 (torch's default) or more"),
                           ("seed", args.seed >= 0, "0 or more"),
                           ("p_rescale", 0.0 <= args.p_rescale <= 1.0, "a probability in 0-1")):
        if not (ok and math.isfinite(getattr(args, name))):
            p.error(f"--{name.replace('_', '-')} must be {rule}, got {getattr(args, name)}")
    try:
        extra = json.loads(args.arch_args)
    except ValueError as exc:
        p.error(f"--arch-args is not JSON ({exc})")
    if not isinstance(extra, dict):
        p.error(f"--arch-args must be a JSON object of the architecture's arguments, got "
                f"{args.arch_args}")
    if args.export is not None and (Path(args.export).name != args.export
                                    or not args.export.endswith(".safetensors")
                                    or args.export == MANIFEST_NAME):
        p.error(f"--export names a weights file in --weights-dir: a plain name ending in "
                f".safetensors, got {args.export!r}")
    if args.weights_dir is not None and Path(args.weights_dir).resolve() == WEIGHTS_DIR.resolve():
        p.error(f"--weights-dir {args.weights_dir} is the shipped weights folder: a run exports "
                "into its own (default OUT/export) and `python -m models.training.ship` copies "
                "an evaluated file into weights/")
    if args.export and not args.val:
        p.error("--export needs --val: the exported file is the best-validated model")
    if args.export_now and not args.export:
        p.error("--export-now needs --export (the file to write) and --val")
    if args.data_weights is not None:
        try:
            check_folder_weights(args.data_weights, len(args.data))
        except ValueError as exc:
            p.error(f"--data-weights: {exc}")


def _set_aside_previous_run(out_dir: Path) -> None:
    """A run that starts at step 0 in a folder an earlier run left its log and state in renames
    them (``log.before-<time>.csv``, ``state.before-<time>.safetensors``): its log would otherwise
    continue the earlier run's, and its first save would overwrite the earlier state."""
    old = [out_dir / "log.csv", out_dir / "state.safetensors"]
    old = [f for f in old if f.exists()]
    if not old:
        return
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(max(f.stat().st_mtime for f in old)))
    for f in old:
        f.rename(f.with_name(f"{f.stem}.before-{stamp}{f.suffix}"))
    print(f"{out_dir} held an earlier run's {' and '.join(f.name for f in old)}: "
          f"renamed to *.before-{stamp}.*")


def main(argv: list[str] | None = None) -> int:
    """Run ``rmisr-train`` with ``argv`` (default: the command line); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    if args.weights_dir is None:
        args.weights_dir = str(Path(args.out) / "export")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    device = _resolve_device(args.device)
    precision = "bf16" if args.bf16 else resolve_precision(args.precision, device)
    if rank == 0:
        given = "--bf16" if args.bf16 else "--precision " + args.precision
        print(f"precision: {precision} ({given}, {device.type})")
    if precision == "bf16" and device.type == "cpu" and cpu_has_native_bf16() is False:
        print("note: this CPU has no native bf16 (no amx_bf16 / avx512_bf16 flag): bf16 autocast "
              "is emulated and likely slower than fp32 here — `python -m models.evaluation.speed` "
              "measures both")
    if distributed:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend)
        rank = dist.get_rank()
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
    if args.threads:
        torch.set_num_threads(args.threads)
    seed = args.seed + 1000 * rank
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)

    if args.val:  # every validation image must be scorable (not found out after training)
        try:
            check_set(args.val, validation_scales(args))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"rmisr-train: --val {exc}") from None
    out_dir = Path(args.out)
    arch_args = _arch_args(args)
    try:
        model = create_model(args.arch, **arch_args).to(device)
    except (TypeError, ValueError) as exc:  # arguments the architecture does not take
        raise SystemExit(f"rmisr-train: --arch-args for {args.arch}: {exc}") from None
    for name in ("init", "init_laplacian"):
        given = getattr(args, name)
        if given and not Path(given).is_file():
            raise SystemExit(f"rmisr-train: --{name.replace('_', '-')} {given}: no such file")
    state_path = pick_resume_state(out_dir / "state.safetensors",
                                   Path(args.resume_from) if args.resume_from else None)
    if (args.resume or args.resume_from) and state_path.exists():
        stored = state_extra(state_path).get("arch_args")
        if stored is not None and stored != json.loads(json.dumps(arch_args)):
            raise SystemExit(f"rmisr-train: the resume state {state_path} is of another network "
                             f"({args.arch} with {stored}; this command builds {arch_args}): "
                             "resume with the arguments it was trained with, or seed a new "
                             "run with --init")
    elif args.export_now and not (args.resume or args.resume_from):
        raise SystemExit("rmisr-train: --export-now exports a saved state: give --resume (the "
                         "run's own) or --resume-from STATE")
    elif args.resume_from or args.export_now:  # named, or nothing to export: never step 0
        raise SystemExit(f"rmisr-train: no resume state at {state_path}"
                         + (" (--export-now exports a saved state)" if args.export_now else ""))
    channels_last = not args.no_channels_last and _has_upsampler(args.arch)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    sampler = PatchSampler(args.data, args.patch, p_rescale=args.p_rescale, seed=seed,
                           folder_weights=args.data_weights)
    try:  # before anything is written: the largest scale's HR window must fit
        sampler.check_scale(args.scale_range[1] if args.scale_range else args.scale)
    except ValueError as exc:
        raise SystemExit(f"rmisr-train: {exc}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds, init_src = seed_model(model, args, arch_args, sampler, rank)
    # one fused kernel for all tensors (CPU and CUDA): 1.4 against 6.6 ms a step for RMISR-BL's
    # 160 tensors on a 2-core CPU, where the default updates them one at a time
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), fused=True)
    step, extra = 0, {}
    if args.resume or args.resume_from:
        if state_path.exists():
            try:
                step, extra = load_state(state_path, model, opt)
            except RuntimeError as exc:  # tensors of another shape: another network
                first = str(exc).splitlines()[0]
                raise SystemExit(f"rmisr-train: the resume state {state_path} does not fit "
                                 f"this {args.arch} ({first})") from None
            if rank == 0:
                print(f"resumed from {state_path} at step {step}")
        elif rank == 0:
            print(f"no resume state at {state_path}; starting at step 0")
    if step == 0 and rank == 0:
        _set_aside_previous_run(out_dir)
    if not args.init and extra.get("seeds"):  # a resumed run's record keeps what seeded it
        seeds = dict(extra["seeds"])
    history = schedule(list(extra.get("schedule", [])), args, step)
    frozen = fix_tensors(model, args, init_src, step, distributed, rank)
    ddp_model = (torch.nn.parallel.DistributedDataParallel(model) if distributed else model)

    sampler.reseed(seed + step)
    objective = build_loss(args.arch, LossSettings(args.lap_weight, args.cx_weight,
                                                   args.sr_lap_weight, args.cx_h, args.vgg,
                                                   args.pixel_loss),
                           device)
    # on a CPU, freed feature maps are reused, not page-faulted in anew each step (validation too)
    with forward_memory(device):
        status = train_loop(TrainingRun(
            args=args, model=model, net=ddp_model, opt=opt, sampler=sampler, objective=objective,
            device=device, precision=precision, channels_last=channels_last, arch_args=arch_args,
            seeds=seeds, out_dir=out_dir, state_path=state_path, step=step, extra=extra,
            schedule=history, frozen=frozen, seed=seed, rank=rank, distributed=distributed))
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return status


if __name__ == "__main__":
    sys.exit(main())
