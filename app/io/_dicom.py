"""DICOM reading with pydicom: one frame → :class:`ImageData` in modality units."""
from __future__ import annotations

import functools
import math
import os
from struct import error as struct_error
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder, pixel_array
from pydicom.uid import (UID, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian,
                         ExplicitVRLittleEndian, ImplicitVRLittleEndian)

from ._guard import (LIBRARY_NOTE_PREFIXES, HeaderFloodError, captured_stderr, open_header,
                     plausible_dicom_start)
from .errors import (CorruptFileError, FrameOutOfRangeError, ImageIOError, ImageTooLargeError,
                     InvalidPixelsError, NoPixelDataError, NotAnImageError, TruncatedFileError,
                     UnsupportedImageError, UnsupportedTransferSyntaxError)
from .image_data import ImageData, measured_values, non_finite_reason
from .limits import MAX_PIXELS, MAX_TOTAL_PIXELS
from .windowing import VOI_FUNCTIONS, VoiLut, auto_window, full_range_window

__all__ = ["read_dicom", "frame_dataset", "PIXEL_KEYWORDS", "LOSSY_TRANSFER_SYNTAXES"]

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

#: Transfer syntaxes that are always lossy (JPEG 2000 "1.2.840.10008.1.2.4.91" may be either, so it
#: counts as lossy only when LossyImageCompression says "01").
LOSSY_TRANSFER_SYNTAXES = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1",   # JPEG Baseline
    "1.2.840.10008.1.2.4.51": "ISO_10918_1",   # JPEG Extended
    "1.2.840.10008.1.2.4.81": "ISO_14495_1",   # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.100": "ISO_13818_2",  # MPEG2
    "1.2.840.10008.1.2.4.102": "ISO_14496_10",  # MPEG-4 AVC
}

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

# functional-group macro → attributes flattened to the top level for one frame (enhanced objects)
_FUNCTIONAL_GROUPS = {
    "PixelValueTransformationSequence": ("RescaleSlope", "RescaleIntercept", "RescaleType"),
    "FrameVOILUTSequence": ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation",
                            "VOILUTFunction", "VOILUTSequence"),  # the latter: "With LUT" macro
    "PixelMeasuresSequence": ("PixelSpacing", "SliceThickness", "SpacingBetweenSlices"),
    "PlanePositionSequence": ("ImagePositionPatient",),
    "PlaneOrientationSequence": ("ImageOrientationPatient",),
}
_FLAT_KEYWORDS = ("RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence",
                  "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTFunction",
                  "VOILUTSequence",
                  "PixelSpacing", "ImagerPixelSpacing", "ImagePositionPatient",
                  "ImageOrientationPatient", "SliceThickness", "SpacingBetweenSlices")


def _num(value: Any) -> float | None:
    """A finite float from a DICOM number, else None (invalid strings, empty values)."""
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _nums(value: Any, n: int) -> tuple[float, ...] | None:
    """``n`` finite floats from a multi-valued element, else None."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        vals = [_num(v) for v in value]
    except TypeError:
        return None
    if len(vals) != n or any(v is None for v in vals):
        return None
    return tuple(v for v in vals if v is not None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def frame_dataset(ds: Dataset, frame: int) -> Dataset:
    """Attributes that describe one frame, flattened to the top level.

    For enhanced multi-frame objects the rescale, VOI window, pixel spacing, position and
    orientation live in the Shared / Per-frame Functional Groups; this returns a small dataset with
    those of ``frame`` (per-frame values override shared ones, which override top-level ones).
    """
    fds = Dataset()
    for kw in _FLAT_KEYWORDS:
        if kw in ds:
            fds[kw] = ds[kw]
    groups: list[Dataset] = []
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        groups.append(shared[0])
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and 0 <= frame < len(per_frame):
        groups.append(per_frame[frame])
    for group in groups:
        for seq_kw, attrs in _FUNCTIONAL_GROUPS.items():
            seq = group.get(seq_kw)
            if not seq:
                continue
            for kw in attrs:
                if kw in seq[0]:
                    fds[kw] = seq[0][kw]
    if hasattr(ds, "file_meta"):
        fds.file_meta = ds.file_meta
    return fds


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


def _windows(fds: Dataset) -> list[tuple[float, float, str]]:
    centers = _as_list(fds.get("WindowCenter"))
    widths = _as_list(fds.get("WindowWidth"))
    explanations = _as_list(fds.get("WindowCenterWidthExplanation"))
    out: list[tuple[float, float, str]] = []
    for i, (c, w) in enumerate(zip(centers, widths)):
        cf, wf = _num(c), _num(w)
        if cf is None or wf is None or wf <= 0:
            continue
        expl = str(explanations[i]) if i < len(explanations) and explanations[i] else ""
        if any(abs(cf - oc) < 1e-9 and abs(wf - ow) < 1e-9 for oc, ow, _ in out):
            continue  # e.g. WindowCenter "-600\-600"
        out.append((cf, wf, expl))
    return out


def _voi_function(fds: Dataset, warnings: list[str]) -> str:
    """The frame's VOI LUT Function (PS3.3 C.11.2.1.3); "LINEAR" when absent or unknown."""
    raw = fds.get("VOILUTFunction")
    if raw is None or str(raw).strip() == "":
        return "LINEAR"
    fn = str(raw).strip().upper()
    if fn not in VOI_FUNCTIONS:
        warnings.append(f"VOILUTFunction {str(raw)!r} is not a defined term: LINEAR used")
        return "LINEAR"
    return fn


