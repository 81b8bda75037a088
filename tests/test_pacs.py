"""DICOM networking against a real PACS: Orthanc, started once for this module
(``tests/_orthanc.py``) on free loopback ports and seeded with the sample chest CT series.

Covers C-ECHO, C-FIND (study and series level), C-GET and C-MOVE (Orthanc as the mover) into the
retrieve cache, C-STORE, the round trip retrieve → super-resolve (``rmisr-sr``) → send → find the
derived series under the source's Study Instance UID with the scaled spacing, and the errors: a
stopped server, a wrong called AE title, a refused store (storage full), an association that is
never answered, a retrieve that fails half-way (nothing left in the cache), a cancelled retrieve,
a query with no match (empty, not an error).
"""
from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from app.net import (AssociationAbortedError, AssociationRejectedError, PacsConfig,
                     PacsConfigError, PacsConnectionError, PacsNode, PacsTimeoutError,
                     RetrieveCache, RetrieveCancelled, RetrieveFailedError, StoreRefusedError,
                     StudyQuery, Timeouts, UnknownNodeError, echo, find_series, find_studies,
                     load_config, retrieve_series, save_config, store)
from app.net import retrieve
from tests import _orthanc
from tests._orthanc import CLIENT_AET, ORTHANC_AET, OrthancServer, SeedSet, pacs  # noqa: F401

FAST = Timeouts(connect=3, acse=5, dimse=15, network=15)


@pytest.fixture
def cfg(pacs: tuple[OrthancServer, SeedSet]) -> PacsConfig:
    server, _ = pacs
    return PacsConfig(local_ae=CLIENT_AET, move_port=server.client_port, timeouts=FAST,
                      nodes=(PacsNode("test", ORTHANC_AET, "127.0.0.1", server.dicom_port),))


@pytest.fixture
def node(cfg: PacsConfig) -> PacsNode:
    return cfg.node("test")


@pytest.fixture
def cache(tmp_path: Path) -> RetrieveCache:
    return RetrieveCache(tmp_path / "cache", max_bytes=200 * 1024 * 1024)


