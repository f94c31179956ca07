"""How the user talks to the assistant: the mode, push-to-talk (Talk button or key), Stop, and when they work.

It also installs itself as the application's event filter for the push-to-talk key: the key works
anywhere in the window except where it types (text fields, key editors, spin boxes, lists to pick from).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTextEdit,
)

from app.ui import prefs
from app.ui.conversation import ConversationView
from app.ui.engine_status import EngineStatus
from app.ui.header import HeaderBar
from app.ui.host import EngineHost
from app.ui.menus import WindowMenus
from app.ui.talk_controls import TalkControls

TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit, QKeySequenceEdit, QAbstractSpinBox, QComboBox)


class TalkController(QObject):
    """``lock_mode`` pins one mode (a virtual microphone needs "always"); ``ui_prefs`` reads the current ones."""

    def __init__(
        self,
        window: QMainWindow,
        *,
        host: EngineHost,
        engine_status: EngineStatus,
        header: HeaderBar,
        controls: TalkControls,
        menus: WindowMenus,
        conversation: ConversationView,
        ui_prefs: Callable[[], prefs.UiPrefs],
        status: Callable[[str, int], None],
        mode: str,
        lock_mode: str | None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self.host = host
        self.engine_status = engine_status
        self.header = header
        self.controls = controls
        self.menus = menus
        self.conversation = conversation
        self._ui_prefs = ui_prefs
        self._status = status
        self.mode = mode
        self.lock_mode = lock_mode
        self.ptt_down = False
        controls.talk_button.pressed.connect(lambda: self.push_to_talk(True))
        controls.talk_button.released.connect(lambda: self.push_to_talk(False))
        controls.stop_button.clicked.connect(self.interrupt)
        menus.act_stop.triggered.connect(self.interrupt)
        header.modeChosen.connect(self.set_mode)
        menus.modeChosen.connect(self.set_mode)

    # ---------------- what the user does ----------------
    def push_to_talk(self, pressed: bool) -> None:
        if pressed == self.ptt_down:
            return
        if pressed and (not self.engine_status.ready or self.mode == "muted"):
            return
        self.ptt_down = pressed
        self.controls.set_held(pressed)
        self.host.push_to_talk(pressed)

    def interrupt(self) -> None:
        if self.engine_status.ready:
            self.host.interrupt("user")
            self._status("Stopped", 2000)

    def set_mode(self, mode: str) -> None:
        if self.lock_mode and mode != self.lock_mode:
            self._status("The virtual microphone needs always-listening mode", 4000)
            self.show_mode()
            return
        if self.ptt_down and mode != "ptt":
            self.ptt_down = False  # the held turn carries on under the new mode
            self.controls.set_held(False)
        self.mode = mode
        self.show_mode()
        self.host.set_mode(mode)
        if not self.lock_mode:
            ui = self._ui_prefs()
            ui.mode = mode
            prefs.save_ui_prefs(ui)
        engine = self.engine_status.engine
        self.on_state(engine.orchestrator.state if engine is not None else self.header.state.state)

    # ---------------- what the controls show ----------------
    def show_mode(self) -> None:
        """Check the current mode everywhere and say how to talk in it (with the current key)."""
        self.header.show_mode(self.mode)
        self.menus.show_mode(self.mode)
        self.show_ready(self.engine_status.ready)

    def _show_hint(self) -> None:
        key = (
            QKeySequence(self._ui_prefs().ptt_key).toString(QKeySequence.SequenceFormat.NativeText) or "Space"
        )
        engine = self.engine_status.engine
        phrases = engine.orchestrator.wake_phrases if engine is not None else []
        self.controls.show_mode(self.mode, key, *phrases[:1])  # the loaded wake word, once known

    def show_ready(self, ready: bool) -> None:
        """Talk and Stop work only with the models ready (and not while closing)."""
        self._show_hint()
        ready = ready and not self.engine_status.closing
        self.controls.talk_button.setEnabled(ready and self.mode != "muted")
        self.controls.stop_button.setEnabled(ready)
        self.menus.act_stop.setEnabled(ready)
        if not ready and self.engine_status.state == "loading":
            self.conversation.set_hint("Loading the models… you can talk as soon as they are ready.")
        elif self.engine_status.state == "failed":
            self.conversation.set_hint("The assistant is not available — see the message above.")
        else:
            self.conversation.set_hint("Say something, or hold the Talk button.")

    def on_state(self, state: str) -> None:
        """The orchestrator's state, as the header shows it (muted wins over listening)."""
        if state in ("error",) and self.engine_status.state == "loading":
            return  # the load failure explains it
        shown = "muted" if self.mode == "muted" and state in ("listening", "idle") else state
        self.header.state.set_state(shown)
        self.controls.stop_button.setEnabled(self.engine_status.ready)
        self.controls.set_busy(state in ("thinking", "speaking"))
        if state != "hearing" and not self.ptt_down:
            self.controls.set_held(False)

    # ---------------- push-to-talk key ----------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        et = event.type()
        if et not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        if not self._window.isActiveWindow() or QApplication.activeModalWidget() is not None:
            return False
        seq = QKeySequence(self._ui_prefs().ptt_key)
        if seq.isEmpty() or event.key() != seq[0].key():
            return False
        focus = QApplication.focusWidget()
        if isinstance(focus, TEXT_INPUTS) or (focus is not None and focus.window() is not self._window):
            return False
        if not event.isAutoRepeat():
            self.push_to_talk(et == QEvent.Type.KeyPress)
        return True
