"""rmisr-train's safety: what a resume restores (Adam's own count, the log up to its step),
what stops a run before it spoils its state (a diverged loss, a failed export), and the settings,
files and folders it refuses before it makes anything."""
import pytest
from safetensors.torch import load_file

from models.training import loop, resume_state, train

from .test_train import _args


@pytest.mark.parametrize("fused", [False, True])
def test_a_resume_keeps_adam_s_own_count(tmp_path, fused):
    """Adam's bias correction divides by the moments' age: a run seeded from a compact state
    at step 12,500 has moments 10 steps old at step 12,510. Resumed, the next update equals the
    uninterrupted one (with the run's step as Adam's count it was 6.6× larger)."""
    import copy

    import torch

    torch.manual_seed(0)
    m = torch.nn.Linear(8, 8)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, fused=fused)
    x = torch.randn(32, 8)
    for _ in range(10):
        opt.zero_grad()
        m(x).pow(2).mean().backward()
        opt.step()
    resume_state.save_state(tmp_path / "s.safetensors", m, opt, 12_510, {})
    m2 = copy.deepcopy(m)
    opt2 = torch.optim.Adam(m2.parameters(), lr=1e-3, fused=fused)
    step, _ = resume_state.load_state(tmp_path / "s.safetensors", m2, opt2)
    assert step == 12_510 and float(opt2.state[m2.weight]["step"]) == 10
    for model, o in ((m, opt), (m2, opt2)):
        o.zero_grad()
        model(x).pow(2).mean().backward()
        o.step()
    assert torch.allclose(m.weight, m2.weight, atol=1e-7)


def test_a_diverged_loss_stops_the_run_before_it_spoils_the_state(tiny_data, tmp_path,
                                                                  monkeypatch, capsys):
    """A NaN loss (a run that diverged) stops the run with exit status 3 before the update: the
    resume state and the exported file keep the last good weights (it went on to exit 0 with
    NaN weights saved)."""
    import math

    import torch

    out, wd = tmp_path / "run", tmp_path / "w"
    assert train.main(_args(tiny_data, out, wd, 2)) == 0
    export_before = (wd / "tiny_x2.safetensors").read_bytes()
    real = train.build_loss

    def diverging(*a, **kw):
        objective = real(*a, **kw)
        calls = [0]

        def nan_at_second(*b, **k):
            calls[0] += 1
            loss = objective(*b, **k)
            return loss * math.nan if calls[0] == 2 else loss
        return nan_at_second

    monkeypatch.setattr(train, "build_loss", diverging)
    assert train.main(_args(tiny_data, out, wd, 6, "--resume", "--ckpt-minutes", "1e-6")) == 3
    assert "the loss is not finite (nan) at step 4" in capsys.readouterr().err
    state_after = load_file(out / "state.safetensors")
    assert resume_state.state_step(out / "state.safetensors") == 3  # saved before the NaN
    assert all(torch.isfinite(v).all() for v in state_after.values())
    assert (wd / "tiny_x2.safetensors").read_bytes() == export_before  # step 2's export stands


@pytest.mark.parametrize("extra,says", [
    (["--ema", "1"], "--ema must be"), (["--lr", "0"], "--lr must be positive"),
    (["--lr-gamma", "-2"], "--lr-gamma must be"), (["--warmup", "-5"], "--warmup must be"),
    (["--p-rescale", "5"], "--p-rescale must be"), (["--threads", "-1"], "--threads must be"),
    (["--arch-args", "{bad"], "--arch-args is not JSON"),
    (["--arch-args", "[1]"], "must be a JSON object"),
    (["--export", "sub/x.safetensors"], "a plain name ending in .safetensors"),
    (["--export", "manifest.json"], "a plain name ending in .safetensors"),
])
def test_settings_that_make_no_sense_are_refused_before_anything_is_made(tiny_data, tmp_path,
                                                                         capsys, extra, says):
    args = _args(tiny_data, tmp_path / "run", tmp_path / "w", 2)
    with pytest.raises(SystemExit) as exc:
        train.main(args + extra)
    assert exc.value.code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_run_never_exports_into_the_shipped_folder(tiny_data, tmp_path, capsys):
    """The default --weights-dir is the run's OUT/export (it was the shipped weights/, whose
    files an export replaced without a word); naming weights/ is refused."""
    from models.manifest import WEIGHTS_DIR

    args = _args(tiny_data, tmp_path / "run", tmp_path / "w", 2)
    i = args.index("--weights-dir")
    with pytest.raises(SystemExit) as exc:
        train.main(args[:i + 1] + [str(WEIGHTS_DIR)] + args[i + 2:])
    assert exc.value.code == 2 and "shipped weights folder" in capsys.readouterr().err
    assert train.main(args[:i] + args[i + 2:]) == 0
    assert (tmp_path / "run" / "export" / "tiny_x2.safetensors").is_file()


