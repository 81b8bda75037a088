"""The main window end to end (offscreen): open, ROI, scale, run off the UI thread, compare,
quality table, cancel, export and re-read, settings, errors as messages."""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PyQt5.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QMouseEvent, QWheelEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication

from app.io import SAMPLE_PATH, read_image

from .conftest import TEST_ROI, TEST_SCALE

ROOT = Path(__file__).resolve().parents[2]


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

def test_opens_the_dicom_sample(window):
    img = window.image
    assert img.kind == "dicom" and img.modality == "CT" and img.value_unit == "HU"
    assert window.canvas.has_image() and window.canvas.image_size() == (img.width, img.height)
    assert window.canvas.roi() is not None  # a default ROI to start from
    label = window.controls.roi_label.text()  # size, area and the ROI's HU statistics
    assert "mm²" in label and "mean " in label and "\nmin " in label and "HU" in label
    assert "detector" not in label
    window.image.spacing_source = "ImagerPixelSpacing"  # e.g. CR/DX: not at the patient
    window.set_roi((10, 10, 20, 20))
    assert "mm²) at the detector" in window.controls.roi_label.text()
    assert window.window() == pytest.approx(img.window)
    names = [n for n, _ in window.presets()]
    assert "Lung" in names and any(n.startswith("File:") for n in names)
    assert "sample_ct_chest.dcm" in window.windowTitle()


def test_corner_overlay_names_the_patient_and_can_be_hidden(window, settings):
    ds = window.image.dataset
    lines = window.canvas.overlay_lines()
    assert lines["top_left"][0] == str(ds.PatientName).split("^")[0]
    assert lines["bottom_left"][0].startswith("W ") and "HU" in lines["bottom_left"][0]
    window.set_window(40, 400)
    assert window.canvas.overlay_lines()["bottom_left"][0] == "W 400 / L 40 HU"

    def top_left_brightness():
        shot = window.canvas.viewport().grab().toImage()
        return max(shot.pixelColor(x, y).lightness() for x in range(4, 60) for y in range(2, 14))

    shown = top_left_brightness()
    window.act_overlay.trigger()  # View ▸ Patient and image information (I)
    assert window.canvas.overlay_lines() == {}
    assert top_left_brightness() < shown  # the text is gone from the picture
    window.save_settings()
    assert str(settings.value("overlay")).lower() == "false"


def _pick_series(window, qtbot, row=0):
    """Answer the series picker a folder with several series shows (``row`` 0: the largest)."""
    qtbot.waitUntil(lambda: window.series_picker is not None
                    and window.series_picker.isVisible(), timeout=10_000)
    picker = window.series_picker
    picker.choose(row)
    picker.accept()
    return picker


def test_open_a_folder_or_drop_one(window, tmp_path, pydicom_file, qtbot):
    """File ▸ Open folder (or a dropped folder) opens a DICOM series, subfolders and
    extension-less files included, ready to step through; with several series a picker lists
    them, the largest first."""
    from ..test_io_series import make_series

    paths = make_series(tmp_path / "cd" / "DICOM", [20.0, 0.0, 10.0], prefix="IM")
    make_series(tmp_path / "cd" / "other", [3.0], prefix="IM")
    for p in paths:
        p.rename(p.with_suffix(""))
    before = window.image
    assert window.open_folder(tmp_path / "cd")  # the headers are read in the background
    assert window.image is before and "Reading the DICOM headers" in \
        window.statusBar().currentMessage()
    picker = _pick_series(window, qtbot)
    assert picker.table.rowCount() == 2 and picker.table.item(0, 3).text() == "3"
    qtbot.waitUntil(lambda: window.image is not before, timeout=10_000)
    assert len(window.stack()) == 3 and float(window.image.dataset.ImagePositionPatient[2]) == 0
    assert "one of 2 series" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: QApplication.overrideCursor() is None, timeout=5_000)  # not busy
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.txt").write_text("x")
    assert window.open_files([tmp_path / "nothing"])
    qtbot.waitUntil(lambda: "no DICOM file with pixel data" in window.last_message(),
                    timeout=10_000)
    shown = window.image
    assert window.open_files([tmp_path / "cd" / "DICOM"])
    qtbot.waitUntil(lambda: window.image is not shown, timeout=10_000)
    assert len(window.stack()) == 3
    # a folder scan that ends after another file was opened does not replace that file
    assert window.open_folder(tmp_path / "cd")
    assert window.open_file(paths[0].with_suffix(""))
    opened = window.image
    qtbot.waitUntil(lambda: not window.series_scan_running(), timeout=10_000)
    qtbot.wait(50)
    assert window.image is opened
    # found while a job runs (or a dialog is open): opened only once that is over
    assert window.open_folder(tmp_path / "cd")
    busy = [True]
    window.is_running = lambda: busy[0]  # the scan's result is queued until events run
    qtbot.waitUntil(lambda: not window.series_scan_running(), timeout=10_000)
    qtbot.wait(600)
    assert window.image is opened and window.series_picker is None
    busy[0] = False
    _pick_series(window, qtbot)
    qtbot.waitUntil(lambda: window.image is not opened, timeout=5_000)
    del window.is_running
    assert len(window.stack()) == 3


def test_a_late_series_listing_of_an_earlier_file_is_ignored(window, tmp_path, qtbot):
    from PIL import Image

    from ..test_io_series import make_series

    paths = make_series(tmp_path / "series", [0.0, 10.0, 20.0])
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "photo.png")
    assert window.open_file(paths[0])
    assert window.open_file(tmp_path / "photo.png")  # before the first listing has ended
    qtbot.waitUntil(lambda: not window.series_scan_running(), timeout=10000)
    QApplication.processEvents()
    assert window.stack() == [(tmp_path / "photo.png", 0)]
    assert window.image.source_path.name == "photo.png" and "slice" not in \
        window.image_header.text()


def test_page_keys_step_through_the_series_keeping_roi_and_window(window, tmp_path, qtbot,
                                                                   pydicom_file):
    from ..test_io_series import make_series

    paths = make_series(tmp_path / "series", [20.0, 0.0, 10.0])  # z order: 1, 2, 0
    assert window.open_file(paths[2])  # z = 10, the middle slice
    # the series is listed in the background: the slice shows at once, the stack follows
    assert window.image is not None and float(window.image.dataset.ImagePositionPatient[2]) == 10
    qtbot.waitUntil(lambda: len(window.stack()) == 3, timeout=10000)
    assert "slice 2/3" in window.image_header.text()
    window.set_roi((2, 3, 8, 8))
    window.set_window(15, 30)
    QTest.keyClick(window, Qt.Key_PageDown)
    assert float(window.image.dataset.ImagePositionPatient[2]) == 20.0
    assert "slice 3/3" in window.image_header.text()
    assert window.canvas.roi() == (2, 3, 8, 8) and window.window() == (15, 30)
    assert not window.step_slice(1)  # the end
    assert window.step_slice(-2)
    assert float(window.image.dataset.ImagePositionPatient[2]) == 0.0
    assert window.canvas.roi() == (2, 3, 8, 8)
    assert window.canvas.overlay_lines()["top_right"][-1].startswith("CT · Im ")
    # a multi-frame file steps through its frames
    assert window.open_file(pydicom_file("rtdose.dcm"))
    n = window.image.n_frames
    assert n > 1 and len(window.stack()) == n and window.image.frame == 0
    assert window.step_slice(1) and window.image.frame == 1
    assert f"frame 2/{n}" in window.image_header.text()


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


