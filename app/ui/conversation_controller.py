"""Turns on screen and in the history: the engine's turn events become bubbles, answered turns are saved.

The bubbles of one engine are keyed by (epoch, turn id): a reloaded engine counts its turns from 1 again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.history import History, TurnRecord
from app.messages import AssistantTurn, UserTurn
from app.ui.bridge import EngineBridge
from app.ui.conversation import ConversationView
from app.ui.details_panel import LatencyPanel
from app.ui.history_panel import HistoryPanel
from app.ui.host import EngineHost

log = logging.getLogger(__name__)


class ConversationController(QObject):
    """Owns which conversation is shown and continued; ``turnFinished`` carries each kept turn's report."""

    turnFinished = Signal(object)

    def __init__(
        self,
        *,
        host: EngineHost,
        bridge: EngineBridge,
        history: History,
        view: ConversationView,
        history_panel: HistoryPanel,
        latency: LatencyPanel,
        status: Callable[[str, int], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.history = history
        self.view = view
        self.history_panel = history_panel
        self.latency = latency
        self._status = status
        self.conversation_id: int | None = None  # where answered turns are saved; None: a new one
        self.answered = 0  # turns with an answer the user heard to the end
        self.reports: list[dict[str, Any]] = []
        self._epoch = 0
        self._carried: object | None = None  # a user bubble whose words moved into the next turn
        bridge.engineBuilt.connect(self._on_engine_built)
        bridge.speechStarted.connect(self._on_speech_started)
        bridge.partialTranscript.connect(self._on_partial)
        bridge.userTurn.connect(self._on_user_turn)
        bridge.turnContinued.connect(self._on_turn_continued)
        bridge.assistantDelta.connect(self._on_delta)
        bridge.assistantTurn.connect(self._on_assistant_turn)
        bridge.turnDone.connect(self._on_turn_done)
        history_panel.newRequested.connect(self.new_conversation)
        history_panel.openRequested.connect(self.open_conversation)
        history_panel.deleted.connect(self._on_deleted)

    # ---------------- the conversation shown ----------------
    def new_conversation(self) -> None:
        self.host.new_conversation()
        self.view.clear()
        self.conversation_id = None
        self._carried = None
        self.history_panel.set_current(None)
        self._status("New conversation: the assistant starts fresh", 3000)

    def open_conversation(self, conversation_id: int) -> None:
        turns = self.history.turns(conversation_id)
        self.view.show_turns(turns)
        self.conversation_id = conversation_id
        self._carried = None
        memory: list[tuple[str, str, bool]] = []
        for t in turns:
            memory.append(("user", t.user_text, False))
            memory.append(("assistant", t.assistant_text, t.interrupted))
        self.host.new_conversation(memory=memory)
        self.history_panel.set_current(conversation_id)
        self._status("Conversation reopened: new turns continue it", 3000)

    def _on_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            self.new_conversation()

    def _save_turn(self, report: Mapping[str, Any]) -> None:
        try:
            if self.conversation_id is None:
                self.conversation_id = self.history.new_conversation()
            self.history.add_turn(self.conversation_id, TurnRecord.from_report(report))
        except Exception:  # noqa: BLE001 - a full disk must not end the conversation
            log.exception("saving the turn to the history failed")
            self._status("The turn could not be saved to the history", 5000)
            return
        self.history_panel.set_current(self.conversation_id)

    # ---------------- the engine's turn events ----------------
    def _on_engine_built(self, _engine: object) -> None:
        self._epoch += 1

    def _key(self, turn_id: int) -> tuple[int, int]:
        return (self._epoch, turn_id)

    def _on_speech_started(self, turn_id: int) -> None:
        self.view.user_partial(self._key(turn_id), "")

    def _on_partial(self, turn_id: int, text: str) -> None:
        self.view.user_partial(self._key(turn_id), text)

    def _on_user_turn(self, ev: UserTurn) -> None:
        key = self._key(ev.turn_id)
        if self._carried is not None:
            old = self.view.get(self._carried, "user")
            if old is not None and ev.text.startswith(old.text.text()):
                self.view.remove(self._carried, "user")
            self._carried = None
        self.view.user_final(key, ev.text, ev.emotion.to_dict() if ev.emotion else None)

    def _on_turn_continued(self, turn_id: int) -> None:
        """The user went on: one bubble grows again, and the answer begun for its first part goes."""
        key = self._key(turn_id)
        self.view.remove(key, "assistant")
        b = self.view.get(key, "user")
        self.view.user_partial(key, b.text.text() if b is not None else "")

    def _on_delta(self, turn_id: int, text: str) -> None:
        self.view.assistant_text(self._key(turn_id), text)

    def _on_assistant_turn(self, ev: AssistantTurn) -> None:
        key = self._key(ev.turn_id)
        if ev.interrupted and not ev.text:
            # Nothing was heard: the engine keeps these words and adds them to the next turn.
            self.view.remove(key, "assistant")
            b = self.view.get(key, "user")
            if b is not None:
                b.set_meta("You · stopped before an answer; kept for your next turn")
                self._carried = key
            return
        self.view.assistant_final(key, ev.text, ev.full_text, ev.interrupted)

    def _on_turn_done(self, turn_id: int, report: Mapping[str, Any]) -> None:
        key = self._key(turn_id)
        if report.get("dropped"):
            b = self.view.get(key, "user")
            if b is not None and not report.get("user_text"):
                self.view.remove(key, "user")
            if not self.view.has(key, "assistant") and b is not None and report.get("user_text"):
                b.set_meta("You · " + str(report.get("dropped")))
            return
        self.reports.append(dict(report))
        lat = report.get("latency_ms") or {}
        heard = bool(report.get("assistant_text"))
        if lat.get("voice_to_voice") is not None:
            self.latency.show_report(report)
            self.view.set_latency(key, float(lat["voice_to_voice"]))
        if report.get("user_text") and (heard or not report.get("interrupted")):
            self._save_turn(report)
        if heard and not report.get("interrupted"):
            self.answered += 1
        self.turnFinished.emit(dict(report))
