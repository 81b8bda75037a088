"""The computed uncertainty map of a best-quality run, for display and export (no Qt).

"Best quality" runs a network on the 8 flips and rotations of the region and shows their mean;
the engine returns their per-pixel standard deviation (``UpscaleInfo.uncertainty``) in the
image's units (HU for CT): where the 8 runs disagree the network guessed, and the computed pixels
deserve the least trust. This module turns that spread into

* the map itself (:func:`uncertainty_map`: the spread smoothed over σ = 1 output pixel, the
  variant that ranked the worst pixels best; the one function behind the viewer's panels, its
  quality table and exports, and ``rmisr-sr --uncertainty-out``);
* a heat image through the project's one colour table (inferno, :mod:`app.io.heatmap`), on a
  scale shared by the panels (:func:`display_range`), with a
  colour bar labelled in the image's units (:func:`colour_bar`, :func:`colour_bar_ticks`);
* the quality table's figures (:func:`uncertainty_statistics`: mean and 95th percentile);
* files (:func:`write_uncertainty`): a PNG with the colour bar and the "computed uncertainty map"
  caption, a 16-bit TIFF holding the values in the image's units, and a DICOM Secondary Capture
  labelled as a computed uncertainty map.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.formatting import format_number
from app.io.heatmap import COLOUR_MAP, INFERNO_ANCHORS, colour_lut, heat_colours

if TYPE_CHECKING:
    from app.io import ImageData, WrittenImage

__all__ = ["INFERNO_ANCHORS", "COLOUR_MAP", "colour_lut", "MAP_VARIANT", "SMOOTH_SIGMA",
           "gaussian_smooth", "uncertainty_map", "display_range",
           "colourize", "colour_bar", "colour_bar_ticks", "uncertainty_statistics",
           "uncertainty_label", "NEEDS_BEST_QUALITY", "with_colour_bar", "write_uncertainty",
           "write_uncertainty_dicom"]

#: What a network panel says in the Uncertainty view of a run without "Best quality".
NEEDS_BEST_QUALITY = ("The uncertainty map needs “Best quality”: tick it in the Run box and "
                      "Super-resolve again")

#: The map shown and exported: the variant of :mod:`models.inference.uncertainty` that ranked
#: the worst pixels best (its ``DEFAULT_VARIANT``; docs/results.md, "Uncertainty"): the 8 runs'
#: spread averaged over a Gaussian of σ = :data:`SMOOTH_SIGMA` output pixels.
MAP_VARIANT = "spread-smooth"
SMOOTH_SIGMA = 1.0
#: How far the Gaussian reaches, in σ (scipy.ndimage's default: the evaluation's smoothing).
_TRUNCATE = 4.0


def gaussian_smooth(a: np.ndarray, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """``a`` (2-D, or H×W×C: each channel on its own) averaged over a Gaussian of ``sigma``
    pixels in the image plane, edges extended by their nearest pixel — numpy only, equal within
    float rounding to ``scipy.ndimage.gaussian_filter(a, (σ, σ, 0), mode="nearest")``, the
    evaluation's smoothing. float64."""
    out = np.asarray(a, dtype=np.float64)
    sigma = float(sigma)
    if out.ndim < 2 or out.size == 0 or not sigma > 0:
        return out.copy()
    radius = int(_TRUNCATE * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        for i, k in enumerate(kernel):
            acc += k * np.take(padded, np.arange(i, i + n), axis=axis)
        out = acc
    return out


def uncertainty_map(uncertainty: np.ndarray | None) -> np.ndarray | None:
    """The computed uncertainty map of an engine's ``info.uncertainty`` (the per-pixel spread
    of the 8 runs) as the viewer shows it and ``rmisr-sr --uncertainty-out`` writes it: the
    :data:`MAP_VARIANT` (the spread smoothed over σ = 1 output pixel), 2-D float32 in the image's
    units (a colour result's channels: their mean), or None. Numpy only (no torch, no Qt).

    Apply it once, to the engine's spread: the map it returns is what the panels, the quality
    table and :func:`write_uncertainty` take."""
    plane = _plane(uncertainty)
    if plane is None:
        return None
    return np.ascontiguousarray(gaussian_smooth(plane, SMOOTH_SIGMA).astype(np.float32))


def _plane(uncertainty: np.ndarray | None) -> np.ndarray | None:
    """A map as 2-D float32 (a colour map's channels: their mean), or None."""
    if uncertainty is None:
        return None
    a = np.asarray(uncertainty, dtype=np.float32)
    if a.ndim == 3:
        a = a.mean(axis=-1, dtype=np.float64).astype(np.float32)
    return np.ascontiguousarray(a)


def display_range(maps: Iterable[np.ndarray | None], percentile: float = 99.5) -> float:
    """The top of the colour scale shared by ``maps``: the largest of their ``percentile``
    values (a few extreme pixels do not wash the others out), 1 when all are zero."""
    arrays = [np.nan_to_num(np.asarray(m, dtype=np.float64)) for m in maps
              if m is not None and np.size(m)]
    top = max((float(np.percentile(a, percentile)) for a in arrays), default=0.0)
    if not top > 0:  # a few pixels only: their maximum
        top = max((float(np.max(a)) for a in arrays), default=0.0)
    return top if math.isfinite(top) and top > 0 else 1.0


def colourize(map2d: np.ndarray, top: float) -> np.ndarray:
    """(H, W, 3) uint8 heat image of a 2-D map on the scale 0 … ``top`` (above: the top colour;
    NaN: the bottom one), through the project's one colour table (:mod:`app.io.heatmap`)."""
    return heat_colours(map2d, top)


def colour_bar(length: int = 256) -> np.ndarray:
    """(1, length, 3) uint8: the colour map from 0 (left) to the top of the scale (right)."""
    return colour_lut(max(int(length), 2))[None]


def colour_bar_ticks(top: float, unit: str = "", n: int = 3) -> list[tuple[float, str]]:
    """(position 0–1 along the bar, label) of ``n`` evenly spaced ticks; the last label carries
    the unit ("0", "2.5", "5 HU")."""
    ticks = []
    for i in range(max(int(n), 2)):
        f = i / (max(int(n), 2) - 1)
        text = format_number(top * f, significant=3)
        if f == 1.0 and unit:
            text += f" {unit}"
        ticks.append((f, text))
    return ticks


def uncertainty_statistics(map2d: np.ndarray | None, percentile: float = 95.0
                           ) -> tuple[float | None, float | None]:
    """(mean, ``percentile``) of a map over the region, or (None, None) without a map."""
    if map2d is None or not np.size(map2d):
        return None, None
    a = np.asarray(map2d, dtype=np.float64)
    return float(a.mean()), float(np.percentile(a, percentile))


def uncertainty_label(scale: float, method: str, unit: str = "",
                      simulated: bool = False) -> str:
    """The label a map carries wherever it goes: "Computed uncertainty map (SD of 8 flipped/
    rotated runs, smoothed 1 px, HU) of SR ×2.5 RMISR-VP — computed, not acquired" (and
    " (from a simulated low-resolution input)" for a test run on a simulated input, as its
    result says)."""
    from app.io import computed_label

    u = f", {unit}" if unit else ""
    return (f"Computed uncertainty map (SD of 8 flipped/rotated runs, smoothed 1 px{u}) of "
            f"{computed_label(scale, method)}"
            + (" (from a simulated low-resolution input)" if simulated else ""))


def with_colour_bar(rgb: np.ndarray, top: float, unit: str = "", min_width: int = 240
                    ) -> np.ndarray:
    """``rgb`` (a heat image) with a strip below it: the colour bar, its ticks and what it
    measures ("SD of the 8 runs, smoothed 1 px (HU)"). The image's pixels stay at the top left."""
    from PIL import Image, ImageDraw

    from app.io.sheet import _ASCII, _font

    a = np.asarray(rgb, dtype=np.uint8)
    h, w = a.shape[:2]
    width = max(w, min_width)
    font_size = 12
    font, unicode_ok = _font(font_size)
    pad, bar_h, line_h = 6, 12, font_size + 4
    strip_h = pad + line_h + bar_h + 2 + line_h + pad
    canvas = Image.new("RGB", (width, h + strip_h), (0, 0, 0))
    canvas.paste(Image.fromarray(a, "RGB"), (0, 0))
    draw = ImageDraw.Draw(canvas)

    def text(s: str) -> str:
        return s if unicode_ok else s.translate(_ASCII)

    title = "SD of the 8 runs, smoothed 1 px" + (f" ({unit})" if unit else "")
    draw.text((pad, h + pad), text(title), fill=(255, 255, 255), font=font)
    x0, x1 = pad + 4, width - pad - 24
    y0 = h + pad + line_h
    bar = np.repeat(colour_bar(x1 - x0), bar_h, axis=0)
    canvas.paste(Image.fromarray(bar, "RGB"), (x0, y0))
    for f, label in colour_bar_ticks(top, unit):
        x = x0 + f * (x1 - x0 - 1)
        draw.line([(x, y0 + bar_h), (x, y0 + bar_h + 2)], fill=(255, 255, 255))
        tw = draw.textlength(text(label), font=font)
        tx = min(max(x - tw / 2, 1), width - tw - 1)
        draw.text((tx, y0 + bar_h + 2), text(label), fill=(255, 255, 255), font=font)
    return np.asarray(canvas)


def write_uncertainty(path: str | os.PathLike[str], uncertainty: np.ndarray, *,
                      source: ImageData, scale: float, roi: tuple[int, int, int, int],
                      method: str, fmt: str, top: float | None = None,
                      weights_sha256: str | None = None, simulated: bool = False,
                      pixel_spacing: tuple[float, float] | None = None) -> WrittenImage:
    """Write a computed uncertainty map (:func:`uncertainty_map` of the engine's
    ``info.uncertainty`` of a result of ``roi`` of ``source`` at ``scale``; written as given,
    a colour map as its channels' mean) as

    * "png": the heat image on 0 … ``top`` (default: :func:`display_range` of the map) with the
      colour bar below it and the label burnt into a caption strip (and in the PNG text);
    * "tiff": 16-bit, value = scale · stored in the image's units (ImageDescription JSON, as
      :func:`app.io.write_tiff16`), the result's pixel spacing;
    * "dcm": a Secondary Capture (:func:`write_uncertainty_dicom`).

    ``simulated``: the result is of a simulated low-resolution input (labelled so; its map is on
    the acquired region's grid: give its ``pixel_spacing``, the source's ÷ scale otherwise).

    Raises:
        app.io.ImageIOError: the writer refused or failed; ValueError: unknown format.
    """
    from app.io import WrittenImage, write_png, write_tiff16

    map2d = _plane(uncertainty)
    if map2d is None:
        raise ValueError("no uncertainty map: it needs a best-quality run")
    unit = getattr(source, "value_unit", "") or ""
    label = uncertainty_label(scale, method, unit, simulated)
    target = Path(path)
    if fmt == "png":
        top = display_range([map2d]) if top is None else float(top)
        image = with_colour_bar(colourize(map2d, top), top, unit)
        write_png(target, image, 128.0, 256.0, source=source, label=label, caption=True)
        return WrittenImage(target, "png")
    if fmt == "tiff":
        peak = float(np.max(map2d)) if map2d.size else 0.0
        step = peak / 65535.0 if peak > 0 else 1.0
        return WrittenImage(target, "tiff", tiff=write_tiff16(
            target, np.maximum(map2d, 0.0), offset=0.0, scale=step, unit=unit, computed=label,
            source=source, invert=False,
            pixel_spacing=pixel_spacing if pixel_spacing is not None
            else _spacing(source, scale)))
    if fmt == "dcm":
        if simulated:  # a test on a simulated input is no image of the patient (as its result)
            raise ValueError("the uncertainty map of a run on a simulated low-resolution input "
                             "is a test, not an image of the patient: export it as PNG or TIFF")
        return WrittenImage(target, "dcm", dicom=write_uncertainty_dicom(
            target, map2d, source=source, scale=scale, roi=roi, method=method,
            weights_sha256=weights_sha256, top=top))
    raise ValueError(f"unknown export format {fmt!r}")


def _spacing(source: Any, scale: float) -> tuple[float, float] | None:
    sp = getattr(source, "pixel_spacing", None)
    return None if sp is None else (sp[0] / scale, sp[1] / scale)


def write_uncertainty_dicom(path: str | os.PathLike[str], map2d: np.ndarray, *,
                            source: ImageData, scale: float, roi: tuple[int, int, int, int],
                            method: str, weights_sha256: str | None = None,
                            top: float | None = None) -> Any:
    """Write a computed uncertainty map as a DICOM Secondary Capture Image in a new series
    (:func:`app.io.write_map_dicom`: the patient and study of a DICOM source, else new and
    empty): ImageType DERIVED\\SECONDARY\\UNCERTAINTY, the map's label as Series Description,
    Image Comments and Derivation Description, 16-bit unsigned pixels with RescaleSlope so that
    the values are the spread in the image's units, a window over 0 … ``top``. Returns the
    :class:`app.io.DerivedReport`."""
    from app.io import validate_roi, validate_scale, write_map_dicom
    from app.io.labels import SOFTWARE, software_version

    s = validate_scale(scale)
    x, y, w, h = validate_roi(roi, source)
    unit = getattr(source, "value_unit", "") or ""
    label = uncertainty_label(s, method, unit)
    derivation = (f"{label}. Per-pixel standard deviation of the 8 dihedral (flipped/rotated) "
                  f"runs, averaged over a Gaussian of sigma {SMOOTH_SIGMA:g} output pixel, of "
                  f"{method} at ×{s:g} of ROI x={x} y={y} w={w} h={h} (source pixels) "
                  f"of {source.source_path.name}; weights sha256 "
                  f"{weights_sha256 or 'none (no network)'}; software {SOFTWARE}. Values are "
                  f"computed{(' in ' + unit) if unit else ''}, not acquired.")
    comments = (f"{label} ({SOFTWARE} {software_version()}). Bright = the network's "
                "8 runs disagree: the computed pixels deserve the least trust there.")
    a = np.maximum(np.nan_to_num(np.asarray(map2d, dtype=np.float64)), 0.0)
    return write_map_dicom(
        path, a, source=source, scale=s, roi=(x, y, w, h), kind="UNCERTAINTY",
        series_description=f"Uncertainty SR ×{s:g} {method} (computed)", derivation=derivation,
        comments=comments, window_top=display_range([a]) if top is None else float(top),
        window_explanation="uncertainty 0 to top of the scale")
