"""Quality-analysis figures of the viewer's comparison, Qt-free.

The viewer shows one row per method:

* **with a reference** ("Simulate low resolution": the ROI is degraded by the training's bicubic
  model and the ROI itself is the ground truth): PSNR and SSIM against the reference,
  peak = the reference ROI's dynamic range (max − min) in original units, and the Laplacian L1
  (edge fidelity);
* **always**: data-consistency PSNR (the result degraded by 1/s back to the input grid vs the input
  ROI) with its residual map, sharpness (RMS Laplacian), entropy (bits, one histogram range for
  every row so the numbers compare), contrast (SD), ROI mean and the mean's bias against bicubic
  (an intensity drift, e.g. in HU), runtime.

No-reference figures (sharpness, entropy, contrast) say how an image *looks*, not whether it is
*true*: a network can add sharp, plausible detail that the patient does not have. The viewer says so
under the table (:data:`NO_REFERENCE_NOTE`).

The functions here also produce the comparison panel's derived views (difference to bicubic,
Laplacian edges) so that ``app.ui`` does no image maths. ``models`` (and with it torch) is imported
lazily, on first use.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "NO_REFERENCE_NOTE", "REFERENCE_NOTE", "MethodQuality", "QualityReport", "Column", "luminance",
    "simulate_low_resolution", "lr_shape_for", "compute_quality", "difference_map", "edge_map",
    "symmetric_window", "format_value", "roi_statistics",
]

REFERENCE_NOTE = (
    "PSNR, SSIM, edge L1: against the acquired ROI after a simulated bicubic degradation (real "
    "acquisitions differ). Sharpness, entropy, SD are no-reference: they describe appearance and "
    "do not prove fidelity.")
NO_REFERENCE_NOTE = (
    "No reference: PSNR/SSIM need “Simulate low resolution”. Sharpness, entropy, SD describe "
    "appearance and do not prove fidelity; consistency only shows agreement with the input.")
LUMINANCE_NOTE = (
    "Colour image: every figure (mean and bias too) is of the luminance, BT.601 Y, of the RGB "
    "pixels, not of any one channel.")

#: Figures with a reference are computed when both sides are at least this big (SSIM window).
_SSIM_MIN = 11


def luminance(image: np.ndarray) -> np.ndarray:
    """2-D float64 view of an image: the image itself, or BT.601 luma (full range) of RGB."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 3:
        return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
    return a


def lr_shape_for(height: int, width: int, scale: float) -> tuple[int, int]:
    """LR size of an ``height × width`` reference at ``scale``: (floor(h/s), floor(w/s))."""
    return int(math.floor(height / scale + 1e-9)), int(math.floor(width / scale + 1e-9))