def test_run_bicubic_and_network(window, qtbot, network, run_job, resolver, tmp_path):
    _prepare(window, network)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    assert window.run()
    assert window.is_running() and not window.controls.run_button.isEnabled()
    assert window.controls.cancel_button.isEnabled()
    assert not window.run()  # a second click while running starts nothing
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60000)
    timer.stop()
    assert ticks, "the event loop must keep running during the job"
    result = window.last_result
    assert result is not None and not result.errors
    panels = window.comparison.panels()
    assert [p.data.key for p in panels] == ["source", "bicubic", network]
    x, y, w, h = TEST_ROI
    expected = (math.floor(h * TEST_SCALE + 0.5), math.floor(w * TEST_SCALE + 0.5))
    for p in panels[1:]:
        assert p.data.pixels.shape == expected
        assert np.isfinite(p.data.pixels).all()
        assert p.data.extent == (w, h)  # same physical scene rectangle in every panel
        assert p.data.overlay == f"SR ×2.5 {p.data.title} — computed, not acquired"
        assert p.view.transformation_mode() == Qt.FastTransformation
    assert panels[0].data.pixels.shape == (h, w)
    # the ROI was super-resolved in its context (the box's edges unseen by the network)
    in_context = resolver.upscale(window.image.pixels, TEST_SCALE, network, roi=TEST_ROI,
                                  window=result.request.window)
    alone = resolver.upscale(window.image.pixels[y:y + h, x:x + w], TEST_SCALE, network,
                             window=result.request.window)
    assert np.allclose(panels[2].data.pixels, in_context, atol=1e-3)
    assert not np.allclose(panels[2].data.pixels, alone, atol=1e-3)
    # the quality table has numbers for every method
    values = window.quality.numeric_values()
    assert set(values) == {"Bicubic", panels[2].data.title}
    for row in values.values():
        assert math.isfinite(_numbers(row["Data consistency PSNR (dB)"]))
        assert math.isfinite(_numbers(row["Sharpness (HU)"]))
        assert math.isfinite(_numbers(row["Time (s)"]))
    assert window.quality.table.rowCount() == 2
    # copy as TSV
    window.quality.copy_all()
    tsv = QApplication.clipboard().text()
    assert tsv.startswith("Method\t") and "Bicubic\t" in tsv and "fidelity" in tsv
    # … and saved as CSV with its context
    import csv

    saved = window.quality.save(tmp_path / "quality.csv")
    rows = list(csv.reader(saved.open(encoding="utf-8")))
    assert rows[0][0] == "Method" and [r[0] for r in rows[1:3]] == ["Bicubic",
                                                                     panels[2].data.title]
    extra = {r[0]: r[1] for r in rows[4:] if len(r) == 2}
    assert extra["scale"] == "×2.5" and "ROI" in extra["context"] and "fidelity" in extra["note"]
    assert window.controls.run_button.isEnabled()
    # results of other settings than the current ones are marked outdated, until they match
    assert window.comparison.stale() is None and "outdated" not in panels[1].title.text()
    window.set_roi((x + 1, y, w, h))
    window.controls.set_scale(3.0)
    assert window.comparison.stale() == "changed since this result: region of interest, " \
        "magnification"
    assert "outdated" in panels[1].title.text() and "Ctrl+R" in panels[1].title.toolTip()
    window.set_roi(TEST_ROI)
    window.controls.set_scale(TEST_SCALE)
    assert window.comparison.stale() is None and "outdated" not in panels[1].title.text()


def test_same_window_sync_and_views(window, qtbot, network, run_job):
    _prepare(window, network)
    run_job(window)
    cmp_ = window.comparison
    window.set_window(40, 400)
    assert cmp_.window() == (40, 400) and window.canvas.window() == (40, 400)
    # zoom one panel with the wheel: every panel gets the same transform and scene centre
    views = [p.view for p in cmp_.panels()]
    v = views[1]
    pos = v.viewport().rect().center()
    QApplication.sendEvent(v.viewport(), QWheelEvent(
        QPointF(pos), QPointF(v.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 360),
        Qt.NoButton, Qt.ControlModifier, Qt.NoScrollPhase, False))
    z = v.zoom()
    centre = v.scene_center()
    for other in views:
        assert other.zoom() == pytest.approx(z)
        c = other.scene_center()
        assert abs(c.x() - centre.x()) < 1 and abs(c.y() - centre.y()) < 1
    # derived views
    window.controls.set_view_mode("difference")
    assert cmp_.mode() == "difference"
    assert cmp_.derived(cmp_.panel(network).data, "difference").shape == \
        cmp_.panel(network).data.pixels.shape
    assert cmp_.panel("bicubic").view.message() == "Baseline"
    window.controls.set_view_mode("edges")
    assert cmp_.panel("source").view.message() == ""
    label = cmp_.panel(network).view.overlay_text()
    assert label.startswith("[Laplacian edges] SR ×2.5") and "computed, not acquired" in label
    window.controls.set_view_mode("residual")
    assert cmp_.panel(network).data.residual.shape == TEST_ROI[2:][::-1]
    window.controls.set_view_mode("image")
    # the loupe follows the spot in every panel
    window.controls.loupe_box.setChecked(True)
    _move(views[0].viewport(), views[0].mapFromScene(QPointF(20, 20)))
    assert cmp_.loupe_position() is not None
    assert abs(cmp_.loupe_position().x() - 20) < 1
    # a panel's value readout is in the result's own pixels
    info = views[1].value_at(QPointF(10.0, 10.0))
    assert info[1] == math.floor(10 * TEST_SCALE) and info[2] == math.floor(10 * TEST_SCALE)


def test_bias_and_difference_without_a_bicubic_panel(window, network, run_job):
    """The bias column and the difference view measure against bicubic even when only a
    network is ticked (bicubic is run as a hidden baseline, in the same context)."""
    _prepare(window, network)
    window.controls.set_checked_methods([network])
    result = run_job(window)
    assert result is not None and not result.errors
    cmp_ = window.comparison
    assert [p.data.key for p in cmp_.panels()] == ["source", network]
    assert [r.method for r in result.report.rows] == [network]
    assert result.baseline is not None and result.baseline.shape == \
        cmp_.panel(network).data.pixels.shape
    bias = result.report.rows[0].bias
    assert bias is not None and bias == pytest.approx(
        float(cmp_.panel(network).data.pixels.mean() - result.baseline.mean()), abs=1e-3)
    window.controls.set_view_mode("difference")
    diff = cmp_.derived(cmp_.panel(network).data, "difference")
    assert diff is not None and np.allclose(diff, cmp_.panel(network).data.pixels
                                            - result.baseline)
    assert cmp_.panel(network).view.message() == ""
    window.controls.set_view_mode("image")


def test_simulate_low_resolution_gives_psnr_ssim(window, network, run_job):
    _prepare(window, network, simulate=True)
    result = run_job(window)
    assert result is not None and result.reference is not None
    keys = [p.data.key for p in window.comparison.panels()]
    assert keys == ["input", "reference", "bicubic", network]
    assert window.comparison.panel(network).data.overlay.endswith(
        "computed, not acquired (from a simulated LR input)")
    hl = math.floor(TEST_ROI[3] / TEST_SCALE)
    assert result.input_pixels.shape[0] == hl
    values = window.quality.numeric_values()
    for row in values.values():
        assert math.isfinite(_numbers(row["PSNR (dB)"]))
        assert -1 <= _numbers(row["SSIM"]) <= 1
    assert "simulated" in window.quality.note.text()


