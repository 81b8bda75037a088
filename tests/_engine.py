"""Helpers for engine tests: a temporary weights folder with randomly initialised networks.

These weights are NOT trained and never leave the test's temporary folder; they exercise the
registry, loading, tiling and shapes with the real architectures.
"""
from __future__ import annotations

from pathlib import Path

import torch

from models.manifest import WeightsRecord, export_weights

from models.registry import create_model

SMALL_ARGS = {"channels": 16, "distilled": 8}


def make_weights_dir(root: Path, small: bool = True) -> Path:
    """Write untrained weights for every method into ``root`` and return it."""
    torch.manual_seed(0)
    kw = SMALL_ARGS if small else {}
    specs = [
        ("srcnn_any.safetensors", "srcnn", "srcnn", {}, None, [1.1, 5.0]),
        ("bl_x2.safetensors", "rmisr-bl", "rmisr_bl", {"scale": 2, **kw}, [2], None),
        # sub-pixel + bicubic skip, as shipped ×2/×3
        ("bl_x3.safetensors", "rmisr-bl", "rmisr_bl",
         {"scale": 3, "global_skip": "bicubic", **kw}, [3], None),
        ("bl_meta.safetensors", "rmisr-bl", "rmisr_bl",
         {"scale": None, "upsampler": "meta", "global_skip": "bicubic", **kw}, None, [1.1, 5.0]),
        ("vp_meta.safetensors", "rmisr-vp", "rmisr_vp", {"scale": None, "upsampler": "meta", **kw},
         None, [1.1, 5.0]),
    ]
    for file, method, arch, args, scales, rng in specs:
        model = create_model(arch, **args)
        with torch.no_grad():  # the skip models zero their last layer: make it do something
            for p in model.parameters():
                if not p.any():
                    p.normal_(0.0, 0.5)
        rec = WeightsRecord(file=file, method=method, arch=arch, arch_args=args,
                            scales=scales or [], scale_range=rng,
                            training={"note": "untrained, test only"})
        export_weights(model, rec, root)
    return root


def write_tiny_image_folders(root: Path, size: int = 48, count: int = 2) -> Path:
    """``root/train`` and ``root/val`` with ``count`` random 8-bit ``size``² PNGs each (a training
    run's smallest data); returns ``root``."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for folder in ("train", "val"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(
                root / folder / f"{i}.png")
    return root
