"""One undo/redo history of the viewer's edits, without Qt.

An edit is recorded after it was made as a :class:`Change`: its name ("region of interest",
"window/level", "distance") and two callables that put the state back (``undo``) and make the
edit again (``redo``). The region of interest, the annotations and the display window all go
into the same :class:`EditHistory`, so Ctrl+Z steps back through them in the order the user
made them. An edit tied to one slice (an annotation) names it in ``where``: the viewer shows
that slice before undoing or redoing the edit (:meth:`EditHistory.next_change` tells which
edit is next), so that the change is seen.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from app.events import Event

#: Edits kept for undo (the oldest are forgotten first).
HISTORY_DEPTH = 200


@dataclass(frozen=True)
class Change:
    """One recorded edit.

    Attributes:
        name: what changed, as the Edit menu names it ("region of interest").
        undo: puts the state back as it was before the edit.
        redo: makes the edit again.
        where: the slice the edit was made on (its key), or None for an edit of every slice
            (the region of interest, the display window).
    """

    name: str
    undo: Callable[[], None]
    redo: Callable[[], None]
    where: Hashable | None = None


class EditHistory:
    """The undo and redo stacks; ``changed`` is emitted whenever either changes.

    Recording a new edit forgets what could be redone (the usual linear history).
    """

    def __init__(self, depth: int = HISTORY_DEPTH) -> None:
        self.depth = depth
        self._undo: list[Change] = []
        self._redo: list[Change] = []
        self._replaying = False
        self.changed = Event()

    def record(self, change: Change) -> None:
        """Remember an edit that was just made (ignored while an undo or redo replays one)."""
        if self._replaying:
            return
        self._undo.append(change)
        del self._undo[:-self.depth]
        self._redo.clear()
        self.changed.emit()

    def undo(self) -> str | None:
        """Undo the last edit; its name, or None when there is nothing to undo."""
        return self._replay(self._undo, self._redo, "undo")

    def redo(self) -> str | None:
        """Make the last undone edit again; its name, or None when there is none."""
        return self._replay(self._redo, self._undo, "redo")

    def _replay(self, source: list[Change], target: list[Change], what: str) -> str | None:
        if not source:
            return None
        change = source.pop()
        self._replaying = True
        try:
            getattr(change, what)()
        finally:
            self._replaying = False
        target.append(change)
        self.changed.emit()
        return change.name

    def next_change(self, redo: bool = False) -> Change | None:
        """The edit :meth:`undo` (or, with ``redo``, :meth:`redo`) would replay; None when
        there is none."""
        stack = self._redo if redo else self._undo
        return stack[-1] if stack else None

    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    def can_redo(self) -> bool:
        """Whether there is an undone edit to make again."""
        return bool(self._redo)

    def undo_name(self) -> str:
        """The name of the edit :meth:`undo` would undo ("" when none)."""
        return self._undo[-1].name if self._undo else ""

    def redo_name(self) -> str:
        """The name of the edit :meth:`redo` would make again ("" when none)."""
        return self._redo[-1].name if self._redo else ""

    def clear(self) -> None:
        """Forget every edit (another image was opened)."""
        if self._undo or self._redo:
            self._undo.clear()
            self._redo.clear()
            self.changed.emit()