def simulate_low_resolution(roi: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Degrade an ROI by ``scale`` with the training's bicubic model (no rounding).

    ``h_lr = floor(h/s)``; the ROI is cropped (top-left) to ``round(h_lr·s)`` so that the reference
    has exactly the size of every method's output; LR = MATLAB bicubic of that crop to h_lr × w_lr.

    Returns:
        (lr, reference), both float64 in the ROI's units.

    Raises:
        ValueError: the ROI is too small for this scale (LR side < 2 pixels).
    """
    from models.geometry import output_size
    from models.resize import imresize

    a = np.asarray(roi, dtype=np.float64)
    h, w = a.shape[:2]
    hl, wl = lr_shape_for(h, w, scale)
    if hl < 2 or wl < 2:
        raise ValueError(f"the ROI ({w}×{h} px) is too small to simulate ×{scale:g} low "
                         f"resolution: draw at least {math.ceil(2 * scale)}×"
                         f"{math.ceil(2 * scale)} px")
    rh, rw = output_size(hl, wl, scale)
    reference = np.ascontiguousarray(a[:rh, :rw])
    lr = imresize(reference, 1.0 / scale, output_shape=(hl, wl))
    return lr, reference


@dataclass
class MethodQuality:
    """The quality figures of one method's result (None = not applicable / not computable)."""

    method: str
    label: str
    scale: float
    seconds: float | None
    shape: tuple[int, ...]
    psnr: float | None = None
    ssim: float | None = None
    edge_l1: float | None = None
    dc_psnr: float | None = None
    sharpness: float | None = None
    entropy: float | None = None
    contrast: float | None = None
    mean: float | None = None
    bias: float | None = None
    #: the arithmetic the method ran in ('fp32', 'bf16', 'fp16'; 'fp64' for bicubic)
    precision: str | None = None
    #: mean and 95th percentile of the computed uncertainty map over the region (the spread of
    #: a best-quality run's 8 flipped/rotated runs, in the image's units); None without one
    uncertainty_mean: float | None = None
    uncertainty_p95: float | None = None
    residual: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Column:
    """A table column: attribute of :class:`MethodQuality`, header, number format, tooltip, and
    a two-line header for narrow displays."""

    key: str
    header: str
    fmt: str
    tooltip: str
    short: str = ""

    @property
    def display_header(self) -> str:
        return self.short or self.header


@dataclass
class QualityReport:
    """Rows of the quality table plus what the reader must know to interpret them."""

    rows: list[MethodQuality]
    scale: float
    has_reference: bool
    unit: str = ""
    peak: float | None = None
    input_mean: float | None = None
    input_sd: float | None = None
    note: str = NO_REFERENCE_NOTE

    def columns(self) -> list[Column]:
        """Columns to show: reference figures only when a reference exists."""
        u = f" ({self.unit})" if self.unit else ""
        nu = f"\n({self.unit})" if self.unit else ""
        cols = [Column("label", "Method", "s", "Method that produced the result")]
        if self.has_reference:
            peak = ""
            if self.peak is not None:
                peak = f" ({self.peak:g}{' ' + self.unit if self.unit else ''})"
            cols += [
                Column("psnr", "PSNR (dB)", ".2f",
                       "PSNR against the acquired ROI (reference); peak = its dynamic range"
                       + peak, "PSNR\n(dB)"),
                Column("ssim", "SSIM", ".4f",
                       "SSIM against the acquired ROI (Gaussian 11×11, σ 1.5; same peak)"),
                Column("edge_l1", f"Edge L1{u}", ".1f",
                       "Mean |Laplacian(result) − Laplacian(reference)|: edge fidelity, "
                       "lower is better", f"Edge L1{nu}"),
            ]
        cols += [
            Column("dc_psnr", "Data consistency PSNR (dB)", ".2f",
                   "PSNR of the result downscaled by 1/s (bicubic, as in training) against the "
                   "input ROI; shows agreement with the input, not truth", "Consistency\n(dB)"),
            Column("sharpness", f"Sharpness{u}", ".1f",
                   "RMS of the Laplacian (no-reference; higher looks sharper)",
                   f"Sharpness{nu}"),
            Column("entropy", "Entropy (bits)", ".3f",
                   "Shannon entropy of the histogram, one range for all rows (no-reference)",
                   "Entropy\n(bits)"),
            Column("contrast", f"Contrast SD{u}", ".1f",
                   "Contrast: standard deviation of the ROI (no-reference)", f"SD{nu}"),
            Column("mean", f"Mean{u}", ".1f", "Mean of the ROI", f"Mean{nu}"),
            Column("bias", f"Bias vs bicubic{u}", "+.1f",
                   "Mean of the result minus the mean of bicubic: intensity drift",
                   f"Bias vs\nbicubic{(' (' + self.unit + ')') if self.unit else ''}"),
            Column("uncertainty_mean", f"Uncertainty mean{u}", ".2f",
                   "Mean of the computed uncertainty map over the ROI: the per-pixel SD of the 8 "
                   "flipped/rotated runs of a “Best quality” run (— without one)",
                   f"Uncert.\nmean{(' (' + self.unit + ')') if self.unit else ''}"),
            Column("uncertainty_p95", f"Uncertainty P95{u}", ".2f",
                   "95th percentile of the computed uncertainty map over the ROI: the least "
                   "trustworthy 5 % of its pixels lie above it (— without “Best quality”)",
                   f"Uncert.\nP95{(' (' + self.unit + ')') if self.unit else ''}"),
            Column("seconds", "Time (s)", ".3f", "Wall time of the method on this ROI",
                   "Time\n(s)"),
            Column("precision", "Arithmetic", "s",
                   "Number format the network ran in (bicubic: fp64); half precision (bf16/fp16) "
                   "is used only where it is native and fast", "Arith-\nmetic"),
        ]
        return cols

    def table(self) -> tuple[list[str], list[list[str]]]:
        """(headers, rows of formatted strings)."""
        cols = self.columns()
        body = [[format_value(getattr(r, c.key), c.fmt) for c in cols] for r in self.rows]
        return [c.header for c in cols], body

    def to_tsv(self) -> str:
        """Tab-separated table (header line first) followed by the note, for the clipboard."""
        headers, body = self.table()
        lines = ["\t".join(headers)] + ["\t".join(r) for r in body]
        extra = [f"scale\t×{self.scale:g}"]
        if self.input_mean is not None:
            extra.append(f"input ROI mean / SD{(' (' + self.unit + ')') if self.unit else ''}\t"
                         f"{self.input_mean:.2f}\t{self.input_sd:.2f}")
        return "\n".join(lines + [""] + extra + [self.note]) + "\n"


    def to_csv(self, context: str = "") -> str:
        """The table as CSV (header line first), then the context (ROI, scale, reference), the
        scale, the input's mean/SD and the note as two-column lines: a file a report or a
        spreadsheet can take."""
        import csv
        import io

        headers, body = self.table()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(headers)
        w.writerows(body)
        w.writerow([])
        if context:
            w.writerow(["context", context])
        w.writerow(["scale", f"×{self.scale:g}"])
        if self.input_mean is not None:
            unit = f" ({self.unit})" if self.unit else ""
            w.writerow([f"input ROI mean{unit}", f"{self.input_mean:.2f}"])
            w.writerow([f"input ROI SD{unit}", f"{self.input_sd:.2f}"])
        w.writerow(["note", self.note])
        return buf.getvalue()


def format_value(value: object, fmt: str) -> str:
    """Format a figure; None → "—", ±inf → "∞"."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    v = float(value)  # type: ignore[arg-type]
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if math.isnan(v):
        return "n/a"
    return format(v, fmt)


def compute_quality(results: Mapping[str, tuple[np.ndarray, float | None]], lr_input: np.ndarray,
                    scale: float, reference: np.ndarray | None = None,
                    labels: Mapping[str, str] | None = None, unit: str = "",
                    baseline: np.ndarray | None = None,
                    precisions: Mapping[str, str | None] | None = None,
                    uncertainties: Mapping[str, np.ndarray | None] | None = None
                    ) -> QualityReport:
    """Figures for every result.

    Args:
        results: method → (output array, seconds), in display order.
        baseline: the bicubic result the bias column is measured against (default: "bicubic"
            among ``results``).
        lr_input: the array the methods were given (the ROI, or the simulated LR).
        scale: the magnification.
        reference: the ground truth of the outputs' size ("Simulate low resolution"), or None.
        labels: method → display label.
        unit: the pixels' unit ("HU" or "").
        precisions: method → the arithmetic it ran in (``UpscaleInfo.precision``; None or
            absent: bicubic's fp64).
        uncertainties: method → its computed uncertainty map (``UpscaleInfo.uncertainty`` of a
            best-quality run; None or absent: not computed, the columns show "—").
    """
    from app.uncertainty_view import uncertainty_map, uncertainty_statistics

    from models import metrics

    labels = labels or {}
    lr_y = luminance(lr_input)
    ref_y = luminance(reference) if reference is not None else None
    peak = None
    if ref_y is not None:
        peak = float(ref_y.max() - ref_y.min()) or 1.0
    outs = {m: luminance(a) for m, (a, _) in results.items()}
    lo = min([float(lr_y.min())] + [float(o.min()) for o in outs.values()])
    hi = max([float(lr_y.max())] + [float(o.max()) for o in outs.values()])
    value_range = (lo, hi if hi > lo else lo + 1.0)
    if baseline is None and "bicubic" in outs:
        baseline = outs["bicubic"]
    base_mean = float(luminance(baseline).mean()) if baseline is not None else None
    rows: list[MethodQuality] = []
    for method, (arr, seconds) in results.items():
        y = outs[method]
        row = MethodQuality(method, labels.get(method, method), float(scale), seconds,
                            tuple(np.shape(arr)),
                            precision=(precisions or {}).get(method) or "fp64")
        if ref_y is not None and ref_y.shape == y.shape:
            row.psnr = metrics.psnr(y, ref_y, peak)
            if min(y.shape) >= _SSIM_MIN:
                row.ssim = metrics.ssim(y, ref_y, peak)
            row.edge_l1 = metrics.laplacian_l1(y, ref_y)
        row.dc_psnr, row.residual = metrics.data_consistency(y, lr_y, scale)
        row.sharpness = metrics.sharpness(y)
        row.entropy = metrics.entropy(y, value_range=value_range)
        row.contrast = metrics.contrast(y)
        row.mean = float(y.mean())
        if base_mean is not None:
            row.bias = row.mean - base_mean
        row.uncertainty_mean, row.uncertainty_p95 = uncertainty_statistics(
            uncertainty_map((uncertainties or {}).get(method)))
        rows.append(row)
    note = REFERENCE_NOTE if ref_y is not None else NO_REFERENCE_NOTE
    if np.ndim(lr_input) == 3:  # every figure is of the luminance, which the user should know
        note += " " + LUMINANCE_NOTE
    return QualityReport(rows, float(scale), ref_y is not None, unit, peak,
                         float(lr_y.mean()), float(lr_y.std()), note)


# --- derived views of the comparison panels ------------------------------------------------------
def difference_map(result: np.ndarray, baseline: np.ndarray) -> np.ndarray | None:
    """``result − baseline`` (float32), or None when the shapes differ."""
    a = np.asarray(result, dtype=np.float32)
    b = np.asarray(baseline, dtype=np.float32)
    if a.shape != b.shape:
        return None
    return a - b


def edge_map(image: np.ndarray) -> np.ndarray:
    """The product's Laplacian (``models.archs.laplacian``) of the image's luminance, float32."""
    from models.archs.laplacian import laplacian_np

    return laplacian_np(luminance(image)).astype(np.float32)


def symmetric_window(arrays: Iterable[np.ndarray | None], percentile: float = 99.5
                     ) -> tuple[float, float]:
    """Display window (0, 2k) centred on zero; k = the ``percentile`` of |values| of ``arrays``."""
    ks = []
    for a in arrays:
        if a is None or np.size(a) == 0:
            continue
        ks.append(float(np.percentile(np.abs(np.asarray(a, dtype=np.float64)), percentile)))
    k = max(ks) if ks else 0.0
    if not math.isfinite(k) or k <= 0:
        k = 1.0
    return 0.0, 2.0 * k


def roi_statistics(pixels: np.ndarray) -> tuple[float, float]:
    """(mean, SD) of an ROI's luminance."""
    y = luminance(pixels)
    return float(y.mean()), float(y.std())
