"""Export of a panel (through :func:`app.io.write_image`) and of a labelled comparison sheet."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPixmap

from app.batch import IMAGE_SUFFIXES

from .annotation_layer import paint_annotations
from .panel_data import PanelData, caption_variants

#: extensions a sheet's name may end in that :func:`save_image_atomic` turns into .png
_IMAGE_SUFFIXES = IMAGE_SUFFIXES | {"", ".gif"}

if TYPE_CHECKING:
    from app.annotations import Annotation
    from app.io import WrittenImage
    from app.quality import QualityReport

PANEL_FILTERS = {
    "png": "PNG — windowed 8-bit (*.png)",
    "tiff": "TIFF — 16-bit, full range (*.tif *.tiff)",
    "dcm": "DICOM — derived instance (*.dcm)",
}
UNCERTAINTY_FILTERS = {
    "png": "PNG — heat map with colour bar (*.png)",
    "tiff": "TIFF — 16-bit, the spread in the image's units (*.tif *.tiff)",
    "dcm": "DICOM — Secondary Capture (*.dcm)",
}
SHEET_FILTER = "PNG image (*.png)"
SHEET_NOTE = ("SR panels are computed, not acquired. Research software: not for diagnosis. "
              "PSNR/SSIM need a reference; no-reference figures do not prove fidelity.")


def format_from(path: str | Path, selected_filter: str = "") -> str:
    """'png', 'tiff' or 'dcm' from the file's extension, else from the dialog's filter."""
    ext = Path(path).suffix.lower()
    if ext == ".png":
        return "png"
    if ext in (".tif", ".tiff"):
        return "tiff"
    if ext in (".dcm", ".dicom"):
        return "dcm"
    for filters in (PANEL_FILTERS, UNCERTAINTY_FILTERS):
        for fmt, flt in filters.items():
            if selected_filter and selected_filter == flt:
                return fmt
    return "png"


def with_extension(path: str | Path, fmt: str) -> Path:
    """Add the format's extension when the name has none."""
    p = Path(path)
    if not p.suffix:
        p = p.with_suffix({"png": ".png", "tiff": ".tif", "dcm": ".dcm"}[fmt])
    return p


def suggested_name(source_path: str | Path | None, data: PanelData, fmt: str,
                   uncertainty: bool = False) -> str:
    """"<source>_<method>_x<scale>[_uncertainty].<ext>"."""
    stem = Path(source_path).stem if source_path else "image"
    what = data.method or data.key
    scale = f"_x{data.scale:g}" if data.scale is not None else ""
    ext = {"png": ".png", "tiff": ".tif", "dcm": ".dcm"}[fmt]
    tail = "_uncertainty" if uncertainty else ""
    return f"{stem}_{what}{scale}{tail}{ext}".replace(" ", "_")


def export_panel(path: str | Path, data: PanelData, source: Any,
                 roi: tuple[int, int, int, int], window: tuple[float, float],
                 fmt: str | None = None, simulated: bool = False,
                 series_instance_uid: str | None = None) -> WrittenImage:
    """Write one panel's full-range pixels through :mod:`app.io`; returns what was written
    (its ``warnings`` for the user).

    * a result (``kind == "sr"``): :func:`app.io.write_image` — PNG through ``window`` with the
      label burnt into a caption strip below the image (:func:`app.io.add_caption`), 16-bit
      TIFF at full range with spacing ÷ scale, derived DICOM (Secondary Capture for non-DICOM
      sources), each labelled "SR ×s <method> — computed, not acquired";
    * a result of a *simulated* low-resolution input lies on the source's pixel grid and is a test,
      not an image of the patient: PNG or TIFF only, labelled as simulated;
    * the source ROI / reference / simulated input: PNG or TIFF (the acquired data already exist
      as the source file, so no DICOM is derived from them).

    Args:
        path: target file (extension chooses the format unless ``fmt`` is given).
        data: the panel.
        source: the :class:`app.io.ImageData` the ROI was cut from.
        roi: the ROI (x, y, w, h) in the source that the panel shows.
        window: display window (PNG rendering, DICOM window attributes).
        fmt: "png", "tiff" or "dcm".
        simulated: the run used "Simulate low resolution".

    Raises:
        app.io.ImageIOError: the writer refused or failed (readable message).
        ValueError: a format that does not apply to this panel.
    """
    from app.io import WrittenImage, computed_label, write_image, write_png, write_tiff16
    from app.io.labels import run_notes

    fmt = fmt or format_from(path)
    path = with_extension(path, fmt)
    invert = bool(getattr(source, "invert", False))
    if data.kind == "sr" and not simulated:
        sha = getattr(data.info, "weights_sha256", None) if data.info is not None else None
        notes = run_notes(data.info, getattr(source, "value_unit", ""))  # range, fallbacks
        return write_image(path, data.pixels, source=source, fmt=fmt,
                           scale=float(data.scale or 1.0), roi=roi,
                           method=data.method or data.title, weights_sha256=sha, window=window,
                           invert=invert, series_instance_uid=series_instance_uid,
                           description_extra=notes)
    if fmt == "dcm":
        if data.kind == "sr":
            raise ValueError("this result was computed from a simulated low-resolution input: it "
                             "is a test, not an image of the patient — export it as PNG or TIFF")
        raise ValueError(f"the {data.title} panel is not a super-resolved result: export it as "
                         "PNG or TIFF (the acquired data are in the source file)")
    if data.kind == "sr":
        label = (computed_label(float(data.scale or 1.0), data.method or data.title)
                 + " (from a simulated low-resolution input)")
    elif data.kind == "input":
        label = data.overlay or "simulated low-resolution input — computed, not acquired"
    else:
        label = f"{data.title}: acquired pixels, cropped"
    spacing = panel_spacing(data, source)
    if fmt == "png":
        write_png(path, data.pixels, window[0], window[1], invert, source=source, label=label,
                  caption=data.kind in ("sr", "input"))  # computed pixels say so in the picture
    elif fmt == "tiff":
        return WrittenImage(Path(path), fmt, tiff=write_tiff16(
            path, data.pixels, source=source, computed=label, pixel_spacing=spacing,
            invert=invert))
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return WrittenImage(Path(path), fmt)