def _voi_lut(fds: Dataset, signed_input: bool, little_endian: bool,
             warnings: list[str]) -> VoiLut | None:
    """The first VOI LUT of the frame's VOI LUT Sequence (PS3.3 C.11.2.1.1; in an enhanced object
    the Frame VOI LUT With LUT macro, C.7.6.16.2.10b, flattened by :func:`frame_dataset`), or None
    (absent, or not usable: then a warning says so and the windows, or an automatic one, are used).

    The LUT Descriptor's first-mapped value is read as signed when the LUT's input (the Modality
    LUT's output) can be negative (C.11.2.1.1.1); entries of 10–16 bits are normalised by
    2^bits − 1, except that a 16-bit table whose largest entry is below 2^12 (a common mislabel of
    12-bit data) is normalised by 2^12 − 1."""
    seq = fds.get("VOILUTSequence")
    if not seq:
        return None
    item = seq[0]
    desc = _nums(item.get("LUTDescriptor"), 3)
    if desc is None or "LUTData" not in item:
        warnings.append("VOILUTSequence has no usable LUT Descriptor/LUT Data: not applied")
        return None
    entries, first, bits = int(desc[0]) or 65536, float(desc[1]), int(desc[2])
    if signed_input and first >= 2 ** 15:
        first -= 2 ** 16
    raw = item["LUTData"].value
    try:
        if isinstance(raw, (bytes, bytearray)):
            table = np.frombuffer(bytes(raw), dtype="<u2" if little_endian else ">u2")
        else:
            table = np.asarray(_as_list(raw), dtype=np.float64)
    except (TypeError, ValueError):
        table = np.zeros(0)
    if not 8 <= bits <= 16 or len(table) < entries or entries < 2:
        warnings.append(f"VOILUTSequence (descriptor {entries}\\{desc[1]:g}\\{bits}, "
                        f"{len(table)} entries) is inconsistent: not applied")
        return None
    table = np.asarray(table[:entries], dtype=np.float64)
    top = 2.0 ** bits - 1
    if bits == 16 and table.max() < 2 ** 12:
        top = 2.0 ** 12 - 1
    return VoiLut(first, table / top, str(item.get("LUTExplanation", "") or ""))


def _stored_limits(bits_stored: int, signed: bool) -> tuple[float, float]:
    if signed:
        return -(2.0 ** (bits_stored - 1)), 2.0 ** (bits_stored - 1) - 1
    return 0.0, 2.0 ** bits_stored - 1


def read_dicom(path: Path, frame: int, *, sniffed: bool) -> ImageData:
    """Read frame ``frame`` of a DICOM file.

    Args:
        path: the file.
        frame: 0-based frame index.
        sniffed: the file had the "DICM" prefix (False: a last-resort attempt on unknown content).

    Raises:
        ImageIOError subclasses only.
    """
    try:
        return _read_dicom(path, frame, sniffed)
    except ImageIOError:
        raise
    except MemoryError:
        raise ImageTooLargeError("not enough memory to read the file", path) from None
    except RecursionError:
        raise CorruptFileError("the DICOM data set is malformed (nested too deeply)",
                               path) from None
    except EOFError as exc:
        raise TruncatedFileError(f"the file ends early ({exc})", path) from exc
    except Exception as exc:  # noqa: BLE001 — pydicom can raise nearly anything on corrupt input
        first = (str(exc).splitlines() or [""])[0][:200]
        if not sniffed:
            raise NotAnImageError("not a DICOM, PNG, JPEG, TIFF or BMP file", path) from exc
        raise CorruptFileError(f"the DICOM file is corrupt ({type(exc).__name__}: {first})",
                               path) from exc


