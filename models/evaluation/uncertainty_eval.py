"""``python -m models.evaluation.uncertainty_eval`` — does the best-quality ensemble help, and does
its uncertainty map point at the pixels that are wrong?

For each set and scale, every image is super-resolved twice through the product's own
:class:`models.SuperResolver`: plainly and with ``ensemble=True`` (the mean of the 8
flips/rotations, ``info.uncertainty`` their per-pixel spread). Printed per set and scale:

* the ensemble's PSNR gain over the plain run (dB);
* for each uncertainty variant of :mod:`models.inference.uncertainty`: the AUC with which the map
  ranks the worst 10 % of pixels (largest |SR − HR|, SR = the ensemble's unrounded result, after
  shaving ⌈s⌉ pixels), and the Spearman correlation between the map and |SR − HR|; both per image,
  then averaged over the set's images.

Sets and protocols (the ones the project already reports):

* ``Set5``, ``Set14``, ``BSD100_Y``, ``Urban100_Y`` under ``../shared/data/benchmark``: the 8-bit Y
  protocol of :mod:`models.evaluation.benchmark` (MATLAB-bicubic LR rounded to 8 bit, SR rounded for
  the PSNR, peak 255), networks normalised by the fixed range 0–255 as ``rmisr-eval`` does;
* ``MRI`` (``../shared/data/medical/mri_brain/val``, 16-bit) and ``CT`` (``…/medical/ct``, HU):
  :mod:`models.evaluation.medical_eval`'s protocol in original units (float bicubic LR, PSNR with
  peak = the HR slice's dynamic range, the engine's default normalisation).

Variants that compare with another result also run bicubic and/or the other network
(``--other``, RMISR-VP for RMISR-BL) plainly. ``calibrated`` is fitted first on ``--fit-images``
training images (``../shared/data/train/T91``, the benchmark protocol), per method and scale, and
its weights are printed. ``--figure PATH`` writes HR, SR, |SR − HR| and the uncertainty map of
an MRI crop side by side with colour bars in the image's units.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import math
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from ..geometry import round_half_up
from ..inference import SuperResolver
from ..inference.uncertainty import (
    DEFAULT_VARIANT,
    NEEDS,
    VARIANTS,
    auc_worst,
    features,
    fit_calibration,
    spearman,
    uncertainty_map,
)
from ..methods import METHODS
from ..metrics import psnr, shave
from ..resize import imresize
from .benchmark import SHARED_DATA, iter_pairs, list_images, load_y, make_pair, score
from .engine_args import add_engine_arguments, resolver_from_args
from .medical_data import read_dicom

BENCHMARK_SETS = ("Set5", "Set14", "BSD100_Y", "Urban100_Y")
MEDICAL_SETS = ("MRI", "CT")
ALL_SETS = BENCHMARK_SETS + MEDICAL_SETS
DEFAULT_FIGURE_SLICE = "trio_b17_MPRAGE_axreformat_r030.png"


def _data() -> Path:
    return SHARED_DATA


@dataclass
class Case:
    """One HR/LR pair: ``medical`` selects the original-units protocol."""

    name: str
    hr: np.ndarray
    lr: np.ndarray
    medical: bool


def medical_pair(hr_full: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(HR crop, float bicubic LR) as :func:`models.evaluation.medical_eval.evaluate` makes them."""
    h_lr = int(math.floor(hr_full.shape[0] / scale + 1e-9))
    w_lr = int(math.floor(hr_full.shape[1] / scale + 1e-9))
    hr = hr_full[:round_half_up(h_lr * scale), :round_half_up(w_lr * scale)]
    return hr, imresize(hr, 1.0 / scale, output_shape=(h_lr, w_lr))


