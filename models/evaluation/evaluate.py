"""``rmisr-eval`` / ``python -m models.evaluation.evaluate`` — the benchmark table.

For every method and scale that has weights (plus bicubic), on Set5, Set14, BSD100_Y and Urban100_Y
under the protocol of :mod:`models.evaluation.benchmark`: PSNR / SSIM on Y, the Laplacian-L1 edge
fidelity, parameters, multiply-adds (256×256 LR) and CPU (or GPU) seconds per 512×512 LR image.
Fixed scales 2, 3, 4; fractional 2.5, 3.5, 4.5 for methods served by a scale-range (meta) model.
Networks run through the product's own :class:`models.SuperResolver` (tiles included), with the
8-bit LR normalised by the fixed range 0–255. Writes ``OUT/benchmark.md`` and
``OUT/benchmark.csv``; ``OUT`` defaults to ``runs/eval`` (ignored by git), so a bare run never
overwrites the committed tables under ``results/`` — name them with ``--out`` to rewrite one.

``--update CSV`` re-scores only the rows this run plans (e.g. the methods and scales of a newly
shipped file) and writes the whole table with the other rows copied from ``CSV``. A copied row
must still describe what the viewer serves: its weights file must be the one the manifest now
resolves for its method and scale, with the same sha256 (or, in tables written before the
``sha256`` column, the same iteration count); otherwise the run stops before scoring and names
the rows to add. The timing column is measured for every row in the run (or left empty with
``--no-timing``): timings from another day or machine are not comparable (two 2-core machines
of this project differed by up to 1.9×).
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as _dt
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..geometry import SCALE_MAX, SCALE_MIN, output_size
from ..inference import SuperResolver
from ..inference.forward import network_forward
from ..manifest import WeightsError, WeightsRecord
from ..methods import METHODS
from ..registry import create_model
from .benchmark import SHARED_DATA, SetScore, check_set, evaluate_folder
from .benchmark_csv import read_rows
from .complexity import count_macs, count_params
from .engine_args import add_engine_arguments, resolver_from_args

DEFAULT_SETS = ("Set5", "Set14", "BSD100_Y", "Urban100_Y")
FIXED_SCALES = (2.0, 3.0, 4.0)
FRACTIONAL_SCALES = (2.5, 3.5, 4.5)


def _default_data() -> Path:
    return SHARED_DATA / "benchmark"


def plan(resolver: SuperResolver, methods: list[str], scales: list[float] | None
         ) -> list[tuple[str, float]]:
    """(method, scale) rows: integer scales everywhere available, fractional ones for meta."""
    out = []
    for m in methods:
        for s in (scales or list(FIXED_SCALES) + list(FRACTIONAL_SCALES)):
            if not resolver.available(m, s):
                continue
            if m == "bicubic" or scales:
                out.append((m, s))
                continue
            rec = resolver.weights_record(m, s)
            if float(s).is_integer() or rec.scale_range is not None:
                out.append((m, s))
    return sorted(out, key=lambda r: (r[1], list(METHODS).index(r[0])))


def is_meta(record: WeightsRecord | None) -> bool:
    return record is not None and record.arch_args.get("upsampler") == "meta"


def meta_only(resolver: SuperResolver) -> SuperResolver:
    """The same resolver restricted to its meta-upsampler records (they then answer integer
    scales too, where the fixed-scale files would otherwise be preferred)."""
    resolver.manifest.records = [r for r in resolver.manifest.records if is_meta(r)]
    return resolver


def widen_scale_ranges(resolver: SuperResolver) -> None:
    """Let every scale-range record (SRCNN, meta models) answer for any scale in [1.1, 5]."""
    resolver.manifest.records = [
        dataclasses.replace(r, scale_range=[SCALE_MIN, SCALE_MAX]) if r.scale_range else r
        for r in resolver.manifest.records]


def seconds_per_512(resolver: SuperResolver, method: str, scale: float, repeats: int = 1) -> float:
    """Fastest of ``repeats`` timed upscales of a 512×512 image, after a small warm-up run."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (512, 512)).astype(np.float32)
    resolver.upscale(img[:64, :64], scale, method, normalization="range", value_range=(0, 255))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        resolver.upscale(img, scale, method, normalization="range", value_range=(0, 255))
        best = min(best, time.perf_counter() - t)
    return best


