"""Measuring on the image and on every panel (distance, angle, ellipse and rectangle regions),
annotations kept per slice and exported on the comparison sheet, and one undo/redo history for
the region, the annotations and the window/level — through the window, offscreen."""
from __future__ import annotations

import pytest
from PyQt5.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PyQt5.QtGui import QFontMetrics, QKeySequence, QMouseEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication

from app.annotations import Annotation
from app.measurements import PanelGeometry, measurement_text
from app.ui.overlays import overlay_font

from .conftest import TEST_ROI, TEST_SCALE


def _drag(widget, a: QPoint, b: QPoint, modifiers=Qt.NoModifier) -> None:
    QTest.mousePress(widget, Qt.LeftButton, modifiers, a)
    QApplication.sendEvent(widget, QMouseEvent(QEvent.MouseMove, QPointF(b),
                                               QPointF(widget.mapToGlobal(b)), Qt.NoButton,
                                               Qt.LeftButton, modifiers))
    QTest.mouseRelease(widget, Qt.LeftButton, modifiers, b)


def _click(widget, p: QPoint) -> None:
    QTest.mousePress(widget, Qt.LeftButton, Qt.NoModifier, p)
    QTest.mouseRelease(widget, Qt.LeftButton, Qt.NoModifier, p)


def _key(window, key, modifiers=Qt.NoModifier) -> None:
    QTest.keyClick(window, key, modifiers)


def _open_series(window, tmp_path, qtbot) -> None:
    """Open the first of a 3-slice series and wait until the stack lists all three."""
    from ..test_io_series import make_series

    paths = make_series(tmp_path / "series", [0.0, 10.0, 20.0])
    assert window.open_file(paths[0])
    qtbot.waitUntil(lambda: len(window.stack()) == 3, timeout=10000)


def _on_canvas(canvas, x: float, y: float) -> QPoint:
    return canvas.mapFromScene(QPointF(x, y))


def _on_panel(view, x: float, y: float) -> QPoint:
    ox, oy = view.data.origin
    return view.mapFromScene(QPointF(x - ox, y - oy))


@pytest.fixture
def compared(window, network, run_job):
    window.controls.set_scale(TEST_SCALE)
    window.controls.set_checked_methods(["bicubic", network])
    window.set_roi(TEST_ROI)
    run_job(window)
    return window


def test_the_tools_are_menu_commands_with_keys_and_buttons(window):
    acts = window.menus.actions
    keys = {k: acts[f"tool_{k}"].shortcut().toString() for k in
            ("none", "distance", "angle", "ellipse", "rectangle")}
    assert keys == {"none": "S", "distance": "D", "angle": "A", "ellipse": "E",
                    "rectangle": "R"}
    every = [a.shortcut().toString() for a in window.findChildren(type(acts["undo"]))
             if not a.shortcut().isEmpty()]
    for k in keys.values():
        assert every.count(k) == 1, k  # no other command has the key
    window.canvas.setFocus()
    _key(window.canvas, Qt.Key_E)
    assert window.measure.tool == "ellipse" and acts["tool_ellipse"].isChecked()
    assert window.canvas.annotations.tool == window.comparison.annotations.tool == "ellipse"
    buttons = window.controls.measure_box.findChildren(type(window.notes_button))
    distance = next(b for b in buttons if b.defaultAction() is acts["tool_distance"])
    distance.click()
    assert window.measure.tool == "distance"
    _key(window.canvas, Qt.Key_S)
    assert window.measure.tool == ""
    rows = {(m, c): k for m, c, k in window.shortcut_table()}
    assert rows[("Measure", "Distance")] == "D" and rows[("Edit", "Redo")] == \
        "Ctrl+Shift+Z, Ctrl+Y"


