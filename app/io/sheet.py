"""Labelled comparison sheet: display panels side by side, each with its label, in
one PNG. Used by ``rmisr-sr --demo`` and the viewer's "export comparison sheet"."""
from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import IO, Iterable, Sequence

import numpy as np

from ._atomic import atomic_write, source_paths
from .errors import WriteError
from .labels import SOFTWARE

__all__ = ["compose_sheet", "write_sheet", "add_caption"]

_FONT_CANDIDATES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LiberationSans-Regular.ttf",
                    "Arial.ttf", "arial.ttf", "Helvetica.ttc", "segoeui.ttf")
_ASCII = str.maketrans({"×": "x", "—": "-", "–": "-", "…": "...", "·": "."})


@lru_cache(maxsize=8)
def _font(size: int) -> tuple[object, bool]:
    """(font, full_unicode): a TrueType font with × and — when one is installed, else Pillow's
    default font (ASCII labels)."""
    from PIL import ImageFont

    for name in _FONT_CANDIDATES:
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size), False
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default(), False


def _to_rgb8(panel: np.ndarray) -> np.ndarray:
    a = np.asarray(panel)
    if a.dtype != np.uint8:
        raise WriteError(f"sheet panels must be uint8 display images, got {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise WriteError(f"sheet panel of shape {a.shape} is not grey or RGB")
    return a


def compose_sheet(panels: Sequence[tuple[np.ndarray, str]], title: str = "", columns: int = 0,
                  font_size: int = 15, margin: int = 8):
    """Lay out labelled panels on a grid.

    Args:
        panels: (uint8 display image (H, W) or (H, W, 3), label) pairs, e.g. from
            :func:`app.io.apply_window`; panels may differ in size (cells take the largest).
        title: line above the grid.
        columns: panels per row (0: up to 3).
        font_size: label size in pixels.
        margin: spacing in pixels.

    Returns:
        A PIL RGB image.
    """
    from PIL import Image, ImageDraw

    if not panels:
        raise WriteError("a comparison sheet needs at least one panel")
    imgs = [_to_rgb8(p) for p, _ in panels]
    labels = [str(label) for _, label in panels]
    font, unicode_ok = _font(font_size)
    if not unicode_ok:
        labels = [lab.translate(_ASCII) for lab in labels]
        title = title.translate(_ASCII)
    cols = columns or min(3, len(imgs))
    rows = math.ceil(len(imgs) / cols)
    cell_w = max(max(i.shape[1] for i in imgs),
                 max(int(math.ceil(font.getlength(lab))) + 6 for lab in labels))  # type: ignore
    cell_h = max(i.shape[0] for i in imgs)
    label_h = font_size + 10
    title_h = (font_size + 14) if title else 0
    width = cols * cell_w + (cols + 1) * margin
    if title:
        width = max(width, int(math.ceil(font.getlength(title))) + 2 * margin)  # type: ignore
    height = title_h + rows * (cell_h + label_h) + (rows + 1) * margin
    sheet = Image.new("RGB", (width, height), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((margin, margin // 2 + 2), title, fill=(235, 235, 235), font=font)
    for k, (img, label) in enumerate(zip(imgs, labels)):
        r, c = divmod(k, cols)
        x0 = margin + c * (cell_w + margin)
        y0 = title_h + margin + r * (cell_h + label_h + margin)
        draw.text((x0 + 2, y0 + 3), label, fill=(255, 210, 80), font=font)
        sheet.paste(Image.fromarray(img, "RGB"), (x0, y0 + label_h))
    return sheet


def _wrap(text: str, font: object, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to lines no wider than ``width`` pixels."""
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(trial) <= width:  # type: ignore[attr-defined]
            lines[-1] = trial
        else:
            lines.append(word)
    return lines or [""]


def add_caption(display: np.ndarray, label: str, font_size: int = 13,
                min_width: int = 240) -> np.ndarray:
    """``display`` with a black strip below it carrying ``label`` in white, word-wrapped.

    The image's pixels are kept unchanged at the top left; an image narrower than ``min_width`` is
    padded on the right so that the label stays legible. Grey stays grey, RGB stays RGB.

    Args:
        display: uint8 display image (H, W) or (H, W, 3).
        label: the caption, e.g. :func:`app.io.computed_label`.
        font_size: text height in pixels.
        min_width: narrowest canvas in pixels.

    Returns:
        The captioned uint8 image (H + strip, max(W, min_width)[, 3]).
    """
    from PIL import Image, ImageDraw

    a = np.asarray(display)
    if a.dtype != np.uint8 or a.ndim not in (2, 3):
        raise WriteError(f"a caption needs a uint8 display image, got {a.dtype} {a.shape}")
    font, unicode_ok = _font(font_size)
    text = label if unicode_ok else label.translate(_ASCII)
    pad = 4
    width = max(a.shape[1], min_width)
    lines = _wrap(text, font, width - 2 * pad)
    line_h = font_size + 4
    strip_h = len(lines) * line_h + 2 * pad
    mode = "L" if a.ndim == 2 else "RGB"
    canvas = Image.new(mode, (width, a.shape[0] + strip_h), 0)
    canvas.paste(Image.fromarray(a, mode), (0, 0))
    draw = ImageDraw.Draw(canvas)
    white = 255 if mode == "L" else (255, 255, 255)
    for k, line in enumerate(lines):
        draw.text((pad, a.shape[0] + pad + k * line_h), line, fill=white, font=font)
    return np.asarray(canvas)


def write_sheet(path: str | os.PathLike[str], panels: Sequence[tuple[np.ndarray, str]],
                title: str = "", *, columns: int = 0,
                sources: Iterable[object] = ()) -> Path:
    """Compose (:func:`compose_sheet`) and write a comparison sheet PNG atomically."""
    from PIL.PngImagePlugin import PngInfo

    sheet = compose_sheet(panels, title, columns)
    info = PngInfo()
    info.add_text("Software", SOFTWARE)
    info.add_itxt("Description", "; ".join(label for _, label in panels))

    def write(fh: IO[bytes]) -> None:
        sheet.save(fh, format="PNG", pnginfo=info)

    src: list[Path] = []
    for s in sources:
        src.extend(source_paths(s))  # type: ignore[arg-type]
    return atomic_write(path, write, sources=src)
