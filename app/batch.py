"""One step of batch super-resolution, shared by ``rmisr-sr`` and the viewer's "ROI over slices"
export: super-resolve a region of a read image in its context and write the result.

Qt-free and torch-free: the engine (:class:`models.SuperResolver`) is passed in.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.io import (DerivedSeries, ImageData, check_format_fits, output_size, validate_roi,
                    write_image)
from app.io.labels import fmt_scale, run_notes
from app.io.padding import engine_pixels
from app.io.series import RASTER_SUFFIXES

__all__ = ["FORMAT_EXT", "output_name", "uncertainty_name", "uncertainty_formats",
           "SliceResult", "super_resolve_to_file", "write_uncertainty_files"]

FORMAT_EXT = {"dcm": "dcm", "png": "png", "tiff": "tiff"}
#: extensions :func:`output_name` drops from a source's name (others, such as the last part of a
#: UID used as a DICOM file name, are kept)
IMAGE_SUFFIXES = frozenset((".dcm", ".dicom", ".ima", ".img", *RASTER_SUFFIXES))


def output_name(source: Path, scale: float, method: str, fmt: str,
                frame: int | None = None) -> str:
    """``<stem>_SRx<scale>_<method>.<ext>``, e.g. ``ct_SRx2.5_rmisr-vp.dcm``; a frame of a
    multi-frame source adds ``_f<frame>`` after the stem. The stem is the name without an image
    extension (``1.2.840.5.12322`` stays whole)."""
    known = source.suffix.lower() in IMAGE_SUFFIXES  # not the last part of a UID-named file
    stem = ((source.stem if known else "") or source.name) + \
        (f"_f{frame}" if frame is not None else "")
    return f"{stem}_SRx{fmt_scale(scale)}_{method}.{FORMAT_EXT[fmt]}"


def uncertainty_name(source: Path, scale: float, method: str, fmt: str,
                     frame: int | None = None) -> str:
    """The uncertainty map's name beside the result's: :func:`output_name` with
    ``_uncertainty`` before the extension (``ct_SRx2_rmisr-bl_uncertainty.png``), so that a
    result and its map sort together and the map never takes the result's name."""
    name = output_name(source, scale, method, fmt, frame)
    stem, ext = name.rsplit(".", 1)
    return f"{stem}_uncertainty.{ext}"


def uncertainty_formats(image: ImageData) -> tuple[str, ...]:
    """What an uncertainty map is written as: a PNG with its colour bar (to look at), a 16-bit
    TIFF in the image's units (to measure), and for a DICOM source a Secondary Capture in its
    study (to file beside the derived series in a PACS)."""
    dicom = image.kind == "dicom" and image.dataset is not None
    return ("png", "tiff", "dcm") if dicom else ("png", "tiff")


@dataclass
class SliceResult:
    """What :func:`super_resolve_to_file` made: the pixels, the engine's record of the run
    (``UpscaleInfo``), the file and what the user should be told about it."""

    pixels: np.ndarray
    info: Any
    path: Path
    notes: list[str] = field(default_factory=list)


def super_resolve_to_file(sr: Any, image: ImageData, target: Path, fmt: str, scale: float,
                          method: str, roi: tuple[int, int, int, int] | None, *, tile: int = 0,
                          progress: Callable[[int, int], None] | None = None,
                          cancel: Callable[[], bool] | None = None, caption: bool = True,
                          series: DerivedSeries | None = None,
                          window: tuple[float, float] | None = None,
                          ensemble: bool = False) -> SliceResult:
    """Super-resolve ``roi`` of ``image`` (None: all of it) in its context and write it.

    With ``ensemble`` the result is the engine's best-quality mode (the mean of the 8
    flipped/rotated runs, 8× the work; the derived description says so) and ``info.uncertainty``
    holds their per-pixel spread for :func:`write_uncertainty_files`.

    With ``series``, the slices of one source series written through it form one derived DICOM
    series (a PACS stacks them). ``window`` is the PNG's display window (default: the image's).

    Returns:
        The result; its ``notes`` are the engine's (e.g. a bicubic fallback) and the writer's
        (e.g. values clipped to the range the file can store).

    Raises:
        app.io.ImageIOError: a bad ROI or a writer's refusal; the engine's errors
        (``UpscaleCancelled`` when ``cancel()`` returned True).
    """
    roi_v = validate_roi(roi, image)
    check_format_fits(fmt, *output_size(roi_v[3], roi_v[2], scale), target)  # before computing
    out, info = sr.upscale(engine_pixels(image), scale, method, progress=progress, cancel=cancel,
                           tile=tile, return_info=True, window=image.window, roi=roi_v,
                           value_range=image.normalization_range(), ensemble=ensemble,
                           modality=image.modality)
    series_uid = (series.uid_for(image, method, scale, roi_v)
                  if series is not None and fmt == "dcm" else None)
    written = write_image(target, out, source=image, fmt=fmt,  # type: ignore[arg-type]
                          scale=scale, roi=roi_v, method=method,
                          weights_sha256=info.weights_sha256, caption=caption, window=window,
                          series_instance_uid=series_uid,
                          description_extra=_ensemble_note(info)
                          + run_notes(info, image.value_unit))
    return SliceResult(out, info, written.path, list(info.notes) + list(written.warnings))


def _ensemble_note(info: Any) -> str:
    return ("Best quality: mean of the 8 flipped/rotated runs. "
            if getattr(info, "ensemble", False) and getattr(info, "weights_sha256", None) else "")


def write_uncertainty_files(result: SliceResult, image: ImageData,
                            targets: dict[str, Path], scale: float, method: str,
                            roi: tuple[int, int, int, int] | None) -> list[Path]:
    """Write the uncertainty map of an ensemble ``result`` (``result.info.uncertainty``) to each
    of ``targets`` (format → path, from :func:`uncertainty_formats`) through the viewer's own
    exporter (:func:`app.uncertainty_view.write_uncertainty`), so a map looks the same from the
    command line and the viewer. The map is :func:`app.uncertainty_view.uncertainty_map` of the
    spread, the function behind the viewer's Uncertainty view (the measured default variant:
    the spread smoothed over one output pixel). Returns the paths written.

    Raises:
        ValueError: the result has no uncertainty (not an ensemble run); the writers' errors.
    """
    from app.uncertainty_view import uncertainty_map, write_uncertainty

    spread = getattr(result.info, "uncertainty", None)
    if spread is None:
        raise ValueError("no uncertainty map: the run was not an ensemble (--ensemble)")
    unc = uncertainty_map(spread)  # the same map as the viewer's Uncertainty view
    roi_v = validate_roi(roi, image)
    done = []
    for fmt, path in targets.items():
        write_uncertainty(path, unc, source=image, scale=scale, roi=roi_v,
                          method=method, fmt=fmt, weights_sha256=result.info.weights_sha256)
        done.append(path)
    return done
