"""Losses (paper §4.4, eqs. 18–20).

* L1 (eq. 19) for the SR output of every network.
* RMISR-VP: ``L1(SR, HR) + α·L1(Lâp, Lap(HR)) + β·CX(Lâp, Lap(HR))`` with α = 10, β = 1
  (eq. 18 applied to the Laplacian branch, as §4.4's last paragraph says). ``rmisr-train
  --sr-lap-weight γ`` adds ``γ·L1(Lap(SR), Lap(HR))`` on the output (a deviation; default 0).
* :class:`ContextualLoss` — Mechrez et al. (2018): cosine distances between feature vectors
  centred on the target's mean, relative normalisation ``d / (min d + 1e-5)``,
  ``w = exp((1 − d̃)/h)``, row-normalised similarities, ``CX = mean_j max_i CX_ij``,
  loss −log CX.
* Features: nothing may download at run time, so by default the :class:`PatchFeatures` — 7×7 patches
  of the Laplacian maps, mean-removed and unit-normalised (49-D), at ≤ 1024 sampled positions per
  image; or VGG-19 conv3_4/conv4_4 features from a local torchvision-layout state dict whose sha256
  is recorded (:class:`VGG19Features`).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class PatchFeatures(nn.Module):
    """7×7 raw-patch features of a (B, 1, H, W) map at up to ``max_positions`` random positions."""

    name = "patch7x7-laplacian"

    def __init__(self, patch: int = 7, max_positions: int = 1024) -> None:
        super().__init__()
        self.patch = patch
        self.max_positions = max_positions

    def forward(self, pred: torch.Tensor, target: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        fp = F.unfold(pred, self.patch)  # (B, 49, L)
        ft = F.unfold(target, self.patch)
        n = fp.shape[-1]
        if n > self.max_positions:
            idx = torch.randperm(n, device=pred.device)[: self.max_positions]
            fp, ft = fp[..., idx], ft[..., idx]

        def norm(f: torch.Tensor) -> torch.Tensor:
            f = f - f.mean(dim=1, keepdim=True)
            return F.normalize(f, dim=1, eps=1e-6)
        return norm(fp), norm(ft)


class VGG19Features(nn.Module):
    """VGG-19 conv3_4 and conv4_4 features from a local torchvision-layout state dict."""

    _CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512]
    name = "vgg19-conv3_4+conv4_4"

    def __init__(self, state_dict_path: str | Path, max_positions: int = 1024) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in self._CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU(inplace=False)]
                c = int(v)
        self.features = nn.Sequential(*layers)
        path = Path(state_dict_path)
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            sd = load_file(str(path))
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
        sd = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}
        self.features.load_state_dict({k: v for k, v in sd.items()
                                       if int(k.split(".")[0]) < len(layers)})
        self.features.requires_grad_(False).eval()
        self.taps = {16, 25}  # ReLU after conv3_4 and conv4_4 in torchvision indexing
        self.max_positions = max_positions
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _run(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x.clamp(-1, 1) * 0.5 + 0.5).expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x.flatten(2))
        return outs

    def forward(self, pred: torch.Tensor, target: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        fp = torch.cat(self._run(pred)[-1:], dim=2)
        ft = torch.cat(self._run(target)[-1:], dim=2)
        n = fp.shape[-1]
        if n > self.max_positions:
            idx = torch.randperm(n, device=pred.device)[: self.max_positions]
            fp, ft = fp[..., idx], ft[..., idx]
        return fp, ft


def contextual_similarity(x: torch.Tensor, y: torch.Tensor, h: float = 0.5) -> torch.Tensor:
    """CX(x, y) per batch item for features (B, D, N) and (B, D, M); returns (B,)."""
    mu = y.mean(dim=2, keepdim=True)
    xn = F.normalize(x - mu, dim=1, eps=1e-6)
    yn = F.normalize(y - mu, dim=1, eps=1e-6)
    cos = torch.bmm(xn.transpose(1, 2), yn)  # (B, N, M)
    d = (1.0 - cos).clamp_min(0.0)
    d_rel = d / (d.min(dim=2, keepdim=True).values + 1e-5)
    w = torch.exp((1.0 - d_rel) / h)
    cx = w / w.sum(dim=2, keepdim=True)
    return cx.max(dim=1).values.mean(dim=1)


class ContextualLoss(nn.Module):
    """−log CX between feature sets of prediction and target (eq. 20)."""

    def __init__(self, features: nn.Module | None = None, h: float = 0.5) -> None:
        super().__init__()
        self.features = features if features is not None else PatchFeatures()
        self.h = h

    @property
    def extractor_name(self) -> str:
        return getattr(self.features, "name", type(self.features).__name__)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fp, ft = self.features(pred.float(), target.float())
        cx = contextual_similarity(fp, ft, self.h)
        return -torch.log(cx.clamp_min(1e-8)).mean()
