"""Validate derived DICOM with dicom3tools' ``dciodvfy`` (Debian package ``dicom3tools``).

A derived file may keep problems its source already had (a derived image copies its source's
header): only the ``Error -`` lines that running ``dciodvfy`` on the source does not also print
count. ``Warning -`` lines never count.

``.ci/run`` installs ``dicom3tools`` when ``dciodvfy`` is missing and sets
``RMISR_REQUIRE_DCIODVFY=1``, which turns "validator missing" from a skip into a failure.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["DCIODVFY", "available", "errors", "new_errors", "require", "assert_valid"]

DCIODVFY = shutil.which("dciodvfy")
REQUIRED = os.environ.get("RMISR_REQUIRE_DCIODVFY", "") not in ("", "0")


def available() -> bool:
    """True when ``dciodvfy`` is on PATH."""
    return DCIODVFY is not None


def require() -> None:
    """Skip the calling test when ``dciodvfy`` is missing (fail when CI requires it)."""
    if available():
        return
    reason = ("dciodvfy (Debian package dicom3tools) is not installed: apt-get install -y "
              "dicom3tools; .ci/run installs it")
    if REQUIRED:
        pytest.fail(reason + " — RMISR_REQUIRE_DCIODVFY is set, so this is an error")
    pytest.skip(reason)


@functools.lru_cache(maxsize=256)
def _errors_cached(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    assert DCIODVFY is not None
    proc = subprocess.run([DCIODVFY, path], capture_output=True, text=True, errors="replace",
                          timeout=120)
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    return tuple(sorted({line.strip() for line in lines if line.startswith("Error")}))


def errors(path: str | os.PathLike[str]) -> set[str]:
    """The distinct ``Error -`` lines ``dciodvfy`` prints for ``path``."""
    p = Path(path)
    st = p.stat()
    return set(_errors_cached(str(p.resolve()), st.st_mtime_ns, st.st_size))


def _is_dicom(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    if head[128:132] == b"DICM":
        return True
    try:  # a file without preamble (the reader accepts those too)
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        return "SOPClassUID" in ds
    except Exception:  # noqa: BLE001
        return False


def new_errors(derived: str | os.PathLike[str],
               source: str | os.PathLike[str] | None = None) -> list[str]:
    """``Error -`` lines of ``derived`` that ``source`` (when it is a DICOM file) does not have.
    The summary line ("Dicom dataset contains invalid data values …") counts only with a new
    error of its own kind."""
    have = errors(derived)
    if source is not None and Path(source).is_file() and _is_dicom(Path(source)):
        have -= errors(source)
    return sorted(have)


def assert_valid(derived: str | os.PathLike[str],
                 source: str | os.PathLike[str] | None = None) -> None:
    """Fail with dciodvfy's new error lines, if any (skip when dciodvfy is missing)."""
    require()
    found = new_errors(derived, source)
    assert not found, (f"dciodvfy finds {len(found)} error(s) in {Path(derived).name} that "
                       f"its source does not have:\n  " + "\n  ".join(found))
