"""Help ▸ Copy diagnostics: versions, the device actually used, weights sha256 per method."""
from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

from app.io.labels import software_version

PACKAGES = ("numpy", "torch", "pydicom", "scipy", "safetensors", "pillow", "tifffile",
            "pylibjpeg", "pytest-qt")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def package_versions() -> dict[str, str]:
    """Python, Qt/PyQt and the engine's libraries (without importing them)."""
    from PyQt5.QtCore import PYQT_VERSION_STR, QT_VERSION_STR

    out = {"python": sys.version.split()[0], "platform": platform.platform(),
           "PyQt5": PYQT_VERSION_STR, "Qt": QT_VERSION_STR}
    for p in PACKAGES:
        out[p] = _version(p)
    out["rmisr-viewer"] = software_version()
    return out


def diagnostics_text(engine: Any, scale: float, image: Any = None, last_result: Any = None
                     ) -> str:
    """The text copied to the clipboard (plain, one fact per line)."""
    lines = [f"RMISR Viewer diagnostics — {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"]
    for k, v in package_versions().items():
        lines.append(f"{k}: {v}")
    sr = engine.peek() if engine is not None else None
    if sr is None:
        choice = engine.device_choice if engine else "?"
        lines.append(f"device: engine not loaded (choice {choice})")
    else:
        lines.append(f"device in use: {sr.device} (choice: {engine.device_choice})")
        from models.inference.precision import cpu_has_native_bf16, resolve_precision
        lines.append(f"precision (auto on this device): {getattr(sr, 'precision', '?')}; "
                     f"CPU native bf16: {cpu_has_native_bf16()}")
        try:
            lines.append(f"cuda available: {engine.cuda_available()}")
        except Exception as exc:  # pragma: no cover - defensive
            lines.append(f"cuda available: unknown ({exc})")
        lines.append(f"weights dir: {sr.weights_dir}")
        lines.append(f"weights for ×{scale:g}:")
        for m in sr.methods():
            try:
                rec = sr.weights_record(m, scale)
            except Exception as exc:
                lines.append(f"  {m}: unavailable — {exc}")
                continue
            if rec is None:
                lines.append(f"  {m}: no weights (interpolation)")
            else:
                try:  # per network and image: auto keeps some in fp32 (SRCNN on a CPU, CT)
                    prec = resolve_precision(sr.precision_setting, sr.device, arch=rec.arch,
                                             modality=getattr(image, "modality", None))
                except (AttributeError, ValueError):  # pragma: no cover - a stand-in engine
                    prec = "?"
                lines.append(f"  {m}: {rec.file} sha256 {rec.sha256} ({prec})")
        records = getattr(getattr(sr, "manifest", None), "records", [])
        if records:
            lines.append("manifest:")
            for r in records:
                scales = r.scale_range if r.scale_range is not None else r.scales
                lines.append(f"  {r.file}: method {r.method}, arch {r.arch}, scales {scales}, "
                             f"sha256 {r.sha256}")
    if image is not None:
        lines.append(f"image: {image.source_path} ({image.description})")
        lines.append(f"  transfer syntax: {image.transfer_syntax or '?'}"
                     f"{' (lossy compressed source)' if image.lossy else ''}; spacing from "
                     f"{image.spacing_source or 'nowhere (none in the file)'}")
        for w in image.warnings:
            lines.append(f"  read warning: {w}")
    if last_result is not None:
        req = last_result.request
        lines.append(f"last run: ROI {req.roi}, ×{req.scale:g}, simulate LR {req.simulate}, "
                     f"best quality (8-run ensemble) {getattr(req, 'ensemble', False)}, "
                     f"device {last_result.device}, precision setting "
                     f"{getattr(req, 'precision', 'auto')}, {last_result.seconds:.2f} s")
        for r in last_result.results:
            info = r.info
            lines.append(f"  {r.method}: {r.seconds:.3f} s on {getattr(info, 'device', '?')}, "
                         f"weights {getattr(info, 'weights_file', None)} "
                         f"sha256 {getattr(info, 'weights_sha256', None)}, "
                         f"normalisation {getattr(info, 'normalization', None)}, "
                         f"precision {getattr(info, 'precision', None) or 'fp64'}, "
                         f"tiles {getattr(info, 'tiles', '?')}")
        for m, e in last_result.errors.items():
            lines.append(f"  {m}: FAILED — {e}")
    return "\n".join(lines) + "\n"
