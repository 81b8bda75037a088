"""Where the weights are: ``weights/manifest.json`` and the safetensors files it lists.

* One record per weights file (:class:`WeightsRecord`): method, architecture and its arguments,
  scales (a list of fixed scales or a ``[min, max]`` range), parameter count, sha256, training
  record. :meth:`Manifest.resolve` picks the record for (method, scale): a fixed-scale file for an
  integer scale when there is one, else the range (meta / scale-agnostic) file with the narrowest
  range that covers the scale.
* :func:`load_model` checks the file's sha256 against the manifest (a mismatch raises
  :class:`WeightsIntegrityError`) and loads with safetensors — never pickle.
* :func:`export_weights` writes a model's weights atomically and upserts its record.

What exists is :mod:`models.methods`; how an architecture is built is :mod:`models.registry`.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file
from torch import nn

from .methods import METHODS
from .registry import create_model

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
MANIFEST_NAME = "manifest.json"


class WeightsError(RuntimeError):
    """Base class of weights problems."""


class NoWeightsError(WeightsError):
    """The method has no trained weights for this scale."""


class WeightsIntegrityError(WeightsError):
    """A weights file is missing, unreadable or does not match its manifest sha256."""


@dataclass
class WeightsRecord:
    file: str
    method: str
    arch: str
    arch_args: dict[str, Any]
    scales: list[float] = field(default_factory=list)   # fixed scales
    scale_range: list[float] | None = None              # [min, max] for meta / scale-agnostic
    params: int = 0
    sha256: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    #: measured by ``python -m models.evaluation.reach``: {"lr_pixels": d, "tolerance": t,
    #: "sha256": the file's}: input pixels more than d LR pixels from an output pixel's position
    #: change it by at most t of the normalised range (empty: not measured)
    reach: dict[str, Any] = field(default_factory=dict)

    @property
    def measured_reach(self) -> int | None:
        """The measured reach in LR pixels, if it was measured on this very file."""
        if self.reach.get("sha256") != self.sha256 or not self.sha256:
            return None
        return int(self.reach["lr_pixels"])

    def covers(self, scale: float) -> bool:
        if any(abs(scale - s) < 1e-9 for s in self.scales):
            return True
        return self.scale_range is not None and (
            self.scale_range[0] - 1e-9 <= scale <= self.scale_range[1] + 1e-9)

    @property
    def is_fixed(self) -> bool:
        return self.scale_range is None

    def to_json(self) -> dict[str, Any]:
        d = {"file": self.file, "method": self.method, "arch": self.arch,
             "arch_args": self.arch_args, "params": self.params, "sha256": self.sha256,
             "training": self.training}
        if self.scale_range is not None:
            d["scale_range"] = self.scale_range
        else:
            d["scales"] = self.scales
        if self.reach:
            d["reach"] = self.reach
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "WeightsRecord":
        """A record from its manifest entry.

        Raises:
            ValueError / KeyError / TypeError: a missing field or one of the wrong type (the
                manifest is refused as a whole, see :class:`Manifest`).
        """
        if not isinstance(d, dict):
            raise TypeError(f"a record must be an object, got {type(d).__name__}")
        for key in ("file", "method", "arch"):
            if not isinstance(d[key], str):
                raise TypeError(f"{key!r} must be a string")
        scales = [float(v) for v in d.get("scales", [])]
        scale_range = d.get("scale_range")
        if scale_range is not None:
            scale_range = [float(v) for v in scale_range]
            if len(scale_range) != 2 or not scale_range[0] <= scale_range[1]:
                raise ValueError(f"{d['file']}: scale_range must be [min, max]")
        reach = dict(d.get("reach", {}))
        if reach and (not isinstance(reach.get("lr_pixels"), int) or reach["lr_pixels"] < 0):
            raise ValueError(f"{d['file']}: reach.lr_pixels must be a whole number ≥ 0")
        return cls(file=d["file"], method=d["method"], arch=d["arch"],
                   arch_args=dict(d.get("arch_args", {})),
                   scales=[int(v) if v.is_integer() else v for v in scales],
                   scale_range=scale_range, params=int(d.get("params", 0)),
                   sha256=str(d.get("sha256", "")), training=dict(d.get("training", {})),
                   reach=reach)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _current_umask() -> int:
    mask = os.umask(0)  # read once, at import: umask is per process, and set-and-reset here
    # while another thread creates a file would give that file the wrong mode
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _readable_by_all(path: str | Path) -> None:
    """The mode a file created with ``open`` gets (0666 less the umask): ``mkstemp`` makes
    0600, which other users of a shared install (the bundle, a lab's weights folder) cannot
    read."""
    os.chmod(path, 0o666 & ~_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _readable_by_all(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Manifest:
    """The records of ``weights/manifest.json``."""

    def __init__(self, weights_dir: str | Path = WEIGHTS_DIR) -> None:
        self.dir = Path(weights_dir)
        self.path = self.dir / MANIFEST_NAME
        self.records: list[WeightsRecord] = []
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(data, dict) or not isinstance(data.get("weights", []), list):
                    raise TypeError('expected {"weights": [records]}')
                self.records = [WeightsRecord.from_json(r) for r in data.get("weights", [])]
            except (ValueError, KeyError, TypeError) as exc:
                raise WeightsIntegrityError(f"{self.path} is not a valid manifest: {exc}") from exc

    def for_file(self, file: str) -> WeightsRecord | None:
        """The record of the weights file named ``file``, or None."""
        return next((r for r in self.records if r.file == file), None)

    def for_method(self, method: str) -> list[WeightsRecord]:
        return [r for r in self.records if r.method == method]

    def resolve(self, method: str, scale: float) -> WeightsRecord:
        """The record serving (method, scale); :class:`NoWeightsError` if none.

        The most specific file wins: a fixed-scale file, else the scale-range file with the
        narrowest range (e.g. a low-scale SRCNN over the general one where both cover the scale).
        """
        if method not in METHODS:
            raise KeyError(f"unknown method {method!r}; known: {list(METHODS)}")
        recs = [r for r in self.for_method(method) if r.covers(scale)]
        fixed = [r for r in recs if r.is_fixed]
        if fixed:
            return fixed[0]
        if recs:
            return min(recs, key=lambda r: (r.scale_range[1] - r.scale_range[0], r.file))
        raise NoWeightsError(f"{METHODS[method].label} {self.missing_reason(method, scale)}")

    def missing_reason(self, method: str, scale: float) -> str:
        """Why ``method`` cannot run at ``scale`` — one text for errors and the viewer's tooltips:
        ``"has no trained weights for ×1.5; it is served at ×2–5 (see weights/manifest.json)"``.
        """
        if not self.records and not self.path.is_file():  # a folder without its manifest
            return (f"has no trained weights for ×{scale:g}: there is no {self.path} "
                    f"(the weights folder {'is missing' if not self.dir.is_dir() else 'has none'})")
        served = self.coverage(method)
        where = f"; it is served at {served}" if served else ""
        return f"has no trained weights for ×{scale:g}{where} (see weights/manifest.json)"

    def coverage(self, method: str) -> str:
        """The scales ``method``'s files serve, e.g. ``"×2–5"``, ``"×4, ×1.1–5"`` or
        ``""``."""
        recs = self.for_method(method)
        fixed = sorted({s for r in recs for s in r.scales})
        ranges = sorted(tuple(r.scale_range) for r in recs if r.scale_range is not None)
        return ", ".join([f"×{s:g}" for s in fixed] + [f"×{a:g}–{b:g}" for a, b in ranges])

    def available(self, method: str, scale: float) -> bool:
        if method == "bicubic":
            return True
        try:
            self.resolve(method, scale)
            return True
        except NoWeightsError:
            return False

    def upsert(self, record: WeightsRecord) -> None:
        self.records = [r for r in self.records if r.file != record.file] + [record]
        self.records.sort(key=lambda r: r.file)
        data = {"format": 1, "weights": [r.to_json() for r in self.records]}
        atomic_write_bytes(self.path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def read_verified(record: WeightsRecord, weights_dir: str | Path = WEIGHTS_DIR) -> bytes:
    """The bytes of ``record``'s file, read once and checked against its sha256.

    Raises:
        WeightsIntegrityError: the file is missing or its sha256 differs from the record's.
    """
    path = Path(weights_dir) / record.file
    if not path.is_file():
        raise WeightsIntegrityError(f"weights file {path} is missing")
    data = path.read_bytes()
    digest = sha256_bytes(data)
    if digest != record.sha256:
        raise WeightsIntegrityError(
            f"weights file {path.name} does not match its manifest: sha256 {digest[:16]}… "
            f"expected {record.sha256[:16]}… — the file was modified or corrupted; "
            "refusing to load")
    return data


def model_from_bytes(record: WeightsRecord, data: bytes,
                     device: str | torch.device = "cpu") -> nn.Module:
    """Build the record's architecture and load safetensors ``data`` (already verified) into it.

    Raises:
        WeightsIntegrityError: ``data`` is not a readable safetensors file, or its tensors do not
            fit the architecture.
    """
    try:
        state = load_safetensors(data)
    except Exception as exc:  # safetensors raises its own error types
        raise WeightsIntegrityError(f"weights file {record.file} is unreadable: {exc}") from exc
    try:
        model = create_model(record.arch, **record.arch_args)
    except (KeyError, TypeError, ValueError) as exc:  # an unknown arch or argument
        raise WeightsIntegrityError(f"weights file {record.file}: its record's architecture "
                                    f"{record.arch} {record.arch_args} cannot be built: "
                                    f"{exc}") from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsIntegrityError(
            f"weights file {record.file} does not fit architecture {record.arch}: {exc}") from exc
    model.measured_reach = record.measured_reach  # read by models.inference.tiling
    return model.to(device).eval()


def load_model(record: WeightsRecord, weights_dir: str | Path = WEIGHTS_DIR,
               device: str | torch.device = "cpu") -> nn.Module:
    """Build the record's architecture and load its verified weights (safetensors only).

    The file is read once: the bytes whose sha256 is checked are the bytes loaded, so a file
    replaced between the check and the load cannot slip through.

    Args:
        record: the manifest record of the file.
        weights_dir: the folder holding the file.
        device: where the model goes.

    Returns:
        The model in eval mode.

    Raises:
        WeightsIntegrityError: the file is missing, altered, unreadable or does not fit its
            architecture.
    """
    return model_from_bytes(record, read_verified(record, weights_dir), device)


def export_weights(model: nn.Module, record: WeightsRecord,
                   weights_dir: str | Path = WEIGHTS_DIR,
                   dtype: torch.dtype = torch.float32) -> WeightsRecord:
    """Write ``model``'s weights as safetensors (atomically) and upsert its manifest record.

    ``dtype=torch.float16`` halves the file (for models whose float32 file would exceed the
    ~8 MB a repository file may have, e.g. RMISR-VP's 2.26 M parameters); :func:`load_model`
    casts it back to float32. The record says so (``training["stored_dtype"]``).

    Args:
        model: the trained model.
        record: its manifest record (file name, method, architecture, scales, training); its
            ``sha256`` and ``params`` are filled in.
        weights_dir: the folder to write the file and manifest to.
        dtype: the stored precision.

    Returns:
        ``record``, completed.
    """
    weights_dir = Path(weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    record.training.pop("stored_dtype", None)
    if dtype != torch.float32:
        record.training["stored_dtype"] = str(dtype).replace("torch.", "")
    fd, tmp = tempfile.mkstemp(dir=weights_dir, prefix="." + record.file, suffix=".tmp")
    os.close(fd)
    try:
        save_file(state, tmp, metadata={"arch": record.arch, "method": record.method})
        record.sha256 = sha256_file(tmp)
        record.params = sum(p.numel() for p in model.parameters())
        _readable_by_all(tmp)
        os.replace(tmp, weights_dir / record.file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    Manifest(weights_dir).upsert(record)
    return record

