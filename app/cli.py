"""``rmisr-sr``: batch super-resolution from the command line.

::

    rmisr-sr INPUT... -o OUTDIR --scale 2.5 --method rmisr-vp [--roi x,y,w,h]
             [--format dcm|png|tiff] [--frame N | --all-frames] [--device auto|cpu|cuda] [--tile N]
             [--ensemble] [--uncertainty-out DIR] [--overwrite]
    rmisr-sr --demo OUTDIR [--scale 2.5] [--roi x,y,w,h] [--device ...]

Each input (a folder: its DICOM and image files, subfolders included) is read with
:func:`app.io.read_image`, its ROI (default: the whole image) super-resolved in its context with
:class:`models.SuperResolver` and written as ``OUTDIR/<stem>_SRx<scale>_<method>.<ext>``
(``<stem>_f<frame>_…`` for a frame of a multi-frame file) — derived DICOM for DICOM inputs and PNG
for raster inputs unless ``--format`` says otherwise. A folder's subfolders are mirrored under
OUTDIR (a CD's series stay apart) and its earlier results are not inputs; no input is ever
replaced (not even with ``--overwrite``). The path of every file written goes to stdout; a file
that fails prints one line ``rmisr-sr: error: <file>: <message>`` to stderr and
the others are still processed; ``rmisr-sr: note: …`` lines say what the user should know (a
frame chosen from several, values clipped to the stored range, a bicubic fallback, a library's
message). Each output name is claimed before its compute (:func:`app.io.claim_output`): a second
run writing the same name is refused, and nothing is replaced without ``--overwrite``. Exit
status: 0 all written, 1 any file failed, 2 usage error, 130 interrupted, 143 SIGTERM (the file
being written is removed), 141 stdout closed by its reader (the files written stay).

``--ensemble`` is the engine's best-quality mode (the mean of the 8 flipped/rotated runs, 8× the
work). ``--uncertainty-out DIR`` (implies ``--ensemble``) also writes each result's computed
uncertainty map — the per-pixel spread of the 8 runs, in the image's units — as
``DIR/<stem>_SRx<scale>_<method>_uncertainty.png`` (colour bar and caption), ``….tiff`` (16-bit,
values in the image's units) and, for DICOM inputs, ``….dcm`` (a Secondary Capture labelled as a
computed uncertainty map); folders' subfolders are mirrored there as under OUTDIR.

``--demo`` runs the bundled sample chest CT through every method that has weights for the scale
and writes each result (PNG + derived DICOM), a quality table (Markdown and CSV) and a labelled
comparison sheet.

No Qt is imported here; the engine (and torch) is imported only when work starts.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from app.batch import (FORMAT_EXT, output_name, super_resolve_to_file, uncertainty_formats,
                       uncertainty_name, write_uncertainty_files)
from app.io import (SAMPLE_PATH, SAMPLE_SHA256, DerivedSeries, ImageData, ImageIOError,
                    InvalidROIError, InvalidScaleError, apply_window, computed_label, crop_roi,
                    method_label, parse_roi, read_image, validate_roi, validate_scale, voi_label,
                    write_image, write_sheet, write_text)
from app.io import OutputBusyError, claim_output
from app.io import OutputExistsError as IoOutputExistsError
from app.io._guard import LIBRARY_NOTE_PREFIXES
from app.io.labels import METHOD_LABELS, fmt_scale
from app.io.series import image_files

__all__ = ["main", "build_parser", "output_name", "DEMO_ROI", "DEMO_SCALE"]

PROG = "rmisr-sr"
#: the end of an output_name stem: "_SRx2.5_rmisr-vp" (before the extension)
_OUTPUT_NAME = re.compile(r"_SRx\d+(\.\d+)?_(" + "|".join(map(re.escape, METHOD_LABELS))
                          + r")(_uncertainty)?\.(dcm|png|tiff)$")
#: Demo region of the bundled sample: the left hilum (bronchus, vessels, lung), 128×128 px.
DEMO_ROI = (288, 224, 128, 128)
DEMO_SCALE = 2.5


class UsageError(Exception):
    """Bad command line (exit status 2)."""


class OutputExistsError(Exception):
    """The output file exists and ``--overwrite`` was not given."""


class StdoutClosed(Exception):
    """The reader of stdout went away (``rmisr-sr ... | head -1``): the run stops quietly."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread so that every ``finally`` runs (no ``.part``
    or lock file is left behind)."""


def _roi_arg(text: str) -> tuple[int, int, int, int]:
    try:
        return parse_roi(text)
    except InvalidROIError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _scale_arg(text: str) -> float:
    try:
        return validate_scale(text)
    except InvalidScaleError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be ≥ 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``rmisr-sr``."""
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Super-resolve medical images (DICOM, PNG, TIFF, JPEG, BMP) with Bicubic, "
                    "SRCNN, RMISR-BL or RMISR-VP. Results are computed, not acquired.",
        epilog="Output: OUTDIR/<stem>_SRx<scale>_<method>.<ext>. Exit status 0 = all written, "
               "1 = some file failed, 2 = usage error.")
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="image files, or folders (their DICOM and image files, subfolders "
                        "included and mirrored under OUTDIR)")
    p.add_argument("-o", "--output-dir", type=Path, metavar="OUTDIR",
                   help="folder for the results (created if missing)")
    p.add_argument("--scale", type=_scale_arg, metavar="S",
                   help="magnification, 1.1–5 (e.g. 2, 2.5, 4)")
    p.add_argument("--method", choices=list(METHOD_LABELS), help="super-resolution method")
    p.add_argument("--roi", type=_roi_arg, metavar="x,y,w,h",
                   help="region to super-resolve in source pixels (default: whole image)")
    p.add_argument("--format", dest="fmt", choices=list(FORMAT_EXT),
                   help="output format (default: dcm for DICOM inputs, png for others)")
    p.add_argument("--frame", type=_nonneg_int, default=0, metavar="N",
                   help="0-based frame of multi-frame inputs (default 0)")
    p.add_argument("--all-frames", action="store_true",
                   help="every frame of multi-frame inputs, one output per frame (_f<N>)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="compute device (default auto: CUDA when available)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
                   help="network arithmetic (default auto: bf16 where the CPU runs it natively "
                        "or on CUDA, else fp32; statistics and normalisation stay fp32)")
    p.add_argument("--tile", type=_nonneg_int, default=0, metavar="N",
                   help="LR tile size in pixels for bounded memory (default 0 = automatic)")
    p.add_argument("--ensemble", action="store_true",
                   help="best quality, 8× slower: the mean of the 8 flipped/rotated runs")
    p.add_argument("--uncertainty-out", type=Path, metavar="DIR",
                   help="also write each result's computed uncertainty map (spread of the 8 "
                        "runs, image units) into DIR as PNG with colour bar, 16-bit TIFF and, "
                        "for DICOM inputs, DICOM Secondary Capture; implies --ensemble")
    p.add_argument("--no-caption", dest="caption", action="store_false",
                   help="PNG only: leave out the strip below the image that says the pixels are "
                        "computed (the label stays in the PNG's Description text)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing outputs (inputs are never overwritten)")
    p.add_argument("--demo", type=Path, metavar="OUTDIR",
                   help="run the bundled sample CT through every available method into OUTDIR")
    p.add_argument("--send", metavar="NODE",
                   help="after writing, store the derived DICOM files to this PACS node "
                        "(C-STORE; nodes: rmisr-pacs nodes)")
    return p


