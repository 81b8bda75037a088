"""File ▸ Open from PACS… and Send derived DICOM to PACS… (the network work is :mod:`app.net`).

* :class:`PacsDialog` — a node, a search form (patient name / ID, accession number, modality,
  study date range), the matching studies (C-FIND, STUDY level), the chosen study's series
  (C-FIND, SERIES level: number, modality, description, images), and Retrieve (C-GET or C-MOVE
  into the per-user cache) with progress and Cancel; ``seriesRetrieved(folder)`` then hands the
  cached series to the window, which opens it as a folder.
* :class:`SendDialog` — C-STORE of derived files to a node, one result row per instance.

Both choose the node with :class:`~app.ui.pacs_nodes.NodeBar` and edit the settings with
:class:`~app.ui.pacs_nodes.NodesDialog`. Every network call runs in a
:class:`~app.ui.pacs_tasks.NetTask` thread: the window never waits on the network.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from PyQt5.QtCore import QSettings, Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.net import PacsConfig, PacsConfigError, PacsNode, Series, StoreResult, Study, StudyQuery, \
    config_path

from .pacs_nodes import NodeBar, NodesDialog, load_viewer_config, save_viewer_config
from .pacs_tasks import NetTask

__all__ = ["PacsDialog", "SendDialog", "MODALITIES"]

MODALITIES = ("", "CT", "MR", "CR", "DX", "MG", "US", "NM", "PT", "XA", "RF", "OT")


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


class _NetDialog(QDialog):
    """What both dialogs share: the settings, the node bar, running one task at a time."""

    #: The status line while instances move ({done}, {total}).
    PROGRESS_TEXT = "Sent {done} of {total} instance(s)…"

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
        self.node_bar = NodeBar(self)
        self.node_bar.echo_button.clicked.connect(self.echo)
        self.node_bar.nodes_button.clicked.connect(self.edit_nodes)
        try:
            self.config = load_viewer_config(settings, config_file)
        except PacsConfigError as exc:
            self.config = PacsConfig()
            self.set_status(exc.message, error=True)
        self.node_bar.fill(self.config, str(settings.value("pacs/node", "")) if settings else "")

    def _lay_out(self, body: Sequence[tuple[QWidget, int]], action: QPushButton) -> None:
        """The dialogs' common frame: the node bar, ``body`` (widget, stretch) top to bottom,
        the status line, and a bottom row of the progress bar, Cancel, ``action`` and Close."""
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(action)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.node_bar)
        for widget, stretch in body:
            layout.addWidget(widget, stretch)
        layout.addWidget(self.status)
        layout.addLayout(bottom)

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
            self.set_status(self.PROGRESS_TEXT.format(done=done, total=total))

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

    #: Cancel lets the request go at once (its association aborted), or, False, waits for it
    #: to stop between two steps and shows what it did (a send: which instances were stored)
    LET_GO_ON_CANCEL = True

    def cancel_task(self) -> None:
        """Stop the running request. With :attr:`LET_GO_ON_CANCEL` the dialog is usable at once:
        the task is let go (its association aborted where one is open; one still connecting
        ends at its own timeout, and a retrieve removes what it received), its outcome no
        longer shown."""
        task = self.task
        if task is None:
            return
        task.cancel(abort=self.LET_GO_ON_CANCEL)
        if not self.LET_GO_ON_CANCEL:
            self.set_status("Cancelling… (after the instance being sent)")
            return
        self.task = None
        self._idle()
        self.set_status("Cancelled")

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Cancel and wait for every task this dialog started (closing, tests)."""
        for task in list(self._tasks):
            task.cancel(abort=self.LET_GO_ON_CANCEL)
            task.wait(msecs)
        return not any(t.isRunning() for t in self._tasks)

    def done(self, result: int) -> None:  # noqa: D401 — QDialog.done: close
        if self.task is not None:  # a send stops between two instances, not inside one
            self.task.cancel(abort=self.LET_GO_ON_CANCEL)
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
            where, backup = save_viewer_config(dlg.result_config, self.settings,
                                               self.config_file)
        except PacsConfigError as exc:
            self.set_status(exc.message, error=True)
            return
        self.config = dlg.result_config
        self.node_bar.fill(self.config, str(self.node_bar.combo.currentData() or ""))
        kept = f" (the unreadable file it replaced is kept as {backup.name})" if backup else ""
        self.set_status(f"PACS settings saved to {where}{kept}")


class PacsDialog(_NetDialog):
    """File ▸ Open from PACS…: search, choose a series, retrieve it into the cache."""

    seriesRetrieved = pyqtSignal(object)  # the cache folder of the retrieved series
    PROGRESS_TEXT = "Received {done} of {total} instance(s)…"

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
        fields = [("Patient name", self.patient_name), ("Patient ID", self.patient_id),
                  ("Accession", self.accession), ("Study date from", self.date_from),
                  ("to", self.date_to), ("Modality", self.modality)]
        for i, (label, widget) in enumerate(fields):  # three label + field pairs a row
            row, col = divmod(i, 3)
            grid.addWidget(QLabel(label), row, 2 * col)
            grid.addWidget(widget, row, 2 * col + 1)
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
        self._lay_out([(form, 0), (split, 1)], self.retrieve_button)
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
        if not self.busy():  # the series listed belong to the study chosen before: gone, so a
            self.series = []  # failed listing cannot leave them to be retrieved as this one's
            _fill(self.series_table, [])
            self._update_buttons()
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
        study = self.chosen_study()
        self.series = [s for s in series if study is not None and s.study_uid == study.study_uid]
        if series and not self.series:  # an answer for the study chosen before
            _fill(self.series_table, [])
            self._update_buttons()
            self.set_status("The series listed were of another study: choose the study again",
                            error=True)
            return
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
        study = self.chosen_study()
        if series is None or node is None or self.busy():
            return
        if study is None or series.study_uid != study.study_uid:  # never another study's
            self.set_status("The series listed are not the chosen study's: choose the study "
                            "again", error=True)
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

    LET_GO_ON_CANCEL = False  # the rows say which instances the PACS holds

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
        note = QLabel("Computed images, not acquired: they go to the PACS as a derived series "
                      "(new Series Instance UID, same study), labelled as such.")
        note.setWordWrap(True)
        self._lay_out([(note, 0), (self.table, 1)], self.send_button)
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
                         r.message if r.status is None else  # not sent: no status
                         ("stored — " if r.ok else "REFUSED — ") + r.message])
        _fill(self.table, rows)
        for row, f in enumerate(self.files):
            r = by_path.get(f)
            if r is not None and not r.ok:
                self.table.item(row, 1).setForeground(Qt.red)
        ok = sum(r.ok for r in results)
        self.set_status(f"{ok} of {len(self.files)} instance(s) stored",
                        error=ok < len(self.files))
