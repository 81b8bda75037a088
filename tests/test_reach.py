"""The measured reach: the tool that measures it, its manifest field and the engine's use of it
(untrained test weights)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from models import SuperResolver
from models.evaluation import reach
from models.inference.tiling import receptive_context
from models.manifest import Manifest, WeightsIntegrityError, WeightsRecord, load_model

from ._engine import make_weights_dir


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_weights_dir(tmp_path_factory.mktemp("w"))


def _crops() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"noise": rng.random((reach.CROP, reach.CROP))}


def test_beyond_the_structural_radius_nothing_changes_and_within_it_something_does(weights):
    record = Manifest(weights).for_file("bl_x2.safetensors")
    model = load_model(record, weights)
    radius = model.receptive_radius
    worst = reach.largest_changes(model, 2.0, _crops(), (4, radius + 1))
    # beyond it only float rounding: ICCA's per-channel shift is the whole crop's maximum
    assert worst[radius + 1] < 1e-6 and worst[4] > 1e-3


def test_the_reach_is_where_every_larger_distance_stays_within_the_tolerance():
    assert reach.reach_from({8: 1e-3, 12: 1e-7, 16: 2e-6, 20: 0.0}, 1e-6) == 20
    assert reach.reach_from({8: 1e-3, 12: 1e-7, 16: 1e-8}, 1e-6) == 12
    assert reach.reach_from({8: 1e-3, 12: 1e-5}, 1e-6) is None


def test_the_command_writes_the_reach_the_engine_then_uses(weights, tmp_path, monkeypatch,
                                                            capsys):
    folder = make_weights_dir(tmp_path / "w")
    monkeypatch.setattr(reach, "default_crops", _crops)
    monkeypatch.setattr(reach, "DISTANCES", (8, 40))
    assert reach.main(["--weights-dir", str(folder), "--files", "bl_x2.safetensors",
                       "--tolerance", "1e9", "--margin", "0", "--update"]) == 0
    assert "| bl_x2.safetensors |" in capsys.readouterr().out
    record = Manifest(folder).for_file("bl_x2.safetensors")
    assert record.reach["lr_pixels"] == 8 and record.measured_reach == 8
    model = load_model(record, folder)
    assert receptive_context(model, 2.0)[0] == 8 + 1  # + the HR margin in LR pixels
    # a region's context is the measured reach (+ 2 for the output grid's fractional positions)
    seen = []
    from models.inference import resolver as resolver_module
    real = resolver_module.sliding_window_inference
    monkeypatch.setattr(resolver_module, "sliding_window_inference",
                        lambda x, *a, **k: seen.append(x.shape) or real(x, *a, **k))
    SuperResolver("cpu", folder).upscale(np.random.default_rng(1).random((64, 64)), 2,
                                         "rmisr-bl", roi=(24, 24, 16, 16))
    assert seen == [(16 + 2 * (9 + 2), 16 + 2 * (9 + 2))]


def test_a_reach_measured_on_other_weights_is_ignored_and_a_bad_one_refused(weights, tmp_path):
    record = Manifest(weights).for_file("bl_x2.safetensors")
    stale = replace(record, reach={"lr_pixels": 8, "sha256": "0" * 64})
    assert stale.measured_reach is None
    assert load_model(stale, weights).measured_reach is None
    good = replace(record, reach={"lr_pixels": 8, "sha256": record.sha256})
    assert WeightsRecord.from_json(json.loads(json.dumps(good.to_json()))) == good
    for bad in (-1, "far"):
        data = {"format": 1, "weights": [dict(good.to_json(), reach={"lr_pixels": bad})]}
        (tmp_path / "manifest.json").write_text(json.dumps(data))
        with pytest.raises(WeightsIntegrityError, match="reach"):
            Manifest(tmp_path)
