"""The viewer's yes/no question (No the default): one dialog for every "replace?" and "go
on?" the window and its widgets ask."""
from __future__ import annotations

from typing import Any

from PyQt5.QtWidgets import QMessageBox


def confirm(parent: Any, title: str, text: str) -> bool:
    """Ask ``text`` over ``parent``; True for Yes."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.Yes | QMessageBox.No,
                                  QMessageBox.No)
    return answer == QMessageBox.Yes
