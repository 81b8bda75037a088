"""What an annotation measures on one panel, from that panel's pixels (numpy only, no Qt).

A panel shows a rectangle of the source image (``origin``, ``extent`` in source pixels) as an
array of ``shape`` pixels: the source region itself (the image, or the "Source ROI" panel), or a
result of ×s with s× as many pixels each way. :class:`PanelGeometry` maps the source coordinates
of an :class:`~app.annotations.Annotation` onto that array; a result pixel is the source's
spacing ÷ the scale. Lengths, angles and areas are physical (mm, degrees, mm² from the source's
pixel spacing, so the same on every panel; the panel's own pixels beside them), a region's
statistics (mean ± SD, min, max) are those of the panel's pixels whose centres lie inside it, in
the image's units (HU for CT). Without a pixel spacing lengths and areas are in the panel's
pixels ("px", "px²").
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.annotations import Annotation, Point
from app.formatting import MINUS, format_area_mm2, format_number

#: what a region measures on a panel that holds none of it (a result of another region)
OUTSIDE = "outside this panel"
#: a region reaching beyond a panel's pixels: the full line's and the compact label's words
PARTLY_OUTSIDE = "partly outside this panel"
PARTLY_OUTSIDE_SHORT = "part on panel"


@dataclass(frozen=True)
class PanelGeometry:
    """Where a panel's pixel array lies on the source image.

    Attributes:
        origin: (x, y) source coordinates of the array's top-left corner.
        extent: (width, height) of the source rectangle the array covers, in source pixels.
        shape: (rows, columns) of the array.
        spacing: the source's (row, column) pixel spacing in mm, or None when unknown.
        unit: the pixels' unit ("HU", or "").
    """

    origin: Point
    extent: tuple[float, float]
    shape: tuple[int, int]
    spacing: tuple[float, float] | None = None
    unit: str = ""

    @classmethod
    def of_image(cls, shape: Sequence[int], spacing: tuple[float, float] | None = None,
                 unit: str = "") -> PanelGeometry:
        """The whole source image: one array pixel per source pixel."""
        rows, cols = int(shape[0]), int(shape[1])
        return cls((0.0, 0.0), (float(cols), float(rows)), (rows, cols), spacing, unit)

    @property
    def factor(self) -> tuple[float, float]:
        """Array pixels per source pixel (x, y): the scale of a result, 1 for the source."""
        return self.shape[1] / self.extent[0], self.shape[0] / self.extent[1]

    def to_array(self, p: Point) -> Point:
        """A source point in the array's continuous pixel coordinates (x = column)."""
        fx, fy = self.factor
        return (p[0] - self.origin[0]) * fx, (p[1] - self.origin[1]) * fy


@dataclass(frozen=True)
class RegionStatistics:
    """The pixels of one panel inside a region.

    Attributes:
        pixels: the panel's pixels counted (centres inside, padding and non-finite left out).
        mean: their mean (None: none counted, or a colour image).
        sd: their population standard deviation.
        minimum: the smallest.
        maximum: the largest.
        area: the region's area, in mm² with a spacing, else in the panel's pixels.
        area_unit: "mm²" or "px²".
        outside: "" where the region lies on the panel, "partly" where part of it lies beyond
            the panel's pixels (a result panel holds only its region of interest): the
            statistics are of the part on it, the area is the whole region's; "wholly" where
            none of it does.
    """

    pixels: int
    mean: float | None
    sd: float | None
    minimum: float | None
    maximum: float | None
    area: float
    area_unit: str
    outside: str = ""