def test_cancel(window, qtbot, network):
    _prepare(window, network)
    assert window.run()
    window.cancel()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60000)
    assert window.last_result is None
    assert window.comparison.panels() == []
    assert window.controls.job_label.text() == "cancelled"
    assert window.controls.run_button.isEnabled()


def test_progress_in_tiles_across_methods(window, qtbot, network):
    """One bar for the whole run, measured in the engine's tiles (8 runs per tile in best
    quality), never going back, with the time left once a network tile is done."""
    _prepare(window, network)
    window.controls.ensemble_box.setChecked(True)
    values, texts = [], []
    window.controls.progress.valueChanged.connect(values.append)
    timer = QTimer()
    timer.timeout.connect(lambda: texts.append(window.controls.job_label.text()))
    timer.start(2)
    assert window.run()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=120000)
    timer.stop()
    assert window.last_result is not None
    run = values[values.index(0) if 0 in values else 0:]
    assert run == sorted(run), run                  # never backwards
    assert run[-1] == 100
    assert len(set(run)) >= 6, run                  # more steps than methods: tiles count
    assert any("s left" in t and "tile" in t for t in texts), set(texts)


def test_open_folder_picker_png_slices_and_folder_argument(window, tmp_path, qtbot):
    """A folder given where a file is expected (``rmisr-viewer <folder>``) opens as File ▸ Open
    folder does; the picker opens the series chosen (Cancel keeps the image); a folder of PNG
    slices steps through them in natural order."""
    from PIL import Image

    from app.__main__ import _parser

    from ..test_io_series import make_series

    assert "folder" in _parser().format_help()
    make_series(tmp_path / "cd" / "A", [0.0, 10.0, 20.0])
    make_series(tmp_path / "cd" / "B", [5.0, 15.0])
    before = window.image
    assert window.open_file(tmp_path / "cd")  # a folder, not "… is a folder" any more
    picker = _pick_series(window, qtbot, row=1)
    assert [picker.table.item(r, 3).text() for r in range(2)] == ["3", "2"]
    assert picker.table.item(0, 0).text() == "CT"
    assert picker.table.item(0, 1).text() == "Synthetic geometry"
    qtbot.waitUntil(lambda: window.image is not before, timeout=10_000)
    assert len(window.stack()) == 2 and float(window.image.dataset.ImagePositionPatient[2]) == 5
    shown = window.image
    assert window.open_folder(tmp_path / "cd")
    qtbot.waitUntil(lambda: window.series_picker is not None, timeout=10_000)
    window.series_picker.reject()
    qtbot.wait(50)
    assert window.image is shown and window.series_picker is None
    pngs = tmp_path / "pngs"
    pngs.mkdir()
    for k in (10, 2, 1):
        Image.fromarray(np.full((32, 40), 20 * k, np.uint8)).save(pngs / f"slice_{k}.png")
    assert window.open_file(pngs)
    qtbot.waitUntil(lambda: window.image is not shown, timeout=10_000)
    assert [p.name for p, _ in window.stack()] == ["slice_1.png", "slice_2.png", "slice_10.png"]
    assert window.step_slice(1) and window.image.source_path.name == "slice_2.png"
    assert window.step_slice(1) and window.image.source_path.name == "slice_10.png"
    assert not window.step_slice(1)


def test_focus_mode_and_actual_pixels(window, qtbot, network, run_job):
    """Double-click a result panel: it alone fills the comparison area (fitted, larger);
    double-click again or Esc: every panel again. View ▸ Actual pixels shows 1:1."""
    _prepare(window, network)
    run_job(window)
    comp = window.comparison
    panel = comp.panel(network)
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


def test_slice_range_default_method_and_notes_listed_once():
    from app.ui.slices import default_slice_method, slice_note_lines

    assert default_slice_method(["bicubic", "srcnn", "rmisr-bl", "rmisr-vp"]) == "rmisr-vp"
    assert default_slice_method({"bicubic": "B", "srcnn": "S", "rmisr-bl": "R"}) == "rmisr-bl"
    assert default_slice_method(["bicubic", "srcnn"]) == "srcnn"
    assert default_slice_method([]) == ""
    clip = "0 computed value(s) below -1024 and {} above 3071, … were clipped to it"
    per = [(f"s{k}.dcm", [clip.format(k)]) for k in range(1, 13)] + [("s13.dcm", [])]
    lines = slice_note_lines(per)
    assert lines == [f"s{k}.dcm: {clip.format(k)}" for k in range(1, 13)]  # each once, all
    same = [(f"s{k}.dcm", ["flat image: bicubic used"]) for k in range(3)]
    assert slice_note_lines(same) == ["all 3 slices: flat image: bicubic used"]


def test_slice_range_result_box_lists_every_line(qtbot):
    from app.ui.slices import SliceRangeResultDialog

    lines = [f"s{k}.dcm: note {k}" for k in range(40)]
    box = SliceRangeResultDialog("Super-resolved 40 slices", "40 of 40 slices…", lines, True)
    qtbot.addWidget(box)
    opened = []
    box.openRequested.connect(lambda: opened.append(1))
    box.show()
    assert box.lines() == lines  # the last entry too, in a scrolling list
    box.open_button.click()
    assert opened == [1]


def _white_bar_at(view, length):
    """Whether a white scale-bar line of ``length`` px lies at the bottom left of a panel."""
    from PyQt5.QtGui import QColor

    img = view.viewport().grab().toImage()
    vp = view.viewport().rect()
    x = int(vp.left() + 8 + length / 2)
    return any(QColor(img.pixel(x, y)).name() == "#ffffff"
               for y in range(vp.bottom() - 6 - 3, vp.bottom() - 6 + 3))


def test_difference_readout_and_scale_bars(window, qtbot, network, run_job):
    """In the difference view the hover readout gives the difference to bicubic (not the
    result's HU); the image and every panel draw a scale bar in mm from the pixel spacing and
    their zoom (a result pixel is the spacing ÷ the scale)."""
    _prepare(window, network)
    run_job(window)
    panel = window.comparison.panel(network)
    view = panel.view
    centre = view.viewport().rect().center()
    sp = view.mapToScene(centre)
    title, col, row, value = view.value_at(sp)
    assert title == panel.data.title and value == panel.data.pixels[row, col]
    window.controls.set_view_mode("difference")
    qtbot.waitUntil(lambda: window.comparison.mode() == "difference", timeout=2000)
    _move(view.viewport(), centre)
    base = window.comparison.panel("bicubic").data.pixels
    diff = float(panel.data.pixels[row, col]) - float(base[row, col])
    text = window.cursor_label.text()
    assert text.startswith(f"{panel.data.title} − bicubic: x {col}, y {row} · ")
    shown = float(text.rsplit("· ", 1)[1].split()[0].replace(",", "").replace("+", ""))
    assert shown == pytest.approx(diff, abs=0.06)
    window.controls.set_view_mode("image")
    # scale bars: the image and every panel, in mm, from the spacing and the zoom
    rs, cs = window.image.pixel_spacing
    bar = window.canvas.scale_bar()
    assert bar is not None and bar[2].endswith(" mm")
    assert bar[1] == pytest.approx(bar[0] * window.canvas.zoom() / cs)
    for p in window.comparison.panels():
        pb = p.view.scale_bar()
        assert pb is not None and pb[2].endswith(" mm")
        assert pb[1] == pytest.approx(pb[0] * p.view.zoom() / cs)
        assert pb[1] <= p.view.viewport().width() * 0.25
    # the result's pixel (spacing ÷ scale) covers that many screen px per mm: same physical size
    h, w = panel.data.pixels.shape[:2]
    result_mm = cs * panel.data.extent[0] / w
    assert result_mm == pytest.approx(cs / TEST_SCALE, rel=0.02)
    qtbot.wait(50)
    assert _white_bar_at(view, view.scale_bar()[1])
    before = view.px_per_mm()
    window.comparison.zoom_view(view, 2.0)
    assert view.px_per_mm() == pytest.approx(2 * before, rel=1e-6)
    assert view.scale_bar()[1] == pytest.approx(view.scale_bar()[0] * view.zoom() / cs)


