"""models.evaluation.side_by_side: rows from several rmisr-eval CSVs, copied verbatim."""
import pytest

from models.evaluation import side_by_side

HEAD = "method,scale,params,macs_g,weights,iterations,set,psnr,ssim,lap_l1,seconds_512,device\n"


def _csv(path, rows):
    path.write_text(HEAD + "".join(f"{m},{s},1,0.1,w,1,{st},{p},0.9,{l},,cpu\n"
                                   for m, s, st, p, l in rows))
    return path


def test_side_by_side_joins_runs_and_marks_missing_cells(tmp_path, capsys):
    a = _csv(tmp_path / "a.csv", [("BL", 2.0, "Urban100_Y", "30.6413", "19.8115"),
                                  ("BL", 4.0, "Urban100_Y", "25.0200", "26.7880")])
    b = _csv(tmp_path / "b.csv", [("VP", 2.0, "Urban100_Y", "30.6406", "19.8461"),
                                  ("VP", 2.0, "Set5", "37.4700", "8.8790")])
    assert side_by_side.main([str(a), str(b), "--methods", "BL", "VP", "--set", "Urban100_Y"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "| Scale | BL PSNR | VP PSNR | BL Lap-L1 | VP Lap-L1 |"
    # the CSV's text, not re-rounded
    assert out[2] == "| ×2 | 30.6413 | 30.6406 | 19.8115 | 19.8461 |"
    assert out[3] == "| ×4 | 25.0200 | — | 26.7880 | — |"
    assert side_by_side.main([str(a), str(b), "--methods", "VP", "--metric", "psnr",
                              "--sets", "Set5", "Urban100_Y"]) == 0
    assert "| VP | ×2 | 37.4700 | 30.6406 |" in capsys.readouterr().out


def test_side_by_side_names_an_unknown_method(tmp_path, capsys):
    a = _csv(tmp_path / "a.csv", [("BL", 2.0, "Set5", "37.0", "8.9")])
    assert side_by_side.main([str(a), "--methods", "RMISR-XX", "--set", "Set5"]) == 2
    assert "RMISR-XX" in capsys.readouterr().err


def test_side_by_side_diff_prints_second_minus_first_and_its_range(tmp_path, capsys):
    a = _csv(tmp_path / "a.csv", [("BL", 2.0, "Set5", "37.4621", "8.9305"),
                                  ("BL", 4.0, "Set5", "31.3845", "11.8260")])
    b = _csv(tmp_path / "b.csv", [("VP", 2.0, "Set5", "37.5065", "8.8685"),
                                  ("VP", 4.0, "Set5", "31.3766", "11.9010")])
    args = [str(a), str(b), "--methods", "BL", "VP", "--metric", "lap_l1", "--sets", "Set5"]
    assert side_by_side.main(args + ["--diff"]) == 0
    out = capsys.readouterr().out
    assert "| ×2 | -0.0620 (-0.69 %) |" in out and "| ×4 | +0.0750 (+0.63 %) |" in out
    assert "range: -0.0620 to +0.0750 (-0.69 % to +0.63 %) over 2 values" in out
    with pytest.raises(SystemExit):
        side_by_side.main(args[:3] + ["BL", "--metric", "psnr", "--diff"])


def test_side_by_side_tags_a_file_so_one_method_from_two_runs_can_be_compared(tmp_path, capsys):
    old = _csv(tmp_path / "old.csv", [("VP", 4.0, "Set5", "31.3370", "11.90")])
    new = _csv(tmp_path / "new.csv", [("VP", 4.0, "Set5", "31.3930", "11.88")])
    assert side_by_side.main([f"{old}=previous", str(new), "--methods", "VP (previous)", "VP",
                              "--metric", "psnr", "--sets", "Set5", "--diff"]) == 0
    out = capsys.readouterr().out
    assert "| VP (previous) | ×4 | 31.3370 |" in out and "| VP | ×4 | 31.3930 |" in out
    assert "| ×4 | +0.0560 (+0.18 %) |" in out
    odd = _csv(tmp_path / "a=b.csv", [("BL", 2.0, "Set5", "37.0", "8.9")])  # a real name with "="
    assert side_by_side.main([str(odd), "--methods", "BL", "--set", "Set5"]) == 0
    assert "| ×2 | 37.0 | 8.9 |" in capsys.readouterr().out
