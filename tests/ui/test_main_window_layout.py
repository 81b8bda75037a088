"""The main window end to end (offscreen): ROI by keyboard and mouse, scale dropdown, focus mode
and actual pixels, window size and placement, keyboard focus and shortcuts, numbers shown whole."""
from __future__ import annotations

import math

import pytest
from PyQt5.QtCore import QPoint, QPointF, Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication

from .conftest import TEST_ROI
from ._window_helpers import _move, _prepare


def test_keyboard_moves_and_resizes_the_roi_and_ctrl_z_undoes(window):
    c = window.canvas
    window.set_roi((100, 100, 40, 30))
    c.setFocus()
    QTest.keyClick(c, Qt.Key_Right)
    QTest.keyClick(c, Qt.Key_Down, Qt.ShiftModifier)
    assert c.roi() == (101, 110, 40, 30)
    QTest.keyClick(c, Qt.Key_Left, Qt.ControlModifier)  # narrower by 1
    QTest.keyClick(c, Qt.Key_Down, Qt.ControlModifier | Qt.ShiftModifier)  # taller by 10
    assert c.roi() == (101, 110, 39, 40)
    assert "39 × 40 px at x 101, y 110" in window.controls.roi_label.text()
    w = window.image.width
    for _ in range(60):
        QTest.keyClick(c, Qt.Key_Right, Qt.ShiftModifier)
    assert c.roi() == (w - 39, 110, 39, 40)  # stops at the edge
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)  # Edit ▸ Undo
    assert c.roi() != (w - 39, 110, 39, 40)
    assert c.roi() == (471, 110, 39, 40)  # one step back: 471 → 473 was the last move
    while window.undo_roi():
        pass
    assert c.roi() == (208, 208, 96, 96)  # the ROI the image opened with: nothing before it


def test_roi_by_mouse_and_scale_dropdown(window, qtbot):
    c = window.canvas
    vp = c.viewport()
    a = c.mapFromScene(QPointF(100.3, 120.3))
    b = c.mapFromScene(QPointF(160.6, 170.6))
    with qtbot.waitSignal(c.roiChanged):
        QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, a)
        _move(vp, (a + b) / 2, Qt.LeftButton)
        QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, b)
    x, y, w, h = c.roi()
    # the view shows the 512² image at < 1 screen px per pixel: allow one pixel of rounding
    assert abs(x - 100) <= 1 and abs(y - 120) <= 1 and 58 <= w <= 63 and 48 <= h <= 53
    assert f"{w} × {h} px" in window.controls.roi_label.text()
    assert "mm" in window.controls.roi_label.text()
    # dropdown → slider and spin
    combo = window.controls.scale_combo
    combo.setCurrentIndex(combo.findText("×2.5"))
    combo.activated.emit(combo.currentIndex())
    assert window.controls.scale_slider.value() == 25
    assert window.controls.scale() == pytest.approx(2.5)
    # slider → dropdown
    window.controls.scale_slider.setValue(40)
    assert combo.currentText() == "×4"
    window.controls.scale_slider.setValue(33)
    assert combo.currentText().startswith("custom")
    out_w = math.floor(w * 3.3 + 0.5)
    assert f"output {out_w}×" in window.controls.roi_label.text()


def test_focus_mode_and_actual_pixels(window, qtbot, network, run_job):
    """Double-click a result panel: it alone fills the comparison area (fitted, larger);
    double-click again or Esc: every panel again. View ▸ Actual pixels shows 1:1."""
    _prepare(window, network)
    run_job(window)
    comp = window.comparison
    panel = comp.panel(network)
    # the fitted zoom once the grid has given every panel its equal cell (when the job ends it
    # can still be laying them out, e.g. widths 148 / 437 / 148: a zoom no later layout returns to)
    def settled() -> bool:
        sizes = [(p.width(), p.height()) for p in comp.panels()]
        return all(abs(w - sizes[0][0]) <= 2 and abs(h - sizes[0][1]) <= 2 for w, h in sizes)
    qtbot.waitUntil(settled, timeout=10000)
    before = panel.view.zoom()
    QTest.mouseDClick(panel.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                      panel.view.viewport().rect().center())
    assert comp.focused() == network
    qtbot.waitUntil(lambda: all(p.isHidden() == (p is not panel) for p in comp.panels()),
                    timeout=10000)
    qtbot.waitUntil(lambda: panel.width() >= comp.width() - 12, timeout=10000)
    qtbot.waitUntil(lambda: panel.view.zoom() > before * 1.2, timeout=10000)
    assert all(p.view.zoom() == pytest.approx(panel.view.zoom()) for p in comp.panels())
    QTest.mouseDClick(panel.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                      panel.view.viewport().rect().center())
    assert comp.focused() is None and not any(p.isHidden() for p in comp.panels())
    qtbot.waitUntil(lambda: panel.view.zoom() == pytest.approx(before, rel=0.05), timeout=10000)
    comp.set_focus("bicubic")
    QTest.keyClick(window, Qt.Key_Escape)
    assert comp.focused() is None
    QTest.mouseDClick(panel.view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(10, 10))
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key_Escape)
    assert comp.focused() is None
    window.act_actual_pixels.trigger()
    h, w = panel.data.pixels.shape[:2]
    assert panel.view.zoom() == pytest.approx(w / panel.data.extent[0], rel=1e-6)
    assert comp.panel("bicubic").view.zoom() == pytest.approx(panel.view.zoom())


