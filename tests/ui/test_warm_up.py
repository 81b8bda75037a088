"""The engine's warm-up: once the window is shown and the engine has loaded, the ticked
networks' weights are loaded and one tiny forward runs in a background thread; a user's run
started meanwhile waits for it, Cancel stops it."""
from __future__ import annotations

import threading

import pytest

from app.ui.worker import WARMUP_SIDE

from .conftest import TEST_ROI, TEST_SCALE


class RecordingResolver:
    """The real resolver, recording each upscale (in the GUI thread?, input shape, method);
    a tiny (warm-up) upscale waits for ``gate`` when one is set."""

    def __init__(self, real):
        self._real = real
        self.calls: list[tuple[bool, tuple, str]] = []
        self.gate: threading.Event | None = None

    def __getattr__(self, name):
        return getattr(self._real, name)

    def upscale(self, image, scale, method="bicubic", *args, **kwargs):
        gui = threading.current_thread() is threading.main_thread()
        self.calls.append((gui, tuple(image.shape), method))
        if self.gate is not None and image.shape == (WARMUP_SIDE, WARMUP_SIDE):
            self.gate.wait(30)
        return self._real.upscale(image, scale, method, *args, **kwargs)


@pytest.fixture
def warm_window(qtbot, resolver, settings, network):
    from app.ui.main_window import MainWindow

    recording = RecordingResolver(resolver)
    recording.gate = threading.Event()
    win = MainWindow(resolver=recording, settings=settings, warm_up=True)
    qtbot.addWidget(win)
    win.controls.set_scale(TEST_SCALE)
    win.controls.set_checked_methods(["bicubic", network])
    win.show()
    qtbot.waitExposed(win)
    assert win.open_sample()
    yield win, recording
    recording.gate.set()
    win.close()
    qtbot.waitUntil(lambda: not any(t.isRunning() for t in win.runs.threads()), timeout=20000)


def test_the_first_run_waits_for_the_warm_up_in_the_background(warm_window, qtbot, network):
    win, recording = warm_window
    assert win.runs.warm_up_enabled
    qtbot.waitUntil(win.runs.warming_up, timeout=20000)  # started by itself, after the load
    qtbot.waitUntil(lambda: bool(recording.calls), timeout=20000)
    assert recording.calls[0] == (False, (WARMUP_SIDE, WARMUP_SIDE), network)  # not the GUI
    # the window answers while the warm-up holds the engine; a run waits for it
    win.set_roi(TEST_ROI)
    assert win.run() and win.runs.job.after is win.runs.warmup
    qtbot.wait(300)
    assert win.is_running() and len(recording.calls) == 1  # the run has not started yet
    assert "warm-up" in win.controls.job_text()
    recording.gate.set()
    qtbot.waitUntil(lambda: not win.is_running(), timeout=60000)
    assert win.runs.warmed == [network] and win.last_result is not None
    assert [m for _, shape, m in recording.calls[1:] if shape != (WARMUP_SIDE,) * 2][:1] \
        == ["bicubic"]
    assert not win.runs.warming_up() and win.runs.warmup is None


def test_cancel_stops_the_warm_up(warm_window, qtbot):
    win, recording = warm_window
    qtbot.waitUntil(lambda: bool(recording.calls), timeout=20000)
    win.cancel()
    recording.gate.set()
    qtbot.waitUntil(lambda: not win.runs.warming_up(), timeout=20000)
    assert win.runs.warmed == []  # stopped before its tile
    assert win.runs.warm_up()  # and can start again (e.g. after a device change)
    qtbot.waitUntil(lambda: not win.runs.warming_up(), timeout=20000)


def test_an_injected_engine_is_not_warmed_up_unless_asked(window):
    assert not window.runs.warm_up_enabled and window.runs.warmup is None


def test_a_closed_window_starts_no_warm_up(warm_window, qtbot):
    win, recording = warm_window
    recording.gate.set()
    qtbot.waitUntil(lambda: not win.runs.warming_up(), timeout=20000)
    win.close()
    assert not win.isVisible() and not win.runs.warm_up()  # e.g. the delayed start, too late


def test_a_gpu_the_computer_lacks_falls_back_to_the_cpu(qtbot, settings, resolver):
    """--device cuda (or a device saved on a computer with a GPU) where CUDA cannot run: the
    engine starts on the CPU with Device Auto, says so, and Auto is what is saved (it stayed
    'engine: failed' at every start, the combo showing Auto)."""
    import torch

    from app.ui import window_settings
    from app.ui.main_window import MainWindow

    if torch.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    win = MainWindow(settings=settings, device="cuda", weights_dir=resolver.weights_dir,
                     warm_up=False)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.engine.loaded and win.engine.device_choice == "auto",
                    timeout=60_000)
    qtbot.waitUntil(lambda: win.device_status.text() == "device: CPU", timeout=60_000)
    assert "No usable GPU" in win.statusBar().currentMessage()
    assert win.controls.device_choice() == "auto"
    window_settings.save(win)
    assert settings.value("device") == "auto"


def test_the_startup_timer_says_when_the_viewer_or_its_engine_failed(monkeypatch, capsys):
    """A start whose engine failed is no engine time (it was counted as loaded), a viewer that
    ended in an error is named (a StatisticsError before), --runs 0 is a usage error."""
    import io

    from app import startup_time

    class Fake:
        def __init__(self, *a, **k):
            self.stdout = io.StringIO("window_ready 0.5\nengine_failed 0.9\n")

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(startup_time.subprocess, "Popen", Fake)
    assert startup_time.main(["--runs", "1"]) == 1
    assert "engine_failed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        startup_time.main(["--runs", "0"])