def export_uncertainty(path: str | Path, data: PanelData, source: Any,
                       roi: tuple[int, int, int, int], fmt: str | None = None,
                       top: float | None = None, simulated: bool = False) -> WrittenImage:
    """Write a result panel's computed uncertainty map (:func:`app.uncertainty_view.
    write_uncertainty`): PNG heat map on 0 … ``top`` (the panels' shared scale) with its colour
    bar and caption, 16-bit TIFF in the image's units, or a DICOM Secondary Capture labelled as a
    computed uncertainty map. A map of a *simulated* low-resolution input is a test: PNG or
    TIFF only.

    Raises:
        app.io.ImageIOError: the writer refused or failed (readable message).
        ValueError: no map (not a best-quality result), or DICOM of a simulated run.
    """
    from app.uncertainty_view import NEEDS_BEST_QUALITY, write_uncertainty

    if data.kind != "sr" or data.uncertainty is None:
        raise ValueError(NEEDS_BEST_QUALITY if data.kind == "sr" else
                         f"the {data.title} panel is not a computed result: it has no "
                         "uncertainty map")
    fmt = fmt or format_from(path)
    if fmt == "dcm" and simulated:
        raise ValueError("this map is of a result computed from a simulated low-resolution "
                         "input: it is a test, not an image of the patient — export it as PNG "
                         "or TIFF")
    sha = getattr(data.info, "weights_sha256", None) if data.info is not None else None
    return write_uncertainty(with_extension(path, fmt), data.uncertainty, source=source,
                             scale=float(data.scale or 1.0), roi=roi,
                             method=data.method or data.title, fmt=fmt, top=top,
                             weights_sha256=sha, simulated=simulated,
                             pixel_spacing=panel_spacing(data, source) if simulated else None)


def panel_spacing(data: PanelData, source: Any) -> tuple[float, float] | None:
    """The pixel spacing of a panel's pixels: the source's spacing times the scene extent
    they cover per pixel (a result of a simulated input covers the acquired region: its
    spacing is the source's ÷ (its size ÷ the region's), not ÷ the scale)."""
    spacing = getattr(source, "pixel_spacing", None)
    if spacing is None:
        return None
    h, w = data.pixels.shape[:2]
    return (spacing[0] * data.extent[1] / h, spacing[1] * data.extent[0] / w)


