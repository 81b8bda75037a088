"""The slices a viewer steps through from one opened file (Qt-free).

A radiologist opens one slice and scrolls its series. A series is stored either as one
multi-frame file or as one file per slice in a folder; :func:`stack_of` returns the (file, frame)
items of either, in slice order, reading only headers.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["MAX_SERIES_FILES", "series_files", "stack_of"]

#: Folders with more files than this are not scanned for a series (the file opens alone).
MAX_SERIES_FILES = 5000
_TAGS = ["SeriesInstanceUID", "ImagePositionPatient", "ImageOrientationPatient",
         "InstanceNumber", "NumberOfFrames"]


def _header(path: Path):
    import pydicom

    try:
        return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS)
    except Exception:  # noqa: BLE001 — not DICOM, unreadable: not part of the series
        return None


def _floats(value, n: int) -> np.ndarray | None:
    try:
        arr = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == (n,) and np.all(np.isfinite(arr)) else None


def series_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files of ``path``'s DICOM series in its folder, in slice order (``path`` included).

    Order: along the slice normal (ImagePositionPatient · (row × column direction)) when every
    file has a position and they share one orientation; else InstanceNumber; else file name.
    Files of other series, non-DICOM files and unreadable ones are skipped. ``[path]`` when
    ``path`` has no SeriesInstanceUID or its folder holds more than :data:`MAX_SERIES_FILES`.
    """
    p = Path(path)
    own = _header(p)
    uid = str(own.get("SeriesInstanceUID", "") or "") if own is not None else ""
    if not uid:
        return [p]
    try:
        siblings = [e for e in os.scandir(p.parent) if e.is_file()]
    except OSError:
        return [p]
    if len(siblings) > MAX_SERIES_FILES:
        return [p]
    members: list[tuple[Path, object]] = []
    for entry in sorted(siblings, key=lambda e: e.name):
        q = Path(entry.path)
        ds = own if q.name == p.name else _header(q)
        if ds is not None and str(ds.get("SeriesInstanceUID", "") or "") == uid:
            members.append((q, ds))
    if not any(q.name == p.name for q, _ in members):
        members.append((p, own))
    positions = [_floats(ds.get("ImagePositionPatient"), 3) for _, ds in members]
    orientations = [_floats(ds.get("ImageOrientationPatient"), 6) for _, ds in members]
    if all(x is not None for x in positions) and all(o is not None for o in orientations) \
            and all(np.allclose(o, orientations[0], atol=1e-4) for o in orientations):
        normal = np.cross(orientations[0][:3], orientations[0][3:])
        keys = [float(np.dot(x, normal)) for x in positions]
        order = sorted(range(len(members)), key=lambda i: (keys[i], members[i][0].name))
    else:
        def number(i: int) -> float:
            try:
                return float(members[i][1].get("InstanceNumber"))
            except (TypeError, ValueError):
                return float("inf")
        order = sorted(range(len(members)), key=lambda i: (number(i), members[i][0].name))
    return [members[i][0] for i in order]


def stack_of(path: str | os.PathLike[str], n_frames: int = 1,
             kind: str = "dicom") -> list[tuple[Path, int]]:
    """The (file, frame) items to step through from ``path``: its frames when it has several,
    else the files of its DICOM series (:func:`series_files`), else ``path`` alone."""
    p = Path(path)
    if n_frames > 1:
        return [(p, k) for k in range(n_frames)]
    if kind != "dicom":
        return [(p, 0)]
    return [(q, 0) for q in series_files(p)]
