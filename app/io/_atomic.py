"""Atomic file writing that never replaces a source image (used by every writer)."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterable

import numpy as np

from .errors import ImageIOError, InvalidPixelsError, SourceOverwriteError, WriteError
from .image_data import ImageData
from .reader import is_read_source

__all__ = ["atomic_write", "write_text", "source_paths", "as_image_array"]


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


def atomic_write(target: str | os.PathLike[str], write: Callable[[IO[bytes]], None], *,
                  sources: Iterable[Path | str | None] = ()) -> Path:
    """Write ``target`` through ``write(fh)`` atomically (temp file in the same folder, fsync,
    ``os.replace``). Nothing is left behind on failure."""
    target = Path(target)
    _check_not_source(target, sources)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise WriteError(f"the folder {parent} does not exist", target)
    if target.is_dir():
        raise WriteError("the target is a folder", target)
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
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        except OSError:  # pragma: no cover — nothing more we can do
            pass
        if isinstance(exc, (ImageIOError, KeyboardInterrupt, SystemExit)):
            raise
        msg = getattr(exc, "strerror", None) or (str(exc).splitlines() or [""])[0] or \
            type(exc).__name__
        raise WriteError(f"could not write the file ({type(exc).__name__}: {msg})",
                         target) from exc
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
    data = text.encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(data), sources=sources)