def test_a_distance_on_the_image_is_kept_per_slice_and_ctrl_drag_still_measures(
        window, tmp_path, qtbot):
    _open_series(window, tmp_path, qtbot)
    c = window.canvas
    window.measure.set_tool("distance")
    roi = c.roi()
    _drag(c.viewport(), _on_canvas(c, 2, 4), _on_canvas(c, 12, 4))
    assert c.roi() == roi  # the tool drew, the region stayed
    (ann,) = window.session.shown_annotations()
    assert ann.kind == "distance" and ann.points[0] == pytest.approx((2, 4), abs=0.6)
    rs, cs = window.image.pixel_spacing
    mm = (ann.points[1][0] - ann.points[0][0]) * cs
    assert window.measure.image_text(ann).startswith(f"{mm:.1f} mm")
    assert "Distance 1:" in window.statusBar().currentMessage()
    # another slice has none; back again, it is shown again
    assert window.step_slice(1) and window.session.shown_annotations() == []
    assert c.annotations.annotations == []
    assert window.step_slice(-1) and window.session.shown_annotations() == [ann]
    assert c.annotations.annotations == [ann]
    # Ctrl+drag is still the quick distance, not an annotation
    _drag(c.viewport(), _on_canvas(c, 3, 8), _on_canvas(c, 9, 8), Qt.ControlModifier)
    assert c.measurement() is not None and len(window.session.shown_annotations()) == 1


def test_regions_and_angles_on_a_result_panel_measure_each_panel_s_pixels(compared, network):
    win = compared
    x, y, w, h = TEST_ROI
    view = win.comparison.panel(network).view
    vp = view.viewport()
    win.measure.set_tool("ellipse")
    _drag(vp, _on_panel(view, x + 10, y + 12), _on_panel(view, x + 30, y + 28))
    (ell,) = win.session.shown_annotations()
    assert ell.kind == "ellipse"
    assert ell.box() == pytest.approx((x + 10, y + 12, x + 30, y + 28), abs=1.0)
    # shown on the image and on every panel, measured on each from its own pixels
    assert win.canvas.annotations.annotations == [ell]
    spacing, unit = win.image.pixel_spacing, win.image.value_unit
    texts = {}
    for panel in win.comparison.panels():
        d = panel.data
        geometry = PanelGeometry(d.origin, d.extent, d.pixels.shape[:2], spacing, unit)
        texts[d.key] = win.comparison.annotation_text(ell, d)
        assert texts[d.key] == measurement_text(ell, d.pixels, geometry)
        assert texts[d.key].startswith("mean ") and unit in texts[d.key]
    area = texts[network].rsplit("·", 1)[1]
    assert texts["source"].endswith(area)  # one anatomy, one area; statistics per panel
    assert texts["source"] != texts[network]
    # an angle by three clicks on the panel
    win.measure.set_tool("angle")
    for px, py in ((x + 5, y + 40), (x + 20, y + 40), (x + 20, y + 25)):
        _click(vp, _on_panel(view, px, py))
    angle = win.session.shown_annotations()[-1]
    assert angle.kind == "angle"
    assert win.comparison.annotation_text(angle, view.data) == "90.0°"
    # a rectangle on the image by a drag with the tool
    win.measure.set_tool("rectangle")
    c = win.canvas
    _drag(c.viewport(), _on_canvas(c, 50, 60), _on_canvas(c, 70, 75))
    assert [a.kind for a in win.session.shown_annotations()] == ["ellipse", "angle",
                                                                 "rectangle"]


