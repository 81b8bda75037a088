"""Where the bundled resources (sample image, window presets) live.

From a source checkout they are in ``<repo>/resources``; in a PyInstaller bundle in
``<sys._MEIPASS>/resources`` (the spec file must add the folder to ``datas``).
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["RESOURCES_DIR", "SAMPLE_PATH", "SAMPLE_SHA256", "DEFAULT_PRESETS_PATH",
           "SELF_TEST_JPEG_LOSSLESS", "SELF_TEST_JPEG_LOSSLESS_ROI"]


def _resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidate = Path(frozen) / "resources"
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "resources"


RESOURCES_DIR: Path = _resources_dir()
#: Chest CT (TCIA Lung-PET-CT-Dx, CC BY 4.0); provenance in ``resources/README.md``.
SAMPLE_PATH: Path = RESOURCES_DIR / "sample_ct_chest.dcm"
SAMPLE_SHA256 = "ca02dd16d104c412fc46caf5d5c4c8a149f78c8122c8a6acebd7fbd77a68dd72"
#: The sample's 32×32 crop at rows/columns 240–271, JPEG Lossless (resources/README.md), and
#: that crop as an (x, y, w, h) ROI of the sample.
SELF_TEST_JPEG_LOSSLESS: Path = RESOURCES_DIR / "selftest_jpeg_lossless.dcm"
SELF_TEST_JPEG_LOSSLESS_ROI = (240, 240, 32, 32)
DEFAULT_PRESETS_PATH: Path = RESOURCES_DIR / "window_presets.json"