def _sample_study(seed: SeedSet) -> tuple[str, str]:
    """The sample's (study, series) UIDs."""
    ds = pydicom.dcmread(_orthanc.SAMPLE, stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


# --------------------------------------------------------------------------- happy paths


def test_echo(node: PacsNode, cfg: PacsConfig) -> None:
    assert echo(node, cfg) < FAST.acse


def test_find_studies_and_series(pacs, node: PacsNode, cfg: PacsConfig) -> None:
    _, seed = pacs
    study_uid, series_uid = _sample_study(seed)
    studies = find_studies(node, cfg, StudyQuery())
    assert {s.study_uid for s in studies} >= set(seed.studies)
    sample = next(s for s in studies if s.study_uid == study_uid)
    assert sample.patient_id == "Lung_Dx-A0001" and sample.study_date == "20070404"
    assert sample.modalities == "CT"
    # matching keys: name wildcard, ID, date range, modality
    by_name = find_studies(node, cfg, StudyQuery(patient_name="Lung_Dx-A0001*"))
    assert [s.study_uid for s in by_name] == [study_uid]
    assert [s.study_uid for s in find_studies(node, cfg, StudyQuery(
        patient_id="Lung_Dx-A0001", date_from="20070401", date_to="20070410",
        modality="CT"))] == [study_uid]
    assert find_studies(node, cfg, StudyQuery(date_from="20080101")) == []
    assert find_studies(node, cfg, StudyQuery(patient_name="NOBODY*")) == []  # empty, no error
    series = find_series(node, cfg, study_uid)
    assert [s.series_uid for s in series] == [series_uid]
    assert series[0].modality == "CT" and series[0].description == "5mm"
    assert series[0].n_instances == seed.series_size(series_uid)
    assert find_series(node, cfg, study_uid, modality="MR") == []


def test_find_rejects_a_bad_date(node: PacsNode, cfg: PacsConfig) -> None:
    with pytest.raises(ValueError, match="YYYYMMDD"):
        find_studies(node, cfg, StudyQuery(date_from="2007-04-04"))
    with pytest.raises(ValueError, match="ends before"):
        find_studies(node, cfg, StudyQuery(date_from="20080101", date_to="20070101"))


@pytest.mark.parametrize("method", ["get", "move"])
def test_retrieve(pacs, node: PacsNode, cfg: PacsConfig, cache: RetrieveCache,
                  method: str) -> None:
    _, seed = pacs
    study_uid, series_uid = _sample_study(seed)
    calls: list[tuple[int, int]] = []
    expected = seed.series_size(series_uid)
    folder = retrieve_series(node, cfg, study_uid, series_uid, cache=cache, method=method,
                             expected=expected, progress=lambda a, b: calls.append((a, b)))
    files = sorted(folder.iterdir())
    assert folder == cache.series_dir(series_uid) and len(files) == expected
    got = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
    assert got == set(seed.studies[study_uid][series_uid])
    assert calls[-1] == (expected, expected)
    assert not list(cache.root.glob(".partial-*"))
    # the image reads back (pixels included) as the viewer would open it
    from app.io import read_image
    assert read_image(files[0]).pixels.shape == (512, 512)


def test_store_then_find(pacs, node: PacsNode, cfg: PacsConfig, tmp_path: Path) -> None:
    server, _ = pacs
    ds = pydicom.dcmread(_orthanc.SAMPLE)
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SeriesNumber = 77
    path = tmp_path / "copy.dcm"
    ds.save_as(path, enforce_file_format=True)
    results = store(node, cfg, [path])
    assert [(r.ok, r.status, r.sop_instance_uid) for r in results] == [
        (True, 0, ds.SOPInstanceUID)]
    assert server.find_series(ds.SeriesInstanceUID)
    series = find_series(node, cfg, str(ds.StudyInstanceUID))
    assert ds.SeriesInstanceUID in {s.series_uid for s in series}


def test_round_trip_retrieve_super_resolve_send(pacs, node: PacsNode, cfg: PacsConfig,
                                                 cache: RetrieveCache, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    """Retrieve the series, super-resolve it ×2 with ``rmisr-sr --send``, and find the derived
    series in Orthanc: same Study Instance UID, new Series Instance UID, spacing halved."""
    from app import cli

    server, seed = pacs
    study_uid, series_uid = _sample_study(seed)
    folder = retrieve_series(node, cfg, study_uid, series_uid, cache=cache)
    config_file = tmp_path / "pacs.json"
    save_config(cfg, config_file)
    monkeypatch.setenv("RMISR_PACS_CONFIG", str(config_file))
    out = tmp_path / "out"
    files = sorted(folder.iterdir())[:2]
    status = cli.main([*map(str, files), "-o", str(out), "--scale", "2", "--method", "bicubic",
                       "--roi", "200,180,64,64", "--send", "test"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    written = sorted(out.glob("*.dcm"))
    assert len(written) == 2
    assert "stored 2 of 2" in captured.err
    derived = pydicom.dcmread(written[0], stop_before_pixels=True)
    assert derived.StudyInstanceUID == study_uid and derived.SeriesInstanceUID != series_uid
    series = {s.series_uid: s for s in find_series(node, cfg, study_uid)}
    assert series[derived.SeriesInstanceUID].n_instances == 2
    # what the PACS holds is the derived file: spacing ÷ 2, DERIVED image type
    source = pydicom.dcmread(files[0], stop_before_pixels=True)
    back = retrieve_series(node, cfg, study_uid, str(derived.SeriesInstanceUID), cache=cache)
    stored = pydicom.dcmread(next(back.iterdir()), stop_before_pixels=True)
    assert [float(v) for v in stored.PixelSpacing] == pytest.approx(
        [float(v) / 2 for v in source.PixelSpacing])
    assert stored.ImageType[0] == "DERIVED" and (stored.Rows, stored.Columns) == (128, 128)


def test_rmisr_pacs_cli(pacs, cfg: PacsConfig, tmp_path: Path,
                        capsys: pytest.CaptureFixture) -> None:
    from app.net import cli as pacs_cli

    _, seed = pacs
    study_uid, series_uid = _sample_study(seed)
    conf = str(tmp_path / "pacs.json")
    server, _ = pacs
    assert pacs_cli.main(["--config", conf, "add-node", "test", ORTHANC_AET, "127.0.0.1",
                          str(server.dicom_port), "--local-ae", CLIENT_AET]) == 0
    assert pacs_cli.main(["--config", conf, "set", "--timeout", "5", "--move-port",
                          str(server.client_port)]) == 0
    assert load_config(conf).node("test").port == server.dicom_port
    capsys.readouterr()
    assert pacs_cli.main(["--config", conf, "echo", "test"]) == 0
    assert "C-ECHO ok" in capsys.readouterr().out
    assert pacs_cli.main(["--config", conf, "find", "test", "--patient-id",
                          "Lung_Dx-A0001"]) == 0
    assert capsys.readouterr().out.split("\t")[0] == study_uid
    assert pacs_cli.main(["--config", conf, "find", "test", "--study", study_uid]) == 0
    assert capsys.readouterr().out.startswith(series_uid + "\tCT\t")
    out = tmp_path / "got"
    assert pacs_cli.main(["--config", conf, "get", "test", study_uid, series_uid, "-o",
                          str(out), "--move"]) == 0
    assert len(list(out.iterdir())) == seed.series_size(series_uid)
    (out / "notes.txt").write_text("not DICOM")  # a folder's other files: skipped, not fatal
    capsys.readouterr()
    assert pacs_cli.main(["--config", conf, "send", "test", str(out)]) == 0
    sent = capsys.readouterr()
    assert len(sent.out.splitlines()) == seed.series_size(series_uid)
    assert "notes.txt: not a DICOM file, not sent" in sent.err
    assert pacs_cli.main(["--config", conf, "echo", "nowhere"]) == 1
    assert "no PACS node named 'nowhere'" in capsys.readouterr().err


# --------------------------------------------------------------------------- errors


def test_wrong_called_ae_title_is_rejected(pacs, cfg: PacsConfig) -> None:
    server, _ = pacs
    wrong = PacsNode("wrong", "NOT_ORTHANC", "127.0.0.1", server.dicom_port)
    with pytest.raises(AssociationRejectedError, match="Called AE title not recognised") as e:
        echo(wrong, cfg)
    assert e.value.reason == "Called AE title not recognised"
    assert "'NOT_ORTHANC'" in e.value.message


def test_a_rejection_is_never_read_as_an_abort(pacs, cfg: PacsConfig) -> None:
    """Orthanc closes the connection right after its A-ASSOCIATE-RJ; pynetdicom sometimes handles
    the close first and reports an abort (6 of 40 tries on a loaded 2-core machine before the
    client kept the decoded PDU): every try must say why it was rejected."""
    server, _ = pacs
    wrong = PacsNode("wrong", "NOT_ORTHANC", "127.0.0.1", server.dicom_port)
    for _ in range(25):
        with pytest.raises(AssociationRejectedError, match="Called AE title not recognised"):
            echo(wrong, cfg)


def test_stopped_server_is_connection_refused(cfg: PacsConfig) -> None:
    dead = PacsNode("dead", ORTHANC_AET, "127.0.0.1", _orthanc.free_port())
    with pytest.raises(PacsConnectionError, match="connection refused"):
        echo(dead, cfg)
    with pytest.raises(PacsConnectionError, match="connection refused"):
        find_studies(dead, cfg, StudyQuery())


def test_stopped_orthanc_is_connection_refused(tmp_path: Path, cfg: PacsConfig) -> None:
    """A PACS that was answering and has stopped: a specific refusal, not a hang."""
    server = OrthancServer(tmp_path / "o", client_port=_orthanc.free_port())
    server.start()
    node = PacsNode("brief", ORTHANC_AET, "127.0.0.1", server.dicom_port)
    assert echo(node, cfg) > 0
    server.stop()
    with pytest.raises(PacsConnectionError, match="connection refused"):
        echo(node, cfg)


def test_silent_peer_times_out(cfg: PacsConfig) -> None:
    """A peer that accepts the TCP connection and never answers the association request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    held: list[socket.socket] = []
    t = threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True)
    t.start()
    quick = PacsConfig(local_ae=CLIENT_AET, timeouts=Timeouts(1, 1, 1, 1))
    node = PacsNode("silent", "SILENT", "127.0.0.1", listener.getsockname()[1])
    try:
        with pytest.raises(PacsTimeoutError, match="within 1 s"):
            echo(node, quick)
    finally:
        for s in held:
            s.close()
        listener.close()


def test_store_refused_when_storage_is_full(pacs, node: PacsNode, cfg: PacsConfig,
                                            tmp_path: Path) -> None:
    """Orthanc holds its maximum number of patients, all protected: another patient's instance
    cannot be stored (0xA700, out of resources), and the message names the status."""
    ds = pydicom.dcmread(_orthanc.SAMPLE)
    ds.PatientID, ds.PatientName = "OTHER-PATIENT", "Other^Patient"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = tmp_path / "other.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(StoreRefusedError, match=r"refused 1 of 1 .*0xA700") as e:
        store(node, cfg, [path])
    assert [(r.ok, r.status) for r in e.value.results] == [(False, 0xA700)]
    results = store(node, cfg, [path], raise_on_refusal=False)
    assert not results[0].ok and "out of resources" in results[0].message


def test_retrieve_failing_half_way_leaves_nothing(pacs, node: PacsNode, cfg: PacsConfig,
                                                  cache: RetrieveCache,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills after two instances: the PACS reports failed sub-operations, the error
    says how many arrived, and no partial series stays in the cache."""
    _, seed = pacs
    study_uid, series_uid = _sample_study(seed)
    original = retrieve._Receiver.write
    count = {"n": 0}

    def failing(self, path, data):  # type: ignore[no-untyped-def]
        count["n"] += 1
        if count["n"] > 2:
            raise OSError(28, "No space left on device")
        original(self, path, data)

    monkeypatch.setattr(retrieve._Receiver, "write", failing)
    with pytest.raises(RetrieveFailedError, match="delivered 2 of") as e:
        retrieve_series(node, cfg, study_uid, series_uid, cache=cache)
    assert "No space left on device" in e.value.message and e.value.received == 2
    assert not cache.series_dir(series_uid).exists()
    assert list(cache.root.iterdir()) == []


def test_cancelled_retrieve_leaves_nothing(pacs, node: PacsNode, cfg: PacsConfig,
                                           cache: RetrieveCache) -> None:
    _, seed = pacs
    study_uid, series_uid = _sample_study(seed)
    got: list[int] = []
    with pytest.raises(RetrieveCancelled):
        retrieve_series(node, cfg, study_uid, series_uid, cache=cache,
                        progress=lambda a, b: got.append(a), cancelled=lambda: len(got) >= 1)
    assert list(cache.root.iterdir()) == []


def test_move_to_an_unknown_destination(pacs, node: PacsNode, cfg: PacsConfig,
                                        cache: RetrieveCache) -> None:
    from dataclasses import replace

    _, seed = pacs
    study_uid, series_uid = _sample_study(seed)
    stranger = replace(cfg, local_ae="STRANGER", move_port=_orthanc.free_port())
    with pytest.raises(AssociationAbortedError, match="'STRANGER'.*registered") as e:
        retrieve_series(node, stranger, study_uid, series_uid, cache=cache, method="move")
    assert "aborted the association during the C-MOVE" in e.value.message
    assert list(cache.root.iterdir()) == []


def test_no_patient_data_in_logs(pacs, node: PacsNode, cfg: PacsConfig, cache: RetrieveCache,
                                 caplog: pytest.LogCaptureFixture) -> None:
    _, seed = pacs
    study_uid, series_uid = _sample_study(seed)
    with caplog.at_level(logging.DEBUG):
        find_studies(node, cfg, StudyQuery(patient_name="Lung*"))
        find_series(node, cfg, study_uid)
        retrieve_series(node, cfg, study_uid, series_uid, cache=cache)
    text = caplog.text
    assert "match" in text and "retrieved" in text
    assert "Lung_Dx" not in text and "Lung*" not in text


# --------------------------------------------------------------------------- settings, cache


def test_config_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "pacs.json"
    assert load_config(path) == PacsConfig()  # missing file: defaults
    cfg = PacsConfig(local_ae="ME", retrieve="move", move_port=4242,
                     nodes=(PacsNode("a", "PACS_A", "pacs-a", 104),))
    save_config(cfg, path)
    assert load_config(path) == cfg
    with pytest.raises(UnknownNodeError, match="known: a"):
        cfg.node("b")
    for bad, msg in [('{"local_ae": "A\\\\B"}', "backslash"),
                     ('{"local_ae": "THIS_IS_TOO_LONG_TITLE"}', "longer than 16"),
                     ('{"retrieve": "push"}', "retrieve must be"),
                     ('{"nodes": [{"name": "x", "ae_title": "X", "host": "h", "port": 0}]}',
                      "outside 1-65535"),
                     ('{"timeouts": {"acse": -1}}', "timeout acse"),
                     ('{"nodes": [{"name": "x", "ae_title": "X", "host": "h", "port": true}]}',
                      "not a whole number"),
                     ('{"nodes": [{"name": "x", "ae_title": "X", "host": "h", "port": 104.9}]}',
                      "not a whole number"),
                     ("{not json", "not valid JSON")]:
        path.write_text(bad)
        with pytest.raises(PacsConfigError, match=msg):
            load_config(path)
    # Latin-1 text is named, not a traceback; a UTF-8 byte-order mark is read
    path.write_bytes('{"local_ae": "Radiología"}'.encode("latin-1"))
    with pytest.raises(PacsConfigError, match="is not UTF-8 text"):
        load_config(path)
    path.write_bytes(b"\xef\xbb\xbf" + b'{"local_ae": "ME"}')
    assert load_config(path).local_ae == "ME"



def test_config_is_written_atomically_and_a_failure_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pacs.json"
    save_config(PacsConfig(local_ae="ME"), path)
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pacs.json"]  # no part or lock left
    folder = tmp_path / "a_folder"
    folder.mkdir()
    with pytest.raises(PacsConfigError, match="cannot write .*a_folder"):
        save_config(PacsConfig(), folder)


def test_per_user_folders_follow_the_platform(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from app.net import cache_root, config_path
    from app.net.user_dirs import user_dir

    monkeypatch.delenv("RMISR_PACS_CONFIG", raising=False)
    monkeypatch.delenv("RMISR_PACS_CACHE", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert config_path() == tmp_path / "cfg" / "rmisr" / "pacs.json"
    assert cache_root() == tmp_path / "cache" / "rmisr" / "pacs"
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert user_dir("config") == tmp_path / "roaming" / "rmisr"
    assert cache_root() == tmp_path / "local" / "rmisr" / "pacs"
    monkeypatch.setattr("sys.platform", "darwin")
    assert user_dir("cache") == Path.home() / "Library" / "Caches" / "rmisr"
    with pytest.raises(ValueError, match="unknown per-user folder"):
        user_dir("data")

def test_cache_evicts_oldest(tmp_path: Path) -> None:
    import os
    import time

    cache = RetrieveCache(tmp_path / "c", max_bytes=10_000)
    for i, uid in enumerate(["1.1", "1.2", "1.3"]):
        with cache.partial(uid) as folder:
            (folder / "a.dcm").write_bytes(b"x" * 1000)
        os.utime(cache.series_dir(uid), (time.time() - 100 + i, time.time() - 100 + i))
    cache.touch("1.1")  # used again: now the newest
    cache.max_bytes = 2500
    assert cache.evict() == [cache.series_dir("1.2")]
    assert [p.name for p in cache.series()] == ["1.3", "1.1"]
    with pytest.raises(RuntimeError):
        with cache.partial("1.4") as folder:
            (folder / "a.dcm").write_bytes(b"x")
            raise RuntimeError("network down")
    assert not cache.series_dir("1.4").exists() and not list(cache.root.glob(".partial-*"))
    with cache.partial("1.5") as folder:  # a completed retrieve trims the cache, keeping itself
        (folder / "a.dcm").write_bytes(b"x" * 2000)
    assert [p.name for p in cache.series()] == ["1.5"]


def test_rmisr_sr_send_to_an_unknown_node_is_a_usage_error(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    from app import cli

    monkeypatch.setenv("RMISR_PACS_CONFIG", str(tmp_path / "none.json"))
    out = tmp_path / "out"
    assert cli.main([str(_orthanc.SAMPLE), "-o", str(out), "--scale", "2", "--method",
                     "bicubic", "--send", "nowhere"]) == 2
    assert "--send: no PACS node named 'nowhere'" in capsys.readouterr().err
    assert not out.exists()  # refused before anything was written


def test_a_store_aborted_half_way_says_what_was_stored(tmp_path: Path) -> None:
    """A PACS that aborts the association after two of five instances: the results say which
    two were stored and that the rest were not sent (they were lost with the error before), and
    the message does not send the user to the AE-title registration."""
    import time

    from pynetdicom import AE, AllStoragePresentationContexts, evt

    count = [0]

    def on_store(event):
        count[0] += 1
        if count[0] > 2:
            threading.Thread(target=event.assoc.abort, daemon=True).start()
            time.sleep(0.5)
        return 0x0000

    scp = AE("ABORTS")
    for cx in AllStoragePresentationContexts:
        scp.add_supported_context(cx.abstract_syntax, ["1.2.840.10008.1.2.1",
                                                       "1.2.840.10008.1.2"])
    server = scp.start_server(("127.0.0.1", 0), block=False,
                              evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        quick = PacsConfig(local_ae=CLIENT_AET, timeouts=Timeouts(3, 5, 10, 10))
        node = PacsNode("aborts", "ABORTS", "127.0.0.1", server.server_address[1])
        files = []
        for k in range(5):
            ds = pydicom.dcmread(_orthanc.SAMPLE)
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            files.append(tmp_path / f"i{k}.dcm")
            ds.save_as(files[-1], enforce_file_format=True)
        results = store(node, quick, files, raise_on_refusal=False)
        assert [r.ok for r in results] == [True, True, False, False, False]
        assert results[2].status is None and results[2].message.startswith("no answer: ")
        assert all(r.status is None and r.message.startswith("not sent: ") for r in results[3:])
        assert "after 2 instance(s)" in results[2].message and "AE title" not in results[2].message
        count[0] = 0
        with pytest.raises(AssociationAbortedError, match="2 of 5 instance"):
            store(node, quick, files)
    finally:
        server.shutdown()


def test_send_files_tells_refused_from_not_stored(monkeypatch, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    """An instance the PACS refused (a status) and one it never answered or was never sent
    (no status) are told apart per line and in the summary."""
    from app.net import StoreResult, cli as pacs_cli, scu

    a, b = tmp_path / "a.dcm", tmp_path / "b.dcm"
    monkeypatch.setattr(scu, "store", lambda *x, **k: [
        StoreResult(a, "1.1", 0x0000, "success"), StoreResult(b, "1.2", None, "no answer: x")])
    cfg = PacsConfig(nodes=(PacsNode("n", "N", "h", 104),))
    lines: list[str] = []
    assert pacs_cli.send_files("n", [a, b], config=cfg, say=lines.append,
                               error=lines.append) == 1
    assert lines[1].split("\t")[2] == "NOT STORED" and "REFUSED" not in lines[1]
    assert "did not store 1 of 2 instance(s)" in lines[2]
