"""``rmisr-pacs``: the PACS from scripts — configure nodes, C-ECHO, C-FIND, retrieve, C-STORE.

::

    rmisr-pacs add-node hospital PACS_AE pacs.example.org 104 [--local-ae RMISR]
    rmisr-pacs nodes
    rmisr-pacs echo hospital
    rmisr-pacs find hospital [--patient-name 'DOE*'] [--patient-id ID] [--date-from YYYYMMDD]
                             [--date-to YYYYMMDD] [--modality CT] [--accession A] [--study UID]
    rmisr-pacs get hospital STUDY_UID SERIES_UID [-o DIR] [--move]
    rmisr-pacs send hospital FILE_OR_FOLDER...

``find`` prints one tab-separated line per study (or, with ``--study``, per series); ``get``
prints the folder the series was retrieved into (the per-user cache, or ``-o DIR``); ``send``
prints one line per instance with its C-STORE status. The settings live in the file
:func:`app.net.config_path` names (``--config`` another). Exit status: 0 done, 1 a network or
PACS failure (one ``rmisr-pacs: error: …`` line), 2 usage error.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from .errors import PacsConfigError, PacsError, StoreRefusedError
from .nodes import RETRIEVE_METHODS, PacsConfig, PacsNode, Timeouts, config_path, load_config, \
    save_config

__all__ = ["main", "build_parser", "send_files"]

PROG = "rmisr-pacs"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``rmisr-pacs``."""
    p = argparse.ArgumentParser(prog=PROG, description="Query, retrieve from and send to a "
                                "PACS (DICOM C-ECHO, C-FIND, C-GET/C-MOVE, C-STORE).")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help=f"settings file (default: {config_path()})")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("nodes", help="list the settings and the configured PACS nodes")
    a = sub.add_parser("add-node", help="add or replace a PACS node")
    a.add_argument("name")
    a.add_argument("ae_title")
    a.add_argument("host")
    a.add_argument("port", type=int)
    a.add_argument("--local-ae", help="also set this program's AE title")
    r = sub.add_parser("remove-node", help="remove a PACS node")
    r.add_argument("name")
    s = sub.add_parser("set", help="change the local settings")
    s.add_argument("--local-ae", help="this program's AE title (the PACS must know it)")
    s.add_argument("--retrieve", choices=RETRIEVE_METHODS,
                   help="get: C-GET (no inbound port); move: C-MOVE to the local AE")
    s.add_argument("--move-port", type=int, help="port of the storage SCP during a C-MOVE")
    s.add_argument("--timeout", type=float, help="seconds for connection, association and "
                   "each message")
    s.add_argument("--cache-mb", type=int, help="size limit of the retrieve cache")

    e = sub.add_parser("echo", help="verify a node (C-ECHO)")
    e.add_argument("node")

    f = sub.add_parser("find", help="find studies (or a study's series) (C-FIND)")
    f.add_argument("node")
    f.add_argument("--patient-name", default="", help="wildcards * and ? allowed")
    f.add_argument("--patient-id", default="")
    f.add_argument("--date-from", default="", metavar="YYYYMMDD")
    f.add_argument("--date-to", default="", metavar="YYYYMMDD")
    f.add_argument("--modality", default="")
    f.add_argument("--accession", default="")
    f.add_argument("--study", default="", metavar="STUDY_UID",
                   help="list this study's series instead")

    g = sub.add_parser("get", help="retrieve a series (C-GET, or C-MOVE with --move)")
    g.add_argument("node")
    g.add_argument("study_uid")
    g.add_argument("series_uid")
    g.add_argument("-o", "--output-dir", type=Path, help="copy the files here too")
    g.add_argument("--move", action="store_true", help="C-MOVE to the local AE")

    st = sub.add_parser("send", help="store DICOM files (C-STORE)")
    st.add_argument("node")
    st.add_argument("files", nargs="+", type=Path, metavar="FILE_OR_FOLDER")
    return p


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _is_dicom_file(path: Path) -> bool:
    """Whether ``path`` starts as a DICOM file does (the "DICM" prefix after the preamble)."""
    try:
        with open(path, "rb") as f:
            return f.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def _dicom_files(paths: Sequence[Path]) -> list[Path]:
    """The files to send: those named, and the DICOM files of the folders named (a folder's
    other files — a PNG beside the series, a README — are listed as skipped, not sent; one of
    them refused the whole folder before)."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
            for q in found:
                if _is_dicom_file(q):
                    files.append(q)
                else:
                    print(f"{PROG}: note: {q}: not a DICOM file, not sent", file=sys.stderr)
        else:
            files.append(p)
    return files


def send_files(node_name: str, files: Sequence[Path], *, config: PacsConfig | None = None,
               say: Callable[[str], None] = print, error: Callable[[str], None] = _error
               ) -> int:
    """C-STORE ``files`` to the configured node ``node_name``; one line per instance through
    ``say`` and failures through ``error``. Returns 0 when every instance was stored, else 1."""
    from .scu import store

    try:
        cfg = config if config is not None else load_config()
        node = cfg.node(node_name)
        results = store(node, cfg, list(files), raise_on_refusal=False)
    except PacsError as exc:
        error(exc.message)
        return 1
    for r in results:  # a status the PACS gave (stored / REFUSED), or none (not sent, …)
        outcome = "stored" if r.ok else "REFUSED" if r.status is not None else "NOT STORED"
        say(f"{r.path}\t{r.sop_instance_uid}\t{outcome}\t{r.message}")
    failed = [r for r in results if not r.ok]
    if failed:
        refused = [r for r in failed if r.status is not None]
        what = (f"refused {len(refused)} of {len(results)} instance(s)" if len(refused) ==
                len(failed) else f"did not store {len(failed)} of {len(results)} instance(s)")
        error(str(StoreRefusedError(f"{node.describe()} {what}; {failed[0].path.name}: "
                                    f"{failed[0].message}", results)))
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    from . import retrieve, scu

    cfg = load_config(args.config)
    cmd = args.command
    if cmd == "nodes":
        print(f"settings: {args.config or config_path()}")
        print(f"local AE title: {cfg.local_ae}; retrieve: C-{cfg.retrieve.upper()}"
              f" (move port {cfg.move_port}); timeouts: {cfg.timeouts.connect:g}/"
              f"{cfg.timeouts.acse:g}/{cfg.timeouts.dimse:g} s; cache {cfg.cache_mb} MB")
        for n in cfg.nodes:
            print(f"{n.name}\t{n.ae_title}\t{n.host}\t{n.port}")
        return 0
    if cmd in ("add-node", "remove-node", "set"):
        if cmd == "add-node":
            cfg = cfg.with_node(PacsNode(args.name, args.ae_title, args.host, args.port))
            if args.local_ae:
                cfg = replace(cfg, local_ae=args.local_ae)
        elif cmd == "remove-node":
            cfg = cfg.without_node(args.name)
        else:
            changes: dict = {k: getattr(args, k) for k in ("local_ae", "retrieve", "move_port",
                                                            "cache_mb")
                             if getattr(args, k) is not None}
            if args.timeout is not None:
                changes["timeouts"] = Timeouts(args.timeout, args.timeout, args.timeout,
                                               args.timeout)
            cfg = replace(cfg, **changes)
        print(save_config(cfg, args.config))
        return 0
    node = cfg.node(args.node)
    if cmd == "echo":
        seconds = scu.echo(node, cfg)
        print(f"{node.describe()}: C-ECHO ok in {seconds * 1000:.0f} ms")
        return 0
    if cmd == "find":
        if args.study:
            for s in scu.find_series(node, cfg, args.study, args.modality):
                print("\t".join([s.series_uid, s.modality, str(s.number or ""),
                                 str(s.n_instances if s.n_instances is not None else ""),
                                 s.description]))
            return 0
        query = scu.StudyQuery(args.patient_name, args.patient_id, args.date_from,
                               args.date_to, args.modality, args.accession)
        for st in scu.find_studies(node, cfg, query):
            print("\t".join([st.study_uid, st.study_date, st.patient_id, st.patient_name,
                             st.modalities, st.accession, st.description,
                             str(st.n_instances if st.n_instances is not None else "")]))
        return 0
    if cmd == "get":
        folder = retrieve.retrieve_series(node, cfg, args.study_uid, args.series_uid,
                                          method="move" if args.move else None)
        if args.output_dir is not None:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            for f in sorted(folder.iterdir()):
                shutil.copy2(f, args.output_dir / f.name)
            folder = args.output_dir
        print(folder)
        return 0
    if cmd == "send":
        return send_files(args.node, _dicom_files(args.files), config=cfg)
    raise AssertionError(cmd)  # pragma: no cover


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``rmisr-pacs``; returns the exit status (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        return _run(args)
    except (PacsConfigError, ValueError) as exc:
        _error(str(exc))
        return 2 if isinstance(exc, ValueError) else 1
    except PacsError as exc:
        _error(exc.message)
        return 1
    except OSError as exc:
        _error(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
