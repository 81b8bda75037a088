"""Dropping files from a file manager onto the window or the image."""
from __future__ import annotations

from typing import Any


def local_paths(event: Any) -> list[str]:
    """The local files (and folders) a drag carries, as paths."""
    mime = event.mimeData()
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []


class FileDrops:
    """Mixin for a widget that opens dropped local files: it accepts a drag that carries at
    least one and hands their paths to :meth:`files_dropped` (list it before the Qt class)."""

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        if local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        self.dragEnterEvent(event)

    def dropEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        paths = local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.files_dropped(paths)
        else:
            event.ignore()

    def files_dropped(self, paths: list[str]) -> None:
        """Open ``paths`` (the widget's own)."""
        raise NotImplementedError
