"""PyQt5 viewer. Thin widgets over :mod:`app.io`, :mod:`app.quality` and :mod:`models`.

Modules: ``canvas`` (source image, ROI, window/level), ``panels`` (synchronised comparison),
``controls`` (scale, methods, device, run), ``worker`` (engine and jobs off the UI thread),
``quality_table``, ``export``, ``diagnostics``, ``theme``, ``main_window``, ``app`` (start-up),
``screenshot`` (README screenshot). Importing this package does not import Qt.
"""
