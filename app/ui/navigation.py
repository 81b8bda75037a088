"""Zoom, pan, wheel and key helpers shared by the image canvas and the comparison panels."""
from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QPoint, Qt
from PyQt5.QtWidgets import QGraphicsView

#: Keys a scroll area would use to scroll the view away from the image: the viewer's own
#: shortcuts use them (slices, ROI), and whatever they leave over does nothing.
SCROLL_KEYS = frozenset({Qt.Key_PageUp, Qt.Key_PageDown, Qt.Key_Home, Qt.Key_End, Qt.Key_Left,
                         Qt.Key_Right, Qt.Key_Up, Qt.Key_Down})

_ARROWS = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1), Qt.Key_Down: (0, 1)}


def roi_nudge(key: int, modifiers: Any) -> tuple[int, int, int, int] | None:
    """What an arrow key does to the ROI: (dx, dy, dw, dh) in pixels — it moves the ROI by
    one pixel, by 10 with Shift; with Ctrl it resizes it instead —, or None for another key."""
    if key not in _ARROWS:
        return None
    ax, ay = _ARROWS[key]
    step = 10 if modifiers & Qt.ShiftModifier else 1
    if modifiers & Qt.ControlModifier:
        return 0, 0, ax * step, ay * step
    return ax * step, ay * step, 0, 0


def keep_anchor(view: QGraphicsView, factor: float, anchor: QPoint | None) -> None:
    """Scale ``view`` by ``factor`` about the viewport point ``anchor`` (default: the centre).

    Done by hand (scale, then scroll the anchor's scene point back under it) because Qt's
    AnchorUnderMouse relies on the view's own mouse tracking.
    """
    if anchor is None:
        anchor = view.viewport().rect().center()
    before = view.mapToScene(anchor)
    old = view.transformationAnchor()
    view.setTransformationAnchor(QGraphicsView.NoAnchor)
    view.scale(factor, factor)
    view.setTransformationAnchor(old)
    moved = view.mapFromScene(before) - anchor
    h, v = view.horizontalScrollBar(), view.verticalScrollBar()
    h.setValue(h.value() + moved.x())
    v.setValue(v.value() + moved.y())


def wheel_slices(notches: float, signal: Any) -> float:
    """Turn wheel travel into whole slice steps.

    Args:
        notches: the travel in notches (120 units of ``angleDelta``), with what was left over
            from the previous event (a touchpad sends fractions of a notch).
        signal: emitted with the whole slices (down = on: +n) when there is at least one.

    Returns:
        The fraction of a notch left over.
    """
    whole = int(notches)  # towards zero
    if whole:
        signal.emit(-whole)
    return notches - whole
