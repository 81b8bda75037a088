"""The viewer's session cache of results (Qt-free)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.result_cache import ResultCache, nbytes_of, result_key, slice_id


@dataclass
class _Result:
    pixels: np.ndarray
    rows: list = field(default_factory=list)


def _key(path="a.dcm", frame=0, roi=(0, 0, 8, 8), scale=2.5, methods=("bicubic",),
         simulate=False, precision="auto", window=None, value_range=None):
    return result_key((path, frame, 1, 1), roi, scale, methods, simulate, precision, window,
                      value_range)


def test_keys_differ_by_every_setting_that_changes_the_pixels(tmp_path):
    base = _key()
    assert _key() == base
    for other in (_key(frame=1), _key(roi=(1, 0, 8, 8)), _key(scale=3.0),
                  _key(methods=("bicubic", "rmisr-vp")), _key(simulate=True),
                  _key(precision="fp32"), _key(window=(40, 400)), _key(value_range=(0, 1))):
        assert other != base
    f = tmp_path / "s.dcm"
    f.write_bytes(b"1")
    first = slice_id(f, 0)
    assert first == slice_id(f, 0) and first != slice_id(f, 1)
    f.write_bytes(b"22")  # replaced on disk: another slice
    assert slice_id(f, 0) != first


def test_bounded_least_recently_used_and_latest_per_slice():
    a = _Result(np.zeros(100, np.float32), rows=[np.zeros(50, np.float32)])
    assert nbytes_of(a) == 600
    cache = ResultCache(max_bytes=1500)
    k1, k2, k3 = _key(scale=2.0), _key(scale=3.0), _key(path="b.dcm")
    assert cache.put(k1, a) and cache.put(k2, _Result(np.zeros(100, np.float32)))
    assert cache.latest_for(("a.dcm", 0, 1, 1)).pixels.size == 100
    assert cache.get(k1) is a  # now the most recently used
    assert cache.put(k3, _Result(np.zeros(200, np.float32)))  # 800 more: k2 goes first
    assert k2 not in cache and k1 in cache and k3 in cache
    assert cache.nbytes() == 1400
    assert not cache.put(_key(path="c.dcm"), _Result(np.zeros(1000, np.float32)))  # too big
    assert len(cache) == 2 and cache.latest_for(("c.dcm", 0, 1, 1)) is None
    cache.clear()
    assert len(cache) == 0 and cache.nbytes() == 0
