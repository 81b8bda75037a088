"""How computed images are labelled everywhere (files, sheets, the viewer's overlay)."""
from __future__ import annotations

__all__ = ["METHOD_LABELS", "SOFTWARE", "method_label", "fmt_scale", "computed_label",
           "software_version", "run_notes"]

#: Display labels of the engine's methods (mirrors ``models.METHODS``; a test checks they agree).
METHOD_LABELS = {"bicubic": "Bicubic", "srcnn": "SRCNN", "rmisr-bl": "RMISR-BL",
                 "rmisr-vp": "RMISR-VP"}
SOFTWARE = "RMISR Viewer"


def software_version() -> str:
    """The installed package's version ("0.1.0"), or "source checkout"."""
    from importlib import metadata

    try:
        return metadata.version("rmisr-viewer")
    except metadata.PackageNotFoundError:
        return "source checkout"


def method_label(method: str) -> str:
    """Display label of an engine method name ("rmisr-vp" → "RMISR-VP"); unknown names as
    given."""
    return METHOD_LABELS.get(str(method).lower(), str(method))


def fmt_scale(scale: float) -> str:
    """"2.5", "2", "3.5": the scale as written in names and labels."""
    return f"{scale:g}"


def computed_label(scale: float, method: str) -> str:
    """The label every computed image carries: "SR ×2.5 RMISR-VP — computed, not acquired"."""
    return f"SR ×{fmt_scale(scale)} {method_label(method)} — computed, not acquired"


def run_notes(info: object, unit: str = "") -> str:
    """What a derived file's description should add about one engine run (its ``UpscaleInfo``):
    the intensity range the network saw as 0–1 and the arithmetic it ran in (to reproduce the
    result) and the engine's notes (a bicubic fallback, a tile-size retry); "" for bicubic
    without notes."""
    parts = []
    bounds = getattr(info, "normalization_range", None)
    if bounds is not None:
        u = f" {unit}" if unit else ""
        parts.append(f"Network input normalised ({getattr(info, 'normalization', '')}) from "
                     f"{bounds[0]:.6g} to {bounds[1]:.6g}{u}")
    precision = getattr(info, "precision", None)
    if precision:
        parts.append(f"Network arithmetic {precision}")
    parts += list(getattr(info, "notes", None) or [])
    return "; ".join(parts) + "." if parts else ""