def test_select_delete_clear_and_undo_redo_of_annotations_roi_and_window(compared, network):
    win = compared
    x, y, w, h = TEST_ROI
    session = win.session
    first = session.annotate(Annotation("distance", ((x + 5, y + 5), (x + 25, y + 5))))
    second = session.annotate(Annotation("rectangle", ((x + 5, y + 20), (x + 20, y + 30))))
    win.measure.refresh()
    # a click with no tool selects the annotation under it; Del deletes it
    win.measure.set_tool("")
    view = win.comparison.panel(network).view
    _click(view.viewport(), _on_panel(view, x + 15, y + 5))
    assert session.selected == first.id and win.comparison.annotations.selected == first.id
    _key(win, Qt.Key_Delete)
    assert session.shown_annotations() == [second]
    win.measure.clear()
    assert session.shown_annotations() == []
    _key(win, Qt.Key_Z, Qt.ControlModifier)
    assert session.shown_annotations() == [second]
    _key(win, Qt.Key_Z, Qt.ControlModifier)
    assert session.shown_annotations() == [first, second]
    _key(win, Qt.Key_Z, Qt.ShiftModifier | Qt.ControlModifier)  # redo
    assert session.shown_annotations() == [second]
    _key(win, Qt.Key_Y, Qt.ControlModifier)  # redo
    assert session.shown_annotations() == []
    # window/level: a preset is undone and redone, on the image and the panels
    before = win.window()
    win.apply_preset(0)
    after = win.window()
    assert after != before
    assert "window/level" in win.menus.actions["undo"].text()
    assert win.measure.undo() and win.window() == pytest.approx(before)
    assert win.comparison.window() == pytest.approx(before)
    assert win.measure.redo() and win.window() == pytest.approx(after)
    # a right-drag on a panel is one step
    vp = view.viewport()
    QTest.mousePress(vp, Qt.RightButton, Qt.NoModifier, QPoint(20, 20))
    for dx in (10, 30, 50):
        QApplication.sendEvent(vp, QMouseEvent(QEvent.MouseMove, QPointF(20 + dx, 20),
                                               QPointF(vp.mapToGlobal(QPoint(20 + dx, 20))),
                                               Qt.NoButton, Qt.RightButton, Qt.NoModifier))
    QTest.mouseRelease(vp, Qt.RightButton, Qt.NoModifier, QPoint(70, 20))
    assert win.window() != pytest.approx(after)
    assert win.measure.undo() and win.window() == pytest.approx(after)
    # the region: undone on the canvas and in the session, redone again
    c = win.canvas
    c.setFocus()
    QTest.keyClick(c, Qt.Key_Right)
    assert c.roi() == (x + 1, y, w, h)
    assert win.measure.undo() and c.roi() == TEST_ROI and session.roi == TEST_ROI
    assert win.measure.redo() and c.roi() == (x + 1, y, w, h) and session.roi == c.roi()


def test_the_comparison_sheet_draws_and_lists_the_annotations(compared, network, tmp_path):
    from PIL import Image

    win = compared
    x, y, w, h = TEST_ROI
    ell = win.session.annotate(Annotation("ellipse", ((x + 8, y + 8), (x + 30, y + 26))))
    dist = win.session.annotate(Annotation("distance", ((x + 4, y + 40), (x + 40, y + 40))))
    win.measure.refresh()
    sheet = win.export_sheet(tmp_path / "sheet.png")
    assert sheet is not None, win.last_message()
    with Image.open(sheet) as im:
        described = im.info.get("Description", "")
        with_notes = im.size
    for panel in win.comparison.panels():
        d = panel.data
        assert f"Annotations on {d.title}:" in described
        assert f"1 Ellipse: {win.comparison.annotation_text(ell, d)}" in described
        assert f"2 Distance: {win.comparison.annotation_text(dist, d)}" in described
    win.measure.clear()
    with Image.open(win.export_sheet(tmp_path / "plain.png")) as im:
        assert "Annotations on" not in im.info.get("Description", "")
        assert im.size[1] < with_notes[1]  # the lists take room below the panels


def test_help_lists_the_measuring_keys(window):
    text = "\n".join(" | ".join(r) for r in window.shortcut_table())
    for words in ("Distance | D", "Angle | A", "Ellipse region | E", "Rectangle region | R",
                  "Delete selected annotation", "Undo |", "Redo | Ctrl+Shift+Z, Ctrl+Y"):
        assert words in text, words
    assert QKeySequence("Ctrl+Y") in window.menus.actions["redo"].shortcuts()


def test_a_long_measurement_label_is_broken_into_lines_that_fit_a_small_panel(qtbot):
    from PyQt5.QtGui import QFontMetrics

    from app.ui.annotation_layer import label_lines
    from app.ui.overlays import overlay_font

    fm = QFontMetrics(overlay_font())
    text = "1 · mean -798.1 ± 306 HU · min -1024, max 351 · 436.7 mm²"
    assert label_lines(fm, text, 2000) == [text]
    lines = label_lines(fm, text, 180)
    assert len(lines) > 1 and " · ".join(lines) == text
    assert all(fm.horizontalAdvance(t) <= 180 for t in lines)


def _painted(view):
    view.viewport().grab()  # paints: the layout of the labels is the one on screen
    return view.painted_labels


