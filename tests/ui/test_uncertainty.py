"""Best quality (the networks' 8-run ensemble) and the Uncertainty view: the Run box's checkbox
reaches the engine and the session cache's key, the panels' heat map with its colour bar, the
quality table's uncertainty columns, and the map's exports (offscreen)."""
from __future__ import annotations

import numpy as np
import pytest

from .conftest import TEST_ROI, TEST_SCALE


def _prepare(win, network, best=True):
    win.controls.set_scale(TEST_SCALE)
    win.controls.set_checked_methods(["bicubic", network])
    win.controls.simulate_box.setChecked(False)
    win.controls.set_best_quality(best)
    win.set_roi(TEST_ROI)


def test_best_quality_reaches_the_engine_the_settings_and_the_cache_key(window, network,
                                                                        run_job, resolver,
                                                                        monkeypatch, settings):
    calls = []
    upscale = resolver.upscale

    def spy(*args, **kwargs):
        calls.append((args[2] if len(args) > 2 else kwargs.get("method"),
                      kwargs.get("ensemble", False)))
        return upscale(*args, **kwargs)

    monkeypatch.setattr(resolver, "upscale", spy)
    box = window.controls.ensemble_box
    assert box.text() == "Best quality (8× slower)" and not box.isChecked()
    _prepare(window, network)
    best = run_job(window)
    assert best is not None and not best.errors and best.request.ensemble
    assert (network, True) in calls and ("bicubic", True) in calls
    net = next(r for r in best.results if r.method == network)
    assert net.info.ensemble and net.info.uncertainty.shape == net.pixels.shape
    # a plain run of the same region is computed, never served from the best-quality result
    calls.clear()
    window.controls.set_best_quality(False)
    assert window.comparison.stale() == "changed since this result: best quality"
    plain = run_job(window)
    assert plain is not best and not plain.request.ensemble and (network, False) in calls
    assert all(r.info is None or r.info.uncertainty is None for r in plain.results)
    assert len(window.results_cache) == 2
    # each setting is served from its own result
    calls.clear()
    window.controls.set_best_quality(True)
    assert window.run() and not window.is_running() and not calls
    assert window.last_result.request.ensemble
    assert "nothing recomputed" in window.statusBar().currentMessage()
    window.controls.set_best_quality(False)
    assert window.run() and not window.is_running() and not calls
    assert not window.last_result.request.ensemble
    # the choice is kept in the settings
    window.controls.set_best_quality(True)
    window.save_settings()
    assert str(settings.value("bestQuality")).lower() == "true"


def test_the_cache_key_tells_best_quality_from_a_plain_run():
    from app.result_cache import result_key

    args = (("a.dcm", 0, 1, 1), (0, 0, 8, 8), 2.0, ["rmisr-bl"], False, "auto", None, None)
    assert result_key(*args) == result_key(*args, ensemble=False)
    assert result_key(*args) != result_key(*args, ensemble=True)


def _qimage_array(image) -> np.ndarray:
    """A QImage as an (H, W, 3) uint8 array."""
    from PyQt5.QtGui import QImage

    q = image.convertToFormat(QImage.Format_RGB888)
    ptr = q.constBits()
    ptr.setsize(q.bytesPerLine() * q.height())
    return np.frombuffer(ptr, np.uint8).reshape(q.height(), q.bytesPerLine())[
        :, :3 * q.width()].reshape(q.height(), q.width(), 3).copy()


