"""Function-preserving initialisation of RMISR-VP from a trained RMISR-BL (Net2Net-style).

RMISR-VP (Fig. 2) has 6 SR-branch PFMDBs where RMISR-BL has 4, a 6·64 → 64 fusion, and an
upsampler that produces ``up_channels`` HR maps which are fused with the Laplacian branch's before
the last conv3×3. Copying only the matching tensors (head, PFMDB 1–4, tail) left the new fusion
and output layers random: our first VP run was at Set5 ×4 28.96 dB after 1,000 steps (RMISR-BL:
31.34; ``git show d11c622:weights/resume/rmisr_vp_x4.log.csv``), many CPU hours away from
the goal of RMISR-VP staying within 0.3 dB PSNR of RMISR-BL.

:func:`embed_bl_in_vp` instead makes the untrained VP compute what the BL computes:

- SR body: head, PFMDB 1–4 and tail copied; PFMDB 5–6 keep their random initialisation and the
  fusion 1×1 gets BL's weights on the first 4·64 inputs and **zeros** on PFMDB 5–6's inputs;
- SR upsampler, HR map 0 = BL's upsampler output (the other maps keep their initialisation):

  - sub-pixel: the first s² output channels of the conv (map 0 after PixelShuffle) are BL's conv;
  - meta (eqs. 15–17): VP's meta upsampler sees a 1×1 reduction of the 64 features to 16
    (``make_upsampler(meta_reduce=16)``, so that its MLP predicts 16- not 64-channel filters).
    BL's filters W(r) (64 × 3×3 for offset/scale r) are re-expressed on a 16-dimensional feature
    subspace chosen by reduced-rank regression: with C the features' second-moment matrix
    (measured on ``calibration`` LR patches) and B = [W(r)ᵀ over many r]·C^½, the 16 leading
    right singular vectors V of B give reduce = Vᵀ·C^-½ and W′(r) = W(r)·C^½·V — linear
    in W(r), hence an exact transform of BL's last MLP layer (its first layer is copied). This is
    the only approximation: on Set5, RMISR-BL-meta 35.40 / 31.35 dB at ×2.5 / ×4 became
    35.38 / 31.27;
  - RMISR-VP's ``global_skip`` must equal BL's (the meta and ×2/×3 models add bicubic; the ×4
    ones do not);
- fusion after upsampling (1×1 over [SR maps, Laplacian maps], then LeakyReLU with slope 0.05):
  rows 0 and 1 pass +map 0 and −map 0 (everything else in those rows 0);
- ``sr_out`` conv3×3: centre taps 1/1.05 on channel 0 and −1/1.05 on channel 1, all else 0.
  LeakyReLU(v) − LeakyReLU(−v) = 1.05·v for either sign of v, so map 0 arrives unchanged.

The Laplacian branch is trained from scratch and reaches the SR output through the
zero-initialised weights, which receive gradients from the first step (their inputs are non-zero).
PFMDB 5–6 get gradients through the Laplacian branch (SR PFMDB 6 feeds its third block) and, once
the fusion weights move, through the SR path. (The shipped ``rmisr_vp_x4`` was grown before the
±-pair: its row 0 alone passed map 0, exact only where BL's output is ≥ 0.)

When RMISR-BL has trained on after an RMISR-VP was grown from it, :func:`replace_sr_body`
(``python -m models.training.grow VP BL OUT``) puts the newer body under the trained VP instead of
growing anew, and a short ``--train-only`` run fits the VP's own layers to it.
"""
from __future__ import annotations

import numpy as np
import torch

from ..archs.blocks import NEGATIVE_SLOPE
from ..archs.rmisr import RMISR_VP
from ..archs.upsamplers import MetaUpsampler

# RMISR-VP's SR branch is RMISR-BL's body under another name (tensor name prefixes)
VP_SR_PREFIX, BL_BODY_PREFIX = "sr_body.", "body."


