"""Fuzzing read_image with mutated DICOM bytes: only ImageIOError subclasses, or a finite image."""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.io import ImageData, ImageIOError, read_image

FUZZ_EXAMPLES = int(os.environ.get("RMISR_FUZZ_EXAMPLES", "60"))


def _ct_small() -> bytes:
    from pydicom.data import get_testdata_file
    path = get_testdata_file("CT_small.dcm", download=False)
    if path is None:  # pragma: no cover
        pytest.skip("pydicom test file CT_small.dcm is not installed")
    with open(path, "rb") as fh:
        return fh.read()


CT = _ct_small()
HEADER_END = len(CT) - 128 * 128 * 2  # everything before the Pixel Data value
position = st.one_of(st.integers(0, HEADER_END), st.integers(0, len(CT) - 1))

flip = st.tuples(st.just("flip"), st.lists(st.tuples(position, st.integers(1, 255)),
                                           min_size=1, max_size=16))
truncate = st.tuples(st.just("truncate"), position)
insert = st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=48))
overwrite = st.tuples(st.just("overwrite"), position,
                      st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00",
                                       b"\xfe\xff\xdd\xe0", b"OB\x00\x00", b"SQ\x00\x00",
                                       b"UN\x00\x00", b"\x10\x00"]))


def mutate(data: bytes, ops: list[tuple]) -> bytes:
    buf = bytearray(data)
    for op in ops:
        if op[0] == "flip":
            for pos, xor in op[1]:
                if pos < len(buf):
                    buf[pos] ^= xor
        elif op[0] == "truncate":
            del buf[op[1]:]
        elif op[0] == "insert":
            buf[op[1]:op[1]] = op[2]
        else:
            buf[op[1]:op[1] + len(op[2])] = op[2]
    return bytes(buf)


@settings(max_examples=FUZZ_EXAMPLES, deadline=2000,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(flip, truncate, insert, overwrite), min_size=1, max_size=3))
def test_mutated_dicom_never_crashes(tmp_path, ops):
    path = tmp_path / "fuzz.dcm"
    path.write_bytes(mutate(CT, ops))
    try:
        img = read_image(path)
    except ImageIOError as exc:
        assert str(exc)  # a readable message
        return
    assert isinstance(img, ImageData)
    assert img.pixels.dtype == np.float32 and img.pixels.ndim in (2, 3)
    assert np.isfinite(img.pixels).all()
    assert img.window[1] > 0 and np.isfinite(img.window).all()


def _small_png() -> bytes:
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray((np.arange(24 * 20, dtype=np.uint16) * 97).reshape(24, 20)).save(buf, "PNG")
    return buf.getvalue()


PNG = _small_png()


@settings(max_examples=max(10, FUZZ_EXAMPLES // 2), deadline=2000,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, len(PNG) - 1),
                                                  st.integers(1, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.integers(8, len(PNG) - 1)),
    st.tuples(st.just("insert"), st.integers(8, len(PNG)), st.binary(min_size=1, max_size=32))),
    min_size=1, max_size=2))
def test_mutated_png_never_crashes(tmp_path, ops):
    path = tmp_path / "fuzz.png"
    path.write_bytes(mutate(PNG, ops))
    try:
        img = read_image(path)
    except ImageIOError:
        return
    assert np.isfinite(img.pixels).all() and img.pixels.ndim in (2, 3)
