"""Raster reading: PNG / JPEG / BMP with Pillow, TIFF with tifffile (Pillow as fallback).

Values are kept as stored (8-bit 0–255, 16-bit 0–65535, float as is); a colour image whose three
channels are equal becomes 2-D grey; alpha is dropped. Image size is checked from the header
(Pillow's ``Image.open`` and tifffile read only the header) before anything is decoded.

Limits: Pillow reduces 16-bit-per-channel *colour* PNGs to 8 bits (grey 16-bit PNGs keep their
values; 16-bit colour TIFFs go through tifffile and keep theirs). JPEG EXIF orientation is applied.
TIFF compressions that tifffile can only decode with ``imagecodecs`` (LZW, JPEG, …) are read with
Pillow instead.
"""
from __future__ import annotations

import json
import struct
import warnings as _warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._guard import LIBRARY_NOTE_PREFIXES, captured_log
from .errors import (CorruptFileError, FrameOutOfRangeError, ImageIOError, ImageTooLargeError,
                     InvalidPixelsError, NotAnImageError, TruncatedFileError, UnsupportedImageError)
from .image_data import ImageData, non_finite_reason
from .limits import MAX_PIXELS, MAX_SIDE
from .windowing import auto_window, full_range_window

__all__ = ["read_raster", "sniff_raster", "TIFF_DESCRIPTION_FORMAT"]

#: Marker in the JSON ImageDescription written by :func:`app.io.write_tiff16`.
TIFF_DESCRIPTION_FORMAT = "rmisr-tiff16/1"

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"II+\x00", "TIFF"), (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
)
RASTER_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG",
                   ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}


def sniff_raster(head: bytes) -> str | None:
    """The raster format named by the file's first bytes, or None."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    return None


def _check_size(width: int, height: int, path: Path) -> None:
    if width < 1 or height < 1:
        raise CorruptFileError(f"the header announces an empty image ({width}×{height})", path)
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"the header announces {width}×{height} pixels ({width * height / 1e6:.0f} Mpixel); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} Mpixel and {MAX_SIDE} pixels per side", path)


def _check_frame(frame: int, n_frames: int, path: Path) -> None:
    if not 0 <= frame < n_frames:
        raise FrameOutOfRangeError(f"frame {frame} does not exist: the file has {n_frames} "
                                   f"page{'s' if n_frames > 1 else ''} (0–{n_frames - 1})", path)


def _from_tifffile(path: Path, frame: int, notes: list[str] | None = None
                   ) -> tuple[np.ndarray, int, bool, str] | None:
    """(array, n_frames, min_is_white, description) via tifffile; None if a codec is missing
    (then Pillow is used). tifffile's logged warnings (a damaged tag, a bad page offset) are
    appended to ``notes`` instead of being printed."""
    said: list[str] = []
    try:
        with captured_log("tifffile", said):
            return _from_tifffile_quiet(path, frame, notes if notes is not None else [])
    finally:
        if notes is not None:
            notes.extend(f"{LIBRARY_NOTE_PREFIXES[1]}{line}" for line in said[:5])


def _from_tifffile_quiet(path: Path, frame: int, notes: list[str]
                         ) -> tuple[np.ndarray, int, bool, str] | None:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tf:
            n_frames = len(tf.pages)
            if n_frames == 0:
                raise CorruptFileError("the TIFF holds no image page", path)
            _check_frame(frame, n_frames, path)
            page = tf.pages[frame]
            if not isinstance(page, tifffile.TiffPage):
                page = page.aspage()
            _check_size(int(page.imagewidth), int(page.imagelength), path)
            if page.imagedepth > 1:
                raise UnsupportedImageError("volumetric TIFF tiles are not supported", path)
            try:
                arr = page.asarray()
            except ValueError as exc:
                if "imagecodecs" in str(exc):  # a compression only imagecodecs decodes: Pillow
                    if page.bitspersample > 8 and page.samplesperpixel >= 3:
                        notes.append(
                            f"read at 8 bits per sample of {page.bitspersample}: this colour "
                            f"TIFF's {getattr(page.compression, 'name', 'compression')} "
                            "compression is decoded by Pillow, which keeps 8 bits of colour "
                            "(save it uncompressed or as PNG to keep every value)")
                    return None
                raise
            axes = page.axes
            photometric = int(page.photometric)
            if axes.startswith("S") and arr.ndim == 3:  # planar configuration "separate"
                arr = np.moveaxis(arr, 0, -1)
            if photometric == 3 and page.colormap is not None and arr.ndim == 2:  # PALETTE
                cmap = np.asarray(page.colormap)
                arr = np.moveaxis(cmap[:, np.clip(arr, 0, cmap.shape[1] - 1)], 0, -1)
            if photometric == 5:  # SEPARATED (CMYK)
                raise UnsupportedImageError("CMYK TIFF is not supported", path)
            return arr, n_frames, photometric == 0, str(page.description or "")
    except ImageIOError:
        raise
    except tifffile.TiffFileError as exc:
        raise CorruptFileError(f"not a readable TIFF ({exc})", path) from exc
    except (EOFError, ValueError, OSError, IndexError, KeyError, TypeError, struct.error) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, EOFError) or "truncat" in msg.lower() or "ended" in msg.lower():
            raise TruncatedFileError(f"the TIFF file ends early ({msg})", path) from exc
        raise CorruptFileError(f"the TIFF file is corrupt ({msg})", path) from exc


def _header_size(path: Path, fmt: str) -> tuple[int, int] | None:
    """(width, height) straight from a PNG IHDR or BMP info header, before Pillow sees the file
    (so that our size limit, not Pillow's decompression-bomb guard, names the dimensions)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(26)
    except OSError:
        return None
    if fmt == "PNG" and len(head) >= 24 and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if fmt == "BMP" and len(head) >= 26 and struct.unpack("<I", head[14:18])[0] >= 40:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)
    return None


