"""Screenshot of the main window after a comparison (the README's picture).

    xvfb-run -s "-screen 0 1280x800x24" python -m app.ui.screenshot resources/screenshot.png

Opens the bundled sample at 1280×800, sets an ROI, runs every method that has weights at the
chosen scale, waits for the result, measures on the best network's panel (an ellipse region and
a distance, as a click-and-drag would: ``--no-annotation`` leaves them out) and saves
``QWidget.grab()`` of the window.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_ROI = (150, 170, 64, 64)   # right lung near the hilum: vessels and a pleural edge


def _wait(app, condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _annotate(win) -> None:
    """An ellipse region and a distance inside the ROI, drawn on the best network's panel
    through the panel's own mouse handling (the Ellipse and Distance tools)."""
    from PyQt5.QtCore import QPointF, Qt
    from PyQt5.QtTest import QTest

    keys = [d.key for d in win.comparison.panel_data() if d.kind == "sr"]
    best = next((m for m in ("rmisr-vp", "rmisr-bl", "srcnn") if m in keys), keys[-1])
    view = win.comparison.panel(best).view
    ew, eh = view.data.extent
    for tool, a, b in (("ellipse", (0.30, 0.35), (0.62, 0.62)),
                       ("distance", (0.15, 0.80), (0.80, 0.80))):
        win.measure.set_tool(tool)
        p0 = view.mapFromScene(QPointF(a[0] * ew, a[1] * eh))
        p1 = view.mapFromScene(QPointF(b[0] * ew, b[1] * eh))
        QTest.mousePress(view.viewport(), Qt.LeftButton, Qt.NoModifier, p0)
        QTest.mouseMove(view.viewport(), p1)
        QTest.mouseRelease(view.viewport(), Qt.LeftButton, Qt.NoModifier, p1)
    win.measure.set_tool("")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("output", nargs="?", default="resources/screenshot.png")
    p.add_argument("--scale", type=float, default=2.5)
    p.add_argument("--roi", default=",".join(map(str, DEFAULT_ROI)), help="x,y,w,h")
    p.add_argument("--simulate", action="store_true", help="tick 'Simulate low resolution'")
    p.add_argument("--loupe", action="store_true", help="show the loupe at the ROI centre")
    p.add_argument("--view", default="image", help="image, difference, edges or residual")
    p.add_argument("--no-annotation", action="store_true",
                   help="no measuring annotations on the result panels")
    p.add_argument("--device", default="auto")
    p.add_argument("--weights-dir", default=None)
    p.add_argument("--size", default="1280x800")
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args(argv)

    from PyQt5.QtCore import QPointF, QSettings

    from .app import create_application
    from .main_window import MainWindow

    app = create_application()
    tmp = tempfile.mkdtemp(prefix="rmisr-shot-")
    settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(settings=settings, device=args.device, weights_dir=args.weights_dir)
    w, h = (int(v) for v in args.size.lower().split("x"))
    win.setGeometry(0, 0, w, h)
    win.show()
    win.open_sample()
    if not _wait(app, lambda: win.engine.loaded and not (win.runs.loader and win.runs.loader.isRunning()),
                 120):
        print("the engine did not load", file=sys.stderr)
        return 1
    _wait(app, lambda: False, 0.3)
    win.controls.set_scale(args.scale)
    avail = win.engine.availability(list(win.controls.method_boxes), args.scale)
    win.controls.set_checked_methods([m for m, (ok, _) in avail.items() if ok])
    win.controls.set_simulate(args.simulate)
    x, y, rw, rh = (int(v) for v in args.roi.split(","))
    win.set_roi((x, y, rw, rh))
    if not win.run():
        print(f"could not start: {win.last_message()}", file=sys.stderr)
        return 1
    if not _wait(app, lambda: not win.is_running(), args.timeout):
        print("timed out", file=sys.stderr)
        return 1
    if win.last_result is None:
        print(f"the run failed: {win.last_message()}", file=sys.stderr)
        return 1
    win.controls.set_view_mode(args.view)
    if args.loupe:
        win.controls.set_loupe(True)
        ext = win.comparison.panel_data()[0].extent
        win.comparison.set_loupe_position(QPointF(ext[0] * 0.45, ext[1] * 0.4))
    if not args.no_annotation:
        _annotate(win)
    _wait(app, lambda: False, 0.5)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not win.grab().save(str(out), "PNG"):
        print(f"could not write {out}", file=sys.stderr)
        return 1
    print(f"saved {out} ({win.width()}×{win.height()}); methods: "
          + ", ".join(r.label for r in win.last_result.results))
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
