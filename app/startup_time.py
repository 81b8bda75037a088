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
    """Median seconds to a usable window and to a loaded engine over ``runs`` starts.

    Raises:
        RuntimeError: a start that did not report both (the viewer failed, or its engine did),
            with what it said.
    """
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    window, engine = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "app", "--report-startup"], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        said = []
        for line in proc.stdout:
            said.append(line.strip())
            if line.startswith("window_ready"):
                window.append(time.perf_counter() - t0)
            elif line.startswith("engine_ready"):
                engine.append(time.perf_counter() - t0)
        code = proc.wait(timeout=120)
        if code != 0 or len(window) != len(engine) or not window:
            raise RuntimeError(f"the viewer did not start cleanly (exit status {code}; it said: "
                               f"{'; '.join(said[-3:]) or 'nothing'})")
    return statistics.median(window), statistics.median(engine)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.startup_time",
                                description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error(f"--runs must be at least 1, got {args.runs}")
    try:
        w, e = measure(args.runs)
    except RuntimeError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 1
    print(f"viewer start-up (median of {args.runs}, {os.cpu_count()} cores): "
          f"usable window {w:.2f} s, engine loaded {e:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
