"""rmisr-eval: which rows it scores, and the † rows of --beyond-range."""
import numpy as np
from PIL import Image

from models.evaluate import main
from models.registry import WeightsRecord, create_model, export_weights


def _setup(tmp_path):
    weights = tmp_path / "weights"
    rec = WeightsRecord(file="srcnn.safetensors", method="srcnn", arch="srcnn", arch_args={},
                        scale_range=[2.0, 5.0], training={"note": "untrained, test only"})
    export_weights(create_model("srcnn"), rec, weights)
    bench = tmp_path / "bench" / "Tiny"
    bench.mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (24, 30), dtype=np.uint8)).save(bench / "a.png")
    return weights, tmp_path / "bench"


def test_models_are_scored_only_where_served_unless_beyond_range(tmp_path):
    weights, bench = _setup(tmp_path)
    common = ["--data", str(bench), "--sets", "Tiny", "--scales", "1.5", "2", "--no-timing",
              "--weights-dir", str(weights), "--methods", "bicubic", "srcnn"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    plain = (tmp_path / "a" / "benchmark.md").read_text()
    assert "| SRCNN | ×2 |" in plain and "×1.5 | 0.008 M" not in plain
    assert main(common + ["--out", str(tmp_path / "b"), "--beyond-range"]) == 0
    wide = (tmp_path / "b" / "benchmark.md").read_text()
    assert "| SRCNN† | ×1.5 |" in wide and "| SRCNN | ×2 |" in wide
    assert "outside the scale range" in wide
