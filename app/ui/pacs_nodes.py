"""The PACS settings in the viewer: the node chooser both PACS dialogs show, and the Nodes…
dialog that edits the nodes, the local AE title, C-GET or C-MOVE, ports, timeouts and the cache
size. They are saved to the settings file the command line reads too
(:func:`app.net.config_path`) and mirrored in the viewer's QSettings.
"""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QSettings, pyqtSignal
from PyQt5.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.net import (PacsConfig, PacsConfigError, PacsNode, Timeouts, back_up_unreadable,
                     config_path, load_config, save_config)

log = logging.getLogger(__name__)

__all__ = ["NodeBar", "NodesDialog", "load_viewer_config", "save_viewer_config"]

SETTINGS_KEY = "pacs/config"


def load_viewer_config(settings: QSettings | None = None,
                       path: str | Path | None = None) -> PacsConfig:
    """The PACS settings: the shared file; when it does not exist, the copy the viewer keeps in
    its QSettings (the file may have been removed or the home folder moved).

    Args:
        settings: the viewer's QSettings, or None.
        path: the settings file, or None for the shared default (:func:`app.net.config_path`).

    Returns:
        The settings; the defaults (no nodes) when neither holds any.

    Raises:
        PacsConfigError: the file exists but cannot be read or is not valid.
    """
    p = Path(path) if path is not None else config_path()
    if not p.exists() and settings is not None:
        text = settings.value(SETTINGS_KEY, "")
        if text:
            try:
                return PacsConfig.from_dict(json.loads(str(text)))
            except (ValueError, PacsConfigError):
                log.warning("ignoring an unreadable PACS configuration in the settings")
    return load_config(p)


def save_viewer_config(config: PacsConfig, settings: QSettings | None,
                       path: str | Path | None) -> tuple[Path, Path | None]:
    """Save the PACS settings to the shared file (``path``, default
    :func:`app.net.config_path`) and mirror them in ``settings``.

    Args:
        config: the settings to save.
        settings: the viewer's QSettings, or None.
        path: the settings file, or None for the shared default.

    A file there that cannot be read is kept as ``<name>.bak`` first
    (:func:`app.net.back_up_unreadable`): the nodes the dialog could not load are not lost.

    Returns:
        The file written, and the copy of the unreadable file it replaced (or None).

    Raises:
        PacsConfigError: the file cannot be written.
    """
    backup = back_up_unreadable(path)
    written = save_config(config, path)
    if settings is not None:
        settings.setValue(SETTINGS_KEY, json.dumps(config.to_dict()))
    return written, backup


class NodeBar(QWidget):
    """The node chooser with Echo and Nodes… (shared by both dialogs)."""

    changed = pyqtSignal()

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self.owner = owner
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("PACS:"))
        self.combo = QComboBox()
        self.combo.setMinimumWidth(260)
        row.addWidget(self.combo, 1)
        self.echo_button = QPushButton("Echo")
        self.echo_button.setToolTip("Verify the connection (C-ECHO)")
        self.nodes_button = QPushButton("Nodes…")
        self.nodes_button.setToolTip("PACS nodes, this program's AE title, timeouts, cache")
        row.addWidget(self.echo_button)
        row.addWidget(self.nodes_button)

    def fill(self, config: PacsConfig, current: str = "") -> None:
        self.combo.clear()
        for n in config.nodes:
            self.combo.addItem(n.describe(), n.name)
        index = self.combo.findData(current)
        if index >= 0:
            self.combo.setCurrentIndex(index)
        self.echo_button.setEnabled(bool(config.nodes))


class NodesDialog(QDialog):
    """Edit the PACS nodes and the local settings; :attr:`result_config` on OK."""

    def __init__(self, config: PacsConfig, parent: Any = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS nodes")
        self.result_config: PacsConfig | None = None
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Name", "AE title", "Host", "Port"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        for n in config.nodes:
            self.add_node_row(n.name, n.ae_title, n.host, str(n.port))
        add = QPushButton("Add node")
        add.clicked.connect(lambda: self.add_node_row("", "", "", "104"))
        remove = QPushButton("Remove node")
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        self.local_ae = QLineEdit(config.local_ae)
        self.local_ae.setMaxLength(16)
        self.retrieve = QComboBox()
        self.retrieve.addItem("C-GET (no inbound port)", "get")
        self.retrieve.addItem("C-MOVE to this AE", "move")
        self.retrieve.setCurrentIndex(0 if config.retrieve == "get" else 1)
        self.move_port = QSpinBox()
        self.move_port.setRange(1, 65535)
        self.move_port.setValue(config.move_port)
        self.timeout = QSpinBox()
        self.timeout.setRange(1, 3600)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(int(round(config.timeouts.dimse)))
        self.cache_mb = QSpinBox()
        self.cache_mb.setRange(1, 1_000_000)
        self.cache_mb.setSuffix(" MB")
        self.cache_mb.setValue(config.cache_mb)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d9534f;")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("This program's AE title", self.local_ae)
        form.addRow("Retrieve with", self.retrieve)
        form.addRow("C-MOVE storage port", self.move_port)
        form.addRow("Network timeout", self.timeout)
        form.addRow("Retrieve cache limit", self.cache_mb)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept_settings)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._base = config
        self.resize(560, 440)

    def add_node_row(self, *values: str) -> None:
        """Add a row to the nodes' table: name, AE title, host and port."""
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, v in enumerate(values):
            self.table.setItem(r, c, QTableWidgetItem(v))

    def config(self) -> PacsConfig:
        """The edited settings, or :class:`PacsConfigError` naming what is wrong."""
        nodes = []
        for r in range(self.table.rowCount()):
            vals = [(self.table.item(r, c).text() if self.table.item(r, c) else "").strip()
                    for c in range(4)]
            if not any(vals):
                continue
            nodes.append(PacsNode(vals[0], vals[1], vals[2], vals[3] or 104))
        t, base = float(self.timeout.value()), self._base.timeouts
        # the one field is the DIMSE/network wait: unchanged, every timeout stays as it was
        # (the file's connect and association waits too); changed, those two are capped by it
        timeouts = base if t == round(base.dimse) else Timeouts(
            connect=min(base.connect, t), acse=min(base.acse, t), dimse=t, network=t)
        return replace(self._base, local_ae=self.local_ae.text(),
                       retrieve=str(self.retrieve.currentData()),
                       move_port=self.move_port.value(), cache_mb=self.cache_mb.value(),
                       timeouts=timeouts, nodes=tuple(nodes))

    def accept_settings(self) -> None:
        """OK: keep the edited settings in :attr:`result_config` and close, or say what is
        wrong (and stay open)."""
        try:
            self.result_config = self.config()
        except PacsConfigError as exc:
            self.error.setText(exc.message)
            return
        self.accept()