def test_a_damaged_saved_scale_does_not_stop_the_viewer(qtbot, resolver, settings):
    from app.ui.main_window import MainWindow

    settings.setValue("scale", "nan")
    for key in ("geometry", "windowState", "topSplitter", "mainSplitter"):  # text, not bytes
        settings.setValue(key, "junk")
    win = MainWindow(resolver=resolver, settings=settings, load_engine=False)
    qtbot.addWidget(win)
    assert win.controls.scale() == 2.0
    assert win.width() > 0  # started, at the default size (a TypeError stopped it every time)


def test_outdated_titles_never_widen_the_window_and_the_controls_stay_reachable(
        window, qtbot, network, run_job):
    _prepare(window, network, simulate=True)  # four panels: input, reference, two results
    run_job(window)
    assert len(window.comparison.panels()) == 4
    x, y, w, h = TEST_ROI
    window.set_roi((x + 1, y, w, h))
    window.controls.set_scale(3.5)
    title = window.comparison.panels()[-1].title
    assert window.comparison.stale() and "outdated" in title.text()
    window.image_header.setText("a very long file name " * 12)
    window.resize(1024, 700)
    QApplication.processEvents()
    assert window.minimumSizeHint().width() <= 1024
    assert window.width() == 1024 and window.height() == 700
    dock = window.controls_dock.geometry()
    assert window.rect().contains(dock), (dock, window.rect())
    run = window.controls.run_button
    assert run.isVisibleTo(window) and run.width() > 0
    # the title is elided, never clipped: its full text is in the tooltip
    title.resize(40, title.height())
    assert title.shown_text() != title.text() and "…" in title.shown_text()
    assert "outdated" in title.toolTip() and "Ctrl+R" in title.toolTip()


def test_the_window_starts_within_the_screen(qtbot, resolver, settings):
    from app.ui.main_window import MainWindow, fitted_size

    win = MainWindow(resolver=resolver, settings=settings, load_engine=False)
    qtbot.addWidget(win)
    avail = QApplication.primaryScreen().availableGeometry()
    assert win.width() <= max(avail.width(), win.minimumSizeHint().width())
    assert win.height() <= avail.height()
    # logical pixels: a 2560×1600 panel at 2× offers 1280×(800 − task bar), never 5120×3200
    assert fitted_size((1280, 800), (1280, 770)) == (1264, 730)
    assert fitted_size((1280, 800), (1920, 1050)) == (1280, 800)
    assert fitted_size((1280, 800), (1024, 700)) == (1008, 660)


def test_the_preset_list_gives_the_navigation_keys_back(window, qtbot):
    names = [n for n, _ in window.presets()]
    assert names[0] == "Lung" and names[-1].startswith("File:")  # 1 = Lung, not a file window
    combo = window.controls.preset_combo
    assert combo.itemText(1).startswith("1") and "Lung" in combo.itemText(1)
    assert combo.itemText(combo.count() - 1).startswith("0")
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key_1)
    assert window.window() == pytest.approx(dict(window.presets())["Lung"])
    assert "Lung" in window.statusBar().currentMessage()
    QTest.keyClick(window.canvas, Qt.Key_0)  # the status bar names the window applied
    message = window.statusBar().currentMessage()
    assert "file's own" in message and "Lung" not in message
    assert window.window_status.text() in message
    # choosing a preset in the list hands the keys back to the image
    window.set_roi((100, 100, 40, 30))
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    combo.setCurrentIndex(2)
    combo.activated.emit(2)
    chosen = window.window()
    assert chosen == pytest.approx(window.presets()[1][1]) and window.canvas.hasFocus()
    combo.setFocus()  # even with the focus left on the list, ↓ and End are not presets
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    QTest.keyClick(combo, Qt.Key_Down)
    assert window.canvas.roi() == (100, 101, 40, 30) and window.window() == chosen
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key_End)
    QTest.keyClick(combo, Qt.Key_PageDown, Qt.ShiftModifier)
    assert window.window() == chosen and "Last slice" in window.statusBar().currentMessage()
    # the last entry is the file's own window
    combo.activated.emit(combo.count() - 1)
    assert window.window() == pytest.approx(window.image.window)


