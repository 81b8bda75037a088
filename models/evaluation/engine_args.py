"""The engine options every scoring tool shares: ``--device``, ``--precision``, ``--weights-dir``.

``rmisr-eval``, ``medical_eval``, ``uncertainty_eval`` and ``fidelity`` each build a
:class:`~models.inference.SuperResolver` from the same three options; declaring them here keeps
their names, choices and defaults the same in every tool. Scoring defaults to the CPU in fp32 (the
literature's protocol), so that a table does not depend on whether the machine that printed it had
a GPU or native bf16.
"""
from __future__ import annotations

import argparse

from ..inference import SuperResolver
from ..inference.precision import PRECISIONS
from ..manifest import WEIGHTS_DIR

DEVICES = ("auto", "cpu", "cuda")


def add_engine_arguments(p: argparse.ArgumentParser, *, precision: bool = True,
                         device_help: str | None = None) -> None:
    """Add ``--device`` (default cpu), ``--precision`` (default fp32; left out with
    ``precision=False``, for a tool that compares precisions itself) and ``--weights-dir``."""
    p.add_argument("--device", default="cpu", choices=DEVICES,
                   help=device_help or "where the networks run (default cpu)")
    if precision:
        p.add_argument("--precision", default="fp32", choices=PRECISIONS,
                       help="the networks' arithmetic (default fp32, the literature's protocol, "
                            "so a table does not depend on whether the CPU has native bf16)")
    p.add_argument("--weights-dir", default=str(WEIGHTS_DIR),
                   help="weights folder with manifest.json (default: the shipped weights)")


def resolver_from_args(args: argparse.Namespace) -> SuperResolver:
    """The engine the options of :func:`add_engine_arguments` describe (its ``auto`` precision
    where the tool has no ``--precision``)."""
    return SuperResolver(args.device, args.weights_dir,
                         precision=getattr(args, "precision", "auto"))