def test_quality_headers_never_cut_and_every_row_shown(window, qtbot, network, run_job):
    """At 1024×700 the quality table's headers keep their whole text (the table scrolls
    sideways instead) and the table is given the height to show every method's row."""
    window.resize(1024, 700)
    _prepare(window, network)
    run_job(window)
    table = window.quality.table
    hh = table.horizontalHeader()

    def headers_whole():
        for j in range(table.columnCount()):
            lines = table.horizontalHeaderItem(j).text().splitlines()
            if hh.sectionSize(j) < max(hh.fontMetrics().horizontalAdvance(t) for t in lines):
                return False
        return True

    qtbot.waitUntil(headers_whole, timeout=3000)
    qtbot.wait(200)  # the splitter gives the table its rows after the layout settles
    top, bottom = window.main_splitter.sizes()
    assert window.quality.rows_shortfall() == 0 or bottom >= int(0.4 * (top + bottom)) - 1


def test_ctrl_drag_measures_on_a_result_panel(window, qtbot, network, run_job):
    """Ctrl+drag on a result panel measures a distance (mm from the source's spacing — a
    result pixel is the spacing ÷ the scale — and the panel's own pixels) instead of panning;
    Esc clears it."""
    _prepare(window, network)
    run_job(window)
    panel = window.comparison.panel(network)
    view, vp = panel.view, panel.view.viewport()
    hbar, vbar = view.horizontalScrollBar().value(), view.verticalScrollBar().value()
    a, b = QPoint(20, 30), QPoint(80, 30)
    QTest.mousePress(vp, Qt.LeftButton, Qt.ControlModifier, a)
    _move(vp, QPoint(50, 30), Qt.LeftButton)
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.ControlModifier, b)
    assert (view.horizontalScrollBar().value(), view.verticalScrollBar().value()) == (hbar, vbar)
    key, p0, p1 = window.comparison.measurement()
    assert key == network
    dx = p1.x() - p0.x()
    assert dx == pytest.approx(60 / view.zoom(), rel=0.05) and p1.y() == pytest.approx(p0.y())
    rs, cs = window.image.pixel_spacing
    h, w = panel.data.pixels.shape[:2]
    mm = dx * cs
    result_px = dx * w / panel.data.extent[0]
    assert result_px * (cs * panel.data.extent[0] / w) == pytest.approx(mm)  # spacing ÷ scale
    text = window.comparison.measurement_text()
    assert text == f"{mm:.1f} mm · {result_px:.1f} px of {panel.data.title}"
    assert f"Distance: {text}" in window.statusBar().currentMessage()
    view.setFocus()
    QTest.keyClick(view, Qt.Key_Escape)
    assert window.comparison.measurement() is None
    # a plain drag still pans
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, a)
    _move(vp, b, Qt.LeftButton)
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, b)
    assert window.comparison.measurement() is None


def test_export_panels_and_sheet(window, tmp_path, network, run_job):
    _prepare(window, network)
    run_job(window)
    x, y, w, h = TEST_ROI
    shape = (math.floor(h * TEST_SCALE + 0.5), math.floor(w * TEST_SCALE + 0.5))
    data = window.comparison.panel(network).data
    png = window.export_panel(network, tmp_path / "net.png")
    tif = window.export_panel(network, tmp_path / "net.tif")
    dcm = window.export_panel(network, tmp_path / "net.dcm")
    assert png and tif and dcm, window.last_message()
    shown = read_image(png).pixels  # the picture, then the "computed" caption strip below it
    assert shown.shape[0] > shape[0] and shown.shape[1] == max(shape[1], 240)
    t = read_image(tif)
    assert t.pixels.shape == shape
    assert np.allclose(t.pixels, np.round(data.pixels), atol=1.0)
    d = read_image(dcm)
    assert d.kind == "dicom" and d.pixels.shape == shape
    assert np.allclose(d.pixels, np.clip(np.round(data.pixels), *d.stored_range), atol=1.0)
    src = window.image.pixel_spacing
    assert d.pixel_spacing == pytest.approx((src[0] * h / shape[0], src[1] * w / shape[1]),
                                            rel=1e-4)
    assert "DERIVED" in list(d.dataset.ImageType)
    # a second export of this result joins its derived series; another method starts its own
    again = read_image(window.export_panel(network, tmp_path / "net2.dcm"))
    assert again.dataset.SeriesInstanceUID == d.dataset.SeriesInstanceUID
    assert again.dataset.SOPInstanceUID != d.dataset.SOPInstanceUID
    bic = read_image(window.export_panel("bicubic", tmp_path / "bicubic.dcm"))
    assert bic.dataset.SeriesInstanceUID not in (d.dataset.SeriesInstanceUID,
                                                 window.image.dataset.SeriesInstanceUID)
    # computed values the file's format cannot store are clipped, and the user is told
    above = int(np.sum(np.round(data.pixels) > d.stored_range[1]))
    data.pixels[0, :3] = d.stored_range[1] + 900
    box_before = window.message_box()
    assert window.export_panel(network, tmp_path / "clipped.dcm")
    # said in the status bar and the non-modal Notes area, never a warning dialog
    assert window.message_box() is box_before and (box_before is None or not box_before.isVisible())
    assert "clipped to it" in window.statusBar().currentMessage()
    assert f"{above + 3} above {d.stored_range[1]:g}, the range" in window.notes.plain_text()
    assert "clipped.dcm" in window.notes.plain_text() and not window.notes.isVisible()
    assert window.notes_button.isVisibleTo(window)
    assert window.notes_button.text().startswith("Notes (")
    window.notes_button.click()
    assert window.notes.isVisible() and not window.notes.isModal()
    window.notes.hide()
    # the source panel: PNG/TIFF yes, DICOM refused with a message
    assert read_image(window.export_panel("source", tmp_path / "src.tif")).pixels.shape == (h, w)
    assert read_image(window.export_panel("source", tmp_path / "src.png")).pixels.shape == (h, w)
    assert window.export_panel("source", tmp_path / "src.dcm") is None
    assert "not a super-resolved result" in window.last_message()
    sheet = window.export_sheet(tmp_path / "sheet.png")
    assert sheet is not None and read_image(sheet).width > 3 * 100
    # the sheet carries the run's quality table: drawn below the panels and as PNG text
    from PIL import Image

    from app.ui import export as export_mod

    with Image.open(sheet) as im:
        described = im.info.get("Description", "")
    report = window.last_result.report
    assert report.to_tsv() in described and window.quality.context() in described
    for row in report.table()[1]:
        assert "\t".join(row) in described
    items = [(d, window.comparison.render_panel(d)[0]) for d in window.comparison.panel_data()]
    bare = export_mod.render_sheet(items, "header")
    full = export_mod.render_sheet(items, "header", quality=report, quality_context="ctx")
    assert bare.text("Description") == "" and full.text("Description").startswith("ctx\n")
    assert full.width() == bare.width()
    assert full.height() > bare.height() + (2 + len(report.rows)) * 12
    alone = export_mod.render_sheet(items[:1], "header")  # one panel: narrower than the table
    assert export_mod.render_sheet(items[:1], "header", quality=report).width() > alone.width()
    head = export_mod.sheet_header("x.dcm", (0, 0, 8, 8), 2, (40, 400), "HU", "Image", False,
                                   "SIGMOID")
    assert "display W 400 / L 40 HU (sigmoid)" in head
    # the sheet names the patient (ID) and the orientation of the slice
    assert "patient ID" not in head and "orientation" not in head
    head = export_mod.sheet_header("x.dcm", (0, 0, 8, 8), 2, (40, 400), "HU", "Image", False,
                                   patient_id="GEO-1", orientation=(1, 0, 0, 0, 1, 0))
    assert "patient ID GEO-1" in head.splitlines()[0]
    assert "orientation axial, left R right L top A bottom P" in head
    assert export_mod.orientation_text((0, 1, 0, 0, 0, -1)).startswith("sagittal")
    assert export_mod.orientation_text((1, 0, 0, 0, 0, -1)).startswith("coronal")
    header_text = ""
    real = export_mod.render_sheet

    def spy(items, header, **kw):
        nonlocal header_text
        header_text = header
        return real(items, header, **kw)

    export_mod.render_sheet = spy
    try:
        assert window.export_sheet(tmp_path / "sheet2.png")
    finally:
        export_mod.render_sheet = real
    ds = window.image.dataset
    assert f"patient ID {ds.PatientID}" in header_text
    if getattr(window.image, "image_orientation", None) is not None:
        assert "orientation axial" in header_text


