"""A one-line label that elides its text instead of widening the window."""
from __future__ import annotations

from html import escape

from PyQt5.QtCore import QSize, Qt
from PyQt5.QtWidgets import QLabel, QSizePolicy


class ElidedLabel(QLabel):
    """One line that ends in "…" when it is narrower than its text; its minimum width never
    follows the text (a long title cannot widen the window). :meth:`text` is the full text,
    :meth:`shown_text` what is drawn; the tooltip is the full text unless ``tooltip`` is False.
    ``suffix`` (e.g. " — outdated") is drawn after a bold title in ``suffix_colour``."""

    MIN_WIDTH = 24

    def __init__(self, text: str = "", tooltip: bool = True, bold: bool = False) -> None:
        super().__init__()
        self._full = ""
        self._suffix = ""
        self._suffix_colour = "#ff9f40"
        self._auto_tip = tooltip
        self._bold = bold
        if bold:
            font = self.font()
            font.setBold(True)
            self.setFont(font)
        self.setTextFormat(Qt.RichText if bold else Qt.PlainText)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        self.setText(text)

    @property
    def full_text(self) -> str:
        return self._full + self._suffix

    def text(self) -> str:  # noqa: D102 — the full text, not the elided one
        return self.full_text

    def shown_text(self) -> str:
        return super().text()

    def setText(self, text: str, suffix: str = "") -> None:  # noqa: N802 (Qt)
        self._full = str(text)
        self._suffix = str(suffix)
        if self._auto_tip:
            self.setToolTip(self.full_text)
        self._elide()
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        fm = self.fontMetrics()
        m = self.contentsMargins()
        return QSize(fm.horizontalAdvance(self.full_text) + 4 + m.left() + m.right(),
                     fm.height() + m.top() + m.bottom())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(self.MIN_WIDTH, self.sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 1)
        shown = self.fontMetrics().elidedText(self.full_text, Qt.ElideRight, width)
        if not self._bold:
            super().setText(shown)
            return
        head = shown[:len(self._full)]
        tail = shown[len(self._full):] if shown.startswith(self._full) else ""
        html = f"<b>{escape(head)}</b>"
        if tail:
            html += f"<span style='color:{self._suffix_colour}'>{escape(tail)}</span>"
        super().setText(html)
