"""A finished derived DICOM dataset written to disk.

The Image Pixel module and Pixel Data from an array (:func:`_set_pixels`), the File Meta
Information (:func:`_file_meta`, Explicit VR Little Endian) and the atomic save with pydicom's
warnings recorded (:func:`_save_dicom`); :func:`_write_instance` does the three in order for the
writers of :mod:`app.io._dicom_writer`.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import IO, Any

import numpy as np
from pydicom import dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from ._atomic import atomic_write
from .errors import WriteError


def _set_pixels(ds: Any, arr: np.ndarray, photometric: str, bits_stored: int) -> None:
    """Pixel Data and the Image Pixel module from ``arr`` (uncompressed, little endian)."""
    if arr.dtype.itemsize <= 2:
        ds.set_pixel_data(arr, photometric, bits_stored, generate_instance_uid=False)
        return
    # 32-bit (e.g. RT Dose): pydicom's set_pixel_data supports ≤ 16 bits, so set the module here
    ds.Rows, ds.Columns = int(arr.shape[0]), int(arr.shape[1])
    ds.SamplesPerPixel = 3 if arr.ndim == 3 else 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored, ds.HighBit = bits_stored, bits_stored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    if arr.ndim == 3:
        ds.PlanarConfiguration = 0
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    ds.PixelData = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"))).tobytes()
    ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"


def _file_meta(sop_class: str, sop_instance: str) -> Any:

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "RMISR_VIEWER_1"
    return meta


def _save_dicom(ds: Any, target: Path, sources: list[Path], report_warnings: list[str]) -> None:
    """Encode ``ds``, read the encoding back (a file this writer cannot read is never
    published: a damaged source header can hold elements that encode but do not parse) and
    write it to ``target`` atomically."""
    def write(fh: IO[bytes]) -> None:
        buf = io.BytesIO()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds.save_as(buf, enforce_file_format=True)
        for w in caught:
            report_warnings.append(str(w.message).splitlines()[0])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                back = dcmread(io.BytesIO(buf.getbuffer()))
                back.PixelData  # noqa: B018 — the elements read to the end of the file (their
                # structure: tags and lengths; values are decoded only when used)
        except Exception as exc:  # noqa: BLE001 — pydicom raises nearly anything on bad data
            first = (str(exc).splitlines() or [""])[0][:200]
            raise WriteError("the derived file would not read back (its header, copied from "
                             f"the source, holds damaged elements: {type(exc).__name__}: "
                             f"{first}); nothing written", target) from exc
        fh.write(buf.getbuffer())

    atomic_write(target, write, sources=sources)


def _write_instance(ds: Any, pixels: np.ndarray, photometric: str, bits_stored: int,
                    target: Path, sources: list[Path], report_warnings: list[str]) -> None:
    """Give ``ds`` its file meta and ``pixels``, then save it to ``target`` atomically.

    Args:
        ds: the finished header (SOPClassUID and SOPInstanceUID set).
        pixels: stored values, (H, W) or (H, W, 3), of the integer dtype to write.
        photometric: PhotometricInterpretation of ``pixels``.
        bits_stored: BitsStored to declare.
        target: the file to write.
        sources: the files ``target`` must not overwrite.
        report_warnings: receives pydicom's warnings while saving.

    Raises:
        WriteError: pydicom cannot set the pixel data, or the file cannot be written.
    """
    ds.file_meta = _file_meta(str(ds.SOPClassUID), str(ds.SOPInstanceUID))
    try:
        _set_pixels(ds, pixels, photometric, bits_stored)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise WriteError(f"cannot set the pixel data ({exc})", target) from exc
    _save_dicom(ds, target, sources, report_warnings)
