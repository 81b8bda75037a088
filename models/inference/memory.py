"""Reuse of freed memory during a CPU forward pass (glibc's malloc, i.e. Linux).

A network's feature maps are large (64 maps × 512² floats are 64 MB) and live for one layer.
glibc serves each such request with a fresh ``mmap`` and returns it on ``free``, so every layer
touches new pages: ≈ 1.3 million page faults, each a zeroed 4 KB page, in one RMISR-BL ×4 run
on a 512² image — 30 % of its time on the project's 2-core machine (7.1 s against 5.0 s with
the faults gone, measured in one process). What jemalloc or tcmalloc preloading does in PyTorch's
CPU tuning guides, which a bundled desktop application cannot do, is done here with ``mallopt``:

* :func:`one_arena` (``M_ARENA_MAX`` 1), once per process and before any thread exists: every
  thread allocates from the main heap. The viewer runs the engine in a worker thread, and a
  thread with its own arena keeps faulting (its heaps are at most 64 MB and are unmapped when
  empty).
* :func:`freed_memory_reused`, around a run: large blocks come from the heap (``M_MMAP_MAX`` 0)
  and the heap's free top is kept (``M_TRIM_THRESHOLD`` 2 GB) while any run is in progress;
  after the last one glibc's defaults come back and ``malloc_trim(0)`` returns the freed pages,
  so an idle viewer does not keep a run's peak and images it closes are unmapped as before.
* :func:`reuse_freed_memory`: both, for the rest of the process (``rmisr-train``, the speed
  tool: processes that do nothing but run networks).

Elsewhere (Windows, macOS, musl) all three do nothing. ``RMISR_REUSE_MEMORY=0`` in the
environment turns them off.
"""
from __future__ import annotations

import ctypes
import os
import platform
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_KEEP_TOP = 2**31 - 1  # mallopt takes an int
_DEFAULT_TRIM = 128 * 1024  # glibc's defaults
_DEFAULT_MMAP_MAX = 65536

_lock = threading.Lock()
_libc: ctypes.CDLL | None = None
_looked = False
_permanent = False
_active = 0


def _glibc() -> ctypes.CDLL | None:
    """libc where these settings apply and are wanted, else None (looked up once)."""
    global _libc, _looked
    if not _looked:
        _looked = True
        if (os.environ.get("RMISR_REUSE_MEMORY", "1") != "0" and platform.system() == "Linux"
                and platform.libc_ver()[0] == "glibc"):
            try:
                _libc = ctypes.CDLL("libc.so.6")
            except OSError:
                _libc = None
    return _libc


def _set(*pairs: tuple[int, int]) -> bool:
    libc = _glibc()
    return libc is not None and all(libc.mallopt(opt, value) == 1 for opt, value in pairs)


def one_arena() -> bool:
    """Every thread allocates from the main heap from now on (call before starting threads);
    True where it is in effect."""
    with _lock:
        return _set((_M_ARENA_MAX, 1))


def reuse_freed_memory() -> bool:
    """For the rest of the process: one arena, large blocks from the heap, its free top kept;
    True where it is in effect."""
    global _permanent
    with _lock:
        _permanent = _set((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _KEEP_TOP))
        return _permanent


@contextmanager
def freed_memory_reused() -> Iterator[None]:
    """Within the block (a network run), freed large blocks are reused instead of unmapped; after
    the last concurrent block the defaults come back and the freed pages go back to the system."""
    global _active
    with _lock:
        _active += 1
        if _active == 1 and not _permanent:
            _set((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _KEEP_TOP))
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                if not _permanent:
                    _set((_M_MMAP_MAX, _DEFAULT_MMAP_MAX), (_M_TRIM_THRESHOLD, _DEFAULT_TRIM))
                libc = _glibc()
                if libc is not None:
                    libc.malloc_trim(0)
