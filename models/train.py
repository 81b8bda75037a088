"""``rmisr-train`` / ``python -m models.train`` — train a network, export its weights.

Examples::

    rmisr-train --arch rmisr_bl --scale 4 \\
        --data ../shared/data/train/T91 ../shared/data/train/BSD200 \\
        --val ../shared/data/benchmark/Set5 --iters 200000 --out runs/rmisr_bl_x4
    rmisr-train --arch rmisr_bl --upsampler meta --scale-range 1.1 5.0 \\
        --init weights/rmisr_bl_x4.safetensors ...
    torchrun --nproc_per_node 2 -m models.train ... --device cuda     # DistributedDataParallel

Adam β = (0.9, 0.999), lr 2e-4 halved every ``--lr-step`` iterations. Every ``--ckpt-minutes`` the
resume state (model + optimiser moments + step, safetensors + JSON, no pickle) is written to
``OUT/state.safetensors``; ``--resume`` continues from it. Validation PSNR (the benchmark protocol
of :mod:`models.benchmark`) on ``--val`` every ``--val-every`` steps goes to ``OUT/log.csv`` with
the training loss; the best validation model is exported (``--export``) with its manifest record at
every improvement and at the end. A run resumed with another ``--lr``/``--lr-step``/``--seed`` keeps
the earlier segments: the record's ``schedule`` lists each with the step it started at, and its
``note`` is the run's last ``--note``. On CPU, channels_last is on by default; bf16 autocast is
optional (``--bf16``) because on CPUs without AMX it measured slower than fp32 for these grouped
convolutions (README).
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import platform
import random
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load as load_safetensors
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from .benchmark import evaluate_folder
from .data import PatchSampler
from .forward import network_forward
from .geometry import SCALE_MAX, SCALE_MIN
from .grow import bl_name, can_embed, embed_bl_in_vp, transplant_laplacian_trunk
from .laplacian import laplacian
from .losses import ContextualLoss, PatchFeatures, VGG19Features
from .registry import (METHODS, WEIGHTS_DIR, Manifest, WeightsError, WeightsRecord, create_model,
                       export_weights, sha256_bytes)
from .resize import upsample_bicubic
from .precision import autocast, cpu_has_native_bf16, resolve_precision

ARCH_TO_METHOD = {spec.arch: name for name, spec in METHODS.items() if spec.arch}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rmisr-train", description=__doc__.split("\n")[0])
    p.add_argument("--arch", required=True, choices=["rmisr_bl", "rmisr_vp", "srcnn"])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--scale", type=float, help="fixed integer scale (sub-pixel models)")
    g.add_argument("--scale-range", type=float, nargs=2, metavar=("MIN", "MAX"),
                   help="train over scales in [MIN, MAX] in 0.1 steps (meta models, SRCNN)")
    p.add_argument("--upsampler", choices=["subpixel", "meta"], default=None)
    p.add_argument("--arch-args", default="{}",
                   help='extra architecture arguments as JSON, e.g. \'{"channels": 32}\'')
    p.add_argument("--data", nargs="+", required=True, help="folders of HR training images")
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
                        "auto: bf16 where the device runs it natively (models.precision), "
                        "else fp32")
    p.add_argument("--bf16", action="store_true", help="the same as --precision bf16")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--out", required=True, help="run folder (state, log)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.safetensors")
    p.add_argument("--resume-from", default=None, help="a state .safetensors to continue from")
    p.add_argument("--init", default=None, help="initialise matching tensors from a weights file")
    p.add_argument("--freeze-steps", type=int, default=0,
                   help="keep the tensors copied verbatim from --init fixed for the first N steps "
                        "(the new parts learn first; see models.grow)")
    p.add_argument("--init-laplacian", default=None,
                   help="a trained RMISR-VP file (any upsampler) whose Laplacian-branch trunk "
                        "and SR PFMDBs 5-6 seed an RMISR-VP grown from an RMISR-BL --init file "
                        "(models.grow.transplant_laplacian_trunk)")
    p.add_argument("--train-only", nargs="+", default=None, metavar="PREFIX",
                   help="train only the tensors whose names start with one of these prefixes (e.g. "
                        "lap_ first, so that a transplanted Laplacian branch learns while the SR "
                        "output stays the grown BL's); the rest stay fixed for the whole command")
    p.add_argument("--export", default=None,
                   help="weights file name in weights/ (best val; see --export-latest)")
    p.add_argument("--weights-dir", default=str(WEIGHTS_DIR))
    p.add_argument("--export-latest", action="store_true",
                   help="export at every validation, not only at a new best PSNR (RMISR-VP: its "
                        "Laplacian losses trade a little PSNR for edges, so the best PSNR is "
                        "the least-trained model)")
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--lap-weight", type=float, default=10.0, help="α of eq. 18 (RMISR-VP)")
    p.add_argument("--cx-weight", type=float, default=1.0, help="β of eq. 18 (RMISR-VP)")
    p.add_argument("--sr-lap-weight", type=float, default=0.0,
                   help="γ·L1(Lap(SR), Lap(HR)) added to eq. 18 (RMISR-VP; 0 = eq. 18 as "
                        "printed). Eq. 18's Laplacian terms reach the SR output only through the "
                        "fusion; this one asks the output itself for the HR edges (a deviation, "
                        "see README)")
    p.add_argument("--cx-h", type=float, default=0.5)
    p.add_argument("--vgg", default=None, help="VGG-19 state dict for the contextual loss")
    p.add_argument("--p-rescale", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="free text for the manifest's training record")
    return p


def _upsampler(args: argparse.Namespace) -> str:
    """"meta" or "subpixel": --upsampler, else meta for a --scale-range."""
    return args.upsampler or ("meta" if args.scale_range else "subpixel")


def _arch_args(args: argparse.Namespace) -> dict[str, Any]:
    extra = json.loads(args.arch_args)
    if args.arch == "srcnn":
        return extra
    up = _upsampler(args)
    if up == "subpixel" and (args.scale is None or float(args.scale) not in (2.0, 3.0, 4.0)):
        raise SystemExit("a sub-pixel model needs --scale 2, 3 or 4 (use --upsampler meta "
                         "--scale-range for other scales)")
    scale = None if up == "meta" else int(args.scale)
    skip = {"global_skip": "bicubic"} if up == "meta" else {}  # see models.rmisr
    return {"scale": scale, "upsampler": up, **skip, **extra}


def _load_seed(path: str) -> tuple[dict[str, torch.Tensor], str]:
    """An ``--init``/``--init-laplacian`` file's tensors and sha256, from a single read.

    A weights file, or a compact resume state (``python -m models.resume_state``: its tensors
    are the model's under ``model.``), so that a committed resume state can seed another model
    (e.g. an RMISR-VP grown on a candidate RMISR-BL not yet shipped)."""
    data = Path(path).read_bytes()
    tensors = load_safetensors(data)
    if tensors and all(k.startswith("model.") for k in tensors):
        tensors = {k[len("model."):]: v for k, v in tensors.items()}
    return tensors, sha256_bytes(data)


def _seed_arch_args(init: str) -> dict[str, Any] | None:
    """The architecture arguments an ``--init`` file was trained with: its manifest record's,
    else (a compact resume state) those its metadata records; None when neither says."""
    path = Path(init)
    try:
        record = Manifest(path.parent).for_file(path.name)
    except WeightsError:
        record = None
    if record is not None:
        return dict(record.arch_args)
    try:
        from safetensors import safe_open
        with safe_open(str(path), "pt") as f:
            extra = json.loads((f.metadata() or {}).get("extra", "{}"))
    except (OSError, ValueError):
        return None
    args = extra.get("arch_args") if isinstance(extra, dict) else None
    return dict(args) if isinstance(args, dict) else None


def _check_init_skip(init: str, arch_args: dict[str, Any]) -> None:
    """Refuse an ``--init`` file whose manifest record has another global skip than the model.

    A state dict does not say whether its model added the bicubic image (models.rmisr), so
    growing an RMISR-VP from an RMISR-BL file (:func:`models.grow.embed_bl_in_vp`) reproduces
    the BL only with the same skip; the file's record in the manifest beside it says which (or a
    compact resume state's metadata).
    """
    seed_args = _seed_arch_args(init)
    if seed_args is None:
        return
    theirs, ours = seed_args.get("global_skip"), arch_args.get("global_skip")
    if theirs != ours:
        raise SystemExit(f"--init {init} was trained with global_skip={theirs!r} but this "
                         f"model has {ours!r}; pass --arch-args '{{\"global_skip\": "
                         f"{json.dumps(theirs)}}}' to grow from it")


_SCHEDULE_KEYS = ("lr", "lr_step", "lr_gamma", "seed")
# Recorded in a segment only where they differ from their default, so that segments written
# before an option existed still match a command that leaves it at the default.
_SCHEDULE_OPTIONAL = {"sr_lap_weight": 0.0, "warmup": 0, "train_only": None}
# Recorded in every segment since it was added; a segment written before that (no such key) matches
# any value, so resuming an older run with the same command adds no segment.
_SCHEDULE_SINCE = {"freeze_steps": 0}


def _schedule(history: list[dict[str, Any]], args: argparse.Namespace, step: int
              ) -> list[dict[str, Any]]:
    """The run's learning-rate schedule so far, with this command's segment appended if it differs.

    A run resumed with another ``--lr``/``--lr-step``/``--seed``/``--sr-lap-weight``/``--warmup``/
    ``--train-only``/``--freeze-steps`` (a restart) would otherwise export a manifest record that
    describes only its last command. Each segment says from which step it applied (the
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


def _lr_at(step: int, args: argparse.Namespace, segment_start: int) -> float:
    """The lr of ``step``: halved (``--lr-gamma``) every ``--lr-step`` steps, and within the first
    ``--warmup`` steps of the current schedule segment scaled by (steps into it + 1) / warmup."""
    lr = args.lr * (args.lr_gamma ** (step // args.lr_step))
    into = step - segment_start
    if args.warmup and 0 <= into < args.warmup:
        lr *= (into + 1) / args.warmup
    return lr


def _loss_name(args: argparse.Namespace, cx_loss: Any) -> str:
    """The training loss as the manifest records it (eq. 19; RMISR-VP: eq. 18 [+ γ term])."""
    if args.arch != "rmisr_vp":
        return "L1"
    extractor = cx_loss.extractor_name if cx_loss is not None else "off"
    name = f"L1 + {args.lap_weight:g}·L1(Lap) + {args.cx_weight:g}·CX[{extractor}]"
    if args.sr_lap_weight:
        name += f" + {args.sr_lap_weight:g}·L1(Lap(SR))"
    return name


def _run_note(history: list[dict[str, Any]]) -> str:
    return next((h["note"] for h in reversed(history) if h.get("note")), "")


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available on this machine")
    return torch.device(name)


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
    from safetensors import safe_open
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
    from safetensors import safe_open
    if not path.exists():
        return -1
    with safe_open(str(path), "pt") as f:
        return int((f.metadata() or {}).get("step", 0))


def _pick_resume_state(run_state: Path, resume_from: Path | None) -> Path:
    """``--resume-from`` seeds a run; once the run's own state is further along, that one wins."""
    if resume_from is None or state_step(run_state) > state_step(resume_from):
        return run_state
    return resume_from


def _source_names(name: str) -> list[str]:
    """``name`` and, for RMISR-VP's SR branch, its RMISR-BL spelling (:func:`models.grow.bl_name`):
    ``--init`` also seeds across architectures."""
    alias = bl_name(name)
    return [name] + ([alias] if alias else [])


def _init_from(model: torch.nn.Module, src: dict[str, torch.Tensor],
               calibration: torch.Tensor | None = None) -> int:
    """Copy every tensor of ``src`` (an ``--init`` file's state) whose name and shape match.

    An RMISR-BL file seeding an RMISR-VP with the same kind of upsampler goes through
    :func:`models.grow.embed_bl_in_vp` instead, so that the VP starts out computing the BL's output
    (a meta one fits a feature reduction on the ``calibration`` LR patches).

    Otherwise (e.g. the ×4 body into a meta model) a name missing from the file is also looked up
    under its RMISR-BL spelling, so RMISR-BL ×4 seeds RMISR-VP's head and its first four SR-branch
    PFMDBs (shapes that differ, such as the 4- vs 6-block fusion, are left at their
    initialisation).
    """
    if can_embed(model, src):
        return embed_bl_in_vp(model, src, calibration)  # function-preserving: VP starts as BL
    own = model.state_dict()
    hits = {}
    # A residual (global-skip) model starts as bicubic: a file of a non-residual model (no meta
    # upsampler) must not overwrite the zero-initialised layer that produces the residual.
    # A file of the very same architecture (every name and shape present) is copied whole.
    same_arch = all(k in src and src[k].shape == v.shape for k, v in own.items())
    keep_zero = (getattr(model, "residual_out", None)
                 if getattr(model, "global_skip", None) and not same_arch
                 and not any(".mlp." in k for k in src)
                 else None)
    for k, v in own.items():
        if keep_zero and k.startswith(keep_zero):
            continue
        names = _source_names(k)
        for name in names:
            if name in src and src[name].shape == v.shape:
                hits[k] = src[name]
                break
    own.update(hits)
    model.load_state_dict(own)
    return len(hits)


@torch.no_grad()
def _verbatim_from(model: torch.nn.Module, src: dict[str, torch.Tensor]
                   ) -> list[torch.nn.Parameter]:
    """The parameters that still hold a tensor of ``src``, the ``--init`` file (name or alias).

    "Still" allows the float16 rounding of a compact resume state (``resume_state --half``); such
    a parameter gets the file's exact values back.
    """
    out = []
    for k, p in model.named_parameters():
        names = _source_names(k)
        for n in names:
            if n in src and src[n].shape == p.shape:
                v = src[n].to(p.device, p.dtype)
                if torch.allclose(v, p, rtol=1e-3, atol=1e-7):
                    p.copy_(v)
                    out.append(p)
                    break
    return out


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def validate(model: torch.nn.Module, folder: str, scales: list[float], device: torch.device
             ) -> dict[float, float]:
    model.eval()
    out = {}
    with torch.no_grad():
        def up(lr: np.ndarray, s: float) -> np.ndarray:
            x = torch.from_numpy(lr.astype(np.float32) / 255.0)[None, None].to(device)
            return network_forward(model, x, s)[0, 0].float().cpu().numpy() * 255.0
        for s in scales:
            out[s] = evaluate_folder(up, folder, s).psnr
    model.train()
    return out


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
    fixed = args.arch != "srcnn" and _upsampler(args) == "subpixel"
    if fixed and args.scale is not None and any(float(v) != float(args.scale)
                                                for v in args.val_scales or []):
        p.error(f"a ×{args.scale:g} sub-pixel model validates at ×{args.scale:g} only "
                f"(--val-scales {' '.join(f'{v:g}' for v in args.val_scales)})")
    if args.export and not args.val:
        p.error("--export needs --val: the exported file is the best-validated model")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    device = _resolve_device(args.device)
    precision = "bf16" if args.bf16 else resolve_precision(args.precision, device)
    if rank == 0:
        print(f"precision: {precision} ({'--bf16' if args.bf16 else '--precision ' + args.precision}"
              f", {device.type})")
    if precision == "bf16" and device.type == "cpu" and cpu_has_native_bf16() is False:
        print("note: this CPU has no native bf16 (no amx_bf16 / avx512_bf16 flag): bf16 autocast "
              "is emulated and likely slower than fp32 here — `python -m models.speed` measures "
              "both")
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

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    arch_args = _arch_args(args)
    model = create_model(args.arch, **arch_args).to(device)
    channels_last = not args.no_channels_last and args.arch != "srcnn"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    sampler = PatchSampler(args.data, args.patch, p_rescale=args.p_rescale, seed=seed)
    # The files that seeded the model, as its manifest record names them.
    seeds: dict[str, Any] = {"init": Path(args.init).name if args.init else None}
    init_src: dict[str, torch.Tensor] = {}
    if args.init:
        init_src, seeds["init_sha256"] = _load_seed(args.init)
        calibration = None  # LR patches, only where growing a meta RMISR-VP needs them
        grow = can_embed(model, init_src)  # an RMISR-BL file seeding an RMISR-VP
        if grow:
            _check_init_skip(args.init, arch_args)
        if grow and model.upsampler_kind == "meta":
            calibration = torch.cat([sampler.sample(16, s)[0] for s in (2.0, 2.5, 3.0, 4.0)])
        n = _init_from(model, init_src, calibration)
        if rank == 0:
            print(f"initialised {n} tensors from {args.init}")
    if args.init_laplacian:
        if not (args.init and grow):
            raise SystemExit("--init-laplacian seeds an RMISR-VP grown from an RMISR-BL "
                             "--init file")
        bl_blocks = len({k.split(".")[2] for k in init_src if k.startswith("body.blocks.")})
        lap_src, sha = _load_seed(args.init_laplacian)
        seeds.update(init_laplacian=Path(args.init_laplacian).name, init_laplacian_sha256=sha)
        try:
            n = transplant_laplacian_trunk(model, lap_src, bl_blocks)
        except ValueError as e:
            raise SystemExit(f"--init-laplacian {args.init_laplacian}: {e}") from None
        if rank == 0:
            print(f"Laplacian trunk: {n} tensors from {args.init_laplacian}")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999))
    step, extra = 0, {}
    state_path = _pick_resume_state(out_dir / "state.safetensors",
                                    Path(args.resume_from) if args.resume_from else None)
    if args.resume or args.resume_from:
        if state_path.exists():
            step, extra = load_state(state_path, model, opt)
            if rank == 0:
                print(f"resumed from {state_path} at step {step}")
        elif rank == 0:
            print(f"no resume state at {state_path}; starting at step 0")
    train_seconds = float(extra.get("train_seconds", 0.0))
    schedule = _schedule(list(extra.get("schedule", [])), args, step)
    frozen = _verbatim_from(model, init_src) if args.init and step < args.freeze_steps else []
    if frozen and len(frozen) == len(list(model.parameters())):
        raise SystemExit(f"--freeze-steps: every tensor comes from {args.init}; "
                         "nothing would train")
    if frozen and distributed:
        raise SystemExit("--freeze-steps is not supported with DistributedDataParallel")
    if args.train_only:
        if frozen:
            raise SystemExit("--train-only fixes tensors for the whole command: leave out "
                             "--freeze-steps")
        trained = tuple(args.train_only)
        fixed = [p for k, p in model.named_parameters() if not k.startswith(trained)]
        if len(fixed) == len(list(model.parameters())):
            raise SystemExit("--train-only: no tensor name starts with "
                             + " or ".join(args.train_only))
        if distributed:
            raise SystemExit("--train-only is not supported with DistributedDataParallel")
        for p in fixed:
            p.requires_grad_(False)
        if rank == 0:
            print(f"{len(fixed)} tensors fixed (--train-only {' '.join(args.train_only)})")
    for p in frozen:
        p.requires_grad_(False)
    if frozen and rank == 0:
        print(f"{len(frozen)} tensors from {args.init} fixed until step {args.freeze_steps}")
    ddp_model = (torch.nn.parallel.DistributedDataParallel(model) if distributed else model)

    sampler.reseed(seed + step)
    is_vp = args.arch == "rmisr_vp"
    cx_loss = None
    if is_vp and args.cx_weight > 0:
        feats = VGG19Features(args.vgg) if args.vgg else PatchFeatures()
        cx_loss = ContextualLoss(feats, h=args.cx_h).to(device)
    if args.scale_range:
        lo, hi = args.scale_range
        scale_choices = [round(lo + 0.1 * i, 1) for i in range(int(round((hi - lo) / 0.1)) + 1)]
    else:
        scale_choices = [float(args.scale)]
    val_scales = args.val_scales or ([4.0, 2.5] if args.scale_range else [float(args.scale)])
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

    log_path = out_dir / "log.csv"
    carried_log = state_path.with_suffix(".log.csv")  # the history a compact state carries
    if rank == 0 and not log_path.exists() and carried_log.exists():
        shutil.copyfile(carried_log, log_path)
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
                "validation": {Path(args.val).name if args.val else "none":
                               {f"x{k:g}": round(v, 3) for k, v in val.items()}},
                "loss": _loss_name(args, cx_loss),
                **seeds,
                **({"freeze_steps": args.freeze_steps} if args.freeze_steps else {}),
                **({"train_only": args.train_only} if args.train_only else {}),
                "date": _dt.date.today().isoformat(), "hardware": _hardware(device),
                "train_hours": round(train_seconds / 3600.0, 2), "note": _run_note(schedule),
                **({"schedule": schedule} if len(schedule) > 1 or args.warmup else {}),
            })
        export_weights(model, record, args.weights_dir)
        print(f"exported {args.export} (val {val})")

    stop = {"requested": False}

    def _request_stop(signum: int, frame: Any) -> None:  # save the resume state, then exit
        stop["requested"] = True
    if rank == 0:
        signal.signal(signal.SIGTERM, _request_stop)
        signal.signal(signal.SIGINT, _request_stop)

    if rank == 0 and args.init and step == 0 and args.val:  # where the seeded model starts
        for s, v in validate(model, args.val, val_scales, device).items():
            log.writerow([0, "", f"{args.lr:.3g}", s, f"{v:.4f}", "0",
                          _dt.datetime.now().isoformat(timespec="seconds")])
            print(f"step 0 (as initialised from {args.init}): x{s:g} {v:.2f} dB")
        log_file.flush()

    last_ckpt = time.time()
    pbar = tqdm(total=args.iters, initial=step, disable=rank != 0, dynamic_ncols=True)
    model.train()
    t0 = time.time()
    loss_ema = None
    while step < args.iters:
        scale = rng.choice(scale_choices)
        lr_t, hr_t = sampler.sample(args.batch, scale)
        lr_t, hr_t = lr_t.to(device), hr_t.to(device)
        if channels_last:
            lr_t = lr_t.contiguous(memory_format=torch.channels_last)
        lr_now = _lr_at(step, args, schedule[-1]["from_step"])
        for g in opt.param_groups:
            g["lr"] = lr_now
        with autocast(device, precision):
            if args.arch == "srcnn":
                out = ddp_model(upsample_bicubic(lr_t, scale, tuple(hr_t.shape[-2:])))
                loss = (out.float() - hr_t).abs().mean()
            elif is_vp:
                sr, lap_pred = ddp_model(lr_t, scale, tuple(hr_t.shape[-2:]))
                lap_hr = laplacian(hr_t)
                loss = (sr.float() - hr_t).abs().mean()
                loss = loss + args.lap_weight * (lap_pred.float() - lap_hr).abs().mean()
                if cx_loss is not None:
                    loss = loss + args.cx_weight * cx_loss(lap_pred.float(), lap_hr)
                if args.sr_lap_weight:
                    loss = loss + args.sr_lap_weight * (laplacian(sr.float()) - lap_hr).abs().mean()
            else:
                out = ddp_model(lr_t, scale, tuple(hr_t.shape[-2:]))
                loss = (out.float() - hr_t).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
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
            val = validate(model, args.val, val_scales, device)
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
            log.writerow([step, f"{loss_ema:.6f}", f"{lr_now:.3g}", "", "", f"{train_seconds:.0f}",
                          _dt.datetime.now().isoformat(timespec="seconds")])
            log_file.flush()
        if rank == 0 and (time.time() - last_ckpt > args.ckpt_minutes * 60 or step == args.iters
                          or stop["requested"]):
            save_state(out_dir / "state.safetensors",
                       model, opt, step, {"best_val": best, "val": val_key,
                                          "train_seconds": train_seconds,
                                          "arch_args": arch_args, "schedule": schedule})
            last_ckpt = time.time()
            if stop["requested"]:
                print(f"\nstopped at step {step}; resume state saved")
                break
    pbar.close()
    if log_file:
        log_file.close()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
