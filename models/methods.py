"""What exists: the methods the viewer, the command line and the benchmark tables offer.

A method is what a user picks (``"rmisr-vp"``); it names the architecture
(:data:`models.registry.ARCH_REGISTRY`) its weights files are built with, or none for bicubic.
The weights that serve a method at a scale are in the manifest (:mod:`models.manifest`). This
module imports no torch.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodSpec:
    name: str
    label: str
    arch: str | None  # None: no network (bicubic)
    description: str


METHODS: dict[str, MethodSpec] = {
    "bicubic": MethodSpec("bicubic", "Bicubic", None, "MATLAB-compatible bicubic interpolation"),
    "srcnn": MethodSpec("srcnn", "SRCNN", "srcnn", "SRCNN 9-1-5 on the bicubic image"),
    "rmisr-bl": MethodSpec("rmisr-bl", "RMISR-BL", "rmisr_bl", "RMISR baseline (4 PFMDB)"),
    "rmisr-vp": MethodSpec("rmisr-vp", "RMISR-VP", "rmisr_vp",
                           "RMISR visual-perception model (6 PFMDB + Laplacian branch)"),
}
