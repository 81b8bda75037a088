"""Measuring and undo: the measuring tool, the annotations of the shown slice on the image and
on every panel, selecting and deleting them, and Edit ▸ Undo/Redo over the session's one edit
history (region of interest, annotations, window/level)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.annotations import TOOLS, Annotation, hit
from app.measurements import Measurement, PanelGeometry, measure
from app.result_cache import slice_id

if TYPE_CHECKING:
    from .main_window import MainWindow

#: What the status bar says when a tool is chosen.
TOOL_HINTS = {
    "": "No measuring tool: left-drag draws the region of interest; a click selects an "
        "annotation",
    "distance": "Distance: drag, or click both ends, on the image or any panel",
    "angle": "Angle: three clicks (end, vertex, end) or two drags",
    "ellipse": "Ellipse: drag across the region (mean ± SD, min, max, area)",
    "rectangle": "Rectangle: drag across the region (mean ± SD, min, max, area)",
}


class MeasureController:
    """Keeps the canvas's and the panels' annotations in step with the session's, and runs
    the Measure menu and Edit ▸ Undo/Redo.

    Attributes:
        tool: the measuring tool chosen ("" none).
    """

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.session = win.session
        self.tool = ""
        self._texts: dict[tuple[Annotation, int], Measurement] = {}
        self.session.annotations.changed.connect(lambda _slice: self.refresh())
        self.session.history.changed.connect(self._history_changed)

    def connect(self) -> None:
        """Follow the canvas's and the panels' gestures (once the widgets exist)."""
        win = self.win
        for view in (win.canvas, win.comparison):
            view.annotationDrawn.connect(self.add)
            view.clickedAt.connect(self.select_at)
        win.canvas.measurement_of = self.image_measurement
        win.canvas.roiEdited.connect(self.session.edit_roi)
        win.canvas.windowDragDone.connect(win.levels.record)
        self.session.events.roi.connect(self._roi_shown)
        self._history_changed()

    # -- the tool --------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        """Choose the measuring tool ("" for none: the left button edits the region)."""
        tool = tool if tool in TOOLS else ""
        self.tool = tool
        self.win.canvas.annotations.set_tool(tool)
        self.win.canvas.viewport().update()
        self.win.comparison.set_tool(tool)
        action = self.win.menus.actions[f"tool_{tool or 'none'}"]
        if not action.isChecked():
            action.setChecked(True)
        self.win.statusBar().showMessage(TOOL_HINTS[tool], 6000)

    def _roi_shown(self, roi: tuple[int, int, int, int] | None) -> None:
        """The session's region on the canvas (an undo or redo changed it there)."""
        if self.win.canvas.roi() != roi and self.win.canvas.has_image():
            self.win.canvas.set_roi(roi, emit=False)

    # -- annotations -----------------------------------------------------------------------
    def add(self, shape: Annotation) -> None:
        """Keep a drawn annotation on the shown slice and say what it measures."""
        stored = self.session.annotate(shape)
        if stored is not None:
            self._say(stored)

    def select_at(self, x: float, y: float, tolerance: float) -> None:
        """A click with no tool: select the annotation under it (or none)."""
        found = hit(self.session.shown_annotations(), (x, y), tolerance)
        if found is None and self.session.selected is None:
            return
        self.session.selected = found.id if found is not None else None
        self.refresh()
        if found is not None:
            self._say(found, " (Del deletes it)")

    def delete_selected(self) -> bool:
        """Measure ▸ Delete selected annotation (Del)."""
        done = self.session.delete_selected()
        if not done:
            self.win.statusBar().showMessage("No annotation selected: click one with no "
                                             "measuring tool chosen", 4000)
        return done

    def clear(self) -> int:
        """Measure ▸ Clear annotations of this slice."""
        n = self.session.clear_annotations()
        self.win.statusBar().showMessage(f"{n} annotation(s) cleared (Ctrl+Z brings them "
                                         "back)" if n else "No annotation on this slice", 4000)
        return n

    def refresh(self) -> None:
        """Show the shown slice's annotations on the image and every panel."""
        shown, selected = self.session.shown_annotations(), self.session.selected
        if selected is not None and all(a.id != selected for a in shown):
            selected = self.session.selected = None
        self.win.canvas.annotations.set_annotations(shown, selected)
        self.win.canvas.viewport().update()
        self.win.comparison.set_annotations(shown, selected)

    def image_text(self, annotation: Annotation) -> str:
        """What an annotation measures on the image itself, in one line in full."""
        m = self.image_measurement(annotation)
        return m.text if m is not None else ""

    def image_measurement(self, annotation: Annotation) -> Measurement | None:
        """What an annotation measures on the image itself (its padding left out), as the
        full line and the label's compact lines; None without an image."""
        img = self.session.image
        if img is None:
            return None
        key = (annotation, id(img))
        if key not in self._texts:
            if len(self._texts) > 500:
                self._texts.clear()
            geometry = PanelGeometry.of_image(img.pixels.shape, img.pixel_spacing,
                                              img.value_unit)
            self._texts[key] = measure(annotation, img.pixels, geometry, img.padding)
        return self._texts[key]

    def _say(self, annotation: Annotation, more: str = "") -> None:
        n = self.session.annotations.number(self.session.slice_key(), annotation)
        self.win.statusBar().showMessage(
            f"{annotation.name} {n}: {self.image_text(annotation)} on the image{more}", 10000)

    # -- undo ------------------------------------------------------------------------------
    def undo(self) -> bool:
        """Edit ▸ Undo: the last change of the region, an annotation or the window/level (an
        annotation's on another slice: that slice is shown first)."""
        return self._replay(False, "Undone", "undo")

    def redo(self) -> bool:
        """Edit ▸ Redo: make the last undone change again (on its slice, shown first)."""
        return self._replay(True, "Redone", "redo")

    def _replay(self, redo: bool, done: str, verb: str) -> bool:
        history = self.session.history
        change = history.next_change(redo)
        where = self.go_to_slice(change.where) if change is not None else ""
        name = history.redo() if redo else history.undo()
        self.win.statusBar().showMessage(f"{done}: {name}{where}" if name else
                                         f"Nothing to {verb}", 4000)
        return name is not None

    def go_to_slice(self, key: Any) -> str:
        """Show the slice ``key`` names (an edit made there is about to be undone or redone)
        when another is shown; returns what the status bar adds: " on slice k/n", " on another
        slice" when it cannot be shown (a run going on, unreadable), "" for the shown one."""
        session = self.session
        if key is None or key == session.slice_key():
            return ""
        index = next((i for i, (path, frame) in enumerate(session.stack)
                      if slice_id(path, frame) == key), None)
        if index is None or not self.win.step_slice(index - session.position) \
                or session.slice_key() != key:
            return " on another slice"
        return f" on slice {index + 1}/{len(session.stack)}"

    def _history_changed(self) -> None:
        actions = getattr(self.win, "menus", None)
        if actions is None:
            return
        history = self.session.history
        for key, can, name in (("undo", history.can_undo(), history.undo_name()),
                               ("redo", history.can_redo(), history.redo_name())):
            action = actions.actions[key]
            action.setEnabled(can)
            action.setText(f"&{key.title()} {name}" if name else f"&{key.title()}")
