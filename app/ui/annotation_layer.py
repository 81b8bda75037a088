"""The measuring annotations a view draws over its image, and the shape being drawn.

The image canvas has one :class:`AnnotationLayer`; the comparison view has one that all its
panels share (they show the same anatomy). The layer turns a view's left-button gestures into
an :class:`~app.annotations.Annotation` while a measuring tool is chosen (through
:class:`~app.annotations.PendingShape`), and paints the kept annotations — numbered, with what
each measures on that view — in viewport pixels. The views pass source coordinates in and a
mapping from source coordinates to the screen out; the measurements themselves come from
:mod:`app.measurements`. :func:`paint_annotations` also draws them on the comparison sheet.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

from PyQt5.QtCore import QPoint, QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QFontMetrics, QPainter, QPen

from app.annotations import TOOLS, Annotation, PendingShape, Point

from .overlays import BOX_COLOUR

#: A kept annotation, and the selected one (select: a click on it with no tool chosen).
ANNOTATION_COLOUR = QColor(120, 255, 150)
SELECTED_COLOUR = QColor(255, 150, 60)
#: Screen pixels a press may move and still count as a click.
CLICK_SLOP = 3
#: Screen pixels around a drawing that a click selects it within.
PICK_PX = 6.0

ToScreen = Callable[[Point], QPointF]


def _outline(painter: QPainter, kind: str, pts: Sequence[QPointF]) -> None:
    if kind in ("distance", "angle") or len(pts) < 2:
        for a, b in pairwise(pts):
            painter.drawLine(a, b)
        return
    rect = QRectF(pts[0], pts[1]).normalized()
    if kind == "ellipse":
        painter.drawEllipse(rect)
    else:
        painter.drawRect(rect)


def paint_shape(painter: QPainter, kind: str, pts: Sequence[QPointF], colour: QColor,
                width: float = 1.5) -> None:
    """Paint one shape's outline (a dark shadow under it) through screen points ``pts``."""
    painter.setBrush(Qt.NoBrush)
    painter.setPen(QPen(QColor(0, 0, 0, 200), width + 2))
    _outline(painter, kind, pts)
    painter.setPen(QPen(colour, width))
    _outline(painter, kind, pts)
    if kind in ("distance", "angle"):
        for p in pts:
            painter.drawEllipse(p, 2.5, 2.5)


def label_lines(fm: QFontMetrics, text: str, width: float) -> list[str]:
    """``text`` in as few lines as fit ``width`` pixels, broken only at its " · " separators
    (a part wider than ``width`` keeps a line of its own)."""
    lines: list[str] = []
    for part in text.split(" · "):
        trial = f"{lines[-1]} · {part}" if lines else part
        if lines and fm.horizontalAdvance(trial) <= width:
            lines[-1] = trial
        else:
            lines.append(part)
    return lines


def paint_label(painter: QPainter, fm: QFontMetrics, viewport: QRectF, at: QPointF, text: str,
                colour: QColor) -> None:
    """Paint ``text`` in a dark box beside ``at``, kept inside ``viewport`` (in several lines
    when it is wider than the viewport)."""
    lines = label_lines(fm, text, viewport.width() - 12)
    box = QRectF(0, 0, max(fm.horizontalAdvance(t) for t in lines) + 6,
                 fm.lineSpacing() * len(lines) + 2)
    x = max(min(at.x() + 6, viewport.right() - box.width() - 2), viewport.left() + 2)
    y = max(min(at.y() + 4, viewport.bottom() - box.height() - 2), viewport.top() + 2)
    box.moveTopLeft(QPointF(x, y))
    painter.fillRect(box, BOX_COLOUR)
    painter.setPen(colour)
    painter.drawText(box.adjusted(3, 1, -3, -1), Qt.AlignLeft | Qt.AlignVCenter,
                     "\n".join(lines))


def label_anchor(kind: str, pts: Sequence[QPointF]) -> QPointF:
    """Where an annotation's label goes: beside a line's last point, an angle's vertex, or a
    region's lower right corner."""
    if kind == "angle":
        return pts[1]
    if kind == "distance":
        return pts[-1]
    return QPointF(max(p.x() for p in pts), max(p.y() for p in pts))


