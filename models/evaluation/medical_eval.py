"""``python -m models.evaluation.medical_eval`` — PSNR in original units on medical images.

Networks are trained on 8-bit natural images; CT (Hounsfield units) and MR (12-bit) reach them
through a normalisation to [0, 1]. For each normalisation mode of :class:`models.SuperResolver` —
``range`` (the image's min–max), ``percentile`` (0.5–99.5th, clipped part restored) and
``window`` (the file's display window; DICOM only) — this measures, on

* ``../shared/data/medical/mri_brain/val`` (25 × 16-bit T1 MR slices),
* ``../shared/data/medical/ct`` (10 chest CT slices, HU),
* pydicom's bundled ``CT_small.dcm`` and ``MR_small.dcm``,

HR → MATLAB bicubic LR (float, no 8-bit rounding) → SR, PSNR with peak = the HR image's dynamic
range after shaving ⌈s⌉ pixels. The mode with the best mean over the sets is the engine's
default (``models.inference.DEFAULT_NORMALIZATION``); docs/results.md records the table.

``--roi N`` measures instead what the viewer does with a region of interest: N×N LR regions
super-resolved alone (their own min–max, zero context) against the same regions in their
context (``upscale(..., roi=)``: the pixels around them and the whole slice's min–max).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ..geometry import output_size, round_half_up
from ..inference import NORMALIZATION_MODES, SuperResolver
from ..methods import METHODS
from ..metrics import psnr, shave
from ..resize import imresize
from .benchmark import SHARED_DATA, list_images
from .engine_args import add_engine_arguments, resolver_from_args
from .medical_data import read_dicom


def _shared() -> Path:
    return SHARED_DATA / "medical"


def load_sets(root: Path) -> dict[str, list[tuple[np.ndarray, tuple[float, float] | None]]]:
    sets: dict[str, list] = {}
    mri = root / "mri_brain" / "val"
    if mri.is_dir() and list_images(mri):  # an empty folder is no set (its PSNR would be NaN)
        sets["MRI brain val (16-bit PNG)"] = [
            (np.asarray(Image.open(p), dtype=np.float64), None) for p in list_images(mri)]
    ct = root / "ct"
    if ct.is_dir() and any(ct.glob("*.dcm")):
        sets["Chest CT (HU)"] = [read_dicom(p) for p in sorted(ct.glob("*.dcm"))]
    try:
        from pydicom.data import get_testdata_file
        small = []
        for name in ("CT_small.dcm", "MR_small.dcm"):
            f = get_testdata_file(name, download=False)
            if f:
                small.append(read_dicom(Path(f)))
        if small:
            sets["pydicom CT_small + MR_small"] = small
    except Exception:  # pydicom's data folder missing: skip that set
        pass
    return sets


def evaluate(resolver: SuperResolver, images: list, method: str, scale: float, mode: str | None
             ) -> float | None:
    scores = []
    for hr_full, window in images:
        if mode == "window" and window is None:
            return None
        h_lr = int(math.floor(hr_full.shape[0] / scale + 1e-9))
        w_lr = int(math.floor(hr_full.shape[1] / scale + 1e-9))
        hr = hr_full[:round_half_up(h_lr * scale), :round_half_up(w_lr * scale)]
        lr = imresize(hr, 1.0 / scale, output_shape=(h_lr, w_lr))
        kw = {} if method == "bicubic" else {"normalization": mode, "window": window}
        sr = resolver.upscale(lr, scale, method, **kw)
        b = int(math.ceil(scale))
        peak = float(hr.max() - hr.min()) or 1.0
        scores.append(psnr(shave(sr, b), shave(hr, b), peak))
    return float(np.mean(scores))


def evaluate_rois(resolver: SuperResolver, images: list, method: str, scale: float, size: int,
                  per_image: int, seed: int = 0) -> tuple[float, float, float] | None:
    """Mean PSNR over ``per_image`` random ``size``×``size`` LR regions of each slice, three ways:
    the region super-resolved alone (its own min–max, zero context: the viewer up to
    2026-12-01); in its context (``roi=``) normalised by the region's own min–max; in its
    context normalised by the whole slice's min–max. Peak = the whole HR slice's dynamic range;
    regions start where x·s and y·s are whole, so the HR region is exactly their output's."""
    rng = np.random.default_rng(seed)
    scores: list[tuple[float, float, float]] = []
    for hr_full, _ in images:
        h_lr = int(math.floor(hr_full.shape[0] / scale + 1e-9))
        w_lr = int(math.floor(hr_full.shape[1] / scale + 1e-9))
        hr = hr_full[:round_half_up(h_lr * scale), :round_half_up(w_lr * scale)]
        lr = imresize(hr, 1.0 / scale, output_shape=(h_lr, w_lr))
        peak = float(hr.max() - hr.min()) or 1.0
        starts = [v for v in range(0, max(h_lr, w_lr)) if abs(v * scale - round(v * scale)) < 1e-9]
        ys = [v for v in starts if v + size <= h_lr]
        xs = [v for v in starts if v + size <= w_lr]
        if not ys or not xs:  # no room for the region in this slice
            continue
        for _ in range(per_image):
            y, x = int(rng.choice(ys)), int(rng.choice(xs))
            oh, ow = output_size(size, size, scale)
            y0, x0 = round(y * scale), round(x * scale)
            ref = hr[y0:y0 + oh, x0:x0 + ow]
            crop = lr[y:y + size, x:x + size]
            own = (float(crop.min()), float(crop.max()))
            outs = (resolver.upscale(crop, scale, method),
                    resolver.upscale(lr, scale, method, roi=(x, y, size, size), value_range=own),
                    resolver.upscale(lr, scale, method, roi=(x, y, size, size)))
            scores.append(tuple(psnr(o, ref, peak) for o in outs))  # type: ignore[misc]
    if not scores:
        return None
    a, b, c = np.mean(np.array(scores), axis=0)
    return float(a), float(b), float(c)