def complexity(resolver: SuperResolver, method: str, scale: float) -> tuple[int, int]:
    if method == "bicubic":
        return 0, 0
    rec = resolver.weights_record(method, scale)
    model = create_model(rec.arch, **rec.arch_args).to("meta").eval()
    x = torch.zeros(1, 1, 256, 256, device="meta")
    if rec.arch == "srcnn":
        macs = count_macs(model, torch.zeros(1, 1, *output_size(256, 256, scale), device="meta"))
    else:
        macs = count_macs(lambda: network_forward(model, x, scale))
    return count_params(model), macs


def _md_header(path: Path) -> str:
    """The first line of an earlier ``benchmark.md`` (its date, hardware and torch), or ``""``."""
    try:
        return path.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return ""


def read_reference(paths: list[str]) -> dict[tuple[str, float, str], float]:
    """PSNR by (method label, scale, set) from earlier ``benchmark.csv`` files (later files win)."""
    return {k: float(v["psnr"]) for k, v in read_rows(paths).items()}


def compare(results: list[dict], ref: dict[tuple[str, float, str], float], tolerance: float
            ) -> tuple[list[str], bool]:
    """Report lines and whether every scored PSNR that ``ref`` also holds is within ``tolerance``.

    Compared at the CSV's four decimals; rows of ``ref`` this run did not score are counted, not
    failed (a reproduction may cover part of a table); a run sharing no row with ``ref`` fails.
    """
    lines, worst, shared, beyond = [], 0.0, 0, []
    for r in results:
        for set_name, sc in r["sets"].items():
            key = (r["method"], float(r["scale"]), set_name)
            if key not in ref:
                continue
            shared += 1
            d = round(sc.psnr, 4) - ref[key]
            worst = max(worst, abs(d))
            if not abs(d) <= tolerance:  # a NaN (an unscorable value) fails too
                beyond.append(d)
                lines.append(f"  {key[0]} ×{key[1]:g} {set_name}: {sc.psnr:.4f} dB, "
                             f"reference {ref[key]:.4f} ({d:+.4f})")
    if beyond:
        lines.append(f"  {len(beyond)} beyond tolerance, from {min(beyond):+.4f} "
                     f"to {max(beyond):+.4f} dB")
    missing = len(ref) - shared  # keys are unique on both sides
    ok = shared > 0 and not lines
    head = (f"compare: {shared} PSNR values shared with the reference, largest difference "
            f"{worst:.4f} dB (tolerance {tolerance:g}): {'REPRODUCED' if ok else 'DIFFERENT'}")
    if missing:
        lines.append(f"  ({missing} reference values not scored in this run)")
    return [head] + lines, ok


CSV_COLUMNS = ["method", "scale", "params", "macs_g", "weights", "iterations", "set", "psnr",
               "ssim", "lap_l1", "seconds_512", "device", "sha256", "date"]


def _base_method(label: str) -> tuple[str, bool, bool]:
    """(method key, meta variant, beyond range) of a table label such as ``"RMISR-BL-meta†"``."""
    beyond = label.endswith("†")
    label = label.rstrip("†")
    meta = label.endswith("-meta")
    label = label.removesuffix("-meta")
    for key, m in METHODS.items():
        if m.label == label:
            return key, meta, beyond
    raise KeyError(f"unknown method label {label!r}")


def read_table(path: str | Path) -> list[dict]:
    """The rows of an ``rmisr-eval`` ``benchmark.csv`` as result records (one per method and
    scale, its sets in file order), as :func:`main` writes them. Tables written before the
    ``date`` column take the date in the first line of the ``benchmark.md`` beside them."""
    md_date = re.search(r"\d{4}-\d{2}-\d{2}", _md_header(Path(path).with_suffix(".md")))
    rows: dict[tuple[str, float], dict] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            key = (r["method"], float(r["scale"]))
            row = rows.setdefault(key, {
                "method": r["method"], "scale": float(r["scale"]),
                "params": int(r["params"] or 0), "macs_g": float(r["macs_g"] or 0),
                "weights": r["weights"],
                "iterations": int(r["iterations"]) if r["iterations"] else None,
                "seconds_512": float(r["seconds_512"]) if r["seconds_512"] else None,
                "device": r["device"], "sha256": r.get("sha256") or "",
                "date": r.get("date") or (md_date.group(0) if md_date else ""), "sets": {}})
            row["sets"][r["set"]] = SetScore(float(r["psnr"]), float(r["ssim"]),
                                             float(r["lap_l1"]), 0)
    return list(rows.values())


def row_resolvers(device: str, weights_dir: str | Path, precision: str = "fp32"
                  ) -> dict[tuple[bool, bool], SuperResolver]:
    """Resolvers by (meta variant, beyond range): what served each kind of table row."""
    out = {}
    for meta in (False, True):
        for wide in (False, True):
            res = SuperResolver(device, weights_dir, precision=precision)
            if meta:
                meta_only(res)
            if wide:
                widen_scale_ranges(res)
            out[meta, wide] = res
    return out


