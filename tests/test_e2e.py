"""End to end from a fresh clone, as the README says: install into a fresh venv, run the
command-line super-resolution, start the viewer offscreen in --self-test mode (the bundle's smoke
test).

Slow (a fresh venv installs torch and PyQt5): marked ``slow`` and ``e2e``; CI runs it.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

INSTALL = 'pip install -e ".[dev]"'
DEMO = "rmisr-sr --demo"
VIEWER_SELF_TEST = "rmisr-viewer --self-test"

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_readme_names_the_commands_this_test_runs():
    for cmd in (INSTALL, "python -m pytest -q", DEMO, VIEWER_SELF_TEST, "rmisr-viewer"):
        assert cmd in README, cmd


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and a git checkout")
def test_fresh_clone_install_cli_and_viewer_self_test(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(clone)],
                   check=True, timeout=300)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["QT_QPA_PLATFORM"] = "offscreen"

    def run(cmd: str, timeout: int = 900) -> subprocess.CompletedProcess:
        res = subprocess.run(cmd, shell=True, cwd=clone, env=env, capture_output=True, text=True,
                             timeout=timeout)
        assert res.returncode == 0, f"{cmd}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        return res

    run(f"python -m {INSTALL}", timeout=1800)
    torch_version = run('python -c "import torch; print(torch.__version__)"').stdout
    assert torch_version.startswith("2.13.0") and "cu" not in torch_version  # CPU build
    out = tmp_path / "demo"
    run(f"{DEMO} {out}")
    assert any(out.glob("*.png")) and any(out.glob("*.md"))
    run(f"rmisr-sr resources/sample_ct_chest.dcm -o {tmp_path / 'cli'} --scale 2.5 "
        f"--method bicubic --roi 200,200,64,64")
    assert len(list((tmp_path / "cli").glob("*.dcm"))) == 1
    res = run(VIEWER_SELF_TEST)
    assert "self-test" in res.stdout.lower()
