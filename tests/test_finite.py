"""Finite input gives finite output, or a clear error where float32 cannot hold it."""
from __future__ import annotations

import numpy as np
import pytest

from models import SuperResolver
from models.inference.finite import FLOAT32_MAX, ValueRangeError

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def sr():
    return SuperResolver(device="cpu")


def _networks(sr, scale):
    return [m for m in ("srcnn", "rmisr-bl") if sr.available(m, scale)]


@pytest.mark.parametrize("colour", [False, True])
def test_float32_input_near_its_limit_gives_finite_output(sr, colour):
    """Alternating ±3.3e38 (bicubic overshoots beyond float32's maximum): the result is finite
    float32, clipped to ±3.4e38 where it overshoots, with a note."""
    shape = (12, 14, 3) if colour else (12, 14)
    img = np.where(RNG.random(shape) < 0.5, -3.3e38, 3.3e38).astype(np.float32)
    for method in ["bicubic"] + _networks(sr, 2.0):
        out, info = sr.upscale(img, 2.0, method, return_info=True)
        assert out.dtype == np.float32 and np.isfinite(out).all(), method
        assert np.abs(out).max() <= FLOAT32_MAX
        assert np.abs(out).max() > 1e38  # the values themselves survive
        if method == "bicubic" and not colour:
            assert any("float32 range" in n for n in info.notes)


def test_huge_and_tiny_ranges_give_the_same_result_as_ordinary_ones(sr):
    """A power-of-two rescale around the arithmetic changes nothing but the exponent."""
    base = RNG.normal(0, 1, (10, 11))
    for method in ["bicubic"] + _networks(sr, 3.0):
        ref = sr.upscale(base, 3.0, method).astype(np.float64)
        for factor in (2.0 ** 120, 2.0 ** -120, 2.0 ** -1060):
            out = sr.upscale(base * factor, 3.0, method)
            assert np.isfinite(out).all()
            if factor >= 2.0 ** -120:  # float32 holds it (not the subnormal end)
                np.testing.assert_allclose(out / factor, ref, rtol=1e-5, atol=1e-5)
    window = sr.upscale(base * 2.0 ** 100, 2.0, "bicubic", normalization="window",
                        window=(0.0, 2.0 ** 101))
    assert np.isfinite(window).all()


@pytest.mark.parametrize("peak", [1e39, 1e300, 1.7e308])
def test_input_beyond_float32_is_refused_before_any_work(sr, peak):
    img = np.zeros((8, 8))
    img[3, 3] = peak
    img[4, 4] = -peak
    with pytest.raises(ValueRangeError, match="beyond the float32 range"):
        sr.upscale(img, 2.0, "bicubic")


def test_a_float64_file_beyond_float32_is_refused_with_the_reason(tmp_path):
    """Finite values float32 cannot hold are named as such, not as "NaN or infinity"."""
    import tifffile

    from app.io import InvalidPixelsError, read_image

    img = np.zeros((8, 8))
    img[2, 2] = 1e300
    tifffile.imwrite(tmp_path / "big.tif", img)
    with pytest.raises(InvalidPixelsError, match="beyond the float32 range"):
        read_image(tmp_path / "big.tif")
    img[2, 2] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", img)
    with pytest.raises(InvalidPixelsError, match="NaN or infinity"):
        read_image(tmp_path / "nan.tif")


def test_a_float32_tiff_near_its_limit_writes_finite_files(tmp_path):
    """End to end: read, super-resolve, write TIFF / DICOM / PNG without inf or NaN."""
    import tifffile

    from app.batch import super_resolve_to_file
    from app.io import read_image

    img = np.where(RNG.random((10, 12)) < 0.5, -3.3e38, 3.3e38).astype(np.float32)
    tifffile.imwrite(tmp_path / "edge.tif", img)
    image = read_image(tmp_path / "edge.tif")
    sr = SuperResolver(device="cpu")
    for fmt in ("tiff", "dcm", "png"):
        res = super_resolve_to_file(sr, image, tmp_path / f"o.{fmt}", fmt, 2.0, "bicubic", None)
        assert np.isfinite(res.pixels).all()
        assert np.isfinite(read_image(res.path).pixels).all()
