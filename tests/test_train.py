"""rmisr-train end to end on tiny data: export, manifest record, resume, DDP on gloo."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from models.training import loop, resume_state, train, warm_start
from models.training.data import PatchSampler
from models.manifest import Manifest, load_model, sha256_file

ROOT = Path(__file__).resolve().parents[1]


def test_patch_sampler_shapes_and_range(tiny_data):
    s = PatchSampler([tiny_data / "train"], patch_lr=12, seed=1)
    lr, hr = s.sample(3, 2.5)
    assert lr.shape == (3, 1, 12, 12) and hr.shape == (3, 1, 30, 30)
    assert 0 <= lr.min() and lr.max() <= 1
    assert np.allclose(lr.numpy() * 255, np.round(lr.numpy() * 255), atol=1e-3)  # 8-bit levels


def test_a_patch_no_training_image_holds_is_refused_before_anything_is_written(tiny_data,
                                                                              tmp_path):
    s = PatchSampler([tiny_data / "train"], patch_lr=20, seed=1)  # 64×72 images
    s.sample(1, 3.0)  # 60² fits
    with pytest.raises(ValueError, match=r"80².*any holds is 64².*at most 16"):
        s.sample(1, 4.0)
    out = tmp_path / "run"
    argv = _args(tiny_data, out, tmp_path / "w", 2)
    argv[argv.index("--patch") + 1] = "40"  # ×2: an 80² HR window
    with pytest.raises(SystemExit, match="at most 32"):
        train.main(argv)
    assert not out.exists()


def test_a_validation_set_that_cannot_be_scored_is_refused_before_training(tiny_data, tmp_path):
    Image.fromarray(np.zeros((10, 10), dtype=np.uint8)).save(tiny_data / "val" / "small.png")
    out = tmp_path / "run"
    with pytest.raises(SystemExit, match=r"--val .*small.png: 10×10 pixels.*at least 15"):
        train.main(_args(tiny_data, out, tmp_path / "w", 2))
    with pytest.raises(SystemExit, match="no such folder"):
        train.main(_args(tiny_data, out, tmp_path / "w", 2, "--val", str(tmp_path / "none")))
    assert not out.exists()


def _args(tiny_data, out, wd, iters, *extra):
    return ["--arch", "rmisr_bl", "--scale", "2", "--arch-args", '{"channels": 8, "distilled": 4}',
            "--data", str(tiny_data / "train"), "--val", str(tiny_data / "val"),
            "--iters", str(iters), "--val-every", "2", "--batch", "2", "--patch", "12",
            "--out", str(out), "--export", "tiny_x2.safetensors", "--weights-dir", str(wd),
            "--device", "cpu", *extra]


def _vp_args(tiny_data, out, wd, iters, *extra):
    """A tiny RMISR-VP ×2 run grown from the file that :func:`_args` exports into ``wd``."""
    return ["--arch", "rmisr_vp", "--scale", "2", "--arch-args", '{"channels": 8, "distilled": 4}',
            "--data", str(tiny_data / "train"), "--val", str(tiny_data / "val"),
            "--iters", str(iters), "--val-every", "1", "--batch", "2", "--patch", "12",
            "--out", str(out), "--export", "vp.safetensors", "--weights-dir", str(wd),
            "--device", "cpu", "--init", str(wd / "tiny_x2.safetensors"), *extra]


def test_train_exports_weights_with_a_true_manifest_and_resumes(tiny_data, tmp_path):
    out, wd = tmp_path / "run", tmp_path / "weights"
    assert train.main(_args(tiny_data, out, wd, 4)) == 0
    rec = Manifest(wd).resolve("rmisr-bl", 2)
    assert rec.file == "tiny_x2.safetensors" and rec.training["iterations"] in (2, 4)
    assert rec.training["loss"] == "L1" and "val" in rec.training["validation"]
    load_model(rec, wd)  # sha256 verified
    assert (out / "state.safetensors").exists()
    assert train.main(_args(tiny_data, out, wd, 6, "--resume")) == 0
    rows = (out / "log.csv").read_text().strip().splitlines()
    steps = [int(r.split(",")[0]) for r in rows[1:] if r.split(",")[4]]
    assert steps[-1] == 6 and 4 in steps


def test_compact_resume_state_carries_the_log_and_seeds_a_new_run(tiny_data, tmp_path):
    from models.evaluation.curve import format_curve, read_curve
    from models.training.resume_state import compact
    out, wd = tmp_path / "run", tmp_path / "weights"
    assert train.main(_args(tiny_data, out, wd, 4)) == 0
    small = compact(out / "state.safetensors", tmp_path / "resume" / "tiny.safetensors")
    assert small.with_suffix(".log.csv").exists() and resume_state.state_step(small) == 4
    table = format_curve(read_curve(small.with_suffix(".log.csv")))
    assert "| 4" in table and "val ×2 (dB)" in table
    # a new run folder seeded from the compact state continues its step count and its log
    out2 = tmp_path / "run2"
    assert train.main(_args(tiny_data, out2, wd, 6, "--resume-from", str(small))) == 0
    assert resume_state.state_step(out2 / "state.safetensors") == 6
    steps = [r.step for r in read_curve(out2 / "log.csv")]
    assert steps[0] == 2 and steps[-1] == 6
    # the same command again prefers the run's own, later state over the seed
    own = out2 / "state.safetensors"
    assert resume_state.pick_resume_state(own, small) == own


def test_half_compact_state_is_smaller_and_resumes(tiny_data, tmp_path):
    from safetensors.torch import load_file

    from models.training.resume_state import compact
    out, wd = tmp_path / "run", tmp_path / "weights"
    assert train.main(_args(tiny_data, out, wd, 3)) == 0
    full = compact(out / "state.safetensors", tmp_path / "full.safetensors")
    half = compact(out / "state.safetensors", tmp_path / "half.safetensors", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    a, b = load_file(str(full)), load_file(str(half))
    assert all(b[k].dtype.itemsize == 2 and (b[k].float() - a[k]).abs().max()
               <= 1e-3 * a[k].abs().max() + 1e-6 for k in a if a[k].is_floating_point())
    out2 = tmp_path / "run2"
    assert train.main(_args(tiny_data, out2, wd, 5, "--resume-from", str(half))) == 0
    assert resume_state.state_step(out2 / "state.safetensors") == 5


def test_a_compact_state_equal_to_the_shipped_file_is_a_reference_to_it(tiny_data, tmp_path):
    """No tensors twice in the working tree: a state whose model is the exported file is written
    as a reference to it, resumes and seeds exactly as the copy, and is refused (naming both
    sha256) once that file is replaced; a state that differs is still written as a copy."""
    from models.training.resume_state import ResumeStateError, compact, state_tensors
    from models.training.ship import stale_reference
    out, wd = tmp_path / "run", tmp_path / "weights"
    assert train.main(_args(tiny_data, out, wd, 4, "--export-latest")) == 0  # export = step 4
    shipped = wd / "tiny_x2.safetensors"
    copy = compact(out / "state.safetensors", tmp_path / "copy" / "tiny.safetensors")
    ref = compact(out / "state.safetensors", wd / "resume" / "tiny.safetensors", same_as=shipped)
    assert ref.stat().st_size < 2000 < copy.stat().st_size and stale_reference(ref) is None
    assert resume_state.state_step(ref) == 4 and ref.with_suffix(".log.csv").exists()
    a, b = load_file(str(copy)), state_tensors(ref)
    assert a.keys() == b.keys() and all(torch_equal(a[k], b[k]) for k in a)
    seed, sha = warm_start.load_seed(str(ref))
    assert sha == Manifest(wd).for_file("tiny_x2.safetensors").sha256 and len(seed) == len(a)
    out2 = tmp_path / "run2"
    assert train.main(_args(tiny_data, out2, tmp_path / "w2", 5, "--resume-from", str(ref))) == 0
    assert resume_state.state_step(out2 / "state.safetensors") == 5
    # a later state (step 5) is not the shipped file: a copy, whatever --same-as says
    later = compact(out2 / "state.safetensors", tmp_path / "later.safetensors", same_as=shipped)
    assert later.stat().st_size > 2000
    # the shipped file replaced: refused, naming the cause
    assert train.main(_args(tiny_data, tmp_path / "run3", wd, 2, "--export-latest")) == 0
    with pytest.raises(ResumeStateError, match="replaced after the state was written"):
        state_tensors(ref)
    assert "can no longer be resumed" in stale_reference(ref)  # what ship notes


def test_a_fresh_run_in_a_used_folder_sets_the_earlier_run_aside(tiny_data, tmp_path):
    """Without --resume a run starts its own log; the earlier log and state are renamed, not
    continued or overwritten."""
    out, wd = tmp_path / "run", tmp_path / "weights"
    assert train.main(_args(tiny_data, out, wd, 2)) == 0
    first = (out / "state.safetensors").read_bytes()
    assert train.main(_args(tiny_data, out, wd, 2)) == 0
    steps = [int(r.split(",")[0]) for r in (out / "log.csv").read_text().splitlines()[1:]]
    assert steps == [2]  # not the earlier run's rows followed by its own
    (old_log,) = out.glob("log.before-*.csv")
    (old_state,) = out.glob("state.before-*.safetensors")
    assert old_state.read_bytes() == first and old_log.read_text().startswith("step,")


def test_a_reference_at_an_earlier_shipped_step_resumes_that_model(tiny_data, tmp_path):
    """The run went on past the exported step: --at-weights writes the reference for that step
    (its log cut there), and refuses a step the run never reached or another model's file."""
    import shutil

    from models.training.resume_state import compact, state_tensors
    out, wd = tmp_path / "run", tmp_path / "weights"
    assert train.main(_args(tiny_data, out, wd, 2, "--export-latest")) == 0
    shipped = shutil.copyfile(wd / "tiny_x2.safetensors", tmp_path / "shipped.safetensors")
    assert train.main(_args(tiny_data, out, wd, 4, "--resume")) == 0  # the run goes on
    ref = compact(out / "state.safetensors", tmp_path / "resume" / "tiny.safetensors",
                  at_weights=shipped, step=2)
    assert ref.stat().st_size < 2000 and resume_state.state_step(ref) == 2
    a, b = load_file(str(shipped)), state_tensors(ref)
    assert b.keys() == {f"model.{k}" for k in a} and all(torch_equal(a[k], b[f"model.{k}"])
                                                          for k in a)
    steps = [int(r.split(",")[0]) for r in ref.with_suffix(".log.csv").read_text().splitlines()[1:]]
    assert steps and max(steps) == 2
    with pytest.raises(ValueError, match="needs --step"):
        compact(out / "state.safetensors", tmp_path / "x.safetensors", at_weights=shipped, step=5)
    other = tmp_path / "other"
    assert train.main(_vp_args(tiny_data, other, wd, 1)) == 0
    with pytest.raises(ValueError, match="not a model of this run"):
        compact(out / "state.safetensors", tmp_path / "x.safetensors",
                at_weights=wd / "vp.safetensors", step=2)