def paint_annotations(painter: QPainter, fm: QFontMetrics, viewport: QRectF,
                      annotations: Sequence[Annotation], to_screen: ToScreen,
                      label: Callable[[int, Annotation], str], selected: int | None = None
                      ) -> None:
    """Paint ``annotations`` (source coordinates) with their labels.

    Args:
        painter: a painter in the target's pixel coordinates (its font is used for labels).
        fm: the metrics of that font.
        viewport: the area labels are kept inside.
        annotations: the slice's annotations, in the order drawn.
        to_screen: source (x, y) → a point of the target.
        label: (number from 1, annotation) → its label ("" for none).
        selected: the id of the annotation drawn as selected.
    """
    for n, a in enumerate(annotations, start=1):
        pts = [to_screen(p) for p in a.points]
        colour = SELECTED_COLOUR if a.id == selected else ANNOTATION_COLOUR
        paint_shape(painter, a.kind, pts, colour, 2.5 if a.id == selected else 1.5)
        text = label(n, a)
        if text:
            paint_label(painter, fm, viewport, label_anchor(a.kind, pts), text, colour)


class AnnotationLayer:
    """A view's annotations and the shape being drawn with the chosen tool.

    Attributes:
        tool: the measuring tool ("" none: the left button keeps its usual role).
        annotations: the shown slice's annotations, in the order drawn.
        selected: the id of the selected annotation, or None.
    """

    def __init__(self) -> None:
        self.tool = ""
        self.annotations: list[Annotation] = []
        self.selected: int | None = None
        self._pending: PendingShape | None = None
        self._press: tuple[Point, QPoint] | None = None
        self._cursor: Point | None = None

    def set_tool(self, tool: str) -> None:
        """Choose a measuring tool ("" for none); an unfinished shape is dropped."""
        self.tool = tool if tool in TOOLS else ""
        self._pending = PendingShape(self.tool) if self.tool else None
        self._press = None

    def set_annotations(self, annotations: Sequence[Annotation], selected: int | None) -> None:
        """The annotations to draw and the selected one's id."""
        self.annotations = list(annotations)
        self.selected = selected

    def drawing(self) -> bool:
        """Whether a shape is being drawn (a button held, or points placed)."""
        return self._press is not None or bool(self._pending and self._pending.points)

    def press(self, source: Point, screen: QPoint) -> bool:
        """A left press; True when the tool takes it."""
        if self._pending is None:
            return False
        self._press = (source, QPoint(screen))
        self._cursor = source
        return True

    def move(self, source: Point) -> None:
        """The cursor moved (to show the shape as it would be)."""
        self._cursor = source

    def release(self, source: Point, screen: QPoint) -> Annotation | None:
        """A left release: the finished annotation, or None (more points are needed)."""
        if self._pending is None or self._press is None:
            return None
        start, at = self._press
        self._press = None
        moved = (screen - at).manhattanLength() > CLICK_SLOP
        return self._pending.gesture(start, source, moved)

    def cancel(self) -> bool:
        """Drop an unfinished shape (Esc); False when there was none."""
        if not self.drawing():
            return False
        assert self._pending is not None
        self._pending.reset()
        self._press = None
        return True

    def preview(self) -> Annotation | None:
        """The shape being drawn as if finished at the cursor, when it has enough points."""
        if self._pending is None:
            return None
        pts = self._pending.preview(self._cursor)
        if self._press is not None and not self._pending.points and self._cursor is not None:
            pts = (self._press[0], self._cursor)  # a first drag in progress
        if len(pts) < 2:
            return None
        if len(pts) < self._pending.needed:  # an angle's first arm
            return Annotation("distance", pts[:2])
        return Annotation(self.tool, pts[:self._pending.needed])

    def paint(self, painter: QPainter, fm: QFontMetrics, viewport: QRectF, to_screen: ToScreen,
              text: Callable[[Annotation], str]) -> None:
        """Paint the annotations ("n · what it measures here") and the shape being drawn."""
        paint_annotations(painter, fm, viewport, self.annotations, to_screen,
                          lambda n, a: f"{n} · {text(a)}", self.selected)
        shape = self.preview()
        if shape is not None:
            pts = [to_screen(p) for p in shape.points]
            paint_shape(painter, shape.kind, pts, SELECTED_COLOUR)
            if shape.kind == self.tool:
                paint_label(painter, fm, viewport, label_anchor(shape.kind, pts), text(shape),
                            SELECTED_COLOUR)