def iter_cases(set_name: str, scale: float, data: Path, max_images: int = 0) -> Iterator[Case]:
    """The set's pairs at ``scale`` (the first ``max_images`` by file name; 0 = all)."""
    n = 0
    if set_name in BENCHMARK_SETS:
        for pair in iter_pairs(data / "benchmark" / set_name, scale):
            if max_images and n >= max_images:
                return
            n += 1
            yield Case(pair.name, pair.hr, pair.lr, False)
        return
    if set_name == "MRI":
        paths = list_images(data / "medical" / "mri_brain" / "val")
        load = (lambda p: np.asarray(Image.open(p), dtype=np.float64))
    elif set_name == "CT":
        paths = sorted((data / "medical" / "ct").glob("*.dcm"))
        load = (lambda p: read_dicom(p)[0])
    else:
        raise ValueError(f"unknown set {set_name!r}; choose from {ALL_SETS}")
    for p in paths[:max_images or None]:
        hr, lr = medical_pair(load(p), scale)
        yield Case(p.stem, hr, lr, True)


def _kwargs(case: Case) -> dict:
    # 8-bit benchmark images: the fixed 0–255 range, as rmisr-eval; medical: the engine's default
    return {} if case.medical else {"normalization": "range", "value_range": (0.0, 255.0)}


def other_method(method: str) -> str:
    """The network whose disagreement ``method-diff`` measures: RMISR-VP for RMISR-BL, else BL."""
    return "rmisr-vp" if method != "rmisr-vp" else "rmisr-bl"


@dataclass
class Runs:
    """What one case needs: the plain and ensemble results, the spread, and the references."""

    plain: np.ndarray
    ensemble: np.ndarray
    spread: np.ndarray
    bicubic: np.ndarray | None = None
    other: np.ndarray | None = None


def run_case(resolver: SuperResolver, case: Case, method: str, scale: float, needs: set[str],
             other: str) -> Runs:
    kw = _kwargs(case)
    plain = resolver.upscale(case.lr, scale, method, **kw)
    ens, info = resolver.upscale(case.lr, scale, method, ensemble=True, return_info=True, **kw)
    runs = Runs(plain, ens, info.uncertainty)
    if "bicubic" in needs:
        runs.bicubic = resolver.upscale(case.lr, scale, "bicubic")
    if "other" in needs and resolver.available(other, scale):
        runs.other = resolver.upscale(case.lr, scale, other, **kw)
    return runs


def _psnr(sr: np.ndarray, case: Case, scale: float) -> float:
    if not case.medical:
        return score(sr, case.hr, scale)[0]
    b = int(math.ceil(scale))
    peak = float(case.hr.max() - case.hr.min()) or 1.0
    return psnr(shave(sr, b), shave(case.hr, b), peak)


def _shaved(a: np.ndarray | None, scale: float) -> np.ndarray | None:
    return None if a is None else shave(np.asarray(a, dtype=np.float64), int(math.ceil(scale)))


def fit(resolver: SuperResolver, method: str, scale: float, images: list[Path], other: str
        ) -> tuple[float, float, float]:
    """Calibration weights for (method, scale) on training images (benchmark protocol)."""
    samples = []
    for path in images:
        hr, lr = make_pair(load_y(path), scale)
        case = Case(path.stem, hr, lr, False)
        r = run_case(resolver, case, method, scale, {"bicubic", "other"}, other)
        sr = _shaved(r.ensemble, scale)
        err = np.abs(sr - _shaved(hr, scale))
        samples.append((features(_shaved(r.spread, scale), sr, _shaved(r.bicubic, scale),
                                 _shaved(r.other, scale)), err))
    return fit_calibration(samples)


@dataclass
class Row:
    method: str
    set_name: str
    scale: float
    images: int = 0
    plain: list[float] = field(default_factory=list)
    ensemble: list[float] = field(default_factory=list)
    auc: dict[str, list[float]] = field(default_factory=dict)
    rho: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def mean(self, values: list[float]) -> float:
        v = [x for x in values if not math.isnan(x)]
        return float(np.mean(v)) if v else float("nan")


