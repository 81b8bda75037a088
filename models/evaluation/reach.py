"""``python -m models.evaluation.reach`` — how far the trained networks' outputs depend on their
input, measured.

By their structure an RMISR-BL output pixel depends on input pixels up to 51 LR pixels away and an
RMISR-VP one up to 87 (each PFMDB adds 12: two SRBs, a 7×7 PyConv level and ICCA's 15×15 window);
a region super-resolved in its context, and every tile of a large image, carries that much
context on each side. The trained networks' dependence decays far faster. For each weights file
this command super-resolves 160² LR crops (a chest CT slice's body and its edge with air and the
table, an MRI slice, an Urban100 image; each normalised to [0, 1]) with every input pixel more
than d LR pixels from a central 16² box replaced by an extreme far field — 0, 1, a 0/1
checkerboard, uniform noise, the inverted image — and prints, for each d, the largest change of
the box's output pixels over all crops, far fields and scales (fp32). The reach is the smallest d
from which every d tested stays within ``--tolerance`` (default 1e-6 of the normalised range, below
float32's resolution of the output values); ``--update`` writes it, plus ``--margin`` LR pixels
(default 4: one step of the grid, over which the change falls 50–100×, for images more sensitive
than these crops), into the manifest record (``{"lr_pixels", "measured", "tolerance", "sha256",
"date"}``), and the engine then takes it as the context of regions and the overlap of tiles
(:func:`models.inference.tiling.receptive_context`). A record
whose file changes loses it (the sha256 no longer matches): measure again after shipping weights.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..inference.normalization import normalization_bounds
from ..manifest import WEIGHTS_DIR, Manifest, WeightsRecord, load_model
from .benchmark import SHARED_DATA, list_images
from .medical_data import read_dicom

#: side of the LR crops and of the central box whose outputs are watched
CROP, BOX = 160, 16
DISTANCES = (12, 16, 20, 24, 28, 32, 40)
#: the scales a meta-upsampler file is measured at (a fixed-scale file: its own)
META_SCALES = (2.5, 4.5)


def _normalised(a: np.ndarray) -> np.ndarray:
    """``a`` mapped to [0, 1] by its min–max, as the engine's range normalisation does."""
    a = np.asarray(a, dtype=np.float64)
    lo, hi = normalization_bounds(a, "range")
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def default_crops(root: Path = SHARED_DATA) -> dict[str, np.ndarray]:
    """The LR crops measured on, by name (those whose data is present)."""
    crops: dict[str, np.ndarray] = {}
    ct = sorted((root / "medical" / "ct").glob("*.dcm"))
    if ct:
        hu, _ = read_dicom(ct[len(ct) // 2])
        full = _normalised(hu)
        h, w = full.shape
        crops["chest CT, body"] = full[h // 2 - CROP // 2:h // 2 + CROP // 2,
                                       w // 2 - CROP // 2:w // 2 + CROP // 2]
        crops["chest CT, edge"] = full[h // 2 - 200:h // 2 - 200 + CROP,
                                       w // 2 - CROP // 2:w // 2 + CROP // 2]
    for name, folder in (("MRI slice", root / "medical" / "mri_brain" / "val"),
                         ("Urban100 image", root / "benchmark" / "Urban100_Y")):
        files = list_images(folder) if folder.is_dir() else []
        if files:
            img = _normalised(np.asarray(Image.open(files[0]).convert("F")))
            if min(img.shape) >= CROP:
                crops[name] = img[:CROP, :CROP]
    return crops


def far_fields(base: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """The fields put beyond the watched distance: 0, 1, a 0/1 checkerboard, uniform noise and
    the inverted crop."""
    yy, xx = np.mgrid[:base.shape[0], :base.shape[1]]
    rng = np.random.default_rng(seed)
    return [np.zeros_like(base), np.ones_like(base), ((yy + xx) % 2).astype(np.float64),
            rng.random(base.shape), 1.0 - base]


def largest_changes(model: torch.nn.Module, scale: float, crops: dict[str, np.ndarray],
                    distances: tuple[int, ...] = DISTANCES) -> dict[int, float]:
    """For each distance d: the largest change of the central box's output pixels, over the
    crops and far fields, when every input pixel more than d LR pixels from the box is
    replaced."""
    def run(x: np.ndarray) -> np.ndarray:
        t = torch.tensor(x[None, None], dtype=torch.float32)
        y = model(t) if getattr(model, "scale", None) else model(t, scale)
        return (y[0] if isinstance(y, tuple) else y)[0, 0].numpy()

    worst = {d: 0.0 for d in distances}
    with torch.inference_mode():
        for base in crops.values():
            n = base.shape[0]
            b0, b1 = n // 2 - BOX // 2, n // 2 + BOX // 2
            o0, o1 = round(b0 * scale), round(b1 * scale)
            ref = run(base)[o0:o1, o0:o1]
            for d in distances:
                far = np.ones_like(base, dtype=bool)
                far[max(0, b0 - d):b1 + d, max(0, b0 - d):b1 + d] = False
                for field in far_fields(base):
                    out = run(np.where(far, field, base))[o0:o1, o0:o1]
                    worst[d] = max(worst[d], float(np.abs(out - ref).max()))
    return worst


def reach_from(worst: dict[int, float], tolerance: float) -> int | None:
    """The smallest tested distance from which every tested distance is within ``tolerance``
    (None where the largest is not)."""
    found = None
    for d in sorted(worst, reverse=True):
        if worst[d] > tolerance:
            break
        found = d
    return found


def measure(record: WeightsRecord, model: torch.nn.Module, crops: dict[str, np.ndarray],
            distances: tuple[int, ...] = DISTANCES) -> dict[int, float]:
    """:func:`largest_changes` of ``model`` (``record``'s file, loaded), the worst over the
    record's scales."""
    scales = [float(s) for s in record.scales] or [
        s for s in META_SCALES if record.covers(s)]
    worst = {d: 0.0 for d in distances}
    for s in scales:
        for d, v in largest_changes(model, s, crops, distances).items():
            worst[d] = max(worst[d], v)
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.reach",
                                description=__doc__.split("\n")[0])
    p.add_argument("--weights-dir", default=str(WEIGHTS_DIR))
    p.add_argument("--files", nargs="+", help="weights files (default: every RMISR file)")
    p.add_argument("--tolerance", type=float, default=1e-6)
    p.add_argument("--margin", type=int, default=4,
                   help="LR pixels added to the measured reach in the manifest")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--update", action="store_true",
                   help="write each measured reach into its manifest record")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    weights_dir = Path(args.weights_dir)
    manifest = Manifest(weights_dir)
    records = [r for r in manifest.records
               if (r.file in args.files if args.files else r.arch.startswith("rmisr"))]
    crops = default_crops()
    if not crops or not records:
        print("reach: no crops (../shared/data) or no weights to measure", file=sys.stderr)
        return 2
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Largest change of a 16² box's outputs (fraction of the normalised range) when every "
          f"input pixel more than d LR pixels from it is replaced; {date}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, fp32; crops: "
          + ", ".join(crops) + "\n")
    print("| file | structural radius | " + " | ".join(f"d = {d}" for d in DISTANCES)
          + f" | reach (≤ {args.tolerance:g}) |")
    print("|---|---:|" + "---:|" * (len(DISTANCES) + 1))
    for record in records:
        model = load_model(record, weights_dir)
        worst = measure(record, model, crops, DISTANCES)
        found = reach_from(worst, args.tolerance)
        radius = int(getattr(model, "receptive_radius", 0))
        print(f"| {record.file} | {radius} | "
              + " | ".join(f"{worst[d]:.1e}" for d in DISTANCES)
              + f" | {'—' if found is None else found} |", flush=True)
        if args.update and found is not None and found + args.margin < radius:
            manifest.upsert(replace(record, reach={
                "lr_pixels": found + args.margin, "measured": found,
                "tolerance": args.tolerance, "sha256": record.sha256, "date": date}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
