"""The PyInstaller bundle builds and its ``--self-test`` passes. Slow: ~3–4 minutes."""
import importlib.util
import json

import pytest

from app import build

pytestmark = pytest.mark.slow


@pytest.mark.skipif(importlib.util.find_spec("PyInstaller") is None,
                    reason="PyInstaller is not installed (it is in the dev extra)")
def test_bundle_builds_and_passes_its_self_test(tmp_path):
    dist = tmp_path / "dist"
    assert build.main(["--dist", str(dist), "--work", str(tmp_path / "work")]) == 0
    report = json.loads((dist / "bundle_report.json").read_text())
    assert report["self_test_exit"] == 0 and report["bundle_bytes"] > 0
    internal = dist / "rmisr-viewer" / "_internal"
    bundled = {p.name for p in (internal / "weights").iterdir()}
    assert "manifest.json" in bundled and (internal / "resources" / "sample_ct_chest.dcm").exists()
    # no training code, no tests, no torch test suite in the product
    assert not (internal / "torch" / "test").exists()
    assert not (internal / "tests").exists()
