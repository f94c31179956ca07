"""The two label styles the window's panels share: a panel title and a muted, wrapping note."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel


def section_title(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("panelTitle")
    return label


def muted_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label
