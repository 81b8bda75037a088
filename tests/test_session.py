"""The viewer's state without Qt (:mod:`app.session`): stack and stepping, folder decisions,
the region's description, outdated results, cache keys, size limits, slice-range naming and the
overwrite policy, exports' regions and the readouts — no window, no engine."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from app import session as session_mod
from app.io import SAMPLE_PATH, read_image
from app.session import (
    Event,
    RunSettings,
    ViewerSession,
    files_in_the_way,
    folder_outcome,
    format_value,
    slice_range_outputs,
    slice_range_problem,
)
from models.inference import normalization


@pytest.fixture(scope="module")
def sample():
    return read_image(SAMPLE_PATH)


@pytest.fixture
def session(sample):
    s = ViewerSession()
    s.place(SAMPLE_PATH, sample, stack=[(SAMPLE_PATH, 0)])
    s.show(sample)
    s.set_roi((200, 180, 48, 48))
    return s


def _image(name: str, n_frames: int = 1, kind: str = "raster", frame: int = 0):
    return SimpleNamespace(source_path=Path(name), n_frames=n_frames, kind=kind, frame=frame,
                           width=40, height=30)


def test_events_call_their_callbacks_in_order():
    event, calls = Event(), []
    first = calls.append
    event.connect(first)
    event.connect(lambda v: calls.append(v * 10))
    event.emit(2)
    event.disconnect(first)
    event.emit(3)
    assert calls == [2, 20, 30]


def test_roi_and_settings_changes_are_announced(sample):
    s, seen = ViewerSession(), []
    s.events.roi.connect(lambda roi: seen.append(("roi", roi)))
    s.events.settings.connect(lambda st: seen.append(("settings", st.scale)))
    s.set_roi([1, 2, 3, 4])
    s.set_settings(RunSettings(scale=2.0))  # unchanged: not announced
    s.set_settings(RunSettings(scale=3.5))
    assert seen == [("roi", (1, 2, 3, 4)), ("settings", 3.5)]


def test_the_stack_of_what_is_opened(tmp_path):
    s = ViewerSession()
    frames = _image(str(tmp_path / "multi.dcm"), n_frames=3, kind="dicom", frame=1)
    assert not s.place(frames.source_path, frames)  # frames: listed at once
    assert [k for _, k in s.stack] == [0, 1, 2] and s.position == 1
    raster = _image(str(tmp_path / "a.png"))
    assert not s.place(raster.source_path, raster) and s.stack == [(raster.source_path, 0)]
    single = _image(str(tmp_path / "ct.dcm"), kind="dicom")
    assert s.place(single.source_path, single)  # its series: listed in the background
    given = [(tmp_path / "x.png", 0), (tmp_path / "a.png", 0)]
    assert not s.place(raster.source_path, raster, stack=given)
    assert s.stack == given and s.position == 1


def test_a_late_series_listing_is_ignored_after_another_open(tmp_path):
    s = ViewerSession()
    img = _image(str(tmp_path / "b.dcm"), kind="dicom")
    s.place(img.source_path, img)
    s.show(img)
    first = s.supersede_scans()
    later = s.supersede_scans()  # another file opened meanwhile
    items = [(tmp_path / n, 0) for n in ("a.dcm", "b.dcm", "c.dcm")]
    listed = []
    s.events.stack.connect(lambda: listed.append(True))
    assert not s.series_listed(first, img.source_path, items)
    assert s.series_listed(later, img.source_path, items)
    assert s.stack == items and s.position == 1 and listed == [True]
    assert s.slice_label() == " · slice 2/3"


def test_stepping_stops_at_the_ends_and_skips_unreadable_slices(tmp_path):
    s = ViewerSession()
    names = ["a.png", "b.png", "c.png", "d.png"]
    s.stack = [(tmp_path / n, 0) for n in names]
    s.show(_image(str(tmp_path / "a.png")))

    def read(path, frame):
        if path.name in ("b.png", "d.png"):
            raise ValueError("truncated file")
        return _image(str(path))

    out = s.step(1, read)
    assert out.image.source_path.name == "c.png" and s.position == 2
    assert out.skipped == ["slice 2 (b.png): truncated file"] and not out.reached_end
    assert "1 slice(s) could not be read" in out.skipped_text()
    out = s.step(1, read)  # only d (unreadable) lies beyond
    assert out.image is None and out.reached_end and s.position == 2
    assert "No readable slice lies beyond them" in out.skipped_text()
    s.position = 3
    assert s.step(5, read).at_end == "Last slice (4/4)"
    s.position = 0
    assert s.step(-1, read).at_end == "First slice (1/4)"
    assert s.step(0, read) == session_mod.StepOutcome()
    s.stack = [(tmp_path / "a.png", 0)]
    assert s.step(1, read).at_end.startswith("Last slice: this image has no other")


def test_what_a_folder_scan_leads_to():
    assert folder_outcome([]) == "empty"
    assert folder_outcome(["one"]) == "open"
    assert folder_outcome(["one", "two"]) == "pick"


def test_the_region_is_described_with_its_output(session, sample):
    text = session.roi_text()
    assert text.startswith("48 × 48 px at x 200, y 180") and "mm²" in text and "HU" in text
    assert text.endswith("output 96×96 px")
    session.set_settings(RunSettings(scale=2.5, simulate=True))
    assert session.roi_text().endswith("simulated input 19×19 px")
    session.set_roi(None)
    assert session.roi_text() == "None — left-drag on the image"
    assert session.default_roi() == (208, 208, 96, 96)
    assert session.whole_image() == (0, 0, sample.width, sample.height)


def _result(roi=(200, 180, 48, 48), scale=2.0, simulate=False, ensemble=False):
    request = SimpleNamespace(roi=roi, scale=scale, simulate=simulate, ensemble=ensemble,
                              methods=["bicubic"], precision="auto", window=(40.0, 400.0),
                              value_range=None)
    return SimpleNamespace(request=request, seconds=1.0)


def test_a_result_is_outdated_by_the_settings_it_was_not_run_with(session):
    assert session.stale_reason() is None  # nothing shown
    session.last_result = _result()
    assert session.stale_reason() is None
    session.set_roi((201, 180, 48, 48))
    session.set_settings(RunSettings(scale=3.0, ensemble=True))
    assert session.stale_reason() == ("changed since this result: region of interest, "
                                      "magnification, best quality")


def test_other_arithmetic_outdates_a_result(session, monkeypatch):
    """The precision is part of a result's key (a rerun computes other pixels): changing it
    marks the shown result outdated, as the window does where it is the networks' input."""
    session.last_result = _result(roi=tuple(session.roi))
    session.last_result.request.window = tuple(session.display_window)
    assert session.stale_reason() is None
    session.set_settings(dataclasses.replace(session.settings, precision="bf16"))
    assert session.stale_reason() == "changed since this result: arithmetic"
    session.set_settings(dataclasses.replace(session.settings, precision="auto"))
    session.display_window = (session.display_window[0] + 50, session.display_window[1])
    assert session.stale_reason() is None  # the window is only the display's
    monkeypatch.setattr(normalization, "DEFAULT_NORMALIZATION", "window")
    assert session.stale_reason() == ("changed since this result: window (the networks' "
                                      "input)")