def stale_rows(kept: list[dict], resolvers: dict[tuple[bool, bool], SuperResolver]) -> list[str]:
    """Copied rows whose weights are no longer what the manifest serves for them, described."""
    out = []
    for r in kept:
        method, is_meta_row, beyond = _base_method(r["method"])
        if method == "bicubic":
            continue
        res = resolvers[(is_meta_row, beyond)]
        where = f"{r['method']} ×{r['scale']:g} ({r['weights']}"
        if not res.available(method, r["scale"]):
            out.append(f"{where}): no weights serve it now")
            continue
        rec = res.weights_record(method, r["scale"])
        if rec.file != r["weights"]:
            out.append(f"{where}): now served by {rec.file}")
        elif r["sha256"] and not rec.sha256.startswith(r["sha256"]):
            out.append(f"{where}, sha256 {r['sha256']}…): the file has changed, now "
                       f"{rec.sha256[:16]}…")
        elif not r["sha256"] and rec.training.get("iterations") != r["iterations"]:
            out.append(f"{where}, {r['iterations']} iterations): the file has changed, now "
                       f"{rec.training.get('iterations')} iterations")
    return out


def row_label(res: SuperResolver, method: str, scale: float,
              own_range: dict[str, WeightsRecord]) -> str:
    """A table row's method label: ``-meta`` for a meta model, ``†`` outside its served range."""
    rec = res.weights_record(method, scale)
    label = METHODS[method].label + ("-meta" if is_meta(rec) else "")
    if rec is not None and not own_range[rec.file].covers(scale):
        label += "†"
    return label


