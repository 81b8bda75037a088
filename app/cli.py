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
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

from app._cli_batch import _run_batch
from app._cli_demo import DEMO_ROI, DEMO_SCALE, _run_demo
from app._cli_run import PROG, StdoutClosed, Terminated, UsageError
from app.batch import FORMAT_EXT, output_name
from app.io import InvalidROIError, InvalidScaleError, parse_roi, validate_scale
from app.io.labels import METHOD_LABELS

__all__ = ["main", "build_parser", "output_name", "DEMO_ROI", "DEMO_SCALE"]


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
                        "or on CUDA, else fp32; CT, and SRCNN on a CPU, stay fp32; the image's "
                        "own reading, statistics and normalisation stay fp32)")
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
