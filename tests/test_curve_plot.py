"""models.evaluation.curve_plot: chained validation curves against targets, as a PNG."""
from pathlib import Path

import pytest
from PIL import Image

from models.evaluation import curve_plot
from models.evaluation.curve_plot import Run, curve_points

HEADER = "step,loss,lr,val_scale,val_psnr,train_seconds,time\n"


def _log(path: Path, rows: list[tuple[int, float, float]]) -> Path:
    """A run's log.csv with validations (step, scale, PSNR) and a training row between them."""
    text = HEADER
    for step, scale, psnr in rows:
        text += f"{step},0.03,0.0002,,,{step},t\n{step},0.03,0.0002,{scale},{psnr},{step},t\n"
    path.write_text(text)
    return path


def test_chained_runs_follow_the_step_each_next_run_started_from(tmp_path):
    a = _log(tmp_path / "a.csv", [(100, 4.0, 30.0), (200, 4.0, 31.0), (300, 4.0, 31.2)])
    b = _log(tmp_path / "b.csv", [(0, 4.0, 28.0), (50, 4.0, 31.3), (50, 2.5, 35.0)])
    c = _log(tmp_path / "c.csv", [(10, 4.0, 31.4)])
    runs = [Run("a", a, until=200), Run("b", b), Run("c", c)]
    (la, sa, pa), (lb, sb, pb), (_, sc, _) = curve_points(runs, 4.0, chain=True)
    assert (la, sa, pa) == ("a", [100, 200], [30.0, 31.0])  # step 300 is after `until`
    assert sb == [200, 250] and pb == [28.0, 31.3]  # b's step 0 is a's step 200; ×2.5 not drawn
    assert sc == [260]  # c follows b's last step
    unchained = curve_points(runs, 4.0)
    assert [c[1] for c in unchained] == [[100, 200], [0, 50], [10]]


def test_a_run_without_the_scale_is_named(tmp_path):
    b = _log(tmp_path / "b.csv", [(50, 2.5, 35.0)])
    with pytest.raises(ValueError, match=r"meta run .*no validation at x4 .*x2\.5"):
        curve_points([Run("meta run", b)], 4.0)


def test_cli_writes_the_png_with_target_lines(tmp_path, capsys):
    a = _log(tmp_path / "a.csv", [(100, 4.0, 30.0), (200, 4.0, 31.0)])
    out = tmp_path / "fig" / "curve.png"
    assert curve_plot.main(["--scale", "4", "--run", "a", str(a), "--line", "target", "31.7",
                            "--set", "Set5", "--out", str(out)]) == 0
    assert Image.open(out).size == (800, 450)
    assert not list(out.parent.glob("*.tmp.png"))
    assert "best 31.000 dB at 200" in capsys.readouterr().out
    assert curve_plot.main(["--scale", "4", "--run", "a", str(tmp_path / "none.csv"),
                            "--out", str(out)]) == 1


@pytest.mark.parametrize("bad,says", [
    (["--run", "a", "LOG", "abc"], "UNTIL is a step number"),
    (["--run", "a", "LOG", "--line", "t", "abc"], "DB is a number"),
    (["--run", "a", "LOG", "--out-svg"], "name it *.png"),
])
def test_cli_arguments_that_cannot_work_are_usage_errors(tmp_path, capsys, bad, says):
    a = _log(tmp_path / "a.csv", [(100, 4.0, 30.0)])
    argv = ["--scale", "4"] + [str(a) if x == "LOG" else x for x in bad if x != "--out-svg"]
    argv += ["--out", str(tmp_path / ("c.svg" if "--out-svg" in bad else "c.png"))]
    with pytest.raises(SystemExit) as exc:
        curve_plot.main(argv)
    assert exc.value.code == 2 and says in capsys.readouterr().err
    assert curve_plot.main(["--scale", "4", "--run", "a", str(tmp_path), "--out",
                            str(tmp_path / "c.png")]) == 1  # a folder is no log
