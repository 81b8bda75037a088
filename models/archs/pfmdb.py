"""PFMDB — pyramidal feature multi-distillation block (paper §4.2, eqs. 9–13, Fig. 3b).

Data flow (eqs. 9–13, with the typos noted below resolved):

    CC1 = SRB₁(F_in)      DC1 = PYB₁(F_in)
    CC2 = SRB₂(CC1)       DC2 = PYB₂(CC1)
    CC3 = SRB₃(CC2)       DC3 = PYB₃(CC2)
    DC4 = act(conv3×3(CC3))                      (eq. 12, to the distilled width)
    F_distilled = Concat(DC1, DC2, DC3, DC4)      (eq. 13)
    F_out = ICCA(conv1×1(F_distilled)) + F_in

Ambiguities resolved:
* Eqs. 10–11 print "CC1" where CC2/CC3 are meant (copy typo); we follow the prose.
* Distilled width: the paper "modifies the split" of IMDB (16 of 64) without giving the new number.
  We keep 16 maps per distillation output (PYB 1×1 and the last conv3×3). With this width
  RMISR-BL ×4 has 0.949 M parameters, inside the accepted 0.80–1.00 M band (the paper states
  0.848 M; a narrower split cannot be reconciled with the PyConv-3 count of 31,104 weights per PYB).
* "Residual connections" of Fig. 3b: one identity skip around the whole block (IMDN style), plus the
  identity inside each SRB.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import PYB, SRB, activation, conv
from .icca import ICCA


class PFMDB(nn.Module):
    """Pyramidal feature multi-distillation block (eqs. 9–13)."""

    def __init__(self, channels: int = 64, distilled: int = 16, reduction: int = 16,
                 window: int | None = 15) -> None:
        super().__init__()
        self.srb = nn.ModuleList(SRB(channels) for _ in range(3))
        self.pyb = nn.ModuleList(PYB(channels, distilled) for _ in range(3))
        self.last = conv(channels, distilled, 3)
        self.act = activation()
        self.fuse = conv(4 * distilled, channels, 1)
        self.icca = ICCA(channels, reduction, window)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distilled = []
        cc = x
        for srb, pyb in zip(self.srb, self.pyb):
            distilled.append(pyb(cc))
            cc = srb(cc)
        distilled.append(self.act(self.last(cc)))
        # in place on ICCA's fresh output (its product's backward needs its inputs, not it)
        return self.icca(self.fuse(torch.cat(distilled, dim=1))).add_(x)
