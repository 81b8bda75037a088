"""The "Super-resolve ROI over slices" dialog: which slices, which method, which format, where."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                             QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                             QSpinBox, QVBoxLayout, QWidget)

FORMAT_LABELS = {
    "dcm": "DICOM — derived series (full range)",
    "tiff": "TIFF — 16-bit, full range",
    "png": "PNG — windowed 8-bit, labelled",
}


#: The slice-range method offered first: the best network available, SRCNN and bicubic last.
METHOD_PREFERENCE = ("rmisr-vp", "rmisr-bl", "srcnn", "bicubic")


def default_slice_method(available: list[str] | dict[str, str]) -> str:
    """The method a slice range starts with: RMISR-VP, else RMISR-BL, else SRCNN, else
    bicubic, among ``available`` ("" when none)."""
    names = list(available)
    return next((m for m in METHOD_PREFERENCE if m in names), names[0] if names else "")


def slice_note_lines(per_slice: list[tuple[str, list[str]]]) -> list[str]:
    """One line per slice that has notes ("name: note; note"), every slice once and in order;
    notes shared by every slice (two or more) are said once ("all 5 slices: note")."""
    noted = [(name, notes) for name, notes in per_slice if notes]
    if len(noted) >= 2 and len(noted) == len(per_slice) \
            and all(notes == noted[0][1] for _, notes in noted):
        return [f"all {len(noted)} slices: " + "; ".join(noted[0][1])]
    return [f"{name}: " + "; ".join(notes) for name, notes in noted]


@dataclass
class SliceRangeChoice:
    """What the user chose: slices ``first``…``last`` (1-based, inclusive), a method, a format
    and an output folder."""

    first: int
    last: int
    method: str
    fmt: str
    folder: Path


class SliceRangeDialog(QDialog):
    """Asks for a slice range (default: the current slice ± 2), a method (the networks first),
    a format (derived DICOM for DICOM sources) and a folder."""

    def __init__(self, n_slices: int, current: int, methods: dict[str, str], default_method: str,
                 dicom: bool, folder: Path, scale: float, roi: tuple[int, int, int, int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Super-resolve the region over slices")
        form = QFormLayout(self)
        x, y, w, h = roi
        intro = QLabel(f"The region x={x} y={y} {w}×{h} px of each slice, ×{scale:g}, from the "
                       "acquired pixels; every result is labelled as computed.")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.first = QSpinBox()
        self.last = QSpinBox()
        for box in (self.first, self.last):
            box.setRange(1, n_slices)
        self.first.setValue(max(1, current + 1 - 2))
        self.last.setValue(min(n_slices, current + 1 + 2))
        self.first.valueChanged.connect(lambda v: self.last.setValue(max(v, self.last.value())))
        self.last.valueChanged.connect(lambda v: self.first.setValue(min(v, self.first.value())))
        rng = QHBoxLayout()
        rng.addWidget(self.first)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.last)
        rng.addWidget(QLabel(f"of {n_slices} (now at {current + 1})"))
        rng.addStretch(1)
        form.addRow("Slices", rng)
        self.method = QComboBox()
        for key, label in methods.items():
            self.method.addItem(label, key)
        self.method.setCurrentIndex(max(0, self.method.findData(default_method)))
        form.addRow("Method", self.method)
        self.fmt = QComboBox()
        for key in (("dcm", "tiff", "png") if dicom else ("png", "tiff", "dcm")):
            self.fmt.addItem(FORMAT_LABELS[key] if dicom or key != "dcm"
                             else "DICOM — Secondary Capture", key)
        form.addRow("Format", self.fmt)
        self.folder = QLineEdit(str(folder))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow("Folder", row)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Super-resolve")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder for the results",
                                                  self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def choice(self) -> SliceRangeChoice:
        return SliceRangeChoice(self.first.value(), self.last.value(),
                                str(self.method.currentData()), str(self.fmt.currentData()),
                                Path(self.folder.text().strip() or "."))


class SliceRangeResultDialog(QDialog):
    """What a slice range wrote (non-modal): a summary, the failed slices and each slice's
    notes once, in full (a scrolling list, never cut), and a button that opens the derived
    series (``openRequested``)."""

    openRequested = pyqtSignal()

    def __init__(self, title: str, summary: str, lines: list[str], can_open: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        lay = QVBoxLayout(self)
        self.summary = QLabel(summary)
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.details = QPlainTextEdit("\n".join(f"• {line}" for line in lines))
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.WidgetWidth)
        self.details.setVisible(bool(lines))
        lay.addWidget(self.details, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.open_button = buttons.addButton("Open the derived series",
                                             QDialogButtonBox.AcceptRole)
        self.open_button.setVisible(can_open)
        self.open_button.clicked.connect(self.openRequested)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)
        self.resize(560, 380 if lines else 160)

    def lines(self) -> list[str]:
        """The listed lines, without their bullets."""
        text = self.details.toPlainText()
        return [line[2:] for line in text.splitlines()] if text else []
