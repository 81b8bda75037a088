"""What the batch and the demo runs of ``rmisr-sr`` (:mod:`app.cli`) share.

The conditions that end a run with a given exit status (:class:`UsageError`,
:class:`StdoutClosed`, :class:`Terminated`) and a file's refusal (:class:`OutputExistsError`);
the lines a run prints (a written file's path on stdout, ``rmisr-sr: error: …`` and
``rmisr-sr: note: …`` on stderr); the engine, imported only when work starts
(:func:`_make_resolver`; the runs call it through this module, so a test may replace it here);
and the output folder and each output name's claim (:func:`_prepare_outdir`, :func:`_claimed`).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.io import ImageIOError, OutputBusyError, claim_output
from app.io import OutputExistsError as IoOutputExistsError

PROG = "rmisr-sr"


class UsageError(Exception):
    """Bad command line (exit status 2)."""


class OutputExistsError(Exception):
    """The output file exists and ``--overwrite`` was not given."""


class StdoutClosed(Exception):
    """The reader of stdout went away (``rmisr-sr ... | head -1``): the run stops quietly."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread so that every ``finally`` runs (no ``.part``
    or lock file is left behind)."""


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
