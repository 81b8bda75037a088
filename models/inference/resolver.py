"""The inference API: ``SuperResolver(device="auto").upscale(image, scale, method, ...)``.

Pipeline for one call:

1. validate the input (2-D or H×W×3, finite, at least 1×1) and the scale ([1.1, 5]);
2. colour images go through Y (network) + CbCr (bicubic): a linear full-range BT.601 YCbCr
   transform, valid for any intensity range, then back to RGB;
3. **Bicubic** is the MATLAB-compatible resize in original units. **Networks** see the image
   normalised to [0, 1] by the chosen mode — ``"range"`` (the image's min–max, or
   ``value_range``), ``"percentile"`` (0.5–99.5th percentiles) or ``"window"`` (the display window
   ``window=(c, w)``). Values outside [0, 1] are clipped for the network and the clipped part is
   restored by adding its bicubic upscale ("clipping restored"), so no intensity is lost; then
   de-normalised;
4. the network runs in overlapping tiles (LR tiles of ``tile`` px, overlap ≥ the network's
   receptive radius or its weights' measured reach,
   :func:`models.inference.tiling.receptive_context`;
   :func:`models.inference.tiling.sliding_window_inference`) whose stitched result equals the
   untiled one; ``progress(done, total)`` is called after every tile and
   ``cancel()`` before every tile (True → :class:`UpscaleCancelled`);
5. returns float32 of shape ``(round(H·s), round(W·s))`` (halves up), same channel count, same
   units. With ``ensemble=True`` every tile runs in the 8 flips/rotations and the result is their
   mean, their per-pixel spread returned as ``info.uncertainty``.

With ``return_info=True`` it returns ``(array, UpscaleInfo)`` naming the method, scale, the device
actually used, the weights file and sha256, seconds and the normalisation mode.
"""
from __future__ import annotations

import contextvars
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..archs.pfmdb import PFMDB
from ..geometry import check_output_size, check_roi, check_scale, output_size
from ..manifest import WEIGHTS_DIR, Manifest, WeightsRecord, load_model
from ..methods import METHODS
from ..resize import imresize
from .errors import DeviceUnavailableError, InvalidImageError, OutputTooLargeError, UpscaleCancelled
from .finite import headroom, to_float32
from .forward import forward_memory, network_forward
from .fusion import fuse_activations, fuse_pyramid_blocks
from .memory import one_arena
from .normalization import (
    DEFAULT_NORMALIZATION,
    NORMALIZATION_MODES,
    RGB2YCC,
    normalization_bounds,
    rgb_to_ycc,
    ycc_to_rgb,
)
from .precision import autocast, resolve_precision
from .tiling import BICUBIC_CONTEXT, receptive_context, sliding_window_inference

#: LR images up to this many pixels run untiled when ``tile=0`` (auto).
AUTO_TILE_PIXELS = 512 * 512
AUTO_TILE = 256


@dataclass
class UpscaleInfo:
    method: str
    scale: float
    device: str
    weights_file: str | None
    weights_sha256: str | None
    seconds: float
    normalization: str | None
    tiles: int = 1
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)
    #: (lo, hi) in the image's units that the network saw as 0 and 1 (None for bicubic)
    normalization_range: tuple[float, float] | None = None
    #: the network's arithmetic: 'fp32', 'bf16' or 'fp16' (None for bicubic, computed in float64)
    precision: str | None = None
    #: with ``ensemble=True``: float32, the output's shape, the per-pixel standard deviation of
    #: the 8 dihedral runs in the image's units (HU for CT): where the network is least sure
    uncertainty: np.ndarray | None = field(default=None, repr=False)
    #: True when the output is the mean of the 8 dihedral runs (``ensemble=True``)
    ensemble: bool = False


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' → CUDA when available else CPU; 'cuda' without CUDA raises
    DeviceUnavailableError."""
    d = str(device).lower()
    if d == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if d.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError("CUDA was requested but no CUDA device is available; "
                                         "use device='cpu' or 'auto'")
        return torch.device(d)
    if d == "cpu":
        return torch.device("cpu")
    raise DeviceUnavailableError(f"unknown device {device!r} (expected 'auto', 'cpu' or 'cuda')")


# --- cancellation ------------------------------------------------------------------------------
#: the ``cancel`` of the upscale call running in this thread (each thread has its own context, so
#: one caller's cancel never stops another caller's run of the same cached model)
_CANCEL: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "rmisr_cancel", default=None)


def _poll_cancel(*_: object) -> None:
    """Forward pre-hook of every PFMDB block of a loaded model: raises UpscaleCancelled when the
    current call's ``cancel()`` says so."""
    cancel = _CANCEL.get()
    if cancel is not None and cancel():
        raise UpscaleCancelled("cancelled by the user")


