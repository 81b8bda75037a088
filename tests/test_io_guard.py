"""Inputs that used to hang or take minutes: phantom frames, named pipes and devices in folders,
large zero-filled or repeated-pattern files."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest

from app.io import (CorruptFileError, NotAnImageError, NotRegularFileError, ScanBudgetError,
                    TruncatedFileError, read_image)
from app.io import _dicom_decode
from app.io.series import folder_series, image_files


def _within(seconds: float, fn, *args, **kwargs):
    """fn(*args) in a thread; fails (instead of hanging the suite) when it takes longer."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t0 = time.monotonic()
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{getattr(fn, '__name__', fn)} still running after {seconds} s"
    box["seconds"] = time.monotonic() - t0
    if "error" in box:
        raise box["error"]
    return box["value"]


def _phantom(tmp_path: Path, pydicom_file, name: str, frames: int) -> Path:
    ds = pydicom.dcmread(pydicom_file(name))
    ds.NumberOfFrames = frames
    out = tmp_path / f"phantom_{name}"
    ds.save_as(out)
    return out


def test_native_pixel_data_shorter_than_number_of_frames_is_refused(tmp_path, pydicom_file):
    path = _phantom(tmp_path, pydicom_file, "rtdose.dcm", 100_000)  # 15 frames of 400 bytes
    for frame in (0, 20, 99_999):
        with pytest.raises(TruncatedFileError) as info:
            read_image(path, frame=frame)
        msg = str(info.value)
        assert "NumberOfFrames is 100,000" in msg and "6,000 bytes" in msg and "15 whole" in msg
        assert "40,000,000 bytes" in msg


@pytest.mark.parametrize("deferred", [False, True])
def test_encapsulated_pixel_data_with_fewer_fragments_than_frames_is_refused(
        tmp_path, pydicom_file, monkeypatch, deferred):
    if deferred:  # a large file: the fragments are counted in the file, not in memory
        monkeypatch.setattr(_dicom_decode, "_DEFER_SIZE", 16)
    path = _phantom(tmp_path, pydicom_file, "SC_rgb_rle_2frame.dcm", 50)
    with pytest.raises(TruncatedFileError, match="NumberOfFrames is 50 .* 2 fragment"):
        read_image(path, frame=1)
    assert read_image(pydicom_file("SC_rgb_rle_2frame.dcm"), frame=1).n_frames == 2


