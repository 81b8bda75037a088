"""Shared pytest fixtures: test images without network access.

* ``pydicom_file(name)`` — a file bundled with the pydicom wheel
  (``download=False``: never fetch).
* ``shared_medical`` — ``../shared/data/medical`` beside the clone (real CT / MR / CR files);
  tests that need it are skipped when it is absent.
* ``_validate_derived_dicom`` (autouse) — every derived DICOM / Secondary Capture a test writes
  in-process is checked with dicom3tools' ``dciodvfy`` when the test ends; the test fails on an
  ``Error -`` line its source does not have (``tests/_dciodvfy.py``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

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


@pytest.fixture(autouse=True)
def _validate_derived_dicom(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run ``dciodvfy`` on every DICOM file the derived-DICOM writer saves during the test (and on
    its source) and fail on new errors. A no-op when ``dciodvfy`` is not installed
    (``tests/test_dicom_validator.py`` then skips, or fails under ``RMISR_REQUIRE_DCIODVFY``)."""
    from tests import _dciodvfy

    if not _dciodvfy.available():
        yield
        return
    from app.io import _dicom_file

    written: list[tuple[Path, list[Path]]] = []
    original = _dicom_file._save_dicom

    def recording(ds, target, sources, report_warnings):  # type: ignore[no-untyped-def]
        original(ds, target, sources, report_warnings)
        written.append((Path(target), [Path(s) for s in sources]))

    monkeypatch.setattr(_dicom_file, "_save_dicom", recording)
    yield
    problems = []
    for target, sources in written:
        if not target.is_file():
            continue  # removed by the test
        found = _dciodvfy.new_errors(target, sources[0] if sources else None)
        if found:
            problems.append(f"{target.name}:\n    " + "\n    ".join(found))
    if problems:
        pytest.fail("dciodvfy rejects derived DICOM written by this test (errors its source "
                    "does not have):\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture()
def tiny_data(tmp_path: Path) -> Path:
    """A tiny training set (three 64×72 8-bit images in ``train/``) and validation set (two,
    ``val/``) of smooth patterns with noise, for rmisr-train runs of a few steps."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, n in (("train", 3), ("val", 2)):
        (tmp_path / folder).mkdir()
        for i in range(n):
            yy, xx = np.mgrid[0:64, 0:72]
            img = 128 + 60 * np.sin(xx / (3 + i)) * np.cos(yy / 5) + rng.normal(0, 5, xx.shape)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
                tmp_path / folder / f"{i}.png")
    return tmp_path
