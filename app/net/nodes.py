"""PACS nodes and the local application entity: a small JSON file both the CLI and the viewer read.

The file is ``$RMISR_PACS_CONFIG`` when that is set, else ``pacs.json`` in the per-user config
folder (``$XDG_CONFIG_HOME/rmisr`` or ``~/.config/rmisr``; ``%APPDATA%\\rmisr`` on Windows)::

    {"local_ae": "RMISR", "retrieve": "get", "move_port": 11113,
     "timeouts": {"connect": 10, "acse": 30, "dimse": 60, "network": 60},
     "cache_mb": 2048,
     "nodes": [{"name": "hospital", "ae_title": "PACS", "host": "pacs.example.org", "port": 104}]}

AE titles follow PS3.5 6.2 (AE VR): at most 16 characters of the default repertoire, no
backslash or control characters, not only spaces.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import PacsConfigError, UnknownNodeError
from .user_dirs import user_dir

__all__ = ["PacsNode", "Timeouts", "PacsConfig", "config_dir", "config_path", "load_config",
           "save_config", "validate_ae_title", "DEFAULT_LOCAL_AE", "RETRIEVE_METHODS"]

DEFAULT_LOCAL_AE = "RMISR"
#: "get": C-GET over the same association (no inbound port); "move": C-MOVE to the local AE,
#: whose storage SCP this program starts on ``move_port``
RETRIEVE_METHODS = ("get", "move")


def validate_ae_title(title: str, what: str = "AE title") -> str:
    """``title`` stripped, or :class:`PacsConfigError` when it is not a valid AE title
    (PS3.5 6.2: 1-16 characters, default repertoire, no backslash or control characters)."""
    if not isinstance(title, str):
        raise PacsConfigError(f"{what} must be text, not {type(title).__name__}")
    text = title.strip()
    if not text:
        raise PacsConfigError(f"{what} is empty")
    if len(text) > 16:
        raise PacsConfigError(f"{what} {text!r} is longer than 16 characters")
    if any(c == "\\" or not (" " <= c <= "~") for c in text):
        raise PacsConfigError(f"{what} {text!r} may hold only printable ASCII, no backslash")
    return text


def _port(value: Any, what: str) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise PacsConfigError(f"{what} {value!r} is not a whole number")
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise PacsConfigError(f"{what} {value!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise PacsConfigError(f"{what} {port} is outside 1-65535")
    return port


@dataclass(frozen=True)
class PacsNode:
    """A remote DICOM application entity (a PACS, a workstation)."""

    name: str
    ae_title: str
    host: str
    port: int = 104

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise PacsConfigError("a PACS node needs a name")
        object.__setattr__(self, "name", str(self.name).strip())
        object.__setattr__(self, "ae_title",
                           validate_ae_title(self.ae_title, f"AE title of node {self.name!r}"))
        if not str(self.host).strip():
            raise PacsConfigError(f"node {self.name!r} has no host")
        object.__setattr__(self, "host", str(self.host).strip())
        object.__setattr__(self, "port", _port(self.port, f"port of node {self.name!r}"))

    def describe(self) -> str:
        """``name (AE@host:port)``."""
        return f"{self.name} ({self.ae_title}@{self.host}:{self.port})"


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait: for the TCP connection, the association (ACSE), each DIMSE message and
    any network silence."""

    connect: float = 10.0
    acse: float = 30.0
    dimse: float = 60.0
    network: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "acse", "dimse", "network"):
            value = getattr(self, name)
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise PacsConfigError(f"timeout {name} {value!r} is not a number") from None
            if not 0 < v <= 3600:
                raise PacsConfigError(f"timeout {name} {v:g} s must be in (0, 3600]")
            object.__setattr__(self, name, v)