def test_a_truncated_single_frame_names_the_byte_counts(pydicom_file):
    with pytest.raises(TruncatedFileError, match="shorter .* 8,130 bytes .* needs 8,192"):
        read_image(pydicom_file("MR_truncated.dcm"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_named_pipes_and_device_links_are_never_opened(tmp_path, pydicom_file):
    folder = tmp_path / "cd"
    folder.mkdir()
    (folder / "good.dcm").write_bytes(pydicom_file("MR_small.dcm").read_bytes())
    os.mkfifo(folder / "pipe.dcm")
    os.mkfifo(folder / "IM0001")
    (folder / "zero.dcm").symlink_to("/dev/zero")
    (folder / "broken").symlink_to(folder / "nowhere")
    skipped: list[str] = []
    found = _within(20, image_files, folder, skipped=skipped)
    assert found == [folder / "good.dcm"]
    text = "\n".join(skipped)
    assert "pipe.dcm: skipped, a named pipe" in text and "IM0001: skipped, a named pipe" in text
    assert "zero.dcm: skipped, a link to a device" in text and "broken: skipped" in text
    files, n = _within(20, folder_series, folder)
    assert files == [folder / "good.dcm"] and n == 1
    with pytest.raises(NotRegularFileError, match="named pipe"):
        _within(10, read_image, folder / "pipe.dcm")
    with pytest.raises(NotRegularFileError, match="device .*link"):
        _within(10, read_image, folder / "zero.dcm")


def test_a_scan_past_its_time_budget_says_so(tmp_path, pydicom_file):
    for k in range(3):
        (tmp_path / f"im{k}").write_bytes(pydicom_file("MR_small.dcm").read_bytes())
    with pytest.raises(ScanBudgetError, match=r"budget with \d+ (of 3 )?files looked at"):
        image_files(tmp_path, seconds=-1)
    with pytest.raises(ScanBudgetError, match="budget"):
        folder_series(tmp_path, seconds=-1)
    assert len(image_files(tmp_path, seconds=None)) == 3


def _header_then_zeros(pydicom_file) -> bytes:
    from io import BytesIO

    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    del ds.PixelData
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


SIZE = 256 * 2**20  # minutes each before; sparse, so cheap to make


@pytest.mark.parametrize("kind", ["zeros", "dicm_zeros", "header_zeros", "repeated_element"])
def test_large_zero_filled_or_repeated_files_are_refused_quickly(tmp_path, pydicom_file, kind):
    path = tmp_path / "big.dcm"
    with open(path, "wb") as fh:
        if kind == "dicm_zeros":
            fh.write(b"\0" * 128 + b"DICM")
        elif kind == "header_zeros":
            fh.write(_header_then_zeros(pydicom_file))
        elif kind == "repeated_element":
            fh.write(b"\x08\x00\x00\x00UN\x00\x00\x00\x00\x00\x00" * (2**20))
        fh.truncate(SIZE if kind != "repeated_element" else fh.tell())
    t0 = time.monotonic()
    with pytest.raises((NotAnImageError, CorruptFileError)) as info:
        _within(30, read_image, path)
    assert time.monotonic() - t0 < 3
    assert any(w in str(info.value) for w in ("zero", "repeated", "not a DICOM"))
    t0 = time.monotonic()
    assert _within(30, image_files, tmp_path) == []
    assert time.monotonic() - t0 < 3


def test_preamble_less_dicom_is_still_read(tmp_path, pydicom_file):
    for name in ("ExplVR_LitEndNoMeta.dcm", "ExplVR_BigEndNoMeta.dcm"):
        from app.io._guard import plausible_dicom_start
        head = pydicom_file(name).read_bytes()[:8]
        assert plausible_dicom_start(head, 434)
    src = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    del src.file_meta
    src.preamble = None
    raw = tmp_path / "raw"
    src.save_as(raw, implicit_vr=True, little_endian=True)
    assert read_image(raw).pixels.shape == (64, 64)
    assert image_files(tmp_path) == [raw]


@pytest.mark.parametrize("bad", [None, 123, b"/tmp/x.dcm", 1.5])
def test_read_image_refuses_a_path_of_the_wrong_type_as_a_value_error(bad):
    from app.io import ImageIOError

    with pytest.raises(ValueError, match="path must be a file path") as info:
        read_image(bad)
    assert isinstance(info.value, ImageIOError)


def test_writer_and_roi_arguments_of_the_wrong_type_are_value_errors(tmp_path):
    import numpy as np

    from app.io import parse_roi, write_image, write_png, write_tiff16

    img = read_image(Path(__file__).resolve().parents[1] / "resources" / "sample_ct_chest.dcm")
    calls = [lambda: parse_roi(None), lambda: parse_roi(5),
             lambda: write_png(None, np.zeros((2, 2)), 0, 1),
             lambda: write_tiff16(3, np.zeros((2, 2))),
             lambda: write_image(tmp_path / "a.png", np.zeros((2, 2)), source=None, scale=2,
                                 method="bicubic")]
    for call in calls:
        with pytest.raises(ValueError):
            call()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("call", [
    lambda io: io.validate_roi((0, 0, 2, 2), None),
    lambda io: io.validate_roi((0, 0, 1, 1), 7),
    lambda io: io.crop_roi(None, (0, 0, 1, 1)),
    lambda io: io.roi_statistics(5, (0, 0, 1, 1)),
    lambda io: io.minmax_window(None),
    lambda io: io.auto_window("pixels"),
    lambda io: io.compose_sheet(5),
    lambda io: io.add_caption(np.zeros((4, 4), np.uint8), None),
    lambda io: io.computed_label(None, "bicubic"),
    lambda io: io.apply_window(None, (40, 400)),
    lambda io: io.output_size(None, 2.0),
    lambda io: io.corner_texts(None),
])
def test_every_public_function_refuses_a_wrong_type_with_a_value_error(call):
    """A wrong type anywhere in app.io's public API is a ValueError (InvalidArgumentError) with a
    readable message, like every other bad value: never a bare TypeError, AttributeError or
    IndexError."""
    import app.io as io

    with pytest.raises(ValueError) as info:
        call(io)
    assert str(info.value)  # a message, not an empty ValueError


def test_every_public_function_is_wrapped():
    import inspect

    import app.io as io

    functions = [n for n in io.__all__ if inspect.isfunction(getattr(io, n))]
    assert functions and all(hasattr(getattr(io, n), "__wrapped__") for n in functions)