def test_diagnostics(window, network, run_job, resolver):
    _prepare(window, network)
    run_job(window)
    text = window.copy_diagnostics()
    assert QApplication.clipboard().text() == text
    for key in ("python:", "torch:", "PyQt5:", "pydicom:", "numpy:", "device in use: cpu"):
        assert key in text
    rec = resolver.weights_record(network, TEST_SCALE)
    assert rec.sha256 in text
    assert f"precision (auto on this device): {resolver.precision}" in text
    assert f"precision {resolver.precision}," in text  # the network's row of the last run
    assert window.last_result.report.rows[-1].precision == resolver.precision


def test_read_warnings_stay_visible_in_the_header_and_diagnostics(window, tmp_path):
    from ..test_io_writers import make_ct

    path = make_ct(tmp_path / "slope0.dcm", np.zeros((16, 16)), ipp=(0, 0, 0),
                   iop=(1, 0, 0, 0, 1, 0), spacing=(1, 1), RescaleSlope=0)
    assert window.open_file(path)
    assert window.image_header.text().startswith("⚠")
    assert "invalid Rescale" in window.image_header.toolTip()
    text = window.copy_diagnostics()
    assert "read warning: invalid Rescale" in text and "spacing from PixelSpacing" in text


def test_a_sigmoid_voi_function_is_shown_as_the_file_asks(window, tmp_path, network, run_job):
    """VOILUTFunction SIGMOID: the canvas and the result panels use it for every window, and the
    overlay says so next to W/L."""
    from app.io import apply_window


    from ..test_io_writers import make_ct

    hu = np.linspace(-300, 400, 64 * 64).reshape(64, 64)
    path = make_ct(tmp_path / "sig.dcm", hu, ipp=(0, 0, 0), iop=(1, 0, 0, 0, 1, 0),
                   spacing=(1, 1), VOILUTFunction="SIGMOID")
    assert window.open_file(path)
    window.set_window(50, 300)
    assert window.canvas.overlay_lines()["bottom_left"][0] == "W 300 / L 50 HU (sigmoid)"
    shown = _grey(window.canvas.pixmap().toImage())
    np.testing.assert_array_equal(shown, apply_window(window.image.pixels, 50, 300,
                                                      function="SIGMOID"))
    assert not np.array_equal(shown, apply_window(window.image.pixels, 50, 300))
    window.canvas.set_roi((8, 8, 32, 32))
    window.controls.set_checked_methods(["bicubic"])
    window.controls.set_scale(2)
    run_job(window)
    data = next(d for d in window.comparison.panel_data() if d.method == "bicubic")
    np.testing.assert_array_equal(_grey(window.comparison.render_panel(data)[0].toImage()),
                                  apply_window(data.pixels, 50, 300, function="SIGMOID"))


def test_a_voi_lut_is_shown_until_another_window_is_chosen(window, tmp_path):
    from app.io import apply_window

    from ..test_io_read import _cr_with_voi_lut


    table = np.round(4095 * np.linspace(0, 1, 3000) ** 0.5)
    assert window.open_file(_cr_with_voi_lut(tmp_path / "cr.dcm", lut_data=table,
                                             descriptor=(3000, 500, 12)))
    lut = window.image.voi_lut
    assert window.canvas.overlay_lines()["bottom_left"][0] == "VOI LUT GAMMA 0.5"
    np.testing.assert_array_equal(_grey(window.canvas.pixmap().toImage()),
                                  lut.apply(window.image.pixels))
    window.set_window(1500, 2000)  # a W/L drag or a preset: a linear window from then on
    assert window.canvas.overlay_lines()["bottom_left"][0] == "W 2000 / L 1500"
    np.testing.assert_array_equal(_grey(window.canvas.pixmap().toImage()),
                                  apply_window(window.image.pixels, 1500, 2000))
    window.reset_window()  # key 0: the file's own display again
    assert window.canvas.overlay_lines()["bottom_left"][0] == "VOI LUT GAMMA 0.5"
    # stepping to a slice with its own LUT shows that one (not the first one's range as W/L)
    other = _cr_with_voi_lut(tmp_path / "cr2.dcm", lut_data=table, descriptor=(3000, 700, 12))
    assert window.open_files([tmp_path / "cr.dcm", other])
    window.step_slice(1)
    assert window.image.source_path == other
    assert window.canvas.window() == window.image.voi_lut.window == (2200.0, 3000.0)
    assert window.canvas.overlay_lines()["bottom_left"][0] == "VOI LUT GAMMA 0.5"


def test_unavailable_methods_are_greyed_per_scale(window, monkeypatch, resolver, network):
    monkeypatch.setattr(resolver, "available", lambda m, s: m == "bicubic" or s <= 3.0)
    window.controls.set_checked_methods(["bicubic", network])
    window.controls.set_scale(3.5)
    box = window.controls.method_boxes[network]
    assert not box.isEnabled() and "no trained weights for ×3.5" in box.toolTip()
    assert f"served at {resolver.manifest.coverage(network)}" in box.toolTip()  # what the files cover
    assert window.controls.selected_methods() == ["bicubic"]
    window.controls.set_scale(2.0)
    assert box.isEnabled() and window.controls.selected_methods() == ["bicubic", network]