def _error(message: str) -> None:
    from tqdm import tqdm
    tqdm.write(f"{PROG}: error: {message}", file=sys.stderr)


def _note(message: str) -> None:
    from tqdm import tqdm
    tqdm.write(f"{PROG}: note: {message}", file=sys.stderr)


def _print_path(path: Path) -> None:
    """One written file's path on stdout, flushed at once (a pipe sees it as it is written).
    A closed pipe is not a failure of that file, which is written: stdout goes to the null
    device (nothing more to say there, and no second error at exit) and the run stops."""
    from tqdm import tqdm

    try:
        tqdm.write(str(path), file=sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
        raise StdoutClosed() from None


def _stdout_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's capture)
        pass


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ImageIOError):
        return exc.message
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _make_resolver(device: str, precision: str = "auto") -> Any:
    """The engine (imported here so that ``--help`` and usage errors stay fast)."""
    from models import SuperResolver
    return SuperResolver(device=device, precision=precision)


def _prepare_outdir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise UsageError(f"output folder {path} is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {path}: "
                         f"{exc.strerror or exc}") from None
    return path


def _process(sr: Any, image: ImageData, target: Path, fmt: str, args: argparse.Namespace,
             series: DerivedSeries) -> Any:
    """Super-resolve one image and write it (:func:`app.batch.super_resolve_to_file`); its notes
    go to stderr. Returns the :class:`app.batch.SliceResult`."""
    done = super_resolve_to_file(sr, image, target, fmt, args.scale, args.method, args.roi,
                                 tile=args.tile, caption=args.caption, series=series,
                                 ensemble=args.ensemble or args.uncertainty_out is not None)
    for note in done.notes:  # e.g. values clipped to the stored range
        _note(f"{target.name}: {note}")
    return done