def _read_dicom(path: Path, frame: int, sniffed: bool) -> ImageData:
    ds = _read_dataset(path)
    pixel_kw = next((kw for kw in PIXEL_KEYWORDS if kw in ds), None)
    if pixel_kw is None:
        sop = ds.get("SOPClassUID")
        what = f"a DICOM '{UID(str(sop)).name}' object" if sop else "a DICOM object"
        raise NoPixelDataError(f"{what} without image pixel data: nothing to display", path)
    ts, ts_in_file = _ensure_transfer_syntax(ds, path)
    if not ts.is_transfer_syntax and ts.is_valid:
        raise UnsupportedTransferSyntaxError(f"unknown transfer syntax {ts}", path)

    rows = _int_attr(ds, "Rows", path)
    cols = _int_attr(ds, "Columns", path)
    samples = _int_attr(ds, "SamplesPerPixel", path, 1)
    n_frames = _int_attr(ds, "NumberOfFrames", path, 1)
    bits_alloc = _int_attr(ds, "BitsAllocated", path, 16 if pixel_kw == "PixelData" else 32)
    bits_stored = _int_attr(ds, "BitsStored", path, bits_alloc)
    signed = _int_attr(ds, "PixelRepresentation", path, 0) == 1
    if rows < 1 or cols < 1:
        raise CorruptFileError(f"invalid image size Rows={rows} Columns={cols}", path)
    if rows * cols * max(n_frames, 1) > MAX_TOTAL_PIXELS:
        raise ImageTooLargeError(f"the header announces {n_frames} frames of {cols}×{rows} "
                                 f"pixels; the limit is {MAX_TOTAL_PIXELS / 1e9:.0f} Gpixel per "
                                 "file", path)
    if rows * cols > MAX_PIXELS:
        raise ImageTooLargeError(f"the header announces {cols}×{rows} pixels "
                                 f"({rows * cols / 1e6:.0f} Mpixel); the limit is "
                                 f"{MAX_PIXELS / 1e6:.0f} Mpixel per frame", path)
    if samples not in (1, 3):
        raise UnsupportedImageError(f"{samples} samples per pixel are not supported "
                                    "(only grey and RGB)", path)
    if n_frames < 1:
        n_frames = 1
    if not 0 <= frame < n_frames:
        raise FrameOutOfRangeError(f"frame {frame} does not exist: the file has {n_frames} "
                                   f"frame{'s' if n_frames > 1 else ''} (0–{n_frames - 1})", path)
    if not 1 <= bits_stored <= bits_alloc <= 64:
        raise CorruptFileError(f"inconsistent BitsStored {bits_stored} / BitsAllocated "
                               f"{bits_alloc}", path)
    _check_decodable(ts, path)
    _check_frames_held(ds, pixel_kw, ts, (rows, cols, samples, bits_alloc), n_frames, path)

    decoder_notes: list[str] = []
    arr = _decode(ds, frame if n_frames > 1 else None, ts, path, sniffed and ts_in_file,
                  decoder_notes)
    if n_frames > 1 and arr.ndim in (3, 4) and arr.shape[0] == n_frames and arr.shape[1] == rows:
        arr = arr[frame]  # a plugin that ignored ``index``
    source_photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    fds = frame_dataset(ds, frame)
    warnings: list[str] = list(decoder_notes)

    rescale: tuple[float, float] | None = (1.0, 0.0)
    value_unit = ""
    modality = str(ds.get("Modality", "") or "OT").strip().upper() or "OT"
    padding = (_padding_mask(ds, arr, pixel_kw, warnings)  # on stored values, before any LUT
               if source_photometric.startswith("MONOCHROME") else None)
    if source_photometric == "PALETTE COLOR" and arr.ndim == 2:
        try:
            arr = apply_color_lut(arr, ds)
        except Exception as exc:  # noqa: BLE001
            raise CorruptFileError(f"the palette colour lookup table is unusable ({exc})",
                                   path) from exc
        bits_out: int | None = 16 if arr.dtype.itemsize > 1 else 8
        stored_range = (0.0, 2.0 ** bits_out - 1)
    elif arr.ndim == 3:
        stored_range = _stored_limits(bits_stored, False) if pixel_kw == "PixelData" else (
            float(np.nanmin(arr)), float(np.nanmax(arr)))
        bits_out = bits_stored if pixel_kw == "PixelData" else None
    else:
        bits_out = bits_stored if pixel_kw == "PixelData" else None
        if pixel_kw == "PixelData":
            lo, hi = _stored_limits(bits_stored, signed)
        else:
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if fds.get("ModalityLUTSequence"):
            arr = apply_modality_lut(arr, fds)
            lut = np.asarray(apply_modality_lut(np.array([int(lo), int(hi)]), fds))
            lo, hi = float(np.min(arr)), float(np.max(arr))
            lo, hi = min(lo, float(lut.min())), max(hi, float(lut.max()))
            rescale = None
            warnings.append("a Modality LUT Sequence was applied (not invertible: derived DICOM "
                            "export is not possible)")
            value_unit = str(fds["ModalityLUTSequence"][0].get("ModalityLUTType", "") or "")
        elif "RescaleSlope" in fds or "RescaleIntercept" in fds:
            slope = _num(fds.get("RescaleSlope", 1))
            intercept = _num(fds.get("RescaleIntercept", 0))
            if slope is None or slope == 0 or intercept is None:
                warnings.append(f"invalid Rescale Slope/Intercept "
                                f"{fds.get('RescaleSlope')!r}/{fds.get('RescaleIntercept')!r} "
                                "ignored")
                slope, intercept = 1.0, 0.0
            flat = Dataset()
            flat.RescaleSlope, flat.RescaleIntercept = slope, intercept
            arr = apply_modality_lut(arr, flat)
            rescale = (slope, intercept)
            lo, hi = sorted((lo * slope + intercept, hi * slope + intercept))
            rtype = str(fds.get("RescaleType", "") or "").strip()
            if modality == "CT" and rtype in ("", "HU"):
                value_unit = "HU"
            elif rtype and rtype != "US":
                value_unit = rtype
        if modality == "RTDOSE" and _num(ds.get("DoseGridScaling")):
            scaling = float(_num(ds.get("DoseGridScaling")))  # type: ignore[arg-type]
            arr = arr.astype(np.float64) * scaling
            slope, intercept = rescale if rescale else (1.0, 0.0)
            rescale = (slope * scaling, intercept * scaling) if rescale else None
            lo, hi = sorted((lo * scaling, hi * scaling))
            value_unit = str(ds.get("DoseUnits", "") or "GY")
        stored_range = (float(lo), float(hi))

    pixels = np.asarray(arr, dtype=np.float32)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or pixels.shape[:2] != (rows, cols):
        raise UnsupportedImageError(f"decoded pixel array has shape {pixels.shape}, expected "
                                    f"({rows}, {cols}[, 3])", path)
    if not np.all(np.isfinite(pixels)):
        raise InvalidPixelsError(non_finite_reason(arr), path)

    colour = pixels.ndim == 3
    photometric = "RGB" if colour else (
        "MONOCHROME1" if source_photometric == "MONOCHROME1" else "MONOCHROME2")
    windows = [] if colour else _windows(fds)
    voi_function = "LINEAR" if colour or not windows else _voi_function(fds, warnings)
    voi_lut = None if colour else _voi_lut(fds, stored_range[0] < 0,
                                           ds.original_encoding[1] is not False, warnings)
    if voi_lut is not None:  # offered after the file's windows; shown when it is the only one
        windows.append((*voi_lut.window, "VOI LUT" + (f" {voi_lut.explanation}"
                                                      if voi_lut.explanation else "")))
    if windows:
        window = windows[0][:2]
    elif colour:
        window = full_range_window(*stored_range)
    else:
        measured = measured_values(pixels, padding)
        window = auto_window(measured) if measured.size else auto_window(pixels)

    spacing, spacing_source = None, ""
    for kw in ("PixelSpacing", "ImagerPixelSpacing"):
        vals = _nums(fds.get(kw), 2)
        if vals is not None and vals[0] > 0 and vals[1] > 0:
            spacing, spacing_source = (vals[0], vals[1]), kw
            break
        if kw in fds and vals is not None:
            warnings.append(f"{kw} {list(vals)} is not usable (zero or negative): no physical "
                            "size")
        elif kw in fds and not fds[kw].is_empty:
            raw = fds[kw].value
            shown = "\\".join(str(v) for v in raw) if isinstance(raw, (list, tuple)) or (
                hasattr(raw, "__iter__") and not isinstance(raw, (str, bytes))) else str(raw)
            warnings.append(f"{kw} {shown!r} is not two finite numbers (row\\column spacing, "
                            "PS3.3 10.7.1.3): no physical size from it")
    position = _nums(fds.get("ImagePositionPatient"), 3)
    orientation = _nums(fds.get("ImageOrientationPatient"), 6)
    if orientation is not None:
        r, c = np.array(orientation[:3]), np.array(orientation[3:])
        if not (abs(np.linalg.norm(r) - 1) < 0.01 and abs(np.linalg.norm(c) - 1) < 0.01):
            warnings.append("ImageOrientationPatient is not made of unit vectors: ignored")
            orientation = None
    offsets = _as_list(ds.get("GridFrameOffsetVector"))
    if frame and position is not None and orientation is not None and len(offsets) > frame:
        # RT Dose style multi-frame: frame k lies GridFrameOffsetVector[k] − [0] along the normal
        # (PS3.3 C.8.8.3.2; relative offsets start at 0, absolute ones at the first plane's z)
        k, k0 = _num(offsets[frame]), _num(offsets[0])
        if k is not None and k0 is not None:
            normal = np.cross(orientation[:3], orientation[3:])
            position = tuple(float(v) for v in np.asarray(position) + (k - k0) * normal)

    lossy = str(ds.get("LossyImageCompression", "") or "").strip() == "01" or \
        str(ts) in LOSSY_TRANSFER_SYNTAXES
    for kw in PIXEL_KEYWORDS:  # keep the header only: the pixels live in ``pixels``
        if kw in ds:
            del ds[kw]
    try:  # load deferred / raw values now, so the header no longer depends on the file
        for _ in ds.iterall():
            pass
    except Exception as exc:  # noqa: BLE001 — a damaged private element must not stop viewing
        warnings.append(f"part of the header could not be decoded ({type(exc).__name__})")
    return ImageData(
        pixels=pixels, source_path=path, kind="dicom", modality=modality,
        photometric=photometric, invert=_inverted(ds, photometric),
        window=(float(window[0]), float(window[1])), windows=windows,
        voi_function=voi_function, voi_lut=voi_lut, pixel_spacing=spacing,
        image_position=position,  # type: ignore[arg-type]
        image_orientation=orientation,  # type: ignore[arg-type]
        stored_range=stored_range, value_unit=value_unit, frame=frame, n_frames=n_frames,
        dataset=ds, bits_stored=bits_out, rescale=rescale if not colour else (1.0, 0.0),
        spacing_source=spacing_source, source_photometric=source_photometric,
        transfer_syntax=ts.name, lossy=lossy, warnings=warnings, padding=padding)


