"""``python -m models.evaluation.side_by_side CSV... --methods A B`` — runs side by side.

``rmisr-eval`` writes one table per run; comparing two networks scored in different runs (e.g.
RMISR-BL-meta in ``results/meta`` and RMISR-VP-meta in ``results/vp_meta_urban100``) needs their
rows side by side. This prints that table from the runs' ``benchmark.csv`` files, copying the
values verbatim as the CSV stores them (four decimals; re-rounding them to ``benchmark.md``'s two
or three could differ from it in the last digit), so every number the README quotes comes from a
command. Later files win for a repeated row.

A file named ``PATH=TAG`` has ``" (TAG)"`` appended to each of its method labels, so two runs of
the same network (e.g. the previous and the current RMISR-VP-meta) can be set side by side:
``old.csv=previous new.csv --methods "RMISR-VP-meta (previous)" RMISR-VP-meta``.

Two layouts: ``--set NAME`` gives one row per scale and a column per method and metric;
``--metric NAME`` gives one row per (scale, method) and a column per benchmark set. With two
methods, ``--metric NAME --diff`` adds their difference (second minus first, and in per cent of
the first) per scale and set and its range, so a README that quotes "+a to +b dB" quotes output.
"""
from __future__ import annotations

import argparse
import sys

from .benchmark_csv import METRICS, Rows, read_rows


def _cell(rows: Rows, key: tuple[str, float, str], metric: str) -> str:
    return rows.get(key, {}).get(metric, "—")


def _scales(rows: Rows, methods: list[str], scales: list[float] | None) -> list[float]:
    return scales or sorted({k[1] for k in rows if k[0] in methods})


def by_set(rows: Rows, methods: list[str], set_name: str, metrics: list[str],
           scales: list[float] | None = None) -> str:
    """One set: a row per scale, a column per (metric, method)."""
    head = ["Scale"] + [f"{m} {METRICS[k]}" for k in metrics for m in methods]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for s in _scales(rows, methods, scales):
        cells = [_cell(rows, (m, s, set_name), k) for k in metrics for m in methods]
        lines.append(f"| ×{s:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def by_metric(rows: Rows, methods: list[str], metric: str, sets: list[str],
              scales: list[float] | None = None) -> str:
    """One metric: a row per (scale, method), a column per set."""
    lines = ["| Method | Scale | " + " | ".join(sets) + " |", "|---|---|" + "---:|" * len(sets)]
    for s in _scales(rows, methods, scales):
        for m in methods:
            lines.append(f"| {m} | ×{s:g} | "
                         + " | ".join(_cell(rows, (m, s, st), metric) for st in sets) + " |")
    return "\n".join(lines)


def differences(rows: Rows, methods: list[str], metric: str, sets: list[str],
                scales: list[float] | None = None) -> str:
    """Second method minus first per (scale, set): value and per cent, then the range of each."""
    a, b = methods
    lines = [f"{b} − {a}, {METRICS[metric]}:", "",
             "| Scale | " + " | ".join(sets) + " |", "|---|" + "---:|" * len(sets)]
    diffs, rels = [], []
    for s in _scales(rows, methods, scales):
        cells = []
        for st in sets:
            va, vb = _cell(rows, (a, s, st), metric), _cell(rows, (b, s, st), metric)
            if "—" in (va, vb):
                cells.append("—")
                continue
            d = float(vb) - float(va)
            r = 100 * d / float(va) if float(va) else float("nan")
            diffs.append(d)
            rels.append(r)
            cells.append(f"{d:+.4f} ({r:+.2f} %)")
        lines.append(f"| ×{s:g} | " + " | ".join(cells) + " |")
    if diffs:
        lines += ["", f"range: {min(diffs):+.4f} to {max(diffs):+.4f} "
                      f"({min(rels):+.2f} % to {max(rels):+.2f} %) over {len(diffs)} values"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluation.side_by_side",
                                description=__doc__.strip().splitlines()[0])
    p.add_argument("csv", nargs="+",
                   help="benchmark.csv files written by rmisr-eval; PATH=TAG appends ' (TAG)' "
                        "to that file's method labels")
    p.add_argument("--methods", nargs="+", required=True,
                   help='method labels, e.g. "RMISR-BL-meta"')
    p.add_argument("--scales", type=float, nargs="+", default=None)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--set", help="one benchmark set: a row per scale")
    g.add_argument("--metric", choices=list(METRICS), help="one metric: a column per set")
    p.add_argument("--metrics", nargs="+", choices=list(METRICS), default=["psnr", "lap_l1"],
                   help="with --set")
    p.add_argument("--sets", nargs="+", default=["Set5", "Set14", "BSD100_Y"], help="with --metric")
    p.add_argument("--diff", action="store_true",
                   help="with --metric and two methods: also the second minus the first")
    args = p.parse_args(argv)
    if args.diff and (not args.metric or len(args.methods) != 2):
        p.error("--diff needs --metric and exactly two --methods")
    try:
        rows = read_rows(args.csv)
    except (OSError, KeyError, ValueError) as e:
        print(f"side_by_side: error: cannot read the rmisr-eval CSVs ({e})", file=sys.stderr)
        return 2
    unknown = [m for m in args.methods if not any(k[0] == m for k in rows)]
    if unknown:
        known = sorted({k[0] for k in rows})
        print(f"side_by_side: error: no rows for {unknown}; the files hold {known}",
              file=sys.stderr)
        return 2
    if args.set:
        print(by_set(rows, args.methods, args.set, args.metrics, args.scales))
    else:
        print(by_metric(rows, args.methods, args.metric, args.sets, args.scales))
        if args.diff:
            print()
            print(differences(rows, args.methods, args.metric, args.sets, args.scales))
    return 0


if __name__ == "__main__":
    sys.exit(main())
