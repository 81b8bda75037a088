"""Helpers shared by the main-window tests (``test_main_window_*.py``): synthetic mouse and wheel
events, a prepared run (scale, methods, ROI), a panel's grey levels and scale bar, the series
picker answered, a small PNG slice, and a canvas's scroll/zoom state. Fixtures live in
``conftest.py``."""
from __future__ import annotations

import math

import numpy as np
from PyQt5.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt5.QtGui import QMouseEvent, QWheelEvent
from PyQt5.QtWidgets import QApplication

from .conftest import TEST_ROI, TEST_SCALE


def _move(widget, pos, buttons=Qt.NoButton):
    QApplication.sendEvent(widget, QMouseEvent(QEvent.MouseMove, QPointF(pos),
                                               QPointF(widget.mapToGlobal(pos)), Qt.NoButton,
                                               buttons, Qt.NoModifier))


def _prepare(win, network, simulate=False):
    win.controls.set_scale(TEST_SCALE)
    win.controls.set_checked_methods(["bicubic", network])
    win.controls.simulate_box.setChecked(simulate)
    win.set_roi(TEST_ROI)


def _numbers(text):
    try:
        return float(text.replace("+", "").replace("−", "-"))
    except ValueError:
        return math.nan


def _grey(image) -> np.ndarray:
    """A QImage's grey levels as a uint8 array (what a panel or the canvas shows)."""
    from PyQt5.QtGui import QImage

    q = image.convertToFormat(QImage.Format_Grayscale8)
    ptr = q.constBits()
    ptr.setsize(q.bytesPerLine() * q.height())
    return np.frombuffer(ptr, np.uint8).reshape(q.height(), -1)[:, :q.width()].copy()


def _pick_series(window, qtbot, row=0):
    """Answer the series picker a folder with several series shows (``row`` 0: the largest)."""
    qtbot.waitUntil(lambda: window.series_picker is not None
                    and window.series_picker.isVisible(), timeout=10_000)
    picker = window.series_picker
    picker.choose(row)
    picker.accept()
    return picker


def _white_bar_at(view, length):
    """Whether a white scale-bar line of ``length`` px lies at the bottom left of a panel."""
    from PyQt5.QtGui import QColor

    img = view.viewport().grab().toImage()
    vp = view.viewport().rect()
    x = int(vp.left() + 8 + length / 2)
    return any(QColor(img.pixel(x, y)).name() == "#ffffff"
               for y in range(vp.bottom() - 6 - 3, vp.bottom() - 6 + 3))


def _png_image(path, seed=0):
    from PIL import Image
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (64, 64), dtype=np.uint8)).save(
        path)
    return path


def _view_state(canvas):
    return (canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value(),
            canvas.zoom(), canvas.mapFromScene(QPointF(0, 0)))


def _wheel(widget, notches, modifiers=Qt.NoModifier):
    vp = widget.viewport()
    pos = vp.rect().center()
    QApplication.sendEvent(vp, QWheelEvent(
        QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, int(120 * notches)),
        Qt.NoButton, modifiers, Qt.NoScrollPhase, False))
