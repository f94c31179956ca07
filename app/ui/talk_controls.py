"""The controls under the conversation: the Talk button (held while speaking), Stop, and how to talk now."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from app.ui import icons, theme
from app.ui.labels import muted_label

MODE_HINT = {
    "always": "Just speak — Hearken answers when you pause. Hold {key} to talk over it.",
    "wake": "Say \u201c{wake}\u201d, then your request — or hold {key}. Follow-ups need no wake word.",
    "ptt": "Hold the Talk button or {key} while you speak.",
    "muted": "The microphone is muted.",
}


class TalkControls(QWidget):
    """Only the look: what the buttons do is wired by the window's talk controller."""

    def __init__(self, colors: theme.Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        controls = QHBoxLayout()
        controls.setSpacing(10)
        self.talk_button = QPushButton("Hold to talk")
        self.talk_button.setObjectName("talkButton")
        self.talk_button.setIcon(icons.icon("mic", colors.accent_text))
        self.talk_button.setMinimumHeight(52)
        self.talk_button.setMinimumWidth(220)
        self.talk_button.setAccessibleName("Talk (hold)")
        self.talk_button.setAutoDefault(False)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setIcon(icons.icon("stop", colors.danger))
        self.stop_button.setMinimumHeight(44)
        self.stop_button.setAccessibleName("Stop the assistant")
        self.stop_button.setToolTip("Stop the assistant at once (Esc)")
        self.mode_hint = muted_label()
        self.mode_hint.setAccessibleName("How to talk in this mode")
        controls.addStretch(1)
        controls.addWidget(self.talk_button)
        controls.addWidget(self.stop_button)
        controls.addStretch(1)
        lay.addLayout(controls)
        self.mode_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.mode_hint)

    def show_mode(self, mode: str, key: str, wake: str = "Alexa") -> None:
        """Say how to talk in this mode, naming the push-to-talk key and the wake word as the user sees them."""
        self.mode_hint.setText(MODE_HINT[mode].format(key=key, wake=wake))
        self.talk_button.setToolTip(f"Hold while you speak (or hold {key} while this window has focus)")

    def set_held(self, held: bool) -> None:
        """The Talk button looks pressed while the user talks (the stylesheet keys on ``held``)."""
        b = self.talk_button
        if bool(b.property("held")) != held:
            b.setProperty("held", held)
            b.style().unpolish(b)
            b.style().polish(b)
        b.setText("Listening… release to send" if held else "Hold to talk")

    def set_busy(self, busy: bool) -> None:
        """Stop is the thing to press while the assistant thinks or speaks."""
        self.stop_button.setProperty("busy", busy)
