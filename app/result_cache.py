"""The viewer's session cache of super-resolution results (no Qt, no engine).

A result is kept under everything that decides its pixels: the slice (file, frame, and the
file's size and modification time), the region of interest, the magnification, the methods,
"simulate low resolution", the networks' precision setting, "best quality" (the mean of the 8
flipped/rotated runs, with its uncertainty map) and the normalisation inputs (the display window
and value range handed to the engine). Returning to a slice shows its latest
result again; an identical run is served from here instead of being computed again.

The cache holds at most ``max_bytes`` of arrays (and ``max_items`` results): the least recently
used result goes first, and one larger than the whole budget is not kept.
"""
from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Hashable

import numpy as np

#: Arrays the session keeps at most (results, quality maps, inputs): about 0.5 GiB.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_ITEMS = 64

SliceId = tuple[str, int, int, int]


def slice_id(path: str | Path, frame: int = 0) -> SliceId:
    """(resolved path, frame, size, mtime in ns) of a slice: a file replaced on disk since is
    another slice."""
    p = Path(path)
    try:
        st = p.stat()
        size, mtime = int(st.st_size), int(st.st_mtime_ns)
    except OSError:
        size, mtime = -1, -1
    try:
        name = str(p.resolve())
    except OSError:
        name = os.path.abspath(str(p))
    return name, int(frame), size, mtime


def _rounded(values: Any, digits: int = 6) -> tuple[float, ...] | None:
    if values is None:
        return None
    return tuple(round(float(v), digits) for v in values)


def result_key(slice_: SliceId, roi: tuple[int, int, int, int], scale: float,
               methods: list[str] | tuple[str, ...], simulate: bool, precision: str,
               window: tuple[float, float] | None,
               value_range: tuple[float, float] | None,
               ensemble: bool = False) -> tuple[Hashable, ...]:
    """The cache key of a run: equal exactly when the engine would compute the same pixels
    (``ensemble``: the best-quality mean of 8 runs, which differs from a plain run and alone
    carries an uncertainty map)."""
    return (tuple(slice_), tuple(int(v) for v in roi), round(float(scale), 6), tuple(methods),
            bool(simulate), str(precision), _rounded(window), _rounded(value_range),
            bool(ensemble))


def nbytes_of(obj: Any) -> int:
    """Bytes of the numpy arrays reachable from ``obj`` through dataclass fields, lists,
    tuples and dicts (each array counted once)."""
    seen: set[int] = set()
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            total += int(item.nbytes)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return total


class ResultCache:
    """Least-recently-used store of results, bounded by the bytes of their arrays."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_items: int = DEFAULT_MAX_ITEMS) -> None:
        self.max_bytes = int(max_bytes)
        self.max_items = int(max_items)
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: tuple) -> bool:
        return key in self._items

    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def get(self, key: tuple) -> Any | None:
        """The result stored under ``key`` (now the most recently used), or None."""
        entry = self._items.get(key)
        if entry is None:
            return None
        self._items.move_to_end(key)
        return entry[0]

    def put(self, key: tuple, value: Any, nbytes: int | None = None) -> bool:
        """Keep ``value`` under ``key``; False when it alone exceeds the budget (not kept)."""
        size = nbytes_of(value) if nbytes is None else int(nbytes)
        self.discard(key)
        if size > self.max_bytes:
            return False
        self._items[key] = (value, size)
        self._bytes += size
        while self._items and (self._bytes > self.max_bytes
                               or len(self._items) > self.max_items):
            _, (_, old) = self._items.popitem(last=False)
            self._bytes -= old
        return key in self._items

    def discard(self, key: tuple) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1]

    def latest_for(self, slice_: SliceId) -> Any | None:
        """The most recently stored or shown result of ``slice_`` (the key's first part)."""
        for key in reversed(self._items):
            if key[0] == tuple(slice_):
                return self._items[key][0]
        return None

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0
