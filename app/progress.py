"""One progress bar for a whole run, measured in tiles, with the time left (no Qt).

A run is a sequence of *steps* — the methods of a Super-resolve, or the slices of a slice
range — each of which the engine reports as ``progress(done, total)`` per tile (with the
best-quality ensemble, ``total`` counts its 8 runs per tile). :class:`RunProgress` turns those
reports into one fraction over all steps:

* a step's work is its tile count times its *weight* (the relative cost of one tile of that
  method: bicubic is almost free, RMISR-VP the dearest); a step that has not started yet is
  assumed to have as many tiles as the largest network step seen so far;
* between two tile reports the fraction moves on smoothly with the time one tile is expected to
  take (never past 90 % of the tile in progress), so a run of one large tile per method does not
  sit still;
* after the first tile of a network step the time left is estimated from the measured seconds
  per unit of work (the step in progress at its own rate once it has finished a tile);
* the fraction never goes backwards, and a small share (``tail``) is left for the work after
  the last step (the quality figures).

``clock`` is injectable, so the estimator is tested without waiting.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

#: Relative cost of one tile (one run of it, with the ensemble) per engine method.
METHOD_WEIGHTS: dict[str, float] = {"bicubic": 0.02, "srcnn": 0.1, "rmisr-bl": 1.0,
                                    "rmisr-vp": 1.3}
#: The furthest the smooth fraction goes into a tile that has not been reported yet.
WITHIN_TILE = 0.9


@dataclass
class _Step:
    name: str
    weight: float
    network: bool
    total: int | None = None      # tiles (runs) reported by the engine; None: not known yet
    done: int = 0
    started: float | None = None
    last_tick: float | None = None
    finished: bool = False


def format_remaining(seconds: float | None) -> str:
    """"about 12 s left", "about 3 min left", "" when unknown; under 1 s: "less than 1 s left"."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 1:
        return "less than 1 s left"
    if seconds < 90:
        return f"about {math.ceil(seconds)} s left"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


class RunProgress:
    """The fraction done and the time left of a run of ``steps``.

    Args:
        steps: the steps' names in run order (engine method names, or any label).
        weights: relative cost of one tile per step name (default :data:`METHOD_WEIGHTS`, 1 for
            a name not in it).
        ensemble: the networks run 8 times per tile (only the guess of an unknown step's tile
            count uses it; the engine's totals already count the runs).
        tail: share of the bar kept for the work after the last step.
        clock: seconds, monotonic (default :func:`time.monotonic`).
    """

    def __init__(self, steps: Sequence[str], weights: Mapping[str, float] | None = None, *,
                 ensemble: bool = False, tail: float = 0.05,
                 clock: Callable[[], float] = time.monotonic) -> None:
        table = METHOD_WEIGHTS if weights is None else weights
        self._steps = [_Step(s, float(table.get(s, 1.0)), s != "bicubic") for s in steps]
        self._ensemble = bool(ensemble)
        self._tail = min(max(float(tail), 0.0), 0.5) if self._steps else 0.0
        self._clock = clock
        self._current: int | None = None
        self._shown = 0.0
        self._complete = False

    # -- reports -------------------------------------------------------------------------------
    def start(self, index: int) -> None:
        """Step ``index`` begins (the steps before it are over); ``index == len(steps)``: the
        work after the last step (quality figures)."""
        now = self._clock()
        for step in self._steps[:index]:
            if not step.finished:
                step.finished = True
                if step.total is None:
                    step.total = max(step.done, 1)
                step.done = step.total
        if 0 <= index < len(self._steps):
            step = self._steps[index]
            step.started, step.last_tick = now, now
            self._current = index
        else:
            self._current = None

    def tile(self, index: int, done: int, total: int) -> None:
        """The engine reported ``done`` of ``total`` tiles (runs) of step ``index``."""
        if not 0 <= index < len(self._steps):
            return
        if self._current != index:
            self.start(index)
        step = self._steps[index]
        step.total = max(int(total), 1)
        step.done = min(max(int(done), 0), step.total)
        step.last_tick = self._clock()

    def finish(self) -> None:
        """The whole run is done: the fraction is 1."""
        self.start(len(self._steps))
        self._complete = True

    # -- estimates -----------------------------------------------------------------------------
    def _guess_tiles(self) -> int:
        known = [s.total for s in self._steps if s.network and s.total is not None]
        return max(known) if known else (8 if self._ensemble else 1)

    def _work(self, step: _Step) -> float:
        tiles = step.total if step.total is not None else self._guess_tiles()
        return step.weight * tiles if step.network else step.weight

    def _seconds_per_unit(self) -> float | None:
        """Measured seconds per unit of work over the network steps' reported tiles."""
        seconds = units = 0.0
        for step in self._steps:
            if step.network and step.done > 0 and step.started is not None:
                seconds += step.last_tick - step.started  # type: ignore[operator]
                units += step.weight * step.done
        return seconds / units if units > 0 and seconds > 0 else None

    def _step_rate(self, step: _Step) -> float | None:
        """Seconds per tile of ``step``: its own once it has finished one, else the measured
        rate scaled by its weight."""
        if step.done > 0 and step.started is not None and step.last_tick is not None \
                and step.last_tick > step.started:
            return (step.last_tick - step.started) / step.done
        unit = self._seconds_per_unit()
        return None if unit is None else unit * step.weight

    def fraction(self) -> float:
        """How much of the run is done, 0–1: smooth within a tile, never going backwards."""
        if self._complete:
            return 1.0
        total = sum(self._work(s) for s in self._steps)
        if total <= 0:
            return self._shown
        done = 0.0
        for i, step in enumerate(self._steps):
            work = self._work(step)
            if step.finished:
                done += work
            elif i == self._current:
                tiles = step.total if step.total is not None else self._guess_tiles()
                per_tile = work / max(tiles, 1) if step.network else work
                partial = 0.0
                rate = self._step_rate(step)
                if rate and step.last_tick is not None:
                    partial = min(WITHIN_TILE, (self._clock() - step.last_tick) / rate)
                done += per_tile * (min(step.done, tiles) + partial) if step.network else \
                    work * (1.0 if step.done else partial)
        frac = min(1.0, done / total) * (1.0 - self._tail)
        if self._current is None and all(s.finished for s in self._steps):
            frac = 1.0 - self._tail
        self._shown = max(self._shown, min(frac, 1.0))
        return self._shown

    def percent(self) -> int:
        """:meth:`fraction` in whole percent (what a 0–100 progress bar shows)."""
        return int(self.fraction() * 100)

    def remaining(self) -> float | None:
        """Seconds left, or None before the first network tile has been reported."""
        if self._complete:
            return 0.0
        unit = self._seconds_per_unit()
        if unit is None:
            return None
        now = self._clock()
        left = 0.0
        for i, step in enumerate(self._steps):
            if step.finished:
                continue
            if i == self._current and step.network:
                rate = self._step_rate(step) or unit * step.weight
                tiles = step.total if step.total is not None else self._guess_tiles()
                since = now - step.last_tick if step.last_tick is not None else 0.0
                left += max(rate * (tiles - step.done) - since, 0.0)
            elif step.network:
                left += unit * self._work(step)
        return left

    def text(self) -> str:
        """The time left as the progress label says it ("" while unknown)."""
        return format_remaining(self.remaining())


__all__ = ["METHOD_WEIGHTS", "RunProgress", "format_remaining"]
