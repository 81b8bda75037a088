"""File ▸ Open from PACS… and Send derived DICOM to PACS… (the network work is :mod:`app.net`).

* :class:`PacsDialog` — a node, a search form (patient name / ID, accession number, modality,
  study date range), the matching studies (C-FIND, STUDY level), the chosen study's series
  (C-FIND, SERIES level: number, modality, description, images), and Retrieve (C-GET or C-MOVE
  into the per-user cache) with progress and Cancel; ``seriesRetrieved(folder)`` then hands the
  cached series to the window, which opens it as a folder.
* :class:`SendDialog` — C-STORE of derived files to a node, one result row per instance.
* :class:`NodesDialog` — the PACS nodes, the local AE title, C-GET or C-MOVE, ports, timeouts and
  the cache size, saved to the settings file the CLI reads too (:func:`app.net.config_path`) and
  mirrored in the viewer's QSettings.

Every network call runs in a :class:`NetTask` thread: the window never waits on the network.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from PyQt5.QtCore import QSettings, Qt, QThread, pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.net import (PacsConfig, PacsConfigError, PacsError, PacsNode, RetrieveCancelled,
                     Series, StoreResult, Study, StudyQuery, Timeouts, config_path, load_config,
                     save_config)

log = logging.getLogger(__name__)

__all__ = ["NetTask", "PacsDialog", "SendDialog", "NodesDialog", "load_viewer_config",
           "MODALITIES"]

MODALITIES = ("", "CT", "MR", "CR", "DX", "MG", "US", "NM", "PT", "XA", "RF", "OT")
SETTINGS_KEY = "pacs/config"


def load_viewer_config(settings: QSettings | None = None,
                       path: str | Path | None = None) -> PacsConfig:
    """The PACS settings: the shared file; when it does not exist, the copy the viewer keeps in
    its QSettings (the file may have been removed or the home folder moved)."""
    p = Path(path) if path is not None else config_path()
    if not p.exists() and settings is not None:
        text = settings.value(SETTINGS_KEY, "")
        if text:
            try:
                return PacsConfig.from_dict(json.loads(str(text)))
            except (ValueError, PacsConfigError):
                log.warning("ignoring an unreadable PACS configuration in the settings")
    return load_config(p)


def _save_viewer_config(config: PacsConfig, settings: QSettings | None,
                        path: str | Path | None) -> Path:
    written = save_config(config, path)
    if settings is not None:
        settings.setValue(SETTINGS_KEY, json.dumps(config.to_dict()))
    return written


#: tasks still running, kept alive here (not by their dialog, which may close first) until they
#: end; cancelled and waited for when the application quits
_RUNNING: set["NetTask"] = set()


def _stop_running_tasks(wait_ms: int = 10_000) -> None:
    for task in list(_RUNNING):
        task.cancel()
    for task in list(_RUNNING):
        task.wait(wait_ms)


class NetTask(QThread):
    """Runs ``work(progress, cancelled)`` off the GUI thread. ``progress(done, total)`` from the
    work becomes the ``progressed`` signal; the outcome comes as ``succeeded(result)`` or
    ``failed(message, cancelled)``; a :class:`PacsError`'s message is shown as it is.

    A task has no Qt parent: closing its dialog cancels it, and it ends on its own (a retrieve
    removes what it had received); the application waits for running tasks when it quits."""

    progressed = pyqtSignal(int, int)
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str, bool)

    def __init__(self, work: Callable[[Callable[[int, int], None], Callable[[], bool]], Any],
                 parent: Any = None) -> None:
        super().__init__(None)
        self._work = work
        self._cancel = threading.Event()
        _RUNNING.add(self)
        self.finished.connect(lambda: _RUNNING.discard(self))
        app = QApplication.instance()
        if app is not None and not getattr(app, "_rmisr_pacs_quit_hook", False):
            app.aboutToQuit.connect(_stop_running_tasks)
            app._rmisr_pacs_quit_hook = True

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            result = self._work(lambda done, total: self.progressed.emit(int(done), int(total)),
                                self._cancel.is_set)
        except RetrieveCancelled as exc:
            self.failed.emit(exc.message, True)
        except PacsError as exc:
            self.failed.emit(exc.message, False)
        except ValueError as exc:  # a bad query field
            self.failed.emit(str(exc), False)
        except Exception as exc:  # noqa: BLE001 — never a traceback dialog
            log.exception("PACS task failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}", False)
        else:
            self.succeeded.emit(result)


def _table(headers: Sequence[str], stretch: int = -1) -> QTableWidget:
    """A read-only table of rows; column ``stretch`` (default the last) takes the spare width,
    the others fit their contents."""
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(list(headers))
    t.setSelectionBehavior(QAbstractItemView.SelectRows)
    t.setSelectionMode(QAbstractItemView.SingleSelection)
    t.setEditTriggers(QAbstractItemView.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeToContents)
    header.setSectionResizeMode(stretch % len(headers), QHeaderView.Stretch)
    t.setAlternatingRowColors(True)
    return t


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            if value.isdigit():
                item.setTextAlignment(int(Qt.AlignRight | Qt.AlignVCenter))
            table.setItem(r, c, item)


def _fmt_date(d: str) -> str:
    return f"{d[:4]}-{d[4:6]}-{d[6:8]}" if len(d) == 8 and d.isdigit() else d


def _fmt_name(name: str) -> str:
    return name.replace("^", " ").strip()


def _n(value: int | None) -> str:
    return "" if value is None else str(value)


class _NodeBar(QWidget):
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


class _NetDialog(QDialog):
    """What both dialogs share: the settings, the node bar, running one task at a time."""

    def __init__(self, parent: Any, settings: QSettings | None,
                 config_file: str | Path | None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.config_file = config_file
        self.task: NetTask | None = None
        self._tasks: list[NetTask] = []
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_task)
        self.node_bar = _NodeBar(self)
        self.node_bar.echo_button.clicked.connect(self.echo)
        self.node_bar.nodes_button.clicked.connect(self.edit_nodes)
        try:
            self.config = load_viewer_config(settings, config_file)
        except PacsConfigError as exc:
            self.config = PacsConfig()
            self.set_status(exc.message, error=True)
        self.node_bar.fill(self.config, str(settings.value("pacs/node", "")) if settings else "")

    # ----------------------------------------------------------------- helpers
    def node(self) -> PacsNode | None:
        name = self.node_bar.combo.currentData()
        if not name:
            self.set_status("No PACS node: add one with Nodes…", error=True)
            return None
        if self.settings is not None:
            self.settings.setValue("pacs/node", name)
        return self.config.node(str(name))

    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #d9534f;" if error else "")

    def busy(self) -> bool:
        """A request is under way: its result has not been handled yet."""
        return self.task is not None

    def start(self, work: Callable, on_done: Callable[[Any], None], message: str,
              progress: bool = False) -> NetTask | None:
        """Run ``work`` in a :class:`NetTask`; ``on_done(result)`` in the GUI thread."""
        if self.busy():
            self.set_status("Wait for the running request, or cancel it")
            return None
        task = NetTask(work, self)
        self.task = task
        self._tasks.append(task)
        task.succeeded.connect(lambda result: self._finished(task, result, on_done))
        task.failed.connect(lambda msg, cancelled: self._failed(task, msg, cancelled))
        task.progressed.connect(self._progressed)
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)
        self.progress.setRange(0, 100 if progress else 0)  # busy indicator while unknown
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self.set_status(message)
        self._set_enabled(False)
        task.start()
        return task

    def _progressed(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(100 * done / total))
            self.set_status(f"Received {done} of {total} instance(s)…" if isinstance(
                self, PacsDialog) else f"Sent {done} of {total} instance(s)…")

    def _finished(self, task: NetTask, result: Any, on_done: Callable[[Any], None]) -> None:
        if task is not self.task:
            return
        self.task = None
        self._idle()
        on_done(result)

    def _failed(self, task: NetTask, message: str, cancelled: bool) -> None:
        if task is not self.task:
            return
        self.task = None
        self._idle()
        self.progress.setValue(0)
        self.set_status(("Cancelled: " if cancelled else "") + message, error=not cancelled)

    def _idle(self) -> None:
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(False)
        self._set_enabled(True)

    def _set_enabled(self, enabled: bool) -> None:
        self.node_bar.setEnabled(enabled)

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.set_status("Cancelling…")

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Cancel and wait for every task this dialog started (closing, tests)."""
        for task in list(self._tasks):
            task.cancel()
            task.wait(msecs)
        return not any(t.isRunning() for t in self._tasks)

    def done(self, result: int) -> None:  # noqa: D401 — QDialog.done: close
        if self.task is not None:
            self.task.cancel()
        self.task = None  # a request past cancel ends within its timeouts, unheard
        super().done(result)

    # ----------------------------------------------------------------- actions
    def echo(self) -> None:
        node = self.node()
        if node is None:
            return
        from app.net import echo
        cfg = self.config
        self.start(lambda p, c: echo(node, cfg),
                   lambda s: self.set_status(f"{node.describe()}: C-ECHO ok in "
                                             f"{s * 1000:.0f} ms"),
                   f"Verifying {node.describe()}…")

    def edit_nodes(self) -> None:
        dlg = NodesDialog(self.config, self)
        if dlg.exec_() != QDialog.Accepted or dlg.result_config is None:
            return
        try:
            where = _save_viewer_config(dlg.result_config, self.settings, self.config_file)
        except PacsConfigError as exc:
            self.set_status(exc.message, error=True)
            return
        self.config = dlg.result_config
        self.node_bar.fill(self.config, str(self.node_bar.combo.currentData() or ""))
        self.set_status(f"PACS settings saved to {where}")