def length(a: Point, b: Point, geometry: PanelGeometry) -> tuple[float | None, float]:
    """(mm or None without a spacing, length in the panel's pixels) from ``a`` to ``b``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    fx, fy = geometry.factor
    px = math.hypot(dx * fx, dy * fy)
    if geometry.spacing is None:
        return None, px
    return math.hypot(dx * geometry.spacing[1], dy * geometry.spacing[0]), px


def angle_degrees(points: Sequence[Point], spacing: tuple[float, float] | None = None) -> float:
    """The angle at ``points[1]`` between the arms to ``points[0]`` and ``points[2]``, in
    degrees (0–180), measured in mm (an anisotropic spacing bends it) or else in pixels."""
    sy, sx = spacing if spacing is not None else (1.0, 1.0)
    (x0, y0), (xv, yv), (x2, y2) = points[0], points[1], points[2]
    u = ((x0 - xv) * sx, (y0 - yv) * sy)
    v = ((x2 - xv) * sx, (y2 - yv) * sy)
    nu, nv = math.hypot(*u), math.hypot(*v)
    if nu == 0 or nv == 0:
        return 0.0
    cos = (u[0] * v[0] + u[1] * v[1]) / (nu * nv)
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def region_mask(annotation: Annotation, geometry: PanelGeometry
                ) -> tuple[tuple[slice, slice], np.ndarray]:
    """The panel pixels whose centres lie inside a region annotation.

    Returns:
        (rows, columns) slices of the array around the region and a boolean mask over that
        block (empty slices when the region misses the array).
    """
    x0, y0, x1, y1 = annotation.box()
    (ax0, ay0), (ax1, ay1) = geometry.to_array((x0, y0)), geometry.to_array((x1, y1))
    rows, cols = geometry.shape
    c0, c1 = max(0, math.floor(ax0)), min(cols, math.ceil(ax1))
    r0, r1 = max(0, math.floor(ay0)), min(rows, math.ceil(ay1))
    block = (slice(r0, max(r0, r1)), slice(c0, max(c0, c1)))
    cx = np.arange(c0, max(c0, c1)) + 0.5
    cy = (np.arange(r0, max(r0, r1)) + 0.5)[:, None]
    if annotation.kind == "rectangle":
        mask = (cx >= ax0) & (cx <= ax1) & (cy >= ay0) & (cy <= ay1)
    else:
        rx, ry = max((ax1 - ax0) / 2, 1e-9), max((ay1 - ay0) / 2, 1e-9)
        mask = ((cx - (ax0 + ax1) / 2) / rx) ** 2 + ((cy - (ay0 + ay1) / 2) / ry) ** 2 <= 1.0
    return block, np.broadcast_to(mask, (len(cy), len(cx)))


def region_area(annotation: Annotation, geometry: PanelGeometry) -> tuple[float, str]:
    """The region's area: (mm², "mm²") with a spacing, else (the panel's pixels², "px²")."""
    x0, y0, x1, y1 = annotation.box()
    w, h = x1 - x0, y1 - y0
    if geometry.spacing is not None:
        w, h, unit = w * geometry.spacing[1], h * geometry.spacing[0], "mm²"
    else:
        fx, fy = geometry.factor
        w, h, unit = w * fx, h * fy, "px²"
    area = w * h * (math.pi / 4 if annotation.kind == "ellipse" else 1.0)
    return float(area), unit


def region_statistics(annotation: Annotation, pixels: np.ndarray, geometry: PanelGeometry,
                      padding: np.ndarray | None = None) -> RegionStatistics:
    """Mean ± SD, minimum and maximum of ``pixels`` inside a region annotation, and its area.

    Args:
        annotation: an ellipse or a rectangle.
        pixels: the panel's full-range pixels (2-D; a colour image gets no statistics).
        geometry: where ``pixels`` lie on the source.
        padding: True where a pixel is padding outside the scanned field (left out), or None.
    """
    area, unit = region_area(annotation, geometry)
    outside = region_outside(annotation, geometry)
    arr = np.asarray(pixels)
    if arr.ndim != 2 or outside == "wholly":
        return RegionStatistics(0, None, None, None, None, area, unit, outside)
    block, mask = region_mask(annotation, geometry)
    keep = mask.copy()
    if padding is not None:
        keep &= ~np.asarray(padding, dtype=bool)[block]
    values = np.asarray(arr[block], dtype=np.float64)[keep]
    values = values[np.isfinite(values)]
    if values.size == 0:
        return RegionStatistics(0, None, None, None, None, area, unit, outside)
    return RegionStatistics(int(values.size), float(values.mean()), float(values.std()),
                            float(values.min()), float(values.max()), area, unit, outside)


def region_outside(annotation: Annotation, geometry: PanelGeometry) -> str:
    """Whether a region annotation reaches beyond a panel's pixels: "" (it lies on them),
    "partly" or "wholly". An ellipse touches every side of its box, so its box decides."""
    x0, y0, x1, y1 = annotation.box()
    (ax0, ay0), (ax1, ay1) = geometry.to_array((x0, y0)), geometry.to_array((x1, y1))
    rows, cols = geometry.shape
    eps = 1e-6
    if ax1 <= eps or ay1 <= eps or ax0 >= cols - eps or ay0 >= rows - eps:
        return "wholly"
    if ax0 < -eps or ay0 < -eps or ax1 > cols + eps or ay1 > rows + eps:
        return "partly"
    return ""


@dataclass(frozen=True)
class Measurement:
    """What an annotation measures on one panel, written two ways.

    Attributes:
        text: one line in full: "mean -798.1 ± 306 HU · min -1024, max 351 · 436.7 mm²" (the
            status bar, the tooltip, the comparison sheet's lists).
        lines: the compact label drawn beside the shape: one line for a distance ("35.1 mm")
            or an angle ("63.4°"), at most two for a region ("−798 ± 306 HU", "min −1024 ·
            max 351 · 437 mm²"; 3 significant digits, typographic minus signs).
    """

    text: str
    lines: tuple[str, ...]


def measure(annotation: Annotation, pixels: np.ndarray, geometry: PanelGeometry,
            padding: np.ndarray | None = None) -> Measurement:
    """What ``annotation`` measures on a panel (the statistics of ``pixels`` for a region), as
    :class:`Measurement`'s full line and compact label lines."""
    if annotation.kind == "distance":
        mm, px = length(*annotation.points, geometry)
        if mm is None:
            return Measurement(f"{px:.1f} px", (f"{format_number(px, 1)} px",))
        return Measurement(f"{mm:.1f} mm · {px:.1f} px", (f"{format_number(mm, 1)} mm",))
    if annotation.kind == "angle":
        degrees = angle_degrees(annotation.points, geometry.spacing)
        return Measurement(f"{degrees:.1f}°", (f"{format_number(degrees, 1)}°",))
    stats = region_statistics(annotation, pixels, geometry, padding)
    if stats.outside == "wholly":
        return Measurement(f"{OUTSIDE} (nothing measured)", (OUTSIDE,))
    mm2 = stats.area_unit == "mm²"
    area = format_area_mm2(stats.area) if mm2 else f"{format_number(stats.area)} px²"
    short_area = f"{format_number(stats.area, significant=3, minus=MINUS)} {stats.area_unit}"
    if stats.mean is None:
        return Measurement(area, (short_area,))
    unit = f" {geometry.unit}" if geometry.unit else ""

    def short(v: float | None) -> str:
        return format_number(v, significant=3, minus=MINUS)

    text = (f"mean {format_number(stats.mean)} ± {format_number(stats.sd, significant=3)}{unit}"
            f" · min {format_number(stats.minimum)}, max {format_number(stats.maximum)}"
            f" · {area}")
    extremes = f"min {short(stats.minimum)} · max {short(stats.maximum)} · {short_area}"
    first = f"{short(stats.mean)} ± {short(stats.sd)}{unit}"
    if stats.outside == "partly":
        text += f" · {PARTLY_OUTSIDE} (statistics of the part on it)"
        first += f" ({PARTLY_OUTSIDE_SHORT})"
    return Measurement(text, (first, extremes))


def measurement_text(annotation: Annotation, pixels: np.ndarray, geometry: PanelGeometry,
                     padding: np.ndarray | None = None) -> str:
    """What ``annotation`` measures on a panel, in one line (:attr:`Measurement.text`).

    "12.3 mm · 36.5 px", "41.2 px" (no spacing), "63.4°", or for a region
    "mean -181.3 ± 37 HU · min -350, max 40 · 123.4 mm²" (the statistics of ``pixels``).
    """
    return measure(annotation, pixels, geometry, padding).text
