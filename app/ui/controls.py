"""The controls dock: magnification, methods, device, Super-resolve / Cancel, display options.

The magnification has three synchronised editors: a slider over [1.1, 5] in 0.1 steps, a spin box,
and a dropdown of the usual factors (×2 … ×5, plus "custom" when the slider is elsewhere).
"""
from __future__ import annotations

from PyQt5.QtCore import QObject, Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAction,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.io import SCALE_MAX, SCALE_MIN
from app.io.labels import METHOD_LABELS
from app.session import RunSettings

from .panel_data import VIEW_MODES, VIEW_SHORT, VIEW_TIPS

SCALE_STEP = 0.1
PRESET_SCALES = (2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
METHOD_TIPS = {
    "bicubic": "MATLAB-compatible bicubic interpolation (no network; the baseline)",
    "srcnn": "SRCNN 9-1-5 on the bicubic image (Dong et al. 2014)",
    "rmisr-bl": "RMISR baseline: 4 pyramidal feature multi-distillation blocks",
    "rmisr-vp": "RMISR visual-perception model: 6 blocks + Laplacian edge branch",
}
DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA (GPU)"}
#: the Run box's labels of the engine's precision settings (models.inference.precision.PRECISIONS)
PRECISION_LABELS = {"auto": "Auto", "fp32": "fp32 (exact)", "bf16": "bf16", "fp16": "fp16"}


def _scale_to_tick(scale: float) -> int:
    return int(round(scale * 10))


class ControlsPanel(QWidget):
    """All controls of a super-resolution run; it holds no image data.

    The window reads it through methods (:meth:`run_settings`, :meth:`scale`,
    :meth:`selected_methods`, …), sets it through ``set_…`` methods and follows it through its
    signals; its widgets are its own.
    """

    scaleChanged = pyqtSignal(float)
    methodsChanged = pyqtSignal(list)
    deviceChanged = pyqtSignal(str)
    simulateChanged = pyqtSignal(bool)
    precisionChanged = pyqtSignal(str)
    ensembleChanged = pyqtSignal(bool)
    runRequested = pyqtSignal()
    cancelRequested = pyqtSignal()
    presetChosen = pyqtSignal(int)
    viewModeChanged = pyqtSignal(str)
    loupeToggled = pyqtSignal(bool)
    fitRequested = pyqtSignal()
    wholeImageRequested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scale = 2.0
        self._updating = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)

        # -- ROI --------------------------------------------------------------------------
        roi_box = QGroupBox("Region of interest")
        rl = QVBoxLayout(roi_box)
        self.roi_label = QLabel("None — left-drag on the image")
        self.roi_label.setObjectName("roiLabel")
        self.roi_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.roi_label.setMinimumHeight(3 * self.roi_label.fontMetrics().lineSpacing() + 4)
        self.roi_label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.roi_label.setWordWrap(True)  # a long statistics line wraps, never cut
        rl.addWidget(self.roi_label)
        row = QHBoxLayout()
        self.whole_button = QPushButton("Whole image")
        self.whole_button.setToolTip("Use the whole image as the region "
                                     "(slow with networks on CPU)")
        self.whole_button.clicked.connect(self.wholeImageRequested)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit the image to the window (F, or double-click)")
        self.fit_button.clicked.connect(self.fitRequested)
        row.addWidget(self.whole_button)
        row.addWidget(self.fit_button)
        rl.addLayout(row)
        lay.addWidget(roi_box)

        # -- scale ------------------------------------------------------------------------
        scale_box = QGroupBox("Magnification")
        sl = QVBoxLayout(scale_box)
        top = QHBoxLayout()
        self.scale_combo = QComboBox()
        for s in PRESET_SCALES:
            self.scale_combo.addItem(f"×{s:g}", s)
        self.scale_combo.addItem("custom", None)
        self.scale_combo.setToolTip("Usual magnifications; 'custom' when the slider is elsewhere")
        self.scale_spin = QDoubleSpinBox()
        self.scale_spin.setRange(SCALE_MIN, SCALE_MAX)
        self.scale_spin.setSingleStep(SCALE_STEP)
        self.scale_spin.setDecimals(1)
        self.scale_spin.setPrefix("×")
        self.scale_spin.setToolTip(f"Magnification factor ({SCALE_MIN:g} – {SCALE_MAX:g})")
        top.addWidget(self.scale_combo, 1)
        top.addWidget(self.scale_spin)
        sl.addLayout(top)
        self.scale_slider = QSlider(Qt.Horizontal)
        self.scale_slider.setRange(_scale_to_tick(SCALE_MIN), _scale_to_tick(SCALE_MAX))
        self.scale_slider.setSingleStep(1)
        self.scale_slider.setPageStep(5)
        self.scale_slider.setTickPosition(QSlider.TicksBelow)
        self.scale_slider.setTickInterval(5)
        self.scale_slider.setToolTip("Magnification ×1.1 – ×5 in steps of 0.1")
        sl.addWidget(self.scale_slider)
        lay.addWidget(scale_box)
        self.scale_combo.activated.connect(self._combo_activated)
        self.scale_slider.valueChanged.connect(lambda v: self.set_scale(v / 10.0))
        self.scale_spin.valueChanged.connect(lambda v: self.set_scale(v))

        # -- methods ----------------------------------------------------------------------
        m_box = QGroupBox("Methods")
        ml = QVBoxLayout(m_box)
        ml.setSpacing(2)
        self.method_boxes: dict[str, QCheckBox] = {}
        self._availability: dict[str, tuple[bool, str]] = {}
        for name, label in METHOD_LABELS.items():
            cb = QCheckBox(label)
            cb.setToolTip(METHOD_TIPS[name])
            cb.toggled.connect(lambda _=False: self.methodsChanged.emit(self.selected_methods()))
            self.method_boxes[name] = cb
            ml.addWidget(cb)
        self.method_boxes["bicubic"].setChecked(True)
        lay.addWidget(m_box)

        # -- run --------------------------------------------------------------------------
        run_box = QGroupBox("Run")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.device_combo = QComboBox()
        self.device_combo.addItem(DEVICE_LABELS["auto"], "auto")
        self.device_combo.addItem(DEVICE_LABELS["cpu"], "cpu")
        self.device_combo.setToolTip("Where the networks run; CUDA is listed only when a GPU is "
                                     "available")
        self.device_combo.activated.connect(
            lambda _i: self.deviceChanged.emit(self.device_combo.currentData()))
        self.device_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.device_combo.setMinimumContentsLength(6)
        form.addRow("Device", self.device_combo)
        self.precision_combo = QComboBox()
        for key, label in PRECISION_LABELS.items():
            self.precision_combo.addItem(label, key)
        self.precision_combo.setToolTip(
            "Arithmetic of the networks. Auto: bf16 where the CPU runs it natively (AVX512-BF16 or "
            "AMX) or on a GPU, else fp32; CT images, and SRCNN on a CPU, stay fp32. The image's "
            "own reading, statistics, normalisation and the bicubic part stay fp32; the quality "
            "table names the arithmetic each result used")
        self.precision_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.precision_combo.setMinimumContentsLength(6)
        form.addRow("Arithmetic", self.precision_combo)
        self.precision_combo.currentIndexChanged.connect(
            lambda _i: self.precisionChanged.emit(self.precision_choice()))
        self.device_label = QLabel("engine loading…")
        self.device_label.setObjectName("deviceLabel")
        form.addRow("In use", self.device_label)
        rv = QVBoxLayout(run_box)
        rv.addLayout(form)
        self.simulate_box = QCheckBox("Simulate low resolution")
        self.simulate_box.setToolTip(
            "Degrade the ROI by 1/s with the training's bicubic model and super-resolve that: "
            "the ROI becomes a reference, so PSNR/SSIM can be measured")
        self.simulate_box.toggled.connect(self.simulateChanged)
        rv.addWidget(self.simulate_box)
        self.ensemble_box = QCheckBox("Best quality (8× slower)")
        self.ensemble_box.setObjectName("bestQualityBox")
        self.ensemble_box.setToolTip(
            "Run every network on the 8 flips and rotations of the region and show their mean "
            "(a little more accurate); their per-pixel spread is the Uncertainty view: where "
            "the computed pixels can be trusted least")
        self.ensemble_box.toggled.connect(self.ensembleChanged)
        rv.addWidget(self.ensemble_box)
        self.run_button = QPushButton("Super-resolve")
        self.run_button.setObjectName("runButton")
        self.run_button.setToolTip("Super-resolve the ROI with the ticked methods (Ctrl+R)")
        self.run_button.clicked.connect(self.runRequested)
        self.run_button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        rv.addWidget(self.run_button)
        prow = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.cancel_button)
        rv.addLayout(prow)
        self.job_label = QLabel("")
        self.job_label.setObjectName("jobLabel")
        self.job_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        rv.addWidget(self.job_label)
        lay.addWidget(run_box)

        # -- display ----------------------------------------------------------------------
        d_box = QGroupBox("Display")
        dl = QVBoxLayout(d_box)
        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("Window presets (right-drag on any image adjusts the window)")
        self.preset_combo.activated.connect(self.presetChosen)
        self.preset_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(10)
        dl.addWidget(self.preset_combo)
        self.window_label = QLabel("")
        self.window_label.setObjectName("windowLabel")
        self.window_label.setWordWrap(True)
        dl.addWidget(self.window_label)
        self.view_buttons = QButtonGroup(self)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        for i, (key, label) in enumerate(VIEW_MODES.items()):
            rb = QRadioButton(VIEW_SHORT[key])
            rb.setProperty("mode", key)
            rb.setToolTip(f"{label}: {VIEW_TIPS[key]}")
            rb.setChecked(key == "image")
            self.view_buttons.addButton(rb, i)
            grid.addWidget(rb, i // 2, i % 2)
        dl.addLayout(grid)
        self.view_buttons.buttonToggled.connect(self._view_toggled)
        self.loupe_box = QCheckBox("Loupe")
        self.loupe_box.setToolTip("A magnifier that shows the same spot in every panel (L)")
        self.loupe_box.toggled.connect(self.loupeToggled)
        dl.addWidget(self.loupe_box)
        lay.addWidget(d_box)
        self.measure_box = QGroupBox("Measure")
        self.measure_box.setToolTip("Measuring tools: on the image and on every result panel; "
                                    "kept per slice and exported on the comparison sheet")
        self._measure_grid = QGridLayout(self.measure_box)
        self._measure_grid.setContentsMargins(4, 2, 4, 4)
        self._measure_grid.setSpacing(2)
        lay.addWidget(self.measure_box)
        lay.addStretch(1)
        self.set_scale(2.0, emit=False, force=True)

    def set_tool_actions(self, actions: list[QAction]) -> list[QToolButton]:
        """Buttons of the measuring tools' menu actions (their state is the actions'), two to a
        row, in the Measure box; returns them."""
        buttons = []
        for i, action in enumerate(actions):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            button.setAutoRaise(False)
            self._measure_grid.addWidget(button, i // 2, i % 2)
            buttons.append(button)
        return buttons

    # -- the run's settings ----------------------------------------------------------------
    def run_settings(self) -> RunSettings:
        """The next run's settings as the controls show them."""
        return RunSettings(self._scale, tuple(self.selected_methods()), self.simulate(),
                           self.precision_choice(), self.best_quality())

    def simulate(self) -> bool:
        """Whether "Simulate low resolution" is ticked."""
        return self.simulate_box.isChecked()

    def set_simulate(self, on: bool) -> None:
        """Tick or untick "Simulate low resolution" (``simulateChanged`` when it changes)."""
        self.simulate_box.setChecked(bool(on))

    # -- region of interest ----------------------------------------------------------------
    def set_roi_text(self, text: str) -> None:
        """Describe the region of interest (also the tooltip: the dock may be narrow)."""
        self.roi_label.setText(text)
        self.roi_label.setToolTip(text)

    def roi_text(self) -> str:
        """The region's description as shown."""
        return self.roi_label.text()

    # -- scale -----------------------------------------------------------------------------
    def scale(self) -> float:
        """The magnification."""
        return self._scale

    def set_scale(self, scale: float, emit: bool = True, force: bool = False) -> None:
        """Set the magnification (rounded to 0.1, clamped to [1.1, 5]) in all three editors."""
        s = round(min(max(float(scale), SCALE_MIN), SCALE_MAX) * 10) / 10.0
        if self._updating or (abs(s - self._scale) < 1e-9 and not force):
            return
        self._updating = True
        try:
            self._scale = s
            self.scale_slider.setValue(_scale_to_tick(s))
            self.scale_spin.setValue(s)
            idx = next((i for i, p in enumerate(PRESET_SCALES) if abs(p - s) < 1e-9), None)
            custom = self.scale_combo.count() - 1
            if idx is None:
                self.scale_combo.setItemText(custom, f"custom (×{s:g})")
                self.scale_combo.setCurrentIndex(custom)
            else:
                self.scale_combo.setItemText(custom, "custom")
                self.scale_combo.setCurrentIndex(idx)
        finally:
            self._updating = False
        if emit:
            self.scaleChanged.emit(s)

    def _combo_activated(self, index: int) -> None:
        value = self.scale_combo.itemData(index)
        if value is None:  # "custom": keep the slider's value
            self.set_scale(self._scale, emit=False, force=True)
        else:
            self.set_scale(float(value))

    # -- methods ---------------------------------------------------------------------------
    def selected_methods(self) -> list[str]:
        """Ticked methods that can run at the current scale, in display order."""
        return [m for m, cb in self.method_boxes.items() if cb.isChecked() and cb.isEnabled()]

    def checked_methods(self) -> list[str]:
        """Ticked methods, available or not (saved in the settings)."""
        return [m for m, cb in self.method_boxes.items() if cb.isChecked()]

    def set_checked_methods(self, methods: list[str]) -> None:
        """Tick exactly ``methods`` (available or not)."""
        for m, cb in self.method_boxes.items():
            cb.setChecked(m in methods)

    def set_availability(self, availability: dict[str, tuple[bool, str]]) -> None:
        """Grey out methods without weights for the current scale, with the reason as tooltip."""
        self._availability = dict(availability)
        for m, cb in self.method_boxes.items():
            ok, reason = availability.get(m, (True, ""))
            cb.setEnabled(ok)
            cb.setToolTip(METHOD_TIPS[m] if ok else f"{METHOD_TIPS[m]}\nUnavailable: {reason}")
        self.methodsChanged.emit(self.selected_methods())

    def available_methods(self) -> dict[str, str]:
        """method → label of every method available at the current scale, ticked or not."""
        return {m: METHOD_LABELS[m] for m, cb in self.method_boxes.items() if cb.isEnabled()}

    # -- device ----------------------------------------------------------------------------
    def set_cuda_available(self, available: bool) -> None:
        """List CUDA among the devices only when a GPU can be used."""
        idx = self.device_combo.findData("cuda")
        if available and idx < 0:
            self.device_combo.addItem(DEVICE_LABELS["cuda"], "cuda")
        elif not available and idx >= 0:
            self.device_combo.removeItem(idx)

    def set_device_choice(self, device: str) -> None:
        """Show ``device`` ("auto", "cpu", "cuda") as chosen, when listed."""
        idx = self.device_combo.findData(device)
        if idx >= 0:
            self.device_combo.setCurrentIndex(idx)

    def device_choice(self) -> str:
        """The device chosen ("auto", "cpu" or "cuda")."""
        return str(self.device_combo.currentData())

    def precision_choice(self) -> str:
        """The Run box's arithmetic setting ("auto", "fp32", "bf16" or "fp16")."""
        return str(self.precision_combo.currentData())

    def set_precision_choice(self, precision: str) -> None:
        """Choose the arithmetic; an unknown name leaves it unchanged."""
        idx = self.precision_combo.findData(precision)
        if idx >= 0:
            self.precision_combo.setCurrentIndex(idx)

    def best_quality(self) -> bool:
        """The Run box's "Best quality (8× slower)": the networks' 8-run ensemble."""
        return self.ensemble_box.isChecked()

    def set_best_quality(self, on: bool) -> None:
        """Tick or untick "Best quality" (``ensembleChanged`` when it changes)."""
        self.ensemble_box.setChecked(bool(on))

    def set_engine_text(self, text: str) -> None:
        """Say where the engine runs ("CPU", "loading…", "unavailable")."""
        self.device_label.setText(text)

    # -- running state ---------------------------------------------------------------------
    def set_job_text(self, text: str) -> None:
        """The running or last job's state, under the progress bar."""
        self.job_label.setText(text)
        self.job_label.setToolTip(text)

    def job_text(self) -> str:
        """The job's state as shown."""
        return self.job_label.text()

    def set_progress(self, percent: int) -> None:
        """The progress bar's value (0–100)."""
        self.progress.setValue(int(percent))

    def set_running(self, running: bool, ready: bool = True) -> None:
        """A job runs (Cancel on, device locked, the bar from 0) or not; Super-resolve is on
        only when no job runs and the run is ``ready`` (an image, a region and a method)."""
        self.run_button.setEnabled(ready and not running)
        self.cancel_button.setEnabled(running)
        self.device_combo.setEnabled(not running)
        if running:
            self.progress.setValue(0)

    # -- display ---------------------------------------------------------------------------
    def set_presets(self, names: list[str]) -> None:
        """List the window presets (the first entry invites a choice)."""
        self.preset_combo.clear()
        self.preset_combo.addItem("Window preset…")
        for n in names:
            self.preset_combo.addItem(n)

    def reset_preset_choice(self) -> None:
        """Show the invitation again once a preset was applied."""
        self.preset_combo.setCurrentIndex(0)

    def watch_preset_keys(self, event_filter: QObject) -> None:
        """Let ``event_filter`` see the keys typed into the preset list first."""
        self.preset_combo.installEventFilter(event_filter)

    def set_window_text(self, text: str) -> None:
        """The display window in words ("Window W 400 / L 40 HU")."""
        self.window_label.setText(text)

    def _view_toggled(self, button, checked: bool) -> None:
        if checked:
            self.viewModeChanged.emit(button.property("mode"))

    def view_mode(self) -> str:
        """The comparison's view ("image", "difference", …)."""
        b = self.view_buttons.checkedButton()
        return b.property("mode") if b else "image"

    def set_view_mode(self, mode: str) -> None:
        """Choose a view (``viewModeChanged`` when it changes)."""
        for b in self.view_buttons.buttons():
            if b.property("mode") == mode:
                b.setChecked(True)

    def loupe(self) -> bool:
        """Whether the loupe is on."""
        return self.loupe_box.isChecked()

    def set_loupe(self, on: bool) -> None:
        """Turn the loupe on or off (``loupeToggled`` when it changes)."""
        self.loupe_box.setChecked(bool(on))