class PacsDialog(_NetDialog):
    """File ▸ Open from PACS…: search, choose a series, retrieve it into the cache."""

    seriesRetrieved = pyqtSignal(object)  # the cache folder of the retrieved series

    def __init__(self, parent: Any = None, settings: QSettings | None = None,
                 config_file: str | Path | None = None, cache: Any = None) -> None:
        super().__init__(parent, settings, config_file)
        self.setWindowTitle("Open from PACS")
        self.cache = cache
        self.studies: list[Study] = []
        self.series: list[Series] = []
        self.retrieved: Path | None = None

        form = QGroupBox("Search")
        grid = QGridLayout(form)
        self.patient_name = QLineEdit()
        self.patient_name.setPlaceholderText("DOE* (wildcards * ?)")
        self.patient_id = QLineEdit()
        self.accession = QLineEdit()
        self.modality = QComboBox()
        for m in MODALITIES:
            self.modality.addItem(m or "any", m)
        self.date_from = QLineEdit()
        self.date_to = QLineEdit()
        for w in (self.date_from, self.date_to):
            w.setPlaceholderText("YYYYMMDD")
            w.setMaxLength(8)
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        for w in (self.patient_name, self.patient_id, self.accession, self.date_from,
                  self.date_to):
            w.returnPressed.connect(self.search)
        grid.addWidget(QLabel("Patient name"), 0, 0)
        grid.addWidget(self.patient_name, 0, 1)
        grid.addWidget(QLabel("Patient ID"), 0, 2)
        grid.addWidget(self.patient_id, 0, 3)
        grid.addWidget(QLabel("Accession"), 0, 4)
        grid.addWidget(self.accession, 0, 5)
        grid.addWidget(QLabel("Study date from"), 1, 0)
        grid.addWidget(self.date_from, 1, 1)
        grid.addWidget(QLabel("to"), 1, 2)
        grid.addWidget(self.date_to, 1, 3)
        grid.addWidget(QLabel("Modality"), 1, 4)
        grid.addWidget(self.modality, 1, 5)
        grid.addWidget(self.search_button, 0, 6, 2, 1)

        self.study_table = _table(["Patient", "Patient ID", "Study date", "Modalities",
                                   "Description", "Accession", "Series", "Images"], stretch=4)
        self.study_table.itemSelectionChanged.connect(self._study_chosen)
        self.series_table = _table(["#", "Modality", "Description", "Images"], stretch=2)
        self.series_table.itemSelectionChanged.connect(self._update_buttons)
        self.series_table.doubleClicked.connect(lambda _index: self.retrieve())
        split = QSplitter(Qt.Vertical)
        for title, table in (("Studies", self.study_table), ("Series", self.series_table)):
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(table)
            split.addWidget(box)
        split.setSizes([260, 180])

        self.retrieve_button = QPushButton("Retrieve and open")
        self.retrieve_button.setEnabled(False)
        self.retrieve_button.clicked.connect(self.retrieve)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.retrieve_button)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.node_bar)
        layout.addWidget(form)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(980, 640)
        if not self.config.nodes and not self.status.text():
            self.set_status(f"No PACS node yet: add one with Nodes… (kept in {config_path()} "
                            "for the command line too)")

    def query(self) -> StudyQuery:
        return StudyQuery(self.patient_name.text(), self.patient_id.text(),
                          self.date_from.text(), self.date_to.text(),
                          str(self.modality.currentData() or ""), self.accession.text())

    def _set_enabled(self, enabled: bool) -> None:
        super()._set_enabled(enabled)
        self.search_button.setEnabled(enabled)
        self.study_table.setEnabled(enabled)
        self.series_table.setEnabled(enabled)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.retrieve_button.setEnabled(not self.busy() and self.chosen_series() is not None)

    def chosen_study(self) -> Study | None:
        rows = self.study_table.selectionModel().selectedRows()
        return self.studies[rows[0].row()] if rows and rows[0].row() < len(self.studies) \
            else None

    def chosen_series(self) -> Series | None:
        rows = self.series_table.selectionModel().selectedRows()
        return self.series[rows[0].row()] if rows and rows[0].row() < len(self.series) \
            else None

    # ----------------------------------------------------------------- search
    def search(self) -> None:
        node = self.node()
        if node is None:
            return
        try:
            query = self.query()
            query.study_date()
        except ValueError as exc:
            self.set_status(str(exc), error=True)
            return
        from app.net import find_studies
        cfg = self.config
        self.start(lambda p, c: find_studies(node, cfg, query), self._show_studies,
                   f"Searching {node.name}…")

    def _show_studies(self, studies: list[Study]) -> None:
        self.studies = list(studies)
        self.series = []
        _fill(self.series_table, [])
        _fill(self.study_table, [[_fmt_name(s.patient_name), s.patient_id,
                                  _fmt_date(s.study_date), s.modalities, s.description,
                                  s.accession, _n(s.n_series), _n(s.n_instances)]
                                 for s in self.studies])
        self.set_status(f"{len(self.studies)} stud{'y' if len(self.studies) == 1 else 'ies'}"
                        " found" + ("" if self.studies else ": widen the search"))
        if len(self.studies) == 1:
            self.study_table.selectRow(0)

    def _study_chosen(self) -> None:
        study = self.chosen_study()
        if study is None or self.busy():
            return
        node = self.node()
        if node is None:
            return
        from app.net import find_series
        cfg = self.config
        self.start(lambda p, c: find_series(node, cfg, study.study_uid), self._show_series,
                   "Listing the study's series…")

    def _show_series(self, series: list[Series]) -> None:
        self.series = list(series)
        _fill(self.series_table, [[_n(s.number), s.modality, s.description, _n(s.n_instances)]
                                  for s in self.series])
        self.set_status(f"{len(self.series)} series: choose one and Retrieve and open "
                        "(or double-click it)")
        if len(self.series) == 1:
            self.series_table.selectRow(0)
        self._update_buttons()

    # ----------------------------------------------------------------- retrieve
    def retrieve(self) -> None:
        series = self.chosen_series()
        node = self.node()
        if series is None or node is None or self.busy():
            return
        from app.net import RetrieveCache, retrieve_series
        cfg = self.config
        cache = self.cache or RetrieveCache(max_bytes=cfg.cache_mb * 1024 * 1024)
        expected = series.n_instances or 0

        def work(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Path:
            return retrieve_series(node, cfg, series.study_uid, series.series_uid, cache=cache,
                                   expected=expected, progress=progress, cancelled=cancelled)
        self.start(work, self._retrieved,
                   f"Retrieving {expected or 'the'} image(s) from {node.name} by "
                   f"C-{cfg.retrieve.upper()}…", progress=True)

    def _retrieved(self, folder: Path) -> None:
        self.retrieved = Path(folder)
        n = sum(1 for _ in self.retrieved.iterdir())
        self.set_status(f"Retrieved {n} image(s); opening the series")
        self.seriesRetrieved.emit(self.retrieved)
        self.accept()


class SendDialog(_NetDialog):
    """Send derived DICOM files to a PACS node (C-STORE), with one result row per instance."""

    def __init__(self, files: Sequence[str | Path], parent: Any = None,
                 settings: QSettings | None = None,
                 config_file: str | Path | None = None) -> None:
        super().__init__(parent, settings, config_file)
        self.files = [Path(f) for f in files]
        self.results: list[StoreResult] = []
        self.setWindowTitle("Send to PACS")
        self.table = _table(["File", "Result"])
        _fill(self.table, [[f.name, "not sent"] for f in self.files])
        self.send_button = QPushButton(f"Send {len(self.files)} instance(s)")
        self.send_button.setDefault(True)
        self.send_button.setEnabled(bool(self.files))
        self.send_button.clicked.connect(self.send)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        note = QLabel("Computed images, not acquired: they go to the PACS as a derived series "
                      "(new Series Instance UID, same study), labelled as such.")
        note.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.send_button)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.node_bar)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(720, 420)

    def _set_enabled(self, enabled: bool) -> None:
        super()._set_enabled(enabled)
        self.send_button.setEnabled(enabled and bool(self.files))

    def send(self) -> None:
        node = self.node()
        if node is None or not self.files:
            return
        from app.net import store
        cfg, files = self.config, list(self.files)
        self.start(lambda p, c: store(node, cfg, files, progress=p, cancelled=c,
                                      raise_on_refusal=False),
                   self._sent, f"Sending {len(files)} instance(s) to {node.name}…",
                   progress=True)

    def _sent(self, results: list[StoreResult]) -> None:
        self.results = list(results)
        rows = []
        by_path = {r.path: r for r in results}
        for f in self.files:
            r = by_path.get(f)
            rows.append([f.name, "not sent (cancelled)" if r is None else
                         ("stored — " if r.ok else "REFUSED — ") + r.message])
        _fill(self.table, rows)
        for row, f in enumerate(self.files):
            r = by_path.get(f)
            if r is not None and not r.ok:
                self.table.item(row, 1).setForeground(Qt.red)
        ok = sum(r.ok for r in results)
        self.set_status(f"{ok} of {len(self.files)} instance(s) stored",
                        error=ok < len(self.files))


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
            self._add_row(n.name, n.ae_title, n.host, str(n.port))
        add = QPushButton("Add node")
        add.clicked.connect(lambda: self._add_row("", "", "", "104"))
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
        buttons.accepted.connect(self._accept)
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

    def _add_row(self, *values: str) -> None:
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
        t = float(self.timeout.value())
        return replace(self._base, local_ae=self.local_ae.text(),
                       retrieve=str(self.retrieve.currentData()),
                       move_port=self.move_port.value(), cache_mb=self.cache_mb.value(),
                       timeouts=Timeouts(connect=min(t, 30.0), acse=t, dimse=t, network=t),
                       nodes=tuple(nodes))

    def _accept(self) -> None:
        try:
            self.result_config = self.config()
        except PacsConfigError as exc:
            self.error.setText(exc.message)
            return
        self.accept()

