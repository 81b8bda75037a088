"""tools/runtime_compare.py: the engine's torch path against other runtimes (untrained test nets)."""
import pytest

from ._engine import make_weights_dir
from ._tools import load_tool


@pytest.fixture(scope="module")
def tool():
    return load_tool("runtime_compare")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_weights_dir(tmp_path_factory.mktemp("w"))


def _cells(row):
    return [c.strip() for c in row.strip("|").split("|")]


def test_torch_row_is_the_reference_and_a_failing_runtime_is_a_row_not_a_crash(
        tool, weights, monkeypatch):
    def broken(*args):
        raise ImportError("No module named 'onnxruntime'")
    monkeypatch.setitem(tool.BUILDERS, "onnxruntime", broken)
    rows = tool.compare("rmisr-bl", 3.0, 16, 1, "fp32", 1, weights, ("torch", "onnxruntime"))
    torch_row, ort_row = (_cells(r) for r in rows)
    assert torch_row[:4] == ["rmisr-bl", "×3", "16²", "torch"]
    assert float(torch_row[4]) > 0 and torch_row[5] == "1.00×"
    assert ort_row[3] == "onnxruntime" and ort_row[4] == "—"
    assert ort_row[6].startswith("not run: ImportError")


@pytest.mark.slow
def test_openvino_equals_the_engine_within_float_rounding(tool, weights):
    pytest.importorskip("openvino")
    rows = tool.compare("rmisr-bl", 3.0, 24, 1, "fp32", 1, weights, ("torch", "openvino"))
    cells = _cells(rows[1])
    assert cells[3] == "openvino" and float(cells[4]) > 0
    assert float(cells[6].split(";")[0]) < 1e-4  # the largest |difference| from torch


def test_static_graph_restores_what_it_fixed(tool):
    from models.archs import blocks, icca
    saved = icca._ROW_BANDS, blocks._MERGED_LEVELS, icca._deep_channels
    with tool._static_graph():
        assert icca._ROW_BANDS.get() is False and blocks._MERGED_LEVELS.get() is True
    assert (icca._ROW_BANDS, blocks._MERGED_LEVELS, icca._deep_channels) == saved


@pytest.mark.slow
def test_frozen_inductor_compiles_one_graph_equal_to_the_engine(tool, weights):
    import shutil
    if not shutil.which("c++"):
        pytest.skip("no C++ compiler")
    rows = tool.compare("rmisr-bl", 3.0, 16, 1, "fp32", 1, weights, ("torch", "inductor-frozen"))
    cells = _cells(rows[1])
    assert cells[3] == "inductor-frozen" and float(cells[4]) > 0, cells  # compiled (fullgraph)
    assert float(cells[6].split(";")[0]) < 1e-4
