"""The ``--demo`` run of ``rmisr-sr`` (:mod:`app.cli`): the bundled sample chest CT through
every method that has weights for the scale.

The sample checked against its manifest sha256, each method's result written as PNG and
derived DICOM, a quality table of no-reference figures and data consistency (Markdown and CSV:
:func:`_quality_rows`, :func:`_markdown`, :func:`_csv`) and a labelled comparison sheet; every
name the demo writes is claimed before any compute (:func:`_demo_names`).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from app import _cli_run
from app._cli_run import (PROG, OutputExistsError, StdoutClosed, UsageError, _claimed,
                          _describe, _error, _prepare_outdir, _print_path)
from app.io import (SAMPLE_PATH, SAMPLE_SHA256, ImageData, apply_window, computed_label,
                    crop_roi, method_label, read_image, validate_roi, voi_label, write_image,
                    write_sheet, write_text)
from app.io.labels import fmt_scale

#: Demo region of the bundled sample: the left hilum (bronchus, vessels, lung), 128×128 px.
DEMO_ROI = (288, 224, 128, 128)
DEMO_SCALE = 2.5


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _nearest(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    rows = np.minimum((np.arange(shape[0]) * image.shape[0]) // shape[0], image.shape[0] - 1)
    cols = np.minimum((np.arange(shape[1]) * image.shape[1]) // shape[1], image.shape[1] - 1)
    return image[rows][:, cols]


_TABLE_COLUMNS = ("method", "label", "device", "precision", "seconds", "sharpness",
                  "entropy_bits", "contrast_sd", "data_consistency_psnr_db", "bias_vs_bicubic",
                  "weights_sha256")


def _quality_rows(results: dict[str, tuple[np.ndarray, Any]], lr: np.ndarray, scale: float
                  ) -> list[dict[str, Any]]:
    from models.metrics import contrast, data_consistency, entropy, sharpness

    bicubic = results["bicubic"][0].astype(np.float64)
    lo = min(float(r[0].min()) for r in results.values())
    hi = max(float(r[0].max()) for r in results.values())
    rows = []
    for method, (out, info) in results.items():
        out64 = out.astype(np.float64)
        rows.append({
            "method": method, "label": method_label(method), "device": info.device,
            "precision": info.precision or "fp64 (NumPy)",
            "seconds": info.seconds, "sharpness": sharpness(out64),
            "entropy_bits": entropy(out64, value_range=(lo, hi if hi > lo else lo + 1)),
            "contrast_sd": contrast(out64),
            "data_consistency_psnr_db": data_consistency(out64, lr, scale)[0],
            "bias_vs_bicubic": float(out64.mean() - bicubic.mean()),
            "weights_sha256": info.weights_sha256 or ""})
    return rows


def _markdown(rows: list[dict[str, Any]], unit: str, header: str, skipped: list[str]) -> str:
    u = f" ({unit})" if unit else ""
    lines = [header, "",
             f"| Method | Device | Precision | Seconds | Sharpness{u} | Entropy (bits) | "
             f"Contrast SD{u} | Data consistency PSNR (dB) | Mean bias vs bicubic{u} | "
             "Weights sha256 |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        dc = r["data_consistency_psnr_db"]
        lines.append(
            f"| {r['label']} | {r['device']} | {r['precision']} | {r['seconds']:.2f} | "
            f"{r['sharpness']:.2f} | "
            f"{r['entropy_bits']:.3f} | {r['contrast_sd']:.1f} | "
            f"{'∞' if dc == float('inf') else f'{dc:.2f}'} | {r['bias_vs_bicubic']:+.2f} | "
            f"{(r['weights_sha256'] or '—')[:16]} |")
    lines += ["", "Sharpness (RMS Laplacian), entropy and contrast are no-reference figures: they "
              "describe appearance, not fidelity. Data consistency: PSNR between the result "
              "downscaled by the bicubic model and the input ROI (peak = the input's range).",
              "All images are computed, not acquired."]
    if skipped:
        lines += ["", "Not run (no trained weights for this scale): " + ", ".join(skipped) + "."]
    return "\n".join(lines) + "\n"


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(_TABLE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def _run_demo(args: argparse.Namespace) -> int:
    if args.inputs:
        raise UsageError("--demo takes no INPUT files")
    if args.send:
        raise UsageError("--send takes INPUT files, not --demo")
    ignored = [flag for flag, given in (
        ("-o/--output-dir", args.output_dir is not None), ("--method", args.method is not None),
        ("--format", args.fmt is not None), ("--frame", args.frame != 0),
        ("--all-frames", args.all_frames), ("--ensemble", args.ensemble),
        ("--uncertainty-out", args.uncertainty_out is not None),
        ("--no-caption", not args.caption)) if given]
    if ignored:  # the demo runs every method into PNG + DICOM with captions: said, not ignored
        raise UsageError(f"--demo runs every available method on the bundled sample into "
                         f"PNG and DICOM in its own folder; it does not take "
                         f"{', '.join(ignored)} (it takes --scale, --roi, --device, --precision, "
                         f"--tile and --overwrite)")
    outdir = _prepare_outdir(args.demo)
    scale = args.scale or DEMO_SCALE

    if not SAMPLE_PATH.is_file():
        _error(f"the bundled sample {SAMPLE_PATH} is missing")
        return 1
    if _sha256(SAMPLE_PATH) != SAMPLE_SHA256:
        _error(f"{SAMPLE_PATH}: sha256 does not match the manifest (file damaged or replaced)")
        return 1
    try:
        sample = read_image(SAMPLE_PATH)
        roi = validate_roi(args.roi or DEMO_ROI, sample)
        sr = _cli_run._make_resolver(args.device, args.precision)
    except Exception as exc:  # noqa: BLE001
        _error(f"{SAMPLE_PATH}: {_describe(exc)}")
        return 1
    methods = [m for m in sr.methods() if sr.available(m, scale)]
    skipped = [method_label(m) for m in sr.methods() if m not in methods]
    with ExitStack() as claims:
        try:  # every name the demo writes, claimed before any compute
            for name in _demo_names(methods, scale):
                claims.enter_context(_claimed(outdir / name, args.overwrite, [SAMPLE_PATH]))
        except OutputExistsError as exc:
            existing = [n for n in _demo_names(methods, scale) if (outdir / n).exists()]
            if args.overwrite or not existing:
                _error(str(exc))
            else:
                _error(f"{outdir} already holds {', '.join(existing)}: not replaced (use "
                       "--overwrite to replace them, or choose another folder)")
            return 1
        return _demo_results(args, sr, sample, roi, methods, skipped, outdir, scale)


def _demo_names(methods: list[str], scale: float) -> list[str]:
    """The files ``--demo`` writes into its folder for ``methods``."""
    stem = f"{SAMPLE_PATH.stem}_SRx{fmt_scale(scale)}"
    return [f"{stem}_{m}.{fmt}" for m in methods for fmt in ("png", "dcm")] + \
        ["quality.md", "quality.csv", f"{stem}_comparison.png"]


def _demo_results(args: argparse.Namespace, sr: Any, sample: ImageData,
                  roi: tuple[int, int, int, int], methods: list[str], skipped: list[str],
                  outdir: Path, scale: float) -> int:
    from tqdm import tqdm

    lr = crop_roi(sample, roi)
    results: dict[str, tuple[np.ndarray, Any]] = {}
    failed = 0
    for method in tqdm(methods, desc=f"{PROG} demo", unit="method", disable=None,
                       file=sys.stderr, leave=False):
        stem = f"{SAMPLE_PATH.stem}_SRx{fmt_scale(scale)}_{method}"
        try:
            out, info = sr.upscale(sample.pixels, scale, method, tile=args.tile,
                                   return_info=True, window=sample.window, roi=roi,
                                   modality=sample.modality)
            for fmt in ("png", "dcm"):
                target = outdir / f"{stem}.{fmt}"
                write_image(target, out, source=sample, fmt=fmt,  # type: ignore[arg-type]
                            scale=scale, roi=roi, method=method,
                            weights_sha256=info.weights_sha256)
                _print_path(target)
            results[method] = (out, info)
        except (KeyboardInterrupt, StdoutClosed):
            raise
        except Exception as exc:  # noqa: BLE001
            failed += 1
            _error(f"{method}: {_describe(exc)}")
    if "bicubic" not in results:
        _error("the bicubic reference could not be computed; no quality table")
        return 1

    x, y, w, h = roi
    c, wd = sample.window
    header = (f"# RMISR Viewer demo: {SAMPLE_PATH.name} ({sample.description}), ROI x={x} y={y} "
              f"w={w} h={h}, ×{fmt_scale(scale)}")
    rows = _quality_rows(results, lr.astype(np.float64), scale)
    for name, text in (("quality.md", _markdown(rows, sample.value_unit, header, skipped)),
                       ("quality.csv", _csv(rows))):
        write_text(outdir / name, text)
        _print_path(outdir / name)

    shape = next(iter(results.values()))[0].shape[:2]
    fn, lut = sample.voi_function, sample.voi_lut
    panels = [(apply_window(_nearest(lr, shape), c, wd, sample.invert, fn, lut),
               f"Input ROI ×{fmt_scale(scale)} nearest — acquired")]
    panels += [(apply_window(out, c, wd, sample.invert, fn, lut), computed_label(scale, method))
               for method, (out, _) in results.items()]
    sheet = outdir / f"{SAMPLE_PATH.stem}_SRx{fmt_scale(scale)}_comparison.png"
    display = voi_label(c, wd, sample.value_unit, fn, lut)
    write_sheet(sheet, panels, f"{SAMPLE_PATH.name} · ROI {x},{y},{w},{h} · {display}"
                f" · computed images are not acquired", sources=[SAMPLE_PATH])
    _print_path(sheet)
    return 1 if failed else 0
