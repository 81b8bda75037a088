"""Medical evaluation images: DICOM pixels in modality units, shared by the evaluation tools."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def read_dicom(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A DICOM file's pixels in modality units (HU for CT), float64, and its first display
    window (centre, width) or None."""
    import pydicom
    from pydicom.pixels import apply_modality_lut
    ds = pydicom.dcmread(str(path))
    arr = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    window = None
    if "WindowCenter" in ds and "WindowWidth" in ds:
        c, w = ds.WindowCenter, ds.WindowWidth
        c = float(c[0] if isinstance(c, pydicom.multival.MultiValue) else c)
        w = float(w[0] if isinstance(w, pydicom.multival.MultiValue) else w)
        window = (c, w)
    return arr, window
