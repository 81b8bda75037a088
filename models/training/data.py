"""Training data: random HR crops, 8 flips/rotations, optional HR down-scaling, LR on
the fly.

Images are read once as luminance (colour files through BT.601 Y; grey files as they are) and kept
in memory as uint8/uint16. 16-bit medical slices are normalised per image by their 99.5th
percentile to the 0–255 scale (values above are clipped), so natural and medical images share the
network's [0, 1] input range. Each sample:

1. pick an image (probability ∝ its area) and a random HR window; with probability ``p_rescale``
   the window is ``1/f`` larger and shrunk by the MATLAB bicubic by f ∈ [0.6, 1.0] (diversity);
2. random flip / 90° rotation (8 variants);
3. LR = MATLAB bicubic of the HR patch by 1/s to exactly ``patch_lr``², rounded to 8-bit levels.
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
from ..resize import degrade, imresize


def load_training_image(path: Path) -> np.ndarray:
    """Luminance on the 0–255 scale as float32 (16-bit files normalised by their p99.5)."""
    with Image.open(path) as im:
        is16 = im.mode.startswith("I")
    y = load_y(path)
    if is16:
        hi = float(np.percentile(y, 99.5)) or float(y.max()) or 1.0
        y = np.clip(y / hi * 255.0, 0, 255)
    return y.astype(np.float32)


class PatchSampler:
    """Random (LR, HR) patch pairs from image folders, degraded on the fly."""

    def __init__(self, folders: Sequence[str | Path], patch_lr: int = 48, p_rescale: float = 0.3,
                 rescale_range: tuple[float, float] = (0.6, 1.0), seed: int = 0,
                 min_size: int = 0) -> None:
        paths: list[Path] = []
        for f in folders:
            found = list_images(f)
            if not found:
                raise FileNotFoundError(f"no training images in {f}")
            paths.extend(found)
        self.images = [load_training_image(p) for p in paths]
        if min_size:
            self.images = [im for im in self.images if min(im.shape) >= min_size]
        areas = np.array([im.size for im in self.images], dtype=np.float64)
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

    def _hr_patch(self, size: int) -> np.ndarray:
        rng = self.rng
        f = 1.0
        if self.p_rescale > 0 and rng.random() < self.p_rescale:
            f = rng.uniform(*self.rescale_range)
        src = int(math.ceil(size / f))
        for _ in range(50):
            im = self.images[rng.choice(len(self.images), p=self.weights)]
            if im.shape[0] >= src and im.shape[1] >= src:
                break
        else:
            src, f = size, 1.0
            im = max(self.images, key=lambda a: min(a.shape))
        y = rng.integers(0, im.shape[0] - src + 1)
        x = rng.integers(0, im.shape[1] - src + 1)
        patch = im[y:y + src, x:x + src].astype(np.float64)
        if src != size:
            patch = imresize(patch, size / src, output_shape=(size, size))
        k = int(rng.integers(0, 8))
        if k & 4:
            patch = patch[:, ::-1]
        return np.rot90(patch, k & 3)

    def sample(self, batch: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch at one scale: LR (B,1,p,p) and HR (B,1,round(p·s),round(p·s)), float32
        [0, 1]."""
        size = round_half_up(self.patch_lr * scale)
        lrs, hrs = [], []
        for _ in range(batch):
            hr = self._hr_patch(size)
            hr = np.clip(np.round(hr), 0, 255)  # HR on integer levels, like the benchmark files
            lr = degrade(hr, scale, round_to="uint8", lr_shape=(self.patch_lr, self.patch_lr))
            lrs.append(lr)
            hrs.append(hr)
        lr_t = torch.from_numpy(np.stack(lrs)[:, None].astype(np.float32) / 255.0)
        hr_t = torch.from_numpy(np.stack(hrs)[:, None].astype(np.float32) / 255.0)
        return lr_t, hr_t
