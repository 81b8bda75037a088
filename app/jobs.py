"""What the viewer's engine jobs take and give: a super-resolution of a region
(:class:`JobRequest`, :class:`JobResult` with a :class:`MethodResult` per method) and a slice
range written to files (:class:`SliceRangeRequest`, :class:`SliceRangeResult`).

Plain data without Qt or torch, so that :mod:`app.session` and the result cache can name these
types; the jobs that run them are in :mod:`app.ui.worker`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app import quality


@dataclass
class JobRequest:
    """What to super-resolve.

    Attributes:
        roi_pixels: the ROI cropped from the source (full range).
        roi: (x, y, w, h) in source pixels.
        source_pixels: the whole source image (not copied): the networks see the ROI in its
            context and normalise by the whole image, so the result does not depend on where
            the box's edges fall. None: the ROI alone.
        value_range: (min, max) the engine's range normalisation spans (the measured values,
            padding left out: :meth:`ImageData.normalization_range`); None: the image's min–max.
        scale: magnification.
        methods: engine method names, in display order.
        simulate: degrade the ROI by 1/s first and use the ROI as reference.
        window: display window (centre, width), passed to the engine.
        labels: method → display label.
        unit: pixel unit ("HU" or "").
        precision: the networks' arithmetic ("auto", "fp32", "bf16", "fp16").
        modality: the source's modality ("CT" keeps the automatic precision at fp32).
        ensemble: "Best quality": each method's result is the mean of its 8 flipped/rotated
            runs, with their per-pixel spread as ``info.uncertainty``.
    """

    roi_pixels: np.ndarray
    roi: tuple[int, int, int, int]
    scale: float
    methods: list[str]
    simulate: bool = False
    window: tuple[float, float] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    unit: str = ""
    source_pixels: np.ndarray | None = None
    value_range: tuple[float, float] | None = None
    precision: str = "auto"
    modality: str | None = None
    ensemble: bool = False


@dataclass
class MethodResult:
    """One method's result: its engine name and display label, the pixels (full range), the
    time it took and the engine's record of the run (``UpscaleInfo``)."""

    method: str
    label: str
    pixels: np.ndarray
    seconds: float
    info: Any


@dataclass
class JobResult:
    """Everything the comparison and quality panels need."""

    request: JobRequest
    input_pixels: np.ndarray              # what the methods were given
    reference: np.ndarray | None          # ground truth (simulate) or None
    results: list[MethodResult]
    report: quality.QualityReport | None
    errors: dict[str, str]
    device: str
    seconds: float
    baseline: np.ndarray | None = None    # the bicubic result, run even when not ticked


@dataclass
class SliceRangeRequest:
    """One method at one scale on the same ROI of several slices, each written to a file.

    Attributes:
        items: (file, frame, target file) of each slice, in slice order.
        roi: (x, y, w, h) in every slice.
        scale: magnification.
        method: engine method name.
        fmt: "dcm", "png" or "tiff".
        window: display window of PNG files (None: each slice's own).
        label: the method's display label.
    """

    items: list[tuple[Path, int, Path]]
    roi: tuple[int, int, int, int]
    scale: float
    method: str
    fmt: str
    window: tuple[float, float] | None = None
    label: str = ""


@dataclass
class SliceRangeResult:
    """What a :class:`SliceRangeJob` wrote: the files, "name: note" lines the user should read
    (clipped values, fallbacks), "name: message" lines of the slices that failed, whether it
    was cancelled before the last slice, the time taken, and (file name, notes) of each
    written slice in order."""

    request: SliceRangeRequest
    written: list[Path]
    notes: list[str]
    errors: list[str]
    cancelled: bool
    seconds: float
    per_slice: list[tuple[str, list[str]]] = field(default_factory=list)
