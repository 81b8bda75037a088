"""The viewer's state without Qt: what is open, where in its stack, the region and the run
settings, the results, and the decisions that follow from them.

:class:`ViewerSession` is the viewer's model (the habit of napari's ``ViewerModel``): the
window's widgets show it and report the user's edits to it, and it answers what the window asks
(is this slice readable, are the shown results outdated, what would a run be called, may it
replace a file). Views follow its changes through plain callbacks (:class:`Event`); nothing here
imports Qt or torch, so all of it is tested headless (``tests/test_session.py``).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.annotations import Annotation, AnnotationStore
from app.batch import output_name
from app.events import Event
from app.formatting import format_area_mm2, format_number, format_window, readable_error
from app.history import Change, EditHistory
from app.io import (
    DerivedSeries,
    ImageData,
    ImageIOError,
    fit_roi,
    limits,
    load_window_presets,
    output_size,
    presets_for_modality,
    roi_statistics,
)
from app.io.labels import METHOD_LABELS
from app.io.series import stack_of
from app.jobs import JobRequest, JobResult
from app.result_cache import ResultCache, result_key, slice_id
from models.inference import normalization  # NumPy only: the engine's default mode

ROI = tuple[int, int, int, int]
#: One step of a stack: a file and a frame of it.
StackItem = tuple[Path, int]
#: A named display window: (name, (centre, width)).
Preset = tuple[str, tuple[float, float]]

#: The side of the square region of interest an opened image starts with (pixels).
DEFAULT_ROI = 96
#: A run whose results together exceed this many pixels asks first (≈ 0.2 GB as float32, several
#: times that with the quality maps and display copies; the engine refuses one result above
#: ``app.io.limits.MAX_OUTPUT_PIXELS``).
CONFIRM_OUTPUT_PIXELS = 50_000_000
#: Unreadable slices named one by one in a message before "…".
MAX_SKIPPED_LISTED = 20


@dataclass
class SessionEvents:
    """What a view of the session can follow.

    Attributes:
        stack: the stack of the shown image was listed again (a background series listing).
        roi: the region of interest was set (the new one, or None).
        settings: the run settings changed (the new :class:`RunSettings`).
    """

    stack: Event = field(default_factory=Event)
    roi: Event = field(default_factory=Event)
    settings: Event = field(default_factory=Event)


@dataclass(frozen=True)
class RunSettings:
    """The settings of the next run, as the controls show them.

    Attributes:
        scale: magnification.
        methods: ticked methods available at ``scale``, in display order.
        simulate: degrade the region by 1/scale first and use it as the reference.
        precision: the networks' arithmetic ("auto", "fp32", "bf16", "fp16").
        ensemble: "best quality", the mean of 8 flipped/rotated runs.
    """

    scale: float = 2.0
    methods: tuple[str, ...] = ("bicubic",)
    simulate: bool = False
    precision: str = "auto"
    ensemble: bool = False


@dataclass
class StepOutcome:
    """What a step along the stack found.

    Attributes:
        image: the slice read, None when nothing changes.
        at_end: the status text when the step stopped at an end ("Last slice (3/3)").
        skipped: "slice k (name): reason" of every unreadable slice stepped over.
        reached_end: the skipped slices ran into the end of the stack.
    """

    image: ImageData | None = None
    at_end: str = ""
    skipped: list[str] = field(default_factory=list)
    reached_end: bool = False

    def skipped_text(self) -> str:
        """The message naming the skipped slices ("" when none was skipped)."""
        if not self.skipped:
            return ""
        end = " No readable slice lies beyond them." if self.reached_end else ""
        more = "\n…" if len(self.skipped) > MAX_SKIPPED_LISTED else ""
        return (f"{len(self.skipped)} slice(s) could not be read and were skipped:{end}\n• "
                + "\n• ".join(self.skipped[:MAX_SKIPPED_LISTED]) + more)


def format_value(value: Any, unit: str) -> str:
    """A pixel value for a readout: "-181.3 HU", or "(12, 40, 200)" for a colour pixel."""
    if np.ndim(value) == 0:
        return f"{format_number(float(value))} {unit}".rstrip()
    return "(" + ", ".join(format_number(float(c)) for c in np.ravel(value)) + ")"


def folder_outcome(series: Sequence[Any]) -> str:
    """What a folder's scan leads to: "empty" (no image: a message), "open" (one series:
    opened at once) or "pick" (several: the user chooses)."""
    if not series:
        return "empty"
    return "open" if len(series) == 1 else "pick"


def slice_range_problem(first: int, last: int, method: str, n_slices: int,
                        methods: Sequence[str], roi: ROI, scale: float) -> str:
    """Why slices ``first``–``last`` (1-based) with ``method`` cannot be super-resolved.

    Args:
        first: first slice, 1-based.
        last: last slice, inclusive.
        method: the method chosen.
        n_slices: slices in the stack.
        methods: the methods available at ``scale``.
        roi: (x, y, w, h) in every slice.
        scale: magnification.

    Returns:
        The reason, or "" when the range can run.
    """
    if not 1 <= first <= last <= n_slices:
        return f"slices {first}–{last} are not within 1–{n_slices}"
    if method not in methods:
        return f"{METHOD_LABELS.get(method, method)} is not available at ×{scale:g}"
    oh, ow = output_size(roi[3], roi[2], scale)
    if oh * ow > limits.MAX_OUTPUT_PIXELS:
        return (f"×{scale:g} of a {roi[2]}×{roi[3]} px region would be {ow}×{oh} px per "
                f"slice, more than the {limits.MAX_OUTPUT_PIXELS / 1e6:.0f} Mpx one result may "
                "have: choose a smaller region or a lower scale")
    return ""


def slice_range_outputs(stack: Sequence[StackItem], first: int, last: int, method: str,
                        fmt: str, folder: Path, scale: float) -> list[tuple[Path, int, Path]]:
    """(file, frame, target file) of slices ``first``–``last`` (1-based, inclusive).

    Targets are named as ``rmisr-sr`` names them (:func:`app.batch.output_name`; a frame of a
    multi-frame file adds ``_f<k>``); when two slices would get one name (a series spread over
    folders with the same file names) every name starts with the slice number (``s0001_``).
    """
    frames = len({path for path, _ in stack}) < len(stack)
    chosen = list(enumerate(stack))[first - 1:last]
    names = [output_name(path, scale, method, fmt, frame if frames else None)
             for _, (path, frame) in chosen]
    if len(set(names)) < len(names):
        names = [f"s{k + 1:04d}_{name}" for (k, _), name in zip(chosen, names)]
    return [(path, frame, folder / name) for (_, (path, frame)), name in zip(chosen, names)]


def files_in_the_way(targets: Sequence[Path], folder: Path, overwrite: bool | None
                     ) -> tuple[str, str]:
    """The overwrite policy of a slice range: existing files are replaced only when asked.

    Args:
        targets: the files the run would write.
        folder: where they go (named in the texts).
        overwrite: True: replace, False: refuse, None: ask first.

    Returns:
        (question, refusal): the question to ask (``overwrite`` None and files exist), and
        the reason nothing may be written when the answer is no; both "" when nothing exists.
    """
    existing = [t for t in targets if Path(t).exists()]
    if not existing or overwrite:
        return "", ""
    where = f"{len(existing)} of the {len(targets)} files exist in {folder}"
    refusal = (f"{where}, e.g. {existing[0].name}: nothing was written (choose another folder, "
               "or replace them)")
    question = f"{where} (e.g. {existing[0].name}). Replace them?" if overwrite is None else ""
    return question, refusal


class ViewerSession:
    """The viewer's domain state: the image and its stack, the region, the run settings, the
    shown result and this session's results, and the derived series of its exports.

    Attributes:
        image: the shown slice, None before the first.
        stack: the (file, frame) items PgUp/PgDn step through.
        position: the shown slice's index in ``stack``.
        roi: (x, y, w, h) of the region of interest, or None.
        settings: the next run's :class:`RunSettings`.
        display_window: (centre, width) the image is shown with.
        last_result: the result the panels show, or None.
        results: this session's results per slice and settings (:class:`ResultCache`).
        derived: the derived series of the exports (one per series, method, scale and ROI).
        derived_files: the last DICOM files written (what Send to PACS offers).
        presets: the named display windows of the shown image.
        events: the changes views follow (:class:`SessionEvents`).
        history: the undo/redo history of the region, the annotations and the display window.
        annotations: the measuring annotations of every slice (:class:`AnnotationStore`).
        selected: the id of the selected annotation of the shown slice, or None.
    """

    def __init__(self, results: ResultCache | None = None) -> None:
        self.image: ImageData | None = None
        self.stack: list[StackItem] = []
        self.position = 0
        self.roi: ROI | None = None
        self.settings = RunSettings()
        self.display_window: tuple[float, float] = (0.5, 1.0)
        self.last_result: JobResult | None = None
        self.results = results if results is not None else ResultCache()
        self.derived = DerivedSeries()
        self.derived_files: list[Path] = []
        self.presets: list[Preset] = []
        self.events = SessionEvents()
        self.history = EditHistory()
        self.annotations = AnnotationStore(self.history)
        self.selected: int | None = None
        self._generation = 0

    # -- opening and the stack -------------------------------------------------------------
    def supersede_scans(self) -> int:
        """Start a new opening: a folder or series scan begun before it is ignored when it
        ends. Returns the new opening's number (what :meth:`is_current` checks)."""
        self._generation += 1
        return self._generation

    def is_current(self, generation: int) -> bool:
        """Whether nothing was opened since the opening numbered ``generation``."""
        return generation == self._generation

    def place(self, path: str | Path, image: ImageData,
              stack: Sequence[StackItem] | None = None) -> bool:
        """Set the stack of an image about to be shown and its position in it.

        Args:
            path: the file read.
            image: what was read from it (its frame and frame count decide the stack).
            stack: the items given (a drop of several files, a folder's series), or None.

        Returns:
            True when the stack is the file alone for now and its series should be listed in
            the background (a single-frame DICOM file: its folder's headers are read).
        """
        listing = False
        if stack is not None:
            self.stack = list(stack)
        elif image.n_frames > 1 or image.kind != "dicom":
            self.stack = stack_of(path, image.n_frames, image.kind)  # no I/O
        else:
            self.stack = [(Path(path), 0)]
            listing = True
        self.position = self.position_of(Path(path), image.frame)
        return listing

    def position_of(self, path: Path, frame: int) -> int:
        """The index of (``path``, ``frame``) in the stack (0 when absent)."""
        here = Path(path).resolve()
        return next((i for i, (q, k) in enumerate(self.stack)
                     if Path(q).resolve() == here and k == frame), 0)

    def series_listed(self, generation: int, path: Path, items: Sequence[StackItem]) -> bool:
        """A background listing of the shown file's series ended: its slices become the stack
        unless another file was opened since (or the series is the file alone)."""
        if not self.is_current(generation) or self.image is None or len(items) <= 1:
            return False
        self.stack = list(items)
        self.position = self.position_of(Path(path), 0)
        self.events.stack.emit()
        return True

    def run_stack(self) -> list[StackItem]:
        """The stack a slice range runs over (the shown slice alone when there is none)."""
        if self.stack or self.image is None:
            return list(self.stack)
        return [(self.image.source_path, self.image.frame)]

    def slice_label(self) -> str:
        """" · slice k/n" for a stack of several files ("" otherwise: frames say it)."""
        if self.image is None or len(self.stack) <= 1 or self.image.n_frames > 1:
            return ""
        return f" · slice {self.position + 1}/{len(self.stack)}"

    def step(self, delta: int, read: Callable[[Path, int], ImageData]) -> StepOutcome:
        """Read the slice ``delta`` steps along the stack; the position moves only when one is
        read.

        A step past either end stops at it; at the end itself nothing is read and
        ``at_end`` says so. An unreadable slice is skipped for the next readable one in the
        step's direction, each named in ``skipped``.

        Args:
            delta: steps, + towards the end.
            read: ``read(path, frame)`` → :class:`ImageData`; any exception marks the slice
                unreadable.
        """
        if self.image is None or not delta:
            return StepOutcome()
        n, direction = len(self.stack), (1 if delta > 0 else -1)
        if not 0 <= self.position + direction < n:
            if n <= 1:
                text = "Last slice: this image has no other slices or frames"
            elif direction > 0:
                text = f"Last slice ({n}/{n})"
            else:
                text = f"First slice (1/{n})"
            return StepOutcome(at_end=text)
        pos, skipped = min(max(self.position + delta, 0), n - 1), []
        while 0 <= pos < n:
            path, frame = self.stack[pos]
            try:
                image = read(path, frame)
            except Exception as exc:  # noqa: BLE001 — named in one message, never a traceback
                skipped.append(f"slice {pos + 1} ({Path(path).name}): {readable_error(exc)}")
                pos += direction
                continue
            self.position = pos
            return StepOutcome(image=image, skipped=skipped)
        return StepOutcome(skipped=skipped, reached_end=True)

    # -- the shown image -------------------------------------------------------------------
    def show(self, image: ImageData) -> Any:
        """Make ``image`` the shown slice; the panels' result is dropped (this session keeps
        it). Returns this slice's latest kept result, or None."""
        self.image = image
        self.last_result = None
        self.selected = None
        return self.results.latest_for(slice_id(image.source_path, image.frame))

    def default_roi(self) -> ROI | None:
        """The centred square an opened image starts with (:data:`DEFAULT_ROI` px a side)."""
        if self.image is None:
            return None
        img = self.image
        s = min(DEFAULT_ROI, img.width, img.height)
        return ((img.width - s) // 2, (img.height - s) // 2, s, s)

    def whole_image(self) -> ROI | None:
        """The whole image as a region, None when nothing is open."""
        return None if self.image is None else (0, 0, self.image.width, self.image.height)

    def set_roi(self, roi: Sequence[int] | None) -> None:
        """Set the region of interest (its views follow through ``events.roi``)."""
        self.roi = tuple(int(v) for v in roi) if roi is not None else None
        self.events.roi.emit(self.roi)

    def fit_roi(self, roi: Sequence[int] | None) -> ROI | None:
        """``roi`` moved and cut into the shown image, as the canvas fits a drawn one (at least
        1 px a side); None for None or when nothing is open. A region that fits is unchanged."""
        if roi is None or self.image is None:
            return None
        return fit_roi(roi, self.image.width, self.image.height)

    def edit_roi(self, before: Sequence[int] | None, after: Sequence[int] | None) -> None:
        """The user changed the region from ``before`` to ``after``: set it, undoably (undone
        on a slice of another size in the stack, the region is fitted into it)."""
        if self.roi != (tuple(int(v) for v in after) if after is not None else None):
            self.set_roi(after)
        self.history.record(Change("region of interest",
                                   lambda: self.set_roi(self.fit_roi(before)),
                                   lambda: self.set_roi(self.fit_roi(after))))

    def record_window(self, before: tuple[float, float], after: tuple[float, float],
                      apply: Callable[[float, float], None]) -> None:
        """The user changed the display window from ``before`` to ``after`` (a preset, a
        drag): undo and redo give it back through ``apply(centre, width)``."""
        if tuple(before) != tuple(after):
            self.history.record(Change("window/level", lambda: apply(*before),
                                       lambda: apply(*after)))

    # -- annotations -----------------------------------------------------------------------
    def slice_key(self) -> Any:
        """The shown slice's key in :attr:`annotations` and :attr:`results` (None: no image)."""
        return None if self.image is None else slice_id(self.image.source_path, self.image.frame)

    def shown_annotations(self) -> list[Annotation]:
        """The annotations of the shown slice, in the order drawn."""
        return self.annotations.on(self.slice_key()) if self.image is not None else []

    def annotate(self, annotation: Annotation) -> Annotation | None:
        """Keep ``annotation`` on the shown slice (undoably); returns it with its id."""
        if self.image is None:
            return None
        return self.annotations.add(self.slice_key(), annotation)

    def delete_selected(self) -> bool:
        """Delete the selected annotation of the shown slice (undoably)."""
        chosen, self.selected = self.selected, None
        return chosen is not None and self.annotations.remove(self.slice_key(), chosen)

    def clear_annotations(self) -> int:
        """Delete every annotation of the shown slice (undoably); how many there were."""
        self.selected = None
        return self.annotations.clear(self.slice_key()) if self.image is not None else 0

    def set_settings(self, settings: RunSettings) -> None:
        """Set the next run's settings; ``events.settings`` when they changed."""
        if settings != self.settings:
            self.settings = settings
            self.events.settings.emit(settings)

    def patient_id(self) -> str:
        """The shown image's PatientID ("" for a raster file or a DICOM without one)."""
        ds = getattr(self.image, "dataset", None)
        return str(ds.get("PatientID", "") or "").strip() if ds is not None else ""

    # -- texts -----------------------------------------------------------------------------
    def roi_text(self) -> str:
        """The region's size, physical size, value statistics and the run's output size."""
        if self.roi is None or self.image is None:
            return "None — left-drag on the image"
        img, (x, y, w, h) = self.image, self.roi
        text = f"{w} × {h} px at x {x}, y {y}"
        stats = roi_statistics(img, self.roi)
        if img.pixel_spacing is not None:
            rs, cs = img.pixel_spacing
            text += (f"\n{format_number(w * cs, 1)} × {format_number(h * rs, 1)} mm "
                     f"({format_area_mm2(stats.area_mm2)})")
            if img.spacing_source == "ImagerPixelSpacing":
                text += " at the detector"  # not corrected for geometric magnification
        if stats.mean is not None:
            unit = f" {img.value_unit}" if img.value_unit else ""
            # two short lines (the dock is narrow): never cut, e-notation never needed
            text += (f"\nmean {format_number(stats.mean)} ± "
                     f"{format_number(stats.sd, significant=3)}{unit}"
                     f"\nmin {format_number(stats.minimum)}, "
                     f"max {format_number(stats.maximum)}{unit}")
        if stats.padding:
            text += f"\n{stats.padding} padding px (outside the scan) not counted"
        s = self.settings.scale
        if self.settings.simulate:
            hl, wl = math.floor(h / s + 1e-9), math.floor(w / s + 1e-9)
            text += f"\nsimulated input {wl}×{hl} px"
        else:
            text += f"\noutput {math.floor(w * s + 0.5)}×{math.floor(h * s + 0.5)} px"
        return text

    def cursor_text(self, col: int, row: int, value: Any) -> str:
        """The readout of the image pixel under the cursor (value, and mm when known)."""
        assert self.image is not None
        text = f"x {col}, y {row} · {format_value(value, self.image.value_unit)}"
        if self.image.pixel_spacing is not None:
            rs, cs = self.image.pixel_spacing
            text += f" · ({col * cs:.1f}, {row * rs:.1f}) mm"
            if self.image.spacing_source == "ImagerPixelSpacing":
                text += " (detector)"
        return text

    def panel_value_text(self, title: str, col: int, row: int, value: Any) -> str:
        """The readout of a result panel's pixel (a difference to bicubic is signed)."""
        unit = self.image.value_unit if self.image is not None else ""
        text = format_value(value, unit)
        if title.endswith("− bicubic") and np.ndim(value) == 0 and float(value) > 0:
            text = "+" + text
        return f"{title}: x {col}, y {row} · {text}"

    # -- display windows -------------------------------------------------------------------
    def load_presets(self, path: str = "") -> str:
        """The shown image's named windows: the presets file's (``path``; "" the bundled one)
        for its modality, then the windows the file suggests. Returns the reason the presets
        file could not be read ("" when it was)."""
        img, presets, problem = self.image, [], ""
        if img is None:
            return ""
        try:
            loaded = load_window_presets(path) if path else load_window_presets()
            loaded = presets_for_modality(loaded, img.modality)
        except ImageIOError as exc:
            problem, loaded = str(exc), []
        for p in loaded:
            try:
                cw = p.resolve(img.pixels) if hasattr(p, "resolve") else (p.center, p.width)
            except Exception:  # noqa: BLE001, S112 — a preset that cannot apply here is left out
                continue
            presets.append((p.name, (float(cw[0]), float(cw[1]))))
        for c, w, name in img.windows:
            presets.append((f"File: {name or 'window'} ({format_window(c, w)})", (c, w)))
        self.presets = presets
        return problem

    # -- results ---------------------------------------------------------------------------
    def stale_reason(self) -> str | None:
        """What differs between the shown result's run and the current settings, if anything."""
        if self.last_result is None:
            return None
        req, s = self.last_result.request, self.settings
        changed = []
        if self.roi is None or tuple(self.roi) != tuple(req.roi):
            changed.append("region of interest")
        if abs(s.scale - req.scale) > 1e-9:
            changed.append("magnification")
        if s.simulate != req.simulate:
            changed.append("simulate low resolution")
        if s.ensemble != req.ensemble:
            changed.append("best quality")
        if s.precision != req.precision:  # part of the result's key: other arithmetic
            changed.append("arithmetic")
        if (normalization.DEFAULT_NORMALIZATION == "window" and req.window is not None
                and tuple(self.display_window) != tuple(req.window)):
            changed.append("window (the networks' input)")
        return ("changed since this result: " + ", ".join(changed)) if changed else None

    def result_key(self, request: JobRequest | None = None) -> tuple:
        """The cache key of a run on the shown slice: of ``request``, or of the current region
        and settings. The display window is part of it only when the engine normalises by the
        window (otherwise a W/L change keeps the results)."""
        assert self.image is not None
        here = slice_id(self.image.source_path, self.image.frame)
        by_window = normalization.DEFAULT_NORMALIZATION == "window"
        if request is not None:
            return result_key(here, request.roi, request.scale, request.methods,
                              request.simulate, request.precision,
                              request.window if by_window else None, request.value_range,
                              request.ensemble)
        s = self.settings
        return result_key(here, tuple(self.roi or ()), s.scale, list(s.methods), s.simulate,
                          s.precision, self.display_window if by_window else None,
                          self.image.normalization_range(), s.ensemble)

    def cached_result(self) -> JobResult | None:
        """This session's result of the current region and settings, or None."""
        return self.results.get(self.result_key())

    def keep_result(self, result: JobResult, kept: JobResult) -> None:
        """Keep ``kept`` (a lighter copy of ``result``) under ``result``'s key."""
        if self.image is not None:
            self.results.put(self.result_key(result.request), kept)

    def output_size_check(self, roi: ROI, n_methods: int) -> tuple[str, str]:
        """Whether a run of ``n_methods`` on ``roi`` with the current settings fits.

        Returns:
            (refusal, question): why the run is refused (one result above the engine's
            limit), and the question to ask first (the results together above
            :data:`CONFIRM_OUTPUT_PIXELS`); "" where there is none.
        """
        scale = self.settings.scale
        w, h = roi[2], roi[3]
        if self.settings.simulate:  # the LR input is the ROI ÷ s, its result about the ROI
            w, h = max(1, math.floor(w / scale + 1e-9)), max(1, math.floor(h / scale + 1e-9))
        oh, ow = output_size(h, w, scale)
        most = limits.MAX_OUTPUT_PIXELS
        if oh * ow > most:
            return (f"×{scale:g} of a {w}×{h} px region would be {ow}×{oh} px "
                    f"({oh * ow / 1e6:.0f} Mpx), more than the {most / 1e6:.0f} Mpx one result "
                    "may have: choose a smaller region or a lower scale"), ""
        total = oh * ow * n_methods
        if total <= CONFIRM_OUTPUT_PIXELS:
            return "", ""
        gb = total * 4 * 3 / 1e9  # float32 results, their quality maps and display copies
        return "", (f"{n_methods} result(s) of {ow}×{oh} px ({total / 1e6:.0f} Mpx in all) need "
                    f"about {gb:.1f} GB of memory and may take minutes on a CPU (one result may "
                    f"have at most {most / 1e6:.0f} Mpx). Run anyway?")

    # -- exports ---------------------------------------------------------------------------
    def export_roi(self, kind: str, extent: tuple[float, float]) -> ROI:
        """The source region a panel of the shown result covers (a simulated run's results
        and reference cover the reference's extent)."""
        assert self.last_result is not None
        x, y, w, h = self.last_result.request.roi
        if self.last_result.request.simulate and kind != "input":
            return x, y, int(extent[0]), int(extent[1])
        return x, y, w, h

    def series_uid_for(self, method: str, scale: float, roi: ROI) -> str | None:
        """The derived series an export of ``method`` at ``scale`` on ``roi`` joins."""
        assert self.image is not None
        return self.derived.uid_for(self.image, method, scale, roi)

    def sheet_name(self) -> str:
        """The comparison sheet's suggested file name."""
        assert self.image is not None and self.last_result is not None
        return f"{self.image.source_path.stem}_comparison_x{self.last_result.request.scale:g}.png"
