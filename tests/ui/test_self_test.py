"""``rmisr-viewer --self-test`` (the installer's smoke test)."""
from __future__ import annotations

import io

from app.__main__ import _parser, self_test


def test_self_test_passes(resolver, qapp):
    out = io.StringIO()
    assert self_test("cpu", str(resolver.weights_dir), out=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "bicubic   OK: ×2.5 64×64 → 160×160" in text
    assert "self-test passed" in text


def test_self_test_checks_a_fixed_scale_file_at_its_own_scale(tmp_path, qapp):
    """Every bundled weights file loads, also one that does not serve ×2.5 (wiring only: random)."""
    from models.manifest import WeightsRecord, export_weights
    from models.registry import create_model

    args = {"scale": 4, "channels": 8, "distilled": 4}
    export_weights(create_model("rmisr_bl", **args),
                   WeightsRecord(file="tiny_x4.safetensors", method="rmisr-bl", arch="rmisr_bl",
                                 arch_args=args, scales=[4]), tmp_path)
    out = io.StringIO()
    assert self_test("cpu", str(tmp_path), out=out) == 0, out.getvalue()
    assert "OK: ×4 64×64 → 256×256" in out.getvalue()


def test_self_test_fails_on_bad_weights(tmp_path, qapp):
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    out = io.StringIO()
    assert self_test("cpu", str(tmp_path), out=out) == 1
    assert "FAILED" in out.getvalue()


def test_command_line():
    args = _parser().parse_args(["scan.dcm", "--device", "cpu"])
    assert args.file == "scan.dcm" and args.device == "cpu" and not args.self_test
    assert _parser().parse_args(["--self-test"]).self_test
