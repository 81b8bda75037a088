"""Qt-free image I/O: read DICOM / PNG / JPEG / TIFF / BMP at full range, window for
display, crop, and write PNG, 16-bit TIFF, derived DICOM and Secondary Capture atomically.

Public API::

    from app.io import read_image, apply_window, write_image
    img = read_image("ct.dcm")                         # ImageData: float32 HU + metadata
    view = apply_window(img.pixels, *img.window, invert=img.invert)   # uint8 for display

Every failure raises a subclass of :class:`ImageIOError` with a readable message.
"""
from __future__ import annotations

from ._atomic import OutputClaim, claim_output
from ._resources import DEFAULT_PRESETS_PATH, RESOURCES_DIR, SAMPLE_PATH, SAMPLE_SHA256
from .errors import (CorruptFileError, EmptyFileError, FileMissingError, FrameOutOfRangeError,
                     ImageIOError, ImageTooLargeError, InvalidArgumentError, InvalidPixelsError,
                     InvalidROIError,
                     InvalidScaleError, InvalidWindowError, NoPixelDataError, NotAnImageError,
                     NotRegularFileError, OutputBusyError, OutputExistsError, ScanBudgetError,
                     SourceOverwriteError, TruncatedFileError, UnsupportedImageError,
                     UnsupportedTransferSyntaxError, WindowPresetError, WriteError,
                     wrong_type_is_value_error)
from ._dicom_map import write_map_dicom
from .image_data import ImageData
from .labels import METHOD_LABELS, computed_label, method_label
from .limits import MAX_PIXELS, MAX_SIDE
from .overlay import corner_texts, image_edge_labels, orientation_labels
from .reader import read_image
from .roi import (SCALE_MAX, SCALE_MIN, RoiStatistics, crop_roi, distance_text, fit_roi,
                  output_size, parse_roi, roi_statistics, validate_roi, validate_scale)
from .sheet import add_caption, compose_sheet, write_sheet
from .windowing import (VoiLut, WindowPreset, apply_window, auto_window, load_window_presets,
                        minmax_window, presets_for_modality, voi_label)
from .writers import (DerivedReport, DerivedSeries, TiffEncoding, WrittenImage,
                      check_format_fits, format_for_path, write_dicom_derived, write_image,
                      write_png, write_secondary_capture, write_text, write_tiff16)

__all__ = [
    # reading
    "read_image", "ImageData", "SAMPLE_PATH", "SAMPLE_SHA256", "RESOURCES_DIR",
    "MAX_PIXELS", "MAX_SIDE",
    # display
    "corner_texts", "image_edge_labels", "orientation_labels", "apply_window", "voi_label",
    "VoiLut", "auto_window", "minmax_window", "WindowPreset", "load_window_presets",
    "presets_for_modality", "DEFAULT_PRESETS_PATH",
    # ROI / scale
    "validate_roi", "fit_roi", "crop_roi", "parse_roi", "validate_scale", "output_size",
    "SCALE_MIN",
    "SCALE_MAX", "roi_statistics", "RoiStatistics", "distance_text",
    # writing
    "write_png", "write_tiff16", "TiffEncoding", "write_dicom_derived", "write_secondary_capture",
    "write_image", "write_text", "write_map_dicom", "claim_output", "OutputClaim", "write_sheet",
    "compose_sheet", "add_caption", "format_for_path", "check_format_fits", "DerivedReport",
    "DerivedSeries", "WrittenImage", "computed_label", "method_label", "METHOD_LABELS",
    # errors
    "ImageIOError", "FileMissingError", "EmptyFileError", "NotAnImageError", "CorruptFileError",
    "TruncatedFileError", "NoPixelDataError", "UnsupportedTransferSyntaxError",
    "UnsupportedImageError", "ImageTooLargeError", "InvalidPixelsError", "FrameOutOfRangeError",
    "InvalidROIError", "InvalidScaleError", "InvalidWindowError", "WindowPresetError",
    "WriteError", "SourceOverwriteError", "OutputExistsError", "OutputBusyError",
    "NotRegularFileError", "ScanBudgetError", "InvalidArgumentError",
]

# Every public function of this package refuses an argument of the wrong type with a ValueError
# (InvalidArgumentError) naming itself and the cause, as it refuses every other bad value.
for _name in [n for n in __all__ if callable(globals()[n]) and not isinstance(globals()[n], type)]:
    globals()[_name] = wrong_type_is_value_error(globals()[_name])
del _name
