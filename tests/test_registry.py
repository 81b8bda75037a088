"""Registry, manifest and weights integrity."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.methods import METHODS
from models.manifest import (Manifest, WeightsIntegrityError, WEIGHTS_DIR, load_model,
                             sha256_file)

from ._engine import make_weights_dir

ROOT = Path(__file__).resolve().parents[1]


def test_registry_lists_exactly_the_methods_the_app_offers():
    assert list(METHODS) == ["bicubic", "srcnn", "rmisr-bl", "rmisr-vp"]
    assert [m.label for m in METHODS.values()] == ["Bicubic", "SRCNN", "RMISR-BL", "RMISR-VP"]


def test_tampered_weights_file_is_refused(tmp_path):
    wd = make_weights_dir(tmp_path)
    rec = Manifest(wd).resolve("rmisr-bl", 2)
    load_model(rec, wd)  # intact: loads
    path = wd / rec.file
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsIntegrityError, match="does not match its manifest"):
        load_model(rec, wd)


def test_unreadable_or_misfit_weights_file_is_a_clear_error(tmp_path):
    """A file that matches its (re-recorded) sha256 but is no safetensors, or another model's."""
    wd = make_weights_dir(tmp_path)
    rec = Manifest(wd).resolve("rmisr-bl", 2)
    path = wd / rec.file
    path.write_bytes(b"not a safetensors file")
    rec.sha256 = sha256_file(path)
    with pytest.raises(WeightsIntegrityError, match="unreadable"):
        load_model(rec, wd)
    other = Manifest(wd).resolve("srcnn", 3)
    path.write_bytes((wd / other.file).read_bytes())
    rec.sha256 = sha256_file(path)
    with pytest.raises(WeightsIntegrityError, match="does not fit architecture"):
        load_model(rec, wd)


def test_missing_weights_file_is_refused(tmp_path):
    wd = make_weights_dir(tmp_path)
    rec = Manifest(wd).resolve("srcnn", 3)
    (wd / rec.file).unlink()
    with pytest.raises(WeightsIntegrityError, match="missing"):
        load_model(rec, wd)


def test_corrupt_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(WeightsIntegrityError, match="not a valid manifest"):
        Manifest(tmp_path)


def test_shipped_manifest_is_true():
    """Every shipped file exists, matches its sha256 and parameter count, and is safetensors."""
    man = Manifest(WEIGHTS_DIR)
    for rec in man.records:
        path = WEIGHTS_DIR / rec.file
        assert path.suffix == ".safetensors"
        assert sha256_file(path) == rec.sha256, rec.file
        model = load_model(rec)
        assert sum(p.numel() for p in model.parameters()) == rec.params
        assert rec.training.get("iterations", 0) > 0
    raw = json.loads((WEIGHTS_DIR / "manifest.json").read_text()) if man.records else {}
    assert not raw or raw["format"] == 1
    candidates = WEIGHTS_DIR / "candidates"  # evaluated, not served: true records all the same
    for rec in (Manifest(candidates).records if (candidates / "manifest.json").exists() else []):
        assert sha256_file(candidates / rec.file) == rec.sha256, rec.file
        assert sum(p.numel() for p in load_model(rec, candidates).parameters()) == rec.params
        assert man.for_file(rec.file) is None or man.for_file(rec.file).sha256 != rec.sha256


