"""Dark theme (the radiology reading-room convention: dark surroundings keep the eye adapted
to the image)."""
from __future__ import annotations

from PyQt5.QtGui import QColor, QPalette
from PyQt5.QtWidgets import QApplication

STYLE_SHEET = """
QGroupBox { font-weight: bold; border: 1px solid #3a3d42; border-radius: 4px; margin-top: 8px;
            padding-top: 4px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; }
QFrame#panel { border: 1px solid #34373c; border-radius: 3px; background: #111214; }
QLabel#panelSubtitle, QLabel#qualityContext, QLabel#qualityNote, QLabel#jobLabel,
QLabel#imageHeader { color: #a8adb5; }
QLabel#placeholder { color: #8a9099; font-size: 11pt; }
QLabel#roiLabel, QLabel#windowLabel, QLabel#deviceLabel { color: #ffc400; }
QPushButton#runButton { font-weight: bold; padding: 6px; background: #2d5fa8; color: white;
                        border-radius: 4px; }
QPushButton#runButton:disabled { background: #3a3d42; color: #8a9099; }
QTableWidget { gridline-color: #34373c; }
QHeaderView::section { background: #26282c; color: #d8dce2; padding: 3px; border: 0px;
                       border-right: 1px solid #34373c; }
QStatusBar QLabel { color: #d8dce2; padding: 0 6px; }
"""


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style with a dark palette."""
    app.setStyle("Fusion")
    pal = QPalette()
    base, window, text = QColor(24, 25, 28), QColor(36, 38, 42), QColor(222, 225, 230)
    pal.setColor(QPalette.Window, window)
    pal.setColor(QPalette.WindowText, text)
    pal.setColor(QPalette.Base, base)
    pal.setColor(QPalette.AlternateBase, QColor(31, 33, 37))
    pal.setColor(QPalette.ToolTipBase, QColor(50, 52, 58))
    pal.setColor(QPalette.ToolTipText, text)
    pal.setColor(QPalette.Text, text)
    pal.setColor(QPalette.Button, QColor(46, 48, 53))
    pal.setColor(QPalette.ButtonText, text)
    pal.setColor(QPalette.BrightText, QColor(255, 80, 80))
    pal.setColor(QPalette.Highlight, QColor(45, 95, 168))
    pal.setColor(QPalette.HighlightedText, QColor(255, 255, 255))
    pal.setColor(QPalette.Link, QColor(90, 160, 255))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor(110, 114, 120))
    app.setPalette(pal)
    app.setStyleSheet(STYLE_SHEET)