def test_errors_are_non_modal_messages(window, tmp_path):
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"not an image at all" * 10)
    assert not window.open_file(bad)
    box = window.message_box()
    assert box is not None and box.isVisible() and box.windowModality() == Qt.NonModal
    assert "broken.dcm" in window.last_message()
    assert "Cannot open" in window.statusBar().currentMessage()
    assert window.image is not None and window.image.source_path == SAMPLE_PATH  # still open
    assert not window.open_file(tmp_path / "missing.png")


def test_drop_file_and_recent_and_settings(window, tmp_path, settings, resolver, qtbot):
    copy = tmp_path / "dropped.dcm"
    shutil.copy(SAMPLE_PATH, copy)
    vp = window.canvas.viewport()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copy))])
    pos = vp.rect().center()
    enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(vp, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(vp, QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton,
                                          Qt.NoModifier))
    assert window.image.source_path.name == "dropped.dcm"
    assert window.recent_files()[0] == str(copy.resolve())
    assert window.recent_menu.actions()[0].text() == "dropped.dcm"
    window.controls.set_scale(3.5)
    window.controls.set_checked_methods(["bicubic"])
    window.top_splitter.setSizes([700, 250])  # the user moved the splitter
    moved = window.top_splitter.sizes()
    window.close()
    assert float(settings.value("scale")) == pytest.approx(3.5)
    assert settings.value("lastDir") == str(tmp_path.resolve())
    from app.ui.main_window import MainWindow

    again = MainWindow(resolver=resolver, settings=settings, load_engine=False)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    # the saved 1280×800 is reduced to this (800×600) screen: the split keeps its proportion
    avail = QApplication.primaryScreen().availableGeometry()
    assert again.height() <= avail.height()
    sizes = again.top_splitter.sizes()
    assert sizes[0] / sum(sizes) == pytest.approx(moved[0] / sum(moved), abs=0.02)
    assert moved != [360, 600]  # not the built-in split
    assert again.controls.scale() == pytest.approx(3.5)
    assert again.controls.checked_methods() == ["bicubic"]
    assert again.recent_files()[0] == str(copy.resolve())


def test_a_too_large_result_is_refused_and_a_large_one_asked_first(window, monkeypatch,
                                                                     run_job):
    import app.io.limits
    import app.session

    window.controls.set_checked_methods(["bicubic"])
    window.controls.set_scale(5.0)
    window.whole_image()  # 512×512 → 2560×2560
    monkeypatch.setattr(app.io.limits, "MAX_OUTPUT_PIXELS", 2000 * 2000)
    assert not window.run() and not window.is_running()
    assert "would be 2560×2560 px" in window.last_message()
    monkeypatch.setattr(app.io.limits, "MAX_OUTPUT_PIXELS", 150_000_000)
    monkeypatch.setattr(app.session, "CONFIRM_OUTPUT_PIXELS", 1000)
    asked = []
    monkeypatch.setattr(window, "confirm", lambda title, text: asked.append(text) or False)
    window.set_roi(TEST_ROI)  # 48×48 ×5 → 240×240 = 57,600 px > 1000
    assert not window.run() and not window.is_running() and len(asked) == 1
    assert "240×240 px" in asked[0]
    monkeypatch.setattr(window, "confirm", lambda title, text: asked.append(text) or True)
    run_job(window)
    assert len(asked) == 2 and window.last_result is not None


def test_closing_waits_for_work_that_has_not_stopped(window, qtbot, monkeypatch):
    import threading

    import app.ui.main_window as mw
    from PyQt5.QtCore import QThread

    release = threading.Event()

    class Stubborn(QThread):  # a job that takes a while to notice its cancel
        def cancel(self):
            pass

        def run(self):
            release.wait(10)

    monkeypatch.setattr(mw, "CLOSE_WAIT_MS", 10)
    job = Stubborn()
    window.runs.job = job
    job.start()
    window.close()
    assert window.isVisible() and "closes when it has stopped" in \
        window.statusBar().currentMessage()
    window.runs.job = None  # what the end of a real job does
    release.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert job.isFinished()


def test_dropping_several_files_steps_through_them_and_missing_recents_are_disabled(window,
                                                                                    tmp_path):
    a, b = tmp_path / "a.dcm", tmp_path / "b.png"
    shutil.copy(SAMPLE_PATH, a)
    from PIL import Image
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(b)
    vp = window.canvas.viewport()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(a)), QUrl.fromLocalFile(str(b))])
    QApplication.sendEvent(vp, QDragEnterEvent(vp.rect().center(), Qt.CopyAction, mime,
                                               Qt.LeftButton, Qt.NoModifier))
    QApplication.sendEvent(vp, QDropEvent(QPointF(vp.rect().center()), Qt.CopyAction, mime,
                                          Qt.LeftButton, Qt.NoModifier))
    assert window.image.source_path.name == "a.dcm" and len(window.stack()) == 2
    assert "slice 1/2" in window.image_header.text()
    assert window.step_slice(1) and window.image.source_path.name == "b.png"
    a.unlink()
    window.opening.add_recent(b)  # rebuilds the menu: a.dcm is gone
    texts = {act.text(): act.isEnabled() for act in window.recent_menu.actions() if act.text()}
    assert texts["a.dcm (missing)"] is False and texts["b.png"] is True


def test_ctrl_r_runs(window, qtbot, network):
    _prepare(window, network)
    window.controls.set_checked_methods(["bicubic"])
    window.activateWindow()
    window.act_run.trigger()
    assert window.is_running() or window.last_result is not None
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30000)
    assert window.act_run.shortcut().toString() == "Ctrl+R"
    assert [p.data.key for p in window.comparison.panels()] == ["source", "bicubic"]


def test_ui_does_no_tensor_maths():
    for path in (ROOT / "app" / "ui").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import torch" not in text and "from torch" not in text, path


def test_window_presets_are_data(window, tmp_path):
    lung = dict(window.presets())["Lung"]
    window.apply_preset([n for n, _ in window.presets()].index("Lung"))
    assert window.window() == pytest.approx(lung) and window.comparison.window() == lung
    second = window.presets()[1][1]
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key_2)  # keys 1–9 choose a preset, 0 the file's window
    assert window.window() == pytest.approx(second)
    QTest.keyClick(window.canvas, Qt.Key_0)
    assert window.window() == pytest.approx(window.image.window)
    spin = window.controls.scale_spin  # digits typed into a field stay there
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "3")
    spin.interpretText()
    assert spin.value() == pytest.approx(3.0)
    assert window.window() == pytest.approx(window.image.window)
    custom = tmp_path / "presets.json"
    custom.write_text('{"presets": [{"name": "Liver", "center": 30, "width": 150, '
                      '"modalities": ["CT"]}]}', encoding="utf-8")
    window.set_presets_path(custom)
    assert [n for n, _ in window.presets() if not n.startswith("File:")] == ["Liver"]
    assert window.settings.value("presetsPath") == str(custom)
    custom.write_text("{broken", encoding="utf-8")
    window.set_presets_path(custom)
    assert "not valid JSON" in window.last_message()