def torch_equal(x, y) -> bool:
    import torch
    return x.dtype == y.dtype and bool(torch.equal(x, y))


def test_train_vp_meta_with_contextual_loss(tiny_data, tmp_path):
    args = ["--arch", "rmisr_vp", "--upsampler", "meta", "--scale-range", "1.5", "2.0",
            "--arch-args", '{"channels": 8, "distilled": 4}', "--data", str(tiny_data / "train"),
            "--iters", "2", "--batch", "2", "--patch", "12", "--out", str(tmp_path / "vp"),
            "--device", "cpu"]
    assert train.main(args) == 0


@pytest.mark.parametrize("extra, term", [([], False), (["--sr-lap-weight", "0.5"], True)])
def test_vp_record_names_the_output_laplacian_term_only_when_used(tiny_data, tmp_path, extra, term):
    wd = tmp_path / "w"
    args = ["--arch", "rmisr_vp", "--scale", "2", "--arch-args", '{"channels": 8, "distilled": 4}',
            "--data", str(tiny_data / "train"), "--val", str(tiny_data / "val"), "--iters", "2",
            "--val-every", "2", "--batch", "2", "--patch", "12", "--cx-weight", "0",
            "--out", str(tmp_path / "vp"), "--export", "vp.safetensors", "--weights-dir", str(wd),
            "--device", "cpu", *extra]
    assert train.main(args) == 0
    loss = Manifest(wd).resolve("rmisr-vp", 2).training["loss"]
    assert loss.startswith("L1 + 10·L1(Lap) + 0·CX[off]")
    assert ("0.5·L1(Lap(SR))" in loss) == term


