"""CT pixel padding (the field-of-view ring) is kept out of super-resolution and restored."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
import tifffile

from app.batch import super_resolve_to_file
from app.io import read_image
from app.io.padding import engine_pixels, fill_padding, restore_padding
from models import SuperResolver
from tests.test_io_writers import make_ct

PAD_HU = -3024.0


def _fov_ct(tmp_path, *, range_limit: bool = False):
    """A CT whose reconstructed circle holds tissue at 20–80 HU; outside it stored 0 (−3024 HU)
    = PixelPaddingValue (with a range limit: stored 0–10, so −3024 to −3014 HU)."""
    rows, cols = np.indices((48, 48))
    inside = (rows - 23.5) ** 2 + (cols - 23.5) ** 2 < 20.3 ** 2
    hu = 50 + 30 * np.sin(rows / 3.0) * np.cos(cols / 4.0)
    hu = np.where(inside, hu, PAD_HU)
    if range_limit:
        hu = np.where(inside, hu, PAD_HU + (rows + cols) % 11)
    extra = {"PixelPaddingValue": 0}
    if range_limit:
        extra["PixelPaddingRangeLimit"] = 10
    path = make_ct(tmp_path / "fov.dcm", hu, ipp=(0, 0, 0), iop=(1, 0, 0, 0, 1, 0),
                   spacing=(0.7, 0.7), intercept=PAD_HU, **extra)
    return path, inside


def test_fill_padding_takes_the_nearest_tissue_value():
    pixels = np.array([[-3024, -3024, 5], [-3024, 7, 9], [1, 2, 3]], np.float32)
    filled = fill_padding(pixels, pixels == -3024)
    assert filled.min() >= 1 and filled[1, 0] in (7.0, 1.0) and filled[0, 1] in (7.0, 5.0)
    assert fill_padding(pixels, None) is pixels
    everything = np.ones_like(pixels, bool)
    assert fill_padding(pixels, everything) is pixels  # no tissue to take from


@pytest.mark.parametrize("range_limit", [False, True])
@pytest.mark.parametrize("fmt", ["tiff", "dcm"])
def test_padding_is_not_interpolated_into_tissue(tmp_path, fmt, range_limit):
    """Next to the field-of-view ring the result stays within the tissue's values (bicubic of
    tissue only) and outside it the result is the padding value again (PS3.3 C.7.5.1.1.2);
    before, the −3024 HU padding was interpolated into the tissue next to the ring."""
    path, inside = _fov_ct(tmp_path, range_limit=range_limit)
    image = read_image(path)
    assert image.padding is not None and image.padding.sum() == (~inside).sum()
    tissue = image.pixels[inside]
    res = super_resolve_to_file(SuperResolver(device="cpu"), image, tmp_path / f"o.{fmt}", fmt,
                                2.0, "bicubic", None)
    if fmt == "tiff":
        out = read_image(res.path).pixels
    else:
        ds = pydicom.dcmread(res.path)
        out = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        assert int(ds.PixelPaddingValue) == 0
    nearest = np.minimum(((np.arange(96) + 0.5) / 2).astype(int), 47)
    pad_out = image.padding[np.ix_(nearest, nearest)]
    margin = 0.2 * float(tissue.max() - tissue.min())  # bicubic overshoot of the tissue alone
    assert out[~pad_out].min() >= tissue.min() - margin
    assert out[~pad_out].max() <= tissue.max() + margin
    if fmt == "dcm":  # stored as PixelPaddingValue (the range limit described the source)
        assert (out[pad_out] == PAD_HU).all()
    else:
        np.testing.assert_allclose(out[pad_out],
                                   image.pixels[np.ix_(nearest, nearest)][pad_out], atol=0.51)
    assert out[pad_out].max() <= PAD_HU + 10 + 0.5


def test_restore_padding_on_a_region(tmp_path):
    path, _ = _fov_ct(tmp_path)
    image = read_image(path)
    roi = (0, 10, 20, 12)  # the ring's left edge
    up = np.full((24, 40), 55.0, np.float32)
    out = restore_padding(up, image, roi, 2.0)
    rows = 10 + np.minimum(((np.arange(24) + 0.5) / 2).astype(int), 11)
    cols = np.minimum(((np.arange(40) + 0.5) / 2).astype(int), 19)
    mask = image.padding[np.ix_(rows, cols)]
    assert mask.any() and (~mask).any()
    assert (out[mask] == PAD_HU).all() and (out[~mask] == 55.0).all()
    assert (up == 55.0).all()  # the input is not changed
    assert engine_pixels(image).min() > PAD_HU + 1000


def test_tiff_of_a_padded_ct_keeps_its_values(tmp_path):
    path, _ = _fov_ct(tmp_path)
    image = read_image(path)
    res = super_resolve_to_file(SuperResolver(device="cpu"), image, tmp_path / "o.tif", "tiff",
                                2.0, "bicubic", (4, 4, 20, 20))
    assert tifffile.imread(res.path).shape == (40, 40)
