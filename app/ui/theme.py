"""Light and dark themes: a Fusion palette plus one style sheet, following the system by default."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app import paths

log = logging.getLogger(__name__)

THEMES = ("system", "light", "dark")


@dataclass(frozen=True)
class Colors:
    dark: bool
    window: str
    surface: str  # panels
    surface_alt: str  # inputs, assistant bubbles
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    user_bubble: str
    user_text: str
    danger: str
    warning_bg: str
    warning_text: str


LIGHT = Colors(
    dark=False,
    window="#f4f5f8",
    surface="#ffffff",
    surface_alt="#eef0f4",
    border="#d9dce3",
    text="#1d2230",
    muted="#5f6677",
    accent="#3b6ff5",
    accent_text="#ffffff",
    user_bubble="#3b6ff5",
    user_text="#ffffff",
    danger="#d14343",
    warning_bg="#fff4e0",
    warning_text="#6b4200",
)

DARK = Colors(
    dark=True,
    window="#16181d",
    surface="#1f2229",
    surface_alt="#2a2e37",
    border="#363b47",
    text="#e7e9ee",
    muted="#9aa1b1",
    accent="#6f95ff",
    accent_text="#0d1020",
    user_bubble="#3558c8",
    user_text="#ffffff",
    danger="#ff6b6b",
    warning_bg="#3a2f1a",
    warning_text="#ffd9a0",
)

STATE_COLORS = {
    "loading": "#8a8f9c",
    "idle": "#8a8f9c",
    "listening": "#2e9d62",
    "waiting": "#5b8a74",
    "hearing": "#e0a100",
    "thinking": "#7b61ff",
    "speaking": "#3b82f6",
    "stopped": "#8a8f9c",
    "stopping": "#8a8f9c",
    "error": "#d14343",
}

EMOTION_COLORS = {
    "neutral": "#7d8597",
    "calm": "#1f9e89",
    "happy": "#d69e00",
    "sad": "#4f7cd6",
    "angry": "#d64545",
    "anxious": "#9b59b6",
    "surprised": "#e07b24",
    "uncertain": "#6c7a89",
}

# Segments of the latency bar, in order along the turn.
LATENCY_COLORS = ("#8a94a6", "#2e9d62", "#7b61ff", "#b48cff", "#e0a100", "#3b82f6")


def system_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    try:
        return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # Qt < 6.5
        return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def resolve(theme: str) -> Colors:
    if theme == "dark":
        return DARK
    if theme == "light":
        return LIGHT
    return DARK if system_is_dark() else LIGHT


def palette_for(c: Colors) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    p.setColor(role.Window, QColor(c.window))
    p.setColor(role.WindowText, QColor(c.text))
    p.setColor(role.Base, QColor(c.surface))
    p.setColor(role.AlternateBase, QColor(c.surface_alt))
    p.setColor(role.Text, QColor(c.text))
    p.setColor(role.Button, QColor(c.surface))
    p.setColor(role.ButtonText, QColor(c.text))
    p.setColor(role.Highlight, QColor(c.accent))
    p.setColor(role.HighlightedText, QColor(c.accent_text))
    p.setColor(role.ToolTipBase, QColor(c.surface))
    p.setColor(role.ToolTipText, QColor(c.text))
    p.setColor(role.PlaceholderText, QColor(c.muted))
    p.setColor(role.Link, QColor(c.accent))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor(c.muted))
    return p


def style_sheet(c: Colors) -> str:
    chevron = paths.resource("assets", f"chevron-down-{'dark' if c.dark else 'light'}.svg").as_posix()
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
QToolTip {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; padding: 4px; }}
QFrame#panel {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 10px; }}
QFrame#header {{ background: {c.surface}; border-bottom: 1px solid {c.border}; }}
QLabel#appTitle {{ font-size: 17px; font-weight: 600; }}
QLabel#panelTitle {{ font-size: 13px; font-weight: 600; color: {c.text}; }}
QLabel#muted, QLabel#hint {{ color: {c.muted}; }}
QLabel#hint {{ font-size: 14px; }}
QLabel#statePill {{ border-radius: 12px; padding: 3px 12px; font-weight: 600; }}
QScrollArea#chat, QWidget#chatCanvas {{ background: {c.window}; border: none; }}
QFrame#bubble[role="user"] {{ background: {c.user_bubble}; border-radius: 14px; }}
QFrame#bubble[role="user"] QLabel {{ color: {c.user_text}; }}
QFrame#bubble[role="assistant"] {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 14px; }}
QFrame#bubble[partial="true"] {{ border: 1px dashed {c.accent}; }}
QFrame#bubble[role="user"][partial="true"] {{ background: {c.surface_alt}; }}
QFrame#bubble[role="user"][partial="true"] QLabel {{ color: {c.muted}; }}
QLabel#bubbleMeta {{ font-size: 11px; }}
QFrame#bubble[role="assistant"] QLabel#bubbleMeta {{ color: {c.muted}; }}
QLabel#unheard {{ color: {c.muted}; font-style: italic; }}
QLabel#interruptedMark {{ color: {c.danger}; font-size: 11px; font-weight: 600; }}
QLabel#chip {{ border-radius: 9px; padding: 1px 8px; font-size: 11px; font-weight: 600; color: white; }}
QFrame#bubble[role="user"] QLabel#chip {{ border: 1px solid rgba(255, 255, 255, 0.75); }}
QFrame#banner {{ background: {c.warning_bg}; border: 1px solid {c.border}; border-radius: 10px; }}
QFrame#banner QLabel {{ color: {c.warning_text}; }}
QPushButton, QToolButton {{
    background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; border-radius: 8px;
    padding: 5px 12px;
}}
QPushButton:hover, QToolButton:hover {{ border-color: {c.accent}; }}
QPushButton:focus, QToolButton:focus, QComboBox:focus, QListWidget:focus,
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QKeySequenceEdit:focus {{
    border: 2px solid {c.accent};
}}
QPushButton:disabled, QToolButton:disabled {{ color: {c.muted}; background: {c.surface_alt}; }}
QToolButton#modeButton {{ border-radius: 0px; padding: 5px 12px; }}
QPushButton#small, QToolButton#small {{ padding: 4px 8px; }}
QToolButton#modeButton:checked {{ background: {c.accent}; color: {c.accent_text}; border-color: {c.accent}; }}
QPushButton#talkButton {{
    background: {c.accent}; color: {c.accent_text}; border: none; border-radius: 26px;
    font-size: 16px; font-weight: 600; padding: 12px 28px;
}}
QPushButton#talkButton:pressed, QPushButton#talkButton[held="true"] {{ background: {c.danger}; }}
QPushButton#talkButton:focus {{ border: 3px solid {c.text}; }}
QPushButton#talkButton:disabled {{ background: {c.surface_alt}; color: {c.muted}; }}
QPushButton#stopButton {{ border-radius: 22px; padding: 10px 18px; font-weight: 600; }}
QComboBox, QLineEdit, QPlainTextEdit, QKeySequenceEdit {{
    background: {c.surface_alt}; color: {c.text}; border: 1px solid {c.border}; border-radius: 6px;
    padding: 3px 6px;
}}
QComboBox::drop-down {{ border: none; width: 22px; }}
QComboBox::down-arrow {{ image: url("{chevron}"); width: 12px; height: 12px; }}
QComboBox QAbstractItemView {{
    background: {c.surface}; color: {c.text}; border: 1px solid {c.border};
    selection-background-color: {c.accent}; selection-color: {c.accent_text};
}}
QListWidget {{ background: {c.surface}; border: none; outline: none; }}
QListWidget::item {{ padding: 7px 6px; border-radius: 6px; }}
QListWidget::item:selected {{ background: {c.surface_alt}; color: {c.text}; }}
QStatusBar {{ background: {c.surface}; color: {c.muted}; border-top: 1px solid {c.border}; }}
QSplitter::handle {{ background: {c.window}; }}
QProgressBar {{ background: {c.surface_alt}; border: none; border-radius: 3px; max-height: 6px; }}
QProgressBar::chunk {{ background: {c.accent}; border-radius: 3px; }}
"""


def apply(app: QApplication, theme: str) -> Colors:
    """Apply ``theme`` (system, light or dark) to the whole application; returns its colours."""
    colors = resolve(theme)
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(palette_for(colors))
    app.setStyleSheet(style_sheet(colors))
    log.debug("theme %s (%s)", theme, "dark" if colors.dark else "light")
    return colors
