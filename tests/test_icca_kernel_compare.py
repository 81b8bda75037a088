"""tools/icca_kernel_compare.py: the fused (numba) ICCA statistic equals the reference.

numba is not a dependency of the viewer (the kernel was measured and not adopted, docs/speed.md):
these tests run where it is installed."""
import pytest
import torch

from models.archs.icca import icca_statistic_reference

from ._tools import load_tool

pytest.importorskip("numba")


@pytest.fixture(scope="module")
def tool():
    return load_tool("icca_kernel_compare")


@pytest.mark.parametrize("shape", [(1, 8, 40, 33), (3, 4, 16, 16), (2, 5, 7, 9), (1, 3, 1, 5),
                                   (1, 2, 1, 1), (1, 2, 20, 1), (1, 64, 45, 70)])
@pytest.mark.parametrize("spread", [4.0, 12.0])
def test_fused_icca_statistic_equals_the_reference(tool, shape, spread):
    """Borders, images smaller than the window, several column tiles, and maps spread 12× their
    SD (boxes whose e-sums are e⁻²⁰ of a neighbour's: a running e-sum would lose them). The
    kernel has one shift per channel (the engine's statistic when it was measured): maps whose
    boxes lie more than 60 below their channel's maximum are not its case."""
    torch.manual_seed(0)
    x = torch.randn(shape) * spread + 1
    fused = tool.fused_statistic(x, 15)
    assert torch.isfinite(fused).all()
    assert torch.allclose(fused, icca_statistic_reference(x, 15), atol=2e-5 * spread, rtol=1e-5)


def test_the_tool_prints_both_tables(tool, capsys):
    assert tool.main(["--sides", "24", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "| 24² |" in out and "fused kernel" in out and "PyTorch" in out
