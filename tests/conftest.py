"""Shared pytest fixtures: test images without network access.

* ``pydicom_file(name)`` — a file bundled with the pydicom wheel
  (``download=False``: never fetch).
* ``shared_medical`` — ``../shared/data/medical`` beside the clone (real CT / MR / CR files);
  tests that need it are skipped when it is absent.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
MEDICAL_DIR = SHARED_DIR / "data" / "medical"


@pytest.fixture(scope="session")
def pydicom_file() -> Callable[[str], Path]:
    """Return a function mapping a pydicom test-file name (may contain '/') to its path."""
    import pydicom
    from pydicom.data import get_testdata_file

    root = Path(pydicom.__file__).parent / "data" / "test_files"

    def get(name: str) -> Path:
        path = root / name if "/" in name else get_testdata_file(name, download=False)
        if path is None or not Path(path).is_file():
            pytest.skip(f"pydicom test file {name} is not installed")
        return Path(path)

    return get


@pytest.fixture(scope="session")
def shared_medical() -> Path:
    """``../shared/data/medical`` (skip the test when it is absent)."""
    if not MEDICAL_DIR.is_dir():
        pytest.skip("../shared/data/medical is not available beside the repository")
    return MEDICAL_DIR
