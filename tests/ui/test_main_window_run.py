"""The main window end to end (offscreen): running off the UI thread, comparing and syncing the
result panels, quality table, difference and bias, progress and cancel, slice ranges, results
kept per slice, refusals and closing while work runs."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import QPoint, QPointF, Qt, QTimer
from PyQt5.QtGui import QWheelEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication

from models.inference.precision import resolve_precision

from .conftest import TEST_ROI, TEST_SCALE
from ._window_helpers import _move, _numbers, _png_image, _prepare, _white_bar_at

ROOT = Path(__file__).resolve().parents[2]


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
    modality = window.image.modality  # what sets "auto"'s precision (fp32 for CT), as the run
    in_context = resolver.upscale(window.image.pixels, TEST_SCALE, network, roi=TEST_ROI,
                                  window=result.request.window, modality=modality)
    alone = resolver.upscale(window.image.pixels[y:y + h, x:x + w], TEST_SCALE, network,
                             window=result.request.window, modality=modality)
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


def test_esc_drops_an_unfinished_shape_before_it_cancels_a_job(window, qtbot, network):
    """Esc is both Process ▸ Cancel and "drop the shape being drawn": while a shape is
    unfinished the canvas takes it (the job runs on); the next Esc cancels the job."""
    _prepare(window, network)
    window.controls.ensemble_box.setChecked(True)  # long enough to press keys during it
    window.activateWindow()
    window.measure.set_tool("angle")
    assert window.run()
    window.canvas.setFocus()
    QTest.mouseClick(window.canvas.viewport(), Qt.LeftButton, Qt.NoModifier,
                     window.canvas.mapFromScene(QPointF(150, 150)))
    assert window.canvas.annotations.drawing()
    QTest.keyClick(window.canvas, Qt.Key_Escape)
    assert not window.canvas.annotations.drawing() and window.is_running()
    QTest.keyClick(window.canvas, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60000)
    assert window.controls.job_label.text() == "cancelled"


def test_raster_slices_written_as_dicom_are_not_called_one_series(window, qtbot, tmp_path):
    """PNG slices become Secondary Capture files, each its own series: the result does not say
    "one derived series"."""
    from PIL import Image

    from app.ui.slices import SliceRangeChoice

    folder = tmp_path / "pngs"
    folder.mkdir()
    for k in range(3):
        Image.fromarray(np.full((24, 24), 40 * k, np.uint8)).save(folder / f"s{k}.png")
    assert window.open_folder(folder)
    qtbot.waitUntil(lambda: len(window.stack()) == 3, timeout=10_000)
    window.canvas.set_roi((2, 2, 12, 12))
    window.controls.set_scale(2)
    assert window.super_resolve_slices(SliceRangeChoice(1, 2, "bicubic", "dcm", tmp_path / "o"))
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    assert "2 of 2 slices" in window.statusBar().currentMessage()
    assert "one derived series" not in window.statusBar().currentMessage()


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


def test_diagnostics(window, network, run_job, resolver):
    _prepare(window, network)
    run_job(window)
    text = window.copy_diagnostics()
    assert QApplication.clipboard().text() == text
    for key in ("python:", "torch:", "PyQt5:", "pydicom:", "numpy:", "device in use: cpu"):
        assert key in text
    rec = resolver.weights_record(network, TEST_SCALE)
    # the weights' line says the arithmetic auto gives on this image (fp32 for a CT)
    on_image = resolve_precision("auto", "cpu", window.image.modality, rec.arch)
    assert f"{rec.sha256} ({on_image})" in text
    assert "best quality (8-run ensemble) False" in text
    assert f"precision (auto on this device): {resolver.precision}" in text
    # the network's row of the last run: auto resolved for this image (fp32 for a CT)
    used = resolve_precision("auto", "cpu", window.image.modality, rec.arch)
    assert f"precision {used}," in text
    assert window.last_result.report.rows[-1].precision == used


def test_unavailable_methods_are_greyed_per_scale(window, monkeypatch, resolver, network):
    monkeypatch.setattr(resolver, "available", lambda m, s: m == "bicubic" or s <= 3.0)
    window.controls.set_checked_methods(["bicubic", network])
    window.controls.set_scale(3.5)
    box = window.controls.method_boxes[network]
    assert not box.isEnabled() and "no trained weights for ×3.5" in box.toolTip()
    # what the files cover
    assert f"served at {resolver.manifest.coverage(network)}" in box.toolTip()
    assert window.controls.selected_methods() == ["bicubic"]
    window.controls.set_scale(2.0)
    assert box.isEnabled() and window.controls.selected_methods() == ["bicubic", network]


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
    # the previous series had 4 slices too: wait for the twin's (the scan thread can have ended
    # before its result reaches the window, which keeps the old stack until then)
    qtbot.waitUntil(lambda: len(window.stack()) == 4 and not window.series_scan_running()
                    and all(twin in path.parents for path, _ in window.stack()), timeout=10_000)
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


def test_a_run_in_which_a_method_failed_is_run_again_not_served(window, run_job, resolver,
                                                                monkeypatch):
    """A failure may be transient (memory): Super-resolve again retries, the partial result
    kept for the slice is not served as if it were complete."""
    real, calls = resolver.upscale, []

    def flaky(image, scale, method, **kw):
        calls.append(method)
        if method == "rmisr-bl" and calls.count(method) == 1:
            raise MemoryError("not enough memory (simulated)")
        return real(image, scale, method, **kw)

    monkeypatch.setattr(resolver, "upscale", flaky)
    window.controls.set_checked_methods(["bicubic", "rmisr-bl"])
    first = run_job(window)
    assert set(first.errors) == {"rmisr-bl"} and len(window.results_cache) == 1
    second = run_job(window)
    assert second is not first and not second.errors and calls.count("rmisr-bl") == 2
    assert "nothing recomputed" not in window.statusBar().currentMessage()
    assert {p.data.key for p in window.comparison.panels()} >= {"bicubic", "rmisr-bl"}
    third = window.run()  # now complete: served from the session's results
    assert third and not window.is_running() and window.last_result is not None
    assert "nothing recomputed" in window.statusBar().currentMessage()


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