def evaluate(resolver: SuperResolver, set_name: str, method: str, scale: float, data: Path,
             variants: list[str], max_images: int = 0, other: str | None = None,
             calibration: tuple[float, float, float] | None = None) -> Row:
    """Score one (set, method, scale): PSNR plain/ensemble and each variant's AUC and Spearman."""
    other = other or other_method(method)
    needs = set().union(*(NEEDS[v] for v in variants))
    row = Row(method, set_name, scale, auc={v: [] for v in variants},
              rho={v: [] for v in variants})
    t0 = time.perf_counter()
    for case in iter_cases(set_name, scale, data, max_images):
        r = run_case(resolver, case, method, scale, needs, other)
        row.images += 1
        row.plain.append(_psnr(r.plain, case, scale))
        row.ensemble.append(_psnr(r.ensemble, case, scale))
        sr = _shaved(r.ensemble, scale)
        err = np.abs(sr - _shaved(case.hr, scale))
        for v in variants:
            if "other" in NEEDS[v] and r.other is None:
                continue
            u = uncertainty_map(v, _shaved(r.spread, scale), sr, _shaved(r.bicubic, scale),
                                _shaved(r.other, scale), calibration)
            row.auc[v].append(auc_worst(u, err))
            row.rho[v].append(spearman(u, err))
    row.seconds = time.perf_counter() - t0
    return row


def table(rows: list[Row], variants: list[str]) -> list[str]:
    """Markdown: one line per (method, set, scale)."""
    head = ("| Method | Set | Scale | images | plain dB | ensemble dB | gain dB | "
            + " | ".join(f"AUC {v} | ρ {v}" for v in variants) + " | seconds |")
    lines = [head, "|---|---|---|---:|---:|---:|---:|" + "---:|---:|" * len(variants) + "---:|"]
    for r in rows:
        gain = r.mean(r.ensemble) - r.mean(r.plain)
        lines.append(f"| {METHODS[r.method].label} | {r.set_name} | ×{r.scale:g} | {r.images} | "
                     f"{r.mean(r.plain):.3f} | {r.mean(r.ensemble):.3f} | {gain:+.3f} | "
                     + " | ".join(f"{r.mean(r.auc[v]):.3f} | {r.mean(r.rho[v]):.3f}"
                                  for v in variants)
                     + f" | {r.seconds:.0f} |")
    return lines


def summary(rows: list[Row], variants: list[str]) -> list[str]:
    """Mean AUC per variant over the rows, and the best one."""
    means = {}
    for v in variants:
        vals = [r.mean(r.auc[v]) for r in rows]
        vals = [x for x in vals if not math.isnan(x)]
        if vals:
            means[v] = float(np.mean(vals))
    if not means:
        return []
    best = max(means, key=means.get)
    return ["Mean AUC over the rows: " + ", ".join(f"{v} {m:.3f}" for v, m in means.items())
            + f" → best: {best}"]


# --- the figure -------------------------------------------------------------------------------
_WHAT = {"spread": "SD of the 8 runs", "spread-smooth": "SD of the 8 runs, smoothed 1 px"}


