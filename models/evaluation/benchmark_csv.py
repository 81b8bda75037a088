"""The metric values of ``rmisr-eval``'s ``benchmark.csv`` tables, as the CSV stores them.

Read by ``rmisr-eval --compare`` and by ``python -m models.evaluation.side_by_side``. A file named
``PATH=TAG`` has ``" (TAG)"`` appended to each of its method labels, so that two runs of the same
network can be set side by side.
"""
from __future__ import annotations

import csv
from pathlib import Path

METRICS = {"psnr": "PSNR", "ssim": "SSIM", "lap_l1": "Lap-L1"}

Rows = dict[tuple[str, float, str], dict[str, str]]


def split_tag(arg: str | Path) -> tuple[Path, str]:
    """``PATH=TAG`` → (PATH, TAG); a plain path, or an existing file whose name holds ``=``,
    → (it, "")."""
    text = str(arg)
    path, sep, tag = text.rpartition("=")
    if not sep or not path or not tag or Path(text).exists():
        return Path(text), ""
    return Path(path), tag


def read_rows(paths: list[str | Path]) -> Rows:
    """Metric values (the CSV's text) by (method label, scale, set) from ``benchmark.csv`` files.

    A ``PATH=TAG`` entry labels that file's methods ``"METHOD (TAG)"`` (see the module docstring).
    """
    rows: Rows = {}
    for arg in paths:
        path, tag = split_tag(arg)
        with open(path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                label = f"{r['method']} ({tag})" if tag else r["method"]
                rows[(label, float(r["scale"]), r["set"])] = {
                    m: r[m] for m in METRICS if r.get(m) not in (None, "")}
    return rows
