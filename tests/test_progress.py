"""app.progress: one bar over all methods of a run, in tiles, smooth, with the time left."""
from __future__ import annotations

import pytest

from app.progress import RunProgress, format_remaining


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_fraction_counts_tiles_across_methods_with_weights():
    clock = Clock()
    p = RunProgress(["rmisr-bl", "rmisr-bl"], tail=0.0, clock=clock)
    assert p.fraction() == 0.0 and p.remaining() is None
    p.start(0)
    for done in range(1, 5):
        clock.t += 1.0
        p.tile(0, done, 8)
    # 4 of 8 tiles of the first method, the second assumed to have 8 tiles too: a quarter
    assert p.fraction() == pytest.approx(0.25)
    p.start(1)
    p.tile(1, 4, 8)
    assert p.fraction() == pytest.approx(0.75)
    p.finish()
    assert p.fraction() == 1.0 and p.remaining() == 0.0


def test_the_bar_moves_within_a_tile_and_never_back():
    clock = Clock()
    p = RunProgress(["rmisr-bl", "rmisr-vp"], tail=0.0, clock=clock)
    p.start(0)
    clock.t += 2.0
    p.tile(0, 1, 1)                      # one tile took 2 s
    p.start(1)                           # the next method: one tile, 1.3× the cost
    f0 = p.fraction()
    clock.t += 1.3                       # half of its expected 2.6 s
    f1 = p.fraction()
    assert f1 > f0
    clock.t += 100.0                     # much longer than expected: stops inside the tile
    f2 = p.fraction()
    assert f2 < 1.0 and f2 >= f1
    p.tile(1, 1, 4)                      # now it says 4 tiles: more work than guessed
    assert p.fraction() >= f2            # never backwards


def test_time_left_after_the_first_tile():
    clock = Clock()
    p = RunProgress(["bicubic", "rmisr-bl", "rmisr-vp"], ensemble=True, clock=clock)
    p.start(0)
    p.tile(0, 1, 1)
    p.start(1)
    assert p.remaining() is None and p.text() == ""   # no network tile yet: no estimate
    clock.t += 0.5
    p.tile(1, 1, 8)                      # ensemble: 8 runs of one tile, 0.5 s per run
    left = p.remaining()
    # 7 runs of RMISR-BL (3.5 s) + 8 runs of RMISR-VP at 1.3× (5.2 s)
    assert left == pytest.approx(3.5 + 8 * 0.5 * 1.3)
    assert p.text() == "about 9 s left"
    clock.t += 1.0
    assert p.remaining() == pytest.approx(left - 1.0)


def test_bicubic_alone_and_empty_runs():
    p = RunProgress(["bicubic"], clock=Clock())
    p.start(0)
    p.tile(0, 1, 1)
    p.start(1)
    assert p.fraction() == pytest.approx(0.95)
    p.finish()
    assert p.percent() == 100
    assert RunProgress([]).fraction() == 0.0


def test_format_remaining():
    assert format_remaining(None) == ""
    assert format_remaining(0.2) == "less than 1 s left"
    assert format_remaining(12.1) == "about 13 s left"
    assert format_remaining(300) == "about 5 min left"
    assert format_remaining(3 * 3600) == "about 3.0 h left"
