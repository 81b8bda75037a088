"""``python -m app.figure OUT.png`` — the ×4 MRI comparison figure with Laplacian
maps (as in the paper's Figs. 7–8).

A crop of a 16-bit T1 slice from ``../shared/data/medical/mri_brain/val`` is the ground truth (HR);
it is reduced ×4 with the product's MATLAB-compatible bicubic (:func:`models.resize.degrade`, no
8-bit rounding) and super-resolved back with every method that has ×4 weights. Row 1: HR and each
result (windowed alike, PSNR in original units in the label); row 2: the Laplacian of each (eqs.
6–7, one symmetric display range for all), with the Laplacian-L1 against the HR's. Each panel is
shown ×2 by nearest neighbour so that pixels are not re-interpolated. Qt-free.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from models import SuperResolver
from models.archs.laplacian import laplacian_np
from models.manifest import WEIGHTS_DIR
from models.methods import METHODS
from models.metrics import laplacian_l1, psnr
from models.resize import degrade

MRI_VAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "medical" / "mri_brain" / "val"
DEFAULT_SLICE = "trio_b17_MPRAGE_axreformat_r030.png"


def _crop(hr: np.ndarray, size: int, scale: int) -> np.ndarray:
    size = min(size, hr.shape[0], hr.shape[1]) // scale * scale
    y0, x0 = (hr.shape[0] - size) // 2, (hr.shape[1] - size) // 2
    return hr[y0:y0 + size, x0:x0 + size]


def make_figure(slice_path: Path, out: Path, scale: int = 4, size: int = 128,
                device: str = "cpu", zoom: int = 2, weights_dir: Path = WEIGHTS_DIR
                ) -> list[tuple[str, float, float]]:
    """Write the figure; return (method, PSNR dB, Laplacian-L1) per SR method."""
    from PIL import Image

    from app.io import apply_window, auto_window
    from app.io.sheet import write_sheet

    hr = _crop(np.asarray(Image.open(slice_path), dtype=np.float64), size, scale)
    lr = degrade(hr, scale, round_to=None)
    peak = float(hr.max() - hr.min())
    center, width = auto_window(hr)  # the viewer's default window (0.5–99.5th percentiles)
    lap_hr = laplacian_np(hr)
    lap_w = float(np.percentile(np.abs(lap_hr), 99.5)) * 2 or 1.0

    def show(img: np.ndarray, c: float, w: float) -> np.ndarray:
        disp = apply_window(img, c, w)
        return np.kron(disp, np.ones((zoom, zoom), dtype=disp.dtype))

    resolver = SuperResolver(device, weights_dir)
    top = [(show(hr, center, width), f"HR (ground truth) {hr.shape[1]}x{hr.shape[0]}")]
    bottom = [(show(lap_hr, 0.0, lap_w), "Laplacian of HR")]
    scores = []
    for method in resolver.methods():
        if not resolver.available(method, scale):
            continue
        sr = resolver.upscale(lr, scale, method)
        p = psnr(sr, hr, peak=peak)
        l1 = laplacian_l1(sr, hr)
        scores.append((method, p, l1))
        top.append((show(sr, center, width),
                    f"SR x{scale} {METHODS[method].label} - computed, {p:.2f} dB"))
        bottom.append((show(laplacian_np(sr), 0.0, lap_w), f"Laplacian, L1 to HR {l1:.1f}"))
    title = (f"{slice_path.name}: HR crop -> bicubic LR /{scale} -> SR x{scale}; "
             f"PSNR in original units (peak {peak:.0f})")
    write_sheet(out, top + bottom, title, columns=len(top))
    return scores


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.figure", description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--slice", type=Path, default=MRI_VAL / DEFAULT_SLICE)
    p.add_argument("--size", type=int, default=128, help="HR crop size in pixels")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if not args.slice.exists():
        print(f"app.figure: no such slice: {args.slice}", file=sys.stderr)
        return 1
    for method, db, l1 in make_figure(args.slice, args.out, size=args.size, device=args.device):
        print(f"{method:9s} PSNR {db:6.2f} dB   Laplacian-L1 {l1:8.2f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
