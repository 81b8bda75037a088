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