def test_colour_and_16_bit_rasters(window, tmp_path, run_job):
    from PIL import Image

    rng = np.random.default_rng(1)
    rgb = (rng.random((60, 70, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(tmp_path / "colour.png")
    assert window.open_file(tmp_path / "colour.png")
    window.controls.set_checked_methods(["bicubic"])
    window.controls.set_scale(2.5)
    window.set_roi((5, 5, 40, 30))
    result = run_job(window)
    assert result.results[0].pixels.shape == (75, 100, 3)
    window.controls.set_view_mode("edges")
    window.controls.set_view_mode("difference")
    window.controls.set_view_mode("image")
    grey16 = (rng.random((50, 50)) * 4000).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    assert window.open_file(tmp_path / "grey16.png")
    assert window.image.pixels.max() > 255
    window.set_roi((0, 0, 50, 50))
    window.controls.simulate_box.setChecked(True)
    assert run_job(window).report.has_reference


def test_an_engine_note_travels_into_the_derived_file(tmp_path):
    """A result whose engine run left a note (a flat image got bicubic pixels under a network's
    name) carries it into the derived DICOM's DerivationDescription."""
    from types import SimpleNamespace

    from app.ui import export as export_mod
    from app.ui.panels import PanelData

    source = read_image(SAMPLE_PATH)
    info = SimpleNamespace(weights_sha256="0" * 64, notes=["flat image: bicubic used"])
    data = PanelData("rmisr-bl", "RMISR-BL", np.zeros((20, 20), np.float32), (10.0, 10.0),
                     kind="sr", method="rmisr-bl", scale=2.0, info=info)
    written = export_mod.export_panel(tmp_path / "flat.dcm", data, source, (0, 0, 10, 10),
                                      source.window)
    assert "flat image: bicubic used" in read_image(written.path).dataset.DerivationDescription


def test_super_resolve_the_region_over_slices(window, tmp_path, network, qtbot):
    """Process ▸ Super-resolve region over slices: one method on the same ROI of a range of the
    series' slices, written as one derived DICOM series (or labelled PNGs); existing files are not
    replaced unless asked; a bad range is refused; cancel keeps whole files only."""
    import pydicom
    from PIL import Image

    from app.ui.slices import SliceRangeChoice

    from ..test_io_series import make_series

    paths = make_series(tmp_path / "series", [20.0, 0.0, 10.0, 30.0])
    assert window.open_file(paths[0])  # z = 20; its series is listed in the background
    qtbot.waitUntil(lambda: len(window.stack()) == 4, timeout=10_000)
    window.canvas.set_roi((2, 3, 8, 6))
    window.controls.set_scale(2)
    out = tmp_path / "out"
    assert window.act_slices.isEnabled()
    assert window.super_resolve_slices(SliceRangeChoice(2, 4, network, "dcm", out))
    assert not window.act_slices.isEnabled()  # one job at a time
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    files = sorted(out.iterdir())
    assert len(files) == 3 and all(f.suffix == ".dcm" for f in files)
    sets = [pydicom.dcmread(f) for f in files]
    assert len({d.SeriesInstanceUID for d in sets}) == 1  # one derived series
    assert sets[0].SeriesInstanceUID != window.image.dataset.SeriesInstanceUID
    assert sorted(float(d.ImagePositionPatient[2]) for d in sets) == [10.0, 20.0, 30.0]
    assert all((d.Rows, d.Columns) == (12, 16) and "DERIVED" in list(d.ImageType) for d in sets)
    assert "3 of 3 slices" in window.statusBar().currentMessage()
    assert "one derived series" in window.statusBar().currentMessage()
    box = window.slices_result  # non-modal result box offering the derived series
    assert box is not None and box.isVisible() and not box.isModal()
    assert box.open_button.isVisibleTo(box)
    box.open_button.click()
    assert len(window.stack()) == 3 and window.image.source_path in files
    assert "DERIVED" in list(window.image.dataset.ImageType)
    assert window.open_file(paths[0])  # back to the source series
    qtbot.waitUntil(lambda: len(window.stack()) == 4, timeout=10_000)

    again = SliceRangeChoice(2, 4, network, "dcm", out)
    assert not window.super_resolve_slices(again, overwrite=False)
    assert "3 of the 3 files exist" in window.last_message() and "nothing was written" in \
        window.last_message()
    assert not window.super_resolve_slices(SliceRangeChoice(3, 9, network, "dcm", out))
    assert "not within 1–4" in window.last_message()
    assert not window.super_resolve_slices(SliceRangeChoice(1, 1, "no-such-method", "dcm", out))
    assert "not available" in window.last_message()

    pngs = tmp_path / "png"
    assert window.super_resolve_slices(SliceRangeChoice(1, 2, network, "png", pngs))
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    shot = sorted(pngs.iterdir())
    assert len(shot) == 2
    with Image.open(shot[0]) as im:
        assert "computed, not acquired" in im.text["Description"]

    # one series in two folders with the same file names: the names get the slice number
    twin = tmp_path / "twin"
    uid = window.image.dataset.SeriesInstanceUID
    make_series(twin / "a", [0.0, 10.0], uid=uid)
    make_series(twin / "b", [20.0, 30.0], uid=uid)
    assert window.open_folder(twin)
    qtbot.waitUntil(lambda: len(window.stack()) == 4 and not window.series_scan_running(),
                    timeout=10_000)
    window.canvas.set_roi((2, 3, 8, 6))
    assert window.super_resolve_slices(SliceRangeChoice(1, 4, network, "tiff", tmp_path / "tw"))
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    names = sorted(f.name for f in (tmp_path / "tw").iterdir())
    assert len(names) == 4 and names[0].startswith("s0001_") and names[3].startswith("s0004_")

    # cancelled before the first slice (the engine is held busy): nothing half-written
    held = tmp_path / "held"
    with window.engine.held():
        assert window.super_resolve_slices(SliceRangeChoice(1, 4, network, "tiff", held))
        window.cancel()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    assert "Stopped: 0 of 4 slices" in window.slices_result.summary.text()
    assert not window.slices_result.open_button.isVisibleTo(window.slices_result)
    assert list(held.iterdir()) == []


def _png_image(path, seed=0):
    from PIL import Image
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (64, 64), dtype=np.uint8)).save(
        path)
    return path


def test_the_comparison_sheet_never_replaces_an_opened_image(window, tmp_path, run_job):
    """A name without .png still names the source once .png is added; another slice of the
    stack is a source too; a .jpg name gets .png (the content is PNG)."""
    a, b = _png_image(tmp_path / "a.png"), _png_image(tmp_path / "scan.png", 1)
    before = {p: p.read_bytes() for p in (a, b)}
    assert window.open_files([a, b]) and window.step_slice(1)
    window.controls.set_checked_methods(["bicubic"])
    window.set_roi((10, 10, 32, 32))
    run_job(window)
    assert window.export_sheet(tmp_path / "scan") is None  # would be scan.png, the source
    assert "source" in window.last_message()
    assert window.export_sheet(a) is None  # the other slice, opened in this session
    assert all(p.read_bytes() == data for p, data in before.items())
    out = window.export_sheet(tmp_path / "sheet.jpg")
    assert out == tmp_path / "sheet.png" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stepping_skips_an_unreadable_slice_and_says_so(window, tmp_path):
    a, c = _png_image(tmp_path / "a.png"), _png_image(tmp_path / "c.png", 2)
    bad = tmp_path / "b.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    assert window.open_files([a, bad, c])
    assert window.step_slice(1) and window.image.source_path.name == "c.png"
    assert "slice 2 (b.png)" in window.last_message()
    assert "slice 3/3" in window.image_header.text()
    assert window.step_slice(-1) and window.image.source_path.name == "a.png"


def test_a_damaged_saved_scale_does_not_stop_the_viewer(qtbot, resolver, settings):
    from app.ui.main_window import MainWindow

    settings.setValue("scale", "nan")
    win = MainWindow(resolver=resolver, settings=settings, load_engine=False)
    qtbot.addWidget(win)
    assert win.controls.scale() == 2.0


def test_ct_padding_takes_the_nearest_tissue_value_before_the_engine(window, network, run_job,
                                                                      qtbot, tmp_path):
    """The viewer hands the engine what rmisr-sr does: padding outside the field of view filled
    from the nearest tissue, never the padding value interpolated into the tissue next to it."""
    from app.io.padding import engine_pixels
    from tests.test_io_roi import _padded_ct

    path, _ = _padded_ct(tmp_path)
    assert window.open_file(path)
    qtbot.waitUntil(lambda: window.runs.loader is None or not window.runs.loader.isRunning())
    assert window.image.padding is not None and window.image.padding.any()
    window.controls.set_scale(TEST_SCALE)
    window.controls.set_checked_methods(["bicubic"])
    window.set_roi((0, 200, 40, 40))  # across the field of view's edge
    req = run_job(window).request
    tissue_min = float(window.image.measured().min())
    assert float(req.source_pixels.min()) >= tissue_min
    assert np.array_equal(req.source_pixels, engine_pixels(window.image))


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


def _view_state(canvas):
    return (canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value(),
            canvas.zoom(), canvas.mapFromScene(QPointF(0, 0)))


def test_paging_past_the_last_slice_keeps_the_view(window, tmp_path, qtbot):
    from ..test_io_series import make_series

    paths = make_series(tmp_path / "series", [0.0, 10.0, 20.0])
    assert window.open_file(paths[2])
    qtbot.waitUntil(lambda: len(window.stack()) == 3, timeout=10000)
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key_End)  # the last slice
    before = _view_state(window.canvas)
    for key, mods in ((Qt.Key_PageDown, Qt.NoModifier), (Qt.Key_PageDown, Qt.ShiftModifier),
                      (Qt.Key_End, Qt.NoModifier), (Qt.Key_PageDown, Qt.NoModifier)):
        QTest.keyClick(window.canvas, key, mods)
        assert _view_state(window.canvas) == before
        assert "slice 3/3" in window.image_header.text()
        assert "Last slice" in window.statusBar().currentMessage()
    QTest.keyClick(window.canvas, Qt.Key_Home)
    assert "slice 1/3" in window.image_header.text() and _view_state(window.canvas) == before
    QTest.keyClick(window.canvas, Qt.Key_PageUp)
    assert "First slice" in window.statusBar().currentMessage()
    assert _view_state(window.canvas) == before
    # a single image: PgDn and PgUp do nothing but say so
    assert window.open_file(_png_image(tmp_path / "one.png"))
    window.canvas.setFocus()
    before = _view_state(window.canvas)
    for key in (Qt.Key_PageDown, Qt.Key_PageUp, Qt.Key_End, Qt.Key_Home, Qt.Key_Down):
        QTest.keyClick(window.canvas, key)
        assert _view_state(window.canvas) == before
    QTest.keyClick(window.canvas, Qt.Key_PageDown)
    assert "Last slice" in window.statusBar().currentMessage()
    assert window.image.source_path.name == "one.png"


