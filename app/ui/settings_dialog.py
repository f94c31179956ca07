"""The settings dialog: models per role (verified before use), prompt, voice, turn taking, keys, theme."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.config import Settings
from app.ui.prefs import UiPrefs

log = logging.getLogger(__name__)

ROLE_TITLES = {
    "stt": "Speech recognition",
    "llm": "Language model",
    "tts": "Voice",
    "vad": "Voice activity detector",
}
ROLE_SETTING = {"vad": "vad_model", "stt": "stt_model", "llm": "llm_model", "tts": "tts_voice"}
PTT_KEY_NOTE = "Works while the Hearken window has focus; the global key below works from any application."
GLOBAL_KEY_NOTE = (
    "Hold it in any application to talk (empty: off). Any desktop can also bind "
    "`hearken talk --toggle` (or --press / --release) in its own keyboard settings."
)


class _Background(QObject):
    """Runs a function on a thread; ``done`` arrives on the GUI thread (queued signal)."""

    done = Signal(object, object, object)  # token, result, error message

    def run(self, token: object, fn: Callable[[], Any]) -> None:
        def work() -> None:
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001 - the message is shown next to the choice
                self.done.emit(token, None, str(exc) or type(exc).__name__)
                return
            self.done.emit(token, result, None)

        threading.Thread(target=work, name="verify-model", daemon=True).start()


class ModelPicker(QWidget):
    """A combo of the catalog's models for one role, plus "choose a file"; verifies the choice."""

    changed = Signal()

    def __init__(self, role: str, settings: Settings, catalog: list[Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role
        self.catalog = [e for e in catalog if e.role == role]
        self.profile = settings.profile
        self.path: str | None = getattr(settings, ROLE_SETTING[role])
        self.status = "ok"  # ok | checking | error
        self._token = 0
        self._bg = _Background(self)
        self._bg.done.connect(self._verified)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.combo = QComboBox()
        self.combo.setAccessibleName(f"{ROLE_TITLES[role]} model")
        self.combo.setMinimumContentsLength(28)
        lay.addWidget(self.combo)
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.note.setAccessibleName(f"{ROLE_TITLES[role]} model check")
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.hide()
        lay.addWidget(self.note)
        self._fill()
        self.combo.activated.connect(self._chosen)

    def _default_entry(self) -> Any:
        return next((e for e in self.catalog if self.profile in e.profiles), None)

    def _fill(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        default = self._default_entry()
        self.combo.addItem(f"Profile default — {default.name if default else 'none'}", ("default", None))
        for e in self.catalog:
            if e is not default:
                extra = " (not installed by default)" if e.optional else ""
                self.combo.addItem(f"{e.name}{extra}", ("entry", e.id))
        if self.path:
            self.combo.addItem(self.path, ("file", self.path))
            self.combo.setCurrentIndex(self.combo.count() - 1)
        self.combo.addItem("Choose a file…", ("browse", None))
        self.combo.blockSignals(False)

    def set_profile(self, profile: str) -> None:
        self.profile = profile
        current = self.combo.currentData()
        self._fill()
        if current and current[0] == "file":
            self._select(current)

    def _select(self, data: tuple[str, Any]) -> None:
        for i in range(self.combo.count()):
            if self.combo.itemData(i) == data:
                self.combo.setCurrentIndex(i)
                return

    def _chosen(self, index: int) -> None:
        kind, value = self.combo.itemData(index)
        if kind == "browse":
            self._browse()
            return
        self.choose(kind, value)

    def _browse(self) -> None:
        if self.role == "stt":
            path = QFileDialog.getExistingDirectory(self, "Choose a CTranslate2 Whisper model folder")
        else:
            pattern = {"llm": "GGUF models (*.gguf)", "tts": "Piper voices (*.onnx)", "vad": "ONNX (*.onnx)"}
            path, _ = QFileDialog.getOpenFileName(
                self, f"Choose a {ROLE_TITLES[self.role].lower()} model", "", pattern[self.role]
            )
        if not path:
            self._select(("file", self.path) if self.path else ("default", None))
            return
        self.choose("file", path)

    def choose(self, kind: str, value: Any) -> None:
        """Select a model (``default``, ``entry`` id or ``file`` path) and verify it in the background."""
        from app.models import entry_by_id, resolve, resolve_entry

        if kind == "file" and self.combo.findData(("file", value)) < 0:
            self.combo.insertItem(self.combo.count() - 1, str(value), ("file", value))
        self._select((kind, value))
        self._token += 1
        if kind == "default":
            self.path = None
            self._set_status("ok", "")
            return
        self._set_status("checking", "Checking the model…")
        role, setting = self.role, ROLE_SETTING[self.role]
        if kind == "entry":
            self._bg.run(self._token, lambda: resolve_entry(entry_by_id(value)))
        else:
            self._bg.run(
                self._token, lambda: resolve(role, Settings(**{setting: str(value)}), full_verify=True)
            )

    def _verified(self, token: object, result: Any, error: str | None) -> None:
        if token != self._token:
            return
        if error:
            self._set_status("error", error)
            return
        self.path = str(result.path)
        check = "sha256 verified" if result.verified else "not in the catalog, not checksum-verified"
        self._set_status("ok", f"{result.id}: {check} · {result.licence}")

    def _set_status(self, status: str, text: str) -> None:
        self.status = status
        self.note.setText(text)
        self.note.setVisible(bool(text))
        self.note.setStyleSheet("color: #d14343;" if status == "error" else "")
        self.changed.emit()


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``values()`` / ``prefs()`` hold the result when accepted.

    ``calibrateRequested``: the user pressed "Calibrate now" (the window runs it and reports back
    through ``show_calibration_progress`` / ``_result`` / ``_failure``)."""

    calibrateRequested = Signal()

    def __init__(
        self,
        settings: Settings,
        prefs: UiPrefs,
        parent: QWidget | None = None,
        *,
        global_key_status: str = "",
        calibration_text: str = "",
        calibration_running: bool = False,
    ) -> None:
        super().__init__(parent)
        self.global_key_status_text = global_key_status
        self._calibration = (calibration_text, calibration_running)
        self.setWindowTitle("Hearken settings")
        self.setAccessibleName("Settings")
        self.setModal(True)
        self.resize(620, 440)
        self.settings = replace(settings)
        self.ui_prefs = replace(prefs)
        tabs = QTabWidget()
        tabs.setAccessibleName("Settings sections")
        tabs.addTab(self._models_tab(), "&Models")
        tabs.addTab(self._conversation_tab(), "&Conversation")
        tabs.addTab(self._listening_tab(), "&Listening && keys")
        tabs.addTab(self._wake_tab(), "&Wake word && stop")
        tabs.addTab(self._appearance_tab(), "&Appearance")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setAccessibleName("Save settings")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(tabs)
        self.reload_note = QLabel("Changing a model reloads the models (a few seconds).")
        self.reload_note.setObjectName("muted")
        lay.addWidget(self.reload_note)
        lay.addWidget(self.buttons)
        self._update_ok()

    # ---------------- tabs ----------------
    def _models_tab(self) -> QWidget:
        from app.models import ModelError, load_catalog

        w = QWidget()
        form = QFormLayout(w)
        self.profile = QComboBox()
        self.profile.setAccessibleName("Model profile")
        self.profile.addItem("Fast (small models, lowest latency)", "fast")
        self.profile.addItem("Quality (larger models, optional packages)", "quality")
        self.profile.setCurrentIndex(max(0, self.profile.findData(self.settings.profile)))
        form.addRow("&Profile:", self.profile)
        try:
            catalog = load_catalog()
        except ModelError as exc:
            catalog = []
            form.addRow(QLabel(f"The model catalog cannot be read: {exc}"))
        self.pickers: dict[str, ModelPicker] = {}
        for role in ("stt", "llm", "tts", "vad"):
            picker = ModelPicker(role, self.settings, catalog)
            picker.changed.connect(self._update_ok)
            self.pickers[role] = picker
            label = QLabel(f"{ROLE_TITLES[role]}:")
            label.setBuddy(picker.combo)
            form.addRow(label, picker)
        self.profile.currentIndexChanged.connect(
            lambda _i: [p.set_profile(self.profile.currentData()) for p in self.pickers.values()]
        )
        if self.settings.llm_server_url:
            form.addRow(QLabel(f"The language model is served by {self.settings.llm_server_url}."))
        form.addRow("Speed on this computer:", self._calibration_row())
        return w

    def _calibration_row(self) -> QWidget:
        from app.calibration import describe

        text, running = self._calibration
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        self.calibration_note = self._note(text or describe(None))
        self.calibration_note.setAccessibleName("Calibration")
        self.calibration_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.calibrate_button = QPushButton("Calibrate &now")
        self.calibrate_button.setAccessibleName("Measure this computer's speed now")
        self.calibrate_button.setToolTip(
            "Measures the language model's speed on each number of threads, alone and beside a busy "
            "core, and chooses the threads (about half a minute, in the background)"
        )
        self.calibrate_button.setEnabled(not running)
        self.calibrate_button.clicked.connect(self._calibrate_clicked)
        lay.addWidget(self.calibration_note, 1)
        lay.addWidget(self.calibrate_button)
        return row

    def _calibrate_clicked(self) -> None:
        self.calibrate_button.setEnabled(False)
        self.calibration_note.setText("Measuring… (starting)")
        self.calibrateRequested.emit()

    def show_calibration_progress(self, done: int, total: int, text: str) -> None:
        self.calibrate_button.setEnabled(False)
        self.calibration_note.setText(f"Measuring… ({done}/{total}: {text})")

    def show_calibration_result(self, entry: dict[str, Any]) -> None:
        from app.calibration import describe

        self.calibrate_button.setEnabled(True)
        self.calibration_note.setText(describe(entry))

    def show_calibration_failure(self, why: str) -> None:
        self.calibrate_button.setEnabled(True)
        self.calibration_note.setText(f"Measuring failed: {why}")

    def _conversation_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.system_prompt = QPlainTextEdit(self.settings.system_prompt)
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setTabChangesFocus(True)
        self.system_prompt.setMinimumHeight(120)
        form.addRow("System &prompt:", self.system_prompt)
        self.speaking_rate = QDoubleSpinBox()
        self.speaking_rate.setAccessibleName("Speaking rate")
        self.speaking_rate.setRange(0.5, 2.0)
        self.speaking_rate.setSingleStep(0.05)
        self.speaking_rate.setDecimals(2)
        self.speaking_rate.setSuffix(" ×")
        self.speaking_rate.setValue(self.settings.speaking_rate)
        self.speaking_rate.setToolTip("1.0 is the voice's natural pace; 1.2 speaks a fifth faster")
        form.addRow("Speaking &rate:", self.speaking_rate)
        self.hotwords = QLineEdit(self.settings.hotwords)
        self.hotwords.setAccessibleName("Hotwords")
        self.hotwords.setPlaceholderText("Names and terms to recognise, e.g. ComfyUI, Kubernetes")
        form.addRow("&Hotwords:", self.hotwords)
        return w

    def _listening_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        row = QHBoxLayout()
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setAccessibleName("Speech detection sensitivity")
        self.sensitivity.setRange(5, 95)
        self.sensitivity.setValue(round((1.0 - self.settings.vad_threshold) * 100))
        self.sensitivity.setToolTip("Higher hears quieter speech but may react to noise")
        self.sensitivity_value = QLabel()
        self.sensitivity_value.setMinimumWidth(40)
        self.sensitivity.valueChanged.connect(lambda v: self.sensitivity_value.setText(f"{v} %"))
        self.sensitivity_value.setText(f"{self.sensitivity.value()} %")
        row.addWidget(self.sensitivity, 1)
        row.addWidget(self.sensitivity_value)
        label = QLabel("Speech &sensitivity:")
        label.setBuddy(self.sensitivity)
        form.addRow(label, row)
        self.eot = QSpinBox()
        self.eot.setAccessibleName("End-of-turn silence")
        self.eot.setRange(100, 5000)
        self.eot.setSingleStep(50)
        self.eot.setSuffix(" ms")
        self.eot.setValue(self.settings.end_of_turn_silence_ms)
        self.eot.setToolTip("Silence that ends your turn (adapted to what you said)")
        form.addRow("&End-of-turn silence:", self.eot)
        self.patience = QSpinBox()
        self.patience.setAccessibleName("Patience with pauses")
        self.patience.setRange(500, 6000)
        self.patience.setSingleStep(250)
        self.patience.setSuffix(" ms")
        self.patience.setValue(self.settings.turn_patience_ms)
        self.patience.setToolTip(
            'How long Hearken waits through a pause when you sound unfinished ("and so...") before answering'
        )
        form.addRow("&Patience with pauses:", self.patience)
        self.ptt_key = QKeySequenceEdit(QKeySequence(self.ui_prefs.ptt_key))
        self.ptt_key.setAccessibleName("Push-to-talk key")
        self.ptt_key.setMaximumSequenceLength(1)
        self.ptt_key.setClearButtonEnabled(True)
        form.addRow("Push-to-talk &key:", self.ptt_key)
        form.addRow(self._note(PTT_KEY_NOTE))
        self.global_ptt_key = QKeySequenceEdit(QKeySequence(self.ui_prefs.global_ptt_key))
        self.global_ptt_key.setAccessibleName("Global push-to-talk key")
        self.global_ptt_key.setMaximumSequenceLength(1)
        self.global_ptt_key.setClearButtonEnabled(True)
        form.addRow("&Global push-to-talk key:", self.global_ptt_key)
        self.global_key_status = self._note(self.global_key_status_text or "The global key is not set up.")
        self.global_key_status.setAccessibleName("Global key method")
        self.global_key_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Active method:", self.global_key_status)
        form.addRow(self._note(GLOBAL_KEY_NOTE))
        return w

    def _wake_tab(self) -> QWidget:
        from app.models import ModelError, load_catalog
        from app.ui.wake_settings import WakeSettingsTab

        try:
            catalog = load_catalog()
        except ModelError:
            catalog = []  # the models tab says why
        self.wake = WakeSettingsTab(self.settings, catalog)
        return self.wake

    @staticmethod
    def _note(text: str) -> QLabel:
        note = QLabel(text)
        note.setObjectName("muted")
        note.setWordWrap(True)
        return note

    def show_global_key_status(self, _method: str, status: str) -> None:
        """The global key's backend changed while the dialog is open."""
        self.global_key_status.setText(status)

    def _appearance_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.theme = QComboBox()
        self.theme.setAccessibleName("Theme")
        self.theme.addItem("Follow the system", "system")
        self.theme.addItem("Light", "light")
        self.theme.addItem("Dark", "dark")
        self.theme.setCurrentIndex(max(0, self.theme.findData(self.ui_prefs.theme)))
        form.addRow("&Theme:", self.theme)
        return w

    # ---------------- result ----------------
    def _update_ok(self) -> None:
        states = [p.status for p in self.pickers.values()]
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(all(s == "ok" for s in states))
        if "checking" in states:
            ok.setToolTip("Waiting for the model check")
        elif "error" in states:
            ok.setToolTip("A chosen model cannot be used")
        else:
            ok.setToolTip("")

    def values(self) -> dict[str, Any]:
        """The engine settings as edited."""
        out: dict[str, Any] = {
            "profile": self.profile.currentData(),
            "system_prompt": self.system_prompt.toPlainText().strip() or self.settings.system_prompt,
            "speaking_rate": round(self.speaking_rate.value(), 2),
            "hotwords": self.hotwords.text().strip(),
            "vad_threshold": round(1.0 - self.sensitivity.value() / 100.0, 2),
            "end_of_turn_silence_ms": self.eot.value(),
            "turn_patience_ms": self.patience.value(),
        }
        for role, picker in self.pickers.items():
            out[ROLE_SETTING[role]] = picker.path
        out.update(self.wake.values())
        return out

    def prefs(self) -> UiPrefs:
        seq = self.ptt_key.keySequence()
        key = seq.toString(QKeySequence.SequenceFormat.PortableText) if not seq.isEmpty() else ""
        seq = self.global_ptt_key.keySequence()
        global_key = seq.toString(QKeySequence.SequenceFormat.PortableText) if not seq.isEmpty() else ""
        return replace(
            self.ui_prefs, theme=self.theme.currentData(), ptt_key=key or "Space", global_ptt_key=global_key
        )
