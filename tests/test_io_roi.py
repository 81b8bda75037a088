"""app.io ROI and scale checks."""
from __future__ import annotations

import numpy as np
import pytest

from app.io import (SCALE_MAX, SCALE_MIN, ImageData, InvalidROIError, InvalidScaleError, crop_roi,
                    output_size, parse_roi, validate_roi, validate_scale)


def test_validate_roi_accepts_inside_and_none():
    assert validate_roi((0, 0, 10, 5), (5, 10)) == (0, 0, 10, 5)
    assert validate_roi([2.0, 3.0, 4.0, 1.0], np.zeros((5, 10))) == (2, 3, 4, 1)
    assert validate_roi(None, (7, 9, 3)) == (0, 0, 9, 7)


@pytest.mark.parametrize("roi", [(0, 0, 0, 5), (0, 0, 5, -1), (-1, 0, 5, 5), (0, 0, 11, 5),
                                 (6, 0, 5, 5), (0, 1, 10, 5), (0.5, 0, 2, 2), (1, 2, 3),
                                 ("a", 0, 1, 1), (0, 0, float("nan"), 1)])
def test_validate_roi_rejects_outside_empty_or_malformed(roi):
    with pytest.raises(InvalidROIError):
        validate_roi(roi, (5, 10))


def test_crop_roi_copies():
    a = np.arange(50.0).reshape(5, 10)
    c = crop_roi(a, (2, 1, 3, 2))
    np.testing.assert_array_equal(c, [[12, 13, 14], [22, 23, 24]])
    c[0, 0] = -1
    assert a[1, 2] == 12
    with pytest.raises(InvalidROIError, match="not inside"):
        crop_roi(a, (8, 0, 3, 2))


def test_parse_roi():
    assert parse_roi("10,20,30,40") == (10, 20, 30, 40)
    assert parse_roi(" 1 2 3 4 ") == (1, 2, 3, 4)
    for bad in ("1,2,3", "a,b,c,d", "1,2,0,4", "1.5,2,3,4"):
        with pytest.raises(InvalidROIError):
            parse_roi(bad)


def test_validate_scale():
    assert validate_scale(1.1) == 1.1 and validate_scale("2.5") == 2.5 and validate_scale(5) == 5
    for bad in (1.0, 1.09, 5.01, 0, -2, float("nan"), float("inf"), "x", None):
        with pytest.raises(InvalidScaleError):
            validate_scale(bad)


def test_output_size_rounds_half_up():
    assert output_size(5, 7, 2.5) == (13, 18)  # 12.5 → 13, 17.5 → 18
    assert output_size(3, 3, 1.1) == (3, 3)


def test_constants_agree_with_engine():
    from app.io.limits import MAX_OUTPUT_PIXELS
    from models import geometry
    assert (SCALE_MIN, SCALE_MAX) == (geometry.SCALE_MIN, geometry.SCALE_MAX)
    assert MAX_OUTPUT_PIXELS == geometry.MAX_OUTPUT_PIXELS
    for h, w, s in ((5, 7, 2.5), (3, 3, 1.1), (37, 41, 3.5), (10, 9, 4.5)):
        assert output_size(h, w, s) == geometry.output_size(h, w, s)


def test_roi_statistics_in_image_units_with_area():
    from app.io import roi_statistics

    pixels = np.arange(20, dtype=np.float32).reshape(4, 5) - 10.0  # HU-like, negative too
    img = ImageData(pixels=pixels, source_path="x.dcm", kind="dicom", modality="CT",
                    pixel_spacing=(0.5, 0.8))
    st = roi_statistics(img, (1, 1, 3, 2))  # rows 1–2, columns 1–3
    block = pixels[1:3, 1:4].astype(np.float64)
    assert st.pixels == 6 and st.mean == pytest.approx(block.mean())
    assert st.sd == pytest.approx(block.std()) and (st.minimum, st.maximum) == (-4.0, 3.0)
    assert st.area_mm2 == pytest.approx(6 * 0.4)
    colour = ImageData(pixels=np.zeros((4, 5, 3), np.float32), source_path="c.png", kind="raster")
    st = roi_statistics(colour, (0, 0, 2, 2))
    assert st.mean is None and st.area_mm2 is None and st.pixels == 4
    with pytest.raises(InvalidROIError):
        roi_statistics(img, (4, 3, 5, 5))


def _padded_ct(tmp_path, limit=None):
    """The sample CT with everything outside a 200-px circle set to PixelPaddingValue 0 (the
    rest kept ≥ 1): a scanner's out-of-field-of-view padding."""
    import pydicom

    from app.io import SAMPLE_PATH

    ds = pydicom.dcmread(SAMPLE_PATH)
    a = np.maximum(ds.pixel_array, 1 if limit is None else limit + 1)
    yy, xx = np.mgrid[0:ds.Rows, 0:ds.Columns]
    outside = (yy - 256) ** 2 + (xx - 256) ** 2 > 200 ** 2
    a[outside] = 0 if limit is None else np.arange(outside.sum()) % (limit + 1)
    ds.PixelData = a.astype(np.uint16).tobytes()
    del ds.WindowCenter, ds.WindowWidth  # the default window is then computed
    ds.add_new(0x00280120, "US", 0)  # PixelPaddingValue (US or SS: say which)
    if limit is not None:
        ds.add_new(0x00280121, "US", limit)  # PixelPaddingRangeLimit
    ds.save_as(tmp_path / "padded.dcm")
    return tmp_path / "padded.dcm", outside


@pytest.mark.parametrize("limit", [None, 5])
def test_padding_is_not_measured(tmp_path, limit):
    from app.io import read_image, roi_statistics

    path, outside = _padded_ct(tmp_path, limit)
    img = read_image(path)
    assert img.padding is not None and np.array_equal(img.padding, outside)
    lo, hi = img.normalization_range()
    assert lo == float(img.pixels[~outside].min()) > -1024 and hi == float(img.pixels.max())
    stats = roi_statistics(img, (0, 0, 160, 160))  # the corner: partly outside the circle
    corner = outside[:160, :160]
    assert 0 < stats.padding == int(corner.sum()) and stats.pixels == 160 * 160 - stats.padding
    assert stats.mean == pytest.approx(float(img.pixels[:160, :160][~corner].mean()), rel=1e-6)
    assert roi_statistics(img, (0, 0, 10, 10)).mean is None  # all padding
    # the default window ignores the padding too (this file has no window of its own)
    from app.io import auto_window

    assert "WindowCenter" not in img.dataset
    assert img.window == auto_window(img.pixels[~outside]) != auto_window(img.pixels)


def test_no_padding_no_mask():
    from app.io import SAMPLE_PATH, read_image

    img = read_image(SAMPLE_PATH)
    assert img.padding is None and img.normalization_range() is None


def test_distance_text_applies_each_axis_spacing():
    from app.io import distance_text

    assert distance_text((0, 0), (10, 0), (0.5, 0.8)) == "8.0 mm"   # columns: 0.8 mm
    assert distance_text((0, 0), (0, 10), (0.5, 0.8)) == "5.0 mm"   # rows: 0.5 mm
    assert distance_text((1, 1), (4, 5), None) == "5.0 px"
    assert distance_text((0, 0), (0, 2), (1.0, 1.0), at_detector=True) == "2.0 mm at the detector"
