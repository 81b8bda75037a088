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
               weights_dir: str | Path | None = None, report_startup: bool = False,
               t0: float | None = None) -> int:
    """Open the main window (on ``path``, else on the bundled sample) and run the event loop.

    A ``path`` that cannot be read leaves the window empty with the error shown: showing the
    sample (another patient's image, as far as the user knows) instead would mislead.

    Args:
        path: the image or folder to open.
        device: the engine's device ("auto", "cpu", "cuda"); default from the settings.
        weights_dir: the weights folder (default ``weights/``).
        report_startup: print the seconds (since ``t0``) until the window is shown with its image
            (usable) and until the engine is loaded (Super-resolve enabled), then quit — used by
            ``python -m app.startup_time``.
        t0: a ``time.perf_counter()`` taken at program start.

    Returns:
        The event loop's exit status.
    """
    import time

    app = create_application()
    from .main_window import MainWindow

    win = MainWindow(device=device, weights_dir=weights_dir)
    win.show()
    if path is not None:
        win.open_file(path)  # on failure: the error and an empty window, never another image
    else:
        win.open_sample()
    if report_startup:
        from PyQt5.QtCore import QTimer

        start = t0 if t0 is not None else time.perf_counter()

        def engine_ready(*_: object) -> None:
            print(f"engine_ready {time.perf_counter() - start:.3f}", flush=True)
            app.quit()

        def engine_failed(*_: object) -> None:  # not "ready": the measuring tool says so
            print(f"engine_failed {time.perf_counter() - start:.3f}", flush=True)
            app.quit()

        def window_ready() -> None:  # first turn of the event loop: window painted, image shown
            print(f"window_ready {time.perf_counter() - start:.3f}", flush=True)
            loader = win.runs.loader  # started by a zero-timer queued before this one
            if loader is None or loader.isFinished():
                engine_ready()
            else:
                loader.loaded.connect(engine_ready)
                loader.failed.connect(engine_failed)

        QTimer.singleShot(0, window_ready)
        QTimer.singleShot(60000, app.quit)
    return int(app.exec_())