@pytest.mark.slow
def test_distributed_data_parallel_on_two_cpu_processes(tiny_data, tmp_path):
    out, wd = tmp_path / "ddp", tmp_path / "w"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", "29517", "-m", "models.training.train", *_args(tiny_data, out, wd, 2)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, timeout=300)
    rec = Manifest(wd).resolve("rmisr-bl", 2)
    assert rec.training["batch"] == 4  # 2 per process × 2 processes


def test_init_seeds_the_vp_sr_branch_from_a_bl_file():
    from models.registry import create_model
    bl = create_model("rmisr_bl", scale=2, channels=8, distilled=4)
    vp = create_model("rmisr_vp", scale=2, channels=8, distilled=4)
    assert warm_start.init_from(vp, bl.state_dict()) > 0
    bl_sd, vp_sd = bl.state_dict(), vp.state_dict()
    shared = [k for k in bl_sd if k.startswith("body.blocks.3.")]
    assert shared and all((vp_sd["sr_body." + k[5:]] == bl_sd[k]).all() for k in shared)
    assert not (vp_sd["sr_body.blocks.5." + shared[0][len("body.blocks.3."):]]
                == bl_sd[shared[0]]).all()  # blocks 4-5 have no BL counterpart


@pytest.mark.parametrize("skip", [None, "bicubic"])  # the ×4 files; the ×2/×3 files
def test_init_from_bl_makes_the_vp_compute_the_bl_output(skip):
    """Function-preserving init (models.training.grow): the same SR output, of either sign."""
    import torch

    from models.registry import create_model
    from models.resize import upsample_bicubic
    torch.manual_seed(0)
    bl = create_model("rmisr_bl", scale=2, channels=8, distilled=4, global_skip=skip)
    with torch.no_grad():
        for p in bl.upsampler.parameters():
            p.normal_(0, 0.3)  # as trained: not the zero residual of a fresh skip model
    vp = create_model("rmisr_vp", scale=2, channels=8, distilled=4, global_skip=skip)
    warm_start.init_from(vp, bl.state_dict())
    x = torch.rand(1, 1, 10, 12)
    with torch.no_grad():
        want, (got, _) = bl(x), vp(x)
    assert ((want - upsample_bicubic(x, 2) if skip else want) < 0).float().mean() > 0.2  # ± pair
    torch.testing.assert_close(got, want)
    # the Laplacian branch is not switched off: its maps reach the output through trainable weights
    vp(x)[0].sum().backward()
    assert vp.reduce[0].weight.grad[0, 8:].abs().sum() > 0  # Laplacian maps → SR output
    assert vp.sr_out.weight.grad[0, 1:].abs().sum() > 0


def test_init_from_bl_meta_makes_the_meta_vp_compute_the_bl_output():
    """16 reduced channels hold all 8 of a narrow BL-meta: the reduced-rank transform is exact."""
    import torch

    from models.registry import create_model
    from models.resize import upsample_bicubic
    torch.manual_seed(0)
    small = {"channels": 8, "distilled": 4, "upsampler": "meta", "scale": None,
             "global_skip": "bicubic"}
    bl = create_model("rmisr_bl", **small)
    with torch.no_grad():
        for p in bl.upsampler.parameters():
            p.normal_(0, 0.1)  # as trained: not the zero residual of a fresh model
    vp = create_model("rmisr_vp", **small)
    with pytest.raises(ValueError, match="calibration"):
        warm_start.init_from(vp, bl.state_dict())
    warm_start.init_from(vp, bl.state_dict(), calibration=torch.rand(2, 1, 12, 12))
    x = torch.rand(1, 1, 9, 11)
    with torch.no_grad():
        for s in (1.7, 2.5, 4.0):
            want = bl(x, s)
            assert (want - upsample_bicubic(x, s)).abs().mean() > 1e-3  # a non-trivial residual
            torch.testing.assert_close(vp(x, s)[0], want, rtol=1e-4, atol=1e-4)


def test_reduced_rank_basis_is_exact_on_a_feature_subspace():
    import torch

    from models.training.grow import reduced_rank_basis
    torch.manual_seed(0)
    basis = torch.randn(3, 10)
    feats = torch.randn(500, 3) @ basis  # features live in a 3-d subspace of R^10
    filters = torch.randn(40, 10)
    r, m = reduced_rank_basis(filters, feats, 3)
    assert r.shape == (3, 10) and m.shape == (10, 3)
    torch.testing.assert_close(feats @ r.T @ m.T @ filters.T, feats @ filters.T,
                               rtol=1e-3, atol=1e-3)
    r2, m2 = reduced_rank_basis(filters, feats, 2)
    assert not torch.allclose(feats @ r2.T @ m2.T @ filters.T, feats @ filters.T, atol=1e-2)


