"""The main window end to end (offscreen): exporting panels and the comparison sheet and re-reading
them, an engine note carried into the derived file, an opened image never replaced."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.io import SAMPLE_PATH, read_image

from .conftest import TEST_ROI, TEST_SCALE
from ._window_helpers import _png_image, _prepare


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


def test_an_engine_note_travels_into_the_derived_file(tmp_path):
    """A result whose engine run left a note (a flat image got bicubic pixels under a network's
    name) carries it into the derived DICOM's DerivationDescription."""
    from types import SimpleNamespace

    from app.ui import export as export_mod
    from app.ui.panel_data import PanelData

    source = read_image(SAMPLE_PATH)
    info = SimpleNamespace(weights_sha256="0" * 64, notes=["flat image: bicubic used"])
    data = PanelData("rmisr-bl", "RMISR-BL", np.zeros((20, 20), np.float32), (10.0, 10.0),
                     kind="sr", method="rmisr-bl", scale=2.0, info=info)
    written = export_mod.export_panel(tmp_path / "flat.dcm", data, source, (0, 0, 10, 10),
                                      source.window)
    assert "flat image: bicubic used" in read_image(written.path).dataset.DerivationDescription


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


def test_a_name_typed_without_extension_never_replaces_a_file_unasked(window, tmp_path,
                                                                      run_job, monkeypatch):
    """The save dialog asks about the name typed ("result"); the export writes "result.tif":
    an existing result.tif is replaced only when the user says so (it was replaced unasked),
    for a panel, the comparison sheet and the quality table's CSV."""
    from PyQt5.QtWidgets import QFileDialog, QMessageBox

    from app.ui import export as export_mod

    window.controls.set_checked_methods(["bicubic"])
    window.set_roi(TEST_ROI)
    run_job(window)
    for name in ("result.tif", "sheet.png", "quality.csv"):
        (tmp_path / name).write_bytes(b"mine")
    answers = []
    monkeypatch.setattr(window, "confirm", lambda title, text: answers.append(text) or False)
    typed = iter([(str(tmp_path / "result"), export_mod.PANEL_FILTERS["tiff"]),
                  (str(tmp_path / "sheet"), export_mod.SHEET_FILTER)])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: next(typed))
    assert window.export_panel("bicubic") is None
    assert window.export_sheet() is None
    assert (tmp_path / "result.tif").read_bytes() == b"mine"
    assert (tmp_path / "sheet.png").read_bytes() == b"mine"
    assert len(answers) == 2 and "result.tif already exists" in answers[0]
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "quality"), "CSV (*.csv)"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    assert window.quality.save() is None and (tmp_path / "quality.csv").read_bytes() == b"mine"
    monkeypatch.setattr(window, "confirm", lambda title, text: True)  # Yes: replaced
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "result"),
                                         export_mod.PANEL_FILTERS["tiff"]))
    assert window.export_panel("bicubic") == tmp_path / "result.tif"
    assert read_image(tmp_path / "result.tif").pixels.ndim == 2


def test_exporting_an_outdated_result_asks_first(window, tmp_path, run_job, monkeypatch):
    window.controls.set_checked_methods(["bicubic"])
    window.set_roi(TEST_ROI)
    run_job(window)
    window.controls.set_scale(TEST_SCALE + 1)  # the panels are now outdated
    asked = []
    monkeypatch.setattr(window, "confirm", lambda title, text: asked.append(text) or False)
    assert window.export_panel("bicubic", tmp_path / "a.png") is None
    assert window.export_sheet(tmp_path / "s.png") is None
    assert len(asked) == 2 and "outdated (changed since this result: magnification)" in asked[0]
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "s.png").exists()
    monkeypatch.setattr(window, "confirm", lambda title, text: True)
    assert window.export_panel("bicubic", tmp_path / "a.png") == tmp_path / "a.png"


def test_a_sheet_in_a_derived_view_says_that_view(window, tmp_path, run_job, monkeypatch):
    """Exported in the Difference view, the sheet's header gives that view's window (not the
    image's), its captions name the view and the panels it does not apply to say so (they
    were the image window, plain captions and blank boxes); a long file name wraps."""
    from PyQt5.QtGui import QFont, QFontMetrics

    from app.ui import export as export_mod

    window.controls.set_checked_methods(["bicubic"])
    window.set_roi(TEST_ROI)
    run_job(window)
    window.comparison.set_mode("difference")
    seen = {}
    real = export_mod.render_sheet

    def spy(items, header, **kw):
        seen.update(kw, header=header)
        return real(items, header, **kw)

    monkeypatch.setattr(export_mod, "render_sheet", spy)
    assert window.export_sheet(tmp_path / "s.png")
    c, w = window.comparison.display_window()
    assert c == 0 and f"W {w:g}" in seen["header"].replace(",", "")
    assert seen["mode"] == "difference"
    assert seen["messages"]["source"] == "Not a result: no difference"
    assert seen["messages"]["bicubic"] == "Baseline"
    font = QFont()
    long = "a" * 200 + ".dcm"
    broken = export_mod._breakable(long, QFontMetrics(font), 300)
    assert broken.replace("\u200b", "") == long and "\u200b" in broken
    assert export_mod._breakable("short words", QFontMetrics(font), 300) == "short words"
