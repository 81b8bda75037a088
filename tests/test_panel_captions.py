"""app.ui.panel_data: the caption a comparison panel paints, shortened to fit (no Qt)."""
from __future__ import annotations

import numpy as np
import pytest

from app.ui.panel_data import (
    COMPUTED,
    PanelData,
    caption_line_limit,
    caption_variants,
    fit_caption,
    simulated_input_captions,
    sr_captions,
    wrap_words,
)


def measure(text: str) -> float:
    """6 units per character: a stand-in for a font's metrics."""
    return 6.0 * len(text)


def _panel(simulated: bool = False, kind: str = "sr") -> PanelData:
    captions = sr_captions(2.5, "bicubic", simulated) if kind == "sr" else (None,)
    return PanelData("bicubic", "Bicubic", np.zeros((4, 4), np.float32), (4.0, 4.0), kind=kind,
                     overlay=captions[0], overlay_short=tuple(captions[1:]),
                     simulated=simulated)


def test_every_form_of_a_computed_caption_says_so_longest_first():
    for captions in (sr_captions(2.5, "bicubic"), sr_captions(2.5, "bicubic", True),
                     simulated_input_captions(2.5)):
        assert all("computed" in c for c in captions)
        assert [len(c) for c in captions] == sorted((len(c) for c in captions), reverse=True)
    assert sr_captions(2.5, "bicubic") == ("SR ×2.5 Bicubic — computed, not acquired",
                                           "SR ×2.5 · computed, not acquired", COMPUTED,
                                           "SR ×2.5 · computed", "computed")


@pytest.mark.parametrize("width, expected", [
    (400, "SR ×2.5 Bicubic — computed, not acquired"),
    (200, "SR ×2.5 · computed, not acquired"),
    (140, "computed, not acquired"),
    (110, "SR ×2.5 · computed"),
    (60, "computed"),
    (10, "computed"),  # never left out, even where nothing fits
])
def test_the_longest_caption_that_fits_on_one_line_is_chosen(width, expected):
    assert fit_caption(sr_captions(2.5, "bicubic"), width, measure) == [expected]


def test_a_simulated_or_derived_caption_may_take_two_lines():
    data = _panel(simulated=True)
    assert caption_line_limit(data, "image") == 2
    assert caption_line_limit(_panel(), "image") == 1
    assert caption_line_limit(_panel(), "edges") == 2
    lines = fit_caption(caption_variants(data, "image"), 140, measure, 2)
    assert lines == ["computed, not acquired", "(simulated LR)"]
    wide = fit_caption(caption_variants(data, "image"), 250, measure, 2)
    assert wide == ["SR ×2.5 Bicubic — computed, not acquired", "(from a simulated LR input)"]
    edges = fit_caption(caption_variants(_panel(), "edges"), 150, measure, 2)
    assert edges == ["[Edges] SR ×2.5 Bicubic —", "computed, not acquired"]
    assert fit_caption(caption_variants(_panel(), "edges"), 250, measure, 2) == \
        ["[Laplacian edges] SR ×2.5 Bicubic —", "computed, not acquired"]


def test_caption_variants_per_view():
    data = _panel()
    assert caption_variants(data, "image")[0] == data.overlay
    derived = caption_variants(data, "edges")
    assert derived[0] == f"[Laplacian edges] {data.overlay}"
    assert derived[1:] == tuple(f"[Edges] {c}" for c in (data.overlay, *data.overlay_short))
    source = _panel(kind="source")
    assert caption_variants(source, "image") == ()
    assert caption_variants(source, "uncertainty") == ()  # never labelled a computed map
    assert caption_variants(source, "edges")[0] == "[Laplacian edges] Bicubic"


def test_wrap_words_keeps_a_dash_and_a_scale_with_the_word_before_it():
    assert wrap_words("SR ×2.5 Bicubic — computed, not acquired", 120, measure) == \
        ["SR ×2.5 Bicubic —", "computed, not", "acquired"]
    assert wrap_words("[Diff − bicubic] SR ×2.5 · computed", 120, measure) == \
        ["[Diff − bicubic]", "SR ×2.5 · computed"]
    assert wrap_words("", 100, measure) == []
    assert wrap_words("incomputable", 10, measure) == ["incomputable"]