def test_init_refuses_a_bl_file_with_another_global_skip(tiny_data, tmp_path):
    """The state dict does not say whether BL added bicubic; its manifest record does."""
    wd = tmp_path / "w"
    assert train.main(_args(tiny_data, tmp_path / "bl", wd, 1, "--arch-args",
                            '{"channels": 8, "distilled": 4, "global_skip": "bicubic"}')) == 0
    with pytest.raises(SystemExit, match="global_skip='bicubic'"):
        train.main(_vp_args(tiny_data, tmp_path / "vp", wd, 1))
    assert not (wd / "vp.safetensors").exists()


def test_a_compact_resume_state_seeds_a_grown_vp_and_its_skip_is_checked(tiny_data, tmp_path):
    """A committed resume state (not a shipped file) can seed an RMISR-VP; its metadata, not a
    manifest record, says which global skip the BL had."""
    from models.training.resume_state import compact

    wd = tmp_path / "w"
    bl_args = '{"channels": 8, "distilled": 4, "global_skip": "bicubic"}'
    assert train.main(_args(tiny_data, tmp_path / "bl", wd, 1, "--arch-args", bl_args)) == 0
    state = compact(tmp_path / "bl" / "state.safetensors", tmp_path / "resume" / "bl.safetensors")
    vp = ["--init", str(state)]
    with pytest.raises(SystemExit, match="global_skip='bicubic'"):
        train.main(_vp_args(tiny_data, tmp_path / "vp", wd, 1, *vp))
    assert train.main(_vp_args(tiny_data, tmp_path / "vp2", wd, 1, *vp, "--arch-args",
                               bl_args)) == 0
    assert Manifest(wd).for_file("vp.safetensors").training["init"] == "bl.safetensors"


def test_bl_embedding_refuses_mixed_upsamplers():
    from models.training.grow import embed_bl_in_vp
    from models.registry import create_model
    bl = create_model("rmisr_bl", scale=2, channels=8, distilled=4)
    vp = create_model("rmisr_vp", upsampler="meta", scale=None, channels=8, distilled=4,
                      global_skip="bicubic")
    with pytest.raises(ValueError, match="both"):
        embed_bl_in_vp(vp, bl.state_dict())


def test_freeze_steps_keep_the_seeded_tensors_and_log_the_starting_point(tiny_data, tmp_path):
    from models.evaluation.curve import format_curve, read_curve
    wd = tmp_path / "w"
    assert train.main(_args(tiny_data, tmp_path / "bl", wd, 2)) == 0
    bl = load_file(str(wd / "tiny_x2.safetensors"))
    assert train.main(_vp_args(tiny_data, tmp_path / "vp", wd, 2, "--freeze-steps", "5")) == 0
    rec = Manifest(wd).resolve("rmisr-vp", 2)
    assert rec.training["freeze_steps"] == 5
    vp = load_file(str(wd / "vp.safetensors"))
    assert (vp["sr_body.blocks.2.fuse.weight"] == bl["body.blocks.2.fuse.weight"]).all()  # fixed
    assert not (vp["sr_body.fuse.0.weight"][:, :32] == bl["body.fuse.0.weight"]).all()  # trained
    rows = read_curve(tmp_path / "vp" / "log.csv")
    assert rows[0].step == 0 and rows[0].loss != rows[0].loss  # as initialised: no training loss
    assert "| 0 |" in format_curve(rows) and "| 0 (best)" not in format_curve(rows)


def test_freeze_steps_refuse_to_freeze_everything(tiny_data, tmp_path):
    wd = tmp_path / "w"
    assert train.main(_args(tiny_data, tmp_path / "a", wd, 2)) == 0
    with pytest.raises(SystemExit, match="nothing would train"):
        train.main(_args(tiny_data, tmp_path / "b", tmp_path / "w2", 2,
                         "--init", str(wd / "tiny_x2.safetensors"), "--freeze-steps", "3"))


