"""Cheap checks before a file is handed to a parser: regular files only (a named pipe or a
device is never opened for reading), a plausible first DICOM element before pydicom is asked to
parse unknown content with ``force=True``, and a header reader that gives up on element floods
(a zero-filled or repeated-pattern region parses as millions of tiny elements)."""
from __future__ import annotations

import io
import logging
import os
import stat
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["not_regular", "open_header", "plausible_dicom_start", "HeaderFloodError",
           "MAX_HEADER_READS", "MAX_REPEATED_HEADERS", "captured_stderr", "captured_log",
           "LIBRARY_NOTE_PREFIXES"]

#: Reads one header parse may make (about two per element): a real header, an enhanced
#: multi-frame one with tens of thousands of per-frame items included, needs far fewer.
MAX_HEADER_READS = 8_000_000
#: The same 8-byte element header read this many times in a row is a flood (zero bytes, a
#: repeated pattern), not data: no real data set repeats one tag back to back.
MAX_REPEATED_HEADERS = 4096

# two-letter VRs of PS3.5 6.2
_VRS = frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM "
                 b"UC UI UL UN UR US UT UV".split())


class HeaderFloodError(Exception):
    """The header parse met an element flood or ran past :data:`MAX_HEADER_READS`."""


def not_regular(mode: int) -> str | None:
    """What a file of ``st_mode`` is when it is not a regular file ("a named pipe", ...), else
    None."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


class _HeaderReader(io.BufferedReader):
    """A binary file whose reads are counted: :class:`HeaderFloodError` after
    :data:`MAX_HEADER_READS` reads or :data:`MAX_REPEATED_HEADERS` equal element headers (8-byte
    reads) in a row. pydicom sees an ordinary ``open(path, "rb")`` (deferred values re-open the
    file by name)."""

    def __init__(self, raw: io.RawIOBase) -> None:
        super().__init__(raw)
        self._reads = 0
        self._last = b""
        self._repeats = 0

    def read(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        data = super().read(size)
        self._reads += 1
        if self._reads > MAX_HEADER_READS:
            raise HeaderFloodError(f"the header has more than {MAX_HEADER_READS // 2:,} elements")
        if len(data) == 8:
            if data == self._last:
                self._repeats += 1
                if self._repeats >= MAX_REPEATED_HEADERS:
                    what = "zero bytes" if not data.strip(b"\0") else f"the bytes {data.hex(' ')}"
                    raise HeaderFloodError(f"{MAX_REPEATED_HEADERS:,} identical elements in a "
                                           f"row ({what} repeated: a zero-filled or damaged "
                                           "file)")
            else:
                self._last, self._repeats = data, 0
        return data


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def open_header(path: str | os.PathLike[str]) -> io.BufferedReader:
    """Open ``path`` for a header parse: never blocks on a named pipe (opened non-blocking, then
    checked to be a regular file), reads counted (:class:`_HeaderReader`).

    Raises:
        OSError: cannot open; ``IsADirectoryError``/``OSError`` with a readable ``strerror``
            ("is a named pipe, not a regular file") for anything but a regular file.
    """
    raw = io.FileIO(os.fspath(path), "rb", opener=_open_nonblocking)
    try:
        kind = not_regular(os.fstat(raw.fileno()).st_mode)
        if kind is not None:
            raise OSError(0, f"is {kind}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(raw.fileno(), True)
        return _HeaderReader(raw)
    except BaseException:
        raw.close()
        raise


def plausible_dicom_start(buf: bytes, size: int) -> bool:
    """Whether ``buf`` (at least 8 bytes) can be the first data element of a DICOM data set or
    file meta group in a file of ``size`` bytes: an even group (private groups are odd, and
    groups 0001-0007 do not exist), little or big endian, with an explicit VR or an implicit
    length that fits the file. Tag (0000,0000) must be a 4-byte group length: so a zero-filled
    file, which pydicom would parse as one 8-byte element after another for minutes, is refused
    at once."""
    if len(buf) < 8:
        return False
    for endian in "<>":
        group, element = struct.unpack(endian + "HH", buf[:4])
        if group % 2 or group in (0x0001, 0x0003, 0x0005, 0x0007) or group > 0x7FE0:
            continue
        if buf[4:6] in _VRS:  # explicit VR
            if (group, element) == (0, 0) and buf[4:6] != b"UL":
                continue
            return True
        length = struct.unpack(endian + "I", buf[4:8])[0]
        if (group, element) == (0, 0):
            if length == 4:
                return True
            continue
        if group == 0 and length == 0:  # (0000,xxxx) elements always have a value
            continue
        if length == 0xFFFFFFFF or length <= size:
            return True
    return False


def sniff_file(path: Path, at: int) -> tuple[bytes, int]:
    """(the 8 bytes at offset ``at``, the file size) of a regular file."""
    with open_header(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(at)
        return fh.raw.read(8) or b"", size  # type: ignore[union-attr]


#: How captured library messages start in ``ImageData.warnings`` (rmisr-sr prints these as notes).
LIBRARY_NOTE_PREFIXES = ("the decoder reported: ", "tifffile reported: ")

_stderr_lock = threading.Lock()


@contextmanager
def captured_stderr(sink: list[str]) -> Iterator[None]:
    """Lines that C libraries (openjpeg, GDCM) print to file descriptor 2 during the block are
    appended to ``sink`` instead of reaching the terminal. File descriptor 2 is process-wide, so
    captured blocks run one at a time (a lock); output of other threads in that time is captured
    too. Without a usable descriptor 2 the block runs uncaptured."""
    with _stderr_lock:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            tmp = tempfile.TemporaryFile()
        except OSError:
            os.close(saved)
            yield
            return
        try:
            try:
                sys.stderr.flush()
            except (AttributeError, OSError, ValueError):
                pass
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                tmp.seek(0)
                text = tmp.read(1 << 16).decode("utf-8", "replace")
                for line in (ln.strip() for ln in text.splitlines()):
                    if line and line not in sink:
                        sink.append(line)
        finally:
            os.close(saved)
            tmp.close()


class _ThreadSink(logging.Filter):
    """Takes the records of one thread off a logger into a list (the record is then dropped)."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__()
        self.sink, self.thread = sink, threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread:
            return True
        text = record.getMessage().strip()
        if text and text not in self.sink:
            self.sink.append(text)
        return False


@contextmanager
def captured_log(name: str, sink: list[str]) -> Iterator[None]:
    """Records of logger ``name`` (e.g. "tifffile") emitted by this thread during the block are
    appended to ``sink`` instead of being printed (Python's last-resort handler writes warnings
    of unconfigured loggers to stderr)."""
    logger = logging.getLogger(name)
    sink_filter = _ThreadSink(sink)
    logger.addFilter(sink_filter)
    try:
        yield
    finally:
        logger.removeFilter(sink_filter)
