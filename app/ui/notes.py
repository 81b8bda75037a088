"""The Notes area: what an export wants the user to know (computed values clipped to the range
the file stores, a fallback) without stopping the work with a warning dialog. The status bar
says that a note came; its Notes button opens this non-modal list, the latest first."""
from __future__ import annotations

from datetime import datetime

from PyQt5.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget


class NotesDialog(QDialog):
    """A non-modal, read-only list of this session's notes (latest first)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Notes")
        self.setModal(False)
        lay = QVBoxLayout(self)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        lay.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.hide)
        lay.addWidget(buttons)
        self.resize(600, 300)
        self._blocks: list[str] = []

    def add(self, title: str, lines: list[str]) -> None:
        """Put ``title`` and its ``lines`` on top of the list."""
        block = f"{datetime.now():%H:%M:%S}  {title}\n" + "\n".join(f"  • {x}" for x in lines)
        self._blocks.insert(0, block)
        self.text.setPlainText("\n\n".join(self._blocks))

    def count(self) -> int:
        """How many titled notes the list holds."""
        return len(self._blocks)

    def plain_text(self) -> str:
        return self.text.toPlainText()
