"""Exports of the shown result: a panel's pixels, a panel's uncertainty map, the labelled
comparison sheet; their notes (listed, never a warning dialog); and the PACS dialogs."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import QPoint
from PyQt5.QtWidgets import QFileDialog, QMenu

from app.formatting import format_number, readable_error
from app.io import ImageIOError

from . import export as export_mod
from .notes import NotesDialog
from .panel_data import VIEW_MODES, PanelData

if TYPE_CHECKING:
    from .main_window import MainWindow

log = logging.getLogger(__name__)

NOTHING_TO_EXPORT = ("Nothing to export", "Run Super-resolve first.")


class ExportController:
    """Writes what the comparison shows, with the window's save dialogs."""

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.session = win.session
        self._pacs_dialog: Any = None
        self._send_dialog: Any = None

    # -- menus -----------------------------------------------------------------------------
    def fill_export_menu(self) -> None:
        """File ▸ Export panel: one entry per panel, then each uncertainty map."""
        menu = self.win.export_menu
        menu.clear()
        panels = self.win.comparison.panel_data()
        if not panels:
            menu.addAction("(run Super-resolve first)").setEnabled(False)
            return
        for d in panels:
            menu.addAction(f"{d.title}…", lambda key=d.key: self.export_panel(key))
        maps = [d for d in panels if d.uncertainty is not None]
        if maps:
            menu.addSeparator()
        for d in maps:
            menu.addAction(f"{d.title} uncertainty map…",
                           lambda key=d.key: self.export_uncertainty(key))

    def panel_menu(self, key: str, pos: QPoint) -> None:
        """A panel's context menu: its exports, the sheet, fit and reset window."""
        panel = self.win.comparison.panel(key)
        if panel is None:
            return
        m = QMenu(self.win)
        m.addAction(f"Export {panel.data.title}…", lambda: self.export_panel(key))
        if panel.data.uncertainty is not None:
            m.addAction(f"Export {panel.data.title} uncertainty map…",
                        lambda: self.export_uncertainty(key))
        m.addAction("Export comparison sheet…", self.export_sheet)
        m.addSeparator()
        m.addAction("Fit panels", self.win.comparison.fit_all)
        m.addAction("Reset window", self.win.reset_window)
        m.popup(pos)

    def export_requested(self, key: str) -> None:
        """A panel's export button: the uncertainty map while the Uncertainty view shows one,
        else the panel's pixels."""
        comparison = self.win.comparison
        panel = comparison.panel(key)
        if (comparison.mode() == "uncertainty" and panel is not None
                and panel.data.uncertainty is not None):
            self.export_uncertainty(key)
        else:
            self.export_panel(key)

    # -- writing ---------------------------------------------------------------------------
    def _shown(self, key: str) -> PanelData | None:
        """The data of panel ``key`` of the shown result, or None (said as a message)."""
        panel = self.win.comparison.panel(key)
        if panel is None or self.session.image is None or self.session.last_result is None:
            self.win.show_error(*NOTHING_TO_EXPORT)
            return None
        return panel.data

    def _outdated_ok(self) -> bool:
        """Whether to export the shown result when settings changed after it was computed:
        the files describe the run that made it (its scale, region, method), so they stay
        true, but the user is asked, since the panels no longer show the current settings."""
        reason = self.session.stale_reason()
        if reason is None:
            return True
        return self.win.confirm("Export an outdated result?",
                                f"The result shown is outdated ({reason}). The exported files "
                                "describe the run that computed it. Export it anyway?")

    def export_panel(self, key: str, path: str | Path | None = None,
                     fmt: str | None = None) -> Path | None:
        """Export a panel (dialog when ``path`` is None); returns the written path or None."""
        data = self._shown(key)
        if data is None or not self._outdated_ok():
            return None
        img, session = self.session.image, self.session
        if path is None:
            chosen = self._ask_export_path(f"Export {data.title}", export_mod.suggested_name(
                img.source_path, data, "png"), export_mod.PANEL_FILTERS)
            if chosen is None:
                return None
            path, fmt = chosen
        fmt = fmt or export_mod.format_from(path)
        roi = session.export_roi(data.kind, data.extent)
        series_uid = session.series_uid_for(data.method, data.scale, roi) \
            if data.kind == "sr" else None
        written = self._guarded(fmt, lambda: export_mod.export_panel(
            path, data, img, roi, self.win.canvas.window(), fmt,
            simulated=session.last_result.request.simulate, series_instance_uid=series_uid))
        if written is None:
            return None
        out = written.path
        if written.warnings:  # e.g. computed values clipped to the range the file can store
            self.add_notes(f"Exported {data.title} to {out}", list(written.warnings))
        else:
            self.win.statusBar().showMessage(f"Exported {data.title} to {out}", 6000)
        return out

    def export_uncertainty(self, key: str, path: str | Path | None = None,
                           fmt: str | None = None) -> Path | None:
        """Export a result panel's computed uncertainty map (dialog when ``path`` is None): PNG
        with colour bar, 16-bit TIFF or DICOM Secondary Capture; the written path or None."""
        data = self._shown(key)
        if data is None or not self._outdated_ok():
            return None
        img, session = self.session.image, self.session
        if path is None:
            chosen = self._ask_export_path(
                f"Export the {data.title} uncertainty map",
                export_mod.suggested_name(img.source_path, data, "png", uncertainty=True),
                export_mod.UNCERTAINTY_FILTERS)
            if chosen is None:
                return None
            path, fmt = chosen
        fmt = fmt or export_mod.format_from(path)
        written = self._guarded(  # the PNG's colour scale is the one the panels share
            fmt, lambda: export_mod.export_uncertainty(
                path, data, img, session.export_roi(data.kind, data.extent), fmt,
                top=self.win.comparison.uncertainty_top(),
                simulated=session.last_result.request.simulate))
        if written is None:
            return None
        out = written.path
        self.win.statusBar().showMessage(f"Exported the {data.title} uncertainty map to {out}",
                                         6000)
        return out

    def export_sheet(self, path: str | Path | None = None) -> Path | None:
        """Export the comparison as one labelled PNG (dialog when ``path`` is None)."""
        win, session, img = self.win, self.session, self.session.image
        panels = win.comparison.panel_data()
        if not panels or session.last_result is None or img is None:
            win.show_error(*NOTHING_TO_EXPORT)
            return None
        if not self._outdated_ok():
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                win, "Export comparison sheet", str(self._start_folder() / session.sheet_name()),
                export_mod.SHEET_FILTER)
            if not chosen:
                return None
            path = export_mod.png_name(chosen)
            if not self.may_replace(chosen, path):
                return None
        req, mode = session.last_result.request, win.comparison.mode()
        image_view = mode == "image"  # a derived view's window is its own, linear, symmetric
        header = export_mod.sheet_header(img.source_path.name, req.roi, req.scale,
                                         win.comparison.display_window(), img.value_unit,
                                         VIEW_MODES[mode], req.simulate,
                                         img.voi_function if image_view else "LINEAR",
                                         img.voi_lut if image_view else None,
                                         patient_id=session.patient_id(),
                                         orientation=img.image_orientation)
        scale = win.comparison.colour_scale()
        if scale is not None:  # the heat maps' colour bar, in words
            unit = f" {scale[1]}" if scale[1] else ""
            top = format_number(scale[0], significant=3)
            header += ("\nComputed uncertainty maps (SD of 8 flipped/rotated runs, smoothed "
                       f"1 px): inferno colour scale from 0 (black) to {top}{unit} (pale yellow) "
                       "and above")
        notes = session.shown_annotations()
        if notes:
            header += (f"\n{len(notes)} annotation(s), numbered on every panel: lengths, "
                       "angles and areas from the pixel spacing, region statistics from each "
                       "panel's own pixels")
        rendered = {d.key: win.comparison.render_panel(d) for d in panels}
        items = [(d, rendered[d.key][0]) for d in panels]
        try:
            sheet = export_mod.render_sheet(items, header, quality=session.last_result.report,
                                            quality_context=win.quality.context(),
                                            annotations=notes,
                                            measure=win.comparison.annotation_text, mode=mode,
                                            messages={k: m for k, (_, m) in rendered.items()})
            out = export_mod.save_image_atomic(sheet, path, sources=[img.source_path])
        except (ImageIOError, OSError) as exc:  # e.g. the name of a source image
            win.show_error("Export failed", str(exc))
            return None
        win.settings.setValue("lastExportDir", str(Path(out).parent))
        win.statusBar().showMessage(f"Comparison sheet saved to {out}", 6000)
        return out

    def _start_folder(self) -> Path:
        settings = self.win.settings
        return Path(str(settings.value("lastExportDir", "") or
                        settings.value("lastDir", str(Path.home()))))

    def _ask_export_path(self, caption: str, name: str, filters: dict[str, str]
                         ) -> tuple[str, str] | None:
        """The save dialog of an export, starting in the last export folder: (path, format), or
        None when cancelled."""
        chosen, flt = QFileDialog.getSaveFileName(self.win, caption,
                                                  str(self._start_folder() / name),
                                                  ";;".join(filters.values()))
        if not chosen:
            return None
        fmt = export_mod.format_from(chosen, flt)
        final = export_mod.with_extension(chosen, fmt)
        if not self.may_replace(chosen, final):
            return None
        return str(final), fmt

    def may_replace(self, chosen: str | Path, final: Path) -> bool:
        """:func:`export.may_replace`, asked in the window."""
        return export_mod.may_replace(chosen, final, self.win.confirm)

    def _guarded(self, fmt: str, write: Callable[[], Any]) -> Any:
        """Run an export's ``write()``; a failure is shown (None returned). A DICOM written
        becomes what Send to PACS offers, and its folder the next export's start."""
        try:
            written = write()
        except (ImageIOError, ValueError, OSError) as exc:
            self.win.show_error("Export failed", str(exc))
            return None
        except Exception as exc:
            log.exception("export failed")
            self.win.show_error("Export failed", readable_error(exc))
            return None
        if fmt == "dcm":
            self.session.derived_files = [Path(written.path)]
        self.win.settings.setValue("lastExportDir", str(Path(written.path).parent))
        return written

    # -- notes -----------------------------------------------------------------------------
    def list_notes(self, title: str, lines: list[str]) -> None:
        """Add ``lines`` under ``title`` to the non-modal Notes area and show its button."""
        notes: NotesDialog = self.win.notes
        notes.add(title, lines)
        self.win.notes_button.setText(f"Notes ({notes.count()})")
        self.win.notes_button.show()

    def add_notes(self, title: str, lines: list[str]) -> None:
        """Say in the status bar that ``title`` came with notes and list them in the non-modal
        Notes area (the status bar's Notes button), without a dialog popping up."""
        self.list_notes(title, lines)
        first = lines[0] if len(lines) == 1 else f"{len(lines)} notes"
        self.win.statusBar().showMessage(f"{title} — {first} (Notes in the status bar)", 15000)

    # -- PACS (dialogs: pacs_dialog.py; network: app.net) ----------------------------------
    def open_pacs_dialog(self) -> Any:
        """File ▸ Open from PACS…: search, retrieve in the background, then open the series
        as a folder is opened."""
        from .pacs_dialog import PacsDialog

        self._pacs_dialog = PacsDialog(self.win, settings=self.win.settings)
        self._pacs_dialog.seriesRetrieved.connect(self.win.open_folder)
        self._pacs_dialog.open()
        return self._pacs_dialog

    def send_to_pacs_dialog(self, files: list[str | Path] | None = None) -> Any:
        """Send the last derived DICOM export or slice-range series to a PACS (C-STORE, a
        result per instance); with none yet, DICOM files are chosen."""
        from .pacs_dialog import SendDialog

        chosen = list(files) if files is not None else list(self.session.derived_files)
        if not chosen:
            start = str(self.win.settings.value("lastExportDir", "") or Path.home())
            chosen, _ = QFileDialog.getOpenFileNames(self.win, "Derived DICOM files to send",
                                                     start, "DICOM (*.dcm);;All files (*)")
            if not chosen:
                return None
        self._send_dialog = SendDialog(chosen, self.win, settings=self.win.settings)
        self._send_dialog.open()
        return self._send_dialog