def _inverted(ds: Any, photometric: str) -> bool:
    """Shown inverted (minimum white): MONOCHROME1, or MONOCHROME2 with Presentation LUT Shape
    INVERSE (PS3.3 C.11.6; a MONOCHROME1 image's INVERSE is that same inversion, not a second
    one — the DX IOD pairs them)."""
    if photometric == "MONOCHROME1":
        return True
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    return photometric == "MONOCHROME2" and shape == "INVERSE"


def _padding_mask(ds: Any, stored: np.ndarray, pixel_kw: str, warnings: list[str]
                  ) -> np.ndarray | None:
    """True where a grey image's stored value is PixelPaddingValue, or between it and
    PixelPaddingRangeLimit (PS3.3 C.7.5.1.1.2): pixels outside the scanned field of view."""
    if pixel_kw != "PixelData" or stored.ndim != 2 or "PixelPaddingValue" not in ds:
        return None
    value, limit = _num(ds.get("PixelPaddingValue")), _num(ds.get("PixelPaddingRangeLimit"))
    if value is None:
        warnings.append(f"PixelPaddingValue {ds.get('PixelPaddingValue')!r} is not a number: "
                        "ignored")
        return None
    lo, hi = (value, value) if limit is None else sorted((value, limit))
    mask = (stored >= lo) & (stored <= hi)
    return mask if mask.any() else None

