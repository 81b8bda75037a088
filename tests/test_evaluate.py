"""rmisr-eval: which rows it scores, and the † rows of --beyond-range."""
import json
import time

import numpy as np
import pytest
import torch
from PIL import Image

from models.evaluation.evaluate import main, read_table, seconds_per_512
from models.manifest import WeightsRecord, export_weights
from models.registry import create_model


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


def test_a_run_without_out_writes_to_the_ignored_runs_eval(tmp_path, monkeypatch):
    """A bare run never overwrites the committed tables under results/."""
    weights, bench = _setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["--data", str(bench), "--sets", "Tiny", "--scales", "2", "--no-timing",
                 "--weights-dir", str(weights), "--methods", "bicubic"]) == 0
    assert (tmp_path / "runs" / "eval" / "benchmark.csv").is_file()
    assert not (tmp_path / "results").exists()


def test_meta_variant_scores_meta_models_at_integer_scales_too(tmp_path):
    weights, bench = _setup(tmp_path)
    for file, args, scales, rng in (("bl_x2.safetensors", {"scale": 2}, [2.0], None),
                                    ("bl_meta.safetensors", {"scale": None, "upsampler": "meta",
                                                             "global_skip": "bicubic"},
                                     [], [1.1, 5.0])):
        kw = {"channels": 8, "distilled": 4, **args}
        rec = WeightsRecord(file=file, method="rmisr-bl", arch="rmisr_bl", arch_args=kw,
                            scales=scales, scale_range=rng, training={"note": "test only"})
        export_weights(create_model("rmisr_bl", **kw), rec, weights)
    common = ["--data", str(bench), "--sets", "Tiny", "--scales", "2", "2.5", "--no-timing",
              "--weights-dir", str(weights), "--methods", "bicubic", "rmisr-bl"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    md = (tmp_path / "a" / "benchmark.md").read_text()
    for row in ("| RMISR-BL | ×2 |", "| RMISR-BL-meta | ×2 |", "| RMISR-BL-meta | ×2.5 |",
                "| Bicubic | ×2.5 |"):
        assert row in md
    assert "| RMISR-BL | ×2.5 |" not in md
    assert main(common + ["--out", str(tmp_path / "b"), "--variants", "served"]) == 0
    assert "| RMISR-BL-meta | ×2 |" not in (tmp_path / "b" / "benchmark.md").read_text()


def test_gain_over_bicubic_table(tmp_path):
    weights, bench = _setup(tmp_path)
    assert main(["--data", str(bench), "--sets", "Tiny", "--scales", "2", "--no-timing",
                 "--weights-dir", str(weights), "--out", str(tmp_path / "o")]) == 0
    md = (tmp_path / "o" / "benchmark.md").read_text()
    table = md.split("Gain over bicubic, PSNR dB")[1]
    assert "| SRCNN | ×2 |" in table and "| Bicubic |" not in table.split("Edge fidelity")[0]


def test_compare_reproduces_an_earlier_table_and_fails_on_a_difference(tmp_path, capsys):
    weights, bench = _setup(tmp_path)
    common = ["--data", str(bench), "--sets", "Tiny", "--scales", "2", "--no-timing",
              "--weights-dir", str(weights), "--methods", "bicubic", "srcnn"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    ref = tmp_path / "a" / "benchmark.csv"
    assert main(common + ["--out", str(tmp_path / "b"), "--compare", str(ref)]) == 0
    assert "2 PSNR values shared" in capsys.readouterr().out
    lines = ref.read_text().splitlines()
    head, rows = lines[0], lines[1:]
    psnr_col = head.split(",").index("psnr")
    cells = rows[-1].split(",")
    cells[psnr_col] = f"{float(cells[psnr_col]) + 0.02:.4f}"  # SRCNN off by 0.02 dB
    ref.write_text("\n".join([head] + rows[:-1] + [",".join(cells)]) + "\n")
    assert main(common + ["--out", str(tmp_path / "c"), "--compare", str(ref)]) == 1
    out = capsys.readouterr().out
    assert "DIFFERENT" in out and "SRCNN ×2 Tiny" in out and "(-0.0200)" in out
    assert "1 beyond tolerance, from -0.0200 to -0.0200 dB" in out
    assert main(common + ["--out", str(tmp_path / "d"), "--compare", str(ref),
                          "--tolerance", "0.05"]) == 0
    # a run that shares nothing with the reference proves nothing
    assert main(common[:5] + ["3"] + common[6:] + ["--out", str(tmp_path / "e"),
                                                   "--compare", str(ref)]) == 1
    assert main(common + ["--out", str(tmp_path / "f"), "--compare",
                          str(tmp_path / "nope.csv")]) == 2
    assert "--compare needs benchmark.csv" in capsys.readouterr().err


def test_update_rescores_only_its_rows_and_refuses_stale_copies(tmp_path, capsys):
    weights, bench = _setup(tmp_path)
    common = ["--data", str(bench), "--sets", "Tiny", "--no-timing", "--weights-dir", str(weights)]
    full = tmp_path / "full"
    assert main(common + ["--scales", "2", "3", "--methods", "bicubic", "srcnn",
                          "--out", str(full)]) == 0
    before = full.joinpath("benchmark.csv").read_text().splitlines()
    assert before[0].endswith(",device,sha256,date") and len(before) == 5
    # re-score SRCNN ×3 only: the other three rows are copied as they were
    assert main(common + ["--scales", "3", "--methods", "srcnn", "--update",
                          str(full / "benchmark.csv"), "--out", str(tmp_path / "u")]) == 0
    after = (tmp_path / "u" / "benchmark.csv").read_text().splitlines()
    assert after == before  # same weights, same scores, same order
    md = (tmp_path / "u" / "benchmark.md").read_text()
    assert "Rows scored in this run: SRCNN ×3; the others' scores are copied from" in md
    assert "| SRCNN | ×2 |" in md and "| Bicubic | ×3 |" in md
    # timed: every row is timed in this run, the copied ones too (one machine, one column)
    timed = [c for c in common if c != "--no-timing"] + ["--timing-repeats", "1"]
    assert main(timed + ["--scales", "3", "--methods", "srcnn", "--update",
                         str(full / "benchmark.csv"), "--out", str(tmp_path / "t")]) == 0
    rows = read_table(tmp_path / "t" / "benchmark.csv")
    assert len(rows) == 4 and all(r["seconds_512"] is not None for r in rows)
    assert "every row is timed in this run" in (tmp_path / "t" / "benchmark.md").read_text()
    # new weights: the copied SRCNN ×2 row no longer describes them, so nothing is scored
    rec = WeightsRecord(file="srcnn.safetensors", method="srcnn", arch="srcnn", arch_args={},
                        scale_range=[2.0, 5.0], training={"note": "other weights, test only"})
    torch.manual_seed(1)
    export_weights(create_model("srcnn"), rec, weights)
    capsys.readouterr()
    assert main(common + ["--scales", "3", "--methods", "srcnn", "--update",
                          str(full / "benchmark.csv"), "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err
    assert "SRCNN ×2 (srcnn.safetensors, sha256" in err and "the file has changed" in err
    assert not (tmp_path / "v").exists()
    assert main(common + ["--scales", "2", "3", "--methods", "srcnn", "--update",
                          str(full / "benchmark.csv"), "--out", str(tmp_path / "v")]) == 0
    # a table of other sets cannot be completed by this run
    assert main(common[:2] + ["--sets", "Tiny", "Tiny2"] + common[4:] + [
        "--scales", "3", "--methods", "srcnn", "--update", str(full / "benchmark.csv"),
        "--out", str(tmp_path / "w")]) == 2


def test_update_reads_tables_written_before_the_sha256_and_date_columns(tmp_path):
    weights, bench = _setup(tmp_path)
    common = ["--data", str(bench), "--sets", "Tiny", "--no-timing", "--weights-dir", str(weights)]
    old = tmp_path / "old"
    assert main(common + ["--scales", "2", "3", "--methods", "bicubic", "srcnn",
                          "--out", str(old)]) == 0
    csv_path = old / "benchmark.csv"
    lines = [",".join(line.split(",")[:-2]) for line in csv_path.read_text().splitlines()]
    csv_path.write_text("\n".join(lines) + "\n")  # as rmisr-eval wrote them until 2026-12
    (old / "benchmark.md").write_text("Benchmark (…), 2026-11-29, CPU: test\n")
    table = read_table(csv_path)
    assert {r["date"] for r in table} == {"2026-11-29"} and table[1]["iterations"] is None
    assert main(common + ["--scales", "3", "--methods", "srcnn", "--update", str(csv_path),
                          "--out", str(tmp_path / "u")]) == 0
    md = (tmp_path / "u" / "benchmark.md").read_text()
    assert "(scored 2026-11-29; the CSV's date column says which)" in md
    # the iteration count stands in for the missing sha256: a changed count is a stale row
    man = json.loads((weights / "manifest.json").read_text())
    man["weights"][0]["training"]["iterations"] = 500
    (weights / "manifest.json").write_text(json.dumps(man))
    assert main(common + ["--scales", "3", "--methods", "srcnn", "--update", str(csv_path),
                          "--out", str(tmp_path / "v")]) == 2


def test_seconds_per_512_reports_the_fastest_of_repeats():
    calls = []

    class Slow:
        """Warm-up, then runs of 0.4, 0.05, 0.25 s: the reported time is the fastest."""

        def upscale(self, img, *a, **k):
            delays = [0.0, 0.4, 0.05, 0.25]
            time.sleep(delays[len(calls)])
            calls.append(img.shape)
            return img

    secs = seconds_per_512(Slow(), "x", 2.0, repeats=3)
    assert calls == [(64, 64), (512, 512), (512, 512), (512, 512)]
    assert 0.05 <= secs < 0.25  # neither the first run nor the last
    with pytest.raises(ValueError, match="at least 1"):
        seconds_per_512(Slow(), "x", 2.0, repeats=0)
    with pytest.raises(SystemExit):  # refused before any image is scored
        main(["--timing-repeats", "0"])


def test_medical_region_comparison_alone_and_in_context(tmp_path):
    """models.evaluation.medical_eval --roi: three PSNRs per set; bicubic has no normalisation,
    so its two in-context figures agree, and context helps it (no mirrored edges)."""
    from models import SuperResolver
    from models.evaluation.medical_eval import evaluate_rois

    from ._engine import make_weights_dir

    sr = SuperResolver("cpu", make_weights_dir(tmp_path / "w"))
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:96, 0:80]
    slices = [(1000 * np.sin(xx / 4.0 + k) * np.cos(yy / 5.0) + 50 * rng.standard_normal((96, 80))
               - 300, None) for k in range(2)]
    alone, own, whole = evaluate_rois(sr, slices, "bicubic", 2, 16, 2)
    assert own == whole and whole > alone
    vals = evaluate_rois(sr, slices, "rmisr-bl", 2, 16, 2)
    assert len(vals) == 3 and all(np.isfinite(vals))
    assert evaluate_rois(sr, slices, "bicubic", 2, 64, 1) is None  # no room for the region


@pytest.mark.parametrize("scales", [["6"], ["1.0"], ["2", "nan"]])
def test_scales_outside_the_range_are_refused_before_scoring(tmp_path, scales, capsys):
    weights, bench = _setup(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["--data", str(bench), "--sets", "Tiny", "--scales", *scales, "--no-timing",
              "--weights-dir", str(weights), "--methods", "bicubic", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "--scales must be in" in capsys.readouterr().err


def test_an_empty_set_and_repeated_scales(tmp_path, capsys):
    weights, bench = _setup(tmp_path)
    common = ["--data", str(bench), "--no-timing", "--weights-dir", str(weights),
              "--methods", "bicubic"]
    (bench / "Empty").mkdir()
    assert main(common + ["--sets", "Empty", "--scales", "2", "--out", str(tmp_path / "e")]) == 2
    assert "holds no images" in capsys.readouterr().err
    assert main(common + ["--sets", "Tiny", "--scales", "2", "2",
                          "--out", str(tmp_path / "r")]) == 0
    assert len(read_table(tmp_path / "r" / "benchmark.csv")) == 1


def test_an_image_too_small_to_score_is_named_not_a_traceback(tmp_path, capsys):
    weights, bench = _setup(tmp_path)
    Image.fromarray(np.zeros((17, 40), dtype=np.uint8)).save(bench / "Tiny" / "b_small.png")
    common = ["--data", str(bench), "--sets", "Tiny", "--no-timing", "--weights-dir",
              str(weights), "--methods", "bicubic"]
    assert main(common + ["--scales", "4", "--out", str(tmp_path / "x4")]) == 2
    err = capsys.readouterr().err
    assert "b_small.png: 17×40 pixels, 16×40 on the ×4 LR grid" in err and "at least 19" in err
    assert not (tmp_path / "x4" / "benchmark.csv").exists()
    assert main(common + ["--scales", "2", "--out", str(tmp_path / "x2")]) == 0  # 16 ≥ 15: scored


def test_what_cannot_be_scored_is_refused_not_scored_as_nothing(tmp_path, capsys):
    """A weights folder without weights, a named method without any, a tampered weights file,
    a 16-bit image and a tolerance that is not a number: one line and exit 2 each (they gave an
    empty table with exit 0, a traceback, −42 dB rows, or REPRODUCED whatever the values)."""
    weights, bench = _setup(tmp_path)
    common = ["--data", str(bench), "--sets", "Tiny", "--scales", "2", "--no-timing"]
    assert main(common + ["--methods", "srcnn", "--weights-dir", str(tmp_path / "nope"),
                          "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "nothing to score for srcnn" in err and "the weights folder is missing" in err
    assert not (tmp_path / "a" / "benchmark.csv").exists()
    assert main(common + ["--methods", "bicubic", "rmisr-bl", "--weights-dir", str(weights),
                          "--out", str(tmp_path / "b")]) == 2
    assert "nothing to score for rmisr-bl" in capsys.readouterr().err
    (weights / "srcnn.safetensors").write_bytes(
        (weights / "srcnn.safetensors").read_bytes()[:-8] + b"\0" * 8)
    assert main(common + ["--methods", "srcnn", "--weights-dir", str(weights),
                          "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rmisr-eval: error:") and "Traceback" not in err
    Image.fromarray(np.full((24, 30), 3000, np.uint16)).save(bench / "Tiny" / "deep.png")
    assert main(common + ["--methods", "bicubic", "--out", str(tmp_path / "d")]) == 2
    assert "deep.png: a I;16 image" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(common + ["--methods", "bicubic", "--tolerance", "nan"])
    assert exc.value.code == 2 and "--tolerance must be" in capsys.readouterr().err


def test_the_tools_default_data_is_beside_the_checkout():
    """``../shared/data`` relative to the repository root, wherever the tool's module sits."""
    from pathlib import Path

    from models.evaluation import evaluate, fidelity, medical_eval, uncertainty_eval
    from models.evaluation.benchmark import SHARED_DATA

    root = Path(__file__).resolve().parents[1]
    assert SHARED_DATA == root.parent / "shared" / "data"
    assert evaluate._default_data() == SHARED_DATA / "benchmark"
    assert fidelity._DATA == SHARED_DATA
    assert uncertainty_eval._data() == SHARED_DATA
    assert medical_eval._shared() == SHARED_DATA / "medical"


@pytest.mark.parametrize("tool, has_precision", [("evaluate", True), ("medical_eval", True),
                                                 ("uncertainty_eval", True), ("fidelity", False)])
def test_the_scoring_tools_share_the_engine_options(tool, has_precision, monkeypatch):
    """--device, --precision and --weights-dir: the same choices and defaults (cpu, fp32, the
    shipped weights) in every scoring tool (models.evaluation.engine_args); fidelity compares
    the precisions itself and has no --precision."""
    import argparse
    import importlib

    from models.evaluation import engine_args

    parsers = []

    def stop(self, *args, **kwargs):  # the tool's parser, before the tool runs
        parsers.append(self)
        raise SystemExit(0)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", stop)
    with pytest.raises(SystemExit):
        importlib.import_module(f"models.evaluation.{tool}").main([])
    options = {a.dest: a for a in parsers[0]._actions}
    assert options["device"].default == "cpu"
    assert tuple(options["device"].choices) == engine_args.DEVICES
    assert options["weights_dir"].default == str(engine_args.WEIGHTS_DIR)
    if has_precision:
        assert options["precision"].default == "fp32"
        assert tuple(options["precision"].choices) == tuple(engine_args.PRECISIONS)
    else:
        assert "precision" not in options


def test_tables_are_scored_in_fp32_even_where_auto_would_be_bf16(tmp_path, monkeypatch):
    """The literature's protocol is float32 arithmetic: a table must not change with the CPU
    (on one with native bf16 the engine's ``auto`` is bf16), unless --precision says so."""
    from models.evaluation import engine_args, evaluate
    from models.inference import precision

    monkeypatch.setattr(precision, "_native_bf16", lambda: True)
    weights, bench = _setup(tmp_path)
    assert precision.resolve_precision("auto", "cpu") == "bf16"
    seen = []
    real = evaluate.SuperResolver

    def spy(*args, **kwargs):
        res = real(*args, **kwargs)
        seen.append(res.precision)
        return res
    monkeypatch.setattr(evaluate, "SuperResolver", spy)
    monkeypatch.setattr(engine_args, "SuperResolver", spy)
    common = ["--data", str(bench), "--sets", "Tiny", "--scales", "2", "--no-timing",
              "--weights-dir", str(weights), "--methods", "srcnn"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    assert seen and set(seen) == {"fp32"}
    seen.clear()
    assert main(common + ["--out", str(tmp_path / "b"), "--precision", "auto"]) == 0
    assert set(seen) == {"bf16"}


def test_medical_eval_refuses_a_missing_folder_and_skips_empty_sets(tmp_path, capsys):
    from models.evaluation import medical_eval

    assert medical_eval.main(["--data", str(tmp_path / "nope"), "--methods", "srcnn"]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "mri_brain" / "val").mkdir(parents=True)
    (tmp_path / "ct").mkdir()
    names = list(medical_eval.load_sets(tmp_path))
    assert not any("MRI" in n or "Chest" in n for n in names)  # empty: no set of NaNs
