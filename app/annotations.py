"""Measuring annotations kept per slice, without Qt.

An :class:`Annotation` is a distance (two points), an angle (three points, the vertex in the
middle), or an ellipse or rectangle region (two opposite corners of its bounding box). Its points
are in the **source image's continuous pixel coordinates** (x, y; pixel (col, row) covers
[col, col+1) × [row, row+1)), so one annotation drawn on the image or on any result panel marks
the same anatomy on every panel; what it measures on a panel is computed from that panel's pixels
by :mod:`app.measurements`.

:class:`PendingShape` turns clicks and drags into an annotation (an angle by three clicks or two
drags); :class:`AnnotationStore` keeps the annotations of every slice of the session, records
each addition and removal in the :class:`~app.history.EditHistory`, and tells its views through
``changed``.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

from app.events import Event
from app.history import Change, EditHistory

Point = tuple[float, float]

#: The measuring tools, in menu order: tool → (name, points an annotation of it has).
TOOLS: dict[str, tuple[str, int]] = {
    "distance": ("Distance", 2),
    "angle": ("Angle", 3),
    "ellipse": ("Ellipse", 2),
    "rectangle": ("Rectangle", 2),
}
#: The tools that measure a region's pixel statistics.
REGION_TOOLS = frozenset({"ellipse", "rectangle"})


@dataclass(frozen=True)
class Annotation:
    """One measuring annotation.

    Attributes:
        kind: a key of :data:`TOOLS`.
        points: (x, y) in source pixel coordinates: a distance's two ends, an angle's first
            arm's end, vertex and second arm's end, or two opposite corners of a region's box.
        id: the store's number of the annotation (0 before it is stored).
    """

    kind: str
    points: tuple[Point, ...]
    id: int = 0

    def __post_init__(self) -> None:
        if self.kind not in TOOLS:
            raise ValueError(f"unknown annotation kind {self.kind!r}")
        if len(self.points) != TOOLS[self.kind][1]:
            raise ValueError(f"a {self.kind} has {TOOLS[self.kind][1]} points, "
                             f"got {len(self.points)}")

    @property
    def name(self) -> str:
        """"Distance", "Angle", "Ellipse" or "Rectangle"."""
        return TOOLS[self.kind][0]

    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1): the bounding box of the points, x0 ≤ x1, y0 ≤ y1."""
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    ax, ay, bx, by = a[0], a[1], b[0], b[1]
    dx, dy = bx - ax, by - ay
    t = ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy) if dx or dy else 0.0
    t = min(max(t, 0.0), 1.0)
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


def distance_to(annotation: Annotation, p: Point) -> float:
    """How far ``p`` lies from ``annotation``'s drawing, in source pixels (0 inside a region)."""
    pts = annotation.points
    if annotation.kind == "distance":
        return _segment_distance(p, pts[0], pts[1])
    if annotation.kind == "angle":
        return min(_segment_distance(p, pts[0], pts[1]), _segment_distance(p, pts[1], pts[2]))
    x0, y0, x1, y1 = annotation.box()
    if annotation.kind == "rectangle":
        return math.hypot(max(x0 - p[0], 0.0, p[0] - x1), max(y0 - p[1], 0.0, p[1] - y1))
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 1e-9), \
        max((y1 - y0) / 2, 1e-9)
    r = math.hypot((p[0] - cx) / rx, (p[1] - cy) / ry)
    return max(0.0, (r - 1.0) * min(rx, ry))  # about the distance outside the outline


def hit(annotations: Sequence[Annotation], p: Point, tolerance: float) -> Annotation | None:
    """The annotation drawn nearest ``p`` within ``tolerance`` source pixels (the latest of
    equals), or None."""
    best, best_d = None, tolerance
    for a in annotations:
        d = distance_to(a, p)
        if d <= best_d:
            best, best_d = a, d
    return best