def test_results_are_kept_under_the_settings_that_made_them(session, sample):
    assert session.cached_result() is None
    result = _result()
    result.request.window = session.display_window
    result.request.value_range = sample.normalization_range()
    session.keep_result(result, "kept")
    assert session.cached_result() == "kept"
    session.set_settings(RunSettings(scale=2.5))
    assert session.cached_result() is None
    # back on the slice: its latest result
    assert session.show(sample) == "kept" and session.last_result is None


def test_the_window_is_in_the_key_only_when_the_engine_normalises_by_it(session, monkeypatch):
    monkeypatch.setattr(normalization, "DEFAULT_NORMALIZATION", "range")
    before = session.result_key()
    session.display_window = (40.0, 400.0)
    assert session.result_key() == before
    monkeypatch.setattr(normalization, "DEFAULT_NORMALIZATION", "window")
    assert session.result_key() != before


def test_too_large_runs_are_refused_and_large_ones_asked(session, monkeypatch):
    import app.io.limits

    monkeypatch.setattr(app.io.limits, "MAX_OUTPUT_PIXELS", 2000 * 2000)
    session.set_settings(RunSettings(scale=5.0))
    refusal, question = session.output_size_check((0, 0, 512, 512), 1)
    assert "would be 2560×2560 px" in refusal and not question
    monkeypatch.setattr(session_mod, "CONFIRM_OUTPUT_PIXELS", 1000)
    refusal, question = session.output_size_check((0, 0, 48, 48), 2)
    assert not refusal and "2 result(s) of 240×240 px" in question
    session.set_settings(RunSettings(scale=5.0, simulate=True))  # the input is the ROI ÷ 5
    assert "of 45×45 px" in session.output_size_check((0, 0, 48, 48), 1)[1]
    monkeypatch.setattr(session_mod, "CONFIRM_OUTPUT_PIXELS", 50_000_000)
    assert session.output_size_check((0, 0, 48, 48), 1) == ("", "")


