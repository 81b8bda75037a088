"""The per-user retrieve cache: where retrieved instances land before the viewer opens them.

A copy, never the source of truth (the PACS is): each retrieved series is one folder
``<root>/<Series Instance UID>/``; a retrieve first writes into ``<root>/.partial-<pid>-<n>/`` and
only a complete one is renamed into place, so a retrieve that fails or is cancelled half-way leaves
nothing. After each completed retrieve the least recently used series are removed until the
cache is within its size limit (the one just retrieved is always kept).

The root is ``$RMISR_PACS_CACHE`` when set, else ``$XDG_CACHE_HOME/rmisr/pacs``
(``~/.cache/rmisr/pacs``; ``%LOCALAPPDATA%\\rmisr\\pacs`` on Windows).
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .user_dirs import user_dir

__all__ = ["RetrieveCache", "cache_root", "safe_uid"]

log = logging.getLogger(__name__)
_PARTIAL = ".partial-"
_counter = itertools.count()
_lock = threading.Lock()


def cache_root() -> Path:
    """The per-user cache folder of retrieved series (not created here)."""
    env = os.environ.get("RMISR_PACS_CACHE")
    if env:
        return Path(env)
    return user_dir("cache") / "pacs"


def safe_uid(uid: str) -> str:
    """A UID as a file name: digits and dots only (PS3.5 9.1); anything else becomes ``_``."""
    text = re.sub(r"[^0-9.]", "_", str(uid).strip())[:64]
    return text.strip(".") or "_"


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class RetrieveCache:
    """A size-limited folder of retrieved series (``max_bytes``; least recently used removed)."""

    def __init__(self, root: str | os.PathLike[str] | None = None,
                 max_bytes: int = 2048 * 1024 * 1024) -> None:
        self.root = Path(root) if root is not None else cache_root()
        self.max_bytes = int(max_bytes)

    def series_dir(self, series_uid: str) -> Path:
        return self.root / safe_uid(series_uid)

    def series(self) -> list[Path]:
        """The complete series folders, least recently used first."""
        try:
            entries = [p for p in self.root.iterdir()
                       if p.is_dir() and not p.name.startswith(".")]
        except OSError:
            return []
        return sorted(entries, key=lambda p: p.stat().st_mtime)

    def size(self) -> int:
        return sum(_size(p) for p in self.series())

    @contextmanager
    def partial(self, series_uid: str) -> Iterator[Path]:
        """A fresh folder to retrieve ``series_uid`` into. When the ``with`` block ends normally
        the folder becomes :meth:`series_dir` (replacing an older copy) and the cache is trimmed;
        when it raises (failure, cancel, interrupt) the folder and everything in it is removed."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.clean_partials()
        with _lock:
            tmp = self.root / f"{_PARTIAL}{os.getpid()}-{next(_counter)}"
        tmp.mkdir()
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        final = self.series_dir(series_uid)
        with _lock:
            if final.exists():
                old = final.with_name(f"{_PARTIAL}{os.getpid()}-{next(_counter)}-old")
                os.replace(final, old)
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, final)
        os.utime(final)
        self.evict(keep=final)

    def touch(self, series_uid: str) -> None:
        """Mark a cached series as just used (it is evicted last)."""
        try:
            os.utime(self.series_dir(series_uid))
        except OSError:
            pass

    def evict(self, keep: Path | None = None) -> list[Path]:
        """Remove the least recently used series until the cache holds at most ``max_bytes``
        (never ``keep``); returns the folders removed."""
        sizes = {p: _size(p) for p in self.series()}
        total = sum(sizes.values())
        removed = []
        for p in list(sizes):  # oldest first
            if total <= self.max_bytes:
                break
            if keep is not None and p.resolve() == keep.resolve():
                continue
            shutil.rmtree(p, ignore_errors=True)
            total -= sizes[p]
            removed.append(p)
        if removed:
            log.info("retrieve cache: removed %d series (least recently used) to stay within "
                     "%d MB", len(removed), self.max_bytes // (1024 * 1024))
        return removed

    def clean_partials(self, older_than_s: float = 24 * 3600) -> None:
        """Remove partial folders left by a process that no longer runs (or older than a day)."""
        try:
            entries = list(self.root.glob(_PARTIAL + "*"))
        except OSError:
            return
        now = time.time()
        for p in entries:
            try:
                pid = int(p.name[len(_PARTIAL):].split("-")[0])
            except ValueError:
                pid = -1
            try:
                old = now - p.stat().st_mtime > older_than_s
            except OSError:
                continue
            if pid == os.getpid() and not old:
                continue
            if old or pid < 0 or not _pid_alive(pid):
                shutil.rmtree(p, ignore_errors=True)