class SuperResolver:
    """Super-resolve medical and natural images with Bicubic, SRCNN, RMISR-BL or RMISR-VP."""

    def __init__(self, device: str = "auto", weights_dir: str | Path = WEIGHTS_DIR,
                 precision: str = "auto") -> None:
        self.device = resolve_device(device)
        if self.device.type == "cpu":  # a run's feature maps reuse freed memory (.memory)
            one_arena()
        #: the precision setting as given ("auto", "fp32", "bf16" or "fp16"), and as resolved for
        #: this device (:func:`models.inference.precision.resolve_precision`); a call may say
        #: otherwise
        self.precision_setting = str(precision).lower()
        self.precision = resolve_precision(precision, self.device)
        self.weights_dir = Path(weights_dir)
        self.manifest = Manifest(self.weights_dir)
        self._models: dict[str, torch.nn.Module] = {}
        self._lock = threading.Lock()

    # -- what exists ---------------------------------------------------------------------------
    @staticmethod
    def methods() -> list[str]:
        """Method names in display order."""
        return list(METHODS)

    def available(self, method: str, scale: float) -> bool:
        """True when ``method`` can run at ``scale`` (bicubic always can)."""
        return self.manifest.available(method, float(scale))

    def unavailable_reason(self, method: str, scale: float) -> str:
        """``""`` where ``method`` runs at ``scale``, else why not
        (:meth:`models.manifest.Manifest.missing_reason`)."""
        if self.available(method, scale):
            return ""
        return self.manifest.missing_reason(method, float(scale))

    def weights_record(self, method: str, scale: float) -> WeightsRecord | None:
        """The manifest record serving (method, scale), None for bicubic."""
        if method == "bicubic":
            return None
        return self.manifest.resolve(method, float(scale))

    def _model(self, record: WeightsRecord) -> torch.nn.Module:
        with self._lock:
            if record.file not in self._models:
                model = load_model(record, self.weights_dir, self.device)
                if self.device.type == "cpu":  # both measured on CPUs only (docs/speed.md)
                    fuse_pyramid_blocks(model)
                    fuse_activations(model)
                    model = model.to(memory_format=torch.channels_last)
                for m in model.modules():  # cancel polled between blocks of one tile too
                    if isinstance(m, PFMDB):
                        m.register_forward_pre_hook(_poll_cancel)
                self._models[record.file] = model
            return self._models[record.file]

    def prepared_model(self, method: str, scale: float) -> torch.nn.Module | None:
        """The network that serves (method, scale) as this resolver runs it — loaded once, with
        the CPU rewrites applied (merged PyConv levels, folded activations, channels-last) — or
        None for bicubic and where the weights are missing (:meth:`available`). For measuring it
        (``models.evaluation.speed``), not for calling: an upscale adds the normalisation, tiling
        and skip around it."""
        record = self.weights_record(method, scale)
        if record is None or not self.available(method, scale):
            return None
        return self._model(record)

    # -- the API -------------------------------------------------------------------------------
    def upscale(self, image: np.ndarray, scale: float, method: str = "bicubic",
                progress: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None, *, tile: int = 0,
                overlap: int | None = None, normalization: str = "auto",
                window: tuple[float, float] | None = None,
                value_range: tuple[float, float] | None = None,
                roi: tuple[int, int, int, int] | None = None,
                precision: str | None = None, ensemble: bool = False,
                modality: str | None = None,
                return_info: bool = False) -> np.ndarray | tuple[np.ndarray, UpscaleInfo]:
        """Super-resolve ``image`` (or its region ``roi``) by ``scale`` with ``method`` (see
        module docstring).

        Args:
            image: 2-D or H×W×3 array of any dtype and intensity range.
            scale: magnification in [1.1, 5].
            method: 'bicubic', 'srcnn', 'rmisr-bl' or 'rmisr-vp'.
            progress: called as ``progress(done, total)`` after each tile.
            cancel: polled before each tile; returning True raises :class:`UpscaleCancelled`.
            tile: LR tile size in pixels; 0 = automatic (untiled up to 512×512).
            overlap: LR overlap between tiles; default = the network's receptive radius (or its
                weights' measured reach) + 2.
            normalization: 'auto' (the measured default), 'range', 'percentile' or 'window'.
            window: display window (center, width) for ``normalization='window'``.
            value_range: (lo, hi) for ``normalization='range'`` (default: the image's min–max,
                or 0–255 for an 8-bit image with ``normalization='auto'``: the stored range,
                which is what the networks saw in training).
            roi: (x, y, w, h), whole pixels inside ``image``: super-resolve only this region,
                with the pixels around it as context — as far as the network (or the bicubic
                kernel) reaches — so that no result depends on where the region's edges fall.
                The output is ``output_size(h, w, scale)`` on the region's own grid (output
                pixel j at ``x + (j + 0.5)/scale − 0.5``); where ``x·scale`` and ``y·scale`` are
                whole numbers that is exactly the region of the whole image's result.
                Normalisation statistics are always the whole image's.
            precision: 'auto', 'fp32', 'bf16' or 'fp16' for this call (default: the
                resolver's); :mod:`models.inference.precision` says what stays float32.
            modality: the image's DICOM modality ("CT", "MR", ...), if known: with the
                ``"auto"`` precision a CT runs in fp32
                (:data:`models.inference.precision.FP32_MODALITIES` says why; noted in
                ``info.notes`` where the device would have used half).
            ensemble: the best-quality mode (8× the work): every tile runs in the 8 flips and
                rotations of the dihedral group, each output transformed back, and the result is
                their mean; ``info.uncertainty`` holds their per-pixel standard deviation in
                the image's units. Each transformed run computes exactly the mirrored window
                (its output grid and padding mirrored too), so the mean stays on the region's
                own grid at fractional scales and tiled = untiled still holds. Bicubic is itself
                mirror- and rotation-symmetric: its ensemble is the plain result, spread 0.
            return_info: also return an :class:`UpscaleInfo`.
        """
        t0 = time.perf_counter()
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
        if overlap is not None and not (isinstance(overlap, (int, np.integer)) and overlap >= 0):
            raise ValueError(f"overlap must be a whole number of LR pixels ≥ 0, got {overlap!r}")
        s = check_scale(scale)
        whole = self._validate(image)
        whole, window, value_range, k = headroom(whole, window, value_range)  # finite out
        x0, y0, w, h = check_roi(roi, whole.shape[0], whole.shape[1])
        try:
            check_output_size(h, w, s)
        except ValueError as exc:
            raise OutputTooLargeError(str(exc)) from None
        record = self.weights_record(method, s)  # NoWeightsError before any work
        mode = None if method == "bicubic" else (
            DEFAULT_NORMALIZATION if normalization == "auto" else normalization)
        if mode is not None and mode not in NORMALIZATION_MODES:
            raise ValueError(f"unknown normalization {normalization!r}")
        if mode == "window" and window is None:
            mode = "range"  # no display window given: the image's own range
        if (normalization == "auto" and mode == "range" and value_range is None
                and whole.dtype == np.uint8):
            value_range = (0.0, 255.0)  # 8-bit: the stored range, as in training
        setting = self.precision_setting if precision is None else str(precision).lower()
        prec = resolve_precision(setting, self.device, modality,
                                 record.arch if record is not None else None)
        colour = whole.ndim == 3
        oh, ow = output_size(h, w, s)
        info = UpscaleInfo(method, s, self.device.type if record else "cpu",
                           record.file if record else None, record.sha256 if record else None,
                           0.0, mode, 1, tuple(whole.shape), (oh, ow) + ((3,) if colour else ()))
        model = self._model(record) if record is not None else None
        if record is not None:
            info.precision = prec
            if setting == "auto" and prec != resolve_precision("auto", self.device,
                                                               arch=record.arch):
                info.notes.append(f"automatic precision: fp32 for {modality} (half precision "
                                  "differs by more than 2 HU on CT)")
        info.ensemble = bool(ensemble)
        # the region and the context around it: bicubic taps reach 2 LR pixels, a network its
        # receptive radius or measured reach (plus the HR layers', in LR pixels): receptive_context
        m = BICUBIC_CONTEXT if model is None else receptive_context(model, s)[0] + 2
        top, left = min(m, y0), min(m, x0)
        bottom, right = min(m, whole.shape[0] - y0 - h), min(m, whole.shape[1] - x0 - w)
        arr = np.asarray(whole[y0 - top:y0 + h + bottom, x0 - left:x0 + w + right],
                         dtype=np.float64)
        shift = (top * s, left * s)  # the region's output grid within the context's
        # window rows/columns on the whole image's output grid, where an untiled run of the whole
        # image pads its HR layers (window row r lies at whole-grid row r + y0·s); the context's
        # own grid can stop half a pixel short of it when (y0 − top)·s is fractional
        gy, gx = output_size(whole.shape[0], whole.shape[1], s)
        on_grid = (-math.floor(y0 * s), math.floor(gy - 1 - y0 * s) + 1,
                   -math.floor(x0 * s), math.floor(gx - 1 - x0 * s) + 1)
        if colour:
            ycc = rgb_to_ycc(arr)
            y = ycc[..., 0]
            chroma = imresize(ycc[..., 1:], s, output_shape=(oh, ow), shift=shift)
        else:
            y = arr
        if record is None:
            if cancel is not None and cancel():
                raise UpscaleCancelled("cancelled")
            y_sr = imresize(y, s, output_shape=(oh, ow), shift=shift)
            spread = np.zeros((oh, ow)) if ensemble else None
            if progress is not None:
                progress(1, 1)
        else:
            stats = (y if arr.size == whole.size  # else the whole image's Y, in float32
                     else whole.astype(np.float32, copy=False) @ RGB2YCC[0].astype(np.float32)
                     if colour else whole)
            bounds = normalization_bounds(stats, mode, window, value_range)
            if bounds[1] > bounds[0]:  # a flat image gets bicubic (noted): no network input
                info.normalization_range = bounds
            y_sr, spread = self._network(y, s, model, bounds, (oh, ow), shift, on_grid, tile,
                                         overlap, progress, cancel, info, ensemble)
        out = ycc_to_rgb(np.concatenate([y_sr[..., None], chroma], axis=-1)) if colour else y_sr
        out = to_float32(out, k, info.notes)
        if spread is not None:  # Y's spread is each RGB channel's (Y enters each with weight 1)
            spread = np.repeat(spread[..., None], 3, axis=-1) if colour else spread
            info.uncertainty = to_float32(spread, k, [])
        info.seconds = time.perf_counter() - t0
        return (out, info) if return_info else out

    @staticmethod
    def _validate(image: np.ndarray) -> np.ndarray:
        arr = np.asarray(image)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
            raise InvalidImageError(f"expected a 2-D or H×W×3 image, got shape {arr.shape}")
        if arr.shape[0] < 1 or arr.shape[1] < 1:
            raise InvalidImageError(f"the image is empty (shape {arr.shape})")
        if arr.dtype.kind not in "uifb":
            raise InvalidImageError(f"unsupported pixel type {arr.dtype}")
        if arr.dtype.kind == "b":  # a mask: values 0 and 1 (as uint8 they would be read on
            arr = arr.astype(np.float32)  # the 8-bit stored range, 0–255, and all but vanish)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise InvalidImageError(f"the image has {bad} NaN or infinite pixel(s)")
        return arr  # not converted: a region's caller should not pay for a float64 copy

    def _network(self, y: np.ndarray, s: float, model: torch.nn.Module,
                 bounds: tuple[float, float], out_shape: tuple[int, int],
                 shift: tuple[float, float], on_grid: tuple[int, int, int, int], tile: int,
                 overlap: int | None,
                 progress: Callable[[int, int], None] | None,
                 cancel: Callable[[], bool] | None, info: UpscaleInfo, ensemble: bool = False
                 ) -> tuple[np.ndarray, np.ndarray | None]:
        """Output pixels ``shift … shift + out_shape`` of ``y``'s super-resolution (original
        units), normalised by ``bounds``; ``on_grid`` = (ya, yb, xa, xb), the window rows and
        columns on the whole image's output grid. Second: the dihedral spread (original units)
        with ``ensemble``, else None."""
        h, w = y.shape
        oh, ow = out_shape
        lo, hi = bounds
        if not hi > lo:  # flat image: nothing for a network to add
            if cancel is not None and cancel():
                raise UpscaleCancelled("cancelled by the user")
            info.notes.append("flat image: bicubic used")
            if progress is not None:
                progress(1, 1)
            return (imresize(y, s, output_shape=(oh, ow), shift=shift),
                    np.zeros((oh, ow)) if ensemble else None)
        x = (y - lo) / (hi - lo)
        xc = np.clip(x, 0.0, 1.0)
        outside = x - xc
        if tile <= 0:
            tile = 0 if h * w <= AUTO_TILE_PIXELS else AUTO_TILE
        radius, hr_margin = receptive_context(model, s)
        if overlap is not None and overlap < radius and tile and tile < max(h, w):
            raise ValueError(
                f"an overlap of {overlap} LR pixels is below this network's receptive context "
                f"({radius}): its tiles would not join into the untiled result; leave overlap "
                f"out (default {radius + 2}) or give at least {radius}")
        ov = radius + 2 if overlap is None else int(overlap)
        while True:
            try:
                out, spread = self._tiled(model, xc, s, out_shape, shift, on_grid, tile, ov,
                                          hr_margin, progress, cancel, info, ensemble)
                break
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                tile = max(64, (tile or max(h, w)) // 2)
                info.notes.append(f"GPU out of memory: retried with {tile} px tiles")
                if tile == 64 and info.notes.count(info.notes[-1]) > 1:
                    raise
        if np.any(outside):  # the same in every dihedral run: no spread
            out = out + imresize(outside, s, output_shape=(oh, ow), shift=shift)
        return out * (hi - lo) + lo, None if spread is None else spread * (hi - lo)

    def _tiled(self, model: torch.nn.Module, x: np.ndarray, s: float,
               out_shape: tuple[int, int], shift: tuple[float, float],
               on_grid: tuple[int, int, int, int], tile: int, overlap: int, hr_margin: int,
               progress: Callable[[int, int], None] | None,
               cancel: Callable[[], bool] | None, info: UpscaleInfo, ensemble: bool = False
               ) -> tuple[np.ndarray, np.ndarray | None]:
        token = _CANCEL.set(cancel)  # this call's, polled between PFMDB blocks (_poll_cancel)
        try:
            with forward_memory(self.device), autocast(self.device, info.precision or "fp32"):
                result = sliding_window_inference(
                    x, s, lambda t, size, at: network_forward(model, t, s, size, at),
                    tile=tile, overlap=overlap, hr_margin=hr_margin, out_shape=out_shape,
                    shift=shift, on_grid=on_grid, device=self.device,
                    channels_last=self.device.type == "cpu", ensemble=ensemble,
                    progress=progress, cancel=cancel)
        finally:
            _CANCEL.reset(token)
        info.tiles = result.tiles
        return result.out, result.spread