def test_a_residual_meta_vp_seeded_from_a_fixed_vp_still_starts_as_bicubic(tmp_path):
    import torch
    from safetensors.torch import save_file

    from models.registry import create_model
    from models.resize import upsample_bicubic
    small = {"channels": 8, "distilled": 4}
    fixed = create_model("rmisr_vp", scale=2, **small)
    save_file({k: v.contiguous() for k, v in fixed.state_dict().items()}, str(tmp_path / "vp.st"))
    meta = create_model("rmisr_vp", upsampler="meta", scale=None, global_skip="bicubic", **small)
    assert warm_start.init_from(meta, load_file(str(tmp_path / "vp.st"))) > 0
    assert (meta.state_dict()["lap_blocks.0.fuse.weight"] == fixed.state_dict()[
        "lap_blocks.0.fuse.weight"]).all()
    x = torch.rand(1, 1, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(meta(x, 2.5)[0], upsample_bicubic(x, 2.5))


@pytest.mark.parametrize("latest", [False, True])
def test_export_latest_exports_at_every_validation(tiny_data, tmp_path, monkeypatch, latest):
    psnr = iter([30.0, 29.0, 28.0])  # every validation worse than the one before
    monkeypatch.setattr(loop, "validate", lambda *a: {2.0: next(psnr)})
    wd = tmp_path / "w"
    flags = ["--export-latest"] if latest else []
    assert train.main(_args(tiny_data, tmp_path / "run", wd, 4, *flags)) == 0
    rec = Manifest(wd).resolve("rmisr-bl", 2)
    assert rec.training["iterations"] == (4 if latest else 2)
    assert rec.training["validation"]["val"]["x2"] == (29.0 if latest else 30.0)


def test_ema_validates_and_exports_the_average_of_the_weights(tiny_data, tmp_path):
    """--ema DECAY exports the moving average, not the last weights. With DECAY near 1 the
    average hardly moves from its first value, the weights after step 1: the export of a 3-step
    run equals that of a 1-step run with the same seed, and its record says so. (DECAY 1 itself
    is refused: the average would never move.)"""
    one, avg = tmp_path / "w1", tmp_path / "wema"
    assert train.main(_args(tiny_data, tmp_path / "r1", one, 1, "--val-every", "1")) == 0
    assert train.main(_args(tiny_data, tmp_path / "r3", avg, 3, "--val-every", "3",
                            "--ema", "0.999999", "--export-latest")) == 0
    a, b = load_file(str(one / "tiny_x2.safetensors")), load_file(str(avg / "tiny_x2.safetensors"))
    assert a.keys() == b.keys()
    assert all(np.allclose(a[k].numpy(), b[k].numpy(), rtol=0, atol=1e-6) for k in a)
    record = Manifest(avg).records[0]
    assert record.training["ema"] == 0.999999 and record.training["iterations"] == 3
    last = load_file(str(tmp_path / "r3" / "state.safetensors"))  # the trained weights moved on
    assert all(f"model.{k}" in last for k in b)
    assert any(not np.array_equal(last[f"model.{k}"].numpy(), b[k].numpy()) for k in b)
    for bad in ("1", "1.5"):
        with pytest.raises(SystemExit):
            train.main(_args(tiny_data, tmp_path / "bad", avg, 1, "--ema", bad))


def test_export_now_exports_the_resumed_state_without_training(tiny_data, tmp_path, monkeypatch):
    """A run's last state, not its best validation, exported by repeating its command with
    ``--resume --export-now``: the record says the state's step and the new validation."""
    import torch
    psnr = iter([30.0, 29.0, 28.5])  # step 2 is the best; step 4 is not exported by the run
    monkeypatch.setattr(loop, "validate", lambda *a: {2.0: next(psnr)})
    wd, out = tmp_path / "w", tmp_path / "run"
    assert train.main(_args(tiny_data, out, wd, 4)) == 0
    assert Manifest(wd).resolve("rmisr-bl", 2).training["iterations"] == 2
    log_before = (out / "log.csv").read_text()
    state_before = (out / "state.safetensors").read_bytes()
    assert train.main(_args(tiny_data, out, wd, 4, "--resume", "--export-now")) == 0
    rec = Manifest(wd).resolve("rmisr-bl", 2)
    assert rec.training["iterations"] == 4 and rec.training["validation"]["val"]["x2"] == 28.5
    exported = load_file(str(wd / "tiny_x2.safetensors"))
    state = load_file(str(out / "state.safetensors"))
    assert all(torch.equal(v, state[f"model.{k}"]) for k, v in exported.items())
    assert (out / "log.csv").read_text() == log_before  # nothing trained, nothing logged
    assert (out / "state.safetensors").read_bytes() == state_before
    no_export = _args(tiny_data, out, wd, 4, "--resume", "--export-now")
    del no_export[no_export.index("--export"):no_export.index("--export") + 2]
    with pytest.raises(SystemExit):  # --export-now needs the file to write
        train.main(no_export)


def test_a_resumed_run_keeps_the_file_that_seeded_it(tiny_data, tmp_path):
    """The record of a run resumed from another folder's state still names its --init file."""
    from models.training.resume_state import compact
    wd, wd2 = tmp_path / "w", tmp_path / "w2"
    assert train.main(_args(tiny_data, tmp_path / "first", wd, 2)) == 0
    seeded = _args(tiny_data, tmp_path / "run", wd2, 2, "--init", str(wd / "tiny_x2.safetensors"))
    assert train.main(seeded) == 0
    small = compact(tmp_path / "run" / "state.safetensors", tmp_path / "seed.safetensors")
    resumed = _args(tiny_data, tmp_path / "run2", wd2, 2, "--resume-from", str(small),
                    "--export-now")
    assert train.main(resumed) == 0
    rec = Manifest(wd2).resolve("rmisr-bl", 2)
    assert rec.training["init"] == "tiny_x2.safetensors" and rec.training["init_sha256"]


def test_freeze_survives_a_float16_resume_state():
    """A compact ``--half`` state rounds the fixed tensors; they are still recognised and
    restored."""
    import torch

    from models.registry import create_model
    bl = create_model("rmisr_bl", scale=2, channels=8, distilled=4)
    vp = create_model("rmisr_vp", scale=2, channels=8, distilled=4)
    warm_start.init_from(vp, bl.state_dict())
    with torch.no_grad():
        for p in vp.parameters():
            p.copy_(p.half().float())
    head = vp.sr_body.head.weight
    assert not torch.equal(head, bl.body.head.weight)
    fixed = warm_start.verbatim_from(vp, bl.state_dict())
    assert any(p is head for p in fixed) and torch.equal(head, bl.body.head.weight)
    assert not any(p is vp.lap_head.weight for p in fixed)


def test_curve_marks_scales_a_row_did_not_validate_and_picks_the_best_by_mean(tmp_path):
    from models.evaluation.curve import format_curve, read_curve
    log = tmp_path / "log.csv"
    log.write_text("step,loss,lr,val_scale,val_psnr,train_seconds,time\n"
                   "500,0.03,1e-4,4.0,34.0,60,t\n"          # one scale only
                   "1000,0.03,1e-4,1.2,37.0,120,t\n1000,0.03,1e-4,4.0,29.0,120,t\n"
                   "1500,0.03,1e-4,1.2,36.0,180,t\n1500,0.03,1e-4,4.0,29.5,180,t\n")
    table = format_curve(read_curve(log))
    assert "| 500 (best) | 0.02 | 0.03000 | 0.0001 | — | 34.000 |" in table
    assert "| 1000 |" in table  # mean 33.0: a row's extra scales do not add to its score


def test_resuming_with_other_validation_scales_restarts_the_best_psnr(tiny_data, tmp_path):
    """A best mean over ×2 is not comparable with one over ×3: after such a resume the run
    exports."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    out, wd = tmp_path / "run", tmp_path / "weights"

    def args(iters, val_scale, *extra):
        return ["--arch", "srcnn", "--scale-range", "2", "3", "--data", str(tiny_data / "train"),
                "--val", str(tiny_data / "val"), "--val-scales", val_scale, "--iters", str(iters),
                "--val-every", "2", "--batch", "2", "--patch", "12", "--out", str(out),
                "--export", "s.safetensors", "--weights-dir", str(wd), "--device", "cpu", *extra]

    def exported():
        rec = Manifest(wd).resolve("srcnn", 2).training
        return rec["iterations"], list(rec["validation"]["val"])

    assert train.main(args(2, "2")) == 0
    state = out / "state.safetensors"
    with safe_open(str(state), "pt") as f:
        meta = dict(f.metadata())
    extra = json.loads(meta["extra"])
    extra["best_val"] = 1e9  # unbeatable on the same validation
    save_file(load_file(str(state)), str(state), metadata={**meta, "extra": json.dumps(extra)})
    assert train.main(args(4, "2", "--resume")) == 0
    assert exported() == (2, ["x2"])  # same validation: the best stands
    assert train.main(args(6, "3", "--resume")) == 0
    assert exported() == (6, ["x3"])  # other scales: the best restarted


def test_a_restart_with_another_schedule_keeps_the_earlier_one_in_the_record(tiny_data, tmp_path):
    """Resuming with a new --lr must not erase how the first steps were trained, nor the note."""
    out, wd = tmp_path / "run", tmp_path / "weights"
    assert train.main(_args(tiny_data, out, wd, 4, "--note", "body from x4")) == 0
    assert train.main(_args(tiny_data, out, wd, 6, "--resume", "--lr", "1e-4",
                            "--export-latest")) == 0
    rec = Manifest(wd).resolve("rmisr-bl", 2).training
    assert rec["iterations"] == 6 and rec["note"] == "body from x4"
    assert [(s["from_step"], s["lr"]) for s in rec["schedule"]] == [(0, 2e-4), (4, 1e-4)]
    # the same command again adds no segment
    assert train.main(_args(tiny_data, out, wd, 8, "--resume", "--lr", "1e-4",
                            "--export-latest")) == 0
    assert len(Manifest(wd).resolve("rmisr-bl", 2).training["schedule"]) == 2


def test_the_schedule_records_where_the_output_laplacian_term_started():
    import argparse
    base = dict(lr=1e-4, lr_step=1500, lr_gamma=0.5, seed=0, note="")
    old = [{"from_step": 0, **{k: base[k] for k in ("lr", "lr_step", "lr_gamma", "seed")}}]
    same = loop.schedule(old, argparse.Namespace(**base, sr_lap_weight=0.0), 500)
    assert same == old  # a segment written before the option existed still matches
    new = loop.schedule(old, argparse.Namespace(**base, sr_lap_weight=1.0), 500)
    assert new[-1]["from_step"] == 500 and new[-1]["sr_lap_weight"] == 1.0 and len(new) == 2
    assert loop.schedule(new, argparse.Namespace(**base, sr_lap_weight=1.0), 700) == new
    frozen = loop.schedule(new, argparse.Namespace(**base, sr_lap_weight=1.0, freeze_steps=900),
                             700)  # a resume that moves --freeze-steps is a restart too
    assert len(frozen) == 3 and frozen[-1]["freeze_steps"] == 900
    older = loop.schedule(old, argparse.Namespace(**base, freeze_steps=900), 500)
    assert older == old  # a segment from before --freeze-steps was recorded: unknown, matches


def test_warmup_ramps_the_lr_from_the_segment_start_and_a_resume_continues_it(tiny_data, tmp_path):
    import argparse
    a = argparse.Namespace(lr=1e-4, lr_step=1000, lr_gamma=0.5, warmup=4)
    assert [loop.lr_at(s, a, 10) for s in (10, 11, 13, 14)] == pytest.approx(
        [2.5e-5, 5e-5, 1e-4, 1e-4])
    assert loop.lr_at(1010, argparse.Namespace(**{**vars(a), "warmup": 0}), 10) == 5e-5
    out, wd = tmp_path / "run", tmp_path / "weights"
    assert train.main(_args(tiny_data, out, wd, 2)) == 0
    assert train.main(_args(tiny_data, out, wd, 4, "--resume", "--warmup", "4",
                            "--export-latest")) == 0
    seg = Manifest(wd).resolve("rmisr-bl", 2).training["schedule"][-1]
    assert (seg["from_step"], seg["warmup"]) == (2, 4)
    assert train.main(_args(tiny_data, out, wd, 6, "--resume", "--warmup", "4",
                            "--export-latest")) == 0  # same settings: the ramp goes on
    assert len(Manifest(wd).resolve("rmisr-bl", 2).training["schedule"]) == 2
    rows = [r.split(",") for r in (out / "log.csv").read_text().splitlines()[1:]]
    lrs = {int(r[0]): float(r[2]) for r in rows if r[2]}
    assert lrs[2] == pytest.approx(2e-4) and lrs[4] == pytest.approx(1e-4)  # step 4 ran at 2/4
    assert lrs[6] == pytest.approx(2e-4)  # step 6 ran at 4/4: the ramp was not restarted
    # a first segment with a warm-up is recorded too
    assert train.main(_args(tiny_data, tmp_path / "r2", tmp_path / "w2", 1, "--warmup", "3")) == 0
    assert Manifest(tmp_path / "w2").resolve("rmisr-bl", 2).training["schedule"][0]["warmup"] == 3


def _small_vp_grown_from_bl(scale: int = 3):
    """(small, bl, vp): a tiny RMISR-BL with a non-zero upsampler and the RMISR-VP grown from it."""
    import torch

    from models.registry import create_model
    torch.manual_seed(0)
    small = {"channels": 8, "distilled": 4, "global_skip": "bicubic"}
    bl = create_model("rmisr_bl", scale=scale, **small)
    with torch.no_grad():
        for p in bl.upsampler.parameters():
            p.normal_(0, 0.3)
    vp = create_model("rmisr_vp", scale=scale, **small)
    warm_start.init_from(vp, bl.state_dict())
    return small, bl, vp


def test_laplacian_trunk_transplant_copies_the_trunk_and_keeps_the_grown_output():
    """A meta VP's Laplacian trunk seeds a sub-pixel VP grown from a BL; its output stays BL's."""
    import torch

    from models.training.grow import transplant_laplacian_trunk
    from models.registry import create_model
    small, bl, vp = _small_vp_grown_from_bl()
    meta = create_model("rmisr_vp", scale=None, upsampler="meta", **small).state_dict()
    assert transplant_laplacian_trunk(vp, meta) > 0
    own = vp.state_dict()
    for k in ("lap_head.weight", "lap_blocks.2.fuse.weight", "sr_body.blocks.5.fuse.weight"):
        assert (own[k] == meta[k]).all()
    assert not (own["lap_out.1.weight"] == meta["lap_out.1.weight"]).all()  # not the meta's
    bl_sd = bl.state_dict()
    assert (own["sr_body.blocks.3.fuse.weight"] == bl_sd["body.blocks.3.fuse.weight"]).all()
    x = torch.rand(1, 1, 10, 12)
    with torch.no_grad():
        torch.testing.assert_close(vp(x)[0], bl(x))
    with pytest.raises(ValueError, match="not an RMISR-VP state"):
        transplant_laplacian_trunk(vp, bl.state_dict())


def test_replace_sr_body_puts_a_newer_bl_body_under_a_grown_vp():
    """Growing from BL 1, then swapping in BL 2's body (same upsampler) computes BL 2 exactly;
    the VP's own tensors (Laplacian branch, upsampler, extra fusion columns) are kept."""
    import torch

    from models.training.grow import replace_sr_body
    from models.registry import create_model
    small, bl1, vp = _small_vp_grown_from_bl()
    bl2 = create_model("rmisr_bl", scale=3, **small)
    bl2.load_state_dict(bl1.state_dict())
    with torch.no_grad():
        for p in bl2.body.parameters():
            p.add_(0.05 * torch.randn_like(p))
    before = vp.state_dict()
    state = replace_sr_body(before, bl2.state_dict())
    assert (state["sr_body.blocks.2.fuse.weight"] == bl2.body.blocks[2].fuse.weight).all()
    for k in ("lap_head.weight", "sr_up.conv.weight", "sr_body.blocks.5.fuse.weight"):
        assert (state[k] == before[k]).all()
    n = bl2.body.fuse[0].weight.shape[1]
    assert (state["sr_body.fuse.0.weight"][:, n:] == before["sr_body.fuse.0.weight"][:, n:]).all()
    vp.load_state_dict(state)
    x = torch.rand(1, 1, 10, 12)
    with torch.no_grad():
        torch.testing.assert_close(vp(x)[0], bl2(x))
        assert not torch.allclose(bl1(x), bl2(x))
    wide = create_model("rmisr_bl", scale=3, channels=16, distilled=4, global_skip="bicubic")
    with pytest.raises(ValueError, match="more \\(or wider\\) PFMDBs"):
        replace_sr_body(before, wide.state_dict())
    stray = {**bl2.state_dict(), "body.extra.weight": torch.zeros(3)}
    with pytest.raises(ValueError, match="body.extra.weight .* has no place"):
        replace_sr_body(before, stray)
    with pytest.raises(ValueError, match="not an RMISR-BL"):
        replace_sr_body(before, before)


def test_grow_command_writes_the_vp_with_the_new_body(tmp_path, monkeypatch):
    import torch
    from safetensors.torch import save_file

    from models.training import grow
    from models.registry import create_model
    small = {"channels": 8, "distilled": 4}
    vp = create_model("rmisr_vp", scale=2, **small).state_dict()
    bl = create_model("rmisr_bl", scale=2, **small).state_dict()
    save_file(vp, tmp_path / "vp.safetensors")
    save_file(bl, tmp_path / "bl.safetensors")
    out = tmp_path / "out.safetensors"
    assert grow.main([str(tmp_path / "vp.safetensors"), str(tmp_path / "bl.safetensors"),
                      str(out)]) == 0
    got = load_file(out)
    assert torch.equal(got["sr_body.head.weight"], bl["body.head.weight"])
    with pytest.raises(SystemExit, match="not an RMISR-BL"):
        grow.main([str(out), str(out), str(tmp_path / "x.safetensors")])
    assert not (tmp_path / "x.safetensors").exists()

    def fail_half_way(tensors, path):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr("safetensors.torch.save_file", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        grow.main([str(tmp_path / "vp.safetensors"), str(tmp_path / "bl.safetensors"),
                   str(tmp_path / "y.safetensors")])
    assert list(tmp_path.glob("y.safetensors*")) == []  # neither the file nor its .part


def test_train_only_keeps_the_output_while_a_transplanted_laplacian_branch_learns(tiny_data,
                                                                                tmp_path):
    wd = tmp_path / "w"
    assert train.main(_args(tiny_data, tmp_path / "bl", wd, 2)) == 0
    assert train.main(_vp_args(tiny_data, tmp_path / "a", wd, 2)) == 0
    src = tmp_path / "lap_src.safetensors"
    shutil.copyfile(wd / "vp.safetensors", src)  # a trained VP whose Laplacian trunk seeds the next
    only = ["--train-only", "lap_", "sr_body.blocks.4.", "sr_body.blocks.5."]
    assert train.main(_vp_args(tiny_data, tmp_path / "b", wd, 3, "--lr", "1e-2",
                               "--init-laplacian", str(src), *only)) == 0
    rows = (tmp_path / "b" / "log.csv").read_text().strip().splitlines()[1:]
    psnr = [r.split(",")[4] for r in rows if r.split(",")[4]]
    assert len(psnr) == 4 and len(set(psnr)) == 1  # steps 0-3: the grown BL's output throughout
    rec = Manifest(wd).resolve("rmisr-vp", 2)
    assert rec.training["train_only"] == only[1:]
    assert rec.training["init_laplacian"] == "lap_src.safetensors"
    assert rec.training["init_laplacian_sha256"] == sha256_file(src)
    assert rec.training["init_sha256"] == sha256_file(wd / "tiny_x2.safetensors")
    vp, seed = load_file(str(wd / "vp.safetensors")), load_file(str(src))
    assert not (vp["lap_head.weight"] == seed["lap_head.weight"]).all()  # trained from the seed
    assert (vp["reduce.0.weight"][0].flatten()[1:] == 0).all()  # fusion fixed: map 0 passes
    for bad, match in ((["--train-only", "nothing."], "no tensor name starts with"),
                       (["--train-only", "lap_", "--freeze-steps", "5"], "leave out"),
                       (["--init-laplacian", str(wd / "tiny_x2.safetensors")], "not an RMISR-VP")):
        with pytest.raises(SystemExit, match=match):
            train.main(_vp_args(tiny_data, tmp_path / "c", wd, 1, *bad))


@pytest.mark.parametrize("arch", ["srcnn", "rmisr_bl"])
def test_speed_times_a_training_step_of_each_arch(arch):
    """python -m models.evaluation.speed: SRCNN runs on the bicubic-sized input, RMISR on the LR
    patch."""
    from models.evaluation.speed import time_step

    assert time_step(arch, channels_last=True, bf16=False, steps=1, batch=1, patch=8) > 0


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    from models.inference.precision import cpu_has_native_bf16

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n\n"
                    "processor\t: 1\nflags\t\t: fpu sse avx2 avx512f\n")
    assert cpu_has_native_bf16(info) is False
    info.write_text("processor\t: 0\nflags\t\t: avx512f avx512_bf16 amx_tile\n")
    assert cpu_has_native_bf16(info) is True
    info.write_text("processor\t: 0\n")
    assert cpu_has_native_bf16(info) is None
    assert cpu_has_native_bf16(tmp_path / "missing") is None


@pytest.mark.parametrize("extra,message", [
    (["--arch", "rmisr_bl", "--scale", "2", "--val-scales", "3"], "validates at ×2 only"),
    (["--arch", "srcnn", "--scale-range", "5", "1.1"], "--scale-range needs"),
    (["--arch", "srcnn", "--scale-range", "0.5", "8"], "--scale-range needs"),
    (["--arch", "srcnn", "--scale-range", "2", "3", "--val-every", "0"], "--val-every must be"),
    (["--arch", "srcnn", "--scale-range", "2", "3", "--val-scales", "7"], "--val-scales must"),
    (["--arch", "srcnn", "--scale-range", "2", "3", "--export", "x.safetensors", "--no-val"],
     "--export needs --val")])
def test_bad_settings_are_refused_before_training(tmp_path, capsys, extra, message):
    argv = ["--data", str(tmp_path), "--out", str(tmp_path / "run"), "--iters", "3"] + extra
    if "--no-val" in argv:
        argv.remove("--no-val")
    else:
        argv += ["--val", str(tmp_path)]
    with pytest.raises(SystemExit) as exc:
        train.main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing started


def test_patch_sampler_normalises_16_bit_slices_as_the_engine_and_keeps_their_levels(tmp_path):
    """A 16-bit slice maps to 0–255 by its min–max (the engine's default normalisation), is not
    rounded to 8-bit levels, and a folder weight sets how often its patches are drawn."""
    from models.training.data import load_training_image
    rng = np.random.default_rng(0)
    (tmp_path / "mri").mkdir()
    (tmp_path / "nat").mkdir()
    yy, xx = np.mgrid[0:64, 0:64]
    slice16 = (1000 + 800 * np.sin(xx / 4.0) * np.cos(yy / 6.0) + rng.normal(0, 30, xx.shape))
    Image.fromarray(slice16.astype(np.uint16)).save(tmp_path / "mri" / "0.png")
    Image.fromarray(np.full((64, 64), 100, np.uint8)).save(tmp_path / "nat" / "0.png")
    y, eight_bit = load_training_image(tmp_path / "mri" / "0.png")
    stored = slice16.astype(np.uint16).astype(np.float64)
    expected = (stored - stored.min()) / (stored.max() - stored.min()) * 255
    assert not eight_bit and np.allclose(y, expected, atol=1e-3)
    assert load_training_image(tmp_path / "nat" / "0.png")[1]

    s = PatchSampler([tmp_path / "mri"], patch_lr=12, seed=1)
    lr, hr = s.sample(4, 2)
    assert 0 <= lr.min() and lr.max() <= 1 and 0 <= hr.min() and hr.max() <= 1
    off_levels = np.abs(hr.numpy() * 255 - np.round(hr.numpy() * 255))
    assert off_levels.max() > 0.1  # not rounded to 8-bit levels

    both = PatchSampler([tmp_path / "nat", tmp_path / "mri"], patch_lr=12, seed=1,
                        folder_weights=[1.0, 0.0])
    lr, hr = both.sample(8, 2)
    assert np.allclose(hr.numpy() * 255, 100)  # weight 0: never the MRI folder
    with pytest.raises(ValueError, match="folder weights"):
        PatchSampler([tmp_path / "nat"], folder_weights=[1.0, 1.0])


def test_train_refuses_data_weights_that_do_not_match_the_folders(tiny_data, tmp_path, capsys):
    with pytest.raises(SystemExit):
        train.main(_args(tiny_data, tmp_path / "run", tmp_path / "w", 2,
                         "--data-weights", "1", "2"))
    assert "one weight per --data folder" in capsys.readouterr().err


def test_every_committed_resume_state_can_be_resumed():
    """A reference-only state names a shipped file by sha256: shipping a new file without
    writing the new run's state would leave it unusable (see models.training.ship's note)."""
    from models.training.resume_state import state_tensors
    states = sorted((ROOT / "weights" / "resume").glob("*.safetensors"))
    assert states
    for state in states:
        tensors = state_tensors(state)
        assert tensors and all(k.startswith("model.") for k in tensors), state.name
        assert resume_state.state_step(state) > 0 and state.with_suffix(".log.csv").exists()
