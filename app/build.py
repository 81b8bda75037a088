"""``python -m app.build`` — build the PyInstaller one-folder bundle and smoke-test it.

Runs PyInstaller on ``build_installer.spec`` (output ``dist/rmisr-viewer/``), then starts the built
program offscreen as ``rmisr-viewer --self-test`` and reports the build time, the bundle size and
the smoke test's result (also written to ``dist/bundle_report.json``). Needs ``pip install
pyinstaller``. Exit status: 0 when the bundle was built and its self-test passed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.build", description=__doc__.split("\n")[0])
    p.add_argument("--skip-build", action="store_true", help="only smoke-test an existing bundle")
    p.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)")
    p.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                   help="PyInstaller's work folder")
    args = p.parse_args(argv)
    dist = args.dist.resolve()
    bundle = dist / "rmisr-viewer"
    exe = bundle / ("rmisr-viewer.exe" if os.name == "nt" else "rmisr-viewer")
    report: dict[str, object] = {"platform": platform.platform(), "python": sys.version.split()[0]}
    if not args.skip_build:
        try:
            import PyInstaller  # noqa: F401
        except ImportError:
            print("app.build: PyInstaller is not installed: pip install pyinstaller",
                  file=sys.stderr)
            return 2
        if bundle.exists():
            shutil.rmtree(bundle)
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
               "--distpath", str(dist), "--workpath", str(args.work.resolve()),
               str(ROOT / "build_installer.spec")]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
        report["build_seconds"] = round(time.perf_counter() - t0, 1)
    if not exe.exists():
        print(f"app.build: no bundle at {exe}", file=sys.stderr)
        return 1
    report["bundle_bytes"] = folder_size(bundle)
    internal = bundle / "_internal"
    parts = {d.name: folder_size(d) for d in internal.iterdir() if d.is_dir()} \
        if internal.is_dir() else {}
    report["largest_parts_mib"] = {k: round(v / 2 ** 20) for k, v in
                                   sorted(parts.items(), key=lambda kv: -kv[1])[:3]}
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    t0 = time.perf_counter()
    smoke = subprocess.run([str(exe), "--self-test"], cwd=dist, env=env, capture_output=True,
                           text=True, timeout=900)
    report["self_test_seconds"] = round(time.perf_counter() - t0, 1)
    report["self_test_exit"] = smoke.returncode
    print(smoke.stdout[-4000:])
    if smoke.returncode:
        print(smoke.stderr[-4000:], file=sys.stderr)
    (dist / "bundle_report.json").write_text(json.dumps(report, indent=2) + "\n")
    mb = int(report["bundle_bytes"]) / 2 ** 20
    print(f"bundle: {bundle} ({mb:.0f} MiB; largest parts, MiB: {report['largest_parts_mib']}), "
          f"build {report.get('build_seconds', '—')} s, "
          f"self-test exit {smoke.returncode} in {report['self_test_seconds']} s")
    return 0 if smoke.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
