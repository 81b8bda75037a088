"""Source canvas: ROI by mouse (QTest on the viewport), handles, zoom, window/level, readout."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PyQt5.QtGui import QMouseEvent, QWheelEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication

from app.ui.canvas import ImageCanvas, roi_text


@pytest.fixture
def canvas(qtbot):
    c = ImageCanvas()
    qtbot.addWidget(c)
    c.resize(400, 400)
    c.show()
    qtbot.waitExposed(c)
    pixels = np.arange(200 * 200, dtype=np.float32).reshape(200, 200) - 1000
    c.set_image(pixels, (19000.0, 40000.0), spacing=(0.5, 0.8), unit="HU")
    return c


def vp_pos(c, x, y):
    p = c.mapFromScene(QPointF(x, y))
    return QPoint(p.x(), p.y())


def move(widget, pos, buttons=Qt.NoButton):
    """A real MouseMove event (QTest.mouseMove only moves the cursor on the offscreen platform)."""
    ev = QMouseEvent(QEvent.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)), Qt.NoButton,
                     buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def drag(c, a, b, button=Qt.LeftButton, modifiers=Qt.NoModifier):
    """QTest press on the viewport, intermediate moves, QTest release."""
    vp = c.viewport()
    QTest.mousePress(vp, button, modifiers, a)
    for t in (0.25, 0.5, 0.75):
        move(vp, QPoint(int(a.x() + (b.x() - a.x()) * t), int(a.y() + (b.y() - a.y()) * t)),
             button)
    QTest.mouseRelease(vp, button, modifiers, b)


def _square_pixels(c):
    """The canvas's image again with square pixels: one image pixel on a whole number of screen
    pixels each way, so that a drag lands on the pixels these tests name (with the fixture's
    0.5 × 0.8 mm a row is 0.625 as tall as a column is wide on screen)."""
    pixels = np.arange(200 * 200, dtype=np.float32).reshape(200, 200) - 1000
    c.set_image(pixels, (19000.0, 40000.0), spacing=(0.8, 0.8), unit="HU")


def test_roi_by_mouse_drag(canvas, qtbot):
    _square_pixels(canvas)
    with qtbot.waitSignal(canvas.roiChanged) as sig:
        drag(canvas, vp_pos(canvas, 20.2, 30.2), vp_pos(canvas, 80.5, 70.5))
    x, y, w, h = sig.args[0]
    assert (x, y) == (20, 30) and abs(w - 61) <= 1 and abs(h - 41) <= 1
    assert canvas.roi() == sig.args[0]
    assert "mm" in canvas.roi_label().text()


def test_roi_move_and_resize_by_handle(canvas, qtbot):
    _square_pixels(canvas)
    canvas.set_roi((50, 50, 40, 40))
    with qtbot.waitSignal(canvas.roiChanged):
        drag(canvas, vp_pos(canvas, 70, 70), vp_pos(canvas, 80, 90))  # inside: move
    assert canvas.roi() == (60, 70, 40, 40)
    with qtbot.waitSignal(canvas.roiChanged):   # bottom-right handle: resize
        drag(canvas, vp_pos(canvas, 100, 110), vp_pos(canvas, 120, 120))
    assert canvas.roi() == (60, 70, 60, 50)


def test_roi_is_clamped_to_the_image(canvas):
    canvas.set_roi((180, 190, 64, 64))
    assert canvas.roi() == (180, 190, 20, 10)


def test_click_without_drag_keeps_roi(canvas):
    canvas.set_roi((10, 10, 30, 30))
    p = vp_pos(canvas, 150, 150)
    QTest.mouseClick(canvas.viewport(), Qt.LeftButton, Qt.NoModifier, p)
    assert canvas.roi() == (10, 10, 30, 30)


def test_roi_text_in_pixels_and_mm():
    assert roi_text((0, 0, 64, 48), (0.5, 0.8)) == "64 × 48 px · 51.2 × 24.0 mm"
    assert roi_text((0, 0, 64, 48), None) == "64 × 48 px"


def test_wheel_zooms_about_the_cursor(canvas):
    z0 = canvas.zoom()
    pos = vp_pos(canvas, 50, 50)
    before = canvas.mapToScene(pos)
    ev = QWheelEvent(QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)), QPoint(0, 0),
                     QPoint(0, 240), Qt.NoButton, Qt.ControlModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), ev)  # Ctrl+wheel zooms (the wheel pages)
    assert canvas.zoom() == pytest.approx(z0 * 1.5625)
    after = canvas.mapToScene(pos)
    assert abs(after.x() - before.x()) < 2 and abs(after.y() - before.y()) < 2


def test_right_drag_changes_window(canvas, qtbot):
    c0, w0 = canvas.window()
    with qtbot.waitSignal(canvas.windowChanged):
        drag(canvas, QPoint(200, 200), QPoint(260, 240), Qt.RightButton)
    c1, w1 = canvas.window()
    assert w1 > w0 and c1 > c0


def test_cursor_readout(canvas, qtbot):
    with qtbot.waitSignal(canvas.cursorMoved) as sig:
        move(canvas.viewport(), vp_pos(canvas, 10.5, 3.5))
    col, row, value = sig.args[0]
    assert (col, row) == (10, 3) and value == pytest.approx(3 * 200 + 10 - 1000)


def test_nearest_neighbour_display(canvas):
    assert canvas.transformation_mode() == Qt.FastTransformation


def test_a_large_image_previews_the_window_coarsely_while_dragging(canvas):
    pixels = np.linspace(-1000, 3000, 2100 * 1500, dtype=np.float32).reshape(1500, 2100)
    canvas.set_image(pixels, (1000.0, 4000.0))  # 3.15 Mpx: every 2nd pixel while dragging
    assert canvas.preview_step() == 2
    assert canvas.pixmap().width() == 2100
    vp = canvas.viewport()
    a = QPoint(200, 200)
    QTest.mousePress(vp, Qt.RightButton, Qt.NoModifier, a)
    move(vp, QPoint(240, 230), Qt.RightButton)
    assert canvas.pixmap().width() == 1050  # the preview …
    assert canvas.pixmap_scene_rect() == QRectF(0, 0, 2100, 1500)  # … on the same scene pixels
    QTest.mouseRelease(vp, Qt.RightButton, Qt.NoModifier, QPoint(240, 230))
    assert canvas.pixmap().width() == 2100
    assert canvas.pixmap_scene_rect() == QRectF(0, 0, 2100, 1500)
    small = ImageCanvas()
    small.set_image(np.zeros((512, 512), np.float32), (0.0, 1.0))
    assert small.preview_step() == 1


def test_ctrl_drag_measures_a_distance_in_mm(canvas, qtbot):
    """Ctrl + left-drag draws a distance (spacing 0.5 mm rows × 0.8 mm columns), leaves the
    ROI alone; a click clears it, Esc clears it, a new image clears it."""
    canvas.set_roi((10, 10, 20, 20))
    with qtbot.waitSignal(canvas.measured) as sig:
        drag(canvas, vp_pos(canvas, 20, 40), vp_pos(canvas, 50, 80), modifiers=Qt.ControlModifier)
    (x0, y0), (x1, y1), text = canvas.measurement()
    assert sig.args[0] == text and canvas.roi() == (10, 10, 20, 20)
    expected = np.hypot((x1 - x0) * 0.8, (y1 - y0) * 0.5)
    assert abs(x1 - x0 - 30) < 1.5 and abs(y1 - y0 - 40) < 1.5
    assert text == f"{expected:.1f} mm"
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key_Escape)
    assert canvas.measurement() is None
    assert canvas.set_measurement((0, 0), (300, 0)) == "160.0 mm"  # kept inside the image
    canvas.set_image(np.zeros((50, 60), np.float32), (0.0, 1.0))
    assert canvas.measurement() is None
    assert canvas.set_measurement((0, 0), (3, 4)) == "5.0 px"  # no spacing: pixels
    canvas.set_image(np.zeros((50, 60), np.float32), (0.0, 1.0), spacing=(1.0, 1.0),
                     spacing_at_detector=True)
    assert canvas.set_measurement((0, 0), (3, 4)) == "5.0 mm at the detector"


def test_roi_geometry_snaps_to_whole_pixels_inside_the_image():
    from app.ui.roi_item import resize_roi, snap_roi

    assert snap_roi((10.4, 20.6), (3.2, 5.9), (200, 100)) == (3, 5, 8, 16)
    assert snap_roi((-5.0, -5.0), (250.0, 150.0), (200, 100)) == (0, 0, 200, 100)
    assert snap_roi((7.0, 7.0), (7.0, 9.5), (200, 100)) == (7, 7, 0, 3)
    start = (10, 10, 20, 20)
    assert resize_roi(start, "br", (40.4, 35.6), (200, 100)) == (10, 10, 30, 26)
    assert resize_roi(start, "l", (50.0, 0.0), (200, 100)) == (29, 10, 1, 20)  # ≥ 1 px
    assert resize_roi(start, "tl", (-9.0, -9.0), (200, 100)) == (0, 0, 30, 30)
    assert resize_roi(start, "b", (0.0, 500.0), (200, 100)) == (10, 10, 20, 90)


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_the_roi_label_stays_inside_the_view_on_a_2x_screen(canvas, ratio):
    """The size label beside the ROI's lower left corner moves left only as far as the view's
    right edge asks, in logical pixels also on a 2× screen (its painter then works in device
    pixels): never off the view's left edge."""
    from PyQt5.QtGui import QImage, QPainter

    label = canvas.roi_label()
    label.set_text("96 × 96 px · 80.8 × 80.8 mm")
    width = 364
    image = QImage(int(width * ratio), int(200 * ratio), QImage.Format_RGB32)
    image.setDevicePixelRatio(ratio)
    painter = QPainter(image)
    try:
        painter.translate(165, 100)  # the label's anchor, in logical pixels of the view
        canvas.resize(width, 400)
        r = label.placed_rect(painter, canvas)
    finally:
        painter.end()
    left, right = 165 + r.left(), 165 + r.right()
    assert left >= 0 and right <= width - 18 + 0.5
    assert left == pytest.approx(max(0.0, width - 18 - r.width()))


