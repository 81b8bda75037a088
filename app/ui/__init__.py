"""PyQt5 viewer. Thin widgets over :mod:`app.io`, :mod:`app.quality` and :mod:`models`.

Modules: ``canvas`` (source image, ROI, window/level) with ``roi_item`` (the ROI and its
geometry); ``panels`` (synchronised comparison) with ``panel_view`` (one panel), ``panel_data``
(what a panel shows, the view modes; no Qt), ``panel_annotations`` (the panels' annotations) and
``elided_label``; ``overlays`` (what the canvas and panels paint over the image),
``annotation_layer`` (measuring annotations: drawing and painting them, labels laid out by
:mod:`app.label_layout`, their tooltips), ``navigation`` (zoom
and wheel helpers) and ``drops`` (dropped files) shared by both; ``pacs_dialog`` (open from /
send to PACS) with ``pacs_nodes`` (nodes and settings) and ``pacs_tasks`` (network calls off the
UI thread); ``controls`` (scale, methods, device, run, measuring tools), ``worker`` (engine,
warm-up and jobs off the UI thread), ``quality_table``, ``export``, ``diagnostics``, ``theme``;
``main_window`` (the window: layout, docks, status bar, drops, close) with its controllers
``open_controller`` (open, step), ``run_controller`` (engine, warm-up, jobs, progress),
``export_controller`` (exports, notes, PACS), ``window_level`` (display window, presets) and
``measure_controller`` (measuring tools, annotations, undo/redo), ``menus`` (the menus and
shortcuts as one table) and ``window_settings`` (what is remembered) — the viewer's state itself
is :mod:`app.session` (with :mod:`app.annotations`, :mod:`app.measurements` and
:mod:`app.history`), without Qt; ``app`` (start-up), ``screenshot`` (README screenshot).
Importing this package does not import Qt.
"""