def _from_pillow(path: Path, frame: int, fmt: str) -> tuple[np.ndarray, int, bool, str]:
    """(array, n_frames, min_is_white, mode) via Pillow."""
    size = _header_size(path, fmt)
    if size is not None:
        _check_size(size[0], size[1], path)
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit
            with Image.open(path) as im:  # reads the header only
                _check_size(im.width, im.height, path)
                n_frames = int(getattr(im, "n_frames", 1) or 1)
                _check_frame(frame, n_frames, path)
                if frame:
                    im.seek(frame)
                im.load()
                mode = im.mode
                if fmt == "JPEG":
                    im = ImageOps.exif_transpose(im) or im
                min_is_white = fmt == "TIFF" and getattr(im, "tag_v2", {}).get(262) == 0
                if mode == "1":
                    im = im.convert("L")
                elif mode in ("P", "PA"):
                    im = im.convert("RGBA" if "transparency" in im.info or mode == "PA" else "RGB")
                elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                    im = im.convert("RGB")
                arr = np.array(im)
                return arr, n_frames, min_is_white, mode
    except ImageIOError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"refused before decoding: {exc}", path) from exc
    except UnidentifiedImageError as exc:
        raise NotAnImageError(f"the content is not a readable {fmt} image", path) from exc
    except MemoryError:
        raise ImageTooLargeError("not enough memory to decode the image", path) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
            ZeroDivisionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "truncat" in msg.lower() or isinstance(exc, EOFError):
            raise TruncatedFileError(f"the {fmt} file ends early ({msg})", path) from exc
        raise CorruptFileError(f"the {fmt} file is corrupt ({msg})", path) from exc


#: the largest integer magnitude below which every integer is exact in float32
_FLOAT32_EXACT = 2 ** 24


def _without_alpha(arr: np.ndarray, keep: int, notes: list[str]) -> np.ndarray:
    """The first ``keep`` samples of each pixel (grey, or RGB), with a note of what is left out:
    an alpha channel that is not fully opaque (its pixels are shown as their colour, without the
    transparency), or samples beyond alpha."""
    samples = arr.shape[-1]
    if samples == keep:
        return arr
    alpha = arr[..., keep]
    top = np.iinfo(arr.dtype).max if arr.dtype.kind in "ui" else 1.0
    if not np.all(alpha == top):
        notes.append(f"transparency (alpha) left out: {int(np.count_nonzero(alpha != top)):,} "
                     "partly or fully transparent pixel(s) are shown with their stored values")
    if samples - keep > 1:
        notes.append(f"{samples - keep - 1} sample(s) per pixel beyond "
                     f"{'grey' if keep == 1 else 'RGB'} and alpha left out")
    out = arr[..., 0] if keep == 1 else arr[..., :keep]
    return out


def _tiff16_encoding(description: str) -> tuple[float, float, str] | None:
    """(offset, scale, unit) from the JSON ImageDescription of :func:`app.io.write_tiff16`."""
    if not description.startswith("{") or TIFF_DESCRIPTION_FORMAT not in description:
        return None
    try:
        meta = json.loads(description)
        offset, scale = float(meta["offset"]), float(meta.get("scale", 1))
        unit = str(meta.get("unit", ""))
    except (ValueError, KeyError, TypeError):
        return None
    if not (np.isfinite(offset) and np.isfinite(scale) and scale > 0):
        return None
    return offset, scale, unit


