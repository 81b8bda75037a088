"""``python -m models.training.ship RUN_WEIGHTS_DIR FILE...`` — trained weights into ``weights/``.

A training run exports its best model into its own weights folder (``rmisr-train --weights-dir``)
so that an unevaluated file never replaces a shipped one. Once evaluated, this command copies each
named file into ``weights/`` and upserts its manifest record, after checking the file against the
run's manifest (sha256) and loading it into its architecture — a tampered or mismatched file is
refused and nothing is changed. ``--note`` replaces the record's training note (a resumed run's
record carries its first command's note, or none when resumed from a committed resume state, and
may not describe what the shipped file went through). ``--serve MIN MAX`` sets the scales a
scale-range file serves, when measurements show it should serve only part of the range it was
trained over (e.g. SRCNN trained over ×1.5–5 scores below bicubic under ×1.8: it serves ×1.9–5).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from ..geometry import SCALE_MAX, SCALE_MIN
from ..manifest import (
    WEIGHTS_DIR,
    Manifest,
    WeightsIntegrityError,
    atomic_write_bytes,
    export_weights,
    model_from_bytes,
    read_verified,
)
from .resume_state import ResumeStateError, state_tensors

__all__ = ["ship", "stale_reference"]


def stale_reference(state: Path) -> str | None:
    """A message when ``state`` is a reference-only resume state (``resume_state --same-as``)
    whose weights file is no longer the one it names, e.g. just replaced by :func:`ship`."""
    if not state.is_file():
        return None
    try:
        state_tensors(state)
    except ResumeStateError:
        return (f"{state} refers to the file this replaced and can no longer be resumed; write "
                f"the new run's state: python -m models.training.resume_state "
                f"RUN/state.safetensors {state} --same-as {state.parent.parent / state.name}")
    return None


def ship(src_dir: str | Path, file: str, dest_dir: str | Path = WEIGHTS_DIR,
         half: bool = False, note: str | None = None,
         serve: tuple[float, float] | None = None) -> Path:
    """Copy ``src_dir/file`` and its manifest record into ``dest_dir``; return the new path.

    Args:
        src_dir: the folder holding the file and its manifest (a run's ``--weights-dir``).
        file: the weights file name.
        dest_dir: where to ship it (default ``weights/``).
        half: store it as float16 instead (half the size; see
            :func:`models.registry.export_weights`).
        note: if given, the shipped record's ``training["note"]`` (the run's record is unchanged).
        serve: if given, the shipped record's ``scale_range`` (a scale-range file only; within
            its trained range and [1.1, 5]).

    Returns:
        The path of the shipped file.

    Raises:
        WeightsIntegrityError: no record for ``file`` in ``src_dir``'s manifest, or the file does
            not match it (sha256, architecture).
        ValueError: ``serve`` for a fixed-scale file, or outside the file's range.
    """
    src_dir, dest_dir = Path(src_dir), Path(dest_dir)
    record = Manifest(src_dir).for_file(file)
    if record is None:
        raise WeightsIntegrityError(f"{src_dir / 'manifest.json'} has no record for {file}")
    data = read_verified(record, src_dir)  # read once: the bytes checked are the bytes shipped
    model = model_from_bytes(record, data)  # the tensors fit the architecture
    if serve is not None:
        lo, hi = serve
        if record.scale_range is None:
            raise ValueError(f"{file} is a fixed-scale file (×{record.scales}); --serve is for "
                             "scale-range files")
        if not (max(SCALE_MIN, record.scale_range[0]) <= lo < hi
                <= min(SCALE_MAX, record.scale_range[1])):
            raise ValueError(f"--serve {lo:g} {hi:g} is not a range within {file}'s trained "
                             f"×{record.scale_range[0]:g}–{record.scale_range[1]:g}")
        record.scale_range = [float(lo), float(hi)]
    if note is not None:
        record.training["note"] = note
    if half:
        export_weights(model, record, dest_dir, dtype=torch.float16)  # new sha256 and record
        return dest_dir / file
    atomic_write_bytes(dest_dir / file, data)  # a few MB
    Manifest(dest_dir).upsert(record)
    return dest_dir / file


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.training.ship",
                                description=__doc__.split("\n")[0])
    p.add_argument("src", help="a run's weights folder (with its manifest.json)")
    p.add_argument("files", nargs="+", help="weights file names to ship")
    p.add_argument("--dest", default=str(WEIGHTS_DIR), help="target weights folder")
    p.add_argument("--half", action="store_true",
                   help="store as float16 (for files that would exceed ~8 MB in float32)")
    p.add_argument("--note", default=None,
                   help="the shipped record's training note (replaces the run's; e.g. what a "
                        "resumed run did)")
    p.add_argument("--serve", nargs=2, type=float, default=None, metavar=("MIN", "MAX"),
                   help="the scales a scale-range file serves, if only part of its trained range")
    args = p.parse_args(argv)
    for f in args.files:
        try:
            print(ship(args.src, f, args.dest, half=args.half, note=args.note,
                       serve=args.serve))
            stale = stale_reference(Path(args.dest) / "resume" / f)
            if stale:
                print(f"note: {stale}", file=sys.stderr)
        except (WeightsIntegrityError, ValueError) as exc:
            print(f"models.training.ship: error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
