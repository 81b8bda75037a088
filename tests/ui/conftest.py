"""Shared fixtures of the viewer tests (pytest-qt, offscreen).

The engine is real but small: the ROI is at most 64×64 and the tests run Bicubic plus one network.
When ``weights/manifest.json`` has no network for ×2.5 yet, a randomly initialised RMISR-BL (meta
upsampler) is exported to a temporary weights folder: the tests check wiring, not image quality.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

TEST_SCALE = 2.5
TEST_ROI = (200, 180, 48, 48)


@pytest.fixture(scope="session")
def engine_setup(tmp_path_factory):
    """(SuperResolver on CPU, network method name) shared by the session."""
    from models import SuperResolver
    from models.manifest import WEIGHTS_DIR, WeightsRecord, export_weights
    from models.registry import create_model

    real = SuperResolver(device="cpu", weights_dir=WEIGHTS_DIR)
    for method in ("rmisr-bl", "srcnn", "rmisr-vp"):
        if real.available(method, TEST_SCALE):
            return real, method
    tmp = tmp_path_factory.mktemp("weights")
    export_weights(create_model("rmisr_bl", scale=None, upsampler="meta"),
                   WeightsRecord(file="rmisr_bl_random.safetensors", method="rmisr-bl",
                                 arch="rmisr_bl", arch_args={"scale": None, "upsampler": "meta"},
                                 scale_range=[1.1, 5.0]), tmp)
    return SuperResolver(device="cpu", weights_dir=tmp), "rmisr-bl"


@pytest.fixture(scope="session")
def resolver(engine_setup):
    return engine_setup[0]


@pytest.fixture(scope="session")
def network(engine_setup):
    return engine_setup[1]


@pytest.fixture
def settings(tmp_path):
    from PyQt5.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, resolver, settings):
    """The main window on the bundled sample, engine loaded, 1280×800."""
    from app.ui.main_window import MainWindow

    win = MainWindow(resolver=resolver, settings=settings)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_sample()
    qtbot.waitUntil(lambda: win.runs.loader is not None and not win.runs.loader.isRunning(),
                    timeout=20000)
    qtbot.waitUntil(lambda: win.controls.device_label.text() == "CPU", timeout=5000)
    yield win
    if win.is_running():
        win.cancel()
        qtbot.waitUntil(lambda: not win.is_running(), timeout=20000)
    win.close()


@pytest.fixture
def run_job(qtbot):
    """``run_job(win)``: start a job and wait until it has finished (any outcome)."""
    def run(win, timeout=60000):
        assert win.run(), win.last_message()
        qtbot.waitUntil(lambda: not win.is_running(), timeout=timeout)
        return win.last_result
    return run
