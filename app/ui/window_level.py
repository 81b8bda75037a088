"""Window/level: the display window of the image and every panel, the named presets (keys 1–9,
0 the file's own window), the presets file, and the image's context menu."""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QPoint, Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QFileDialog, QMenu

from app.formatting import format_window

if TYPE_CHECKING:
    from .main_window import MainWindow

#: Pixels of a right-drag on a panel that change the level by one window width (and the width
#: by a factor e).
DRAG_PIXELS = 200.0

#: One entry of the presets menu: (text, keys, action); None in place of one: a separator.
PresetEntry = tuple[str, str, Callable[[], None]] | None


class WindowLevelController:
    """Applies display windows and keeps the presets list, the presets menu and the status
    bar's window text in step with the session's presets."""

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.session = win.session
        self._drag_start = (0.5, 1.0)

    # -- presets ---------------------------------------------------------------------------
    def presets_path(self) -> str:
        """The presets file in use ("" for the bundled one)."""
        return str(self.win.settings.value("presetsPath", "") or "")

    def load_presets(self) -> None:
        """The named presets first (keys 1–9: 1 = Lung on CT, as in PACS viewers), then the
        windows the file suggests; 0 is the file's own window."""
        problem = self.session.load_presets(self.presets_path())
        if problem:
            self.win.show_error("Window presets not loaded", problem)
        presets = self.session.presets
        self.win.controls.set_presets([f"{i + 1}  {n}" if i < 9 else f"    {n}"
                                       for i, (n, _) in enumerate(presets)]
                                      + ["0  The file's own window"])
        menu = self.win.preset_menu
        menu.clear()
        for entry in self.preset_entries():
            if entry is None:
                menu.addSeparator()
                continue
            text, keys, run = entry
            action = menu.addAction(text)
            action.triggered.connect(lambda _c=False, run=run: run())
            if keys:
                action.setShortcut(QKeySequence(keys))

    def preset_entries(self) -> list[PresetEntry]:
        """The presets menu's entries: each preset (keys 1–9, as in PACS viewers), the file's
        own window (0), and the presets file's choices."""
        entries: list[PresetEntry] = [
            (f"{name} — {format_window(c, w)}", str(i + 1) if i < 9 else "",
             lambda i=i: self.apply_preset(i))
            for i, (name, (c, w)) in enumerate(self.session.presets)]
        entries += [None, ("Reset to the file's window", "0", self.reset_window),
                    ("Load presets file…", "", self.choose_presets_file)]
        if self.presets_path():
            entries.append(("Use the bundled presets", "", lambda: self.set_presets_path("")))
        return entries

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(text, keys) of the presets menu's entries, for Help ▸ Keyboard shortcuts."""
        return [(e[0], e[1]) for e in self.preset_entries() if e is not None]

    def choose_presets_file(self) -> None:
        """Ask for a window-presets JSON file and use it."""
        settings = self.win.settings
        start = str(settings.value("presetsPath", "") or settings.value("lastDir", ""))
        path, _ = QFileDialog.getOpenFileName(self.win, "Window presets (JSON)", start,
                                              "Window presets (*.json);;All files (*)")
        if path:
            self.set_presets_path(path)

    def set_presets_path(self, path: str | Path) -> None:
        """Use a window-presets JSON file ('' = the bundled one); remembered in the settings."""
        self.win.settings.setValue("presetsPath", str(path or ""))
        if self.session.image is not None:
            self.load_presets()

    def apply_preset(self, index: int) -> None:
        """Apply the ``index``-th preset and name it in the status bar."""
        presets = self.session.presets
        if 0 <= index < len(presets):
            name, (c, w) = presets[index]
            before = self.win.canvas.window()
            self.set_window(c, w)
            self.record(before, self.win.canvas.window())
            self.win.statusBar().showMessage(
                f"Window: {name} ({self.win.window_status.text()})", 3000)

    def preset_index_chosen(self, combo_index: int) -> None:
        """An entry of the presets list was chosen; the keys go back to the image."""
        if combo_index - 1 == len(self.session.presets):  # the last: "0  The file's own window"
            self.reset_window()
        else:
            self.apply_preset(combo_index - 1)
        self.win.controls.reset_preset_choice()
        self.win.canvas.setFocus(Qt.OtherFocusReason)  # arrows move the ROI again, PgDn pages

    def reset_window(self) -> None:
        """Back to the file's own window (key 0)."""
        img = self.session.image
        if img is not None:
            before = self.win.canvas.window()
            self.set_window(*img.window)
            self.record(before, self.win.canvas.window())
            self.win.statusBar().showMessage(
                f"Window: the file's own ({self.win.window_status.text()})", 3000)

    # -- the window ------------------------------------------------------------------------
    def set_window(self, center: float, width: float, from_canvas: bool = False) -> None:
        """Apply one display window to the canvas and every panel."""
        win, img = self.win, self.session.image
        if not from_canvas:
            win.canvas.set_window(center, width)
        self.session.display_window = win.canvas.window()
        win.comparison.set_window(center, width, img.invert if img else False,
                                  img.voi_function if img else None, img.voi_lut if img else None)
        text = win.canvas.window_label()  # the overlay's words: function, the file's VOI LUT
        win.window_status.setText(text)
        win.controls.set_window_text(f"Window {text}")

    def record(self, before: tuple[float, float], after: tuple[float, float]) -> None:
        """The user changed the window from ``before`` to ``after`` (a preset, the file's own,
        a right-drag on the image or a panel): Edit ▸ Undo gives ``before`` back."""
        self.session.record_window(before, after, self.set_window)

    def panel_window_drag(self, event: tuple[str, int, int]) -> None:
        """A right-drag on a panel: ("start", 0, 0), then ("move", dx, dy) from its start,
        then ("end", 0, 0) when it moved."""
        phase, dx, dy = event
        if phase == "start":
            self._drag_start = self.win.canvas.window()
            return
        if phase == "end":
            self.record(self._drag_start, self.win.canvas.window())
            return
        c0, w0 = self._drag_start
        self.set_window(c0 + dy * w0 / DRAG_PIXELS, w0 * math.exp(dx / DRAG_PIXELS))

    def canvas_menu(self, pos: QPoint) -> None:
        """The image's context menu: the presets, reset, fit and the region."""
        win = self.win
        m = QMenu(win)
        for i, (name, (c, w)) in enumerate(self.session.presets):
            m.addAction(f"{name} — {format_window(c, w)}", lambda i=i: self.apply_preset(i))
        if self.session.presets:
            m.addSeparator()
        m.addAction("Reset window", self.reset_window)
        m.addAction("Fit image", win.canvas.fit)
        m.addAction("Whole image as ROI", win.whole_image)
        m.addAction("Clear ROI", lambda: win.canvas.set_roi(None))
        m.popup(pos)