def _breakable(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` with a zero-width break opportunity every 16 characters inside any word wider
    than ``width`` (a long file name has no space for word wrapping to break at)."""
    def split(word: str) -> str:
        if metrics.horizontalAdvance(word) <= width:
            return word
        return "\u200b".join(word[i:i + 16] for i in range(0, len(word), 16))
    return "\n".join(" ".join(split(w) for w in line.split(" ")) for line in text.split("\n"))


def annotation_lines(annotations: Sequence[Annotation], data: PanelData,
                     measure: Callable[[Annotation, PanelData], str]) -> list[str]:
    """"1 Distance: 16.0 mm · 50.0 px", … — each annotation's number, kind and what it measures
    on the panel ``data`` (from that panel's pixels)."""
    return [f"{n} {a.name}: {measure(a, data)}" for n, a in enumerate(annotations, start=1)]


def render_sheet(panels: Sequence[tuple[PanelData, QPixmap]], header: str,
                 cell: int | None = None, quality: QualityReport | None = None,
                 quality_context: str = "", annotations: Sequence[Annotation] = (),
                 measure: Callable[[Annotation, PanelData], str] | None = None,
                 mode: str = "image", messages: dict[str, str] | None = None) -> QImage:
    """One image with every panel (nearest-neighbour), its title, its caption, and a header;
    below them the quality table of the same run (``quality``), its context and its note, so that a
    printed sheet carries the figures it is judged by. The table also goes into the PNG's
    ``Description`` text (tab-separated, :meth:`QualityReport.to_tsv`).

    ``mode`` is the view the panels were drawn in: their captions say it as the panels do
    ("[Difference to bicubic] SR ×2 …", :func:`caption_variants`); ``messages`` (panel key →
    text) is written over a panel the view does not apply to ("Not a result: no difference").
    ``annotations`` (source coordinates) are drawn numbered on every panel and listed under
    it with what ``measure(annotation, panel)`` says they measure there; the lists also go into
    the ``Description`` text. A file name too long for the sheet's width breaks anywhere, a
    panel's title is elided to its cell."""
    n = len(panels)
    cols = n if n <= 3 else (2 if n == 4 else 3)
    rows = (n + cols - 1) // cols
    if cell is None:
        biggest = max(max(pm.width(), pm.height()) for _, pm in panels) if panels else 256
        cell = int(min(max(biggest, 256), 512))
    title_font = QFont()
    title_font.setPointSizeF(11)
    title_font.setBold(True)
    small = QFont()
    small.setPointSizeF(9)
    fm_t, fm_s = QFontMetrics(title_font), QFontMetrics(small)
    pad = 10
    title_h = fm_t.height() + fm_s.height() + 6
    listed = {d.key: "\n".join(annotation_lines(annotations, d, measure))
              for d, _ in panels} if annotations and measure is not None else {}
    list_h = max((fm_s.boundingRect(0, 0, cell, 10000, Qt.TextWordWrap, t).height() + 4
                  for t in listed.values()), default=0)
    table = _QualityBlock(quality, quality_context, small) if quality is not None else None
    # the sheet is as wide as the table needs: figures are never cut
    width = max(cols * cell + (cols + 1) * pad, int(math.ceil(table.min_width)) + 2 * pad
                if table else 0)
    text_w = width - 2 * pad
    header = _breakable(header, fm_s, text_w)
    header_h = fm_s.boundingRect(0, 0, text_w, 10000, Qt.TextWordWrap, header).height() + 2 * pad
    footer_h = fm_s.boundingRect(0, 0, text_w, 10000, Qt.TextWordWrap, SHEET_NOTE).height() + pad
    if table is not None:
        table.set_width(text_w)
    panels_bottom = header_h + rows * (cell + title_h + list_h + pad)
    height = panels_bottom + (table.height + pad if table else 0) + footer_h
    img = QImage(width, height, QImage.Format_RGB32)
    img.fill(QColor(20, 20, 22))
    p = QPainter(img)
    p.setRenderHint(QPainter.SmoothPixmapTransform, False)
    p.setRenderHint(QPainter.TextAntialiasing, True)
    p.setFont(small)
    p.setPen(QColor(230, 230, 230))
    p.drawText(QRectF(pad, pad, width - 2 * pad, header_h - pad), Qt.TextWordWrap, header)
    for i, (data, pm) in enumerate(panels):
        r, c = divmod(i, cols)
        x = pad + c * (cell + pad)
        y = header_h + r * (cell + title_h + list_h + pad)
        p.setFont(title_font)
        p.setPen(QColor(240, 240, 240))
        p.drawText(QRectF(x, y, cell, fm_t.height()), Qt.AlignLeft,
                   fm_t.elidedText(data.title, Qt.ElideMiddle, cell))
        p.setFont(small)
        p.setPen(QColor(170, 170, 170))
        p.drawText(QRectF(x, y + fm_t.height() + 2, cell, fm_s.height()), Qt.AlignLeft,
                   fm_s.elidedText(data.subtitle, Qt.ElideMiddle, cell))
        box = QRectF(x, y + title_h, cell, cell)
        p.fillRect(box, QColor(0, 0, 0))
        ew, eh = data.extent
        k = min(cell / ew, cell / eh)
        target = QRectF(box.x() + (cell - ew * k) / 2, box.y() + (cell - eh * k) / 2, ew * k,
                        eh * k)
        p.drawPixmap(target, pm, QRectF(pm.rect()))
        if data.key in listed:
            _draw_listed(p, fm_s, box, target, data, annotations, listed[data.key])
        message = (messages or {}).get(data.key, "")
        if message:  # the view does not apply to this panel: said, not a blank box
            p.setPen(QColor(200, 200, 200))
            p.drawText(box.adjusted(8, 8, -8, -8), Qt.AlignCenter | Qt.TextWordWrap, message)
        captions = caption_variants(data, mode)
        if captions:
            br = fm_s.boundingRect(box.adjusted(6, 4, -6, -4).toRect(), Qt.TextWordWrap,
                                   captions[0])
            p.fillRect(QRectF(br).adjusted(-4, -2, 4, 2), QColor(0, 0, 0, 180))
            p.setPen(QColor(255, 210, 80))
            p.drawText(QRectF(br), Qt.TextWordWrap, captions[0])
    if table is not None:
        table.draw(p, pad, panels_bottom)
    p.setPen(QColor(200, 200, 200))
    p.drawText(QRectF(pad, height - footer_h, width - 2 * pad, footer_h - 4), Qt.TextWordWrap,
               SHEET_NOTE)
    p.end()
    text = "\n".join(t for t in (
        (quality_context + "\n" if quality_context else "") + quality.to_tsv()
        if quality is not None else "",
        "\n".join(f"Annotations on {d.title}:\n{listed[d.key]}" for d, _ in panels
                  if d.key in listed)) if t)
    if text:
        img.setText("Description", text)
    return img


def _draw_listed(p: QPainter, fm: QFontMetrics, box: QRectF, target: QRectF, data: PanelData,
                 annotations: Sequence[Annotation], listing: str) -> None:
    """The numbered annotations over a panel's image (``target``: where its extent lies on
    the sheet) and their measurements below its ``box``."""
    ew, eh = data.extent
    ox, oy = data.origin
    kx, ky = target.width() / ew, target.height() / eh
    p.save()
    p.setClipRect(box)
    p.setRenderHint(QPainter.Antialiasing, True)
    paint_annotations(p, fm, box, annotations,
                      lambda q: QPointF(target.x() + (q[0] - ox) * kx,
                                        target.y() + (q[1] - oy) * ky),
                      lambda _a: ())  # the number alone: the list below says the rest
    p.restore()
    p.setPen(QColor(150, 240, 170))
    p.drawText(QRectF(box.x(), box.bottom() + 4, box.width(), 10000), Qt.TextWordWrap, listing)


class _QualityBlock:
    """The quality table laid out for the sheet: a context line, a grid of the table's cells
    (method left-aligned, figures right-aligned, each column as wide as its widest cell) and the
    report's note, word-wrapped to the sheet's width."""

    def __init__(self, report: QualityReport, context: str, font: QFont) -> None:
        self.headers = [c.display_header for c in report.columns()]  # the panel's 2-line form
        self.body = report.table()[1]
        self.context = context or f"×{report.scale:g}"
        self.note = report.note
        self.font = QFont(font)
        self._fm = QFontMetrics(self.font)
        self.row_h = self._fm.height() + 4
        self.head_h = self.row_h * max(h.count("\n") + 1 for h in self.headers)
        self.col_w = [max(self._fm.horizontalAdvance(t)
                          for t in h.split("\n") + [r[j] for r in self.body]) + 14
                      for j, h in enumerate(self.headers)]
        #: the narrowest width that shows every cell whole
        self.min_width = float(sum(self.col_w))
        self.set_width(int(math.ceil(self.min_width)))

    def set_width(self, width: int) -> None:
        """Lay the note out for ``width`` (≥ :attr:`min_width`) pixels."""
        self.width = width
        self.note_h = self._fm.boundingRect(0, 0, width, 10000, Qt.TextWordWrap,
                                            self.note).height()
        self.height = self.row_h * (1 + len(self.body)) + self.head_h + self.note_h + 6

    def draw(self, p: QPainter, x0: float, y0: float) -> None:
        p.setFont(self.font)
        p.setPen(QColor(240, 240, 240))
        p.drawText(QRectF(x0, y0, self.width, self.row_h), Qt.AlignLeft | Qt.AlignVCenter,
                   f"Quality — {self.context}")
        y = y0 + self.row_h
        for i, row in enumerate([self.headers] + self.body):
            h = self.head_h if i == 0 else self.row_h
            p.fillRect(QRectF(x0, y, sum(self.col_w), h),
                       QColor(45, 45, 50) if i == 0 else QColor(28, 28, 32) if i % 2
                       else QColor(20, 20, 22))
            p.setPen(QColor(255, 210, 80) if i == 0 else QColor(225, 225, 225))
            x = x0
            for j, text in enumerate(row):
                align = (Qt.AlignLeft if j == 0 else Qt.AlignRight) | Qt.AlignVCenter
                p.drawText(QRectF(x + 5, y, self.col_w[j] - 10, h), align, text)
                x += self.col_w[j]
            y += h
        p.setPen(QColor(170, 170, 170))
        p.drawText(QRectF(x0, y + 4, self.width, self.note_h + 2), Qt.TextWordWrap, self.note)


def orientation_text(orientation: Sequence[float] | None) -> str:
    """The plane and the edges' patient directions of ImageOrientationPatient ("axial, left R
    right L top A bottom P"; "oblique, …" when no axis dominates); "" when unknown."""
    from app.io import orientation_labels

    labels = orientation_labels(tuple(orientation) if orientation is not None else None)
    if labels is None or orientation is None:
        return ""
    r, c = [float(v) for v in orientation[:3]], [float(v) for v in orientation[3:]]
    normal = [abs(r[1] * c[2] - r[2] * c[1]), abs(r[2] * c[0] - r[0] * c[2]),
              abs(r[0] * c[1] - r[1] * c[0])]
    planes = ("sagittal", "coronal", "axial")  # normal along x (L–R), y (A–P), z (S–I)
    k = max(range(3), key=lambda i: normal[i])
    plane = planes[k] if normal[k] >= 0.8 * max(math.hypot(*normal), 1e-9) else "oblique"
    return (f"{plane}, left {labels['left']} right {labels['right']} top {labels['top']} "
            f"bottom {labels['bottom']}")


def sheet_header(source_name: str, roi: tuple[int, int, int, int], scale: float,
                 window: tuple[float, float], unit: str, mode: str, simulated: bool,
                 function: str = "LINEAR", lut: Any = None, *, patient_id: str | None = None,
                 orientation: Sequence[float] | None = None) -> str:
    """The sheet's first lines: source, patient ID and orientation (when the file gives them),
    ROI, scale, the grey mapping (window, VOI LUT Function or the file's VOI LUT:
    :func:`app.io.voi_label`), view mode and time."""
    from app.io import voi_label

    x, y, w, h = roi
    who = [f"patient ID {patient_id}" if patient_id else "",
           f"orientation {orientation_text(orientation)}" if orientation_text(orientation)
           else ""]
    parts = [f"RMISR Viewer comparison — {source_name}"
             + "".join(f" · {t}" for t in who if t),
             f"ROI x={x} y={y} {w}×{h} px · ×{scale:g}"
             + (" · simulated low-resolution input (reference = acquired ROI)"
                if simulated else ""),
             f"display {voi_label(*window, unit, function, lut)} · view: {mode} · "
             f"{datetime.now():%Y-%m-%d %H:%M}"]
    return "\n".join([parts[0], " · ".join(parts[1:])])


def may_replace(chosen: str | Path, final: Path, ask: Callable[[str, str], bool]) -> bool:
    """Whether a save may write ``final``, the name ``chosen`` in a save dialog becomes once its
    extension is added: the dialog asked about replacing ``chosen`` only, so an existing
    ``final`` is asked about here through ``ask(title, question)`` (False: nothing written)."""
    if Path(chosen) == Path(final) or not Path(final).exists():
        return True
    return ask("Replace the file?", f"{final} already exists. Replace it?")


def png_name(path: str | Path) -> Path:
    """The PNG a save writes for the name typed: a missing or other image extension replaced
    ("sheet.jpg" → "sheet.png"), any other kept and .png appended."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        return path
    return (path.with_suffix(".png") if path.suffix.lower() in _IMAGE_SUFFIXES
            else path.with_name(path.name + ".png"))


def save_image_atomic(image: QImage, path: str | Path,
                      sources: Sequence[Path | str | None] = ()) -> Path:
    """Save a QImage as PNG through :func:`app.io._atomic.atomic_write` (temporary file, fsync,
    rename): never onto ``sources`` or any image read in this session (SourceOverwriteError).
    The name ends in .png: a missing or other image extension is replaced ("sheet.jpg" →
    "sheet.png"), any other is kept and .png appended.

    Raises:
        app.io.ImageIOError: refused (a source) or not written; OSError: not encodable.
    """
    from PyQt5.QtCore import QBuffer, QByteArray, QIODevice

    from app.io._atomic import atomic_write

    path = png_name(path)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"could not encode {path.name} as PNG")
    buffer.close()
    png = bytes(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda fh: fh.write(png), sources=sources)