def _inputs(given_paths: list[str], outdir: Path) -> tuple[list[tuple[Path, Path]], int]:
    """(input file, its output folder) for each input, and the number of folders that held no
    image. A folder's images keep their subfolders under ``outdir`` (a CD's DICOM/ST0/SE1/IM0
    and DICOM/ST0/SE2/IM0 stay apart); earlier results (files named like :func:`output_name`'s, or
    anything under an ``outdir`` inside the folder) are skipped with a note."""
    out_key = outdir.resolve()
    inputs: list[tuple[Path, Path]] = []
    empty = 0
    for given in map(Path, given_paths):
        if not given.is_dir():
            inputs.append((given, outdir))  # named: taken whatever it is
            continue
        skipped: list[str] = []
        try:
            found = image_files(given, skipped=skipped)
        except ImageIOError as exc:  # ran past the scan's time budget
            empty += 1
            _error(f"{given}: {_describe(exc)}")
            continue
        finally:
            for line in skipped:  # named pipes, devices, links to them: never opened
                _note(line)
        inside = out_key != given.resolve()  # OUTDIR a subfolder: everything in it is output

        def earlier(q: Path) -> bool:
            return bool(_OUTPUT_NAME.search(q.name)) or (
                inside and q.resolve().is_relative_to(out_key))
        kept = [q for q in found if not earlier(q)]
        if len(kept) < len(found):
            _note(f"{given}: {len(found) - len(kept)} earlier result(s) of {PROG} skipped "
                  "(name them to take them)")
        if not kept:
            empty += 1
            _error(f"{given}: no image files in this folder")
        inputs += [(q, outdir / q.parent.relative_to(given)) for q in kept]
    return inputs, empty