def test_resume_and_init_mistakes_are_named_not_trained_from_scratch(tiny_data, tmp_path,
                                                                     capsys):
    """A named --resume-from that is missing, --export-now with nothing saved, a state of another
    network, a missing --init file or one of another architecture: an error before any folder
    is made (they trained from step 0, exported a random model, or gave a traceback)."""
    run, wd = tmp_path / "run", tmp_path / "w"
    cases = [(["--resume-from", str(tmp_path / "nope.safetensors")], "no resume state"),
             (["--resume", "--export-now"], "--export-now exports a saved state"),
             (["--export-now"], "give --resume"),
             (["--init", str(tmp_path / "nope.safetensors")], "--init"),
             ]
    for extra, says in cases:
        with pytest.raises(SystemExit) as exc:
            train.main(_args(tiny_data, run, wd, 2, *extra))
        assert says in str(exc.value.code) and not run.exists()
    assert train.main(_args(tiny_data, run, wd, 2)) == 0
    wider = _args(tiny_data, tmp_path / "run2", wd, 4, "--resume-from",
                  str(run / "state.safetensors"))
    wider[wider.index("--arch-args") + 1] = '{"channels": 16, "distilled": 8}'
    with pytest.raises(SystemExit) as exc:
        train.main(wider)
    assert "is of another network" in str(exc.value.code) and not (tmp_path / "run2").exists()
    srcnn = tmp_path / "srcnn.safetensors"
    from models.manifest import WeightsRecord, export_weights
    from models.registry import create_model
    export_weights(create_model("srcnn"), WeightsRecord(
        file="srcnn.safetensors", method="srcnn", arch="srcnn", arch_args={},
        scale_range=[2.0, 5.0], training={}), tmp_path)
    with pytest.raises(SystemExit) as exc:
        train.main(_args(tiny_data, tmp_path / "run3", wd, 2, "--init", str(srcnn)))
    assert "none of its tensors fits" in str(exc.value.code)


def test_a_resumed_log_drops_the_rows_past_the_resumed_step(tiny_data, tmp_path):
    """A run killed after its last save logged steps it takes again when resumed: those rows
    are removed, not kept twice."""
    run, wd = tmp_path / "run", tmp_path / "w"
    assert train.main(_args(tiny_data, run, wd, 4)) == 0  # state at step 4
    with open(run / "log.csv", "a") as f:  # as a killed segment would have left them
        f.write("6,0.1,0.0002,2.0,20.0,9,2026-01-01T00:00:00\n8,0.1,0.0002,,,9,2026-01-01\n")
    assert train.main(_args(tiny_data, run, wd, 8, "--resume")) == 0
    steps = [int(line.split(",")[0]) for line in (run / "log.csv").read_text().splitlines()[1:]]
    assert steps == sorted(steps) and steps.count(6) == 1 and steps.count(8) == 1


def test_an_export_that_fails_keeps_the_steps_before_it(tiny_data, tmp_path, monkeypatch):
    """A failing export (a full disk, a damaged manifest in the weights folder) ends the run
    with its error, after saving the resume state at the step reached (it was lost)."""
    out, wd = tmp_path / "run", tmp_path / "w"
    wd.mkdir()
    calls = [0]
    real = loop.export_weights

    def full_disk(*a, **kw):
        calls[0] += 1
        if calls[0] == 2:
            raise OSError(28, "No space left on device")
        return real(*a, **kw)

    monkeypatch.setattr(loop, "export_weights", full_disk)
    with pytest.raises(OSError, match="No space left"):
        train.main(_args(tiny_data, out, wd, 6, "--ckpt-minutes", "100"))
    assert resume_state.state_step(out / "state.safetensors") == 4


def test_a_resume_with_nothing_left_to_train_says_so(tiny_data, tmp_path, capsys):
    run, wd = tmp_path / "run", tmp_path / "w"
    assert train.main(_args(tiny_data, run, wd, 4)) == 0
    capsys.readouterr()
    assert train.main(_args(tiny_data, run, wd, 2, "--resume")) == 0
    assert "at step 4 already, --iters 2: nothing to train" in capsys.readouterr().out


def test_grow_names_a_missing_or_unreadable_file(tmp_path):
    from models.training import grow

    with pytest.raises(SystemExit, match="no such file"):
        grow.main([str(tmp_path / "vp"), str(tmp_path / "bl"), str(tmp_path / "out")])
    junk = tmp_path / "junk.safetensors"
    junk.write_text("not weights")
    with pytest.raises(SystemExit, match="is not a safetensors weights file"):
        grow.main([str(junk), str(junk), str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
