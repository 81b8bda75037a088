"""Numbers in the viewer's overlays and labels: fixed decimals, never e-notation."""
from __future__ import annotations

import math

import pytest

from app.formatting import MINUS, format_area_mm2, format_number, format_window


@pytest.mark.parametrize("value, text", [
    (30000, "30,000"), (15000.0, "15,000"), (2000, "2000"), (-1024, "-1024"),
    (-181.26, "-181.3"), (370.2, "370.2"), (370.0, "370"), (40, "40"), (0.5, "0.5"), (1.23456, "1.235"),
    (0.000123, "0.000123"), (1e-9, "0"), (-0.0, "0"), (-0.00000001, "0"),
    (123456789.4, "123,456,789"), (0, "0"), (11880.4, "11,880"),
])
def test_format_number(value, text):
    assert format_number(value) == text
    assert "e" not in format_number(value).lower()


def test_fixed_decimals_windows_and_areas():
    assert format_number(3.14159, 2) == "3.14" and format_number(12345.678, 1) == "12,345.7"
    assert format_number(math.nan) == "nan" and format_number(math.inf) == "∞"
    assert format_window(15000, 30000) == "W 30,000 / L 15,000"
    assert format_window(40, 400, "HU") == "W 400 / L 40 HU"
    assert format_window(-600, 1500, "HU") == "W 1500 / L -600 HU"
    assert format_window(0.25, 0.5) == "W 0.5 / L 0.25"
    assert format_area_mm2(11880.4) == "11,880 mm²"
    assert format_area_mm2(52.3456) == "52.35 mm²"


def test_labels_may_write_a_typographic_minus():
    assert format_number(-798.1, significant=3, minus=MINUS) == "\u2212798"
    assert format_number(-1024, minus=MINUS) == "\u22121024"
    assert format_number(-0.00001, 1, minus=MINUS) == "0.0" and format_number(-798.1) == "-798.1"
    assert format_number(-12345.6, 0, minus=MINUS) == "\u221212,346"
