"""What the viewer remembers between sessions (``QSettings``): the run settings, the window's
geometry, dock and splitters, and the display options. A damaged value falls back to the
default instead of stopping the viewer."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PyQt5.QtCore import QByteArray

from app.io import SCALE_MAX, SCALE_MIN

if TYPE_CHECKING:
    from .main_window import MainWindow

#: The window's size at its first start (logical pixels), reduced to what the screen offers.
START_SIZE = (1280, 800)
DEFAULT_SCALE = 2.0


def _flag(value: object, default: str) -> bool:
    return str(value if value is not None else default).lower() == "true"


def saved_scale(value: object) -> float:
    """The saved magnification, or :data:`DEFAULT_SCALE` when it is missing, not a number or
    outside the range the viewer offers."""
    try:
        scale = float(value if value is not None else DEFAULT_SCALE)
    except (TypeError, ValueError):
        return DEFAULT_SCALE
    return scale if math.isfinite(scale) and SCALE_MIN <= scale <= SCALE_MAX else DEFAULT_SCALE


def restore(win: MainWindow) -> None:
    """Set the controls, the display options and the window's geometry and layout from
    ``win.settings``; the window is fitted to its screen."""
    s, controls = win.settings, win.controls
    controls.set_scale(saved_scale(s.value("scale", DEFAULT_SCALE)), emit=False, force=True)
    methods = s.value("methods", ["bicubic"])
    if isinstance(methods, str):
        methods = [methods]
    controls.set_checked_methods(list(methods or ["bicubic"]))
    controls.set_simulate(_flag(s.value("simulate", "false"), "false"))
    controls.set_device_choice(win.engine.device_choice)
    controls.set_precision_choice(str(s.value("precision", "auto")))
    controls.set_best_quality(_flag(s.value("bestQuality", "false"), "false"))
    win.act_overlay.setChecked(_flag(s.value("overlay", "true"), "true"))
    win.act_wheel_zooms.setChecked(_flag(s.value("wheelZooms", "false"), "false"))
    geom = _bytes(s.value("geometry"))
    if geom is None or not win.restoreGeometry(geom):
        win.resize(*START_SIZE)
    win.fit_to_screen(centre=geom is None)
    for key, apply in (("windowState", win.restoreState),  # the dock's place
                       ("topSplitter", win.top_splitter.restoreState),
                       ("mainSplitter", win.main_splitter.restoreState)):
        state = _bytes(s.value(key))
        if state is not None:
            apply(state)


def _bytes(value: object) -> QByteArray | None:
    """A saved geometry or layout, or None where the value is not one (empty, or text written
    by hand or by another version): the default then, never a viewer that cannot start."""
    if isinstance(value, (bytes, bytearray)):
        value = QByteArray(bytes(value))
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def save(win: MainWindow) -> None:
    """Write the controls, the display options and the window's geometry and layout to
    ``win.settings``."""
    s, controls = win.settings, win.controls
    s.setValue("scale", controls.scale())
    s.setValue("methods", controls.checked_methods())
    s.setValue("simulate", controls.simulate())
    s.setValue("device", win.engine.device_choice)
    s.setValue("precision", controls.precision_choice())
    s.setValue("bestQuality", controls.best_quality())
    s.setValue("geometry", win.saveGeometry())
    s.setValue("windowState", win.saveState())
    s.setValue("topSplitter", win.top_splitter.saveState())
    s.setValue("mainSplitter", win.main_splitter.saveState())
    s.setValue("overlay", win.act_overlay.isChecked())
    if not s.contains("presetsPath"):
        s.setValue("presetsPath", "")
    s.sync()
