"""app.io.series: the slices a viewer steps through from one opened file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.uid import generate_uid

from app.io.series import series_files, stack_of

from .test_io_writers import make_ct

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def make_series(folder: Path, zs, *, uid=None, numbers=None, iop=AXIAL, prefix="s"):
    """Slices at the given z (mm) in one series; files named in an order unrelated to z."""
    folder.mkdir(parents=True, exist_ok=True)
    uid = uid or generate_uid()
    paths = []
    for k, z in enumerate(zs):
        number = numbers[k] if numbers is not None else k + 1
        paths.append(make_ct(folder / f"{prefix}{(7 * k) % 11:02d}.dcm", np.full((16, 16), z),
                             ipp=(0.0, 0.0, z), iop=iop, spacing=(1, 1),
                             SeriesInstanceUID=uid, InstanceNumber=number))
    return paths


def test_files_of_the_series_in_slice_position_order(tmp_path):
    paths = make_series(tmp_path, [30.0, 10.0, 20.0, 0.0], numbers=[1, 2, 3, 4])
    make_series(tmp_path, [5.0, 15.0], prefix="other")       # another series in the folder
    (tmp_path / "notes.txt").write_text("not an image")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "photo.png")
    order = series_files(paths[2])
    assert [float(pydicom.dcmread(p).ImagePositionPatient[2]) for p in order] == [0, 10, 20, 30]
    assert set(order) == set(paths)


def test_without_positions_instance_number_orders(tmp_path):
    paths = make_series(tmp_path, [0.0, 0.0, 0.0], numbers=[3, 1, 2])
    for p in paths:
        ds = pydicom.dcmread(p)
        del ds.ImagePositionPatient
        ds.save_as(p)
    assert [pydicom.dcmread(p).InstanceNumber for p in series_files(paths[0])] == [1, 2, 3]


def test_a_localizer_in_the_series_does_not_undo_the_slice_order(tmp_path):
    """A coronal scout in an axial series (same Series Instance UID, numbers not in z order):
    the axial slices keep their order along the normal, the scout follows them."""
    uid = generate_uid()
    paths = make_series(tmp_path, [30.0, 10.0, 0.0, 20.0], uid=uid, numbers=[1, 2, 3, 4])
    scout = make_series(tmp_path, [100.0], uid=uid, numbers=[0], iop=(1, 0, 0, 0, 0, -1),
                        prefix="scout")[0]
    order = series_files(paths[0])
    assert order[-1] == scout
    assert [float(pydicom.dcmread(p).ImagePositionPatient[2]) for p in order[:-1]] == [
        0, 10, 20, 30]
    # half and half is no majority: InstanceNumber decides
    two = make_series(tmp_path / "two", [5.0, 0.0], numbers=[2, 1])
    make_series(tmp_path / "two", [9.0, 8.0], uid=pydicom.dcmread(two[0]).SeriesInstanceUID,
                numbers=[4, 3], iop=(1, 0, 0, 0, 0, -1), prefix="c")
    assert [pydicom.dcmread(p).InstanceNumber for p in series_files(two[0])] == [1, 2, 3, 4]


def test_a_copy_of_a_slice_in_the_folder_is_paged_once(tmp_path):
    import shutil

    paths = make_series(tmp_path, [0.0, 10.0, 20.0])
    shutil.copy(paths[1], tmp_path / "zz_copy.dcm")  # the same instance twice
    order = series_files(paths[0])
    assert len(order) == 3 and set(order) == set(paths)
    opened = series_files(tmp_path / "zz_copy.dcm")  # the copy opened: it is the one kept
    assert len(opened) == 3 and tmp_path / "zz_copy.dcm" in opened and paths[1] not in opened


def test_a_file_alone_a_raster_and_a_multiframe_file(tmp_path, pydicom_file):
    lone = make_ct(tmp_path / "lone.dcm", np.zeros((8, 8)), ipp=(0, 0, 0), iop=AXIAL,
                   spacing=(1, 1))
    assert series_files(lone) == [lone]
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "photo.png")
    assert stack_of(tmp_path / "photo.png", 1, "raster") == [(tmp_path / "photo.png", 0)]
    assert series_files(tmp_path / "photo.png") == [tmp_path / "photo.png"]
    assert stack_of(lone, 4) == [(lone, 0), (lone, 1), (lone, 2), (lone, 3)]


def test_the_largest_series_of_a_folder_and_its_image_files(tmp_path, pydicom_file):
    """A CD's layout: series in subfolders, extension-less names, a DICOMDIR index beside."""
    import shutil

    from app.io.series import folder_series, image_files

    big = make_series(tmp_path / "DICOM" / "A", [20.0, 0.0, 10.0], prefix="IM")
    small = make_series(tmp_path / "DICOM" / "B", [5.0], prefix="IM")
    for p in big + small:  # no extension, as on a patient CD
        p.rename(p.with_suffix(""))
    shutil.copy(pydicom_file("DICOMDIR"), tmp_path / "DICOMDIR")
    (tmp_path / "autorun.inf").write_text("[autorun]")
    files, n = folder_series(tmp_path)
    assert n == 2 and len(files) == 3
    assert [float(pydicom.dcmread(p).ImagePositionPatient[2]) for p in files] == [0, 10, 20]
    assert image_files(tmp_path) == sorted(p.with_suffix("") for p in big + small)
    assert folder_series(tmp_path / "DICOM" / "B") == ([small[0].with_suffix("")], 1)
    (tmp_path / "empty").mkdir()
    assert folder_series(tmp_path / "empty") == ([], 0) and image_files(tmp_path / "empty") == []
    asked = []  # a cancelled scan (the viewer closing) stops at the next file and finds nothing
    assert folder_series(tmp_path, stop=lambda: asked.append(1) or len(asked) > 2) == ([], 0)
    assert len(asked) == 3
    from app.io.series import stack_of

    one = big[0].with_suffix("")
    assert len(stack_of(one)) == 3
    assert stack_of(one, stop=lambda: True) == [(one, 0)]  # a cancelled listing: the file alone


def test_every_series_of_a_folder_for_a_picker_and_raster_slices(tmp_path):
    """A folder with several series lists each (largest first) with its modality, description
    and number; a folder of PNG slices lists them in natural order."""
    from app.io.series import folder_series_list, raster_files

    big = make_series(tmp_path / "A", [20.0, 0.0, 10.0])
    small = make_series(tmp_path / "B", [5.0])
    for p, desc, number in [(q, "Lung 1 mm", 3) for q in big] + [(small[0], "Scout", 1)]:
        ds = pydicom.dcmread(p)
        ds.Modality, ds.SeriesDescription, ds.SeriesNumber = "CT", desc, number
        ds.save_as(p)
    found = folder_series_list(tmp_path)
    assert [(s.modality, s.description, s.number, len(s.files)) for s in found] == [
        ("CT", "Lung 1 mm", "3", 3), ("CT", "Scout", "1", 1)]
    assert [float(pydicom.dcmread(p).ImagePositionPatient[2]) for p in found[0].files] == \
        [0, 10, 20]
    assert folder_series_list(tmp_path / "B")[0].files == (small[0],)
    pngs = tmp_path / "png"
    pngs.mkdir()
    for k in (10, 2, 1):
        Image.fromarray(np.full((4, 4), k, np.uint8)).save(pngs / f"slice_{k}.png")
    (pngs / "notes.txt").write_text("x")
    assert folder_series_list(pngs) == []
    assert [p.name for p in raster_files(pngs)] == ["slice_1.png", "slice_2.png",
                                                     "slice_10.png"]
