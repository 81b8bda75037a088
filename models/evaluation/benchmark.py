"""The SR literature's evaluation protocol, shared by ``rmisr-eval`` and training.

For scale s and an HR image of H×W:
  H_lr = floor(H/s); HR cropped top-left to (round(H_lr·s), round(W_lr·s)); Y = BT.601 luminance
  (a single-channel file is used as Y directly); LR = MATLAB bicubic of Y (float) to H_lr×W_lr,
  rounded to 8 bit; SR = method(LR, s) rounded to 8 bit; shave ceil(s) pixels; PSNR (peak 255) and
  SSIM on Y. This is the variant ``yfloat_lr8_sr8`` of ``../shared/data/README.md``, which
  reproduces the published bicubic figures within 0.01 dB.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from ..geometry import round_half_up
from ..metrics import SSIM_WINDOW, laplacian_l1, psnr, rgb_to_y, shave, ssim
from ..resize import degrade

#: The project's data sets, kept beside the checkout (``../shared/data``), never in it.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


def load_y(path: str | Path) -> np.ndarray:
    """Luminance of an image file as float64 on the 0–255 scale (grey files are used as Y)."""
    with Image.open(path) as im:
        if im.mode in ("L", "I;16", "I;16B", "I;16L", "I", "F"):
            return np.asarray(im, dtype=np.float64)
        arr = np.asarray(im.convert("RGB"), dtype=np.float64)
    return rgb_to_y(arr)


def list_images(folder: str | Path) -> list[Path]:
    """Image files of a folder, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


@dataclass
class Pair:
    name: str
    hr: np.ndarray  # float64 Y, cropped
    lr: np.ndarray  # float64 Y, rounded to integers


def _grid(h: int, w: int, scale: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """((rows, cols) of the HR crop, (rows, cols) of the LR image) of an h×w image at ``scale``."""
    h_lr = int(math.floor(h / scale + 1e-9))
    w_lr = int(math.floor(w / scale + 1e-9))
    return (round_half_up(h_lr * scale), round_half_up(w_lr * scale)), (h_lr, w_lr)


def make_pair(y: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(HR crop, LR) for one Y image under the protocol."""
    (hc, wc), lr_shape = _grid(y.shape[0], y.shape[1], scale)
    hr = y[:hc, :wc]
    return hr, degrade(hr, scale, round_to="uint8", lr_shape=lr_shape)


def check_scorable(path: str | Path, h: int, w: int, scale: float) -> None:
    """ValueError, naming ``path`` and its size, where an h×w image cannot be scored at
    ``scale``: its crop to the LR grid, shaved by ceil(s) on every side, is smaller than SSIM's
    window."""
    shaved = int(math.ceil(scale))
    need = 2 * shaved + SSIM_WINDOW
    (hc, wc), _ = _grid(h, w, scale)
    if min(hc, wc) < need:
        raise ValueError(f"{path}: {h}×{w} pixels, {hc}×{wc} on the ×{scale:g} LR grid; the "
                         f"protocol shaves {shaved} from every side and SSIM needs "
                         f"{SSIM_WINDOW}×{SSIM_WINDOW} of the rest: at least {need} on each")


#: Pillow modes of more than 8 bits per sample: not what the protocol scores
HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16S", "I", "F")


def check_eight_bit(path: str | Path, mode: str) -> None:
    """ValueError, naming ``path``, where an image (Pillow ``mode``) has more than 8 bits per
    sample: the protocol rounds the LR to 8-bit levels and takes PSNR's peak as 255, so a 16-bit
    or float image would be scored as if its values were 8-bit ones."""
    if mode in HIGH_BIT_MODES:
        raise ValueError(f"{path}: a {mode} image (more than 8 bits per sample); the benchmark "
                         "protocol scores 8-bit images (LR on 8-bit levels, PSNR peak 255): "
                         "convert it to 8 bits, or score medical slices with python -m "
                         "models.evaluation.medical_eval")


def check_set(folder: str | Path, scales: Iterable[float]) -> None:
    """Raise before any scoring where ``folder`` cannot be scored at every one of ``scales``
    (the images' sizes read from their headers, nothing decoded).

    Raises:
        FileNotFoundError: no such folder.
        ValueError: the folder holds no images, one too small (:func:`check_scorable`) or one
            of more than 8 bits (:func:`check_eight_bit`).
    """
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    images = list_images(folder)
    if not images:
        raise ValueError(f"{folder} holds no images")
    scales = list(scales)
    for path in images:
        with Image.open(path) as im:
            (w, h), mode = im.size, im.mode
        check_eight_bit(path, mode)
        for s in scales:
            check_scorable(path, h, w, s)


def iter_pairs(folder: str | Path, scale: float) -> Iterator[Pair]:
    """The (HR crop, LR) pairs of a folder's images under the protocol.

    Raises:
        ValueError: an image too small to score at ``scale`` (:func:`check_scorable`) or of
            more than 8 bits (:func:`check_eight_bit`).
    """
    for path in list_images(folder):
        with Image.open(path) as im:
            check_eight_bit(path, im.mode)
        y = load_y(path)
        check_scorable(path, y.shape[0], y.shape[1], scale)
        hr, lr = make_pair(y, scale)
        yield Pair(path.stem, hr, lr)


@dataclass
class SetScore:
    psnr: float
    ssim: float
    lap_l1: float
    count: int


def scored_pair(sr: np.ndarray, hr: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """What the protocol compares: the SR rounded to 8-bit levels and the HR, both shaved by
    ceil(s) on every side."""
    sr8 = np.clip(np.round(sr), 0, 255)
    b = int(math.ceil(scale))
    return shave(sr8, b), shave(hr, b)


def score(sr: np.ndarray, hr: np.ndarray, scale: float) -> tuple[float, float, float]:
    """(PSNR, SSIM, Laplacian-L1) of an 8-bit-rounded SR against HR, after shaving ceil(s)."""
    a, r = scored_pair(sr, hr, scale)
    return psnr(a, r), ssim(a, r), laplacian_l1(a, r)


def evaluate_folder(upscale: Callable[[np.ndarray, float], np.ndarray], folder: str | Path,
                    scale: float) -> SetScore:
    """Average PSNR/SSIM/Laplacian-L1 of ``upscale(lr_0_255, scale)`` over a folder.

    Args:
        upscale: the method under test: an 8-bit LR Y image (float, 0–255) and the scale in, the
            SR image (HR-sized) out.
        folder: the HR images (the protocol degrades each to its LR).
        scale: the magnification.

    Returns:
        The set's mean scores and image count.

    Raises:
        ValueError: an SR image of the wrong size, or a folder without images.
    """
    ps, ss, ls = [], [], []
    for pair in iter_pairs(folder, scale):
        sr = upscale(pair.lr, scale)
        if sr.shape != pair.hr.shape:
            raise ValueError(f"{pair.name}: SR shape {sr.shape} != HR shape {pair.hr.shape}")
        p, s, lap = score(sr, pair.hr, scale)
        ps.append(p)
        ss.append(s)
        ls.append(lap)
    if not ps:  # never a row of NaN
        raise ValueError(f"{folder}: no HR images to score")
    return SetScore(float(np.mean(ps)), float(np.mean(ss)), float(np.mean(ls)), len(ps))
