"""The measuring annotations a view draws over its image, and the shape being drawn.

The image canvas has one :class:`AnnotationLayer`; the comparison view has one that all its
panels share (they show the same anatomy). The layer turns a view's left-button gestures into
an :class:`~app.annotations.Annotation` while a measuring tool is chosen (through
:class:`~app.annotations.PendingShape`), and paints the kept annotations — numbered, with what
each measures on that view in compact lines — in viewport pixels. Where the labels go is decided
by :mod:`app.label_layout` (no two overlap; a small shape gets its number alone; a label away
from its shape gets a leader line); :class:`AnnotationTips` shows the full measurement in a
tooltip over an annotation or its label. The views pass source coordinates in and a mapping
from source coordinates to the screen out; the measurements themselves come from
:mod:`app.measurements`. :func:`paint_annotations` also draws them on the comparison sheet.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

from PyQt5.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QFontMetrics, QPainter, QPen
from PyQt5.QtWidgets import QToolTip

from app.annotations import TOOLS, Annotation, PendingShape, Point, hit
from app.label_layout import LabelRequest, Rect, attach_points, label_variants, place_labels

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
    """Where the label of the shape being drawn goes: beside a line's last point, an angle's
    vertex, or a region's lower right corner."""
    if kind == "angle":
        return pts[1]
    if kind == "distance":
        return pts[-1]
    return QPointF(max(p.x() for p in pts), max(p.y() for p in pts))


def _box_size(fm: QFontMetrics, lines: Sequence[str]) -> tuple[float, float]:
    return (max(fm.horizontalAdvance(t) for t in lines) + 6.0,
            fm.lineSpacing() * len(lines) + 2.0)


def to_rect(r: QRectF) -> Rect:
    """A Qt rectangle as a :class:`~app.label_layout.Rect`."""
    return Rect(r.x(), r.y(), r.width(), r.height())


def _paint_box(painter: QPainter, rect: Rect, lines: Sequence[str], colour: QColor,
               leader: tuple[Point, Point] | None) -> QRectF:
    box = QRectF(rect.x, rect.y, rect.w, rect.h)
    if leader is not None:
        a, b = QPointF(*leader[0]), QPointF(*leader[1])
        painter.setPen(QPen(QColor(0, 0, 0, 170), 3))
        painter.drawLine(a, b)
        painter.setPen(QPen(colour, 1))
        painter.drawLine(a, b)
    painter.fillRect(box, BOX_COLOUR)
    painter.setPen(colour)
    painter.drawText(box.adjusted(3, 1, -3, -1), Qt.AlignLeft | Qt.AlignVCenter,
                     "\n".join(lines))
    return box


