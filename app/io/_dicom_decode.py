"""A DICOM file parsed and one frame's pixel data decoded, for :func:`app.io._dicom.read_dicom`.

The header read through a counted reader that refuses non-DICOM content and element floods
early (:func:`_read_dataset`), the transfer syntax (stated or guessed from the encoding,
:func:`_ensure_transfer_syntax`), a decoder for it (:func:`_check_decodable`, with what to install
when there is none), pixel data that can hold the frames the header announces
(:func:`_check_frames_held`) and one frame decoded, with decoder failures as
:mod:`app.io.errors` (:func:`_decode`).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from struct import error as struct_error
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder, pixel_array
from pydicom.uid import (UID, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian,
                         ExplicitVRLittleEndian, ImplicitVRLittleEndian)

from ._guard import (LIBRARY_NOTE_PREFIXES, HeaderFloodError, captured_stderr, open_header,
                     plausible_dicom_start)
from .errors import (CorruptFileError, ImageIOError, ImageTooLargeError, NoPixelDataError,
                     NotAnImageError, TruncatedFileError, UnsupportedTransferSyntaxError)

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

_DEFER_SIZE = "4 MB"

#: What to install for each compressed syntax family (shown in the error message).
_DECODER_HINTS = {
    "JPEG-LS": "python-gdcm (a dependency of the viewer: pip install python-gdcm) or pyjpegls",
    "JPEG Lossless": "python-gdcm (a dependency of the viewer: pip install python-gdcm) or "
                     "pylibjpeg-libjpeg",
    "JPEG Extended": "pylibjpeg-libjpeg (pip install pylibjpeg-libjpeg; GPL-3.0, decodes the "
                     "12-bit variant GDCM and Pillow do not)",
    "JPEG Baseline": "Pillow or pylibjpeg-libjpeg",
    "JPEG 2000": "pylibjpeg-openjpeg (pip install pylibjpeg-openjpeg) or GDCM",
    "High-Throughput JPEG 2000": "pylibjpeg-openjpeg ≥ 2.1 (pip install pylibjpeg-openjpeg)",
    "RLE": "pylibjpeg-rle (pip install pylibjpeg-rle)",
    "Deflate": "zlib (standard library)",
}


def _read_dataset(path: Path) -> Dataset:
    """dcmread with force=False; a file without preamble/meta is retried with force=True and kept
    only if it then has pixel data. Large values (the pixel data of multi-frame files) are deferred:
    only the frame asked for is read later.

    Content that cannot start a DICOM data set (:func:`plausible_dicom_start`: a zero-filled file,
    text) is refused before pydicom parses it, and a parse that meets an element flood (zeros
    after a valid header) stops early (:class:`HeaderFloodError`): seconds, not minutes, for a
    large damaged file."""
    try:
        with open_header(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(140)
    except OSError as exc:
        raise NotAnImageError(f"cannot be read as an image ({exc.strerror or exc})",
                              path) from exc
    has_magic = head[128:132] == b"DICM"
    first = head[132:140] if has_magic else head[:8]
    if not plausible_dicom_start(first, size):
        zero = not first.strip(b"\0")
        if has_magic:
            raise CorruptFileError("the DICOM file is corrupt: no data element follows the DICM "
                                   "prefix" + (" (zero bytes)" if zero else ""), path)
        raise NotAnImageError("not a DICOM, PNG, JPEG, TIFF or BMP file" +
                              (" (it starts with zero bytes: empty or zero-filled)" if zero
                               else ""), path)
    try:
        return _dcmread(path, force=False)
    except InvalidDicomError:
        pass
    try:
        ds = _dcmread(path, force=True)
        has_pixels = any(kw in ds for kw in PIXEL_KEYWORDS)
        looks_dicom = has_pixels or any(kw in ds for kw in ("SOPClassUID", "Modality",
                                                              "StudyInstanceUID"))
    except ImageIOError:
        raise
    except Exception:  # noqa: BLE001 — any parse failure of a non-DICOM file
        has_pixels = looks_dicom = False
    if not has_pixels:
        if looks_dicom:
            raise NoPixelDataError("DICOM data set without a preamble or file meta and without "
                                   "pixel data: nothing to display", path)
        raise NotAnImageError("not a DICOM, PNG, JPEG, TIFF or BMP file", path)
    return ds


def _dcmread(path: Path, *, force: bool) -> Dataset:
    """pydicom.dcmread through a counted reader (:func:`open_header`)."""
    with open_header(path) as fh:
        try:
            return pydicom.dcmread(fh, force=force, defer_size=_DEFER_SIZE)
        except HeaderFloodError as exc:
            raise CorruptFileError(f"the DICOM header is damaged: {exc}", path) from None


def _ensure_transfer_syntax(ds: Dataset, path: Path) -> tuple[UID, bool]:
    """The transfer syntax, and whether the file states it (False: guessed from the encoding)."""
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return UID(str(ts)), True
    implicit, little = ds.original_encoding if hasattr(ds, "original_encoding") else (None, None)
    elem = ds.get("PixelData") if "PixelData" in ds else None
    if elem is not None and getattr(ds["PixelData"], "is_undefined_length", False):
        raise UnsupportedTransferSyntaxError(
            "compressed (encapsulated) pixel data but no Transfer Syntax UID in the file meta: "
            "the compression cannot be determined", path)
    if implicit is None:
        implicit, little = True, True
    ts = ImplicitVRLittleEndian if implicit else (
        ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    if meta is None:
        ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    return UID(ts), False


def _decoder_hint(ts: UID) -> str:
    name = ts.name
    for key in sorted(_DECODER_HINTS, key=len, reverse=True):
        if key in name:
            return _DECODER_HINTS[key]
    return "a pydicom pixel-data plugin (pylibjpeg-*, GDCM)"


def _check_decodable(ts: UID, path: Path) -> None:
    if not ts.is_compressed:
        return
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise UnsupportedTransferSyntaxError(
            f"pixel data are compressed with transfer syntax '{ts.name}' ({ts}), which pydicom "
            "cannot decode", path) from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "no plugin"
        raise UnsupportedTransferSyntaxError(
            f"pixel data are compressed with transfer syntax '{ts.name}' ({ts}) and no installed "
            f"decoder handles it; install {_decoder_hint(ts)} (pydicom plugins: {missing})", path)


def _int_attr(ds: Dataset, keyword: str, path: Path, default: int | None = None) -> int:
    value = ds.get(keyword, default)
    try:
        result = int(value) if value is not None and value != "" else default
    except (TypeError, ValueError):
        raise CorruptFileError(f"invalid {keyword} value {value!r}", path) from None
    if result is None:
        raise CorruptFileError(f"the image attribute {keyword} is missing", path)
    return result


def _decode(ds: Dataset, index: int | None, ts: UID, path: Path, from_file: bool,
            notes: list[str] | None = None) -> np.ndarray:
    """Decode one frame (``index``) or the only frame. For multi-frame files pydicom reads just
    that frame from the file, so a long cine or volume never sits in memory whole. What a
    decoder library prints to stderr (openjpeg, GDCM) is appended to ``notes``, and named in the
    error when decoding fails, instead of reaching the terminal."""
    said: list[str] = []
    try:
        try:
            with captured_stderr(said):
                if from_file and index is not None:
                    return pixel_array(str(path), index=index)
                return pixel_array(ds, index=index)
        finally:
            if notes is not None:
                notes.extend(f"{LIBRARY_NOTE_PREFIXES[0]}{line}" for line in said[:5])
    except MemoryError:
        raise ImageTooLargeError("not enough memory to decode the pixel data", path) from None
    except (ValueError, RuntimeError, NotImplementedError, KeyError, AttributeError,
            TypeError, IndexError, EOFError, OSError) as exc:
        msg = str(exc)
        low = msg.lower()
        if "less than expected" in low or "truncat" in low or "end of" in low:
            raise TruncatedFileError(f"the pixel data are shorter than the header announces "
                                     f"({msg.splitlines()[0]})", path) from exc
        if "missing dependencies" in low or isinstance(exc, NotImplementedError):
            raise UnsupportedTransferSyntaxError(
                f"pixel data in '{ts.name}' ({ts}) cannot be decoded here; install "
                f"{_decoder_hint(ts)}", path) from exc
        lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
        detail = "; ".join(lines[1:] if len(lines) > 1 else lines)[:400] or type(exc).__name__
        if said:
            detail += f"; the decoder reported: {'; '.join(said[:3])[:300]}"
        if "does not support" in low or "not supported" in low:
            raise UnsupportedTransferSyntaxError(
                f"pixel data in '{ts.name}' ({ts}) use a variant the installed decoders do not "
                f"support ({detail}); install {_decoder_hint(ts)}", path) from exc
        raise CorruptFileError(f"the pixel data could not be decoded ({detail})", path) from exc
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 — a Rust decoder's panic (pyo3 PanicException)
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise CorruptFileError(f"the pixel data could not be decoded (the decoder failed: "
                               f"{detail})", path) from None


def _check_frames_held(ds: Dataset, pixel_kw: str, ts: UID, layout: tuple[int, int, int, int],
                       n_frames: int, path: Path) -> None:
    """Refuse pixel data that cannot hold the frames the header announces, before any frame is
    decoded (a NumberOfFrames of 100,000 over two frames' bytes would otherwise be a decode error
    per phantom frame). Native data: the element's length, and what of it the file holds, against
    rows × columns × samples × bits × frames. Encapsulated data (multi-frame only): the number of
    fragments, each frame needing at least one, and a non-empty Basic Offset Table's entries."""
    rows, cols, samples, bits_alloc = layout
    elem = ds.get_item(pixel_kw, keep_deferred=True)
    if elem is None:
        return
    value = elem.value
    length = len(value) if isinstance(value, (bytes, bytearray)) else getattr(elem, "length", None)
    tell = getattr(elem, "value_tell", None)
    in_file = value is None and tell is not None and ts != DeflatedExplicitVRLittleEndian
    if not ts.is_encapsulated:
        if length is None or length == 0xFFFFFFFF:
            return
        available = length
        if in_file:
            try:
                available = min(length, max(0, os.stat(path).st_size - int(tell)))
            except OSError:
                pass
        photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
        frame_bits = rows * cols * samples * bits_alloc
        if samples == 3 and photometric == "YBR_FULL_422":
            frame_bits = rows * cols * 2 * bits_alloc
        expected = -(-frame_bits * n_frames // 8)
        if available >= expected:
            return
        frame_bytes = -(-frame_bits // 8)
        if n_frames > 1:
            held = available * 8 // frame_bits
            raise TruncatedFileError(
                f"NumberOfFrames is {n_frames:,} but the pixel data hold {available:,} bytes: "
                f"{held:,} whole frame(s) of {frame_bytes:,} bytes, where {n_frames:,} frames "
                f"need {expected:,} bytes", path)
        raise TruncatedFileError(
            f"the pixel data are shorter than the header announces: {available:,} bytes where a "
            f"{cols}×{rows} frame of {samples} × {bits_alloc}-bit samples needs {expected:,}",
            path)
    if n_frames < 2:
        return
    counted = _fragments(value, path if in_file else None, tell)
    if counted is None:
        return  # not parseable here: the decoder says what is wrong
    n_fragments, n_offsets = counted
    if n_fragments < n_frames:
        raise TruncatedFileError(
            f"NumberOfFrames is {n_frames:,} but the encapsulated pixel data hold "
            f"{n_fragments:,} fragment(s); every frame needs at least one", path)
    if n_offsets and n_offsets != n_frames:
        raise CorruptFileError(
            f"NumberOfFrames is {n_frames:,} but the Basic Offset Table of the pixel data lists "
            f"{n_offsets:,} frame(s)", path)


def _fragments(value: Any, path: Path | None, tell: int | None) -> tuple[int, int] | None:
    """(fragments, Basic Offset Table entries) of encapsulated pixel data, from memory or from
    the file at ``tell`` (item headers only are read); None when not parseable."""
    from io import BytesIO

    from pydicom.encaps import parse_basic_offsets, parse_fragments

    try:
        if isinstance(value, (bytes, bytearray)):
            return _count_items(BytesIO(value), parse_basic_offsets, parse_fragments)
        if path is None or tell is None:
            return None
        st = os.stat(path)
        return _fragments_in_file(str(path), st.st_mtime_ns, st.st_size, int(tell))
    except (ValueError, OSError, struct_error, EOFError):
        return None


@functools.lru_cache(maxsize=64)
def _fragments_in_file(path: str, mtime_ns: int, size: int, tell: int) -> tuple[int, int]:
    """Cached per file version: stepping through a long cine re-reads its header each frame."""
    from pydicom.encaps import parse_basic_offsets, parse_fragments

    with open_header(path) as fh:
        fh.seek(tell)
        return _count_items(fh, parse_basic_offsets, parse_fragments)


def _count_items(buf: Any, parse_basic_offsets: Any, parse_fragments: Any) -> tuple[int, int]:
    offsets = parse_basic_offsets(buf)
    n_fragments, _ = parse_fragments(buf)
    return n_fragments, len(offsets)
