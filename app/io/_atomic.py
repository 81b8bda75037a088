"""Atomic file writing that never replaces a source image (used by every writer)."""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover — Windows
    fcntl = None  # type: ignore[assignment]

import numpy as np

from .errors import (ImageIOError, InvalidPixelsError, OutputBusyError, OutputExistsError,
                     SourceOverwriteError, WriteError)
from .image_data import ImageData
from .reader import is_read_source

__all__ = ["atomic_write", "claim_output", "OutputClaim", "write_text", "source_paths",
           "as_image_array"]

#: errors of ``os.link`` that mean "this file system has no hard links", not "cannot write"
_NO_LINK_ERRNOS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK,
                   getattr(errno, "ENOSYS", errno.EPERM)}


def _current_umask() -> int:
    if os.name != "posix":
        return 0
    mask = os.umask(0)  # read at import time, before any thread exists
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.normcase(str(a.resolve())) == os.path.normcase(str(b.resolve())):
            return True
    except OSError:
        pass
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_not_source(target: Path, sources: Iterable[Path | str | None]) -> None:
    for src in sources:
        if src is not None and _same_file(target, Path(src)):
            raise SourceOverwriteError("refusing to overwrite the source image; choose another "
                                       "file name", target)
    if target.exists() and is_read_source(target):
        raise SourceOverwriteError("refusing to overwrite an image that was opened as a source "
                                   "in this session; choose another file name", target)


def source_paths(source: ImageData | str | os.PathLike[str] | None) -> list[Path]:
    if source is None:
        return []
    if isinstance(source, ImageData):
        return [source.source_path]
    return [Path(source)]


_claims: ContextVar[dict[str, "OutputClaim"] | None] = ContextVar("rmisr_output_claims",
                                                                    default=None)


def _claim_key(target: Path) -> str:
    return os.path.normcase(os.path.abspath(target))


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


@dataclass
class OutputClaim:
    """An exclusive claim on one output name, held by :func:`claim_output` until the result is
    renamed onto it (or the claim is given up).

    Attributes:
        path: the output file.
        overwrite: whether an existing file may be replaced.
        lock_path: the hidden lock file beside it (``.<name>.lock``), removed on release.
    """

    path: Path
    overwrite: bool
    lock_path: Path
    _fd: int | None = None


def _take_lock(target: Path, lock: Path) -> int:
    """Create and lock ``lock``; the descriptor. POSIX: ``flock`` (released by the kernel if the
    process dies, so a stale lock file never blocks), checked to still be the file at that name
    (a releasing holder unlinks it). Elsewhere: an exclusive create (``O_EXCL``)."""
    parent = target.parent
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    if fcntl is None:
        try:
            return os.open(lock, flags | os.O_EXCL, 0o600)
        except FileExistsError:
            raise OutputBusyError(f"another writer is creating this file now (its lock {lock.name} "
                                  "exists; delete it if no other run is writing); nothing was "
                                  "replaced", target) from None
        except OSError as exc:
            raise WriteError(f"cannot create a file in {parent} ({exc.strerror or exc})",
                             target) from exc
    for _ in range(100):
        try:
            fd = os.open(lock, flags, 0o600)
        except OSError as exc:
            raise WriteError(f"cannot create a file in {parent} ({exc.strerror or exc})",
                             target) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputBusyError("another writer is creating this file now; nothing was "
                                  "replaced", target) from None
        except OSError:  # a file system without locks (ENOLCK): the no-replace publish remains
            return fd
        try:
            held, named = os.fstat(fd), os.stat(lock, follow_symlinks=False)
            if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the previous holder removed the file we locked: lock the new one
    raise OutputBusyError("another writer keeps creating and releasing this file; nothing was "
                          "replaced", target)


def _release(claim: OutputClaim) -> None:
    if claim._fd is None:
        return
    try:
        os.unlink(claim.lock_path)  # still holding the lock: nobody else owns this file
    except OSError:
        pass
    os.close(claim._fd)
    claim._fd = None


