"""Numbers as the viewer shows them: fixed decimals, never e-notation (no Qt).

``format_number(30000)`` → "30,000", ``format_number(-181.26)`` → "-181.3",
``format_number(0.000123)`` → "0.000123", ``format_number(-798.1, significant=3, minus=MINUS)``
→ "−798" (a typographic minus, as the measurement labels drawn on an image write it);
``format_window(15000, 30000, "")`` →
"W 30,000 / L 15,000"; ``format_area_mm2(11880.4)`` → "11,880 mm²".
Thousands are grouped from five digits on (10,000), as in print; 4-digit numbers stay whole
(2000), the way window widths are usually written.
"""
from __future__ import annotations

import math

#: Significant digits shown when no number of decimals is given.
SIGNIFICANT = 4
MAX_DECIMALS = 6
GROUP_FROM = 10_000
#: The typographic minus sign (U+2212): wider than a hyphen, legible in small labels.
MINUS = "\u2212"


def decimals_for(value: float, significant: int = SIGNIFICANT) -> int:
    """Decimals that show ``value`` with about ``significant`` digits (0 for a whole number,
    at most :data:`MAX_DECIMALS`)."""
    a = abs(float(value))
    if a == 0 or not math.isfinite(a) or a == round(a):
        return 0
    return int(min(MAX_DECIMALS, max(0, significant - 1 - math.floor(math.log10(a)))))


def format_number(value: float, decimals: int | None = None,
                  significant: int = SIGNIFICANT, minus: str = "-") -> str:
    """``value`` in fixed-point notation: ``decimals`` places (default: about ``significant``
    digits without trailing zeros), thousands grouped with "," from 10,000; "-0" is "0"; a
    negative value starts with ``minus`` (default the hyphen-minus, :data:`MINUS` in labels)."""
    v = float(value)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("∞" if v > 0 else "-∞")
    d = decimals_for(v, significant) if decimals is None else max(0, int(decimals))
    text = f"{v:,.{d}f}" if round(abs(v), d) >= GROUP_FROM else f"{v:.{d}f}"
    if decimals is None and "." in text:  # about `significant` digits: no trailing zeros
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("-").strip("0.,") == "":  # -0, -0.0
        text = text.lstrip("-")
    if text.startswith("-") and minus != "-":
        text = minus + text[1:]
    return text


def format_window(center: float, width: float, unit: str = "") -> str:
    """A display window as radiology viewers write it: "W 400 / L 40 HU"."""
    u = f" {unit}" if unit else ""
    return f"W {format_number(width)} / L {format_number(center)}{u}"


def format_area_mm2(area: float) -> str:
    """"11,880 mm²", "52.34 mm²", "0.25 mm²"."""
    return f"{format_number(area)} mm²"


def scale_bar(px_per_mm: float, max_px: float, min_px: float = 24.0
              ) -> tuple[float, float, str] | None:
    """A scale bar for a view showing ``px_per_mm`` screen pixels per millimetre: the longest
    1-2-5 length (…, 0.5, 1, 2, 5, 10, 20 … mm) that fits in ``max_px`` pixels, as (mm, screen
    pixels, label: "10 mm", "0.5 mm"); None when it cannot be drawn at least ``min_px`` long
    (no spacing, or a view too small)."""
    if not (math.isfinite(px_per_mm) and px_per_mm > 0 and max_px >= min_px):
        return None
    best: tuple[float, float, str] | None = None
    for exponent in range(-3, 5):
        for mantissa in (1, 2, 5):
            mm = mantissa * 10.0 ** exponent
            px = mm * px_per_mm
            if px > max_px:
                return best
            if px >= min_px:
                best = (mm, px, f"{format_number(mm)} mm")
    return best


def readable_error(exc: BaseException) -> str:
    """A one-line message for the user (no traceback): the exception's text, its first line
    when long, its type's name when it has none; out of memory says what to do."""
    if isinstance(exc, MemoryError):
        return "out of memory — choose a smaller region or a smaller scale"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if len(text) > 400 else text
