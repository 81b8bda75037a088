"""Controls dock: the three magnification editors stay in sync; unavailable methods grey out."""
from __future__ import annotations

import pytest
from PyQt5.QtCore import Qt

from app.ui.controls import ControlsPanel


@pytest.fixture
def controls(qtbot):
    w = ControlsPanel()
    qtbot.addWidget(w)
    w.show()
    return w


def test_dropdown_drives_slider_and_spin(controls, qtbot):
    combo = controls.scale_combo
    with qtbot.waitSignal(controls.scaleChanged) as sig:
        combo.setCurrentIndex(combo.findText("×2.5"))
        combo.activated.emit(combo.currentIndex())  # as a user pick does
    assert sig.args == [2.5]
    assert controls.scale_slider.value() == 25
    assert controls.scale_spin.value() == pytest.approx(2.5)
    assert controls.scale() == pytest.approx(2.5)


def test_slider_drives_dropdown_custom_and_back(controls):
    controls.scale_slider.setValue(37)
    assert controls.scale() == pytest.approx(3.7)
    assert controls.scale_combo.currentData() is None
    assert controls.scale_combo.currentText() == "custom (×3.7)"
    assert controls.scale_spin.value() == pytest.approx(3.7)
    controls.scale_slider.setValue(40)
    assert controls.scale_combo.currentText() == "×4"
    controls.scale_spin.setValue(1.1)
    assert controls.scale_slider.value() == 11 and controls.scale() == pytest.approx(1.1)
    assert controls.scale_slider.minimum() == 11 and controls.scale_slider.maximum() == 50


def test_slider_keyboard(controls, qtbot):
    controls.set_scale(2.0)
    controls.scale_slider.setFocus()
    qtbot.keyClick(controls.scale_slider, Qt.Key_Right)
    assert controls.scale() == pytest.approx(2.1)


def test_availability_greys_out_with_reason(controls):
    for cb in controls.method_boxes.values():
        cb.setChecked(True)
    controls.set_availability({"bicubic": (True, ""), "srcnn": (False, "no weights for ×2.5"),
                               "rmisr-bl": (True, ""), "rmisr-vp": (False, "no weights")})
    assert not controls.method_boxes["srcnn"].isEnabled()
    assert "no weights for ×2.5" in controls.method_boxes["srcnn"].toolTip()
    assert controls.selected_methods() == ["bicubic", "rmisr-bl"]
    assert controls.checked_methods() == ["bicubic", "srcnn", "rmisr-bl", "rmisr-vp"]


def test_precision_choice_round_trips(controls):
    assert controls.precision_choice() == "auto"
    for p in ("fp32", "bf16", "fp16", "auto"):
        controls.set_precision_choice(p)
        assert controls.precision_choice() == p
    controls.set_precision_choice("int8")  # unknown: unchanged
    assert controls.precision_choice() == "auto"


def test_cuda_listed_only_when_available(controls):
    assert controls.device_combo.findData("cuda") < 0
    controls.set_cuda_available(True)
    assert controls.device_combo.findData("cuda") >= 0
    controls.set_cuda_available(False)
    assert controls.device_combo.findData("cuda") < 0


def test_slice_range_dialog_defaults_and_choice(qtbot, tmp_path):
    from app.ui.slices import SliceRangeDialog

    dlg = SliceRangeDialog(10, 0, {"bicubic": "Bicubic", "rmisr-bl": "RMISR-BL"}, "rmisr-bl",
                           True, tmp_path, 2.5, (1, 2, 30, 40))
    qtbot.addWidget(dlg)
    c = dlg.choice()
    assert (c.first, c.last, c.method, c.fmt, c.folder) == (1, 3, "rmisr-bl", "dcm", tmp_path)
    dlg.first.setValue(7)  # the range stays ordered
    assert (dlg.first.value(), dlg.last.value()) == (7, 7)
    dlg.last.setValue(2)
    assert (dlg.first.value(), dlg.last.value()) == (2, 2)
    raster = SliceRangeDialog(3, 2, {"bicubic": "Bicubic"}, "", False, tmp_path, 2, (0, 0, 4, 4))
    qtbot.addWidget(raster)
    c = raster.choice()
    assert (c.first, c.last, c.method, c.fmt) == (1, 3, "bicubic", "png")
