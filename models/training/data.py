"""Training data: random HR crops, 8 flips/rotations, optional HR down-scaling, LR on
the fly.

Images are read once as luminance (colour files through BT.601 Y; grey files as they are) and kept
in memory as float32 on the 0–255 scale. 8-bit files stay on their 256 levels (what the
benchmark protocol scores). Files of more than 8 bits (16-bit medical slices) are normalised as
the engine normalises them at inference
(:data:`~models.inference.normalization.DEFAULT_NORMALIZATION`, the slice's min–max) and are
not rounded to 8-bit levels, neither HR nor LR: the network sees them in training as it sees a
slice in the viewer. Each sample:

1. pick an image (probability ∝ its area × its folder's weight, default 1) and a random HR window;
   with probability ``p_rescale`` the window is ``1/f`` larger and shrunk by the MATLAB bicubic by
   f ∈ [0.6, 1.0] (diversity);
2. random flip / 90° rotation (8 variants);
3. LR = MATLAB bicubic of the HR patch by 1/s to exactly ``patch_lr``², rounded to 8-bit levels
   for 8-bit sources.
Returned tensors are float32 in [0, 1]: LR (B, 1, p, p) and HR (B, 1, round(p·s), round(p·s)).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..evaluation.benchmark import list_images, load_y
from ..geometry import round_half_up
from ..inference.normalization import DEFAULT_NORMALIZATION, normalization_bounds
from ..resize import degrade, imresize


def load_training_image(path: Path) -> tuple[np.ndarray, bool]:
    """Luminance on the 0–255 scale as float32, and whether it lies on 8-bit levels.

    Files of more than 8 bits are mapped to 0–255 by the engine's default normalisation (the
    bounds :func:`~models.inference.normalization.normalization_bounds` gives a slice at
    inference), unrounded; a flat slice maps to 0.
    """
    with Image.open(path) as im:
        high_bit_depth = im.mode.startswith("I") or im.mode == "F"
    y = load_y(path)
    if high_bit_depth:
        lo, hi = normalization_bounds(y, DEFAULT_NORMALIZATION)
        y = (y - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(y)
    return y.astype(np.float32), not high_bit_depth


def check_folder_weights(weights: Sequence[float], folders: int) -> None:
    """Refuse sampling weights that are not one per folder, finite, ≥ 0 and not all 0.

    Raises:
        ValueError: naming the rule broken.
    """
    if len(weights) != folders:
        raise ValueError(f"one weight per --data folder: {folders} folders, {len(weights)} "
                         f"folder weights")
    if any(not (math.isfinite(w) and w >= 0) for w in weights) or not any(w > 0 for w in weights):
        raise ValueError(f"folder weights must be finite, >= 0 and not all 0, got "
                         f"{' '.join(f'{w:g}' for w in weights)}")


class PatchSampler:
    """Random (LR, HR) patch pairs from image folders, degraded on the fly.

    ``folder_weights`` (one per folder, default 1) multiplies the sampling probability of each
    folder's pixels: 0.5 draws that folder's patches half as often as its area alone would.
    """

    def __init__(self, folders: Sequence[str | Path], patch_lr: int = 48, p_rescale: float = 0.3,
                 rescale_range: tuple[float, float] = (0.6, 1.0), seed: int = 0,
                 min_size: int = 0, folder_weights: Sequence[float] | None = None) -> None:
        if folder_weights is None:
            folder_weights = [1.0] * len(folders)
        check_folder_weights(folder_weights, len(folders))
        loaded: list[tuple[np.ndarray, bool, float]] = []
        for f, w in zip(folders, folder_weights):
            found = list_images(f)
            if not found:
                raise FileNotFoundError(f"no training images in {f}")
            loaded.extend((*load_training_image(p), float(w)) for p in found)
        if min_size:
            loaded = [t for t in loaded if min(t[0].shape) >= min_size]
        if not loaded:
            raise ValueError(f"no training image is at least {min_size} pixels on its short side")
        self.images = [t[0] for t in loaded]
        self.eight_bit = [t[1] for t in loaded]
        #: the side of the largest square HR window any image holds
        self.largest_window = max(min(im.shape[:2]) for im in self.images)
        areas = np.array([t[0].size * t[2] for t in loaded], dtype=np.float64)
        self.weights = areas / areas.sum()
        self.patch_lr = patch_lr
        self.p_rescale = p_rescale
        self.rescale_range = rescale_range
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random stream (a resumed run draws other patches than its first steps)."""
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.images)

    def check_scale(self, scale: float) -> None:
        """ValueError where no training image holds the HR window of an LR patch at ``scale``
        (``patch_lr × scale`` pixels square), with the sizes that would fit."""
        size = round_half_up(self.patch_lr * scale)
        if size > self.largest_window:
            raise ValueError(
                f"an LR patch of {self.patch_lr}² at ×{scale:g} needs an HR window of {size}², "
                f"larger than every training image (the largest square window any holds is "
                f"{self.largest_window}²): use a --patch of at most "
                f"{int(self.largest_window // scale)} at this scale")

    def _hr_patch(self, size: int) -> tuple[np.ndarray, bool]:
        """A random HR window (flipped/rotated) and whether its image is on 8-bit levels."""
        rng = self.rng
        f = 1.0
        if self.p_rescale > 0 and rng.random() < self.p_rescale:
            f = rng.uniform(*self.rescale_range)
        src = int(math.ceil(size / f))
        for _ in range(50):
            i = int(rng.choice(len(self.images), p=self.weights))
            im = self.images[i]
            if im.shape[0] >= src and im.shape[1] >= src:
                break
        else:
            src, f = size, 1.0
            i = max(range(len(self.images)), key=lambda j: min(self.images[j].shape))
            im = self.images[i]
        y = rng.integers(0, im.shape[0] - src + 1)
        x = rng.integers(0, im.shape[1] - src + 1)
        patch = im[y:y + src, x:x + src].astype(np.float64)
        if src != size:
            patch = imresize(patch, size / src, output_shape=(size, size))
        k = int(rng.integers(0, 8))
        if k & 4:
            patch = patch[:, ::-1]
        return np.rot90(patch, k & 3), self.eight_bit[i]

    def sample(self, batch: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch at one scale: LR (B,1,p,p) and HR (B,1,round(p·s),round(p·s)), float32
        [0, 1]."""
        self.check_scale(scale)
        size = round_half_up(self.patch_lr * scale)
        lrs, hrs = [], []
        for _ in range(batch):
            hr, eight_bit = self._hr_patch(size)
            # 8-bit sources: HR and LR on integer levels, like the benchmark files
            hr = np.clip(np.round(hr) if eight_bit else hr, 0, 255)
            lr = degrade(hr, scale, round_to="uint8" if eight_bit else None,
                         lr_shape=(self.patch_lr, self.patch_lr))
            if not eight_bit:  # the engine's input is within its normalisation bounds
                lr = np.clip(lr, 0, 255)
            lrs.append(lr)
            hrs.append(hr)
        lr_t = torch.from_numpy(np.stack(lrs)[:, None].astype(np.float32) / 255.0)
        hr_t = torch.from_numpy(np.stack(hrs)[:, None].astype(np.float32) / 255.0)
        return lr_t, hr_t
