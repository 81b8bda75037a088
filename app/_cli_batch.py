"""The batch run of ``rmisr-sr`` (:mod:`app.cli`): INPUT files and folders to OUTDIR.

The inputs gathered (a folder's images with their subfolders mirrored under OUTDIR, earlier
results skipped: :func:`_inputs`), each output name reserved for this run and claimed before its
compute (:func:`_reserve`, :func:`app._cli_run._claimed`), each frame super-resolved and written
with its uncertainty maps (:func:`_write_one`), and the DICOM results sent to a PACS node with
``--send`` (:func:`_send`). One failing file is reported and the others still run.
"""
from __future__ import annotations

import argparse
import re
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from app import _cli_run
from app._cli_run import (PROG, OutputExistsError, StdoutClosed, UsageError, _claimed,
                          _describe, _error, _note, _prepare_outdir, _print_path)
from app.batch import (output_name, super_resolve_to_file, uncertainty_formats,
                       uncertainty_name, write_uncertainty_files)
from app.io import DerivedSeries, ImageData, ImageIOError, method_label, read_image
from app.io._guard import LIBRARY_NOTE_PREFIXES
from app.io.labels import METHOD_LABELS, fmt_scale
from app.io.series import image_files
from models.inference.memory import freed_memory_reused

#: the end of an output_name stem: "_SRx2.5_rmisr-vp" (before the extension)
_OUTPUT_NAME = re.compile(r"_SRx\d+(\.\d+)?_(" + "|".join(map(re.escape, METHOD_LABELS))
                          + r")(_uncertainty)?\.(dcm|png|tiff)$")


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
    and DICOM/ST0/SE2/IM0 stay apart), under ``outdir``/<folder name> when several folders are
    given; earlier results (files named like :func:`output_name`'s, or
    anything under an ``outdir`` inside the folder) are skipped with a note."""
    out_key = outdir.resolve()
    inputs: list[tuple[Path, Path]] = []
    empty = 0
    # several folders: each mirrored under its own name (two CDs' DICOM/ST0/SE0/IM0 apart)
    several = sum(Path(g).is_dir() for g in given_paths) > 1
    named: dict[str, int] = {}  # /media/cd1/DICOM and /media/cd2/DICOM: DICOM and DICOM-2
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
        # OUTDIR a subfolder of the folder given: everything in it is output (an OUTDIR above
        # the folder, "-o .", holds the inputs themselves)
        inside = out_key != given.resolve() and out_key.is_relative_to(given.resolve())

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
        base = outdir
        if several:
            name = given.resolve().name
            named[name] = named.get(name, 0) + 1
            base = outdir / (name if named[name] == 1 else f"{name}-{named[name]}")
        inputs += [(q, base / q.parent.relative_to(given)) for q in kept]
    return inputs, empty


def _run_batch(args: argparse.Namespace) -> int:
    if not args.inputs:
        raise UsageError("no INPUT files given (or use --demo OUTDIR)")
    if args.output_dir is None:
        raise UsageError("-o/--output-dir is required")
    if args.scale is None or args.method is None:
        raise UsageError("--scale and --method are required")
    if args.all_frames and args.frame:
        raise UsageError("--all-frames takes every frame: leave --frame out (or give --frame "
                         "alone for one frame)")
    if args.send:
        _send_node(args.send)
    outdir = _prepare_outdir(args.output_dir)
    if args.uncertainty_out is not None:
        _prepare_outdir(args.uncertainty_out)
    from tqdm import tqdm

    try:
        sr = _cli_run._make_resolver(args.device, args.precision)
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
    once: dict[Path, tuple[Path, Path]] = {}
    for src, dest in inputs:  # a file named twice (or also inside a folder given): run once
        once.setdefault(src.resolve(), (src, dest))
    if len(once) < len(inputs):
        _note(f"{len(inputs) - len(once)} input(s) given more than once: each run once")
        inputs = list(once.values())
    sources = set(once)  # never a target, even with --overwrite
    bar = tqdm(inputs, desc=PROG, unit="file", disable=None, file=sys.stderr, leave=False)
    with freed_memory_reused():  # kept from file to file, returned RELEASE_AFTER_S after the batch
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
    def say(line: str) -> None:  # each instance not stored is named (stdout lists results)
        if "\tstored\t" not in line:
            _note(f"--send {node}: {line}")

    status = send_files(node, dicom, say=say,
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
        new = [p for p in [target, *maps.values()] if not p.exists()]
        done = _process(sr, image, target, fmt, args, series)
        if maps:
            try:
                written_maps = write_uncertainty_files(done, image, maps, args.scale,
                                                       args.method, args.roi)
            except BaseException:
                # a result is published with the maps it was asked with or not at all (a file
                # it replaced under --overwrite is gone already: that one is named)
                for path in new:
                    path.unlink(missing_ok=True)
                if target not in new:
                    _note(f"{target}: written, but its uncertainty map could not be")
                else:
                    _note(f"{target.name}: not kept: its uncertainty map could not be written")
                raise
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