def test_models_imports_without_pyqt():
    code = ("import sys, importlib.abc\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] in ('PyQt5', 'PySide6', 'PyQt6'):\n"
            "            raise ImportError('Qt is blocked in this test')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import models, models.inference, models.training.train, models.evaluation.evaluate\n"
            "import models.evaluation.summary\n"
            "assert not any(m.startswith('PyQt') for m in sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)



@pytest.mark.parametrize("module", ["models", "models.geometry", "app.io"])
def test_importing_the_geometry_or_the_io_layer_does_not_import_torch(module):
    """app.io takes the scale limits and the output grid from models.geometry, so ``models`` must
    stay torch-free until the engine itself is used."""
    code = (f"import sys, {module}\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

def test_ship_copies_a_verified_file_and_its_record(tmp_path):
    from models.training.ship import main as ship_main

    run = make_weights_dir(tmp_path / "run")
    dest = tmp_path / "weights"
    assert ship_main([str(run), "bl_x2.safetensors", "--dest", str(dest)]) == 0
    rec = Manifest(dest).resolve("rmisr-bl", 2)
    assert [r.file for r in Manifest(dest).records] == ["bl_x2.safetensors"]
    assert sha256_file(dest / rec.file) == rec.sha256
    # a tampered run file is refused and the shipped one stays as it was
    data = bytearray((run / "bl_x2.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (run / "bl_x2.safetensors").write_bytes(bytes(data))
    assert ship_main([str(run), "bl_x2.safetensors", "--dest", str(dest)]) == 1
    assert sha256_file(dest / rec.file) == rec.sha256
    assert ship_main([str(run), "nothing.safetensors", "--dest", str(dest)]) == 1
    assert sorted(p.name for p in dest.iterdir()) == ["bl_x2.safetensors", "manifest.json"]


def test_ship_reads_the_run_file_once_so_the_bytes_checked_are_the_bytes_shipped(tmp_path,
                                                                                 monkeypatch):
    from models.training.ship import ship

    run = make_weights_dir(tmp_path / "run")
    reads = []
    real = Path.read_bytes

    def counting(self):
        reads.append(self.name)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    shipped = ship(run, "bl_x2.safetensors", tmp_path / "weights")
    assert reads.count("bl_x2.safetensors") == 1
    assert sha256_file(shipped) == Manifest(run).for_file("bl_x2.safetensors").sha256


def test_ship_note_replaces_the_shipped_records_note_only(tmp_path):
    from models.training.ship import main as ship_main

    run = make_weights_dir(tmp_path / "run")
    dest = tmp_path / "weights"
    before = Manifest(run).resolve("rmisr-bl", 2).training.get("note")
    assert ship_main([str(run), "bl_x2.safetensors", "--dest", str(dest),
                      "--note", "resumed at step 7,000 with lr 1e-4"]) == 0
    shipped = Manifest(dest).resolve("rmisr-bl", 2)
    assert shipped.training["note"] == "resumed at step 7,000 with lr 1e-4"
    assert Manifest(run).resolve("rmisr-bl", 2).training.get("note") == before


def test_ship_serve_narrows_a_scale_range_files_served_scales(tmp_path, capsys):
    from models.training.ship import main as ship_main

    run = make_weights_dir(tmp_path / "run")
    dest = tmp_path / "weights"
    trained = Manifest(run).resolve("srcnn", 3)
    lo, hi = trained.scale_range
    assert ship_main([str(run), trained.file, "--dest", str(dest), "--serve", "2.5", str(hi)]) == 0
    shipped = Manifest(dest).for_file(trained.file)
    assert shipped.scale_range == [2.5, hi] and not shipped.covers(2.4)
    assert Manifest(run).for_file(trained.file).scale_range == [lo, hi]
    # outside the trained range, or a fixed-scale file: refused, nothing changed
    assert ship_main([str(run), trained.file, "--dest", str(dest), "--serve", "2", "6"]) == 1
    assert ship_main([str(run), "bl_x2.safetensors", "--dest", str(dest), "--serve", "2", "3"]) == 1
    err = capsys.readouterr().err
    assert "not a range within" in err and "fixed-scale file" in err
    assert Manifest(dest).for_file(trained.file).scale_range == [2.5, hi]
    assert [r.file for r in Manifest(dest).records] == [trained.file]


def test_ship_half_stores_float16_that_loads_as_the_float32_model(tmp_path):
    import torch
    from safetensors.torch import load_file

    from models.manifest import load_model
    from models.training.ship import main as ship_main

    run = make_weights_dir(tmp_path / "run")
    dest = tmp_path / "weights"
    assert ship_main([str(run), "bl_x2.safetensors", "--dest", str(dest), "--half"]) == 0
    rec = Manifest(dest).resolve("rmisr-bl", 2)
    assert rec.training["stored_dtype"] == "float16" and sha256_file(dest / rec.file) == rec.sha256
    assert {v.dtype for v in load_file(str(dest / rec.file)).values()} == {torch.float16}
    assert (dest / rec.file).stat().st_size < 0.6 * (run / rec.file).stat().st_size
    full = load_model(Manifest(run).resolve("rmisr-bl", 2), run)
    half = load_model(rec, dest)
    x = torch.rand(1, 1, 12, 12)
    with torch.no_grad():
        a, b = full(x), half(x)
    assert b.dtype == torch.float32 and (a - b).abs().max() < 1e-2
    assert ship_main([str(run), "bl_x2.safetensors", "--dest", str(dest)]) == 0  # back to float32
    assert "stored_dtype" not in Manifest(dest).resolve("rmisr-bl", 2).training


def test_a_scale_without_weights_names_the_scales_that_have_them(tmp_path):
    from models.manifest import NoWeightsError, WeightsRecord
    man = Manifest(tmp_path)
    man.records = [WeightsRecord("a.safetensors", "srcnn", "srcnn", {}, scale_range=[2.0, 5.0]),
                   WeightsRecord("b.safetensors", "rmisr-vp", "rmisr_vp", {}, scales=[4.0]),
                   WeightsRecord("c.safetensors", "rmisr-vp", "rmisr_vp", {},
                                 scale_range=[1.1, 5.0])]
    assert man.coverage("srcnn") == "×2–5" and man.coverage("rmisr-vp") == "×4, ×1.1–5"
    assert man.coverage("rmisr-bl") == ""
    with pytest.raises(NoWeightsError,
                       match="SRCNN has no trained weights for ×1.5; it is served at ×2–5"):
        man.resolve("srcnn", 1.5)
    with pytest.raises(NoWeightsError, match=r"RMISR-BL has no trained weights for ×3 \(see"):
        man.resolve("rmisr-bl", 3)


def test_the_narrowest_scale_range_serves_where_ranges_overlap(tmp_path):
    from models.manifest import WeightsRecord
    man = Manifest(tmp_path)
    man.records = [WeightsRecord("a_all.safetensors", "srcnn", "srcnn", {}, scale_range=[2.0, 5.0]),
                   WeightsRecord("z_low.safetensors", "srcnn", "srcnn", {},
                                 scale_range=[1.1, 2.0])]
    assert man.resolve("srcnn", 1.1).file == "z_low.safetensors"
    assert man.resolve("srcnn", 2.0).file == "z_low.safetensors"  # both cover ×2: narrower wins
    assert man.resolve("srcnn", 2.01).file == "a_all.safetensors"
    assert man.coverage("srcnn") == "×1.1–2, ×2–5"


@pytest.mark.parametrize("text", ['[]', '{"weights": {}}', '{"weights": [1]}',
                                  '{"weights": [{"file": "a", "method": "srcnn", "arch": "srcnn",'
                                  ' "scale_range": "1.1-5"}]}'])
def test_a_malformed_manifest_is_refused_as_a_whole(tmp_path, text):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(WeightsIntegrityError, match="not a valid manifest"):
        Manifest(tmp_path)


def test_a_record_whose_architecture_cannot_be_built(tmp_path):
    wd = make_weights_dir(tmp_path)
    rec = Manifest(wd).resolve("srcnn", 3)
    rec.arch_args = {"no_such_argument": 1}
    with pytest.raises(WeightsIntegrityError, match="cannot be built"):
        load_model(rec, wd)


def test_exported_weights_and_manifest_are_readable_by_other_users(tmp_path):
    """Written through a temporary file (mkstemp: 0600), they get the mode an ordinary file
    gets (0666 less the umask), so a shared install's other users can load them."""
    import stat

    from models import manifest
    from models.manifest import WeightsRecord, export_weights
    from models.registry import create_model

    export_weights(create_model("srcnn"), WeightsRecord(
        file="s.safetensors", method="srcnn", arch="srcnn", arch_args={},
        scale_range=[2.0, 5.0], training={}), tmp_path)
    for name in ("s.safetensors", "manifest.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~manifest._UMASK