def _run_batch(args: argparse.Namespace) -> int:
    if not args.inputs:
        raise UsageError("no INPUT files given (or use --demo OUTDIR)")
    if args.output_dir is None:
        raise UsageError("-o/--output-dir is required")
    if args.scale is None or args.method is None:
        raise UsageError("--scale and --method are required")
    if args.send:
        _send_node(args.send)
    outdir = _prepare_outdir(args.output_dir)
    if args.uncertainty_out is not None:
        _prepare_outdir(args.uncertainty_out)
    from tqdm import tqdm

    try:
        sr = _make_resolver(args.device, args.precision)
    except Exception as exc:  # noqa: BLE001 — e.g. --device cuda without CUDA
        _error(f"cannot start the engine: {_describe(exc)}")
        return 1
    reason = sr.unavailable_reason(args.method, args.scale)
    if reason:
        _error(f"{method_label(args.method)} {reason}; available at ×{fmt_scale(args.scale)}: "
               f"{', '.join(m for m in sr.methods() if sr.available(m, args.scale))}")
        return 1

    planned: set[Path] = set()
    written: list[Path] = []
    said: set[tuple[Path, str]] = set()
    series = DerivedSeries()
    inputs, failed = _inputs(args.inputs, outdir)
    sources = {src.resolve() for src, _ in inputs}  # never a target, even with --overwrite
    bar = tqdm(inputs, desc=PROG, unit="file", disable=None, file=sys.stderr, leave=False)
    for src, dest in bar:
        bar.set_postfix_str(src.name[:40], refresh=False)
        frame, n_frames = args.frame, 1
        while True:  # one frame, or with --all-frames each frame of a multi-frame input
            try:
                image = read_image(src, frame=frame)
                n_frames = image.n_frames
                for line in image.warnings:  # a library's message, said once as our note
                    if line.startswith(LIBRARY_NOTE_PREFIXES) and (src, line) not in said:
                        said.add((src, line))
                        _note(f"{src.name}: {line}")
                if image.n_frames > 1 and not args.all_frames:
                    _note(f"{src.name}: frame {frame} of {image.n_frames} (0-based; --frame "
                          "chooses another, --all-frames takes every one)")
                written.append(_write_one(sr, image, src, frame, args, dest, planned, sources,
                                          series))
            except (KeyboardInterrupt, SystemExit, GeneratorExit, StdoutClosed):
                raise
            except BaseException as exc:  # noqa: BLE001 — one bad file must not stop the batch
                failed += 1
                where = f" frame {frame}" if n_frames > 1 else ""
                _error(f"{src}{where}: {_describe(exc)}")
            frame += 1
            if not args.all_frames or frame >= n_frames:
                break
    bar.close()
    if args.send and written:
        failed += _send(args.send, written)
    return 1 if failed else 0


def _send_node(name: str) -> None:
    """Refuse ``--send NODE`` before any compute when the PACS settings lack ``NODE``."""
    from app.net import PacsConfigError, load_config

    try:
        load_config().node(name)
    except PacsConfigError as exc:
        raise UsageError(f"--send: {exc.message}") from None


def _send(node: str, written: list[Path]) -> int:
    """C-STORE the DICOM files written to the PACS node (:func:`app.net.cli.send_files`);
    returns 1 when anything was not stored."""
    from app.net.cli import send_files

    dicom = [p for p in written if p.suffix == ".dcm"]
    if len(dicom) < len(written):
        _note(f"--send: {len(written) - len(dicom)} non-DICOM result(s) not sent")
    if not dicom:
        return 0
    status = send_files(node, dicom, say=lambda line: None,
                        error=lambda message: _error(f"--send {node}: {message}"))
    if status == 0:
        _note(f"--send {node}: stored {len(dicom)} of {len(dicom)} instance(s)")
    return 1 if status else 0


def _write_one(sr: Any, image: ImageData, src: Path, frame: int, args: argparse.Namespace,
               outdir: Path, planned: set[Path], sources: set[Path],
               series: DerivedSeries) -> Path:
    """Super-resolve one read frame of ``src`` and write it into ``outdir`` (created), refusing
    a name already written in this run, an input of this run (even with --overwrite), or an
    existing file without --overwrite."""
    fmt = args.fmt or ("dcm" if image.kind == "dicom" else "png")
    target = outdir / output_name(src, args.scale, args.method, fmt,
                                  frame=frame if image.n_frames > 1 else None)
    _reserve(target, planned, sources)
    maps = _uncertainty_targets(image, src, frame, args, outdir, planned, sources)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        for path in set(maps.values()):
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputExistsError(f"cannot create the folder {exc.filename or outdir}: "
                                f"{exc.strerror or exc}") from None
    with ExitStack() as claims:  # held from before the compute to the rename
        for path in [target, *maps.values()]:
            claims.enter_context(_claimed(path, args.overwrite, sources))
        done = _process(sr, image, target, fmt, args, series)
        if maps:
            written_maps = write_uncertainty_files(done, image, maps, args.scale, args.method,
                                                   args.roi)
    _print_path(target)
    for path in written_maps if maps else []:
        _print_path(path)
    return target


