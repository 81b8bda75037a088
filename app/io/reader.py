"""``read_image``: the single entry point from a file to :class:`ImageData`.

The format is chosen from the file's content, not its extension: "DICM" at byte 128 → DICOM;
PNG / JPEG / TIFF / BMP signatures → raster; anything else is tried as a DICOM data set without
preamble (kept only if it has pixel data), else refused with :class:`NotAnImageError`.
"""
from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

from ._dicom import read_dicom
from ._guard import not_regular, open_header
from ._raster import RASTER_SUFFIXES, read_raster, sniff_raster
from .errors import (CorruptFileError, EmptyFileError, FileMissingError, FrameOutOfRangeError,
                     ImageIOError, ImageTooLargeError, InvalidArgumentError, NotAnImageError,
                     NotRegularFileError)
from .image_data import ImageData

__all__ = ["read_image", "is_read_source", "sniff_format"]

_sources_lock = threading.Lock()
_sources: set[str] = set()  # resolved paths read in this process: writers refuse to replace them


def _key(path: Path) -> str:
    try:
        return os.path.normcase(str(path.resolve()))
    except OSError:
        return os.path.normcase(os.path.abspath(path))


def is_read_source(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a file that :func:`read_image` has read in this process."""
    with _sources_lock:
        return _key(Path(path)) in _sources


def sniff_format(head: bytes) -> str | None:
    """"DICOM", "PNG", "JPEG", "TIFF", "BMP" from a file's first 132 bytes, or None."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "DICOM"
    return sniff_raster(head)


def read_image(path: str | os.PathLike[str], frame: int = 0) -> ImageData:
    """Read one frame of a medical or raster image at full range.

    Args:
        path: a DICOM file (any transfer syntax pydicom + installed plugins decode) or a
            PNG / JPEG / TIFF / BMP file (8/16-bit, grey or colour; float TIFF).
        frame: 0-based frame (multi-frame DICOM) or page (multi-page TIFF).

    Returns:
        The frame's pixels as float32 in modality units, with metadata and a default window.

    Raises:
        ImageIOError: a specific subclass for each failure (missing, empty, not an image,
            truncated, no pixel data, unsupported compression, too large, NaN/inf pixels,
            frame out of range, corrupt). No other exception type escapes.

    Python warnings raised while reading (pydicom's value checks) are collected into
    ``ImageData.warnings`` instead of being printed (``warnings.catch_warnings``, which is
    process-wide before Python 3.14: warnings of other threads during a read may be collected too).
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise InvalidArgumentError(f"path must be a file path (str or os.PathLike), got "
                                   f"{type(path).__name__}")
    p = Path(path)
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise FrameOutOfRangeError(f"frame must be a non-negative integer, got {frame!r}", p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FileMissingError("no such file", p) from None
    except OSError as exc:
        raise FileMissingError(f"cannot access the file ({exc.strerror or exc})", p) from exc
    if p.is_dir():
        raise NotAnImageError("is a folder, not an image file", p)
    kind = not_regular(st.st_mode)
    if kind is not None:  # a named pipe would block the read, a device never end
        link = " (through a link)" if p.is_symlink() else ""
        raise NotRegularFileError(f"is {kind}{link}, not an image file; it was not opened", p)
    if st.st_size == 0:
        raise EmptyFileError("the file is empty (0 bytes)", p)
    try:
        with open_header(p) as fh:
            head = fh.read(132)
    except OSError as exc:
        raise FileMissingError(f"cannot read the file ({exc.strerror or exc})", p) from exc

    fmt = sniff_format(head)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if fmt == "DICOM":
                image = read_dicom(p, frame, sniffed=True)
            elif fmt is not None:
                image = read_raster(p, frame, fmt)
            else:
                expected = RASTER_SUFFIXES.get(p.suffix.lower())
                if expected is not None:
                    start = head[:12].decode("ascii", "replace")
                    raise NotAnImageError(
                        f"the name ends in {p.suffix} but the content is not a {expected} image "
                        f"(it starts with {start!r})", p)
                image = read_dicom(p, frame, sniffed=False)
        except ImageIOError:
            raise
        except MemoryError:
            raise ImageTooLargeError("not enough memory to read the image", p) from None
        except Exception as exc:  # noqa: BLE001 — last line of defence: never a raw exception
            raise CorruptFileError(f"unreadable file ({type(exc).__name__}: {exc})", p) from exc
    for w in caught:
        text = str(w.message).splitlines()[0] if str(w.message) else w.category.__name__
        if text not in image.warnings:
            image.warnings.append(text)
    with _sources_lock:
        _sources.add(_key(p))
    return image
