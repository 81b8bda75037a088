"""The comparison view's annotations: what the panels draw over their results, the shape being
drawn with a measuring tool on any panel, and what each annotation measures on each panel (from
that panel's own pixels, :mod:`app.measurements`).

:class:`PanelAnnotations` is a mixin of :class:`~app.ui.panels.ComparisonView`, which provides
``annotations`` (an :class:`~app.ui.annotation_layer.AnnotationLayer` shared by the panels),
``_texts`` (the measurements' cache, :class:`~app.measurements.Measurement` per annotation and
panel, emptied with the panels), ``_spacing``, ``_unit``,
``_update_views()`` and the ``annotationDrawn`` and ``clickedAt`` signals.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import QPoint, QPointF

from app.annotations import Annotation
from app.measurements import Measurement, PanelGeometry, measure

from .annotation_layer import PICK_PX
from .panel_data import PanelData

if TYPE_CHECKING:
    from .panel_view import PanelView


class PanelAnnotations:
    """The annotation methods of the comparison view (a mixin: see the module)."""

    annotations: Any
    _texts: dict[tuple[Annotation, str], Measurement]
    _spacing: tuple[float, float] | None
    _unit: str
    annotationDrawn: Any
    clickedAt: Any

    def _update_views(self) -> None:
        raise NotImplementedError

    def set_annotations(self, annotations: list[Annotation], selected: int | None) -> None:
        """The shown slice's annotations (source coordinates) and the selected one's id."""
        self.annotations.set_annotations(annotations, selected)
        self._update_views()

    def set_tool(self, tool: str) -> None:
        """The measuring tool the left button draws with on the panels ("" none: it pans)."""
        self.annotations.set_tool(tool)
        self._update_views()

    def geometry_of(self, data: PanelData) -> PanelGeometry:
        """Where a panel's pixels lie on the source (what its measurements are made in)."""
        return PanelGeometry(data.origin, data.extent, data.pixels.shape[:2], self._spacing,
                             self._unit)

    def annotation_measurement(self, annotation: Annotation, data: PanelData) -> Measurement:
        """What ``annotation`` measures on a panel, from that panel's own pixels (kept)."""
        key = (annotation, data.key)
        if key not in self._texts:
            self._texts[key] = measure(annotation, data.pixels, self.geometry_of(data))
        return self._texts[key]

    def annotation_text(self, annotation: Annotation, data: PanelData) -> str:
        """What ``annotation`` measures on a panel, in one line in full."""
        return self.annotation_measurement(annotation, data).text

    def annotation_lines(self, annotation: Annotation, data: PanelData) -> tuple[str, ...]:
        """What ``annotation`` measures on a panel, as its label's compact lines."""
        return self.annotation_measurement(annotation, data).lines

    def annotation_press(self, view: PanelView, scene: QPointF, pos: QPoint) -> bool:
        """A left press on a panel; True when the measuring tool takes it."""
        return self.annotations.press(self._source(view, scene), pos)

    def annotation_move(self, view: PanelView, scene: QPointF) -> None:
        """The cursor moved over a panel while a shape is drawn."""
        if self.annotations.drawing():
            self.annotations.move(self._source(view, scene))
            self._update_views()

    def annotation_release(self, view: PanelView, scene: QPointF, pos: QPoint) -> None:
        """A left release of the measuring tool: ``annotationDrawn`` when a shape is done."""
        shape = self.annotations.release(self._source(view, scene), pos)
        self._update_views()
        if shape is not None:
            self.annotationDrawn.emit(shape)

    def panel_clicked(self, view: PanelView, scene: QPointF) -> None:
        """A plain click on a panel (no tool): ``clickedAt`` in source coordinates."""
        x, y = self._source(view, scene)
        self.clickedAt.emit(x, y, PICK_PX / max(view.zoom(), 1e-6))

    def cancel_drawing(self) -> bool:
        """Drop an unfinished shape (Esc); False when there was none."""
        done = self.annotations.cancel()
        self._update_views()
        return done

    @staticmethod
    def _source(view: PanelView, scene: QPointF) -> tuple[float, float]:
        ew, eh = view.data.extent
        ox, oy = view.data.origin
        return ox + min(max(scene.x(), 0.0), ew), oy + min(max(scene.y(), 0.0), eh)
