"""Losses (paper §4.4, eqs. 18–20), and the training objective of each architecture.

* :data:`LOSS_REGISTRY` — architecture name (as :data:`models.registry.ARCH_REGISTRY` has it) →
  the objective its training minimises; ``rmisr-train`` builds it with :func:`build_loss`, so the
  training loop holds no per-architecture branch. An objective is called as
  ``objective(net, lr, hr, scale)`` and names itself for the manifest (``objective.name``).
* L1 (eq. 19) for the SR output of every network; ``rmisr-train --pixel-loss l2`` puts the mean
  squared error in its place (the literature's last fine-tune of an L1-trained network, e.g.
  RLFN and RFDN: PSNR is a function of the squared error, so a few thousand low-rate steps under
  it move an L1 optimum towards the PSNR one; on this project's RMISR-BL ×4 it changed the four
  benchmarks by −0.015 to +0.013 dB in 2,100 steps, docs/training-log.md).
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

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..archs.laplacian import laplacian
from ..registry import Registry
from ..resize import upsample_bicubic


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


# --- the training objective of each architecture ------------------------------------------------
@dataclass(frozen=True)
class LossSettings:
    """The weights of eq. 18 and its deviations (``rmisr-train`` options of the same names)."""

    lap_weight: float = 10.0       #: α of eq. 18
    cx_weight: float = 1.0         #: β of eq. 18 (0: no contextual loss)
    sr_lap_weight: float = 0.0     #: γ of the added γ·L1(Lap(SR), Lap(HR)) term (0: eq. 18)
    cx_h: float = 0.5              #: the contextual loss's bandwidth h
    vgg: str | None = None         #: a VGG-19 state dict for the contextual loss's features
    pixel_loss: str = "l1"         #: the SR output's loss: "l1" (eq. 19) or "l2" (mean squared)


#: ``net(lr, scale, out_size)`` (or ``net(bicubic)`` for a network on the bicubic image)
Net = Callable[..., torch.Tensor]

LOSS_REGISTRY = Registry("training loss")


def _l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.float() - b).abs().mean()


def _l2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.float() - b).square().mean()


#: ``--pixel-loss`` → (the SR output's loss, its name in the manifest)
PIXEL_LOSSES: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], str]] = {
    "l1": (_l1, "L1"), "l2": (_l2, "L2")}


@LOSS_REGISTRY.register("rmisr_bl")
class L1Objective:
    """L1(SR, HR), eq. 19, for a network that takes the LR image (or the mean squared error where
    ``settings.pixel_loss`` is ``"l2"``)."""

    def __init__(self, settings: LossSettings, device: torch.device) -> None:
        if settings.pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f"pixel loss {settings.pixel_loss!r}: expected one of "
                             f"{sorted(PIXEL_LOSSES)}")
        self.pixel, self.name = PIXEL_LOSSES[settings.pixel_loss]

    def __call__(self, net: Net, lr: torch.Tensor, hr: torch.Tensor, scale: float
                 ) -> torch.Tensor:
        return self.pixel(net(lr, scale, tuple(hr.shape[-2:])), hr)


@LOSS_REGISTRY.register("srcnn")
class BicubicInputL1Objective(L1Objective):
    """L1(SR, HR), eq. 19, for a network on the MATLAB-bicubic enlargement of the LR image."""

    def __call__(self, net: Net, lr: torch.Tensor, hr: torch.Tensor, scale: float
                 ) -> torch.Tensor:
        return self.pixel(net(upsample_bicubic(lr, scale, tuple(hr.shape[-2:]))), hr)


@LOSS_REGISTRY.register("rmisr_vp")
class VisualPerceptionObjective:
    """Eq. 18 on RMISR-VP's (SR, predicted Laplacian): ``L1(SR, HR) + α·L1(Lâp, Lap(HR)) +
    β·CX(Lâp, Lap(HR))``, plus ``γ·L1(Lap(SR), Lap(HR))`` where γ > 0."""

    def __init__(self, settings: LossSettings, device: torch.device) -> None:
        if settings.pixel_loss != "l1":
            raise ValueError(f"pixel loss {settings.pixel_loss!r}: RMISR-VP trains under eq. 18, "
                             "whose SR term is L1")
        self.settings = settings
        self.cx_loss: ContextualLoss | None = None
        if settings.cx_weight > 0:
            feats = VGG19Features(settings.vgg) if settings.vgg else PatchFeatures()
            self.cx_loss = ContextualLoss(feats, h=settings.cx_h).to(device)

    @property
    def name(self) -> str:
        """The objective as the manifest records it."""
        st = self.settings
        extractor = self.cx_loss.extractor_name if self.cx_loss is not None else "off"
        name = f"L1 + {st.lap_weight:g}·L1(Lap) + {st.cx_weight:g}·CX[{extractor}]"
        if st.sr_lap_weight:
            name += f" + {st.sr_lap_weight:g}·L1(Lap(SR))"
        return name

    def __call__(self, net: Net, lr: torch.Tensor, hr: torch.Tensor, scale: float
                 ) -> torch.Tensor:
        st = self.settings
        sr, lap_pred = net(lr, scale, tuple(hr.shape[-2:]))
        lap_hr = laplacian(hr)
        loss = _l1(sr, hr)
        loss = loss + st.lap_weight * _l1(lap_pred, lap_hr)
        if self.cx_loss is not None:
            loss = loss + st.cx_weight * self.cx_loss(lap_pred.float(), lap_hr)
        if st.sr_lap_weight:
            loss = loss + st.sr_lap_weight * (laplacian(sr.float()) - lap_hr).abs().mean()
        return loss


def build_loss(arch: str, settings: LossSettings, device: torch.device
               ) -> Callable[[Net, torch.Tensor, torch.Tensor, float], torch.Tensor]:
    """The training objective of architecture ``arch``.

    Args:
        arch: a registered architecture name.
        settings: eq. 18's weights (used by the objectives that have them).
        device: where the objective's own modules (the contextual loss's features) run.

    Returns:
        The objective: ``objective(net, lr, hr, scale)`` → scalar loss, ``objective.name``.

    Raises:
        KeyError: no objective is registered for ``arch``.
    """
    return LOSS_REGISTRY.get(arch)(settings, device)