def test_slice_range_checks_and_names(tmp_path):
    roi = (0, 0, 8, 8)
    assert "not within 1–4" in slice_range_problem(3, 9, "bicubic", 4, ["bicubic"], roi, 2)
    assert "RMISR-VP is not available at ×2" in slice_range_problem(1, 1, "rmisr-vp", 4,
                                                                    ["bicubic"], roi, 2)
    assert slice_range_problem(1, 4, "bicubic", 4, ["bicubic"], roi, 2) == ""
    stack = [(tmp_path / "ct.dcm", k) for k in range(3)]  # frames of one file
    items = slice_range_outputs(stack, 2, 3, "rmisr-bl", "dcm", tmp_path / "out", 2.5)
    assert [t.name for _, _, t in items] == ["ct_f1_SRx2.5_rmisr-bl.dcm",
                                             "ct_f2_SRx2.5_rmisr-bl.dcm"]
    twins = [(tmp_path / "a" / "IM1.dcm", 0), (tmp_path / "b" / "IM1.dcm", 0)]
    items = slice_range_outputs(twins, 1, 2, "bicubic", "tiff", tmp_path, 2)
    assert [t.name[:6] for _, _, t in items] == ["s0001_", "s0002_"]


def test_existing_files_are_replaced_only_when_asked(tmp_path):
    targets = [tmp_path / "a.dcm", tmp_path / "b.dcm"]
    assert files_in_the_way(targets, tmp_path, None) == ("", "")
    targets[0].write_bytes(b"x")
    question, refusal = files_in_the_way(targets, tmp_path, None)
    assert question.startswith("1 of the 2 files exist") and question.endswith("Replace them?")
    assert "nothing was written" in refusal
    question, refusal = files_in_the_way(targets, tmp_path, False)
    assert not question and "nothing was written" in refusal
    assert files_in_the_way(targets, tmp_path, True) == ("", "")


def test_exports_cover_the_region_of_the_shown_result(session, sample):
    session.last_result = _result(roi=(10, 20, 30, 40), simulate=True)
    assert session.export_roi("sr", (24.0, 32.0)) == (10, 20, 24, 32)
    assert session.export_roi("input", (12.0, 16.0)) == (10, 20, 30, 40)
    uid = session.series_uid_for("rmisr-bl", 2.0, (10, 20, 30, 40))
    assert uid and uid == session.series_uid_for("rmisr-bl", 2.0, (10, 20, 30, 40))
    assert uid != session.series_uid_for("bicubic", 2.0, (10, 20, 30, 40))
    assert session.sheet_name() == f"{sample.source_path.stem}_comparison_x2.png"
    assert session.patient_id() == str(sample.dataset.PatientID).strip()


def test_readouts_and_presets(session, tmp_path):
    assert format_value(np.float32(-181.26), "HU") == "-181.3 HU"
    assert format_value(np.array([1, 2, 3]), "") == "(1, 2, 3)"
    assert session.cursor_text(10, 20, -5.0).startswith("x 10, y 20 · -5 HU · (")
    assert session.panel_value_text("RMISR-BL − bicubic", 1, 2, 12.0).endswith("· +12 HU")
    assert session.load_presets() == ""
    names = [n for n, _ in session.presets]
    assert names[0] == "Lung" and names[-1].startswith("File:")
    broken = tmp_path / "presets.json"
    broken.write_text("{broken", encoding="utf-8")
    assert "not valid JSON" in session.load_presets(str(broken))
    assert all(n.startswith("File:") for n, _ in session.presets)


def test_the_session_and_the_jobs_data_import_neither_qt_nor_torch():
    """app.session names the jobs' request and result types (app.jobs) without importing the
    window's worker module, which imports Qt."""
    import subprocess

    code = ("import sys, app.session, app.jobs\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PyQt5', 'torch')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