def test_the_uncertainty_view_is_a_heat_map_with_a_colour_bar(window, network, run_job, qtbot,
                                                              tmp_path, monkeypatch):
    from app.uncertainty_view import NEEDS_BEST_QUALITY

    _prepare(window, network)
    result = run_job(window)
    cmp_ = window.comparison
    panel = cmp_.panel(network)
    net = next(r for r in result.results if r.method == network)
    # the panel shows the map rmisr-sr --uncertainty-out writes: the smoothed spread
    from app.uncertainty_view import uncertainty_map

    assert np.array_equal(panel.data.uncertainty, uncertainty_map(net.info.uncertainty))
    assert not np.array_equal(panel.data.uncertainty, net.info.uncertainty)
    image = _qimage_array(panel.view.pixmap().toImage())
    assert "Uncertainty" in [b.text() for b in window.controls.view_buttons.buttons()]
    window.controls.set_view_mode("uncertainty")
    assert cmp_.mode() == "uncertainty" and window.view_actions["uncertainty"].isChecked()
    assert panel.view.message() == "" and cmp_.derived(panel.data, "uncertainty") is not None
    heat = _qimage_array(panel.view.pixmap().toImage())
    assert heat.shape == image.shape and not np.array_equal(heat, image)
    assert (heat[..., 0].astype(int) - heat[..., 2]).any()  # colours, not grey
    label = panel.view.overlay_text()
    assert label.startswith("[Computed uncertainty map] SR ×2.5") and \
        label.endswith("computed, not acquired")
    # the colour bar, in the image's units, is drawn on the panel (measured on the grab: the
    # grid may still be settling its layout)
    qtbot.wait(50)
    shot = _qimage_array(panel.view.viewport().grab().toImage())
    ratio = shot.shape[1] / panel.view.viewport().width()
    rect, title, ticks = panel.view.colour_bar()
    assert title == "SD of 8 runs, smoothed (HU)" and ticks[0][1] == "0" and ticks[-1][1].endswith(" HU")
    top, unit = cmp_.colour_scale()
    assert unit == "HU" and top > 0
    row = shot[int(rect.center().y() * ratio)]
    left, right = row[int((rect.left() + 3) * ratio)], row[int((rect.right() - 3) * ratio)]
    assert left.sum() < 60 and right.sum() > 500  # dark at 0, pale yellow at the top
    # panels that are not computed say so, and a plain run says what the map needs
    assert cmp_.panel("source").view.message() == "Uncertainty applies to computed results"
    assert "uncertainty" not in (cmp_.panel("source").view.overlay_text() or "")
    # a comparison sheet of this view states the heat maps' scale
    from app.ui import export as export_mod

    headers = []
    render = export_mod.render_sheet

    def spy(items, header, **kwargs):
        headers.append(header)
        return render(items, header, **kwargs)

    monkeypatch.setattr(export_mod, "render_sheet", spy)
    assert window.export_sheet(tmp_path / "sheet.png") is not None
    assert "view: Computed uncertainty map" in headers[0]
    assert f"from 0 (black) to {ticks[-1][1]} (pale yellow)" in headers[0]
    window.controls.set_best_quality(False)
    run_job(window)
    panel = cmp_.panel(network)
    assert cmp_.mode() == "uncertainty" and panel.data.uncertainty is None
    assert panel.view.message() == NEEDS_BEST_QUALITY and "Best quality" in NEEDS_BEST_QUALITY
    assert panel.view.colour_bar() is None and cmp_.colour_scale() is None
    window.controls.set_view_mode("image")


def test_colour_map_and_scale_are_qt_free_numpy():
    from app import uncertainty_view as uv

    lut = uv.colour_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert tuple(lut[0]) == uv.INFERNO_ANCHORS[0] and tuple(lut[-1]) == uv.INFERNO_ANCHORS[-1]
    luma = lut @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(luma) > 0)  # brighter with more spread: readable in grey too
    m = np.linspace(0, 10, 100, dtype=np.float32).reshape(10, 10)
    top = uv.display_range([m, None])
    assert 9.5 < top <= 10
    rgb = uv.colourize(m, top)
    assert rgb.shape == (10, 10, 3) and tuple(rgb[0, 0]) == tuple(lut[0])
    assert uv.display_range([np.zeros((4, 4))]) == 1.0
    assert uv.colour_bar_ticks(5, "HU") == [(0.0, "0"), (0.5, "2.5"), (1.0, "5 HU")]
    colour = np.repeat(m[..., None], 3, axis=-1)
    assert np.allclose(uv.uncertainty_map(colour), uv.gaussian_smooth(m), atol=1e-5)
    assert uv.uncertainty_map(None) is None


def test_the_quality_table_gives_the_rois_uncertainty_of_a_best_quality_run(window, network,
                                                                              run_job):
    _prepare(window, network)
    result = run_job(window)
    values = window.quality.numeric_values()
    net = next(r for r in result.results if r.method == network)
    row = values[net.label]
    mean, p95 = float(row["Uncertainty mean (HU)"]), float(row["Uncertainty P95 (HU)"])
    from app.uncertainty_view import uncertainty_map

    shown = uncertainty_map(net.info.uncertainty)  # the panel's map, not the raw spread
    assert mean == pytest.approx(float(shown.mean()), abs=0.01)
    assert p95 == pytest.approx(float(np.percentile(shown, 95)), abs=0.01)
    assert 0 <= mean <= p95
    assert values["Bicubic"]["Uncertainty mean (HU)"] == "0.00"  # bicubic is symmetric
    headers = [window.quality.table.horizontalHeaderItem(j).text()
               for j in range(window.quality.table.columnCount())]
    assert "Uncert.\nmean (HU)" in headers and "Uncert.\nP95 (HU)" in headers
    assert "Uncertainty P95 (HU)" in window.quality.to_tsv().splitlines()[0]
    # without Best quality the columns stay, blank ("—"): nothing was computed
    window.controls.set_best_quality(False)
    run_job(window)
    for row in window.quality.numeric_values().values():
        assert row["Uncertainty mean (HU)"] == "—" and row["Uncertainty P95 (HU)"] == "—"