def test_on_the_whole_image_small_annotations_show_their_number_clear_of_the_roi_label(window):
    win, c = window, window.canvas
    x, y = c.roi()[:2]
    ell = win.session.annotate(Annotation("ellipse", ((x + 20, y + 15), (x + 40, y + 25))))
    dist = win.session.annotate(Annotation("distance", ((x + 10, y + 36), (x + 42, y + 36))))
    win.measure.refresh()
    c.fit()
    labels = _painted(c)
    assert [a for a, _ in labels] == [ell, dist]
    fm = QFontMetrics(overlay_font())
    roi_label = c.roi_label().viewport_rect(c)
    for n, (_, rect) in enumerate(labels, start=1):
        assert rect.width() <= fm.horizontalAdvance(str(n)) + 6  # the number alone
        assert not rect.intersects(roi_label)
        assert QRectF(c.viewport().rect()).contains(rect)
    assert not labels[0][1].intersects(labels[1][1])
    # the measurement in full: in the tooltip over the number, or over the shape itself
    tip = c.annotation_tip(labels[0][1].center().toPoint())
    assert tip == f"Ellipse 1 on the image: {win.measure.image_text(ell)}"
    assert c.annotation_tip(_on_canvas(c, x + 26, y + 36)).startswith("Distance 2 on the image")
    assert c.annotation_tip(_on_canvas(c, 5, 5)) == ""
    # zoomed in on them, there is room for the full label
    c.zoom_by(240 / (20 * c.zoom()))  # the ellipse 240 px wide on screen
    c.centerOn(QPointF(x + 30, y + 25))
    (_, big), (_, line) = _painted(c)
    m = win.measure.image_measurement(ell)
    assert len(m.lines) == 2 and big.width() >= fm.horizontalAdvance(f"1 · {m.lines[0]}")
    assert big.height() >= 2 * fm.lineSpacing() and not big.intersects(line)


def test_a_panel_s_labels_keep_clear_of_its_caption_and_its_tooltip_lists_the_whole(
        compared, network):
    win = compared
    x, y = TEST_ROI[:2]
    ell = win.session.annotate(Annotation("ellipse", ((x + 4, y + 4), (x + 44, y + 24))))
    dist = win.session.annotate(Annotation("distance", ((x + 4, y + 26), (x + 44, y + 27))))
    win.measure.refresh()
    view = win.comparison.panel(network).view
    labels = _painted(view)
    assert [a for a, _ in labels] == [ell, dist]
    caption = view.caption_rect()
    lines = win.comparison.annotation_lines(ell, view.data)
    assert len(lines) == 2 and lines[0].endswith(win.image.value_unit)
    for _, rect in labels:
        assert not rect.intersects(caption)
        assert QRectF(view.viewport().rect()).contains(rect)
    assert not labels[0][1].intersects(labels[1][1])
    tip = view.annotation_tip(labels[0][1].center().toPoint())
    assert tip == (f"Ellipse 1 on {view.data.title}: "
                   f"{win.comparison.annotation_text(ell, view.data)}")


def test_undo_and_redo_of_an_annotation_on_another_slice_show_that_slice_first(
        window, tmp_path, qtbot):
    _open_series(window, tmp_path, qtbot)
    session = window.session
    first = session.slice_key()
    ann = session.annotate(Annotation("distance", ((2, 4), (12, 4))))
    assert window.step_slice(2) and session.position == 2 and session.slice_key() != first
    assert window.measure.undo()  # the distance was drawn on slice 1: shown, then undone
    assert session.slice_key() == first and session.position == 0
    assert session.shown_annotations() == [] and window.canvas.annotations.annotations == []
    assert "on slice 1/3" in window.statusBar().currentMessage()
    assert window.step_slice(1) and session.position == 1
    assert window.measure.redo()
    assert session.slice_key() == first and window.canvas.annotations.annotations == [ann]
    assert window.measure.undo() and session.position == 0  # here already: no step
    assert window.statusBar().currentMessage() == "Undone: distance"


def test_corner_texts_keep_to_their_half_of_the_view(qtbot):
    """A long manufacturer line in one corner is elided to half the view's width, so it cannot
    overprint the patient's name in the corner beside it; short lines are untouched."""
    from PyQt5.QtGui import QFontMetrics

    from app.ui.overlays import fit_corner_lines, overlay_font

    font = overlay_font()
    lines = {"top_left": ["Doe^Jane", "ID 123"],
             "top_right": ["Philips Medical Systems Hamburg, DigitalDiagnost " * 3]}
    fitted = fit_corner_lines(lines, font, 350)
    assert fitted["top_left"] == ["Doe^Jane", "ID 123"]
    right = fitted["top_right"][0]
    assert right.endswith("…") and QFontMetrics(font).horizontalAdvance(right) <= 350 // 2 - 8
