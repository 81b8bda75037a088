"""A real PACS for the tests: Orthanc (Debian package ``orthanc``) started on free loopback ports.

:class:`OrthancServer` writes a JSON configuration into a temporary folder (storage, index, log),
starts ``Orthanc`` as a child process, waits until its REST API answers, seeds it over REST and
stops it (SIGTERM, then SIGKILL) at the end. Its DICOM side:

* ``DicomAet`` = :data:`ORTHANC_AET`, ``DicomCheckCalledAet`` on (a wrong called AE title is
  rejected: "Called AE title not recognised");
* the test client's AE title registered in ``DicomModalities`` with its loopback storage port, so
  Orthanc can C-MOVE to it and answers its C-FIND / C-GET;
* ``MaximumPatientCount`` = the number of seeded patients, all protected after seeding: a store
  of another patient cannot recycle anything, and Orthanc refuses it (storage full).

The seed is the repository's own sample slice plus slices generated from it (same patient, study
and series, new SOP Instance UIDs and positions), and the chest CT slices of
``../shared/data/medical/ct`` when that folder exists: the tests never depend on ``../shared``.

``.ci/run`` installs ``orthanc`` when missing and sets ``RMISR_REQUIRE_ORTHANC=1``, which turns
"Orthanc missing" from a skip into a failure.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

__all__ = ["pacs", "ORTHANC", "ORTHANC_AET", "CLIENT_AET", "OrthancServer", "free_port", "require",
           "seed_files", "SeedSet"]

ORTHANC = shutil.which("Orthanc") or (
    "/usr/sbin/Orthanc" if os.access("/usr/sbin/Orthanc", os.X_OK) else None)
REQUIRED = os.environ.get("RMISR_REQUIRE_ORTHANC", "") not in ("", "0")
ORTHANC_AET = "ORTHANC_TEST"
CLIENT_AET = "RMISR_TEST"
REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "sample_ct_chest.dcm"
SHARED_CT = REPO.parent / "shared" / "data" / "medical" / "ct"
#: slices generated from the sample (instance numbers next to the sample's 33)
GENERATED = 3


def require() -> None:
    """Skip the calling test when Orthanc is missing (fail when CI requires it)."""
    if ORTHANC is not None:
        return
    reason = "Orthanc (Debian package orthanc) is not installed: apt-get install -y orthanc; " \
             ".ci/run installs it"
    if REQUIRED:
        pytest.fail(reason + " — RMISR_REQUIRE_ORTHANC is set, so this is an error")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SeedSet:
    """The seeded files and what they hold."""

    files: list[Path] = field(default_factory=list)
    #: study UID → series UID → SOP instance UIDs
    studies: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    patients: set[str] = field(default_factory=set)

    def series_size(self, series_uid: str) -> int:
        return next(len(s[series_uid]) for s in self.studies.values() if series_uid in s)


def seed_files(folder: Path) -> SeedSet:
    """Write the seed into ``folder``: the sample, ``GENERATED`` slices derived from it (new SOP
    Instance UIDs, instance numbers 34.., positions one slice thickness apart), and the shared
    chest CT slices when present."""
    import pydicom
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    seed = SeedSet()
    base = pydicom.dcmread(SAMPLE)
    files = [SAMPLE]
    thickness = float(base.get("SliceThickness", 5) or 5)
    for k in range(1, GENERATED + 1):
        ds = copy.deepcopy(base)
        uid = generate_uid()
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.InstanceNumber = int(base.InstanceNumber) + k
        if "ImagePositionPatient" in ds:
            pos = [float(v) for v in ds.ImagePositionPatient]
            ds.ImagePositionPatient = [pos[0], pos[1], pos[2] - k * thickness]
        if "SliceLocation" in ds:
            ds.SliceLocation = float(ds.SliceLocation) - k * thickness
        path = folder / f"generated_{k}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    if SHARED_CT.is_dir():
        files += sorted(SHARED_CT.glob("*.dcm"))
    for path in files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        uids = seed.studies.setdefault(str(ds.StudyInstanceUID), {}).setdefault(
            str(ds.SeriesInstanceUID), [])
        if str(ds.SOPInstanceUID) not in uids:
            uids.append(str(ds.SOPInstanceUID))
        seed.patients.add(str(ds.PatientID))
    seed.files = files
    return seed


class OrthancServer:
    """One Orthanc process with its own configuration and storage under ``workdir``."""

    def __init__(self, workdir: Path, client_port: int, max_patients: int = 0) -> None:
        self.workdir = workdir
        self.dicom_port = free_port()
        self.http_port = free_port()
        while self.http_port == self.dicom_port:
            self.http_port = free_port()
        self.client_port = client_port
        self.max_patients = max_patients
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "orthanc.log"

    # --------------------------------------------------------------------- process
    def config(self) -> dict:
        return {
            "Name": "RMISR test PACS",
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "storage"),
            "Plugins": [],
            "HttpServerEnabled": True,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomServerEnabled": True,
            "DicomAet": ORTHANC_AET,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": True,
            "DicomModalities": {"rmisr": [CLIENT_AET, "127.0.0.1", self.client_port]},
            "DicomScpTimeout": 10,
            "MaximumPatientCount": self.max_patients,
            "SaveJobs": False,
            "StableAge": 1,
        }

    def start(self, timeout: float = 30.0) -> None:
        require()
        assert ORTHANC is not None
        (self.workdir / "storage").mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / "orthanc.json"
        cfg.write_text(json.dumps(self.config(), indent=2))
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([ORTHANC, str(cfg)], stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.workdir, start_new_session=True)
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited with status {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                self.rest("GET", "/system")
                with socket.create_connection(("127.0.0.1", self.dicom_port), timeout=1):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {timeout:.0f} s:\n" + self.log_tail())

    def stop(self) -> None:
        """Stop the process this object started (SIGTERM, then SIGKILL after 10 s)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # --------------------------------------------------------------------- REST
    def rest(self, method: str, path: str, body: bytes | None = None) -> object:
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=body,
                                     method=method)
        with urllib.request.urlopen(req, timeout=10) as rsp:
            data = rsp.read()
        return json.loads(data) if data else None

    def upload(self, path: Path) -> dict:
        return self.rest("POST", "/instances", path.read_bytes())  # type: ignore[return-value]

    def seed(self, seed: SeedSet) -> None:
        """Upload the seed over REST and protect every patient (nothing can be recycled)."""
        for path in seed.files:
            self.upload(path)
        for pid in self.rest("GET", "/patients"):  # type: ignore[union-attr]
            self.rest("PUT", f"/patients/{pid}/protected", b"1")

    def find_series(self, series_uid: str) -> list[str]:
        """Orthanc ids of the series with this Series Instance UID."""
        body = json.dumps({"Level": "Series", "Query": {"SeriesInstanceUID": series_uid}})
        return self.rest("POST", "/tools/find", body.encode())  # type: ignore[return-value]


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OrthancServer, SeedSet]]:
    """A seeded Orthanc for the module (import this fixture into the test module)."""
    require()
    root = tmp_path_factory.mktemp("orthanc")
    seed = seed_files(root / "seed")
    server = OrthancServer(root / "server", client_port=free_port(),
                           max_patients=len(seed.patients))
    server.start()
    try:
        server.seed(seed)
        yield server, seed
    finally:
        server.stop()
