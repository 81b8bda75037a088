"""``rmisr-viewer [FILE|FOLDER]`` / ``python -m app [FILE|FOLDER]``: the desktop viewer.

``--self-test`` (the stand-alone bundle's smoke test) runs offscreen: it builds the main window
without showing it (so a bundle missing Qt plugins fails here), loads the bundled sample, super-
resolves a central ROI ×2.5 with every method that has weights, checks that every output is finite
and of the right size, prints a short report and exits 0 (1 on any failure).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

_T0 = time.perf_counter()

SELF_TEST_SCALE = 2.5
SELF_TEST_ROI = 64


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rmisr-viewer",
        description="RMISR Viewer: medical image super-resolution (Bicubic, SRCNN, RMISR-BL, "
                    "RMISR-VP) with side-by-side comparison. Opens the bundled sample CT when no "
                    "file is given.")
    p.add_argument("file", nargs="?",
                   help="image (DICOM, PNG, JPEG, TIFF) or folder to open (a folder with "
                        "several series asks which one)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                   help="where the networks run (default: the last choice, else auto)")
    p.add_argument("--weights-dir", default=None, help="weights folder with manifest.json")
    p.add_argument("--report-startup", action="store_true",
                   help="print seconds to a usable window and to a loaded engine, then quit")
    p.add_argument("--self-test", action="store_true",
                   help="offscreen check: sample ×2.5 with every available method; exit 0 if OK")
    return p


def self_test(device: str = "auto", weights_dir: str | None = None, out=sys.stdout) -> int:
    """Run the smoke test; returns the exit status."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t_start = time.perf_counter()
    failures: list[str] = []

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    say("RMISR Viewer self-test")
    scratch: tempfile.TemporaryDirectory | None = None
    # 1. Qt: the window builds (plugins, fonts, style present)
    try:
        from PyQt5.QtCore import QSettings

        from app.ui.app import create_application
        from app.ui.main_window import MainWindow

        app = create_application()
        scratch = tempfile.TemporaryDirectory(prefix="rmisr-self-test-")  # removed at the end
        settings = QSettings(str(Path(scratch.name) / "settings.ini"), QSettings.IniFormat)
        win = MainWindow(settings=settings, load_engine=False)
        app.processEvents()
        say(f"  Qt window: OK ({app.platformName()} platform)")
    except Exception as exc:  # report, do not crash
        failures.append(f"Qt window: {exc}")
        say(f"  Qt window: FAILED — {exc}")
        win = None
    # 2. the sample and the engine
    try:
        import numpy as np

        from app.io import SAMPLE_PATH, crop_roi, read_image
        from models import SuperResolver, output_size

        img = read_image(SAMPLE_PATH)
        say(f"  sample: {SAMPLE_PATH.name} · {img.description}")
        if win is not None:
            win.set_image(img)
        s = min(SELF_TEST_ROI, img.width, img.height)
        roi = ((img.width - s) // 2, (img.height - s) // 2, s, s)
        pixels = crop_roi(img, roi)
        kwargs = {"device": device}
        if weights_dir:
            kwargs["weights_dir"] = weights_dir
        sr = SuperResolver(**kwargs)
        say(f"  device: {sr.device}")
        if not sr.manifest.records:  # a bundle without its weights must not pass as bicubic
            failures.append(f"no network weights: {sr.unavailable_reason('rmisr-bl', 2.0)}")
            say(f"  weights: FAILED — {failures[-1]}")
        ran = 0
        results = {}
        for method in sr.methods():
            scale = SELF_TEST_SCALE
            if not sr.available(method, scale):
                # a fixed-scale file is still checked at its own scale: every bundled file loads
                fixed = sorted(x for r in sr.manifest.for_method(method) for x in r.scales)
                if not fixed:
                    say(f"  {method:9s} skipped (no weights for ×{SELF_TEST_SCALE:g})")
                    continue
                scale = float(fixed[0])
            expected = output_size(s, s, scale)
            try:
                result, info = sr.upscale(pixels, scale, method, return_info=True)
            except Exception as exc:
                failures.append(f"{method}: {exc}")
                say(f"  {method:9s} FAILED — {exc}")
                continue
            ok_shape = tuple(result.shape[:2]) == expected
            ok_finite = bool(np.isfinite(result).all())
            ran += 1
            if scale == SELF_TEST_SCALE:
                results[method] = (result, info.seconds)
            status = "OK" if ok_shape and ok_finite else "FAILED"
            if status != "OK":
                failures.append(f"{method}: shape {result.shape} (expected {expected}), "
                                f"finite {ok_finite}")
            say(f"  {method:9s} {status}: ×{scale:g} {s}×{s} → "
                f"{result.shape[1]}×{result.shape[0]} in {info.seconds:.2f} s on {info.device}"
                + (f", weights sha256 {info.weights_sha256[:12]}…" if info.weights_sha256
                   else ""))
        if ran == 0:
            failures.append("no method ran")
        if results:
            from app.quality import compute_quality

            report = compute_quality(results, pixels, SELF_TEST_SCALE, unit=img.value_unit)
            bad = [r.method for r in report.rows
                   if r.dc_psnr is None or math.isnan(r.dc_psnr)]
            if bad:
                failures.append(f"quality figures not finite for {bad}")
            else:
                say("  quality figures: OK (data consistency "
                    + ", ".join(f"{r.method} {r.dc_psnr:.1f} dB" for r in report.rows) + ")")
    except Exception as exc:
        failures.append(f"engine: {exc}")
        say(f"  engine: FAILED — {exc}")
    # 3. compressed DICOM: the decoders (GDCM, pylibjpeg plugins) are present and work
    try:
        import numpy as np

        from app.io import SAMPLE_PATH, crop_roi, read_image
        from app.io._resources import SELF_TEST_JPEG_LOSSLESS, SELF_TEST_JPEG_LOSSLESS_ROI

        crop = read_image(SELF_TEST_JPEG_LOSSLESS)
        if np.array_equal(crop.pixels,
                          crop_roi(read_image(SAMPLE_PATH), SELF_TEST_JPEG_LOSSLESS_ROI)):
            say(f"  compressed DICOM: OK ({crop.transfer_syntax.split(',')[0]}, bit-exact)")
        else:
            failures.append("compressed DICOM: decoded pixels differ from the sample's")
            say("  compressed DICOM: FAILED — decoded pixels differ from the sample's")
    except Exception as exc:
        failures.append(f"compressed DICOM: {exc}")
        say(f"  compressed DICOM: FAILED — {exc}")
    if win is not None:
        win.close()
    if scratch is not None:
        scratch.cleanup()
    dt = time.perf_counter() - t_start
    if failures:
        say(f"self-test FAILED in {dt:.1f} s: " + "; ".join(failures))
        return 1
    say(f"self-test passed in {dt:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    # before any thread exists: the engine's worker threads then share the heap whose freed
    # blocks a run reuses (models.inference.memory; torch-free, nothing else is loaded)
    from models.inference.memory import one_arena

    one_arena()
    args = _parser().parse_args(argv)
    if args.self_test:
        return self_test(args.device or "auto", args.weights_dir)
    from app.ui.app import run_viewer

    return run_viewer(args.file, device=args.device, weights_dir=args.weights_dir,
                      report_startup=args.report_startup, t0=_T0)


if __name__ == "__main__":
    sys.exit(main())