def _row_order(r: dict) -> tuple[float, int, bool]:
    method, is_meta_row, _ = _base_method(r["method"])
    return r["scale"], list(METHODS).index(method), is_meta_row


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except WeightsError as exc:  # a weights file or manifest that fails its checks: one line
        print(f"rmisr-eval: error: {exc}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    p = argparse.ArgumentParser(prog="rmisr-eval", description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(_default_data()), help="folder holding the benchmark sets")
    p.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    p.add_argument("--methods", nargs="+", default=None, choices=list(METHODS),
                   help="default: every method (those without weights left out); a method "
                        "named here that has no weights at any scale asked is an error")
    p.add_argument("--scales", type=float, nargs="+", default=None)
    add_engine_arguments(p)
    p.add_argument("--out", default="runs/eval",
                   help="folder for benchmark.md / benchmark.csv (default runs/eval, which git "
                        "ignores; pass e.g. --out results to rewrite a committed table)")
    p.add_argument("--no-timing", action="store_true", help="skip the 512×512 timing")
    p.add_argument("--timing-repeats", type=int, default=3, metavar="N",
                   help="time the 512×512 upscale N times after a warm-up and report the "
                        "fastest (default 3; one run varied by up to ~2× on a shared 2-core CPU)")
    p.add_argument("--variants", nargs="+", default=["served", "meta"], choices=["served", "meta"],
                   help="served: what the viewer uses at each scale (fixed-scale files first); "
                        "meta: the meta-upsampler models at every scale, integer ones included "
                        "(rows labelled -meta)")
    p.add_argument("--beyond-range", action="store_true",
                   help="also score scale-agnostic models (SRCNN, meta) at --scales outside the "
                        "range their manifest serves them at; such rows are marked †")
    p.add_argument("--compare", nargs="+", default=None, metavar="CSV",
                   help="earlier benchmark.csv files: check that every PSNR scored here which they "
                        "also hold is within --tolerance (exit status 1 if not)")
    p.add_argument("--tolerance", type=float, default=0.01, help="dB, for --compare")
    p.add_argument("--update", default=None, metavar="CSV",
                   help="an earlier benchmark.csv: score only this run's rows and write the whole "
                        "table with CSV's other rows copied (each must still be what the "
                        "manifest serves; see the module docstring)")
    args = p.parse_args(argv)
    if args.timing_repeats < 1:  # here, not after the whole evaluation has run
        p.error(f"--timing-repeats must be at least 1, got {args.timing_repeats}")
    if not (math.isfinite(args.tolerance) and args.tolerance >= 0):
        p.error(f"--tolerance must be a number of dB ≥ 0, got {args.tolerance}")
    named = args.methods is not None
    args.methods = list(dict.fromkeys(args.methods)) if named else list(METHODS)
    if args.scales:
        bad = [v for v in args.scales if not (math.isfinite(v) and SCALE_MIN <= v <= SCALE_MAX)]
        if bad:
            p.error(f"--scales must be in {SCALE_MIN}-{SCALE_MAX}, got {' '.join(map(str, bad))}")
        args.scales = list(dict.fromkeys(args.scales))  # "2 2": one row
    try:  # read before OUT's benchmark.csv, which may be one of them, is rewritten
        reference = read_reference(args.compare) if args.compare else None
    except (OSError, KeyError, ValueError) as e:
        print(f"rmisr-eval: error: --compare needs benchmark.csv files written by rmisr-eval "
              f"({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    try:
        previous = read_table(args.update) if args.update else None
    except (OSError, KeyError, ValueError) as e:
        print(f"rmisr-eval: error: --update needs a benchmark.csv written by rmisr-eval "
              f"({type(e).__name__}: {e})", file=sys.stderr)
        return 2

    resolver = resolver_from_args(args)
    own_range = {r.file: r for r in resolver.manifest.records}  # before --beyond-range widens
    if args.beyond_range:
        widen_scale_ranges(resolver)
    rows = []
    if "served" in args.variants:
        rows += [(m, s, resolver) for m, s in plan(resolver, args.methods, args.scales)]
    if "meta" in args.variants:
        meta = meta_only(resolver_from_args(args))
        if args.beyond_range:
            widen_scale_ranges(meta)
        have = {(m, s) for m, s, r in rows if is_meta(r.weights_record(m, s))}
        rows += [(m, s, meta) for m, s in plan(meta, args.methods, args.scales)
                 if (m != "bicubic" or "served" not in args.variants) and (m, s) not in have]
        rows.sort(key=lambda r: (r[1], list(METHODS).index(r[0]), r[2] is meta))
    unserved = [m for m in args.methods if not any(r[0] == m for r in rows)]
    if not rows or (named and unserved):
        scales_asked = args.scales or list(FIXED_SCALES)
        why = "; ".join(f"{METHODS[m].label} {resolver.unavailable_reason(m, scales_asked[0])}"
                        for m in (unserved or args.methods))
        print(f"rmisr-eval: error: nothing to score for {' '.join(unserved or args.methods)}: "
              f"{why}", file=sys.stderr)
        return 2
    kept: list[dict] = []
    if previous is not None:
        scored = {(row_label(res, m, s, own_range), float(s)) for m, s, res in rows}
        kept = [r for r in previous if (r["method"], r["scale"]) not in scored]
        problems = []
        if any(list(r["sets"]) != list(args.sets) for r in previous):
            problems.append(f"its sets are not this run's ({', '.join(args.sets)}); "
                            "pass the same --sets")
        if any(r["device"] != resolver.device.type for r in kept):
            problems.append(f"its rows were not scored on {resolver.device.type}")
        row_res = row_resolvers(args.device, args.weights_dir, args.precision)
        stale = stale_rows(kept, row_res)
        if stale:
            problems.append("rows scored with weights the viewer no longer serves there; add "
                            "them to this run (--methods/--scales):\n    " + "\n    ".join(stale))
        if problems:
            print(f"rmisr-eval: error: --update {args.update}: " + "; ".join(problems),
                  file=sys.stderr)
            return 2
    data = Path(args.data)
    scales = sorted({scale for _, scale, _ in rows})
    for s in args.sets:  # before any scoring: every image of every set at every scale
        try:
            check_set(data / s, scales)
        except (OSError, ValueError) as exc:
            print(f"rmisr-eval: error: {exc}", file=sys.stderr)
            return 2
    results = []
    for method, scale, res in rows:
        rec = res.weights_record(method, scale)
        label = row_label(res, method, scale, own_range)

        def up(lr: np.ndarray, s: float, m: str = method, r: SuperResolver = res
               ) -> np.ndarray:
            return r.upscale(lr, s, m, normalization="range", value_range=(0, 255))
        per_set = {}
        for set_name in args.sets:
            t = time.perf_counter()
            per_set[set_name] = evaluate_folder(up, data / set_name, scale)
            print(f"{label:>14} ×{scale:g} {set_name:<11} "
                  f"{per_set[set_name].psnr:6.2f} dB / {per_set[set_name].ssim:.4f}  "
                  f"({time.perf_counter() - t:.0f} s)", flush=True)
        params, macs = complexity(res, method, scale)
        secs = (None if args.no_timing
                else seconds_per_512(res, method, scale, repeats=args.timing_repeats))
        results.append({"method": label, "scale": scale, "params": params,
                        "macs_g": macs / 1e9, "weights": rec.file if rec else "",
                        "iterations": (rec.training.get("iterations") if rec else None),
                        "seconds_512": secs, "sets": per_set,
                        "device": resolver.device.type,
                        "sha256": rec.sha256[:16] if rec else "",
                        "date": _dt.date.today().isoformat()})
    for r in kept:  # one timing column means one machine and one run: re-time copied rows too
        method, meta_row, beyond = _base_method(r["method"])
        r["seconds_512"] = (None if args.no_timing else seconds_per_512(
            row_res[meta_row, beyond], method, r["scale"], repeats=args.timing_repeats))
    device = resolver.device.type
    hw = (torch.cuda.get_device_name(0) if device == "cuda"
          else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"{torch.get_num_threads()} threads")
    header = (f"Benchmark (Y channel, shave ⌈s⌉, MATLAB bicubic degradation), "
              f"{_dt.date.today().isoformat()}, {device.upper()}: {hw}, torch {torch.__version__}")
    if not args.no_timing:
        header += f"; s / 512² is the fastest of {args.timing_repeats} runs"
    table = results
    if previous is not None:
        dates = sorted({r["date"] for r in kept if r["date"]})
        header += (". Rows scored in this run: "
                   + ", ".join(f"{r['method']} ×{r['scale']:g}" for r in results)
                   + f"; the others' scores are copied from {args.update}"
                   + (f" (scored {', '.join(dates)}; the CSV's date column says which)"
                      if dates else "")
                   + ("" if args.no_timing else "; every row is timed in this run"))
        table = sorted(kept + results, key=_row_order)
    md = [header, ""]
    cols = " | ".join(f"{s} PSNR/SSIM" for s in args.sets)
    md.append(f"| Method | Scale | Params | Mult-adds (G) | {cols} | s / 512² LR ({device}) |")
    md.append("|---|---|---:|---:|" + "---|" * len(args.sets) + "---:|")
    for r in table:
        cells = " | ".join(f"{r['sets'][s].psnr:.2f} / {r['sets'][s].ssim:.4f}" for s in args.sets)
        secs = "—" if r["seconds_512"] is None else f"{r['seconds_512']:.2f}"
        params = "—" if not r["params"] else f"{r['params'] / 1e6:.3f} M"
        macs = "—" if not r["macs_g"] else f"{r['macs_g']:.1f}"
        md.append(f"| {r['method']} | ×{r['scale']:g} | {params} | {macs} | {cells} | {secs} |")
    bic_label = METHODS["bicubic"].label
    bicubic = {r["scale"]: r for r in table if r["method"] == bic_label}
    gains = [r for r in table if r["scale"] in bicubic and r["method"] != bic_label]
    if gains:
        md += ["", "Gain over bicubic, PSNR dB", ""]
        md.append("| Method | Scale | " + " | ".join(args.sets) + " |")
        md.append("|---|---|" + "---:|" * len(args.sets))
        for r in gains:
            ref = bicubic[r["scale"]]["sets"]
            md.append(f"| {r['method']} | ×{r['scale']:g} | " + " | ".join(
                f"{r['sets'][s].psnr - ref[s].psnr:+.2f}" for s in args.sets) + " |")
    if any(r["method"].endswith("†") for r in table):
        md += ["", "† scored outside the scale range the manifest serves this model at "
                   "(`--beyond-range`); the viewer does not offer it there."]
    md += ["", "Edge fidelity: mean |Lap(SR) − Lap(HR)| (8-bit units, lower is sharper-and-true)",
           ""]
    md.append("| Method | Scale | " + " | ".join(args.sets) + " |")
    md.append("|---|---|" + "---:|" * len(args.sets))
    for r in table:
        md.append(f"| {r['method']} | ×{r['scale']:g} | "
                  + " | ".join(f"{r['sets'][s].lap_l1:.3f}" for s in args.sets) + " |")
    text = "\n".join(md) + "\n"
    print()
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.md").write_text(text, encoding="utf-8")
    with open(out / "benchmark.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in table:
            for s in args.sets:
                sc = r["sets"][s]
                w.writerow([r["method"], r["scale"], r["params"], f"{r['macs_g']:.3f}",
                            r["weights"], r["iterations"], s, f"{sc.psnr:.4f}", f"{sc.ssim:.5f}",
                            f"{sc.lap_l1:.4f}", "" if r["seconds_512"] is None
                            else f"{r['seconds_512']:.3f}", r["device"], r["sha256"],
                            r["date"]])
    print(f"wrote {out / 'benchmark.md'} and {out / 'benchmark.csv'}")
    if reference is not None:
        lines, ok = compare(results, reference, args.tolerance)
        print("\n".join(lines))
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
