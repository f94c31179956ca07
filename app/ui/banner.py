"""The problem banner above the conversation, and what it says when the models cannot be loaded."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

# kind of load failure -> (title, what to do); any other kind gets DEFAULT_FAILURE
LOAD_FAILURES = {
    "model": (
        "Hearken could not load its models",
        "What to do: install what the message names (running “make run” in the Hearken folder "
        "installs the default models), or pick another model in Settings, then press Retry.",
    ),
    "native": (
        "A part of Hearken crashed on this computer",
        "It was caught in a test run, so nothing else was affected. Retry checks it again.",
    ),
    "input": (
        "The microphone file cannot be used",
        "What to do: give --mic-file a WAV, FLAC, OGG or MP3 file with speech in it.",
    ),
}
DEFAULT_FAILURE = (
    "The assistant could not start",
    "What to do: press Retry; if it happens again, run “hearken selftest” in a terminal.",
)


def load_failure(kind: str) -> tuple[str, str]:
    """The banner's title and its advice for a load failure of this kind."""
    return LOAD_FAILURES.get(kind, DEFAULT_FAILURE)


class ProblemBanner(QFrame):
    """Hidden until ``show_problem``; Dismiss hides it, Retry and Open settings are the window's to wire."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        bl = QVBoxLayout(self)
        bl.setContentsMargins(14, 10, 14, 10)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 14px;")
        self.title.setWordWrap(True)  # long titles wrap instead of being cut at the edge
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAccessibleName("Problem details")
        brow = QHBoxLayout()
        self.settings_button = QPushButton("Open settings")
        self.settings_button.setAccessibleName("Open settings to fix the problem")
        self.retry_button = QPushButton("Retry")
        self.retry_button.setAccessibleName("Retry loading the models")
        self.close_button = QPushButton("Dismiss")
        self.close_button.setAccessibleName("Dismiss this message")
        brow.addStretch(1)
        brow.addWidget(self.settings_button)
        brow.addWidget(self.retry_button)
        brow.addWidget(self.close_button)
        bl.addWidget(self.title)
        bl.addWidget(self.text)
        bl.addLayout(brow)
        self.hide()
        self.close_button.clicked.connect(self.hide)

    def show_problem(self, title: str, text: str, *, retry: bool, settings: bool = False) -> None:
        self.title.setText(title)
        self.text.setText(text)
        self.retry_button.setVisible(retry)
        self.settings_button.setVisible(settings)
        self.setAccessibleName(title)
        self.show()
