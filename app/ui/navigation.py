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


#: pixel aspect ratios beyond this (either way) are taken as a malformed spacing, not shown
MAX_PIXEL_ASPECT = 20.0


def pixel_aspect(spacing: tuple[float, float] | None) -> float:
    """How much taller than wide a pixel is on screen: its row spacing ÷ its column spacing
    (PixelSpacing's first value over its second), so that a 1.0 × 0.5 mm grid is not shown
    stretched 2:1 as radiology viewers do not; 1 without a spacing or beyond
    :data:`MAX_PIXEL_ASPECT`."""
    if not spacing or not all(v and v > 0 for v in spacing):
        return 1.0
    a = float(spacing[0]) / float(spacing[1])
    return a if 1.0 / MAX_PIXEL_ASPECT <= a <= MAX_PIXEL_ASPECT else 1.0


def set_zoom(view: QGraphicsView, zoom: float, aspect: float = 1.0) -> None:
    """Show ``view``'s scene at ``zoom`` screen pixels per scene unit across and ``zoom`` ×
    ``aspect`` down (scene units are image pixels: see :func:`pixel_aspect`)."""
    view.resetTransform()
    view.scale(zoom, zoom * aspect)


def fit_zoom(view: QGraphicsView, width: float, height: float, aspect: float = 1.0,
             margin: int = 4) -> float:
    """The largest zoom at which a ``width`` × ``height`` scene rectangle, its rows ``aspect``
    times as tall as its columns are wide, fits in ``view``'s viewport less ``margin`` px."""
    vp = view.viewport().rect()
    return max(min((vp.width() - margin) / max(width, 1e-9),
                   (vp.height() - margin) / max(height * aspect, 1e-9)), 1e-3)


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
