"""The speed and precision-fidelity commands (run small, on untrained test networks)."""
import numpy as np
import pytest
import torch
from PIL import Image

from models.evaluation import fidelity, speed
from models.inference import SuperResolver

from ._engine import make_weights_dir


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_weights_dir(tmp_path_factory.mktemp("w"))


def test_speed_prints_every_row_as_a_ratio_to_the_flop_bound(weights, capsys):
    assert speed.main(["--weights-dir", str(weights), "--size", "40", "--region", "16",
                       "--repeats", "1", "--batch", "1", "--patch", "8", "--steps", "1",
                       "--precision", "fp32", "--skip", "training", "layers"]) == 0
    out = capsys.readouterr().out
    assert "| fp32 |" in out and "× bound" in out
    rows = [ln for ln in out.split("Where the time goes")[0].splitlines()
            if ln.startswith(("| srcnn", "| rmisr"))]
    assert len(rows) == len(speed.CASES)
    for row in rows:
        ratio = float(row.rstrip(" |").rsplit("|", 1)[1])
        assert ratio > 0  # seconds over a positive bound: never zero, never missing
    assert "Four methods" in out
    ablation = [ln for ln in out.splitlines() if ln.startswith("| + ")]
    assert len(ablation) == 5 and all(ln.endswith("× |") for ln in ablation)
    floor = out.split("The convolutions alone")[1].splitlines()
    floors = [ln for ln in floor if ln.startswith(("| rmisr-bl ×4", "| rmisr-vp ×2.5",
                                                   "| training step"))]
    assert len(floors) == len(speed.PROFILE_CASES) + 1
    for row in floors:
        total, network, boxes, _, ratio, net_ratio = (
            float(c) for c in row.strip("| ").split("|")[2:])
        assert network > 0 and boxes > 0 and ratio > 0 and 0 < net_ratio
    profile = out.split("Where the time goes")[1].split("The convolutions alone")[0].splitlines()
    shares = [ln for ln in profile if ln.startswith(("| rmisr-bl ×4", "| rmisr-vp ×2.5"))]
    assert len(shares) == len(speed.PROFILE_CASES)
    for row in shares:
        cells = [c.strip() for c in row.strip("| ").split("|")]
        conv, rest = (int(c.rstrip("%")) for c in cells[-2:])
        assert abs(conv + rest - 100) <= 1 and conv > 0  # the network is mostly convolutions
        assert 0 <= float(cells[3].split(" s")[0]) <= float(cells[2])  # ICCA within the total


def test_the_convolution_floor_replays_each_convolution_and_counts_box_sums_apart():
    import torch.nn.functional as F

    from models.evaluation.conv_floor import convolution_floor, is_box_sum

    x = torch.randn(1, 8, 32, 32, requires_grad=True)
    w = torch.randn(8, 8, 3, 3, requires_grad=True)
    ones = torch.ones(8, 1, 15, 1)
    calls = []

    def run(box: bool, backward: bool) -> None:
        calls.append(1)
        y = F.conv2d(x, w, padding=1)
        if box:
            y = F.conv2d(y, ones, padding=(7, 0), groups=8)
        if backward:
            y.sum().backward()
    operators = []
    for box, backward in ((False, False), (True, False), (True, True)):
        floor = convolution_floor(lambda b=box, k=backward: run(b, k), repeats=1)
        assert floor["network"] > 0 and (floor["box sums"] > 0) == box
        operators.append(floor["operators"])
    assert len(calls) == 3  # the function itself runs once; its convolutions are replayed
    assert operators[0] == 1 and operators[1] == 2 and operators[2] > 2  # backward ones too
    assert convolution_floor(lambda: torch.relu(x), repeats=1) == {"network": 0.0,
                                                                    "box sums": 0.0,
                                                                    "operators": 0.0}
    assert is_box_sum((64, 1, 15, 1)) and is_box_sum((64, 1, 1, 15))
    assert not is_box_sum((64, 1, 3, 3)) and not is_box_sum((64, 64, 1, 1))


def test_a_regions_window_is_the_region_plus_the_engines_context(weights):
    sr = SuperResolver("cpu", weights)
    model = sr.prepared_model("rmisr-bl", 2.5)
    from models.inference.tiling import receptive_context
    m = receptive_context(model, 2.5)[0] + 2
    assert speed.region_window(model, 2.5, 512, 128) == 128 + 2 * m
    assert speed.region_window(model, 2.5, 512, 0) == 512
    assert speed.region_window(model, 2.5, 130, 128) == 130  # context clipped by the image


def test_training_macs_count_backward_as_twice_the_forward():
    from models.registry import create_model
    from models.evaluation.complexity import count_macs

    fwd = count_macs(create_model("rmisr_bl", scale=4).to("meta"),
                     torch.zeros(2, 1, 8, 8, device="meta"))
    assert speed.training_macs("rmisr_bl", 2, 8) == 3 * fwd


def test_fidelity_compares_each_precision_with_fp32(weights, tmp_path):
    folder = tmp_path / "Tiny"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((24, 24)) * 255).astype(np.uint8)).save(folder / "a.png")
    sr = SuperResolver("cpu", weights)
    rows = fidelity.benchmark_rows(sr, tmp_path, ["Tiny"], [2.0], ["bf16"])
    assert len(rows) == 1 and rows[0].startswith("| Tiny | ×2 |")
    fp32, bf16 = (float(c.split()[0]) for c in rows[0].strip("| ").split(" | ")[2:4])
    assert abs(fp32 - bf16) < 1.0


def test_layer_rates_cover_every_pfmdb_shape():
    rows = speed.layer_rates("fp32", side=16, repeats=1)
    assert [r[0] for r in rows] == [name for name, *_ in speed.LAYERS]
    assert all(ms > 0 and rate > 0 for _, ms, rate in rows)
