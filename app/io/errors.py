"""Errors of the image I/O layer.

Every failure of :func:`app.io.read_image` and of the writers raises a subclass of
:class:`ImageIOError` whose message names the file and says what is wrong in words a user can act
on. Raw pydicom / Pillow / tifffile / numpy exceptions never escape: they are translated here and
kept as ``__cause__`` for debugging.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")

__all__ = [
    "ImageIOError", "FileMissingError", "EmptyFileError", "NotAnImageError", "CorruptFileError",
    "TruncatedFileError", "NoPixelDataError", "UnsupportedTransferSyntaxError",
    "UnsupportedImageError", "ImageTooLargeError", "InvalidPixelsError", "FrameOutOfRangeError",
    "InvalidROIError", "InvalidScaleError", "InvalidWindowError", "WindowPresetError",
    "WriteError", "SourceOverwriteError", "OutputExistsError", "OutputBusyError",
    "NotRegularFileError", "ScanBudgetError", "InvalidArgumentError",
]


class ImageIOError(Exception):
    """Base class of every error raised by :mod:`app.io`.

    Attributes:
        path: the file concerned, when there is one.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class FileMissingError(ImageIOError, FileNotFoundError):
    """The path does not exist or is not a regular file."""


class EmptyFileError(ImageIOError):
    """The file has 0 bytes."""


class NotAnImageError(ImageIOError):
    """The content is neither DICOM nor a supported raster format (PNG, JPEG, TIFF, BMP)."""


class CorruptFileError(ImageIOError):
    """The file claims a supported format but its content cannot be parsed."""


class TruncatedFileError(CorruptFileError):
    """The file ends before the data its header announces (e.g. short Pixel Data)."""


class NoPixelDataError(ImageIOError):
    """A valid DICOM object without an image (RT Plan, structured report, …)."""


class UnsupportedTransferSyntaxError(ImageIOError):
    """The DICOM pixel data use a compression no installed decoder handles."""


class UnsupportedImageError(ImageIOError):
    """A readable image whose layout this viewer does not support (e.g. 4-D, 2 samples)."""


class ImageTooLargeError(ImageIOError):
    """The header announces more pixels than the safety limit; refused before decoding."""


class InvalidPixelsError(ImageIOError):
    """The pixel values contain NaN or ±inf."""


class FrameOutOfRangeError(ImageIOError, IndexError):
    """The requested frame does not exist in the file."""


class InvalidROIError(ImageIOError, ValueError):
    """A region of interest that is empty or not inside the image."""


class InvalidScaleError(ImageIOError, ValueError):
    """A magnification outside the supported range, or pixels that do not match it."""


class InvalidWindowError(ImageIOError, ValueError):
    """A display window with a non-finite centre or a width ≤ 0."""


class WindowPresetError(ImageIOError, ValueError):
    """A window-preset file that is missing, not JSON, or does not follow the schema."""


class WriteError(ImageIOError):
    """Writing an output failed; nothing was left at the target path."""


class SourceOverwriteError(WriteError):
    """The target path is the source image (or another file read in this session)."""


class OutputExistsError(WriteError):
    """The target exists (or appeared while the result was computed) and replacing it was not
    allowed; it was left as it was."""


class OutputBusyError(WriteError):
    """Another writer (another run, another thread) holds the target's claim: it is being written
    now. Nothing was replaced."""


class NotRegularFileError(NotAnImageError):
    """The path is a named pipe, a socket, a device or a link to one: never opened."""


class ScanBudgetError(ImageIOError):
    """A folder scan ran past its time budget; what it found is not used."""


class InvalidArgumentError(ImageIOError, ValueError):
    """An argument of the wrong type (a path that is not a str or os.PathLike, ...): a ValueError
    like every other bad value, not a bare TypeError."""


def wrong_type_is_value_error(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` with a TypeError or AttributeError (an argument of the wrong type met inside it:
    ``None`` for an ROI, a number for a label, an array-like without a shape, ...) raised as an
    :class:`InvalidArgumentError` naming the function and the cause, so that every bad value given
    to the public I/O API is a ValueError with a readable message, never a bare TypeError. The
    original exception is chained for debugging."""
    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (TypeError, AttributeError) as exc:
            raise InvalidArgumentError(
                f"{fn.__name__}: an argument has the wrong type ({exc})") from exc
    return checked