def roi_table(resolver: SuperResolver, sets: dict, methods: list[str], scales: list[float],
              size: int, per_image: int) -> None:
    """Print the region comparison of :func:`evaluate_rois` as a Markdown table."""
    names = list(sets)
    print(f"\nRegions of {size}×{size} LR px, {per_image} per slice (the same for every method), "
          "PSNR dB: alone / in context, the region's min–max / in context, the slice's min–max\n")
    print("| Method | Scale | " + " | ".join(names) + " | mean: context − alone (own, slice) |")
    print("|---|---|" + "---|" * len(names) + "---:|")
    for s in scales:
        for m in ["bicubic"] + methods:
            if not resolver.available(m, s):
                continue
            vals = [evaluate_rois(resolver, sets[n], m, s, size, per_image) for n in names]
            got = np.array([v for v in vals if v is not None])
            gains = (f"{np.mean(got[:, 1] - got[:, 0]):+.3f}, {np.mean(got[:, 2] - got[:, 0]):+.3f}"
                     if len(got) else "n/a")
            print(f"| {METHODS[m].label} | ×{s:g} | "
                  + " | ".join("n/a" if v is None else " / ".join(f"{x:.2f}" for x in v)
                               for v in vals)
                  + f" | {gains} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.medical_eval",
                                description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(_shared()))
    p.add_argument("--scales", type=float, nargs="+", default=[2.0, 4.0])
    p.add_argument("--methods", nargs="+", default=[m for m in METHODS if m != "bicubic"])
    add_engine_arguments(p)
    p.add_argument("--roi", type=int, default=0, metavar="N",
                   help="instead: compare N×N LR regions super-resolved alone and in their "
                        "context (see evaluate_rois)")
    p.add_argument("--rois-per-image", type=int, default=4)
    args = p.parse_args(argv)
    if not Path(args.data).is_dir():  # not pydicom's two bundled files alone, as if it were
        print(f"medical_eval: --data {args.data}: no such folder", file=sys.stderr)
        return 2
    resolver = resolver_from_args(args)
    sets = load_sets(Path(args.data))
    if not sets:
        print("medical_eval: no medical data found", file=sys.stderr)
        return 2
    if args.roi:
        print(f"Medical regions, PSNR in original units, {_dt.date.today().isoformat()}, "
              f"device {resolver.device.type}")
        roi_table(resolver, sets, args.methods, args.scales, args.roi, args.rois_per_image)
        return 0
    names = list(sets)
    print(f"Medical PSNR in original units (dB, peak = HR dynamic range), "
          f"{_dt.date.today().isoformat()}, device {resolver.device.type}\n")
    print("| Method | Scale | Normalisation | " + " | ".join(names) + " | mean |")
    print("|---|---|---|" + "---:|" * (len(names) + 1))
    totals: dict[str, list[float]] = {m: [] for m in NORMALIZATION_MODES}
    for s in args.scales:
        base = [evaluate(resolver, sets[n], "bicubic", s, None) for n in names]
        print(f"| Bicubic | ×{s:g} | — | " + " | ".join(f"{v:.2f}" for v in base)
              + f" | {np.mean(base):.2f} |", flush=True)
        for m in args.methods:
            if not resolver.available(m, s):
                continue
            for mode in NORMALIZATION_MODES:
                vals = [evaluate(resolver, sets[n], m, s, mode) for n in names]
                got = [v for v in vals if v is not None]
                for v, b in zip(vals, base):
                    if v is not None:
                        totals[mode].append(v - b)
                print(f"| {METHODS[m].label} | ×{s:g} | {mode} | "
                      + " | ".join("n/a" if v is None else f"{v:.2f}" for v in vals)
                      + f" | {np.mean(got):.2f} |", flush=True)
    gains = {k: float(np.mean(v)) for k, v in totals.items() if v}
    if gains:
        best = max(gains, key=gains.get)
        print("\nMean gain over bicubic per mode (dB): "
              + ", ".join(f"{k} {v:+.3f}" for k, v in gains.items()) + f" → best: {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
