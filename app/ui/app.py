"""Start the viewer: QApplication, dark theme, main window, optional file."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def create_application(argv: list[str] | None = None) -> Any:
    """The QApplication (created once; high-DPI attributes set before it exists)."""
    from PyQt5.QtCore import QCoreApplication, Qt
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
        QCoreApplication.setAttribute(Qt.AA_UseHighDpiPixmaps, True)
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
        app.setOrganizationName("RMISR")
        app.setApplicationName("RMISR Viewer")
        from PyQt5.QtGui import QIcon

        from app.io import RESOURCES_DIR

        from .theme import apply_dark_theme

        apply_dark_theme(app)
        icon = RESOURCES_DIR / "icons" / "rmisr-viewer.png"
        if icon.is_file():
            app.setWindowIcon(QIcon(str(icon)))
    return app


def run_viewer(path: str | Path | None = None, device: str | None = None,
               weights_dir: str | Path | None = None) -> int:
    """Open the main window (on ``path``, else on the bundled sample) and run the event loop."""
    app = create_application()
    from .main_window import MainWindow

    win = MainWindow(device=device, weights_dir=weights_dir)
    win.show()
    if path is not None:
        if not win.open_file(path):
            win.open_sample()
    else:
        win.open_sample()
    return int(app.exec_())
