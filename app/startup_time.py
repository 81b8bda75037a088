"""``python -m app.startup_time`` — the viewer's start-up time on this machine.

Starts ``python -m app --report-startup`` a few times (offscreen unless a display is set) and
prints the median wall-clock seconds from launching the process to (a) a usable window showing the
sample image and (b) the engine loaded (Super-resolve enabled). torch is imported lazily, in a
background thread, so (a) does not wait for it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def measure(runs: int = 3) -> tuple[float, float]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    window, engine = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "app", "--report-startup"], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("window_ready"):
                window.append(time.perf_counter() - t0)
            elif line.startswith("engine_ready"):
                engine.append(time.perf_counter() - t0)
        proc.wait(timeout=120)
    return statistics.median(window), statistics.median(engine)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.startup_time",
                                description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    w, e = measure(args.runs)
    print(f"viewer start-up (median of {args.runs}, {os.cpu_count()} cores): "
          f"usable window {w:.2f} s, engine loaded {e:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