def bl_name(vp_name: str) -> str | None:
    """The RMISR-BL tensor name of an RMISR-VP SR-branch tensor (``None`` if it has none)."""
    if vp_name.startswith(VP_SR_PREFIX):
        return BL_BODY_PREFIX + vp_name[len(VP_SR_PREFIX):]
    return None


def is_bl_state(state: dict[str, torch.Tensor]) -> bool:
    """An RMISR-BL state dict (sub-pixel or meta upsampler)."""
    return "body.fuse.0.weight" in state and (
        "upsampler.conv.weight" in state or "upsampler.mlp.2.weight" in state)


def can_embed(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> bool:
    """``model`` is an RMISR-VP that :func:`embed_bl_in_vp` can grow from the RMISR-BL ``state``."""
    return isinstance(model, RMISR_VP) and is_bl_state(state) and \
        ("upsampler.mlp.2.weight" in state) == (model.upsampler_kind == "meta")


def _meta_filters(meta: MetaUpsampler, scales: np.ndarray, offsets: np.ndarray) -> torch.Tensor:
    """BL's predicted filters for every (scale, offset pair), as rows (n·k², C)."""
    rows = [meta.predict_filters(offsets, offsets, float(s), torch.empty(0)) for s in scales]
    w = torch.cat(rows)  # (n, C, k, k)
    return w.permute(0, 2, 3, 1).reshape(-1, w.shape[1]).double()


def reduced_rank_basis(filters: torch.Tensor, features: torch.Tensor, rank: int
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(R, M)`` with R (rank × C) and M (C × rank) minimising Σ‖W·(f − M·R·f)‖² over
    rows W.

    Reduced-rank regression: whiten by the features' second moment C, keep the ``rank`` leading
    right singular vectors of W·C^½.

    Args:
        filters: (n, C) rows W.
        features: (N, C) samples f.
        rank: the number of maps kept.

    Returns:
        ``(R, M)``: R of shape (rank, C), M of shape (C, rank).
    """
    f = features.double()
    c = f.T @ f / f.shape[0]
    c = c + 1e-6 * c.diagonal().mean() * torch.eye(c.shape[0], dtype=c.dtype)
    ev, u = torch.linalg.eigh(c)
    c_half = u @ torch.diag(ev.sqrt()) @ u.T
    c_half_inv = u @ torch.diag(ev.rsqrt()) @ u.T
    _, _, vt = torch.linalg.svd(filters.double() @ c_half, full_matrices=False)
    v = torch.zeros(c.shape[0], rank, dtype=c.dtype)
    kept = min(rank, vt.shape[0])
    v[:, :kept] = vt[:kept].T  # rank ≥ C: exact, the spare rows of R stay 0
    return (v.T @ c_half_inv).float(), (c_half @ v).float()


@torch.no_grad()
def embed_bl_in_vp(vp: RMISR_VP, bl: dict[str, torch.Tensor],
                   calibration: torch.Tensor | None = None) -> int:
    """Initialise ``vp`` so that its SR output reproduces the RMISR-BL model ``bl``.

    A sub-pixel VP takes a sub-pixel BL of the same scale (exact when ``vp`` has BL's global
    skip, which a state dict does not record: the caller checks it against the file's manifest
    record); a meta VP takes a meta BL and needs ``calibration``, LR patches (B, 1, h, w) in
    [0, 1] on which the reduction of the features is fitted (see the module docstring). Returns
    the number of VP tensors written. Raises ``ValueError`` when the two do not fit (upsampler
    kind, scale, a meta VP without the bicubic skip, widths, or more BL blocks than VP blocks).
    """
    meta = vp.upsampler_kind == "meta"
    if meta != ("upsampler.mlp.2.weight" in bl):
        raise ValueError("RMISR-BL and RMISR-VP must both use the sub-pixel or both the meta "
                         "upsampler")
    if meta and vp.global_skip != "bicubic":
        raise ValueError("embedding RMISR-BL-meta needs a meta RMISR-VP with the bicubic skip, "
                         "like the RMISR-BL-meta file")
    own = vp.state_dict()
    # PFMDB 5–6's fusion inputs start at zero: the VP computes what the BL computes
    written = _bl_body_in_vp(own, bl, torch.zeros_like(own[_VP_FUSE + "weight"]))
    own.update(written)
    vp.load_state_dict(own)
    written.update(_embed_meta(vp, bl, calibration) if meta else _embed_subpixel(vp, bl))
    written.update(_pass_map0(vp))
    own.update(written)
    vp.load_state_dict(own)
    return len(written)


def _embed_subpixel(vp: RMISR_VP, bl: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    own = vp.state_dict()
    up_w = bl["upsampler.conv.weight"]
    s2 = up_w.shape[0]  # BL has one output map: s² sub-pixel channels
    if own["sr_up.conv.weight"].shape[1:] != up_w.shape[1:] or s2 != vp.scale ** 2:
        raise ValueError(f"RMISR-BL upsampler {tuple(up_w.shape)} does not fit RMISR-VP "
                         f"×{vp.scale} {tuple(own['sr_up.conv.weight'].shape)}")
    w, b = own["sr_up.conv.weight"].clone(), own["sr_up.conv.bias"].clone()
    w[:s2], b[:s2] = up_w, bl["upsampler.conv.bias"]
    return {"sr_up.conv.weight": w, "sr_up.conv.bias": b}


def _embed_meta(vp: RMISR_VP, bl: dict[str, torch.Tensor], calibration: torch.Tensor | None
                ) -> dict[str, torch.Tensor]:
    if calibration is None:
        raise ValueError("embedding RMISR-BL-meta needs calibration LR patches")
    own = vp.state_dict()
    src = {k[len("upsampler."):]: v.float() for k, v in bl.items() if k.startswith("upsampler.")}
    hidden, channels = src["mlp.0.weight"].shape[0], bl["body.tail.weight"].shape[0]
    bl_meta = MetaUpsampler(channels, 1, hidden=hidden)
    bl_meta.load_state_dict(src)
    vp_meta = vp.sr_up.meta
    rank, k2 = vp_meta.in_channels, vp_meta.kernel_size ** 2
    if own["sr_up.meta.mlp.0.weight"].shape != src["mlp.0.weight"].shape \
            or bl_meta.kernel_size != vp_meta.kernel_size:
        raise ValueError("RMISR-BL-meta's weight-prediction MLP does not fit RMISR-VP-meta's")
    device = next(vp.parameters()).device
    was_training = vp.training
    vp.eval()
    feats, _ = vp.sr_body(calibration.to(device))  # = BL's body output (fusion padded with 0)
    vp.train(was_training)
    feats = feats.float().permute(0, 2, 3, 1).reshape(-1, channels).cpu()
    filters = _meta_filters(bl_meta, np.round(np.arange(1.1, 5.05, 0.1), 1),
                            np.linspace(0.0, 1.0, 21)[:-1])
    reduce_w, m = reduced_rank_basis(filters, feats, rank)
    ratio = bl_meta.filter_scale / vp_meta.filter_scale
    # last layer rows are ordered (out map, in channel, tap): map 0 = rows [0, rank·k²)
    l2w = src["mlp.2.weight"].reshape(channels, k2, hidden)
    l2b = src["mlp.2.bias"].reshape(channels, k2)
    w2, b2 = own["sr_up.meta.mlp.2.weight"].clone(), own["sr_up.meta.mlp.2.bias"].clone()
    w2[:rank * k2] = torch.einsum("cj,cth->jth", m, l2w).reshape(rank * k2, hidden) * ratio
    b2[:rank * k2] = torch.einsum("cj,ct->jt", m, l2b).reshape(rank * k2) * ratio
    return {"sr_up.reduce.weight": reduce_w[:, :, None, None].to(own["sr_up.reduce.weight"]),
            "sr_up.reduce.bias": torch.zeros_like(own["sr_up.reduce.bias"]),
            "sr_up.meta.mlp.0.weight": src["mlp.0.weight"].clone(),
            "sr_up.meta.mlp.0.bias": src["mlp.0.bias"].clone(),
            "sr_up.meta.mlp.2.weight": w2, "sr_up.meta.mlp.2.bias": b2}


def _pass_map0(vp: RMISR_VP) -> dict[str, torch.Tensor]:
    """``reduce`` rows 0/1 = ±map 0, ``sr_out`` = (ch 0 − ch 1)/(1 + slope): map 0 passes as
    is."""
    own = vp.state_dict()
    rw, rb = own["reduce.0.weight"].clone(), own["reduce.0.bias"].clone()
    rw[:2].zero_()
    rw[0, 0], rw[1, 0] = 1.0, -1.0
    rb[:2] = 0.0
    ow = torch.zeros_like(own["sr_out.weight"])
    k = ow.shape[-1] // 2
    gain = 1.0 / (1.0 + NEGATIVE_SLOPE)
    ow[0, 0, k, k], ow[0, 1, k, k] = gain, -gain
    return {"reduce.0.weight": rw, "reduce.0.bias": rb,
            "sr_out.weight": ow, "sr_out.bias": torch.zeros_like(own["sr_out.bias"])}


# RMISR-VP tensors that do not depend on the scale or the upsampler kind and that the SR output
# of a grown VP ignores until its fusion weights move: the Laplacian branch's trunk (head, merges,
# PFMDBs, tail) and SR PFMDB 5–6, whose inputs to the SR fusion are zero (embed_bl_in_vp).
LAPLACIAN_TRUNK_PREFIXES = ("lap_head.", "lap_merge.", "lap_blocks.", "lap_tail.")


@torch.no_grad()
def transplant_laplacian_trunk(vp: RMISR_VP, src: dict[str, torch.Tensor],
                               bl_blocks: int = 4) -> int:
    """Copy a trained RMISR-VP's Laplacian trunk and SR PFMDBs after ``bl_blocks`` into ``vp``.

    ``vp`` was grown by :func:`embed_bl_in_vp` from an RMISR-BL with ``bl_blocks`` PFMDBs; ``src``
    is the state of another trained RMISR-VP of the same widths, with any upsampler and scale
    (e.g. RMISR-VP-meta seeding a sub-pixel ×3 VP). Its Laplacian upsampler and output layer are
    not copied: they belong to the other upsampler. ``vp``'s SR output is unchanged (the copied
    PFMDBs reach it only through zero weights). Returns the number of tensors copied; raises
    ``ValueError`` if ``src`` is not an RMISR-VP state whose shapes fit.
    """
    own = vp.state_dict()
    late = tuple(f"sr_body.blocks.{i}." for i in range(bl_blocks, len(vp.sr_body.blocks)))
    names = [k for k in own if k.startswith(LAPLACIAN_TRUNK_PREFIXES + late)]
    missing = [k for k in names if k not in src]
    if missing:
        raise ValueError(f"not an RMISR-VP state with this Laplacian branch: no {missing[0]}")
    wrong = [k for k in names if src[k].shape != own[k].shape]
    if wrong:
        raise ValueError(f"{wrong[0]}: {tuple(src[wrong[0]].shape)} does not fit "
                         f"{tuple(own[wrong[0]].shape)}")
    own.update({k: src[k].to(own[k]) for k in names})
    vp.load_state_dict(own)
    return len(names)


# RMISR-BL's body fusion (1×1 over its PFMDB outputs) and RMISR-VP's SR fusion, whose first inputs
# read the same PFMDBs.
_BL_FUSE, _VP_FUSE = BL_BODY_PREFIX + "fuse.0.", VP_SR_PREFIX + "fuse.0."


def _bl_body_in_vp(own: dict[str, torch.Tensor], bl: dict[str, torch.Tensor],
                   fusion: torch.Tensor) -> dict[str, torch.Tensor]:
    """RMISR-VP ``sr_body`` tensors holding RMISR-BL's body (in ``own``'s dtypes).

    Head, PFMDBs and tail are BL's; the SR fusion weight is ``fusion`` with its first inputs (those
    of PFMDB 1–N) replaced by BL's fusion, its bias BL's. Raises ``ValueError`` if BL has more or
    wider PFMDBs than the VP, or a body tensor the VP has no place for.
    """
    w, base = bl[_BL_FUSE + "weight"], own[_VP_FUSE + "weight"]
    if w.shape[0] != base.shape[0] or w.shape[1] > base.shape[1] or w.shape[2:] != base.shape[2:]:
        raise ValueError("RMISR-BL has more (or wider) PFMDBs than this RMISR-VP")
    out = {}
    for name, v in bl.items():  # head, PFMDB 1..N, tail
        if not name.startswith(BL_BODY_PREFIX) or name.startswith(_BL_FUSE):
            continue
        dst = VP_SR_PREFIX + name[len(BL_BODY_PREFIX):]
        if dst not in own or own[dst].shape != v.shape:
            raise ValueError(f"RMISR-BL tensor {name} {tuple(v.shape)} has no place in this "
                             "RMISR-VP")
        out[dst] = v.to(own[dst].dtype, copy=True)
    fw = fusion.clone()
    fw[:, :w.shape[1]] = w
    out[_VP_FUSE + "weight"] = fw
    out[_VP_FUSE + "bias"] = bl[_BL_FUSE + "bias"].to(own[_VP_FUSE + "bias"].dtype, copy=True)
    return out


@torch.no_grad()
def replace_sr_body(vp: dict[str, torch.Tensor], bl: dict[str, torch.Tensor]
                    ) -> dict[str, torch.Tensor]:
    """A trained RMISR-VP state with the SR body of a (newer) RMISR-BL state put under it.

    Copies BL's head, PFMDBs and tail into VP's ``sr_body`` and BL's fusion weights into the
    columns of VP's fusion that read PFMDB 1–N (the columns of VP's extra PFMDBs and everything
    else — SR upsampler, Laplacian branch, fusion after upsampling — stay VP's). Used when
    RMISR-BL-meta has trained on after RMISR-VP-meta was grown from it: growing anew
    (:func:`embed_bl_in_vp`) would discard the trained Laplacian branch and fusion, while this
    keeps them, at the price of an SR upsampler fitted to the older body's features (the result
    computes neither network's output; fine-tune it with ``rmisr-train --train-only``). Returns a
    new float32 state; raises ``ValueError`` if the two do not fit.
    """
    if not is_bl_state(bl):
        raise ValueError("the second state is not an RMISR-BL state")
    out = {k: v.float().clone() for k, v in vp.items()}
    if _VP_FUSE + "weight" not in out:
        raise ValueError("the first state is not an RMISR-VP state")
    out.update(_bl_body_in_vp(out, bl, out[_VP_FUSE + "weight"]))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m models.training.grow VP BL OUT``: :func:`replace_sr_body` on two weights
    files."""
    import argparse
    import os

    from safetensors.torch import load_file, save_file

    p = argparse.ArgumentParser(prog="python -m models.training.grow", description=main.__doc__)
    p.add_argument("vp", help="trained RMISR-VP weights (safetensors)")
    p.add_argument("bl", help="RMISR-BL weights whose SR body goes under it")
    p.add_argument("out", help="output safetensors (an --init file for rmisr-train)")
    args = p.parse_args(argv)
    for path in (args.vp, args.bl):
        if not os.path.isfile(path):
            raise SystemExit(f"models.training.grow: {path}: no such file")
    tensors = []
    for path in (args.vp, args.bl):
        try:
            tensors.append(load_file(path))
        except Exception as e:  # noqa: BLE001 — safetensors' own error type: not such a file
            raise SystemExit(f"models.training.grow: {path} is not a safetensors weights file "
                             f"({e})") from None
    try:
        state = replace_sr_body(*tensors)
    except ValueError as e:
        raise SystemExit(f"models.training.grow: {e}") from None
    part = f"{args.out}.part"  # written whole, then renamed: no half-written --init file
    try:
        save_file({k: v.contiguous() for k, v in state.items()}, part)
        os.replace(part, args.out)
    finally:
        if os.path.exists(part):
            os.remove(part)
    print(f"{args.out}: {args.vp} with the SR body of {args.bl}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
