"""The menus and their shortcuts as one table, the function that builds them, and Help's
keyboard-shortcut list read from the same table.

Each :class:`Command` names the window's method that runs it (``handler``, a dotted path from
the window: ``"canvas.fit"``), its keys, and the state it is enabled in (``enabled_when``: a
name :func:`refresh_enabled` looks up). Submenus whose entries change with the image (recent
files, window presets, the panels to export) and the view-mode group are placeholders the
window fills.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from PyQt5.QtCore import QEvent, QObject, QRect, Qt
from PyQt5.QtGui import QKeyEvent, QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QActionGroup,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QMenu,
    QMenuBar,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .navigation import SCROLL_KEYS


@dataclass(frozen=True)
class Command:
    """One entry of a menu.

    Attributes:
        id: the key of the built action (or submenu) in :class:`BuiltMenus`.
        menu: the top-level menu's title ("&File").
        text: the entry's text ("-": a separator).
        handler: the window's method run when triggered (a dotted path from the window);
            with ``checkable``, the method given the new state when toggled.
        args: positional arguments of ``handler``.
        shortcut: keys in Qt's portable text ("Ctrl+Shift+O", "PgDown"); alternatives
            separated by "; " ("Ctrl+Shift+Z; Ctrl+Y").
        standard: a ``QKeySequence.StandardKey`` name instead ("Open": the platform's keys).
        enabled_when: a state name (:data:`STATES`); None: always enabled.
        checkable: a toggle; ``checked`` its first state.
        checked: see ``checkable``.
        group: commands of one group name are exclusive choices (checkable; the handler
            gets ``args`` when one is chosen).
        tip: the tooltip.
        application_wide: the shortcut works in every window of the application.
        kind: "action", "separator", "submenu" (filled by the window) or "section" (entries
            the window adds in place).
    """

    id: str
    menu: str
    text: str = ""
    handler: str = ""
    args: tuple[Any, ...] = ()
    shortcut: str = ""
    standard: str = ""
    enabled_when: str | None = None
    checkable: bool = False
    checked: bool = False
    tip: str = ""
    application_wide: bool = False
    kind: str = "action"
    group: str = ""


def _sep(menu: str, n: int) -> Command:
    return Command(f"{menu}-separator-{n}", menu, "-", kind="separator")


FILE, EDIT, VIEW, MEASURE, PROCESS, HELP = ("&File", "&Edit", "&View", "&Measure", "&Process",
                                            "&Help")
#: The window's menus, in order.
COMMANDS: tuple[Command, ...] = (
    Command("open", FILE, "&Open…", "opening.open_dialog", standard="Open"),
    Command("open_folder", FILE, "Open &folder (DICOM series)…", "opening.open_folder_dialog",
            shortcut="Ctrl+Shift+O"),
    Command("open_pacs", FILE, "Open from &PACS…", "open_pacs_dialog"),
    Command("open_sample", FILE, "Open &sample", "open_sample"),
    Command("recent", FILE, "Open &recent", kind="submenu"),
    _sep(FILE, 1),
    Command("export", FILE, "&Export panel", kind="submenu"),
    Command("sheet", FILE, "Export comparison &sheet…", "export_sheet"),
    Command("send_pacs", FILE, "Send derived DICOM to P&ACS…", "send_to_pacs_dialog"),
    _sep(FILE, 2),
    Command("quit", FILE, "&Quit", "close", standard="Quit"),
    Command("undo", EDIT, "&Undo", "measure.undo", standard="Undo",
            tip="Undo the last change of the region, an annotation or the window/level"),
    Command("redo", EDIT, "&Redo", "measure.redo", shortcut="Ctrl+Shift+Z; Ctrl+Y"),
    _sep(EDIT, 1),
    Command("whole_image", EDIT, "&Whole image as region", "whole_image"),
    Command("fit", VIEW, "&Fit image", "canvas.fit", shortcut="F"),
    Command("fit_panels", VIEW, "Fit &panels", "comparison.fit_all"),
    Command("actual_pixels", VIEW, "&Actual pixels in the panels (1:1)",
            "comparison.actual_pixels",
            tip="One result pixel on one screen pixel (double-click a panel to give it the "
                "whole comparison area)"),
    Command("clear_measurement", VIEW, "Clear &measurement (Ctrl+drag measures)",
            "canvas.clear_measurement"),
    Command("presets", VIEW, "&Window presets", kind="submenu"),
    _sep(VIEW, 1),
    Command("view_modes", VIEW, kind="section"),
    Command("next_slice", VIEW, "&Next slice / frame", "step_slice", (1,), "PgDown",
            enabled_when="image"),
    Command("prev_slice", VIEW, "P&revious slice / frame", "step_slice", (-1,), "PgUp",
            enabled_when="image"),
    Command("next_10", VIEW, "Ten slices on", "step_slice", (10,), "Shift+PgDown",
            enabled_when="image"),
    Command("prev_10", VIEW, "Ten slices back", "step_slice", (-10,), "Shift+PgUp",
            enabled_when="image"),
    Command("last_slice", VIEW, "Last slice", "opening.step_to_end", (1,), "End",
            enabled_when="image"),
    Command("first_slice", VIEW, "First slice", "opening.step_to_end", (-1,), "Home",
            enabled_when="image"),
    Command("overlay", VIEW, "Patient and image &information", "canvas.set_overlay_visible",
            shortcut="I", checkable=True, checked=True),
    Command("graphics", VIEW, "DICOM &overlay graphics", "canvas.set_graphics_visible",
            checkable=True, checked=True,
            tip="The file's overlay planes (60xx): outlines and labels stored with the image"),
    Command("wheel_zooms", VIEW, "Mouse &wheel zooms (Ctrl not needed)", "set_wheel_zooms",
            checkable=True,
            tip="Off (the default, as in Horos, Weasis and RadiAnt): the wheel pages slices and "
                "Ctrl+wheel zooms. On: the wheel zooms, as in earlier versions of this viewer"),
    Command("loupe", VIEW, "&Loupe", "controls.set_loupe", shortcut="L", checkable=True),
    Command("tool_none", MEASURE, "&No tool (left-drag: region of interest)", "measure.set_tool",
            ("",), "S", group="tool", checked=True),
    Command("tool_distance", MEASURE, "&Distance", "measure.set_tool", ("distance",), "D",
            group="tool", tip="Drag, or click both ends"),
    Command("tool_angle", MEASURE, "&Angle", "measure.set_tool", ("angle",), "A", group="tool",
            tip="Three clicks (end, vertex, end) or two drags (end to vertex, then to the "
                "other end)"),
    Command("tool_ellipse", MEASURE, "&Ellipse region", "measure.set_tool", ("ellipse",), "E",
            group="tool", tip="Drag across the region: its mean ± SD, min, max and area"),
    Command("tool_rectangle", MEASURE, "&Rectangle region", "measure.set_tool", ("rectangle",),
            "R", group="tool", tip="Drag across the region: its mean ± SD, min, max and area"),
    _sep(MEASURE, 1),
    Command("delete_annotation", MEASURE, "De&lete selected annotation",
            "measure.delete_selected", shortcut="Del",
            tip="Click an annotation with no tool chosen to select it"),
    Command("clear_annotations", MEASURE, "&Clear annotations of this slice", "measure.clear"),
    Command("run", PROCESS, "&Super-resolve", "run", shortcut="Ctrl+R", enabled_when="idle",
            application_wide=True),
    Command("slices", PROCESS, "Super-resolve region over s&lices…", "super_resolve_slices",
            shortcut="Ctrl+Shift+R", enabled_when="idle_with_roi"),
    Command("send_series", PROCESS, "Send derived series to &PACS…", "send_to_pacs_dialog"),
    Command("cancel", PROCESS, "&Cancel", "cancel", shortcut="Esc", enabled_when="running"),
    Command("shortcuts", HELP, "&Keyboard shortcuts", "show_shortcuts", standard="HelpContents"),
    Command("diagnostics", HELP, "Copy &diagnostics", "copy_diagnostics"),
    Command("about", HELP, "&About", "about"),
)

#: Keys and gestures of the image itself (not menu commands), for Help ▸ Keyboard shortcuts.
CANVAS_KEYS = (
    ("Move the region of interest by 1 px (Shift: 10 px)", "Arrows"),
    ("Resize the region of interest", "Ctrl+Arrows"),
    ("Draw / move / resize the region of interest", "Left-drag"),
    ("Measure a distance (Esc clears it)", "Ctrl+left-drag"),
    ("Window / level (a click: the context menu)", "Right-drag"),
    ("Pan", "Middle-drag, Space+left-drag"),
    ("Zoom in / out", "+ / −"),
    ("Fit the image", "F, double-click"),
    ("A result panel fills the comparison area / every panel again", "Double-click, Esc"),
    ("Measure a distance on a result panel (its mm and pixels; Esc clears)", "Ctrl+left-drag"),
    ("With a measuring tool: draw on the image or any panel (Esc drops an unfinished one)",
     "Left-click / drag"),
    ("Select an annotation (no tool chosen; Del deletes it)", "Click"),
)

#: The states ``enabled_when`` names, from (running, image open, region drawn).
STATES: dict[str, Callable[[bool, bool, bool], bool]] = {
    "image": lambda running, image, roi: image,
    "idle": lambda running, image, roi: not running,
    "idle_with_roi": lambda running, image, roi: not running and image and roi,
    "running": lambda running, image, roi: running,
}


@dataclass
class BuiltMenus:
    """The built menu bar's actions and submenus by command id, and the top-level menus by
    title."""

    actions: dict[str, QAction]
    submenus: dict[str, QMenu]
    menus: dict[str, QMenu]


def resolve(owner: Any, dotted: str) -> Callable[..., Any]:
    """``owner.a.b`` for "a.b"."""
    target = owner
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def build_menus(menu_bar: QMenuBar, owner: Any,
                section: Callable[[str, QMenu], None],
                commands: Sequence[Command] = COMMANDS) -> BuiltMenus:
    """Add ``commands`` to ``menu_bar``, each action calling its handler on ``owner``.

    Args:
        menu_bar: the window's menu bar.
        owner: the object the handlers are looked up on (the window).
        section: ``section(id, menu)`` adds a "section" command's entries to ``menu``.
        commands: the table.

    Returns:
        The actions, submenus and top-level menus built.
    """
    built = BuiltMenus({}, {}, {})
    groups: dict[str, QActionGroup] = {}
    for c in commands:
        menu = built.menus.get(c.menu)
        if menu is None:
            menu = built.menus[c.menu] = menu_bar.addMenu(c.menu)
        if c.kind == "separator":
            menu.addSeparator()
        elif c.kind == "submenu":
            built.submenus[c.id] = menu.addMenu(c.text)
        elif c.kind == "section":
            section(c.id, menu)
        else:
            built.actions[c.id] = action = _action(menu, owner, c)
            if c.group:
                groups.setdefault(c.group, QActionGroup(menu_bar)).addAction(action)
    return built


def _action(menu: QMenu, owner: Any, c: Command) -> QAction:
    action = menu.addAction(c.text)
    if c.standard:
        action.setShortcut(QKeySequence(getattr(QKeySequence, c.standard)))
    elif c.shortcut:
        action.setShortcuts([QKeySequence(k.strip()) for k in c.shortcut.split(";")])
    if c.application_wide:
        action.setShortcutContext(Qt.ApplicationShortcut)
    if c.tip:
        action.setToolTip(c.tip)
    if c.group:
        action.setCheckable(True)
        action.setChecked(c.checked)
        action.triggered.connect(lambda _checked=False, c=c: resolve(owner, c.handler)(*c.args))
    elif c.checkable:
        action.setCheckable(True)
        action.setChecked(c.checked)
        if c.handler:
            action.toggled.connect(lambda on, c=c: resolve(owner, c.handler)(on))
    elif c.handler:
        action.triggered.connect(lambda _checked=False, c=c: resolve(owner, c.handler)(*c.args))
    if c.enabled_when is not None:
        action.setEnabled(False)  # until refresh_enabled says otherwise
    return action


def refresh_enabled(built: BuiltMenus, running: bool, image: bool, roi: bool,
                    commands: Sequence[Command] = COMMANDS) -> None:
    """Enable every action with an ``enabled_when`` as its state says."""
    for c in commands:
        if c.enabled_when is not None and c.id in built.actions:
            built.actions[c.id].setEnabled(STATES[c.enabled_when](running, image, roi))


def _keys_text(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.NativeText) for k in action.shortcuts()
                     if not k.isEmpty())


def _plain(text: str) -> str:
    return text.replace("&", "")


def shortcut_rows(built: BuiltMenus, submenu_rows: Callable[[str], Iterable[tuple[str, str]]],
                  wheel_zooms: bool, commands: Sequence[Command] = COMMANDS
                  ) -> list[tuple[str, str, str]]:
    """(menu, command, keys) of every command of the table with keys, in the table's order;
    a submenu's entries come from ``submenu_rows(id)`` as (command, keys); then the image's
    own keys and gestures (:data:`CANVAS_KEYS`)."""
    rows: list[tuple[str, str, str]] = []
    for c in commands:
        if c.kind == "submenu":
            where = f"{_plain(c.menu)} ▸ {_plain(c.text)}"
            rows += [(where, text, keys) for text, keys in submenu_rows(c.id) if keys]
        elif c.kind == "action":
            keys = _keys_text(built.actions[c.id])
            if keys:
                rows.append((_plain(c.menu), _plain(c.text), keys))
    wheel = ("Mouse wheel zooms (View menu)" if wheel_zooms
             else "Wheel: slices; Ctrl+wheel: zoom")
    rows += [("Image", command, keys) for command, keys in CANVAS_KEYS]
    rows.append(("Image", "Slices and zoom", wheel))
    return rows


class NavigationKeysTo(QObject):
    """Event filter: the keys that move the ROI or page slices (arrows, PgUp/PgDn, Home/End)
    typed while a list such as the window presets has the focus go to ``target`` (focused)
    instead of choosing another entry of the list."""

    def __init__(self, target: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.target = target

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.KeyPress and event.key() in SCROLL_KEYS and not (
                isinstance(obj, QComboBox) and obj.view().isVisible()):
            self.target.setFocus(Qt.OtherFocusReason)
            owner = self.parent() if self.parent() is not None else self.target
            for action in owner.findChildren(QAction):  # a shortcut of these keys first
                if (action.isEnabled() and action.shortcut() and action.shortcut().matches(
                        QKeySequence(int(event.modifiers()) | event.key()))
                        == QKeySequence.ExactMatch):
                    action.trigger()
                    return True
            QApplication.sendEvent(self.target, QKeyEvent(QEvent.KeyPress, event.key(),
                                                          event.modifiers(), event.text()))
            return True
        return False


def shortcuts_dialog(parent: QWidget, rows: Sequence[tuple[str, str, str]],
                     available: QRect) -> QDialog:
    """A non-modal table of ``rows`` (menu, command, keys), sized within ``available``."""
    cells = "".join(f"<tr><td>{escape(m)}</td><td>{escape(c)}</td><td><b>{escape(k)}</b>"
                    f"</td></tr>" for m, c, k in rows)
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    text = QTextBrowser(dialog)
    text.setHtml("<table cellpadding='3'><tr><th align='left'>Where</th><th align='left'>"
                 f"Command</th><th align='left'>Keys</th></tr>{cells}</table>")
    buttons = QDialogButtonBox(QDialogButtonBox.Close, parent=dialog)
    buttons.rejected.connect(dialog.close)
    lay = QVBoxLayout(dialog)
    lay.addWidget(text)
    lay.addWidget(buttons)
    dialog.resize(min(640, available.width() - 40), min(560, available.height() - 80))
    dialog.show()
    return dialog


def about_box(parent: QWidget) -> QMessageBox:
    """Help ▸ About, non-modal."""
    box = QMessageBox(parent)
    box.setWindowModality(Qt.NonModal)
    box.setWindowTitle("About RMISR Viewer")
    box.setText("<b>RMISR Viewer</b> — medical image super-resolution (RMISR, pyramidal "
                "feature multi-distillation network) with Bicubic and SRCNN for comparison.")
    box.setInformativeText("Super-resolved pixels are computed, not acquired. Research "
                           "software: not for diagnostic use.")
    box.show()
    return box
