"""The main window end to end (offscreen): opening files, folders and series, dropping and recent
files, paging and stepping through slices, the wheel, read warnings, windows and VOI LUTs as the
file asks, errors as messages."""
from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
from PyQt5.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt5.QtGui import QDragEnterEvent, QDropEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication

from app.io import SAMPLE_PATH

from ._window_helpers import _grey, _pick_series, _png_image, _view_state, _wheel


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


def test_a_slice_of_another_size_in_the_stack_keeps_the_history_and_fits_the_region(window,
                                                                                   tmp_path):
    """A stack may hold slices of other sizes (a localiser, a cropped export): paging onto one
    keeps the edit history (only opening another image clears it) and fits the region into it;
    undoing a region edit there fits the earlier region too."""
    from PIL import Image

    paths = []
    for k, side in enumerate((64, 48, 64)):
        paths.append(tmp_path / f"s{k}.png")
        Image.fromarray(np.full((side, side), 40 * k, np.uint8)).save(paths[-1])
    assert window.open_files(paths)
    window.set_roi((10, 10, 20, 20))
    window.set_roi((36, 36, 24, 24))  # an edit: undoable
    assert window.session.history.undo_name() == "region of interest"
    assert window.step_slice(1) and window.image.width == 48
    assert window.session.roi == (36, 36, 12, 12) == window.canvas.roi()  # fitted into 48²
    assert window.session.history.undo_name() == "region of interest"  # kept
    assert window.step_slice(1) and window.image.width == 64
    assert window.session.roi == (36, 36, 12, 12)
    assert window.session.history.undo_name() == "region of interest"
    assert window.step_slice(-1) and window.image.width == 48
    window.session.history.undo()
    assert window.session.roi == (10, 10, 20, 20) == window.canvas.roi()
    window.open_file(paths[0])  # another opening: a new history
    assert window.session.history.undo_name() == ""


def test_a_folder_series_opens_at_its_first_readable_slice_and_pages_a_multiframe_file(
        window, tmp_path, qtbot, pydicom_file):
    """The folder scan reads headers only: a first slice whose pixels fail is named and the
    series opens at the next one; a series that is one multi-frame file pages its frames."""
    from ..test_io_writers import make_ct

    series = tmp_path / "s"
    series.mkdir()
    uid = pydicom.uid.generate_uid()
    for k in range(4):
        make_ct(series / f"IM{k}.dcm", np.full((16, 16), 10.0 * k), ipp=(0, 0, 5.0 * k),
                iop=(1, 0, 0, 0, 1, 0), spacing=(1, 1), SeriesInstanceUID=uid, InstanceNumber=k)
    data = (series / "IM0.dcm").read_bytes()
    (series / "IM0.dcm").write_bytes(data[:-300])  # its pixel data cut short
    assert window.open_folder(series)
    qtbot.waitUntil(lambda: window.image is not None
                    and window.image.source_path.name == "IM1.dcm", timeout=10_000)
    assert len(window.stack()) == 4 and window.session.position == 1
    assert "slice 1 (IM0.dcm)" in window.last_message()
    frames = tmp_path / "mf"
    frames.mkdir()
    shutil.copy(pydicom_file("rtdose.dcm"), frames / "dose.dcm")
    assert window.open_folder(frames)
    qtbot.waitUntil(lambda: window.image.source_path.name == "dose.dcm", timeout=10_000)
    assert len(window.stack()) == 15 and window.step_slice(1) and window.image.frame == 1


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
    assert window.window_status.text() == "W 300 / L 50 HU (sigmoid)"  # the status bar too
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
    assert window.window_status.text() == "VOI LUT GAMMA 0.5"  # not a linear window's W/L
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


def test_stepping_skips_an_unreadable_slice_and_says_so(window, tmp_path):
    a, c = _png_image(tmp_path / "a.png"), _png_image(tmp_path / "c.png", 2)
    bad = tmp_path / "b.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    assert window.open_files([a, bad, c])
    assert window.step_slice(1) and window.image.source_path.name == "c.png"
    assert "slice 2 (b.png)" in window.last_message()
    assert "slice 3/3" in window.image_header.text()
    assert window.step_slice(-1) and window.image.source_path.name == "a.png"


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


def test_the_file_s_overlay_graphics_are_shown_over_the_image(window, pydicom_file):
    """An outline and label stored as an overlay plane (60xx) are drawn over the image (they
    were never shown) and View ▸ DICOM overlay graphics hides them; a file without any has
    none; the pixels the engine sees are untouched."""
    assert window.open_file(pydicom_file("examples_overlay.dcm"))
    assert window.image.overlay is not None and int(window.image.overlay.sum()) == 222
    assert window.canvas.graphics_shown()
    action = next(a for a in window.menuBar().findChildren(type(window.act_overlay))
                  if a.text().replace("&", "") == "DICOM overlay graphics")
    action.trigger()
    assert not window.canvas.graphics_shown()
    action.trigger()
    assert window.open_file(pydicom_file("CT_small.dcm"))
    assert window.image.overlay is None and not window.canvas.graphics_shown()
