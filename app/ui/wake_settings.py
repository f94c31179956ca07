"""The settings dialog's "Wake word & stop" tab: which wake word, how easily it wakes, follow-ups,
a wake name matched on the transcript, and the user's own stop words.

Two different things can call Hearken, and the tab says which is which: the *wake word* is a
small model listening to the sound itself (always on, costs almost nothing, a fixed phrase), the
*wake name* is matched on what speech recognition wrote (any name, but every utterance near the
computer is transcribed to look for it).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QWidget

from app.config import Settings

DEFAULT_THRESHOLD = 0.49  # the spin box's lowest value stands for "the measured default"
WAKE_WORD_NOTE = (
    "The wake word is heard by a small model listening to the sound itself, on this computer: "
    "always on, almost no CPU, one fixed phrase per model."
)
WAKE_NAME_NOTE = (
    "A wake name is matched on the transcript instead (\u201cHearken, what time is it?\u201d): any name, "
    "but then everything said near the computer is transcribed to look for it (more CPU; nothing is "
    "shown or kept unless it starts with the name)."
)
STOP_NOTE = (
    "\u201cStop\u201d, \u201cbe quiet\u201d, \u201ccancel\u201d and these always stop Hearken "
    "mid-sentence and are never answered; no wake word is needed while it speaks."
)


def _note(text: str) -> QLabel:
    note = QLabel(text)
    note.setObjectName("muted")
    note.setWordWrap(True)
    return note


class WakeSettingsTab(QWidget):
    """Edits the wake word settings of ``settings``; ``values()`` gives them back."""

    def __init__(self, settings: Settings, catalog: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        entries = [e for e in catalog if e.role == "wake"]
        default = next((e for e in entries if settings.profile in e.profiles), None)
        entries.sort(key=lambda e: e is not default)  # the default first
        self.model = QComboBox()
        self.model.setAccessibleName("Wake word")
        for e in entries:
            phrase = e.extra.get("wake_phrase", e.name)
            label = f"\u201c{phrase}\u201d" + ("  (default)" if e is default else "")
            self.model.addItem(label, None if e is default else e.id)
        if settings.wake_model and self.model.findData(settings.wake_model) < 0:
            self.model.addItem(settings.wake_model, settings.wake_model)  # the user's own .tflite
        self.model.setCurrentIndex(max(0, self.model.findData(settings.wake_model)))
        form.addRow("Wake &word:", self.model)
        form.addRow(_note(WAKE_WORD_NOTE))
        self.threshold = QDoubleSpinBox()
        self.threshold.setAccessibleName("Wake word threshold")
        self.threshold.setRange(DEFAULT_THRESHOLD, 0.99)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(2)
        self.threshold.setSpecialValueText("Measured default")
        self.threshold.setValue(settings.wake_threshold or DEFAULT_THRESHOLD)
        self.threshold.setToolTip("Lower wakes more easily (also by mistake); higher needs a clearer call")
        form.addRow("&Threshold:", self.threshold)
        self.followup = QDoubleSpinBox()
        self.followup.setAccessibleName("Follow-up window")
        self.followup.setRange(0.0, 60.0)
        self.followup.setSingleStep(1.0)
        self.followup.setDecimals(0)
        self.followup.setSuffix(" s")
        self.followup.setValue(settings.wake_followup_s)
        self.followup.setToolTip("After an answer, you can go on without the wake word for this long")
        form.addRow("&Follow-up without it:", self.followup)
        self.name = QLineEdit(settings.wake_name)
        self.name.setAccessibleName("Wake name")
        self.name.setPlaceholderText("Off — e.g. Hearken")
        form.addRow("Wake &name:", self.name)
        form.addRow(_note(WAKE_NAME_NOTE))
        self.stop_words = QLineEdit(settings.stop_words)
        self.stop_words.setAccessibleName("Stop words")
        self.stop_words.setPlaceholderText("More stop phrases, comma-separated: that will do, thanks")
        form.addRow("&Stop words:", self.stop_words)
        form.addRow(_note(STOP_NOTE))

    def values(self) -> dict[str, Any]:
        threshold = round(self.threshold.value(), 2)
        return {
            "wake_model": self.model.currentData() or None,
            "wake_threshold": None if threshold <= DEFAULT_THRESHOLD else threshold,
            "wake_followup_s": float(self.followup.value()),
            "wake_name": self.name.text().strip(),
            "stop_words": self.stop_words.text().strip(),
        }
