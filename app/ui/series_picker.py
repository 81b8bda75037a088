"""The series picker: a folder (a patient CD, a PACS export) with several image series asks
which one to open, listing each series' modality, description, number and image count."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel,
                             QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.io.series import FolderSeries

COLUMNS = ("Modality", "Description", "Series", "Images")


class SeriesPickerDialog(QDialog):
    """Lists ``series`` (the largest first, as found) with the first row chosen; a double-click
    or Open accepts. :meth:`chosen` is the selected :class:`FolderSeries`."""

    def __init__(self, folder: Path, series: Sequence[FolderSeries],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a series")
        self.series = list(series)
        lay = QVBoxLayout(self)
        intro = QLabel(f"{folder} holds {len(self.series)} image series. Which one to open?")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.table = QTableWidget(len(self.series), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        for row, s in enumerate(self.series):
            texts = (s.modality or "—", s.description or "(no description)", s.number or "—",
                     str(len(s.files)))
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col in (2, 3):
                    item.setTextAlignment(int(Qt.AlignRight | Qt.AlignVCenter))
                item.setToolTip(str(s.files[0].parent) if s.files else "")
                self.table.setItem(row, col, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.doubleClicked.connect(lambda _: self.accept())
        if self.series:
            self.table.selectRow(0)
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(560, min(420, 140 + 30 * len(self.series)))

    def chosen(self) -> FolderSeries | None:
        """The selected series (None when nothing is selected)."""
        rows = self.table.selectionModel().selectedRows()
        return self.series[rows[0].row()] if rows else None

    def choose(self, row: int) -> None:
        """Select ``row`` (as a click does)."""
        self.table.selectRow(row)
