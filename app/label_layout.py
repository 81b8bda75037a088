"""Where a view puts its measurement labels, without Qt: pure geometry on screen rectangles.

Each annotation asks for a label in a few variants, fullest first, the last its number tag alone
("1"; :func:`label_variants`). :func:`place_labels` goes through the annotations in the order drawn and gives each the
fullest variant that has room, at the first of a fixed list of candidate positions around its
shape (:func:`candidates`) that stays inside the view (sliding along its edge) and collides with no label placed before
it nor with the view's fixed texts (the region of interest's size label, a panel's caption), so
that labels never cover one another. A variant has room only where the shape on screen is not
small beside it (:func:`fits_shape`: at overview zoom an annotation gets its number alone) and
where it would not cover much of the view (:data:`MAX_VIEW_SHARE`). A label placed away from its
shape gets a leader line from the nearest point of the shape.

The layout is deterministic: the same rectangles give the same placements. Coordinates are
screen pixels, y downwards.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

Point = tuple[float, float]
Size = tuple[float, float]

#: Pixels between a label and its shape, and between two labels.
GAP = 3.0
#: A variant other than the number tag needs the shape's longer side on screen to be at least
#: this fraction of the label's width (a small shape gets its number only).
SMALL_RATIO = 0.5
#: A variant other than the number tag may cover at most this fraction of the view's area.
MAX_VIEW_SHARE = 0.2
#: Rings of candidate positions, each a label's height (plus :data:`GAP`) farther out.
RINGS = 4
#: A label farther than this (pixels) from its shape's nearest attach point gets a leader line.
LEADER_FROM = 10.0


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle: top-left corner (x, y), width w and height h."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        """x + w."""
        return self.x + self.w

    @property
    def bottom(self) -> float:
        """y + h."""
        return self.y + self.h

    @property
    def centre(self) -> Point:
        """The rectangle's centre."""
        return self.x + self.w / 2, self.y + self.h / 2

    @classmethod
    def around(cls, points: Sequence[Point]) -> Rect:
        """The bounding box of ``points``."""
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return cls(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def intersects(self, other: Rect, gap: float = 0.0) -> bool:
        """Whether the two overlap, or come closer than ``gap`` pixels."""
        return (self.x < other.right + gap and other.x < self.right + gap
                and self.y < other.bottom + gap and other.y < self.bottom + gap)

    def inside(self, bounds: Rect) -> bool:
        """Whether the rectangle lies wholly within ``bounds``."""
        return (self.x >= bounds.x and self.y >= bounds.y and self.right <= bounds.right
                and self.bottom <= bounds.bottom)

    def overlap(self, other: Rect) -> float:
        """The area the two have in common."""
        w = min(self.right, other.right) - max(self.x, other.x)
        h = min(self.bottom, other.bottom) - max(self.y, other.y)
        return max(w, 0.0) * max(h, 0.0)

    def nearest(self, p: Point) -> Point:
        """The point of the rectangle (edge or inside) nearest ``p``."""
        return min(max(p[0], self.x), self.right), min(max(p[1], self.y), self.bottom)

    def clamped(self, bounds: Rect) -> Rect:
        """The rectangle moved (not resized) as little as needed to lie within ``bounds``
        (its top-left corner stays inside when it is the larger)."""
        x = max(min(self.x, bounds.right - self.w), bounds.x)
        y = max(min(self.y, bounds.bottom - self.h), bounds.y)
        return Rect(x, y, self.w, self.h)


@dataclass(frozen=True)
class LabelRequest:
    """What one annotation's label needs.

    Attributes:
        shape: the shape's bounding box on screen.
        sizes: (width, height) of each variant of the label, fullest first; the last is the
            number tag, always allowed.
        attach: points on the shape's outline a leader line may start from (default: the
            centre of ``shape``).
    """

    shape: Rect
    sizes: tuple[Size, ...]
    attach: tuple[Point, ...] = ()


@dataclass(frozen=True)
class Placement:
    """Where a label went.

    Attributes:
        variant: the index of the variant drawn in the request's ``sizes`` (the last: the tag).
        rect: the label's rectangle.
        leader: (point on the shape, point on the label) of the leader line, or None when the
            label is beside its shape.
    """

    variant: int
    rect: Rect
    leader: tuple[Point, Point] | None = None


def attach_points(kind: str, xy: Sequence[Point]) -> tuple[Point, ...]:
    """Points on a shape's outline that a leader line may start from: a line's points and the
    middles of its segments; the middles of a region's box edges (on an ellipse's outline too)
    and a rectangle's corners (``kind``: an annotation's; ``xy``: its points on screen)."""
    if kind in ("distance", "angle"):
        return (*xy, *(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in pairwise(xy)))
    box = Rect.around(xy)
    cx, cy = box.centre
    edges = ((cx, box.y), (box.right, cy), (cx, box.bottom), (box.x, cy))
    if kind == "ellipse":
        return edges
    return (*edges, (box.x, box.y), (box.right, box.y), (box.right, box.bottom),
            (box.x, box.bottom))


def label_variants(n: int, lines: Sequence[str]) -> list[list[str]]:
    """The variants of annotation ``n``'s label, fullest first: every line of what it measures
    (the number before the first: "1 · −798 ± 306 HU", "min −1024 · max 351 · 437 mm²"); the
    same narrower, the second line's last part moved up ("1 · −798 ± 306 HU · 437 mm²",
    "min −1024 · max 351"); the first line alone; and the number alone ("1")."""
    tag = [str(n)]
    if not lines:
        return [tag]
    full = [f"{n} · {lines[0]}", *lines[1:]]
    if len(full) == 1:
        return [full, tag]
    out = [full]
    if len(full) == 2 and " · " in full[1]:
        rest, last = full[1].rsplit(" · ", 1)
        out.append([f"{full[0]} · {last}", rest])
    return [*out, full[:1], tag]


def fits_shape(shape: Rect, size: Size, ratio: float = SMALL_RATIO) -> bool:
    """Whether a label of ``size`` suits a shape of this box on screen: its longer side is at
    least ``ratio`` × the label's width (smaller shapes get their number tag alone)."""
    return max(shape.w, shape.h) >= ratio * size[0]


def candidates(shape: Rect, size: Size, gap: float = GAP, rings: int = RINGS
               ) -> Iterator[Rect]:
    """The positions tried for a label of ``size`` around ``shape``, in order.

    Ring 0 touches the shape (``gap`` away): right of it (centred), below and above (aligned
    with its left edge), left of it (centred), then the same sides aligned the other way.
    Each further ring is one label height farther out (a label there gets a leader line).
    """
    w, h = size
    cy = shape.y + shape.h / 2
    for ring in range(rings + 1):
        e = gap + ring * (h + gap)
        right, left = shape.right + e, shape.x - w - e
        below, above = shape.bottom + e, shape.y - h - e
        for x, y in ((right, cy - h / 2), (shape.x, below), (shape.x, above), (left, cy - h / 2),
                     (shape.right - w, below), (shape.right - w, above),
                     (right, shape.y), (right, shape.bottom - h),
                     (left, shape.y), (left, shape.bottom - h)):
            yield Rect(x, y, w, h)


def _allowed(request: LabelRequest, variant: int, bounds: Rect) -> bool:
    if variant == len(request.sizes) - 1:
        return True  # the number tag
    w, h = request.sizes[variant]
    return (fits_shape(request.shape, (w, h)) and w <= bounds.w and h <= bounds.h
            and w * h <= MAX_VIEW_SHARE * bounds.w * bounds.h)


def leader_line(shape: Rect, attach: Sequence[Point], label: Rect,
                away: float = LEADER_FROM) -> tuple[Point, Point] | None:
    """(point on the shape, point on the label) of a leader line, from the attach point
    nearest the label; None when the label is within ``away`` pixels of it."""
    points = list(attach) or [shape.centre]
    c = label.centre
    start = min(points, key=lambda p: (math.dist(p, label.nearest(p)), math.dist(p, c)))
    end = label.nearest(start)
    return None if math.dist(start, end) <= away else (start, end)


def place_labels(requests: Sequence[LabelRequest], bounds: Rect,
                 obstacles: Sequence[Rect] = (), avoid: Sequence[Rect] = (), gap: float = GAP
                 ) -> list[Placement | None]:
    """Place every label, in order, where it covers no label placed before it.

    Args:
        requests: the annotations' labels, in the order drawn (earlier ones are placed first).
        bounds: the view; labels stay inside it.
        obstacles: fixed texts of the view that labels keep clear of (a region's size label,
            a caption).
        avoid: what labels rather not cover, like the other shapes (a region's handles).
        gap: pixels kept between labels, and between a label and its shape.

    Returns:
        One :class:`Placement` per request, or None for a shape wholly outside the view. Each
        takes the fullest allowed variant (see the module) at the first candidate position that
        lies inside ``bounds`` (or slides into it along an edge, clear of its shape), keeps clear of the labels placed before and of ``obstacles``,
        and preferably of the other shapes and of ``avoid``; where none is free, the number tag goes where it
        overlaps least, inside the view.
    """
    taken = list(obstacles)
    out: list[Placement | None] = []
    for i, req in enumerate(requests):
        if not req.shape.intersects(bounds, gap=1.0):
            out.append(None)
            continue
        others = [r.shape for j, r in enumerate(requests) if j != i] + list(avoid)
        rect, variant = _first_free(req, bounds, taken, others, gap)
        if rect is None:
            variant = len(req.sizes) - 1
            tried = [r.clamped(bounds) for r in candidates(req.shape, req.sizes[-1], gap)]
            rect = min(tried, key=lambda r: sum(r.overlap(t) for t in taken))
        taken.append(rect)
        out.append(Placement(variant, rect, leader_line(req.shape, req.attach, rect)))
    return out


def _first_free(req: LabelRequest, bounds: Rect, taken: Sequence[Rect],
                shapes: Sequence[Rect], gap: float) -> tuple[Rect | None, int]:
    for variant, size in enumerate(req.sizes):
        if not _allowed(req, variant, bounds):
            continue
        for clear_of_shapes in (True, False):
            for rect in _slid(candidates(req.shape, size, gap), req.shape, bounds):
                if (not any(rect.intersects(t, gap) for t in taken)
                        and not (clear_of_shapes and any(rect.intersects(s) for s in shapes))):
                    return rect, variant
    return None, len(req.sizes) - 1


def _slid(rects: Iterator[Rect], shape: Rect, bounds: Rect) -> Iterator[Rect]:
    """Each candidate inside ``bounds``; one that sticks out, moved inside instead when that
    leaves it clear of its shape (a label below a shape as wide as the view slides along)."""
    for rect in rects:
        if not rect.inside(bounds):
            rect = rect.clamped(bounds)
            if rect.intersects(shape) or not rect.inside(bounds):
                continue
        yield rect
