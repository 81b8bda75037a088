"""Function-preserving initialisation of RMISR-VP from a trained RMISR-BL (Net2Net-style).

RMISR-VP ×4 (Fig. 2) has 6 SR-branch PFMDBs where RMISR-BL has 4, a 6·64 → 64 fusion, and an
upsampler that produces ``up_channels`` HR maps which are fused with the Laplacian branch's before
the last conv3×3. Copying only the matching tensors (head, PFMDB 1–4, tail) left the new fusion and
output layers random: our first VP run was at Set5 ×4 28.96 dB after 1,000 steps (RMISR-BL: 31.34;
``git show d11c622:weights/resume/rmisr_vp_x4.log.csv``), many CPU hours away from the ≤ 0.3 dB
bar of issue 4.

:func:`embed_bl_in_vp` instead makes the untrained VP compute (almost) what the BL computes:

- SR body: head, PFMDB 1–4 and tail copied; PFMDB 5–6 keep their random initialisation and the
  fusion 1×1 gets BL's weights on the first 4·64 inputs and **zeros** on PFMDB 5–6's inputs;
- SR upsampler: the first s² output channels of the sub-pixel conv (= HR map 0 after
  PixelShuffle) are BL's upsampler conv, the other maps keep their initialisation;
- fusion after upsampling (1×1 over [SR maps, Laplacian maps], LeakyReLU): row 0 passes SR map 0
  through (weight 1, everything else 0); rows 1… keep their initialisation;
- ``sr_out`` conv3×3: centre tap 1 on channel 0, every other weight and the bias 0.

So the VP's SR output equals BL's output wherever it is ≥ 0 (LeakyReLU scales negative values by
0.05 — only undershoot below black is changed). The Laplacian branch is trained from scratch and
reaches the SR output through the zero-initialised weights, which receive gradients from the first
step (their inputs are non-zero). PFMDB 5–6 get gradients through the Laplacian branch (SR PFMDB 6
feeds its third block) and, once the fusion weights move, through the SR path.
"""
from __future__ import annotations

import torch

from .rmisr import RMISR_VP


def is_bl_state(state: dict[str, torch.Tensor]) -> bool:
    """A fixed-scale (sub-pixel) RMISR-BL state dict."""
    return "body.fuse.0.weight" in state and "upsampler.conv.weight" in state


@torch.no_grad()
def embed_bl_in_vp(vp: RMISR_VP, bl: dict[str, torch.Tensor]) -> int:
    """Initialise ``vp`` (sub-pixel, same scale) so that its SR output reproduces the BL model ``bl``.

    Returns the number of VP tensors written. Raises ``ValueError`` when the shapes do not allow it
    (meta upsampler, different scale, widths or more BL blocks than VP blocks).
    """
    if vp.upsampler_kind != "subpixel" or vp.global_skip:
        raise ValueError("embedding RMISR-BL needs a sub-pixel RMISR-VP without a global skip")
    own = vp.state_dict()
    up_w = bl["upsampler.conv.weight"]
    s2 = up_w.shape[0]  # BL has one output map: s² sub-pixel channels
    if own["sr_up.conv.weight"].shape[1:] != up_w.shape[1:] or s2 != vp.scale ** 2:
        raise ValueError(f"RMISR-BL upsampler {tuple(up_w.shape)} does not fit RMISR-VP "
                         f"×{vp.scale} {tuple(own['sr_up.conv.weight'].shape)}")
    fuse_w = bl["body.fuse.0.weight"]
    if fuse_w.shape[1] > own["sr_body.fuse.0.weight"].shape[1] or fuse_w.shape[0] != \
            own["sr_body.fuse.0.weight"].shape[0]:
        raise ValueError("RMISR-BL has more (or wider) PFMDBs than this RMISR-VP")

    written = {}
    for k, v in bl.items():  # head, PFMDB 1..N, tail
        name = "sr_body." + k[len("body."):] if k.startswith("body.") else None
        if name and name in own and own[name].shape == v.shape:
            written[name] = v.clone()
    fw = torch.zeros_like(own["sr_body.fuse.0.weight"])
    fw[:, :fuse_w.shape[1]] = fuse_w
    written["sr_body.fuse.0.weight"] = fw
    written["sr_body.fuse.0.bias"] = bl["body.fuse.0.bias"].clone()

    w, b = own["sr_up.conv.weight"].clone(), own["sr_up.conv.bias"].clone()
    w[:s2], b[:s2] = up_w, bl["upsampler.conv.bias"]
    written["sr_up.conv.weight"], written["sr_up.conv.bias"] = w, b

    rw, rb = own["reduce.0.weight"].clone(), own["reduce.0.bias"].clone()
    rw[0].zero_()
    rw[0, 0] = 1.0
    rb[0] = 0.0
    written["reduce.0.weight"], written["reduce.0.bias"] = rw, rb

    ow = torch.zeros_like(own["sr_out.weight"])
    k = ow.shape[-1] // 2
    ow[0, 0, k, k] = 1.0
    written["sr_out.weight"], written["sr_out.bias"] = ow, torch.zeros_like(own["sr_out.bias"])

    own.update(written)
    vp.load_state_dict(own)
    return len(written)