def test_non_square_pixels_are_shown_at_their_aspect(canvas):
    """PixelSpacing 0.5 mm (rows) × 0.8 mm (columns): a row is 0.625 as tall on screen as a
    column is wide, so anatomy keeps its shape (it was drawn square: stretched 1.6:1); the fit
    keeps the whole image in view, and a zoom keeps the aspect."""
    t = canvas.transform()
    assert t.m22() / t.m11() == pytest.approx(0.5 / 0.8)
    rect = canvas.mapFromScene(canvas.pixmap_scene_rect()).boundingRect()
    assert rect.width() <= canvas.viewport().width() and rect.height() < 0.7 * rect.width()
    canvas.zoom_by(1.25)
    assert canvas.transform().m22() / canvas.transform().m11() == pytest.approx(0.625)
    _square_pixels(canvas)
    assert canvas.transform().m22() == pytest.approx(canvas.transform().m11())


def test_a_spacing_measured_at_the_detector_is_said_on_the_bar_and_the_region(canvas):
    """ImagerPixelSpacing (a projection radiograph's, at the detector, not at the patient): the
    ROI label and the scale bar say "at detector", as the cursor readout does."""
    from PyQt5.QtCore import QRect
    from PyQt5.QtGui import QImage, QPainter

    from app.ui.imaging import draw_scale_bar

    assert roi_text((0, 0, 64, 48), (0.5, 0.8), True) == "64 × 48 px · 51.2 × 24.0 mm at detector"
    pixels = np.zeros((100, 100), np.float32)
    canvas.set_image(pixels, (0.0, 1.0), spacing=(0.2, 0.2), spacing_at_detector=True)
    canvas.set_roi((10, 10, 20, 20))
    assert canvas.roi_label().text().endswith("mm at detector")
    img = QImage(400, 300, QImage.Format_RGB32)
    p = QPainter(img)
    drawn = draw_scale_bar(p, QRect(0, 0, 400, 300), 5.0, at_detector=True)
    plain = draw_scale_bar(p, QRect(0, 0, 400, 300), 5.0)
    p.end()
    assert drawn[2] == plain[2] + " at detector"