def paint_annotations(painter: QPainter, fm: QFontMetrics, viewport: QRectF,
                      annotations: Sequence[Annotation], to_screen: ToScreen,
                      lines: Callable[[Annotation], Sequence[str]], selected: int | None = None,
                      obstacles: Sequence[QRectF] = (), avoid: Sequence[QRectF] = ()
                      ) -> list[tuple[Annotation, QRectF]]:
    """Paint ``annotations`` (source coordinates) with their labels, laid out so that no label
    covers another or an obstacle (:func:`app.label_layout.place_labels`): the full label where
    the shape on screen is large enough and there is room, else the number alone.

    Args:
        painter: a painter in the target's pixel coordinates (its font is used for labels).
        fm: the metrics of that font.
        viewport: the area labels are kept inside.
        annotations: the slice's annotations, in the order drawn.
        to_screen: source (x, y) → a point of the target.
        lines: annotation → the compact lines of what it measures (none: the number alone).
        selected: the id of the annotation drawn as selected.
        obstacles: texts of the target that labels keep clear of (the region's size label).
        avoid: what labels rather not cover (the region's handles).

    Returns:
        (annotation, its label's rectangle) of each label painted.
    """
    screen = [[to_screen(p) for p in a.points] for a in annotations]
    variants, requests = [], []
    for n, (a, pts) in enumerate(zip(annotations, screen), start=1):
        variants.append(label_variants(n, lines(a)))
        xy = [(p.x(), p.y()) for p in pts]
        requests.append(LabelRequest(Rect.around(xy), tuple(_box_size(fm, v) for v in variants[-1]),
                                     attach_points(a.kind, xy)))
    places = place_labels(requests, to_rect(viewport.adjusted(2, 2, -2, -2)),
                          [to_rect(r) for r in obstacles], [to_rect(r) for r in avoid])
    for a, pts in zip(annotations, screen):
        colour = SELECTED_COLOUR if a.id == selected else ANNOTATION_COLOUR
        paint_shape(painter, a.kind, pts, colour, 2.5 if a.id == selected else 1.5)
    painted = []
    for a, texts, place in zip(annotations, variants, places):
        if place is not None:
            colour = SELECTED_COLOUR if a.id == selected else ANNOTATION_COLOUR
            painted.append((a, _paint_box(painter, place.rect, texts[place.variant], colour,
                                          place.leader)))
    return painted


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
              lines: Callable[[Annotation], Sequence[str]], obstacles: Sequence[QRectF] = (),
              avoid: Sequence[QRectF] = ()) -> list[tuple[Annotation, QRectF]]:
        """Paint the annotations (see :func:`paint_annotations`) and the shape being drawn;
        returns (annotation, label rectangle) of each label painted."""
        painted = paint_annotations(painter, fm, viewport, self.annotations, to_screen, lines,
                                    self.selected, obstacles, avoid)
        shape = self.preview()
        if shape is not None:
            pts = [to_screen(p) for p in shape.points]
            paint_shape(painter, shape.kind, pts, SELECTED_COLOUR)
            if shape.kind == self.tool:
                paint_label(painter, fm, viewport, label_anchor(shape.kind, pts),
                            " · ".join(lines(shape)), SELECTED_COLOUR)
        return painted

    def under(self, labels: Sequence[tuple[Annotation, QRectF]], pos: QPointF, source: Point,
              tolerance: float) -> Annotation | None:
        """The annotation whose painted label (``labels``, from :meth:`paint`) is under the
        viewport point ``pos``, else the one drawn within ``tolerance`` source pixels of
        ``source``; None when neither."""
        found = next((a for a, r in reversed(labels) if r.contains(pos)), None)
        return found if found is not None else hit(self.annotations, source, tolerance)

    def tip(self, annotation: Annotation, text: str, where: str) -> str:
        """The tooltip of an annotation: "Ellipse 1 on the image: mean … · 436.7 mm²"."""
        ids = [a.id for a in self.annotations]
        n = ids.index(annotation.id) + 1 if annotation.id in ids else 0
        return f"{annotation.name} {n} {where}: {text}"


class AnnotationTips:
    """A mixin for a view that paints an :class:`AnnotationLayer`: hovering over an annotation
    or its label shows what it measures in full (the labels may show its number alone) in a
    tooltip; elsewhere the view's own tooltip, if any. The view implements
    :meth:`annotation_tip`."""

    def annotation_tip(self, pos: QPoint) -> str:
        """The tooltip for the viewport point ``pos`` ("" where there is no annotation)."""
        raise NotImplementedError

    def drawing_annotation(self) -> bool:
        """Whether a shape is being drawn on this view (its first points placed)."""
        raise NotImplementedError

    def event(self, event: QEvent) -> bool:  # noqa: N802 (Qt)
        """Esc while a shape is drawn is this view's (it drops the shape), taken before the
        window's shortcuts: Process ▸ Cancel is Esc too, and would cancel a running job."""
        if (event.type() == QEvent.ShortcutOverride and event.key() == Qt.Key_Escape
                and self.drawing_annotation()):
            event.accept()
            return True
        return super().event(event)  # type: ignore[misc]

    def viewportEvent(self, event: QEvent) -> bool:
        """Show :meth:`annotation_tip` on a tooltip event over an annotation."""
        if event.type() == QEvent.ToolTip:
            tip = self.annotation_tip(event.pos())
            if tip:
                QToolTip.showText(event.globalPos(), tip, self.viewport())  # type: ignore[attr-defined]
                return True
        return super().viewportEvent(event)  # type: ignore[misc]
