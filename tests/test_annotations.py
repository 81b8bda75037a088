"""Measuring annotations without Qt: the shapes and how clicks and drags make them
(:mod:`app.annotations`), what they measure on a panel from its own pixels
(:mod:`app.measurements`), the one undo/redo history (:mod:`app.history`) and the session's
annotations per slice."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.annotations import Annotation, AnnotationStore, PendingShape, distance_to, hit
from app.history import Change, EditHistory
from app.io import SAMPLE_PATH, read_image
from app.measurements import (
    PanelGeometry,
    angle_degrees,
    length,
    measure,
    measurement_text,
    region_statistics,
)
from app.session import ViewerSession


def test_a_distance_is_one_drag_or_two_clicks():
    shape = PendingShape("distance")
    assert shape.gesture((1, 2), (11, 2), moved=True) == Annotation("distance", ((1, 2), (11, 2)))
    assert shape.gesture((1, 2), (1, 2), moved=False) is None
    assert shape.preview((5, 5)) == ((1, 2), (5, 5))
    assert shape.gesture((4, 6), (4, 6), moved=False).points == ((1, 2), (4, 6))
    assert shape.gesture((3, 3), (3, 3), moved=True) is None  # a drag of nothing: no shape


def test_an_angle_is_three_clicks_or_two_drags():
    clicks = PendingShape("angle")
    assert clicks.gesture((0, 0), (0, 0), False) is None
    assert clicks.gesture((5, 5), (5, 5), False) is None
    assert clicks.gesture((9, 1), (9, 1), False).points == ((0, 0), (5, 5), (9, 1))
    drags = PendingShape("angle")
    assert drags.gesture((0, 10), (10, 10), True) is None  # first arm: its end, then the vertex
    # the second drag's start is not a point: its end is the second arm's end
    assert drags.gesture((10, 10), (10, 0), True).points == ((0, 10), (10, 10), (10, 0))


def test_hit_testing_finds_the_nearest_drawing():
    line = Annotation("distance", ((0, 0), (10, 0)), id=1)
    box = Annotation("rectangle", ((20, 20), (30, 30)), id=2)
    ring = Annotation("ellipse", ((40, 0), (60, 10)), id=3)
    assert distance_to(line, (5, 3)) == pytest.approx(3)
    assert distance_to(box, (25, 25)) == 0 and distance_to(box, (33, 34)) == pytest.approx(5)
    assert distance_to(ring, (50, 5)) == 0 and distance_to(ring, (50, 12)) > 0
    assert hit([line, box, ring], (5, 1), 2) is line
    assert hit([line, box, ring], (5, 9), 2) is None
    with pytest.raises(ValueError):
        Annotation("angle", ((0, 0), (1, 1)))


def test_lengths_and_angles_are_physical_and_in_the_panel_s_own_pixels():
    src = PanelGeometry.of_image((100, 200), spacing=(0.5, 0.8), unit="HU")
    # a ×2.5 result of the region x 10…50, y 20…60
    result = PanelGeometry((10, 20), (40, 40), (100, 100), (0.5, 0.8), "HU")
    a, b = (12, 30), (32, 30)
    assert length(a, b, src) == (pytest.approx(16.0), pytest.approx(20.0))
    assert length(a, b, result) == (pytest.approx(16.0), pytest.approx(50.0))  # same mm
    assert length(a, b, PanelGeometry.of_image((100, 200)))[0] is None
    assert angle_degrees(((0, 10), (0, 0), (10, 0))) == pytest.approx(90)
    # an anisotropic spacing bends a diagonal: 45° in pixels is atan(0.8/0.5) in mm
    assert angle_degrees(((10, 0), (0, 0), (10, 10)), (0.5, 0.8)) == pytest.approx(
        math.degrees(math.atan(0.5 / 0.8)))
    text = measurement_text(Annotation("distance", (a, b)), np.zeros((100, 100)), result)
    assert text == "16.0 mm · 50.0 px"
    assert measurement_text(Annotation("distance", (a, b)), np.zeros((100, 200)),
                            PanelGeometry.of_image((100, 200))) == "20.0 px"


def test_region_statistics_come_from_each_panel_s_pixels():
    src = np.arange(100, dtype=np.float32).reshape(10, 10)  # value = 10·row + col
    geo = PanelGeometry.of_image(src.shape, spacing=(1.0, 1.0), unit="HU")
    rect = Annotation("rectangle", ((2, 3), (5, 5)))  # columns 2–4, rows 3–4
    stats = region_statistics(rect, src, geo)
    inside = src[3:5, 2:5]
    assert stats.pixels == 6 and stats.mean == pytest.approx(inside.mean())
    assert stats.sd == pytest.approx(inside.std()) and (stats.minimum, stats.maximum) == (32, 44)
    assert (stats.area, stats.area_unit) == (6.0, "mm²")
    # the same region on a ×2 result of the whole image: 4× the pixels, the same area
    big = np.kron(src, np.ones((2, 2), dtype=np.float32))
    geo2 = PanelGeometry((0, 0), (10, 10), (20, 20), (1.0, 1.0), "HU")
    stats2 = region_statistics(rect, big, geo2)
    assert stats2.pixels == 24 and stats2.mean == pytest.approx(inside.mean())
    assert stats2.area == 6.0
    # padding is left out; an ellipse's area is π/4 of its box; without spacing: panel px²
    pad = np.zeros_like(src, dtype=bool)
    pad[3, :] = True
    assert region_statistics(rect, src, geo, pad).pixels == 3
    ell = Annotation("ellipse", ((0, 0), (10, 10)))
    assert region_statistics(ell, src, geo).area == pytest.approx(25 * math.pi)
    nospacing = PanelGeometry((0, 0), (10, 10), (20, 20))
    assert region_statistics(ell, big, nospacing).area_unit == "px²"
    assert region_statistics(ell, big, nospacing).area == pytest.approx(100 * math.pi)
    text = measurement_text(rect, src, geo)
    assert text == "mean 38 ± 5.07 HU · min 32, max 44 · 6 mm²"
    assert measurement_text(rect, np.zeros((10, 10, 3)), geo) == "6 mm²"  # colour: area only


def test_a_region_beyond_a_panel_says_so():
    """A result panel holds only its region of interest: a region drawn across its edge is
    measured on the part on it (and says so), one beyond it is not measured there."""
    src = np.arange(100, dtype=np.float64).reshape(10, 10)
    # a ×2 result of the source region x 4…8, y 4…8
    result = PanelGeometry((4, 4), (4, 4), (8, 8), (1.0, 1.0), "HU")
    pixels = np.kron(src[4:8, 4:8], np.ones((2, 2)))
    across = Annotation("rectangle", ((2, 4), (6, 6)))  # x 2…6: half on the panel
    stats = region_statistics(across, pixels, result)
    assert stats.outside == "partly" and stats.area == 8.0  # the whole region's area
    assert stats.mean == pytest.approx(src[4:6, 4:6].mean())  # the part on the panel
    m = measure(across, pixels, result)
    assert "partly outside this panel" in m.text and m.lines[0].endswith("(part on panel)")
    assert region_statistics(across, src, PanelGeometry.of_image(src.shape)).outside == ""
    beyond = Annotation("ellipse", ((0, 0), (3, 3)))
    assert region_statistics(beyond, pixels, result).outside == "wholly"
    assert measure(beyond, pixels, result).lines == ("outside this panel",)
    edge = Annotation("rectangle", ((4, 4), (8, 8)))  # exactly the panel
    assert region_statistics(edge, pixels, result).outside == ""


def test_the_history_undoes_and_redoes_in_order():
    state, history = {"v": 0}, EditHistory(depth=3)

    def edit(to):
        before = state["v"]
        state["v"] = to
        history.record(Change(f"set {to}", lambda: state.update(v=before),
                              lambda: state.update(v=to)))

    for v in (1, 2, 3, 4):
        edit(v)
    assert history.undo_name() == "set 4"
    assert history.undo() == "set 4" and state["v"] == 3
    assert history.redo() == "set 4" and state["v"] == 4
    assert [history.undo() for _ in range(4)] == ["set 4", "set 3", "set 2", None]  # depth 3
    assert state["v"] == 1 and history.can_redo()
    edit(9)
    assert not history.can_redo() and history.redo() is None


def test_annotations_are_kept_per_slice_with_undo():
    history = EditHistory()
    store = AnnotationStore(history)
    seen = []
    store.changed.connect(seen.append)
    a = store.add("s1", Annotation("distance", ((0, 0), (3, 4))))
    b = store.add("s1", Annotation("ellipse", ((0, 0), (3, 4))))
    store.add("s2", Annotation("angle", ((0, 0), (3, 4), (5, 0))))
    assert [x.id for x in store.on("s1")] == [a.id, b.id] and store.number("s1", b) == 2
    assert store.remove("s1", a.id) and store.on("s1") == [b]
    assert store.clear("s1") == 1 and store.on("s1") == []
    assert history.undo() == "clear annotations" and store.on("s1") == [b]
    assert history.undo() == "delete distance" and store.on("s1") == [a, b]
    assert history.redo() == "delete distance" and store.on("s1") == [b]
    assert len(store.on("s2")) == 1 and "s2" in seen


def test_the_session_keeps_annotations_per_slice_and_undoes_roi_and_window():
    image = read_image(SAMPLE_PATH)
    session = ViewerSession()
    session.place(SAMPLE_PATH, image, stack=[(SAMPLE_PATH, 0)])
    session.show(image)
    session.set_roi((10, 10, 20, 20))  # as opened: not an edit
    session.edit_roi((10, 10, 20, 20), (12, 10, 20, 20))
    shown = []
    session.record_window((40, 400), (-600, 1500), lambda c, w: shown.append((c, w)))
    ann = session.annotate(Annotation("rectangle", ((100, 100), (120, 110))))
    assert session.selected is None and session.shown_annotations() == [ann]
    session.selected = ann.id
    assert session.delete_selected() and session.shown_annotations() == []
    assert session.history.undo() == "delete rectangle" and session.shown_annotations() == [ann]
    assert session.history.undo() == "rectangle" and session.shown_annotations() == []
    assert session.history.undo() == "window/level" and shown == [(40, 400)]
    assert session.history.undo() == "region of interest" and session.roi == (10, 10, 20, 20)
    assert session.history.redo() == "region of interest" and session.roi == (12, 10, 20, 20)
    session.show(read_image(SAMPLE_PATH))  # another slice object of the same file: same key
    assert session.selected is None


def test_a_label_is_compact_one_line_for_a_length_two_for_a_region():
    src = np.arange(100, dtype=np.float64).reshape(10, 10) - 900.0
    geo = PanelGeometry.of_image(src.shape, (0.5, 0.5), "HU")
    rect = Annotation("rectangle", ((2, 3), (6, 6)))
    m = measure(rect, src, geo)
    assert m.text == measurement_text(rect, src, geo)  # the full line is unchanged
    assert m.lines == ("\u2212856 ± 8.24 HU", "min \u2212868 · max \u2212845 · 3 mm²")
    dist = measure(Annotation("distance", ((1, 1), (4, 5))), src, geo)
    assert dist.text == "2.5 mm · 5.0 px" and dist.lines == ("2.5 mm",)
    no_mm = PanelGeometry.of_image(src.shape)
    assert measure(Annotation("distance", ((1, 1), (4, 5))), src, no_mm).lines == ("5.0 px",)
    angle = measure(Annotation("angle", ((0, 5), (5, 5), (5, 0))), src, geo)
    assert angle.lines == ("90.0°",) and angle.text == "90.0°"


def test_an_annotation_s_edit_names_its_slice_in_the_history():
    history = EditHistory()
    store = AnnotationStore(history)
    a = store.add("s1", Annotation("distance", ((0, 0), (3, 4))))
    store.add("s2", Annotation("angle", ((0, 0), (3, 4), (5, 0))))
    history.record(Change("window/level", lambda: None, lambda: None))
    assert history.next_change().where is None  # not tied to a slice
    history.undo()
    assert history.next_change().where == "s2" and history.next_change(redo=True).name == \
        "window/level"
    history.undo()
    assert history.next_change().where == "s1" and history.next_change(redo=True).where == "s2"
    assert store.remove("s1", a.id) and history.next_change().where == "s1"
    assert history.next_change(redo=True) is None