@dataclass(frozen=True)
class PacsConfig:
    """The local AE, how to retrieve, the timeouts, the cache size and the known nodes."""

    local_ae: str = DEFAULT_LOCAL_AE
    retrieve: str = "get"
    move_port: int = 11113
    timeouts: Timeouts = field(default_factory=Timeouts)
    cache_mb: int = 2048
    nodes: tuple[PacsNode, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "local_ae", validate_ae_title(self.local_ae, "local AE title"))
        if self.retrieve not in RETRIEVE_METHODS:
            raise PacsConfigError(f"retrieve must be one of {', '.join(RETRIEVE_METHODS)}, "
                                  f"not {self.retrieve!r}")
        object.__setattr__(self, "move_port", _port(self.move_port, "move port"))
        try:
            cache = int(self.cache_mb)
        except (TypeError, ValueError):
            raise PacsConfigError(f"cache_mb {self.cache_mb!r} is not a number") from None
        if cache < 1:
            raise PacsConfigError(f"cache_mb {cache} must be at least 1")
        object.__setattr__(self, "cache_mb", cache)
        names = [n.name for n in self.nodes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise PacsConfigError(f"node names must be unique: {', '.join(dupes)}")
        object.__setattr__(self, "nodes", tuple(self.nodes))

    def node(self, name: str) -> PacsNode:
        """The node called ``name``, or :class:`UnknownNodeError` naming the known ones."""
        for n in self.nodes:
            if n.name == name:
                return n
        known = ", ".join(n.name for n in self.nodes) or "none configured"
        raise UnknownNodeError(f"no PACS node named {name!r} (known: {known}; add one with "
                               f"rmisr-pacs add-node NAME AE_TITLE HOST PORT)")

    def with_node(self, node: PacsNode) -> PacsConfig:
        """A copy with ``node`` added, or replacing the node of the same name."""
        others = tuple(n for n in self.nodes if n.name != node.name)
        return replace(self, nodes=others + (node,))

    def without_node(self, name: str) -> PacsConfig:
        self.node(name)
        return replace(self, nodes=tuple(n for n in self.nodes if n.name != name))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["nodes"] = [asdict(n) for n in self.nodes]
        return d

    @classmethod
    def from_dict(cls, data: Any) -> PacsConfig:
        """Build from parsed JSON; unknown keys are ignored, wrong values raise
        :class:`PacsConfigError`."""
        if not isinstance(data, dict):
            raise PacsConfigError("the PACS configuration must be a JSON object")
        kwargs: dict[str, Any] = {}
        for key in ("local_ae", "retrieve", "move_port", "cache_mb"):
            if key in data:
                kwargs[key] = data[key]
        t = data.get("timeouts", {})
        if not isinstance(t, dict):
            raise PacsConfigError("timeouts must be a JSON object")
        kwargs["timeouts"] = Timeouts(**{k: t[k] for k in ("connect", "acse", "dimse",
                                                           "network") if k in t})
        nodes = data.get("nodes", [])
        if not isinstance(nodes, list):
            raise PacsConfigError("nodes must be a JSON list")
        parsed = []
        for i, n in enumerate(nodes):
            if not isinstance(n, dict) or not {"name", "ae_title", "host"} <= set(n):
                raise PacsConfigError(f"node {i + 1} needs name, ae_title and host")
            parsed.append(PacsNode(n["name"], n["ae_title"], n["host"], n.get("port", 104)))
        kwargs["nodes"] = tuple(parsed)
        return cls(**kwargs)


def config_dir() -> Path:
    """The per-user configuration folder of this program (not created here)."""
    return user_dir("config")


def config_path() -> Path:
    """``$RMISR_PACS_CONFIG``, else ``pacs.json`` in :func:`config_dir`."""
    env = os.environ.get("RMISR_PACS_CONFIG")
    return Path(env) if env else config_dir() / "pacs.json"


def back_up_unreadable(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Copy a settings file that cannot be read (:class:`PacsConfigError`) to
    ``<name>.bak`` (``.bak2``, … where that exists) before it is replaced, so that nodes the
    reader could not take are not lost; the copy, or None where there was nothing to keep."""
    p = Path(path) if path is not None else config_path()
    if not p.is_file():
        return None
    try:
        load_config(p)
        return None
    except PacsConfigError:
        pass
    for k in range(1, 1000):
        backup = p.with_name(p.name + (".bak" if k == 1 else f".bak{k}"))
        if not backup.exists():
            try:
                shutil.copy2(p, backup)
            except OSError as exc:
                raise PacsConfigError(f"cannot keep a copy of {p} before replacing it: "
                                      f"{exc.strerror or exc}") from None
            return backup
    raise PacsConfigError(f"cannot keep a copy of {p}: too many backups beside it")


def load_config(path: str | os.PathLike[str] | None = None) -> PacsConfig:
    """Read the configuration; a missing file gives the defaults (no nodes)."""
    p = Path(path) if path is not None else config_path()
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad) is accepted
    except FileNotFoundError:
        return PacsConfig()
    except OSError as exc:
        raise PacsConfigError(f"cannot read {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PacsConfigError(f"{p} is not UTF-8 text (byte {exc.start}: "
                              f"{exc.object[exc.start:exc.start + 1]!r}): save it as UTF-8"
                              ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PacsConfigError(f"{p} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return PacsConfig.from_dict(data)
    except PacsConfigError as exc:
        raise PacsConfigError(f"{p}: {exc.message}") from None
    except TypeError as exc:
        raise PacsConfigError(f"{p}: {exc}") from None


def save_config(config: PacsConfig, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the configuration atomically, through :func:`app.io.write_text` (a temporary file
    in the same folder, then a rename: a reader never sees half a file).

    Args:
        config: the settings to write.
        path: the file (default :func:`config_path`); its folder is created when missing.

    Returns:
        The file written.

    Raises:
        PacsConfigError: the file cannot be written, naming it and the cause.
    """
    from app.io import ImageIOError, write_text

    p = Path(path) if path is not None else config_path()
    text = json.dumps(config.to_dict(), indent=2) + "\n"
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        write_text(p, text)
    except OSError as exc:
        raise PacsConfigError(f"cannot write {p}: {exc.strerror or exc}") from None
    except ImageIOError as exc:
        raise PacsConfigError(f"cannot write {p}: {exc.message}") from None
    return p