def make_figure(out: Path, slice_path: Path, resolver: SuperResolver, method: str = "rmisr-bl",
                scale: int = 4, size: int = 128, zoom: int = 2) -> dict[str, float]:
    """HR, SR (the ensemble), |SR − HR| and the uncertainty map of a central ``size``² crop of an
    MRI slice (float bicubic LR, the engine's default normalisation), side by side; the two maps
    with colour bars in the image's units (each its own scale). Returns the crop's PSNR, AUC
    and Spearman. The picture is drawn by :mod:`app.io.heatmap` (imported here only: the engine
    itself never needs the app).
    """
    from app.io import auto_window
    from app.io.heatmap import compose_panels

    full = np.asarray(Image.open(slice_path), dtype=np.float64)
    size = min(size, *full.shape) // scale * scale
    y0, x0 = (full.shape[0] - size) // 2, (full.shape[1] - size) // 2
    hr = full[y0:y0 + size, x0:x0 + size]
    lr = imresize(hr, 1.0 / scale, output_shape=(size // scale, size // scale))
    sr, info = resolver.upscale(lr, scale, method, ensemble=True, return_info=True)
    unc = uncertainty_map(DEFAULT_VARIANT, info.uncertainty)
    err = np.abs(sr.astype(np.float64) - hr)
    peak = float(hr.max() - hr.min()) or 1.0
    scores = {"psnr": psnr(sr, hr, peak), "auc": auc_worst(unc, err),
              "spearman": spearman(unc, err)}
    center, width = auto_window(hr)
    zoomed = [np.kron(a, np.ones((zoom, zoom))) for a in (hr, sr, err, unc)]
    label = METHODS[method].label
    compose_panels(out, [
        ("grey", zoomed[0], "HR (acquired)", (center, width)),
        ("grey", zoomed[1], f"SR x{scale} {label} ensemble - computed", (center, width)),
        ("heat", zoomed[2], "|SR - HR| (computed)", None),
        ("heat", zoomed[3], f"uncertainty: {_WHAT.get(DEFAULT_VARIANT, DEFAULT_VARIANT)} "
                            "(computed)", None),
    ], title=(f"{slice_path.name}, {size}x{size} crop, x{scale}: PSNR {scores['psnr']:.2f} dB, "
              f"uncertainty AUC for the worst 10% {scores['auc']:.3f}, "
              f"Spearman {scores['spearman']:.3f}"), unit="stored MR value")
    return scores


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.uncertainty_eval",
                                description="Does the best-quality ensemble help, and does its "
                                            "uncertainty map point at the wrong pixels? Prints "
                                            "the PSNR gain and each map's AUC and Spearman.")
    p.add_argument("--data", type=Path, default=_data(),
                   help="folder holding benchmark/, medical/ and train/")
    p.add_argument("--sets", nargs="*", default=list(ALL_SETS), choices=ALL_SETS,
                   help="sets to score (none: only the figure)")
    p.add_argument("--scales", type=float, nargs="+", default=[2.0, 4.0])
    p.add_argument("--methods", nargs="+", default=["rmisr-bl"],
                   choices=[m for m in METHODS if m != "bicubic"])
    p.add_argument("--variant", nargs="+", default=[DEFAULT_VARIANT],
                   choices=list(VARIANTS) + ["all"],
                   help="uncertainty variants to score (models.inference.uncertainty); "
                        "'all' = every one")
    p.add_argument("--max-images", type=int, default=0, metavar="N",
                   help="score the first N images of each set (0 = all)")
    p.add_argument("--fit-images", type=int, default=6, metavar="N",
                   help="training images (T91, evenly spaced) that 'calibrated' is fitted on")
    p.add_argument("--out", type=Path, help="also write the table as Markdown")
    p.add_argument("--figure", type=Path, help="write the HR/SR/error/uncertainty MRI figure")
    add_engine_arguments(p)
    args = p.parse_args(argv)
    variants = list(VARIANTS) if "all" in args.variant else list(dict.fromkeys(args.variant))
    resolver = resolver_from_args(args)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    if args.sets:
        say(f"Ensemble gain and uncertainty AUC (worst 10 % of pixels), "
            f"{_dt.date.today().isoformat()}, device {resolver.device.type} "
            f"({platform.machine()}), max images per set {args.max_images or 'all'}")
        say()
        rows: list[Row] = []
        for method in args.methods:
            for s in args.scales:
                if not resolver.available(method, s):
                    say(f"{METHODS[method].label} ×{s:g}: no weights, skipped")
                    continue
                calibration = None
                if "calibrated" in variants:
                    train = list_images(args.data / "train" / "T91")
                    step = max(1, len(train) // max(args.fit_images, 1))
                    picked = train[::step][:args.fit_images]
                    calibration = fit(resolver, method, s, picked, other_method(method))
                    say(f"calibrated {METHODS[method].label} ×{s:g} on {len(picked)} T91 images: "
                        f"|error| ≈ {calibration[0]:.3f}·spread + {calibration[1]:.3f}·|SR − "
                        f"bicubic| + {calibration[2]:.3f}·|SR − "
                        f"{METHODS[other_method(method)].label}|")
                for set_name in args.sets:
                    row = evaluate(resolver, set_name, method, s, args.data, variants,
                                   args.max_images, calibration=calibration)
                    rows.append(row)
                    print(table([row], variants)[-1], file=sys.stderr, flush=True)  # progress
        say()
        for line in table(rows, variants) + [""] + summary(rows, variants):
            say(line)
    if args.figure:
        slice_path = args.data / "medical" / "mri_brain" / "val" / DEFAULT_FIGURE_SLICE
        sc = make_figure(args.figure, slice_path, resolver, args.methods[0])
        say(f"figure {args.figure}: PSNR {sc['psnr']:.2f} dB, AUC {sc['auc']:.3f}, "
            f"Spearman {sc['spearman']:.3f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
