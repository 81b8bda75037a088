"""tools/lap_frontier.py: its PSNR and Laplacian-L1 are the benchmark protocol's."""
import importlib.util
from pathlib import Path

import numpy as np

from models.evaluation.benchmark import score

_PATH = Path(__file__).resolve().parents[1] / "tools" / "lap_frontier.py"


def test_its_scores_are_the_protocols_without_ssim():
    spec = importlib.util.spec_from_file_location("lap_frontier", _PATH)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (41, 38)).astype(np.float64)
    sr = hr + rng.normal(0, 6, hr.shape)  # off the 8-bit levels, beyond 0–255 in places
    p, _, lap = score(sr, hr, 3.5)
    assert tool.psnr_and_lap_l1(sr, hr, 3.5) == (p, lap)
