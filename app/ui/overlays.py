"""What the image canvas and the comparison panels paint over their images, in viewport pixels.

The corner texts and patient-direction letters of the source image; a panel's caption ("SR ×2.5
RMISR-VP — computed, not acquired"), its distance measurement, the uncertainty map's colour bar
and the loupe. Each function paints with a painter already reset to viewport coordinates and
computes nothing about the image: the callers pass what to draw.
"""
from __future__ import annotations

from PyQt5.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PyQt5.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap

from app import uncertainty_view as uview

from .imaging import draw_scale_bar, to_qimage

#: The caption of a comparison panel.
OVERLAY_COLOUR = QColor(255, 210, 80)
#: The canvas's corner texts.
OVERLAY_TEXT = QColor(235, 235, 235)
#: The patient-direction letters at the canvas's edges.
ORIENTATION_COLOUR = QColor(255, 220, 120)
#: A distance measurement, on the canvas and on the panels.
MEASURE_COLOUR = QColor(90, 220, 255)
#: The dark box behind a caption, a measurement's text and the colour bar.
BOX_COLOUR = QColor(0, 0, 0, 175)
#: The loupe's largest side on screen (pixels) and its magnification over the panel's zoom.
LOUPE_PX = 150
LOUPE_MAGNIFICATION = 3.0

_CORNERS = {"top_left": Qt.AlignTop | Qt.AlignLeft, "top_right": Qt.AlignTop | Qt.AlignRight,
            "bottom_left": Qt.AlignBottom | Qt.AlignLeft,
            "bottom_right": Qt.AlignBottom | Qt.AlignRight}
_EDGES = {"left": Qt.AlignLeft | Qt.AlignVCenter, "right": Qt.AlignRight | Qt.AlignVCenter,
          "top": Qt.AlignTop | Qt.AlignHCenter, "bottom": Qt.AlignBottom | Qt.AlignHCenter}


def overlay_font() -> QFont:
    """The font of every overlay text (8.5 pt)."""
    font = QFont()
    font.setPointSizeF(8.5)
    return font


def _shadowed(painter: QPainter, rect: QRect, align: int, text: str, colour: QColor) -> None:
    painter.setPen(QColor(0, 0, 0, 220))
    painter.drawText(rect.translated(1, 1), align, text)
    painter.setPen(colour)
    painter.drawText(rect, align, text)


def draw_corner_overlay(painter: QPainter, viewport: QRect, lines: dict[str, list[str]],
                        orientation: dict[str, str] | None, px_per_mm: float | None,
                        at_detector: bool = False) -> None:
    """Paint the canvas overlay: corner texts, the scale bar above the bottom-left lines and
    the patient-direction letters at the edges, each with a shadow.

    Args:
        painter: a painter in viewport coordinates (its font is set here).
        viewport: the view's viewport rectangle.
        lines: the text lines per corner (``top_left``, ``top_right``, ``bottom_left``,
            ``bottom_right``).
        orientation: the direction letters per edge (``left``, ``right``, ``top``, ``bottom``),
            or None.
        px_per_mm: screen pixels per millimetre for the scale bar (None: no bar).
    """
    vp = viewport.adjusted(6, 4, -6, -4)
    font = overlay_font()
    painter.setFont(font)
    above = QFontMetrics(font).lineSpacing() * len(lines.get("bottom_left", [])) + 6
    draw_scale_bar(painter, vp, px_per_mm, lift=above, at_detector=at_detector)
    fitted = fit_corner_lines(lines, font, vp.width())
    for key, align in _CORNERS.items():
        text = "\n".join(fitted.get(key, []))
        if text:
            _shadowed(painter, vp, int(align), text, OVERLAY_TEXT)
    if orientation:
        bold = QFont(font)
        bold.setBold(True)
        bold.setPointSizeF(10)
        painter.setFont(bold)
        for key, align in _EDGES.items():
            letters = orientation.get(key, "")
            if letters:
                _shadowed(painter, vp, int(align), letters, ORIENTATION_COLOUR)


