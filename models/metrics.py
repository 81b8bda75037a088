"""Image-quality metrics: the SR literature's PSNR/SSIM for the benchmark tables and the viewer's
quality-panel figures.

* :func:`psnr` — peak signal-to-noise ratio with a given peak (255 for 8-bit benchmarks, the
  dynamic range for medical images in original units).
* :func:`ssim` — Wang et al. (2004) SSIM as used in SR papers: 11×11 Gaussian window, σ = 1.5,
  K = (0.01, 0.03), 'valid' filtering, mean over the map.
* :func:`rgb_to_y` — MATLAB ``rgb2ycbcr`` luminance (BT.601, studio range 16–235).
* :func:`shave` — crop a border.
* Gradient-domain and no-reference figures for the quality panel: :func:`laplacian_l1` (edge
  fidelity against a reference), :func:`sharpness` (mean Laplacian energy), :func:`gradient_energy`,
  :func:`entropy`, :func:`contrast`, :func:`data_consistency_psnr`.
All functions take numpy arrays and return Python floats unless said otherwise.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import correlate1d

from .archs.laplacian import laplacian_np
from .resize import imresize


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """BT.601 studio-range luminance of an 8-bit-scaled RGB image (float64, not rounded)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0


def shave(image: np.ndarray, border: int) -> np.ndarray:
    """Remove ``border`` pixels from each side."""
    if border <= 0:
        return image
    return image[border:-border, border:-border]


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB; +inf for identical images."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


#: the side of SSIM's Gaussian window: the smallest image :func:`ssim` scores
SSIM_WINDOW = 11


def _gaussian_window(size: int = SSIM_WINDOW, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    r = len(g) // 2
    y = correlate1d(correlate1d(x, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    return y[r:-r, r:-r]


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Mean SSIM (Gaussian 11×11, σ 1.5, 'valid') of two 2-D images."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim needs two 2-D images of one shape, got {a.shape} and {b.shape}")
    if min(a.shape) < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels")
    g = _gaussian_window()
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    saa = _filter_valid(a * a, g) - mu_a ** 2
    sbb = _filter_valid(b * b, g) - mu_b ** 2
    sab = _filter_valid(a * b, g) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * sab + c2)
    den = (mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2)
    return float(np.mean(num / den))


def laplacian_l1(image: np.ndarray, reference: np.ndarray) -> float:
    """Mean |Lap(image) − Lap(reference)| — edge fidelity (lower is better), same units as
    input."""
    return float(np.mean(np.abs(laplacian_np(image) - laplacian_np(reference))))


def sharpness(image: np.ndarray) -> float:
    """No-reference sharpness: root-mean-square of the Laplacian (units of the image)."""
    return float(np.sqrt(np.mean(laplacian_np(image) ** 2)))


def gradient_energy(image: np.ndarray) -> float:
    """Mean squared central-difference gradient magnitude (Tenengrad-like)."""
    a = np.asarray(image, np.float64)
    gy, gx = np.gradient(a)
    return float(np.mean(gx * gx + gy * gy))


def entropy(image: np.ndarray, bins: int = 256, value_range: tuple[float, float] | None = None
            ) -> float:
    """Shannon entropy (bits) of the intensity histogram."""
    a = np.asarray(image, np.float64).ravel()
    if value_range is None:
        value_range = (float(a.min()), float(a.max()) if a.max() > a.min() else float(a.min()) + 1)
    hist, _ = np.histogram(a, bins=bins, range=value_range)
    p = hist[hist > 0] / a.size
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: a flat image's −0.0 reads 0


def contrast(image: np.ndarray) -> float:
    """RMS contrast: standard deviation of the intensities."""
    return float(np.std(np.asarray(image, np.float64)))


def data_consistency(sr: np.ndarray, lr: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
    """PSNR between ``sr`` degraded by the training's bicubic model and ``lr``; the residual map.

    Peak = the dynamic range of ``lr``. A low value means the method added or removed content
    that the input does not support.
    """
    lr = np.asarray(lr, np.float64)
    back = imresize(np.asarray(sr, np.float64), 1.0 / scale, output_shape=lr.shape[:2])
    residual = back - lr
    peak = float(lr.max() - lr.min()) or 1.0
    return psnr(back, lr, peak), residual
