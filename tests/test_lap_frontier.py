"""tools/lap_frontier.py: its PSNR and Laplacian-L1 are the benchmark protocol's."""
import numpy as np

from models.evaluation.benchmark import score

from ._tools import load_tool


def test_its_scores_are_the_protocols_without_ssim():
    tool = load_tool("lap_frontier")
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (41, 38)).astype(np.float64)
    sr = hr + rng.normal(0, 6, hr.shape)  # off the 8-bit levels, beyond 0–255 in places
    p, _, lap = score(sr, hr, 3.5)
    assert tool.psnr_and_lap_l1(sr, hr, 3.5) == (p, lap)
