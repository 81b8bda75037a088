"""Warm starts: a new model seeded from trained weights (``rmisr-train --init``).

* :func:`init_from` copies every tensor of an ``--init`` file whose name and shape match (an
  RMISR-BL file seeding an RMISR-VP goes through :func:`.grow.embed_bl_in_vp`, so that the VP
  starts out computing the BL's output);
* :func:`seed_model` does what ``--init`` and ``--init-laplacian`` ask of a new model;
* :func:`fix_tensors` holds tensors fixed (``--freeze-steps``, ``--train-only``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load as load_safetensors

from ..manifest import Manifest, WeightsError, sha256_bytes
from .data import PatchSampler
from .grow import bl_name, can_embed, embed_bl_in_vp, transplant_laplacian_trunk
from .resume_state import state_tensors


def load_seed(path: str) -> tuple[dict[str, torch.Tensor], str]:
    """An ``--init``/``--init-laplacian`` file's tensors and sha256, from a single read.

    A weights file, or a compact resume state (``python -m models.training.resume_state``: its
    tensors are the model's under ``model.``), so that a committed resume state can seed another
    model (e.g. an RMISR-VP grown on a candidate RMISR-BL not yet shipped)."""
    data = Path(path).read_bytes()
    tensors = load_safetensors(data)
    if not tensors:  # a reference-only resume state: its weights file's tensors and sha256
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        if "weights_file" in meta:
            return ({k[len("model."):]: v for k, v in state_tensors(path).items()},
                    meta["weights_sha256"])
    if tensors and all(k.startswith("model.") for k in tensors):
        tensors = {k[len("model."):]: v for k, v in tensors.items()}
    return tensors, sha256_bytes(data)


def seed_arch_args(init: str) -> dict[str, Any] | None:
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
        with safe_open(str(path), "pt") as f:
            extra = json.loads((f.metadata() or {}).get("extra", "{}"))
    except (OSError, ValueError):
        return None
    args = extra.get("arch_args") if isinstance(extra, dict) else None
    return dict(args) if isinstance(args, dict) else None


def check_init_skip(init: str, arch_args: dict[str, Any]) -> None:
    """Refuse an ``--init`` file whose manifest record has another global skip than the model.

    A state dict does not say whether its model added the bicubic image
    (:mod:`models.archs.rmisr`), so growing an RMISR-VP from an RMISR-BL file
    (:func:`.grow.embed_bl_in_vp`) reproduces the BL only with the same skip; the file's record in
    the manifest beside it says which (or a compact resume state's metadata).
    """
    seed_args = seed_arch_args(init)
    if seed_args is None:
        return
    theirs, ours = seed_args.get("global_skip"), arch_args.get("global_skip")
    if theirs != ours:
        raise SystemExit(f"--init {init} was trained with global_skip={theirs!r} but this "
                         f"model has {ours!r}; pass --arch-args '{{\"global_skip\": "
                         f"{json.dumps(theirs)}}}' to grow from it")


def source_names(name: str) -> list[str]:
    """``name`` and, for RMISR-VP's SR branch, its RMISR-BL spelling (:func:`.grow.bl_name`):
    ``--init`` also seeds across architectures."""
    alias = bl_name(name)
    return [name] + ([alias] if alias else [])


def init_from(model: torch.nn.Module, src: dict[str, torch.Tensor],
               calibration: torch.Tensor | None = None) -> int:
    """Copy every tensor of ``src`` (an ``--init`` file's state) whose name and shape match.

    An RMISR-BL file seeding an RMISR-VP with the same kind of upsampler goes through
    :func:`.grow.embed_bl_in_vp` instead, so that the VP starts out computing the BL's output
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
        names = source_names(k)
        for name in names:
            if name in src and src[name].shape == v.shape:
                hits[k] = src[name]
                break
    own.update(hits)
    model.load_state_dict(own)
    return len(hits)


@torch.no_grad()
def verbatim_from(model: torch.nn.Module, src: dict[str, torch.Tensor]
                   ) -> list[torch.nn.Parameter]:
    """The parameters that still hold a tensor of ``src``, the ``--init`` file (name or alias).

    "Still" allows the float16 rounding of a compact resume state (``resume_state --half``); such
    a parameter gets the file's exact values back.
    """
    out = []
    for k, p in model.named_parameters():
        names = source_names(k)
        for n in names:
            if n in src and src[n].shape == p.shape:
                v = src[n].to(p.device, p.dtype)
                if torch.allclose(v, p, rtol=1e-3, atol=1e-7):
                    p.copy_(v)
                    out.append(p)
                    break
    return out


def seed_model(model: torch.nn.Module, args: argparse.Namespace, arch_args: dict[str, Any],
               sampler: PatchSampler, rank: int = 0
               ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Seed a new ``model`` as ``--init`` and ``--init-laplacian`` ask.

    Args:
        model: the model just built.
        args: ``rmisr-train``'s options (``init``, ``init_laplacian``).
        arch_args: the model's architecture arguments.
        sampler: the training patches (a meta RMISR-VP grown from an RMISR-BL fits a feature
            reduction on a few LR patches).
        rank: the process's rank; rank 0 reports.

    Returns:
        (the seeding files as the manifest record names them, the ``--init`` file's tensors).

    Raises:
        SystemExit: ``--init-laplacian`` without an RMISR-BL ``--init`` file growing an RMISR-VP,
            or a Laplacian trunk that does not fit.
    """
    seeds: dict[str, Any] = {"init": Path(args.init).name if args.init else None}
    init_src: dict[str, torch.Tensor] = {}
    grow = False
    if args.init:
        init_src, seeds["init_sha256"] = load_seed(args.init)
        calibration = None  # LR patches, only where growing a meta RMISR-VP needs them
        grow = can_embed(model, init_src)  # an RMISR-BL file seeding an RMISR-VP
        if grow:
            check_init_skip(args.init, arch_args)
        if grow and model.upsampler_kind == "meta":
            calibration = torch.cat([sampler.sample(16, s)[0] for s in (2.0, 2.5, 3.0, 4.0)])
        n = init_from(model, init_src, calibration)
        if n == 0:  # another architecture's file: seeding nothing is not a seeded run
            raise SystemExit(f"rmisr-train: --init {args.init}: none of its tensors fits this "
                             f"{args.arch} (another architecture or width?)")
        if rank == 0:
            print(f"initialised {n} tensors from {args.init}")
    if args.init_laplacian:
        if not (args.init and grow):
            raise SystemExit("--init-laplacian seeds an RMISR-VP grown from an RMISR-BL "
                             "--init file")
        bl_blocks = len({k.split(".")[2] for k in init_src if k.startswith("body.blocks.")})
        lap_src, sha = load_seed(args.init_laplacian)
        seeds.update(init_laplacian=Path(args.init_laplacian).name, init_laplacian_sha256=sha)
        try:
            n = transplant_laplacian_trunk(model, lap_src, bl_blocks)
        except ValueError as e:
            raise SystemExit(f"--init-laplacian {args.init_laplacian}: {e}") from None
        if rank == 0:
            print(f"Laplacian trunk: {n} tensors from {args.init_laplacian}")
    return seeds, init_src


def fix_tensors(model: torch.nn.Module, args: argparse.Namespace,
                init_src: dict[str, torch.Tensor], step: int, distributed: bool, rank: int = 0
                ) -> list[torch.nn.Parameter]:
    """Hold tensors fixed: ``--train-only`` for the whole command, ``--freeze-steps`` those copied
    verbatim from ``--init`` until that step.

    Args:
        model: the seeded (and possibly resumed) model.
        args: ``rmisr-train``'s options (``init``, ``freeze_steps``, ``train_only``).
        init_src: the ``--init`` file's tensors.
        step: the step the run continues from.
        distributed: running under DistributedDataParallel (neither option is supported there).
        rank: the process's rank; rank 0 reports.

    Returns:
        The parameters frozen until ``--freeze-steps`` (the loop releases them).

    Raises:
        SystemExit: nothing would train, or an unsupported combination.
    """
    frozen = verbatim_from(model, init_src) if args.init and step < args.freeze_steps else []
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
    return frozen
