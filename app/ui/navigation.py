"""Zoom, pan and wheel helpers shared by the image canvas and the comparison panels."""
from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QPoint, Qt
from PyQt5.QtWidgets import QGraphicsView

#: Keys a scroll area would use to scroll the view away from the image: the viewer's own
#: shortcuts use them (slices, ROI), and whatever they leave over does nothing.
SCROLL_KEYS = frozenset({Qt.Key_PageUp, Qt.Key_PageDown, Qt.Key_Home, Qt.Key_End, Qt.Key_Left,
                         Qt.Key_Right, Qt.Key_Up, Qt.Key_Down})


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
