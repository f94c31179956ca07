"""The window's header bar: logo and name, the assistant's state, the microphone level, modes, settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QButtonGroup, QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from app.ui import icons, theme
from app.ui.meters import LevelMeter, StateIndicator

MODES = (
    ("always", "Always listening", "The assistant listens and answers when you pause"),
    ("wake", "Wake word", "The assistant stays silent until it hears its wake word, then answers"),
    ("ptt", "Push to talk", "The assistant only hears you while you hold Talk or the push-to-talk key"),
    ("muted", "Muted", "The microphone is off"),
)
MODE_ICONS = {"always": "wave", "wake": "ear", "ptt": "hand", "muted": "mic_off"}
SEGMENT_RADIUS = "8px"


class HeaderBar(QFrame):
    """The top bar; ``modeChosen`` says which mode button was clicked (the window decides)."""

    modeChosen = Signal(str)

    def __init__(self, colors: theme.Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(16, 10, 16, 10)
        lay.setSpacing(12)
        logo = QLabel()
        logo.setPixmap(icons.app_icon().pixmap(28, 28))
        logo.setAccessibleName("Hearken logo")
        title = QLabel("Hearken")
        title.setObjectName("appTitle")
        lay.addWidget(logo)
        lay.addWidget(title)
        lay.addSpacing(10)
        self.state = StateIndicator()
        lay.addWidget(self.state)
        mic = QLabel()
        mic.setPixmap(icons.icon("mic", colors.muted).pixmap(16, 16))
        mic.setAccessibleName("Microphone")
        lay.addWidget(mic)
        self.level_meter = LevelMeter()
        lay.addWidget(self.level_meter)
        lay.addStretch(1)
        self.mode_group = QButtonGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_buttons: dict[str, QToolButton] = {}
        seg = QHBoxLayout()
        seg.setSpacing(0)
        for i, (mode, text, tip) in enumerate(MODES):
            b = self._mode_button(i, text, tip, icons.icon(MODE_ICONS[mode], colors.text))
            b.clicked.connect(lambda _c=False, m=mode: self.modeChosen.emit(m))
            self.mode_group.addButton(b)
            self.mode_buttons[mode] = b
            seg.addWidget(b)
        lay.addLayout(seg)
        lay.addSpacing(6)
        self.settings_button = QToolButton()
        self.settings_button.setIcon(icons.icon("gear", colors.text))
        self.settings_button.setText("Settings")
        self.settings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.settings_button.setAccessibleName("Settings")
        self.settings_button.setToolTip("Models, voice, turn taking, keys and theme (Ctrl+,)")
        lay.addWidget(self.settings_button)

    @staticmethod
    def _mode_button(i: int, text: str, tip: str, icon: QIcon) -> QToolButton:
        """One segment of the mode switch; the first and last round their outer corners."""
        b = QToolButton()
        b.setObjectName("modeButton")
        b.setText(text)
        b.setIcon(icon)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        b.setCheckable(True)
        b.setAccessibleName(f"{text} mode")
        b.setToolTip(f"{tip} (Ctrl+{i + 1})")
        b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)  # never elided
        if i == 0:
            b.setStyleSheet(
                f"QToolButton#modeButton {{ border-top-left-radius: {SEGMENT_RADIUS}; "
                f"border-bottom-left-radius: {SEGMENT_RADIUS}; }}"
            )
        elif i == len(MODES) - 1:
            b.setStyleSheet(
                f"QToolButton#modeButton {{ border-top-right-radius: {SEGMENT_RADIUS}; "
                f"border-bottom-right-radius: {SEGMENT_RADIUS}; }}"
            )
        return b

    def show_mode(self, mode: str) -> None:
        for m, button in self.mode_buttons.items():
            button.setChecked(m == mode)
