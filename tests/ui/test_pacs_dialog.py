"""File ▸ Open from PACS… and Send derived DICOM to PACS… against a real Orthanc
(``tests/_orthanc.py``): search, series list, retrieve with progress, the series opened as a folder
with slice paging; a send with per-instance results, a refused instance shown as such; errors in
the dialog's status, never a blocked window."""
from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from app.net import PacsConfig, PacsNode, RetrieveCache, Timeouts, load_config, save_config
from tests import _orthanc
from tests._orthanc import CLIENT_AET, ORTHANC_AET, pacs  # noqa: F401


@pytest.fixture
def config_file(pacs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    server, _ = pacs
    path = tmp_path / "pacs.json"
    save_config(PacsConfig(local_ae=CLIENT_AET, move_port=server.client_port,
                           timeouts=Timeouts(3, 5, 15, 15),
                           nodes=(PacsNode("orthanc", ORTHANC_AET, "127.0.0.1",
                                           server.dicom_port),)), path)
    monkeypatch.setenv("RMISR_PACS_CONFIG", str(path))
    monkeypatch.setenv("RMISR_PACS_CACHE", str(tmp_path / "cache"))
    return path


def _sample_uids() -> tuple[str, str]:
    ds = pydicom.dcmread(_orthanc.SAMPLE, stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


def test_open_from_pacs_opens_the_series(qtbot, window, pacs, config_file) -> None:  # noqa: F811
    _, seed = pacs
    study_uid, series_uid = _sample_uids()
    dlg = window.open_pacs_dialog()
    assert dlg.node_bar.combo.currentData() == "orthanc"
    dlg.patient_id.setText("Lung_Dx-A0001")
    dlg.search()
    assert dlg.busy()  # the search runs in its thread; the window is not blocked
    qtbot.waitUntil(lambda: len(dlg.series) == 1, timeout=15000)  # one study: chosen at once
    assert [s.study_uid for s in dlg.studies] == [study_uid]
    assert dlg.study_table.item(0, 0).text() == "Lung_Dx-A0001"
    n = seed.series_size(series_uid)
    assert dlg.series_table.item(0, 3).text() == str(n)
    assert dlg.retrieve_button.isEnabled()
    with qtbot.waitSignal(dlg.seriesRetrieved, timeout=20000) as sig:
        dlg.retrieve()
    folder = sig.args[0]
    assert len(list(folder.iterdir())) == n
    qtbot.waitUntil(lambda: len(window.stack()) == n, timeout=20000)
    assert window.image is not None and window.image.kind == "dicom"
    assert {p.parent for p, _ in window.stack()} == {folder}


def test_search_errors_are_shown_in_the_dialog(qtbot, window, config_file) -> None:
    dlg = window.open_pacs_dialog()
    dlg.date_from.setText("2007-04")
    dlg.search()
    assert "YYYYMMDD" in dlg.status.text() and not dlg.busy()
    cfg = load_config(config_file)
    dead = PacsNode("dead", ORTHANC_AET, "127.0.0.1", _orthanc.free_port())
    dlg.config = cfg.with_node(dead)
    dlg.node_bar.fill(dlg.config, "dead")
    dlg.date_from.clear()
    dlg.search()
    qtbot.waitUntil(lambda: not dlg.busy(), timeout=10000)
    assert "connection refused" in dlg.status.text()
    dlg.node_bar.fill(cfg, "orthanc")
    dlg.patient_name.setText("NOBODY*")
    dlg.search()
    qtbot.waitUntil(lambda: not dlg.busy(), timeout=10000)
    assert dlg.status.text().startswith("0 studies found")
    dlg.reject()


def test_send_dialog_per_instance_results(qtbot, window, pacs, config_file,  # noqa: F811
                                          tmp_path: Path) -> None:
    server, _ = pacs
    good = pydicom.dcmread(_orthanc.SAMPLE)
    good.SeriesInstanceUID = generate_uid()
    good.SOPInstanceUID = good.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    other = pydicom.dcmread(_orthanc.SAMPLE)  # another patient: the full PACS refuses it
    other.PatientID = "ANOTHER"
    other.StudyInstanceUID, other.SeriesInstanceUID = generate_uid(), generate_uid()
    other.SOPInstanceUID = other.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    files = [tmp_path / "good.dcm", tmp_path / "other.dcm"]
    good.save_as(files[0], enforce_file_format=True)
    other.save_as(files[1], enforce_file_format=True)
    dlg = window.send_to_pacs_dialog(files)
    dlg.send()
    qtbot.waitUntil(lambda: len(dlg.results) == 2, timeout=15000)
    assert dlg.table.item(0, 1).text().startswith("stored")
    assert dlg.table.item(1, 1).text().startswith("REFUSED") and "0xA700" in \
        dlg.table.item(1, 1).text()
    assert dlg.status.text() == "1 of 2 instance(s) stored"
    assert server.find_series(str(good.SeriesInstanceUID))


def test_nodes_dialog_saves_for_the_cli_too(qtbot, config_file) -> None:
    from app.ui.pacs_nodes import NodesDialog

    dlg = NodesDialog(load_config(config_file))
    qtbot.addWidget(dlg)
    dlg.add_node_row("second", "PACS2", "pacs2.example.org", "11112")
    dlg.local_ae.setText("VIEWER")
    dlg.accept_settings()
    assert dlg.result_config is not None
    assert dlg.result_config.node("second").port == 11112
    dlg2 = NodesDialog(load_config(config_file))
    qtbot.addWidget(dlg2)
    dlg2.add_node_row("bad", "A\\B", "h", "1")
    dlg2.accept_settings()
    assert dlg2.result_config is None and "backslash" in dlg2.error.text()


def test_closing_the_dialog_mid_retrieve_cancels_it(qtbot, window, pacs,  # noqa: F811
                                                    config_file, tmp_path: Path) -> None:
    from app.ui import pacs_tasks

    cache = RetrieveCache(tmp_path / "own-cache")
    dlg = window.open_pacs_dialog()
    dlg.cache = cache
    dlg.patient_id.setText("Lung_Dx-A0001")
    dlg.search()
    qtbot.waitUntil(lambda: len(dlg.series) >= 1 and not dlg.busy(), timeout=15000)
    _, series_uid = _sample_uids()
    dlg.series_table.selectRow([s.series_uid for s in dlg.series].index(series_uid))
    dlg.retrieve()
    task = dlg.task
    assert task is not None
    dlg.reject()  # closing cancels; the task ends by itself and keeps nothing
    qtbot.waitUntil(lambda: not task.isRunning() and task not in pacs_tasks._RUNNING,
                    timeout=20000)
    assert not list(cache.root.glob(".partial-*"))
    assert window.stack() == [] or all(p.parent != cache.root for p, _ in window.stack())


def test_a_failed_series_listing_leaves_no_other_study_s_series(qtbot, tmp_path) -> None:
    """Choosing another study clears the series listed for the one before: when its own
    listing fails (the PACS went away) nothing of the other study, maybe another patient's,
    is left to retrieve; and a retrieve never takes a series of a study not chosen."""
    from app.net import Series, Study
    from app.ui.pacs_dialog import PacsDialog

    path = tmp_path / "pacs.json"
    save_config(PacsConfig(local_ae=CLIENT_AET, timeouts=Timeouts(2, 2, 2, 2),
                           nodes=(PacsNode("down", ORTHANC_AET, "127.0.0.1",
                                           _orthanc.free_port()),)), path)
    dlg = PacsDialog(config_file=path)
    qtbot.addWidget(dlg)

    def study(uid: str, patient: str) -> Study:
        return Study(uid, patient, patient, "20260101", "", "", "", "CT", 1, 1)

    dlg._show_studies([study("1.2.1", "A"), study("1.2.2", "B")])
    dlg.study_table.selectRow(0)  # its listing fails: the PACS is down
    qtbot.waitUntil(lambda: not dlg.busy(), timeout=15000)
    a_series = Series("1.2.1", "1.2.1.9", "CT", "lungs", 1, 1)
    dlg._show_series([a_series])  # as if A's series had been listed before the PACS went away
    assert dlg.series_table.rowCount() == 1
    dlg.study_table.selectRow(1)
    qtbot.waitUntil(lambda: not dlg.busy(), timeout=15000)
    assert dlg.series == [] and dlg.series_table.rowCount() == 0
    assert not dlg.retrieve_button.isEnabled()
    dlg._show_series([a_series])  # a late answer for A while B is chosen: not shown
    assert dlg.series == [] and "of another study" in dlg.status.text()
    dlg.series = [a_series]  # and even if it were: not retrieved as B's
    dlg.series_table.setRowCount(1)
    dlg.series_table.selectRow(0)
    dlg.retrieve()
    assert not dlg.busy() and "not the chosen study's" in dlg.status.text()


def test_saving_over_an_unreadable_settings_file_keeps_a_copy(tmp_path) -> None:
    """The dialog falls back to empty settings when the file is invalid; saving its nodes then
    must not lose the file's (its other nodes, local AE title): they are kept as .bak."""
    from app.ui.pacs_nodes import save_viewer_config

    path = tmp_path / "pacs.json"
    bad = ('{"local_ae": "MINE", "nodes": [{"name": "x", "ae_title": "X", "host": "h", '
           '"port": 70000}]}')
    path.write_text(bad)
    new = PacsConfig(nodes=(PacsNode("y", "Y", "h", 104),))
    written, backup = save_viewer_config(new, None, path)
    assert written == path and load_config(path) == new
    assert backup == tmp_path / "pacs.json.bak" and backup.read_text() == bad
    written, backup = save_viewer_config(new, None, path)  # now readable: nothing to keep
    assert backup is None and not (tmp_path / "pacs.json.bak2").exists()


def test_cancel_lets_a_query_to_a_silent_pacs_go_at_once(qtbot, tmp_path) -> None:
    """A PACS that takes the association and never answers the C-FIND: Cancel makes the dialog
    usable at once and aborts the association, so the request ends now, not at its timeout."""
    import threading
    import time

    from pynetdicom import AE, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    from app.net.association import _LIVE
    from app.ui.pacs_dialog import PacsDialog

    release, asked = threading.Event(), threading.Event()

    def silent(event):
        asked.set()
        release.wait(30)
        yield 0x0000, None

    scp = AE("SILENT")
    scp.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    server = scp.start_server(("127.0.0.1", 0), block=False,
                              evt_handlers=[(evt.EVT_C_FIND, silent)])
    try:
        path = tmp_path / "pacs.json"
        save_config(PacsConfig(local_ae=CLIENT_AET, timeouts=Timeouts(3, 5, 30, 30),
                               nodes=(PacsNode("silent", "SILENT", "127.0.0.1",
                                               server.server_address[1]),)), path)
        dlg = PacsDialog(config_file=path)
        qtbot.addWidget(dlg)
        dlg.patient_id.setText("X")
        dlg.search()
        task = dlg.task
        qtbot.waitUntil(lambda: asked.is_set() and len(_LIVE) > 0, timeout=10_000)  # waiting
        t0 = time.monotonic()
        dlg.cancel_task()
        assert not dlg.busy() and dlg.search_button.isEnabled()
        assert dlg.status.text() == "Cancelled"
        qtbot.waitUntil(lambda: not task.isRunning(), timeout=10_000)
        assert time.monotonic() - t0 < 5  # not the 30 s DIMSE timeout
        assert dlg.status.text() == "Cancelled"  # the aborted request's error is not shown
    finally:
        release.set()
        server.shutdown()


def test_the_nodes_dialog_keeps_the_timeouts_it_was_not_asked_to_change(qtbot) -> None:
    from app.ui.pacs_nodes import NodesDialog

    cfg = PacsConfig(timeouts=Timeouts(connect=10, acse=30, dimse=60, network=60))
    dlg = NodesDialog(cfg)
    qtbot.addWidget(dlg)
    assert dlg.config().timeouts == cfg.timeouts  # OK without edits: as they were
    dlg.timeout.setValue(20)
    assert dlg.config().timeouts == Timeouts(connect=10, acse=20, dimse=20, network=20)


def test_closing_the_send_dialog_lets_the_instance_in_flight_finish(qtbot, tmp_path) -> None:
    """A send stops between instances (the rows then say which the PACS holds): closing the
    dialog asks its task to stop without aborting the association mid-instance."""
    from app.ui.pacs_dialog import SendDialog

    dlg = SendDialog([tmp_path / "a.dcm"], config_file=tmp_path / "pacs.json")
    qtbot.addWidget(dlg)
    asked = []

    class Task:
        def cancel(self, abort=True):
            asked.append(abort)

    dlg.task = Task()
    dlg.reject()
    assert asked == [False]