def test_results_are_kept_per_slice_and_an_identical_run_is_served_from_them(window, tmp_path,
                                                                             run_job):
    a, b = _png_image(tmp_path / "a.png"), _png_image(tmp_path / "b.png", 1)
    assert window.open_files([a, b])
    window.controls.set_checked_methods(["bicubic"])
    window.set_roi((10, 10, 32, 32))
    first = run_job(window)
    assert first is not None and len(window.results_cache) == 1
    pixels = window.comparison.panel("bicubic").data.pixels
    assert window.step_slice(1)  # another slice: its own (no) results, the first one's kept
    assert window.comparison.panels() == [] and window.last_result is None
    assert "kept" in window.statusBar().currentMessage()
    assert window.step_slice(-1)  # back: shown again, not outdated
    assert window.image.source_path.name == "a.png"
    assert window.comparison.panel("bicubic").data.pixels is pixels
    assert window.comparison.stale() is None and window.quality.table.rowCount() == 1
    assert "shown again" in window.statusBar().currentMessage()
    # the same run again: served at once, nothing recomputed
    assert window.run() and not window.is_running()
    assert window.comparison.panel("bicubic").data.pixels is pixels
    assert "nothing recomputed" in window.statusBar().currentMessage()
    # another setting is computed (and kept as well)
    window.controls.set_scale(3.0)
    second = run_job(window)
    assert second is not None and second.request.scale == 3.0 and len(window.results_cache) == 2
    assert window.comparison.panel("bicubic").data.pixels is not pixels


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


def _wheel(widget, notches, modifiers=Qt.NoModifier):
    vp = widget.viewport()
    pos = vp.rect().center()
    QApplication.sendEvent(vp, QWheelEvent(
        QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, int(120 * notches)),
        Qt.NoButton, modifiers, Qt.NoScrollPhase, False))


def test_the_wheel_pages_slices_and_ctrl_wheel_zooms(window, tmp_path, qtbot, resolver,
                                                       settings):
    a, b, c = (_png_image(tmp_path / f"{n}.png", i) for i, n in enumerate("abc"))
    assert window.open_files([a, b, c])
    canvas = window.canvas
    z = canvas.zoom()
    _wheel(canvas, -1)  # down: the next slice, same zoom
    assert window.image.source_path.name == "b.png" and canvas.zoom() == pytest.approx(z)
    _wheel(canvas, -0.5)  # a touchpad's half notch: nothing yet …
    assert window.image.source_path.name == "b.png"
    _wheel(canvas, -0.5)  # … a whole one: on
    assert window.image.source_path.name == "c.png"
    _wheel(canvas, 2)  # up: back
    assert window.image.source_path.name == "a.png"
    _wheel(canvas, 1, Qt.ControlModifier)  # Ctrl: zoom, same slice
    assert canvas.zoom() == pytest.approx(z * 1.25) and window.image.source_path.name == "a.png"
    # the earlier convention, as a setting: the wheel zooms
    assert not window.act_wheel_zooms.isChecked()
    window.act_wheel_zooms.trigger()
    _wheel(canvas, -1)
    assert window.image.source_path.name == "a.png" and canvas.zoom() == pytest.approx(z)
    assert str(settings.value("wheelZooms")).lower() == "true"
    from app.ui.main_window import MainWindow

    again = MainWindow(resolver=resolver, settings=settings, load_engine=False)
    qtbot.addWidget(again)
    assert again.act_wheel_zooms.isChecked() and again.canvas.wheel_zooms
    assert again.comparison.wheel_zooms


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
