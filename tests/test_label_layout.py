"""Where measurement labels go on a view (:mod:`app.label_layout`, no Qt): never over one
another nor over the view's fixed texts, inside the view, the number alone beside a small
shape, a leader line to a label placed away from its shape, the same layout every time."""
from __future__ import annotations

import itertools

import pytest

from app.label_layout import (
    GAP,
    LabelRequest,
    Placement,
    Rect,
    attach_points,
    candidates,
    fits_shape,
    label_variants,
    leader_line,
    place_labels,
)

VIEW = Rect(0, 0, 400, 300)
FULL, FIRST_LINE, TAG = (180.0, 30.0), (110.0, 16.0), (14.0, 16.0)


def _region(x, y, w, h) -> LabelRequest:
    shape = Rect(x, y, w, h)
    cx, cy = shape.centre
    return LabelRequest(shape, (FULL, FIRST_LINE, TAG),
                        ((cx, y), (x + w, cy), (cx, y + h), (x, cy)))


def _assert_clear(places: list[Placement | None], bounds: Rect, fixed=()) -> None:
    rects = [p.rect for p in places if p is not None]
    for a, b in itertools.combinations(rects, 2):
        assert not a.intersects(b), (a, b)
    for r in rects:
        assert r.inside(bounds), r
        for f in fixed:
            assert not r.intersects(f), (r, f)


def test_labels_never_overlap_each_other_or_the_view_s_fixed_texts():
    # six annotations drawn on one spot, as at overview zoom, next to the region's size label
    roi_label = Rect(90, 160, 190, 18)
    requests = [_region(100, 100 + k, 30, 14) for k in range(6)]
    requests.append(LabelRequest(Rect(95, 130, 40, 0), ((90.0, 16.0), TAG), ((95, 130),)))
    places = place_labels(requests, VIEW, [roi_label])
    assert all(p is not None for p in places)
    _assert_clear(places, VIEW, [roi_label])
    # the same rectangles, the same layout
    assert place_labels(requests, VIEW, [roi_label]) == places


def test_many_large_labels_in_a_small_view_stay_apart_and_inside():
    view = Rect(0, 0, 160, 140)
    requests = [_region(20 + 10 * k, 30 + 12 * k, 90, 40) for k in range(4)]
    places = place_labels(requests, view)
    _assert_clear(places, view)


def test_a_small_shape_gets_its_number_alone_and_a_large_one_its_full_label():
    small, large = _region(100, 100, 30, 14), _region(100, 60, 200, 90)
    assert not fits_shape(small.shape, FULL) and fits_shape(large.shape, FULL)
    (place,) = place_labels([small], VIEW)
    assert place.variant == 2 and (place.rect.w, place.rect.h) == TAG
    (place,) = place_labels([large], VIEW)
    assert place.variant == 0 and (place.rect.w, place.rect.h) == FULL
    assert place.leader is None  # right beside its shape


def test_a_label_that_would_cover_much_of_a_small_view_is_shortened():
    view = Rect(0, 0, 190, 140)  # the full label would cover 20.3 % of it (room below)
    (place,) = place_labels([_region(10, 10, 170, 60)], view)
    assert place.variant == 1 and place.rect.inside(view)
    assert place_labels([_region(10, 10, 170, 60)], Rect(0, 0, 200, 140))[0].variant == 0
    (place,) = place_labels([_region(10, 10, 80, 40)], Rect(0, 0, 100, 100))
    assert place.variant == 2  # not even the first line fits the narrower view


def test_a_label_below_a_shape_as_wide_as_the_view_slides_inside_it():
    view = Rect(0, 0, 200, 200)
    (place,) = place_labels([_region(60, 40, 140, 50)], view)
    assert place.variant == 0 and place.rect.inside(view)
    assert place.rect.y >= 90 and place.rect.right <= view.right  # below it, slid left


def test_a_label_placed_away_from_its_shape_gets_a_leader_line():
    shape = Rect(100, 100, 40, 0)
    line = LabelRequest(shape, (TAG,), ((100, 100), (140, 100), (120, 100)))
    # the places beside the line are taken: the tag goes a ring farther out, with a leader
    taken = [r for r in itertools.islice(candidates(shape, TAG), 10)]
    (place,) = place_labels([line], VIEW, taken)
    assert place.leader is not None
    start, end = place.leader
    assert start in line.attach and place.rect.nearest(start) == end
    assert leader_line(shape, line.attach, Rect(141 + GAP, 92, *TAG)) is None  # beside it


def test_a_shape_outside_the_view_gets_no_label_and_a_crowded_one_gets_its_tag_inside():
    off = _region(500, 500, 30, 30)
    assert place_labels([off], VIEW) == [None]
    tiny = Rect(0, 0, 40, 30)
    places = place_labels([_region(10, 10, 20, 10), _region(12, 12, 20, 10)], tiny)
    assert all(p is not None and p.variant == 2 and p.rect.inside(tiny) for p in places)


@pytest.mark.parametrize("size", [TAG, FIRST_LINE, FULL])
def test_the_first_candidates_touch_the_shape_without_covering_it(size):
    shape = Rect(100, 100, 60, 30)
    for rect in itertools.islice(candidates(shape, size), 10):
        assert not rect.intersects(shape) and rect.intersects(shape, gap=GAP + 0.01)


def test_a_label_s_variants_go_from_every_line_to_the_number_alone():
    region = ("\u2212798 ± 306 HU", "min \u22121024 · max 351 · 437 mm²")
    assert label_variants(1, region) == [
        ["1 · \u2212798 ± 306 HU", "min \u22121024 · max 351 · 437 mm²"],
        ["1 · \u2212798 ± 306 HU · 437 mm²", "min \u22121024 · max 351"],  # narrower
        ["1 · \u2212798 ± 306 HU"],
        ["1"],
    ]
    assert label_variants(2, ("35.1 mm",)) == [["2 · 35.1 mm"], ["2"]]
    assert label_variants(3, ()) == [["3"]]  # the comparison sheet: numbers only


def test_leader_lines_start_on_the_shape_s_outline():
    assert attach_points("distance", [(0, 0), (10, 0)]) == ((0, 0), (10, 0), (5, 0))
    ellipse = attach_points("ellipse", [(0, 0), (10, 4)])
    assert set(ellipse) == {(5, 0), (10, 2), (5, 4), (0, 2)}  # on the outline
    assert len(attach_points("rectangle", [(0, 0), (10, 4)])) == 8