def fit_corner_lines(lines: dict[str, list[str]], font: QFont, width: int
                     ) -> dict[str, list[str]]:
    """Each corner's lines elided ("…") to its half of a ``width`` px wide view: a long
    manufacturer or description in one corner never overprints the patient's name in the
    other."""
    metrics, half = QFontMetrics(font), max(0, width // 2 - 8)
    return {key: [metrics.elidedText(line, Qt.ElideRight, half) for line in texts]
            for key, texts in lines.items()}


def caption_width(viewport: QRect) -> int:
    """The widest a line of a caption may be in ``viewport`` for its box (:func:`caption_box`)
    to keep 4 px clear of the right edge."""
    return viewport.width() - 16


def caption_box(fm: QFontMetrics, viewport: QRect, text: str) -> QRect:
    """The dark box :func:`draw_caption` paints ``text`` in, at the top left of ``viewport``."""
    avail = viewport.adjusted(4, 4, -4, -4)
    br = fm.boundingRect(avail, Qt.TextWordWrap, text)
    return br.adjusted(-4, -2, 4, 2).translated(4, 2)


def draw_caption(painter: QPainter, fm: QFontMetrics, viewport: QRect, text: str) -> None:
    """Paint ``text`` (its lines, word-wrapped where wider than ``viewport``) in a dark box at
    the top left of ``viewport``."""
    box = caption_box(fm, viewport, text)
    painter.fillRect(box, BOX_COLOUR)
    painter.setPen(OVERLAY_COLOUR)
    painter.drawText(box.adjusted(4, 2, -4, -2), Qt.TextWordWrap, text)


def draw_distance(painter: QPainter, fm: QFontMetrics, viewport: QRect, a: QPointF, b: QPointF,
                  text: str) -> None:
    """Paint a measured distance from ``a`` to ``b`` (viewport points) with its ``text`` beside
    ``b``, kept inside ``viewport``."""
    painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
    painter.drawLine(a, b)
    painter.setPen(QPen(MEASURE_COLOUR, 1.5))
    painter.drawLine(a, b)
    for p in (a, b):
        painter.drawEllipse(p, 2.5, 2.5)
    if text:
        box = fm.boundingRect(text).adjusted(-3, -1, 3, 1)
        x = min(max(b.x() + 6, 2.0), viewport.width() - box.width() - 2)
        y = min(max(b.y() - 6, box.height() + 2), viewport.height() - 2)
        box.moveBottomLeft(QPoint(int(x), int(y)))
        painter.fillRect(box, BOX_COLOUR)
        painter.setPen(MEASURE_COLOUR)
        painter.drawText(box, Qt.AlignCenter, text)


def draw_colour_bar(painter: QPainter, fm: QFontMetrics, rect: QRectF, title: str,
                    ticks: list[tuple[float, str]]) -> None:
    """Paint the uncertainty map's colour bar in ``rect`` with ``title`` above it and ``ticks``
    (fraction along the bar, label) below.

    Args:
        painter: a painter in viewport coordinates.
        fm: the metrics of the painter's font.
        rect: the bar itself, in viewport pixels.
        title: the text above the bar.
        ticks: (fraction 0…1 along the bar, label) of each tick.
    """
    box = rect.adjusted(-6, -fm.height() - 4, 6, fm.height() + 4)
    painter.fillRect(box, BOX_COLOUR)
    painter.drawImage(rect, to_qimage(uview.colour_bar(256)))
    painter.setPen(QColor(230, 230, 230))
    painter.drawText(QRectF(rect.left(), rect.top() - fm.height() - 2, box.width(),
                            fm.height()), Qt.AlignLeft | Qt.AlignVCenter, title)
    for f, text in ticks:
        x = rect.left() + f * rect.width()
        painter.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 2))
        tw = fm.horizontalAdvance(text)
        tx = min(max(x - tw / 2, box.left()), box.right() - tw)
        painter.drawText(QRectF(tx, rect.bottom() + 2, tw + 2, fm.height()),
                         Qt.AlignLeft | Qt.AlignTop, text)


def draw_loupe(painter: QPainter, viewport: QRect, pixmap: QPixmap, extent: tuple[float, float],
               spot: QPointF, spot_on_screen: QPointF, zoom: float) -> None:
    """Paint the loupe at the bottom right of ``viewport`` (a fixed place, so that it never
    hides the caption) and a cross on the spot and at the loupe's centre.

    Args:
        painter: a painter in viewport coordinates.
        viewport: the view's viewport rectangle.
        pixmap: what the panel shows, stretched over ``extent``.
        extent: (width, height) of the scene rectangle the pixmap covers.
        spot: the magnified point, in scene units.
        spot_on_screen: the same point in viewport pixels.
        zoom: the view's zoom (screen pixels per scene unit).
    """
    size = max(40.0, min(LOUPE_PX, 0.5 * min(viewport.width(), viewport.height())))
    x = viewport.right() - size - 6
    y = viewport.bottom() - size - 6
    half = size / 2.0 / (max(zoom, 1e-6) * LOUPE_MAGNIFICATION)  # scene units around the spot
    ew, eh = extent
    sx, sy = pixmap.width() / ew, pixmap.height() / eh
    src = QRectF((spot.x() - half) * sx, (spot.y() - half) * sy, 2 * half * sx, 2 * half * sy)
    target = QRectF(x, y, size, size)
    painter.fillRect(target, QColor(0, 0, 0))
    painter.drawPixmap(target, pixmap, src)
    painter.setPen(QPen(QColor(0, 200, 255), 1.5))
    painter.setBrush(Qt.NoBrush)
    painter.drawRect(target)
    for centre, r in ((QPointF(spot_on_screen), 6.0), (target.center(), 5.0)):
        cx, cy = centre.x(), centre.y()
        painter.drawLine(QPointF(cx - r, cy), QPointF(cx + r, cy))
        painter.drawLine(QPointF(cx, cy - r), QPointF(cx, cy + r))
