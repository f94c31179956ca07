"""The window's menus, keyboard shortcuts and tray icon: every action reachable without the mouse."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QSystemTrayIcon, QWidget

from app.ui import icons
from app.ui.header import MODES

log = logging.getLogger(__name__)


class WindowMenus(QObject):
    """Builds the menu bar of ``window``; the window wires the actions, ``modeChosen`` names a mode."""

    modeChosen = Signal(str)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        bar = window.menuBar()
        conv = bar.addMenu("&Conversation")
        self.act_new = conv.addAction("&New conversation")
        self.act_new.setShortcut(QKeySequence.StandardKey.New)
        self.act_settings = conv.addAction("&Settings…")
        self.act_settings.setShortcuts([QKeySequence("Ctrl+,"), QKeySequence.StandardKey.Preferences])
        conv.addSeparator()
        self.act_quit = conv.addAction("&Quit")
        self.act_quit.setShortcut(QKeySequence.StandardKey.Quit)
        talk = bar.addMenu("&Talk")
        self.mode_actions: dict[str, QAction] = {}
        group = QActionGroup(window)
        for i, (mode, text, _tip) in enumerate(MODES):
            act = talk.addAction(text)
            act.setCheckable(True)
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _c=False, m=mode: self.modeChosen.emit(m))
            group.addAction(act)
            self.mode_actions[mode] = act
        talk.addSeparator()
        self.act_stop = talk.addAction("&Stop the assistant")
        self.act_stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.act_stop.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        help_menu = bar.addMenu("&Help")
        self.act_shortcuts = help_menu.addAction("&Keyboard shortcuts")

    def show_mode(self, mode: str) -> None:
        for m, act in self.mode_actions.items():
            act.setChecked(m == mode)


def show_shortcuts(parent: QWidget, ptt_key: str) -> None:
    key = QKeySequence(ptt_key).toString(QKeySequence.SequenceFormat.NativeText)
    QMessageBox.information(
        parent,
        "Keyboard shortcuts",
        f"Hold {key}: push to talk (while this window has focus)\n"
        "Esc: stop the assistant\nCtrl+1 / 2 / 3 / 4: always listening / wake word / push to talk / muted\n"
        "Ctrl+N: new conversation\nCtrl+,: settings\nCtrl+Q: quit\n\n"
        "A system-wide push-to-talk hotkey is not available in this version.",
    )


def make_tray(window: QMainWindow, menus: WindowMenus) -> QSystemTrayIcon | None:
    """A tray icon that brings the window back and offers the modes and Quit; None without a tray."""
    if not QSystemTrayIcon.isSystemTrayAvailable():
        log.info("no system tray on this desktop: tray icon skipped")
        return None
    tray = QSystemTrayIcon(icons.app_icon(), window)
    tray.setToolTip("Hearken")
    menu = QMenu(window)
    menu.addAction("Show Hearken", lambda: _bring_to_front(window))
    menu.addSeparator()
    for mode in menus.mode_actions:
        menu.addAction(menus.mode_actions[mode])
    menu.addSeparator()
    menu.addAction(menus.act_quit)
    tray.setContextMenu(menu)
    tray.activated.connect(
        lambda reason: _bring_to_front(window) if reason == QSystemTrayIcon.ActivationReason.Trigger else None
    )
    tray.show()
    return tray


def _bring_to_front(window: QMainWindow) -> None:
    window.showNormal()
    window.raise_()
    window.activateWindow()