def test_numbers_are_never_cut_or_in_e_notation(window):
    window.set_roi((0, 0, window.image.width, window.image.height))  # a large area
    label = window.controls.roi_label
    text = label.text()
    assert "e+" not in text and "e-" not in text and label.wordWrap()
    assert label.toolTip() == text
    area = next(line for line in text.splitlines() if "mm²" in line)
    assert area.split("(")[1].split(" mm²")[0].replace(",", "").isdigit()  # "(…,… mm²)"
    assert "," in area  # a 512² CT slice covers over 10,000 mm²
    stats = [line for line in text.splitlines() if line.startswith(("mean ", "min "))]
    assert len(stats) == 2 and all(line.endswith("HU") for line in stats)
    window.set_window(15000, 30000)
    assert window.canvas.overlay_lines()["bottom_left"][0] == "W 30,000 / L 15,000 HU"
    assert window.window_status.text() == "W 30,000 / L 15,000 HU"
    window.set_window(0.25, 0.5)
    assert window.canvas.overlay_lines()["bottom_left"][0] == "W 0.5 / L 0.25 HU"
    window.set_window(41.5, 400)
    assert window.window_status.text() == window.canvas.overlay_lines()["bottom_left"][0] \
        == "W 400 / L 41.5 HU"
    for action in window.preset_menu.actions():
        assert "e+" not in action.text()


def test_help_lists_the_keyboard_shortcuts_of_the_menus(window, qtbot):
    rows = window.shortcut_table()
    commands = {(m, c): k for m, c, k in rows}
    assert commands[("Process", "Super-resolve")] == window.act_run.shortcut().toString(
        QKeySequence.NativeText)
    assert ("View", "Next slice / frame") in commands
    assert any(m == "View ▸ Window presets" and c.startswith("Lung") and k == "1"
               for m, c, k in rows)
    assert ("Image", "Slices and zoom") in commands
    # every menu command with a shortcut is listed (the list is made from the menus)
    from PyQt5.QtWidgets import QAction

    listed = {key for _, _, k in rows for key in k.split(", ")}  # "Ctrl+Shift+Z, Ctrl+Y"
    for action in window.menuBar().findChildren(QAction):
        if not action.shortcut().isEmpty() and action.isVisible():
            for keys in action.shortcuts():
                assert keys.toString(QKeySequence.NativeText) in listed, action.text()
    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and not dialog.isModal()
    from PyQt5.QtWidgets import QTextBrowser

    text = dialog.findChild(QTextBrowser).toPlainText()
    assert "Super-resolve" in text and "Ctrl+wheel" in text
    dialog.close()


def test_result_panels_keep_the_pixels_aspect(window, tmp_path, run_job):
    """An image of 0.5 mm rows × 0.8 mm columns: the result panels show their rows 0.625 as
    tall as their columns are wide, as the image is shown (both were drawn square)."""
    import numpy as np

    from ..test_io_writers import make_ct

    path = make_ct(tmp_path / "aniso.dcm", np.random.default_rng(0).normal(0, 100, (64, 64)),
                   ipp=(0, 0, 0), iop=(1, 0, 0, 0, 1, 0), spacing=(0.5, 0.8))
    assert window.open_file(path)
    t = window.canvas.transform()
    assert t.m22() / t.m11() == pytest.approx(0.625)
    window.controls.set_checked_methods(["bicubic"])
    window.set_roi((8, 8, 32, 32))
    run_job(window)
    for p in window.comparison.panels():
        pt = p.view.transform()
        assert pt.m22() / pt.m11() == pytest.approx(0.625)
    window.comparison.actual_pixels()
    pt = window.comparison.panels()[0].view.transform()
    assert pt.m22() / pt.m11() == pytest.approx(0.625)


def test_the_self_test_fails_without_network_weights(tmp_path, qtbot):
    """A bundle that lost its weights (or a mistyped --weights-dir) must not pass as bicubic
    alone; and the self-test leaves no scratch folder behind."""
    import io
    import tempfile
    from pathlib import Path

    from app.__main__ import self_test

    before = set(Path(tempfile.gettempdir()).glob("rmisr-self-test-*"))
    out = io.StringIO()
    assert self_test(device="cpu", weights_dir=str(tmp_path / "none"), out=out) == 1
    assert "no network weights" in out.getvalue() and "the weights folder is missing" in \
        out.getvalue()
    assert set(Path(tempfile.gettempdir()).glob("rmisr-self-test-*")) == before
