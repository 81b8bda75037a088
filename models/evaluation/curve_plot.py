"""``python -m models.evaluation.curve_plot`` — validation curves against their targets, as a PNG.

Draws the validation PSNR at one scale of one or more runs (their ``log.csv``, see
:mod:`models.evaluation.curve`) against the training step, with horizontal lines for targets or
published figures. A shipped file is often the end of a chain of runs (trained from scratch,
grown into the meta model, fine-tuned back to one scale), each numbering its steps from 0;
``--chain`` places each run after the step of the previous run that the next one started from
(the ``UNTIL`` given with it), so the x axis counts every step the file has had::

    git show bbcfe7a:weights/resume/rmisr_bl_x4.log.csv > /tmp/bl_x4_scratch.csv
    python -m models.evaluation.curve_plot --scale 4 --chain \\
        --run "RMISR-BL x4 from scratch" /tmp/bl_x4_scratch.csv 23000 \\
        --run "RMISR-BL-meta (x4 validation)" weights/resume/rmisr_bl_meta.log.csv 12500 \\
        --run "RMISR-BL x4 fine-tuned" weights/resume/rmisr_bl_x4.log.csv \\
        --line "target 31.70" 31.70 --out resources/curve_bl_x4.png

matplotlib is a development dependency (``pip install -e ".[dev]"``), not the viewer's.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from .curve import read_curve


@dataclass
class Run:
    """One run's curve: a label, its log and the last step of it to draw (``None``: all)."""
    label: str
    log: Path
    until: int | None = None


def curve_points(runs: list[Run], scale: float, chain: bool = False
                 ) -> list[tuple[str, list[int], list[float]]]:
    """``(label, steps, PSNRs)`` per run at ``scale``; with ``chain`` each run's steps are shifted
    to follow the previous run's last drawn step.

    Raises:
        ValueError: a run has no validation at ``scale`` (names the run and the scales it has).
    """
    out, offset = [], 0
    for run in runs:
        rows = [r for r in read_curve(run.log) if run.until is None or r.step <= run.until]
        pts = [(r.step, r.psnr[scale]) for r in rows if scale in r.psnr]
        if not pts:
            have = sorted({s for r in rows for s in r.psnr})
            raise ValueError(f"{run.label} ({run.log}): no validation at x{scale:g} "
                             f"(it validated at {', '.join(f'x{s:g}' for s in have) or 'none'})")
        steps = [s + offset for s, _ in pts]
        out.append((run.label, steps, [p for _, p in pts]))
        if chain:  # the next run's step 0 is this run's step ``until`` (or its last)
            offset += run.until if run.until is not None else pts[-1][0]
    return out


def plot_curves(curves: list[tuple[str, list[int], list[float]]],
                lines: list[tuple[str, float]], scale: float, out: str | Path,
                ylim: tuple[float, float] | None = None, title: str | None = None,
                val_set: str | None = None) -> Path:
    """Write the curves and the horizontal ``lines`` to the PNG ``out``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for label, steps, psnr in curves:
        ax.plot(steps, psnr, marker=".", linewidth=1.2, label=label)
    for i, (label, value) in enumerate(lines):
        ax.axhline(value, color=("tab:red", "tab:purple", "tab:brown", "tab:gray")[i % 4],
                   linestyle=("--", ":", "-.")[i % 3], linewidth=1.0, label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"validation PSNR ×{scale:g}" + (f", {val_set}" if val_set else "") + " (dB)")
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower center", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.curve_plot",
                                description=__doc__.split("\n")[0])
    p.add_argument("--run", nargs="+", action="append", required=True,
                   metavar=("LABEL LOG", "UNTIL"),
                   help="a run: its label, its log.csv and optionally the last step to draw")
    p.add_argument("--scale", type=float, required=True, help="the validated scale to draw")
    p.add_argument("--set", default=None, help="the validation set's name, for the axis label")
    p.add_argument("--chain", action="store_true",
                   help="each run follows the previous one's last drawn step")
    p.add_argument("--line", nargs=2, action="append", default=[], metavar=("LABEL", "DB"),
                   help="a horizontal line (a target, a published figure)")
    p.add_argument("--ylim", nargs=2, type=float, default=None, metavar=("LOW", "HIGH"))
    p.add_argument("--title", default=None)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)
    runs = []
    for spec in args.run:
        if len(spec) not in (2, 3):
            p.error(f"--run takes LABEL LOG [UNTIL], got {spec}")
        if not Path(spec[1]).is_file():
            print(f"{p.prog}: no such log file: {spec[1]}", file=sys.stderr)
            return 1
        if len(spec) == 3 and not spec[2].isdigit():
            p.error(f"--run {spec[0]!r}: UNTIL is a step number, got {spec[2]!r}")
        runs.append(Run(spec[0], Path(spec[1]), int(spec[2]) if len(spec) == 3 else None))
    for label, value in args.line:
        try:
            float(value)
        except ValueError:
            p.error(f"--line {label!r}: DB is a number, got {value!r}")
    if args.out.suffix.lower() != ".png":
        p.error(f"--out writes a PNG: name it *.png, got {args.out}")
    try:
        curves = curve_points(runs, args.scale, args.chain)
    except ValueError as e:
        print(f"{p.prog}: {e}", file=sys.stderr)
        return 1
    lines = [(label, float(v)) for label, v in args.line]
    out = plot_curves(curves, lines, args.scale, args.out,
                      tuple(args.ylim) if args.ylim else None, args.title, args.set)
    for label, steps, psnr in curves:
        best = max(range(len(psnr)), key=psnr.__getitem__)
        print(f"{label}: steps {steps[0]}–{steps[-1]}, best {psnr[best]:.3f} dB at {steps[best]}, "
              f"last {psnr[-1]:.3f} dB")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
