"""The quality-analysis table (figures from :mod:`app.quality`), copyable as TSV, savable as CSV."""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QShortcut,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.quality import NO_REFERENCE_NOTE, QualityReport


class QualityTable(QWidget):
    """Rows = methods, columns = figures; a note on what the figures can and cannot show."""

    residualRequested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: QualityReport | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        head = QHBoxLayout()
        title = QLabel("<b>Quality analysis</b>")
        self.context_label = QLabel("")
        self.context_label.setObjectName("qualityContext")
        self.context_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.residual_button = QPushButton("Residual maps")
        self.residual_button.setToolTip("Show each result's data-consistency residual "
                                        "(result downscaled by 1/s − input) in the panels")
        self.residual_button.clicked.connect(self.residualRequested)
        self.copy_button = QPushButton("Copy table")
        self.copy_button.setToolTip("Copy the table as tab-separated text (Ctrl+C)")
        self.copy_button.clicked.connect(self.copy_all)
        head.addWidget(title)
        head.addWidget(self.context_label, 1)
        head.addWidget(self.residual_button)
        head.addWidget(self.copy_button)
        self.save_button = QPushButton("Save table…")
        self.save_button.setToolTip("Save the table, its context and note as a CSV file")
        self.save_button.clicked.connect(lambda: self.save())
        head.addWidget(self.save_button)
        lay.addLayout(head)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.horizontalHeader().setMinimumSectionSize(60)
        self.table.setWordWrap(False)
        lay.addWidget(self.table, 1)
        self.note = QLabel(NO_REFERENCE_NOTE)
        self.note.setWordWrap(True)
        self.note.setObjectName("qualityNote")
        lay.addWidget(self.note)
        sc = QShortcut(QKeySequence.Copy, self.table, activated=self.copy_selection)
        sc.setContext(Qt.WidgetWithChildrenShortcut)
        self.residual_button.setEnabled(False)
        self.copy_button.setEnabled(False)
        self.save_button.setEnabled(False)
        self._context = ""

    def clear(self) -> None:
        self.report = None
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.context_label.setText("")
        self.note.setText(NO_REFERENCE_NOTE)
        self.residual_button.setEnabled(False)
        self.copy_button.setEnabled(False)
        self.save_button.setEnabled(False)

    def set_report(self, report: QualityReport, context: str = "") -> None:
        self.report = report
        cols = report.columns()
        headers, body = report.table()
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(body))
        self.table.setHorizontalHeaderLabels([c.display_header for c in cols])
        for j, c in enumerate(cols):
            self.table.horizontalHeaderItem(j).setToolTip(c.tooltip)
        for i, row in enumerate(body):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment((Qt.AlignLeft if j == 0 else Qt.AlignRight) | Qt.AlignVCenter)
                item.setToolTip(cols[j].tooltip)
                self.table.setItem(i, j, item)
        self._fit_columns()
        self.context_label.setText(context)
        self.context_label.setToolTip(context)
        self.note.setText(report.note)
        self.residual_button.setEnabled(True)
        self.copy_button.setEnabled(True)
        self.save_button.setEnabled(True)
        self._context = context

    def _fit_columns(self) -> None:
        """Columns share the width when every header fits; else each is as wide as its header
        and cells need (the table scrolls sideways): a header is never cut."""
        hh = self.table.horizontalHeader()
        n = self.table.columnCount()
        if n == 0:
            return
        needed = 0
        for j in range(n):
            item = self.table.horizontalHeaderItem(j)
            lines = item.text().splitlines() if item is not None else [""]
            fm = hh.fontMetrics()
            needed += max([fm.horizontalAdvance(t) for t in lines] + [hh.minimumSectionSize()
                                                                        - 16]) + 16
        fits = needed <= self.table.viewport().width()
        hh.setSectionResizeMode(QHeaderView.Stretch if fits else QHeaderView.ResizeToContents)
        hh.setSectionResizeMode(0, QHeaderView.ResizeToContents)

    def rows_shortfall(self) -> int:
        """Pixels of height the table lacks to show every row without scrolling (0: none)."""
        t = self.table
        if t.rowCount() == 0:
            return 0
        need = t.horizontalHeader().height() + sum(t.rowHeight(i) for i in range(t.rowCount()))
        if t.horizontalScrollBar().isVisible():
            need += t.horizontalScrollBar().height()
        need += 2 * t.frameWidth()
        return max(0, need - t.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        self._fit_columns()

    def context(self) -> str:
        """The line that says what the figures are of (ROI, scale, reference), "" when empty."""
        return self._context if self.report is not None else ""

    def numeric_values(self) -> dict[str, dict[str, str]]:
        """method label → header → cell text (for tests and diagnostics)."""
        if self.report is None:
            return {}
        headers, body = self.report.table()
        return {row[0]: dict(zip(headers, row, strict=True)) for row in body}

    def save(self, path: str | Path | None = None) -> Path | None:
        """Write the table as CSV (a dialog when ``path`` is None); returns the file or None."""
        if self.report is None:
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save the quality table",
                                                    "quality.csv", "CSV (*.csv)")
            if not chosen:
                return None
            path = chosen if chosen.lower().endswith(".csv") else chosen + ".csv"
            from .ask import confirm
            from .export import may_replace

            if not may_replace(chosen, Path(path), lambda t, q: confirm(self, t, q)):
                return None
        from app.io import ImageIOError, write_text

        try:
            return write_text(path, self.report.to_csv(self._context))
        except (ImageIOError, OSError) as exc:
            QMessageBox.warning(self, "Save failed", str(exc))
            return None

    # -- clipboard -------------------------------------------------------------------------
    def to_tsv(self) -> str:
        return self.report.to_tsv() if self.report is not None else ""

    def copy_all(self) -> None:
        QApplication.clipboard().setText(self.to_tsv())

    def copy_selection(self) -> None:
        """Copy the selected cells as TSV (all of it when nothing or everything is selected)."""
        ranges = self.table.selectedRanges()
        if not ranges or self.report is None:
            self.copy_all()
            return
        cells = {(i.row(), i.column()) for i in self.table.selectedIndexes()}
        if len(cells) == self.table.rowCount() * self.table.columnCount():
            self.copy_all()
            return
        rows = sorted({r for r, _ in cells})
        cols = sorted({c for _, c in cells})
        headers, body = self.report.table()
        lines = ["\t".join(headers[c] for c in cols)]
        lines += ["\t".join(body[r][c] if (r, c) in cells else "" for c in cols) for r in rows]
        QApplication.clipboard().setText("\n".join(lines) + "\n")
