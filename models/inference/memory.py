"""Reuse of freed memory during a CPU forward pass (glibc's malloc, i.e. Linux).

A network's feature maps are large (64 maps × 512² floats are 64 MB) and live for one layer.
glibc serves each such request with a fresh ``mmap`` and returns it on ``free``, so every layer
touches new pages: ≈ 1.3 million page faults (counted once with ``getrusage``), each a zeroed
4 KB page, in one RMISR-BL ×4 run on a 512² image, a quarter of its time on the project's 2-core
machine (the ablation rows of ``python -m models.evaluation.speed``: 6.47 → 5.06 s). What
jemalloc or tcmalloc preloading does in PyTorch's CPU tuning guides, which a bundled desktop
application cannot do, is done here with ``mallopt``:

* :func:`one_arena` (``M_ARENA_MAX`` 1), once per process and before any thread exists: every
  thread allocates from the main heap. The viewer runs the engine in a worker thread, and a
  thread with its own arena keeps faulting (its heaps are at most 64 MB and are unmapped when
  empty).
* :func:`freed_memory_reused`, around a run: large blocks come from the heap (``M_MMAP_MAX`` 0)
  and the heap's free top is kept (``M_TRIM_THRESHOLD`` 2 GB) while any run is in progress
  and for :data:`RELEASE_AFTER_S` seconds after the last one; then glibc's defaults come back
  and ``malloc_trim(0)`` returns the freed pages, so an idle viewer does not keep a run's peak
  and images it closes are unmapped as before. The delay is for runs that follow one another
  (the four methods of a comparison, the next click): given back at once, the pages of every
  run were faulted in anew, ≈ 210,000 for RMISR-BL ×4 on a 512² image, 0.23 s of its 1.79 s in
  bf16 on the project's 2-core Xeon (1.55 s with the pages kept; RMISR-VP ×2.5 in fp32 9.44 →
  8.96 s; 2026-12-07, a one-off script timing each case both ways in one process).
  ``rmisr-train`` holds it around its whole loop, a batch around all its slices.

Elsewhere (Windows, macOS, musl) both do nothing. ``RMISR_REUSE_MEMORY=0`` in the
environment turns them off.
"""
from __future__ import annotations

import ctypes
import os
import platform
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_KEEP_TOP = 2**31 - 1  # mallopt takes an int
_DEFAULT_TRIM = 128 * 1024  # glibc's defaults
_DEFAULT_MMAP_MAX = 65536

#: seconds freed pages are kept after the last run before they go back to the system (0: at once)
RELEASE_AFTER_S = 20.0

_lock = threading.Lock()
_release_timer: threading.Timer | None = None
_libc: ctypes.CDLL | None = None
_looked = False
_active = 0
_in_effect = False  # whether the outermost block's settings took


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


@contextmanager
def freed_memory_reused(keep_after: float | None = None) -> Iterator[bool]:
    """Within the block (a network run), freed large blocks are reused instead of unmapped;
    ``keep_after`` seconds (default :data:`RELEASE_AFTER_S`; 0: at once) after the last
    concurrent block, unless another begins meanwhile, the defaults come back and the freed pages
    go back to the system. Yields whether that is in effect here (glibc, not turned off)."""
    global _active, _in_effect, _release_timer
    with _lock:
        _active += 1
        if _release_timer is not None:  # the previous run's pages are still kept: reuse them
            _release_timer.cancel()
            _release_timer = None
        if _active == 1:
            _in_effect = _set((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _KEEP_TOP))
        in_effect = _in_effect
    try:
        yield in_effect
    finally:
        with _lock:
            _active -= 1
            delay = RELEASE_AFTER_S if keep_after is None else keep_after
            if _active == 0 and _in_effect:
                # a block left open until the interpreter exits ends in its finalisation, when
                # a new thread would never start (the exit hung): nothing to keep for then
                if delay > 0 and not sys.is_finalizing():
                    _release_timer = threading.Timer(delay, _release)
                    _release_timer.daemon = True  # never holds up the process's exit
                    _release_timer.start()
                else:
                    _release_now()


def _release() -> None:
    """The timer's end: give the pages back unless a run began meanwhile (which cancels or
    replaces this timer)."""
    global _release_timer
    with _lock:
        if _active == 0 and _release_timer is threading.current_thread():
            _release_timer = None
            _release_now()


def _release_now() -> None:
    """glibc's defaults again, and the freed pages returned (call holding ``_lock``)."""
    _set((_M_MMAP_MAX, _DEFAULT_MMAP_MAX), (_M_TRIM_THRESHOLD, _DEFAULT_TRIM))
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
