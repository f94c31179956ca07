"""The Audio panel: pick the microphone and speaker (applied at once and remembered), see what is in use."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QFormLayout, QFrame, QVBoxLayout, QWidget

from app.config import Settings
from app.ui import prefs
from app.ui.device_list import DeviceList
from app.ui.host import AudioStatus, EngineHost
from app.ui.labels import muted_label, section_title


class AudioPanel(QFrame):
    """The device lists stay disabled until ``fill`` gets the devices found in the background."""

    def __init__(
        self, host: EngineHost, status: Callable[[str, int], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.host = host
        self._status = status
        self.setObjectName("panel")
        al = QVBoxLayout(self)
        al.setContentsMargins(14, 10, 14, 10)
        al.setSpacing(6)
        al.addWidget(section_title("Audio"))
        self.input_combo = QComboBox()
        self.input_combo.setAccessibleName("Microphone device")
        self.output_combo = QComboBox()
        self.output_combo.setAccessibleName("Speaker device")
        for combo in (self.input_combo, self.output_combo):
            combo.addItem("System default", None)
            combo.setEnabled(False)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Microphone", self.input_combo)
        form.addRow("S&peaker", self.output_combo)
        al.addLayout(form)
        self.note = muted_label("Looking for sound devices…")
        self.note.setAccessibleName("Sound device status")
        al.addWidget(self.note)
        self.route = muted_label()
        self.route.setAccessibleName("Audio in use")
        al.addWidget(self.route)
        self.input_combo.activated.connect(lambda _i: self._chosen("input_device", self.input_combo))
        self.output_combo.activated.connect(lambda _i: self._chosen("output_device", self.output_combo))

    def fill(self, devices: DeviceList, settings: Settings) -> None:
        """List the devices found, with the one ``settings`` names chosen (kept even if unplugged)."""
        for combo, names, key, default in (
            (self.input_combo, devices.inputs, "input_device", devices.default_input),
            (self.output_combo, devices.outputs, "output_device", devices.default_output),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(f"System default ({default})" if default else "System default", None)
            for name in names:
                combo.addItem(name, name)
            current = getattr(settings, key)
            if current:
                i = combo.findData(current)
                if i < 0:
                    combo.addItem(f"{current} (not connected)", current)
                    i = combo.count() - 1
                combo.setCurrentIndex(i)
            combo.setEnabled(bool(names))
            combo.blockSignals(False)
        self.note.setText(devices.problem or "A new choice is opened at once and remembered.")

    def show_route(self, st: AudioStatus) -> None:
        self.route.setText(f"In use: {st.input}" + (f"; {st.output}" if st.output else ""))

    def _chosen(self, key: str, combo: QComboBox) -> None:
        value = combo.currentData()
        try:
            prefs.save_engine_settings({key: value})
        except OSError as exc:
            self._status(f"The choice could not be saved: {exc}", 5000)
            return
        self.host.apply_live({key: value})
        self._status(f"{'Microphone' if key == 'input_device' else 'Speaker'}: {combo.currentText()}", 3000)