def test_compute_quality_summarises_each_uncertainty_map():
    from app import quality

    rng = np.random.default_rng(1)
    lr = rng.normal(0, 100, (16, 16)).astype(np.float32)
    out = np.kron(lr, np.ones((2, 2), np.float32))
    spread = np.abs(rng.normal(0, 3, out.shape)).astype(np.float32)
    report = quality.compute_quality({"bicubic": (out, 0.1), "rmisr-bl": (out + 1, 0.2)}, lr,
                                     2.0, unit="HU", uncertainties={"rmisr-bl": spread})
    rows = {r.method: r for r in report.rows}
    assert rows["bicubic"].uncertainty_mean is None and rows["bicubic"].uncertainty_p95 is None
    from app.uncertainty_view import uncertainty_map

    shown = uncertainty_map(spread)  # the smoothed map the panels show
    assert rows["rmisr-bl"].uncertainty_mean == pytest.approx(float(shown.mean()))
    assert rows["rmisr-bl"].uncertainty_p95 == pytest.approx(float(np.percentile(shown, 95)))
    assert rows["rmisr-bl"].uncertainty_p95 < float(np.percentile(spread, 95))  # not the raw
    headers, body = report.table()
    i = headers.index("Uncertainty mean (HU)")
    assert body[0][i] == "—" and body[1][i] == f"{shown.mean():.2f}"


def test_the_uncertainty_map_exports_as_png_tiff_and_dicom_labelled_as_computed(
        window, network, run_job, tmp_path):
    from PIL import Image

    from app.io import read_image

    _prepare(window, network)
    run_job(window)
    data = window.comparison.panel(network).data
    h, w = data.uncertainty.shape
    png = window.export_uncertainty(network, tmp_path / "map.png")
    tif = window.export_uncertainty(network, tmp_path / "map.tif")
    dcm = window.export_uncertainty(network, tmp_path / "map.dcm")
    assert png and tif and dcm, window.last_message()
    label = ("Computed uncertainty map (SD of 8 flipped/rotated runs, smoothed 1 px, HU) of "
             f"SR ×2.5 {data.title} — computed, not acquired")
    # PNG: the heat map at the top left, the colour bar and the caption strip below
    with Image.open(png) as im:
        assert im.mode == "RGB" and im.info["Description"] == label
        pixels = np.asarray(im)
    assert pixels.shape[0] > h + 40 and pixels.shape[1] >= w
    heat = pixels[:h, :w].astype(int)
    assert (heat[..., 0] - heat[..., 2]).any()  # in colour
    below = pixels[h:].astype(int)  # the colour bar: dark to pale yellow in one row
    assert any(r[:, 0].min() < 40 and r[:, 0].max() > 240 and (r[:, 0] - r[:, 2]).max() > 100
               for r in below)
    # TIFF: the spread itself, in HU, labelled
    t = read_image(tif)
    assert t.pixels.shape == (h, w)
    assert np.allclose(t.pixels, data.uncertainty, atol=float(data.uncertainty.max()) / 30000)
    import tifffile
    import json

    with tifffile.TiffFile(tif) as f:
        desc = json.loads(f.pages[0].description)
    assert desc["computed"] == label and desc["unit"] == "HU"
    # DICOM Secondary Capture, of the source's patient and study, labelled as an uncertainty map
    d = read_image(dcm)
    ds = d.dataset
    src = window.image.dataset
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and list(ds.ImageType) == [
        "DERIVED", "SECONDARY", "UNCERTAINTY"]
    assert ds.StudyInstanceUID == src.StudyInstanceUID and ds.PatientID == src.PatientID
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID
    assert "Computed uncertainty map" in ds.ImageComments and "not acquired" in ds.ImageComments
    assert ds.DerivationDescription.startswith(label)
    assert np.allclose(d.pixels, data.uncertainty, atol=float(data.uncertainty.max()) / 30000)
    sp = window.image.pixel_spacing
    assert d.pixel_spacing == pytest.approx((sp[0] / TEST_SCALE, sp[1] / TEST_SCALE))
    # panels without a map: a message, no file
    assert window.export_uncertainty("source", tmp_path / "src.png") is None
    assert "no uncertainty map" in window.last_message()
    # a test run on a simulated input: its map lies on the acquired region's grid, and says
    # it is of a simulated input (it had half the spacing and no such words)
    window.controls.simulate_box.setChecked(True)
    run_job(window)
    sim = window.comparison.panel(network).data
    assert window.export_uncertainty(network, tmp_path / "sim.tif")
    ew, eh = sim.extent
    with tifffile.TiffFile(tmp_path / "sim.tif") as f:
        desc = json.loads(f.pages[0].description)
    assert desc["pixel_spacing_mm"] == pytest.approx([sp[0] * eh / sim.pixels.shape[0],
                                                      sp[1] * ew / sim.pixels.shape[1]])
    assert desc["pixel_spacing_mm"][0] > sp[0] / TEST_SCALE * 1.5  # not the ÷ scale of a run
    assert "(from a simulated low-resolution input)" in desc["computed"]
    window.controls.simulate_box.setChecked(False)
    window.controls.set_best_quality(False)
    run_job(window)
    assert window.export_uncertainty(network, tmp_path / "plain.png") is None
    assert "Best quality" in window.last_message()
    assert not (tmp_path / "plain.png").exists()