class PendingShape:
    """The points of an annotation being drawn with ``tool``.

    Each gesture adds points: a click adds where it was; a drag adds where it started (only as
    the first point) and where it ended. A distance or a region is one drag (or two clicks); an
    angle is three clicks — first arm's end, vertex, second arm's end — or two drags (first arm
    from its end to the vertex, then a drag ending at the second arm's end).
    """

    def __init__(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown measuring tool {tool!r}")
        self.tool = tool
        self.points: list[Point] = []

    @property
    def needed(self) -> int:
        """Points an annotation of the tool has."""
        return TOOLS[self.tool][1]

    def gesture(self, press: Point, release: Point, moved: bool) -> Annotation | None:
        """Add a click (``moved`` False) or a drag from ``press`` to ``release``.

        Returns:
            The finished annotation (unstored, id 0) when the gesture completed it, else None.
        """
        if moved and not self.points:
            self.points += [tuple(press), tuple(release)]
        else:
            self.points.append(tuple(release if moved else press))
        if len(self.points) < self.needed:
            return None
        points, self.points = tuple(self.points[:self.needed]), []
        if self.tool != "angle" and points[0] == points[1]:
            return None  # nothing to measure
        return Annotation(self.tool, points)

    def preview(self, cursor: Point | None) -> tuple[Point, ...]:
        """The points drawn while the shape is unfinished: those placed, then ``cursor``."""
        return tuple(self.points) + ((tuple(cursor),) if cursor is not None and self.points
                                     else ())

    def reset(self) -> None:
        """Forget the points placed."""
        self.points = []


class AnnotationStore:
    """The annotations of every slice of the session, each slice's in the order drawn.

    Slices are named by any hashable key (the session's ``slice_id``). Adding, removing and
    clearing are recorded in ``history`` (each change naming its slice in
:attr:`~app.history.Change.where`); ``changed(slice)`` is emitted after each change.
    """

    def __init__(self, history: EditHistory) -> None:
        self.history = history
        self.changed = Event()
        self._by_slice: dict[Hashable, list[Annotation]] = {}
        self._next_id = 1

    def on(self, slice_key: Hashable) -> list[Annotation]:
        """The annotations of a slice, in the order drawn."""
        return list(self._by_slice.get(slice_key, []))

    def find(self, slice_key: Hashable, annotation_id: int) -> Annotation | None:
        """The annotation numbered ``annotation_id`` on a slice, or None."""
        return next((a for a in self._by_slice.get(slice_key, []) if a.id == annotation_id),
                    None)

    def number(self, slice_key: Hashable, annotation: Annotation) -> int:
        """The label of an annotation on its slice: 1 for the first drawn (0 when absent)."""
        ids = [a.id for a in self._by_slice.get(slice_key, [])]
        return ids.index(annotation.id) + 1 if annotation.id in ids else 0

    def add(self, slice_key: Hashable, annotation: Annotation) -> Annotation:
        """Store ``annotation`` on a slice (undoable); returns it with its id."""
        stored = replace(annotation, id=self._next_id)
        self._next_id += 1
        before = self.on(slice_key)
        self._set(slice_key, before + [stored])
        self._record(f"{stored.name.lower()}", slice_key, before, before + [stored])
        return stored

    def remove(self, slice_key: Hashable, annotation_id: int) -> bool:
        """Delete an annotation (undoable); False when the slice has no such annotation."""
        before = self.on(slice_key)
        after = [a for a in before if a.id != annotation_id]
        if len(after) == len(before):
            return False
        gone = next(a for a in before if a.id == annotation_id)
        self._set(slice_key, after)
        self._record(f"delete {gone.name.lower()}", slice_key, before, after)
        return True

    def clear(self, slice_key: Hashable) -> int:
        """Delete every annotation of a slice (undoable); how many there were."""
        before = self.on(slice_key)
        if before:
            self._set(slice_key, [])
            self._record("clear annotations", slice_key, before, [])
        return len(before)

    def _set(self, slice_key: Hashable, annotations: list[Annotation]) -> None:
        if annotations:
            self._by_slice[slice_key] = list(annotations)
        else:
            self._by_slice.pop(slice_key, None)
        self.changed.emit(slice_key)

    def _record(self, name: str, slice_key: Hashable, before: list[Annotation],
                after: list[Annotation]) -> None:
        self.history.record(Change(name, lambda: self._set(slice_key, before),
                                   lambda: self._set(slice_key, after), where=slice_key))