@contextmanager
def claim_output(target: str | os.PathLike[str], *, overwrite: bool,
                 sources: Iterable[Path | str | None] = ()) -> Iterator[OutputClaim]:
    """Claim ``target`` for writing before the result is computed, and hold the claim until it
    is written.

    Every writer of :mod:`app.io` (through :func:`atomic_write`) writing ``target`` inside the
    ``with`` block of the same thread uses this claim and its ``overwrite``; elsewhere each write
    takes its own claim. A second claim of the same name, by another thread or process, is
    refused with :class:`OutputBusyError` while this one is held; ``overwrite=False`` refuses an
    existing file now (:class:`OutputExistsError`) and again at the rename, which is then a
    no-replace link, so a file that appeared meanwhile (a writer that takes no claim) is never
    replaced. The ambiguity "two runs, one name" is resolved as: the first claim wins, the other
    is told; nobody waits.

    Raises:
        SourceOverwriteError: ``target`` is a source (always refused).
        OutputBusyError: another writer holds the claim.
        OutputExistsError: ``target`` exists and ``overwrite`` is False.
        WriteError: the folder is missing or not writable, or ``target`` is a folder.
    """
    if not isinstance(overwrite, bool):
        raise ValueError(f"overwrite must be True or False, got {overwrite!r}")
    path = _as_path(target, "target")
    _check_not_source(path, sources)
    parent = path.parent if str(path.parent) else Path(".")
    path = parent / path.name
    if not parent.is_dir():
        raise WriteError(f"the folder {parent} does not exist", path)
    if path.is_dir():
        raise WriteError("the target is a folder", path)
    claims = _claims.get()
    if claims is None:
        claims = {}
        _claims.set(claims)
    key = _claim_key(path)
    if key in claims:
        raise OutputBusyError("this file is already claimed by a write in progress here; "
                              "nothing was replaced", path)
    lock = _lock_path(path)
    claim = OutputClaim(path, overwrite, lock, _take_lock(path, lock))
    try:
        if not overwrite and os.path.lexists(path):
            raise OutputExistsError("the file exists and replacing it was not asked for; it was "
                                    "left as it was", path)
        claims[key] = claim
        try:
            yield claim
        finally:
            claims.pop(key, None)
    finally:
        _release(claim)


def _as_path(value: object, what: str) -> Path:
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        return Path(value)
    raise ValueError(f"{what} must be a file path (str or os.PathLike), got "
                     f"{type(value).__name__}")


def atomic_write(target: str | os.PathLike[str], write: Callable[[IO[bytes]], None], *,
                  sources: Iterable[Path | str | None] = (),
                  overwrite: bool | None = None) -> Path:
    """Write ``target`` through ``write(fh)`` atomically (temp file in the same folder, fsync,
    rename). Nothing is left behind on failure, an interruption (KeyboardInterrupt, SystemExit)
    included.

    The write holds ``target``'s claim (:func:`claim_output`): the caller's, when it claimed the
    name in this thread (its ``overwrite`` then applies), else one taken here with ``overwrite``
    (default True: the viewer's save dialogs ask before replacing). Without overwrite the result
    is published by a no-replace hard link (rename where the file system has no links, after an
    existence check under the claim), so an existing file is never replaced.
    """
    path = _as_path(target, "target")
    if not callable(write):
        raise ValueError(f"write must be a callable taking a binary file, got "
                         f"{type(write).__name__}")
    _check_not_source(path, sources)
    claim = (_claims.get() or {}).get(_claim_key(path))
    if claim is None:
        with claim_output(path, overwrite=True if overwrite is None else overwrite,
                          sources=sources) as own:
            return _write_claimed(own, write)
    return _write_claimed(claim, write)


def _write_claimed(claim: OutputClaim, write: Callable[[IO[bytes]], None]) -> Path:
    target = claim.path
    parent = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=parent)
    except OSError as exc:
        raise WriteError(f"cannot create a file in {parent} ({exc.strerror or exc})",
                         target) from exc
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        with open(tmp, "wb") as fh:  # a named file object (tifffile wants ``fh.name``)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        if claim.overwrite:
            os.replace(tmp, target)
        else:
            _publish_new(tmp, target)
    except BaseException as exc:
        if isinstance(exc, (ImageIOError, KeyboardInterrupt, SystemExit)):
            raise
        msg = getattr(exc, "strerror", None) or (str(exc).splitlines() or [""])[0] or \
            type(exc).__name__
        raise WriteError(f"could not write the file ({type(exc).__name__}: {msg})",
                         target) from exc
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        except OSError:  # pragma: no cover — nothing more we can do
            pass
    if os.name == "posix":  # make the rename durable
        try:
            dir_fd = os.open(parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
    return target


def _publish_new(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` only if that name is free: a hard link fails on an
    existing name (atomic); where links are not supported (FAT, some shares) a rename after an
    existence check under the claim."""
    appeared = OutputExistsError("the file appeared while the result was being computed (another "
                                 "program wrote it); it was left as it was", target)
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise appeared from None
    except OSError as exc:
        if exc.errno not in _NO_LINK_ERRNOS:
            raise
    if os.path.lexists(target):
        raise appeared
    os.replace(tmp, target)


def as_image_array(pixels: Any, path: Path) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 3)) or arr.size == 0:
        raise WriteError(f"pixels of shape {arr.shape} are not a 2-D grey or H×W×3 RGB image",
                         path)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise WriteError(f"pixels of dtype {arr.dtype} are not real numbers", path)
    if not np.all(np.isfinite(arr)):
        raise InvalidPixelsError("the pixels to write contain NaN or infinity", path)
    return arr


def write_text(path: str | os.PathLike[str], text: str, *,
               sources: Iterable[Path | str | None] = ()) -> Path:
    """Write a UTF-8 text file (tables, reports) atomically."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    data = text.encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(data), sources=sources)