def read_raster(path: Path, frame: int, fmt: str) -> ImageData:
    """Read one page of a PNG / JPEG / TIFF / BMP file.

    Args:
        path: the file.
        frame: 0-based page (multi-page TIFF, animated PNG).
        fmt: the sniffed format ("PNG", "JPEG", "TIFF", "BMP").

    Raises:
        ImageIOError subclasses only.
    """
    min_is_white = False
    mode = ""
    description = ""
    notes: list[str] = []
    got = _from_tifffile(path, frame, notes) if fmt == "TIFF" else None
    if got is not None:
        arr, n_frames, min_is_white, description = got
        mode = f"TIFF {arr.dtype}"
    else:
        arr, n_frames, min_is_white, mode = _from_pillow(path, frame, fmt)

    if arr.ndim == 3:
        samples = arr.shape[-1]
        if samples == 1:
            arr = arr[..., 0]
        elif samples == 2:  # grey + alpha
            arr = _without_alpha(arr, 1, notes)
        elif samples >= 3:
            arr = _without_alpha(arr, 3, notes)  # drop alpha / extra samples
    if arr.ndim not in (2, 3):
        raise UnsupportedImageError(f"image array of shape {arr.shape} is not supported", path)
    dtype = arr.dtype
    if dtype == np.bool_:
        arr, dtype = arr.astype(np.uint8) * 255, np.dtype(np.uint8)
    if np.issubdtype(dtype, np.complexfloating):
        raise UnsupportedImageError("complex-valued images are not supported", path)
    pixels = arr.astype(np.float32)
    if dtype.kind in "ui" and dtype.itemsize > 2 and arr.size and (
            int(arr.max()) > _FLOAT32_EXACT or int(arr.min()) < -_FLOAT32_EXACT):
        notes.append(f"values beyond ±{_FLOAT32_EXACT:,} (2^24) are held to float32 precision "
                     "(about 7 significant digits): neighbouring integers may read alike")
    if not np.all(np.isfinite(pixels)):
        raise InvalidPixelsError(non_finite_reason(arr), path)
    if pixels.ndim == 3 and np.array_equal(pixels[..., 0], pixels[..., 1]) and \
            np.array_equal(pixels[..., 1], pixels[..., 2]):
        pixels = np.ascontiguousarray(pixels[..., 0])

    bits: int | None
    if dtype.kind in "ui" and dtype.itemsize <= 2:
        info = np.iinfo(dtype)
        stored_range = (float(info.min), float(info.max))
        bits = info.bits
    elif np.issubdtype(dtype, np.integer):
        lo, hi = float(pixels.min()), float(pixels.max())
        if lo >= 0 and hi <= 65535:  # e.g. Pillow mode "I" holding 16-bit data
            stored_range, bits = (0.0, 65535.0), 16
        else:
            stored_range, bits = (lo, hi), dtype.itemsize * 8
    else:
        stored_range, bits = (float(pixels.min()), float(pixels.max())), None

    value_unit, rescale = "", (1.0, 0.0)
    encoding = _tiff16_encoding(description) if (dtype.kind, dtype.itemsize) == ("u", 2) else None
    if encoding is not None:  # written by app.io.write_tiff16: value = offset + scale · stored
        offset, scale, value_unit = encoding
        pixels = (pixels.astype(np.float64) * scale + offset).astype(np.float32)
        stored_range = (offset, offset + 65535.0 * scale)
        rescale = (scale, offset)  # the value grid, kept by a TIFF written from this one

    colour = pixels.ndim == 3
    if bits == 8 and stored_range[0] == 0:
        window = full_range_window(*stored_range)
    else:
        window = auto_window(pixels)
    image = ImageData(
        pixels=pixels, source_path=path, kind="raster", modality="OT",
        photometric="RGB" if colour else ("MONOCHROME1" if min_is_white else "MONOCHROME2"),
        invert=min_is_white and not colour, window=window, windows=[],
        stored_range=stored_range, value_unit=value_unit, frame=frame, n_frames=n_frames,
        dataset=None, bits_stored=bits, rescale=rescale, source_photometric=mode,
        transfer_syntax=fmt, lossy=fmt == "JPEG")
    image.warnings.extend(notes)
    return image