def _uncertainty_targets(image: ImageData, src: Path, frame: int, args: argparse.Namespace,
                         outdir: Path, planned: set[Path], sources: set[Path]
                         ) -> dict[str, Path]:
    """Format → path of the uncertainty maps ``--uncertainty-out`` asks for (the folder
    mirrors ``outdir``'s place under OUTDIR); {} without it. Refused like the result's name."""
    if args.uncertainty_out is None:
        return {}
    folder = args.uncertainty_out / outdir.relative_to(args.output_dir)
    maps = {}
    for fmt in uncertainty_formats(image):
        path = folder / uncertainty_name(src, args.scale, args.method, fmt,
                                         frame=frame if image.n_frames > 1 else None)
        _reserve(path, planned, sources)
        maps[fmt] = path
    return maps


def _reserve(path: Path, planned: set[Path], sources: set[Path]) -> None:
    """Add ``path`` to this run's planned outputs, refusing a name already planned (another
    input with the same name) or an input of this run (never replaced)."""
    key = path.resolve()
    if key in planned:
        raise OutputExistsError(f"{path.name} was already written in this run from "
                                "another input with the same name")
    if key in sources:
        raise OutputExistsError(f"{path} is an input of this run: never replaced")
    planned.add(key)


@contextmanager
def _claimed(target: Path, overwrite: bool, sources: Iterable[Path] = ()) -> Iterator[None]:
    """Hold ``target``'s claim (:func:`app.io.claim_output`) for the ``with`` block, with the
    refusals said in the command line's terms."""
    try:
        with claim_output(target, overwrite=overwrite, sources=sources):
            yield
    except IoOutputExistsError as exc:
        raise OutputExistsError(f"{target}: {exc.message} (use --overwrite to replace it)"
                                ) from None
    except OutputBusyError as exc:
        raise OutputExistsError(f"{target}: {exc.message}") from None


# --------------------------------------------------------------------------- demo


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
                  "entropy_bits", "contrast_sd", "data_consistency_psnr_db", "bias_vs_bicubic", "weights_sha256")


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
             f"Contrast SD{u} | Data consistency PSNR (dB) | Mean bias vs bicubic{u} | Weights sha256 |",
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
    outdir = _prepare_outdir(args.demo)
    scale = args.scale or DEMO_SCALE
    from tqdm import tqdm

    if not SAMPLE_PATH.is_file():
        _error(f"the bundled sample {SAMPLE_PATH} is missing")
        return 1
    if _sha256(SAMPLE_PATH) != SAMPLE_SHA256:
        _error(f"{SAMPLE_PATH}: sha256 does not match the manifest (file damaged or replaced)")
        return 1
    try:
        sample = read_image(SAMPLE_PATH)
        roi = validate_roi(args.roi or DEMO_ROI, sample)
        sr = _make_resolver(args.device, args.precision)
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


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``rmisr-sr``; returns the exit status (0 ok, 1 a file failed, 2 usage,
    130 interrupted, 143 terminated by SIGTERM, 141 stdout closed by its reader).

    SIGTERM is turned into an exception while ``main`` runs (main thread only), so that a file
    being written is removed, not left half-written as ``.part``."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else 2
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if args.demo is not None:
            return _run_demo(args)
        return _run_batch(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except StdoutClosed:
        return 141
    except Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
