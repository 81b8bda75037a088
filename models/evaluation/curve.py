"""``python -m models.evaluation.curve LOG.csv`` — a run's validation curve, a Markdown table.

``LOG.csv`` is a run's ``OUT/log.csv`` or the copy that travels with a committed resume state
(``weights/resume/<name>.log.csv``). One row per validation: step, training hours so far, the
smoothed training loss, the learning rate and the validation PSNR at each validated scale.
``--every N`` keeps every N-th validation (and always the last and the best); ``--until STEP`` stops
at a step (e.g. the snapshot that was evaluated and shipped).
"""
from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Validation:
    """One validation of a run: step, training hours so far, smoothed loss, lr, PSNR per scale."""
    step: int
    hours: float
    loss: float
    lr: float
    psnr: dict[float, float] = field(default_factory=dict)


def read_curve(path: str | Path) -> list[Validation]:
    """The validation rows of a ``log.csv``, in step order (one per step, all scales together)."""
    rows: dict[int, Validation] = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if not r.get("val_psnr"):
                continue
            step = int(r["step"])
            row = rows.setdefault(step, Validation(step, float(r["train_seconds"]) / 3600.0,
                                                   float(r["loss"] or "nan"), float(r["lr"])))
            row.psnr[float(r["val_scale"])] = float(r["val_psnr"])
    return [rows[k] for k in sorted(rows)]


def format_curve(rows: list[Validation], every: int = 1) -> str:
    """Markdown table of every ``every``-th validation, plus the best and the last."""
    if not rows:
        return "(no validation rows)"
    scales = sorted({s for r in rows for s in r.psnr})
    trained = [i for i in range(len(rows)) if rows[i].step > 0] or [0]  # step 0: as initialised
    best = max(trained, key=lambda i: sum(rows[i].psnr.values()) / len(rows[i].psnr))
    keep = [i for i in range(len(rows)) if i % every == every - 1 or i in (best, len(rows) - 1)]
    head = ("| step | train h | loss | lr | " + " | ".join(f"val ×{s:g} (dB)" for s in scales)
            + " |")
    lines = [head, "|" + "---:|" * (4 + len(scales))]
    for i in keep:
        r = rows[i]
        cells = [f"{r.psnr[s]:.3f}" if s in r.psnr else "—" for s in scales]  # not validated
        mark = " (best)" if i == best else ""
        loss = "—" if r.loss != r.loss else f"{r.loss:.5f}"
        lines.append(f"| {r.step}{mark} | {r.hours:.2f} | {loss} | {r.lr:.3g} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.curve",
                                description=__doc__.split("\n")[0])
    p.add_argument("log", type=Path)
    p.add_argument("--every", type=int, default=1, help="keep every N-th validation")
    p.add_argument("--until", type=int, default=None, help="last step to show")
    args = p.parse_args(argv)
    if not args.log.exists():
        print(f"models.evaluation.curve: no such log: {args.log}", file=sys.stderr)
        return 1
    rows = [r for r in read_curve(args.log) if args.until is None or r.step <= args.until]
    print(format_curve(rows, max(1, args.every)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
