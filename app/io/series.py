"""The slices a viewer steps through from one opened file (Qt-free).

A radiologist opens one slice and scrolls its series. A series is stored either as one
multi-frame file or as one file per slice in a folder; :func:`stack_of` returns the (file, frame)
items of either, in slice order, reading only headers.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._guard import not_regular, open_header, plausible_dicom_start
from .errors import ScanBudgetError

__all__ = ["MAX_SERIES_FILES", "MAX_SCAN_FILE_BYTES", "SCAN_SECONDS", "FolderSeries",
           "folder_series", "folder_series_list", "image_files", "raster_files",
           "series_files", "stack_of"]

#: Folders with more files than this are not scanned for a series (the file opens alone).
MAX_SERIES_FILES = 5000
#: Files larger than this are skipped by folder scans (said in ``skipped``): above any image this
#: viewer reads (8 Gpixel of 64-bit values), so not one of its inputs.
MAX_SCAN_FILE_BYTES = 64 * 2**30
#: Time budget of one folder scan (File ▸ Open folder, a folder given to rmisr-sr), in seconds:
#: a CD of 20,000 images takes well under a minute; a share that answers slower than this is
#: refused with a message (ScanBudgetError) rather than left running without end.
SCAN_SECONDS = 600.0
_TAGS = ["SeriesInstanceUID", "SOPInstanceUID", "ImagePositionPatient", "ImageOrientationPatient",
         "InstanceNumber", "NumberOfFrames", "Modality", "SeriesDescription", "SeriesNumber"]
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _header(path: Path, pixels: bool = False):
    """The series tags of a DICOM file (and, with ``pixels``, whether it has pixel data: the
    reading stops at the pixel element, whose tag is then present), or None. A file without
    preamble or file meta is read as :func:`app.io.read_image` reads it (forced), and kept only if
    it then has pixel data (``pixels``) or a SeriesInstanceUID."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    if pixels:  # the pixel element's tag, its value deferred (not read)
        kwargs = {"defer_size": 16, "specific_tags": _TAGS + list(_PIXEL_KEYWORDS)}
    else:
        kwargs = {"stop_before_pixels": True, "specific_tags": _TAGS}
    try:
        with open_header(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(140)
            magic = head[128:132] == b"DICM"
            if not plausible_dicom_start(head[132:140] if magic else head[:8], size):
                return None  # zero-filled, text, ...: never parsed
            fh.seek(0)
            try:
                return pydicom.dcmread(fh, **kwargs)
            except InvalidDicomError:
                pass
            fh.seek(0)
            ds = pydicom.dcmread(fh, force=True, **kwargs)
    except Exception:  # noqa: BLE001 — unreadable, not DICOM, or a flood: not part of a series
        return None
    wanted = _PIXEL_KEYWORDS if pixels else ("SeriesInstanceUID",)
    return ds if any(kw in ds for kw in wanted) else None


def _floats(value, n: int) -> np.ndarray | None:
    try:
        arr = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == (n,) and np.all(np.isfinite(arr)) else None


def series_files(path: str | os.PathLike[str],
                 stop: Callable[[], bool] | None = None) -> list[Path]:
    """The files of ``path``'s DICOM series in its folder, in slice order (``path`` included).

    Order: along the slice normal (ImagePositionPatient · (row × column direction)) when every
    file has a position and they share one orientation; else InstanceNumber; else file name.
    Files of other series, non-DICOM files and unreadable ones are skipped. ``[path]`` when
    ``path`` has no SeriesInstanceUID, its folder holds more than :data:`MAX_SERIES_FILES`, or
    ``stop()`` (asked before each file: a cancelled listing) returns True.
    """
    p = Path(path)
    own = _header(p)
    uid = str(own.get("SeriesInstanceUID", "") or "") if own is not None else ""
    if not uid:
        return [p]
    try:
        siblings = [e for e in os.scandir(p.parent) if _regular(Path(e.path))]
    except OSError:
        return [p]
    if len(siblings) > MAX_SERIES_FILES:
        return [p]
    members: list[tuple[Path, object]] = []
    for entry in sorted(siblings, key=lambda e: e.name):
        if stop is not None and stop():
            return [p]
        q = Path(entry.path)
        ds = own if q.name == p.name else _header(q)
        if ds is not None and str(ds.get("SeriesInstanceUID", "") or "") == uid:
            members.append((q, ds))
    if not any(q.name == p.name for q, _ in members):
        members.append((p, own))
    return _ordered(members, keep=next(q for q, _ in members if q.name == p.name))


def _ordered(members: list[tuple[Path, object]], keep: Path | None = None) -> list[Path]:
    """Files of one series in slice order: along the slice normal when every file has a
    position and they share one orientation; else InstanceNumber; else file name.

    A few images of another orientation in the series (a localizer, a scout) do not undo the
    order of the others: where most files (more than half) share one orientation and all of
    those have positions, they are ordered along its normal and the rest follow them, by
    InstanceNumber and name. A file holding the same SOP Instance UID as one before it in name
    order (a copy) is left out — never ``keep`` (the file opened: its copies go instead)."""
    seen: set[str] = set()
    unique = []
    for q, ds in sorted(members, key=lambda m: (m[0] != keep, m[0].name)):
        sop = str(ds.get("SOPInstanceUID", "") or "")
        if sop and sop in seen:
            continue
        seen.add(sop)
        unique.append((q, ds))
    members = unique
    positions = [_floats(ds.get("ImagePositionPatient"), 3) for _, ds in members]
    orientations = [_floats(ds.get("ImageOrientationPatient"), 6) for _, ds in members]

    def number(i: int) -> float:
        try:
            return float(members[i][1].get("InstanceNumber"))
        except (TypeError, ValueError):
            return float("inf")

    by_number = sorted(range(len(members)), key=lambda i: (number(i), members[i][0].name))
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, o in enumerate(orientations):  # one pass: orientations equal to 1e-4 share a key
        if o is not None:
            groups.setdefault(tuple(np.round(o, 4) + 0.0), []).append(i)
    main = max(groups.values(), key=len, default=[])  # the largest group of one orientation
    if 2 * len(main) <= len(members) or any(positions[i] is None for i in main):
        return [members[i][0] for i in by_number]
    normal = np.cross(orientations[main[0]][:3], orientations[main[0]][3:])
    keys = {i: float(np.dot(positions[i], normal)) for i in main}
    order = sorted(main, key=lambda i: (keys[i], members[i][0].name))
    order += [i for i in by_number if i not in keys]
    return [members[i][0] for i in order]


@dataclass(frozen=True)
class FolderSeries:
    """One series found in a folder: its files in slice order and what a series picker shows
    (modality, description and number, "" when the files do not say; a folder of raster
    slices has an empty ``uid``)."""

    uid: str
    files: tuple[Path, ...]
    modality: str = ""
    description: str = ""
    number: str = ""


def folder_series_list(folder: str | os.PathLike[str],
                       stop: Callable[[], bool] | None = None, *,
                       skipped: list[str] | None = None,
                       seconds: float | None = SCAN_SECONDS) -> list[FolderSeries]:
    """Every DICOM image series under ``folder`` (subfolders included), the largest first
    (equal sizes in the order found), each in slice order; read as :func:`folder_series`
    reads (headers of regular files only). ``[]`` when there is none or ``stop()`` returned
    True.

    Raises:
        ScanBudgetError: the scan ran past ``seconds`` (None: no limit).
    """
    budget = _Budget(Path(folder), seconds, skipped)
    found: dict[str, list[tuple[Path, object]]] = {}
    files = _files_under(Path(folder), budget)
    for k, q in enumerate(files):
        if stop is not None and stop():
            return []
        budget.check(k, len(files))
        ds = _image_header(q)
        uid = str(ds.get("SeriesInstanceUID", "") or "") if ds is not None else ""
        if uid:
            found.setdefault(uid, []).append((q, ds))

    def text(ds: object, keyword: str) -> str:
        return str(getattr(ds, "get", lambda *_: "")(keyword, "") or "").strip()

    out = [FolderSeries(uid, tuple(_ordered(members)), text(members[0][1], "Modality"),
                        text(members[0][1], "SeriesDescription"),
                        text(members[0][1], "SeriesNumber"))
           for uid, members in found.items()]
    return sorted(out, key=lambda fs: -len(fs.files))  # stable: ties keep the order found


def _natural(path: Path) -> list:
    """Sort key: digits as numbers (slice_2 before slice_10)."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def raster_files(folder: str | os.PathLike[str], *,
                 seconds: float | None = SCAN_SECONDS) -> list[Path]:
    """The raster images (PNG, JPEG, TIFF, BMP by extension) under ``folder``, in natural
    order of their paths (slice_2 before slice_10): a folder of exported slices to step
    through. Nothing is opened.

    Raises:
        ScanBudgetError: the listing ran past ``seconds`` (None: no limit).
    """
    files = _files_under(Path(folder), _Budget(Path(folder), seconds, None))
    return sorted((q for q in files if q.suffix.lower() in RASTER_SUFFIXES), key=_natural)


def folder_series(folder: str | os.PathLike[str],
                  stop: Callable[[], bool] | None = None, *,
                  skipped: list[str] | None = None,
                  seconds: float | None = SCAN_SECONDS) -> tuple[list[Path], int]:
    """The largest DICOM series found in ``folder`` and its subfolders (a CD's or a PACS
    export's layout), in slice order, and the number of series found.

    Only headers are read, of regular files only (named pipes, sockets, devices and links to
    them are never opened; each is noted in ``skipped`` when given, as are files above
    :data:`MAX_SCAN_FILE_BYTES`); files without pixel data (DICOMDIR, reports, presentation
    states) and non-DICOM files are skipped; every file is looked at (a CD of 20,000 images is
    read whole: the viewer runs this in a background thread, which ``stop`` interrupts).
    Returns ``([], 0)`` when there is no image series, or when ``stop()`` (asked before each
    file: the viewer's scan thread is being cancelled) returns True.

    Raises:
        ScanBudgetError: the scan ran past ``seconds`` (None: no limit); a partial series is
            not returned, as it would silently lack slices.
    """
    series = folder_series_list(folder, stop, skipped=skipped, seconds=seconds)
    return (list(series[0].files), len(series)) if series else ([], 0)


#: raster extensions :func:`image_files` takes without reading them
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def image_files(folder: str | os.PathLike[str], *, skipped: list[str] | None = None,
                seconds: float | None = SCAN_SECONDS) -> list[Path]:
    """The image files under ``folder`` (subfolders included; every file, however many, as a
    batch run needs), sorted by path: DICOM files with pixel data (whatever their name) and
    rasters by extension; DICOMDIR indexes, reports and other files are skipped, as are
    entries that are not regular files (noted in ``skipped`` when given, never opened).

    Raises:
        ScanBudgetError: the scan ran past ``seconds`` (None: no limit).
    """
    budget = _Budget(Path(folder), seconds, skipped)
    out = []
    files = _files_under(Path(folder), budget)
    for k, q in enumerate(files):
        if q.suffix.lower() in RASTER_SUFFIXES:
            out.append(q)
            continue
        budget.check(k, len(files))
        if _image_header(q) is not None:
            out.append(q)
    return out


def _image_header(path: Path):
    """The series tags of a DICOM file that has pixel data, else None (not DICOM, unreadable,
    or a DICOMDIR, report or presentation state)."""
    ds = _header(path, pixels=True)
    return ds if ds is not None and any(kw in ds for kw in _PIXEL_KEYWORDS) else None


class _Budget:
    """The time budget of one folder scan and what it skipped."""

    def __init__(self, folder: Path, seconds: float | None, skipped: list[str] | None) -> None:
        self.folder, self.seconds, self.skipped = folder, seconds, skipped
        self.start = time.monotonic()

    def check(self, looked_at: int, total: int | None) -> None:
        if self.seconds is None or time.monotonic() - self.start <= self.seconds:
            return
        of = f" of {total:,}" if total is not None else ""
        raise ScanBudgetError(f"the folder scan ran past its {self.seconds:g} s budget with "
                              f"{looked_at:,}{of} files looked at; nothing from it was used "
                              "(open or name a subfolder)", self.folder)

    def skip(self, path: Path, why: str) -> None:
        if self.skipped is not None:
            self.skipped.append(f"{path}: skipped, {why}")


def _regular(path: Path, budget: _Budget | None = None) -> bool:
    """Whether a scan may read ``path``: a regular file (a link is followed; a named pipe, a
    socket, a device, a link to one or a broken link is not, and none of them is ever opened),
    not empty and within :data:`MAX_SCAN_FILE_BYTES`."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if budget is not None:
            budget.skip(path, f"cannot be read ({exc.strerror or exc})")
        return False
    kind = not_regular(st.st_mode)
    if kind is not None:
        if budget is not None:
            link = "a link to " if path.is_symlink() else ""
            budget.skip(path, f"{link}{kind}, not a regular file")
        return False
    if st.st_size > MAX_SCAN_FILE_BYTES:
        if budget is not None:
            budget.skip(path, f"{st.st_size / 2**30:.0f} GiB, above the "
                              f"{MAX_SCAN_FILE_BYTES / 2**30:.0f} GiB a scan reads")
        return False
    return True


def _files_under(folder: Path, budget: _Budget | None = None) -> list[Path]:
    """Every regular file under ``folder`` (subfolders included; links to folders are not
    followed), sorted by path."""
    out: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            q = Path(root) / name
            if budget is not None:
                budget.check(len(out), None)
            if _regular(q, budget):
                out.append(q)
    return out


def stack_of(path: str | os.PathLike[str], n_frames: int = 1, kind: str = "dicom",
             stop: Callable[[], bool] | None = None) -> list[tuple[Path, int]]:
    """The (file, frame) items to step through from ``path``: its frames when it has several,
    else the files of its DICOM series (:func:`series_files`, which ``stop`` can cut short),
    else ``path`` alone."""
    p = Path(path)
    if n_frames > 1:
        return [(p, k) for k in range(n_frames)]
    if kind != "dicom":
        return [(p, 0)]
    return [(q, 0) for q in series_files(p, stop)]
