"""Engine events -> typed Qt signals, on the GUI thread.

A ``QTimer`` (about every 30 ms) drains the host's life-cycle events and the
orchestrator's ``ui_queue`` with ``get_nowait`` and re-emits each event as a
typed signal.  Nothing here blocks: the drain has a time budget per tick, the
microphone level is throttled to about 20 Hz, and streaming text (partial
transcripts, the reply so far) is coalesced so only the latest text of a run is
painted.
"""

from __future__ import annotations

import logging
import queue
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.messages import (
    AlarmFired,
    AlarmsChanged,
    AssistantDelta,
    AssistantTurn,
    EngineError,
    Interrupted,
    Level,
    Notice,
    PartialTranscript,
    StateChanged,
    TurnContinued,
    TurnDone,
    UserSpeechStarted,
    UserTurn,
)
from app.ui.host import (
    AudioStatus,
    EngineBuilt,
    EngineHost,
    EngineReady,
    EngineStopped,
    LoadFailed,
    LoadProgress,
    MicFileFinished,
)

log = logging.getLogger(__name__)

DRAIN_INTERVAL_MS = 30
LEVEL_INTERVAL_S = 0.05  # 20 Hz
TICK_BUDGET_S = 0.008
SLOW_HANDLER_MS = 8.0  # logged at debug level: what makes the window slow


class EngineBridge(QObject):
    """Lives on the GUI thread; the only path from the engine to widgets."""

    # life cycle (from the host)
    loadProgress = Signal(str, int, int)  # text, done, total
    engineBuilt = Signal(object)  # app.engine.Engine
    ready = Signal(float)  # seconds the models took to load
    loadFailed = Signal(str, str)  # kind (model, input, runtime), message
    stopped = Signal()
    audioStatus = Signal(object)  # AudioStatus
    micFileFinished = Signal(str)
    # conversation (from the orchestrator)
    stateChanged = Signal(str)
    speechStarted = Signal(int)  # turn id
    partialTranscript = Signal(int, str)
    userTurn = Signal(object)  # UserTurn
    turnContinued = Signal(int)  # turn id: the user went on before its answer was heard
    assistantDelta = Signal(int, str)  # turn id, reply so far
    assistantTurn = Signal(object)  # AssistantTurn
    turnDone = Signal(int, object)  # turn id, report dict
    interrupted = Signal(int, str)
    level = Signal(float)
    engineError = Signal(str, str)  # where, message
    notice = Signal(str)
    alarmsChanged = Signal(object)  # tuple[Alarm, ...]: the running timers and pending reminders
    alarmFired = Signal(object)  # AlarmFired: a timer ended or a reminder fell due
    # any other object a background task put on the host's queue
    other = Signal(object)

    def __init__(self, host: EngineHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self._ui_queue: Any = None
        self._epoch = 0
        self._last_level_emit = 0.0
        self._pending_level: float | None = None
        self._pending_text: tuple[str, int, str] | None = None  # ("delta"|"partial", turn, text)
        self.events_seen = 0
        self.longest_tick_ms = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    @property
    def attached(self) -> bool:
        return self._ui_queue is not None

    def stop_draining(self) -> None:
        self._timer.stop()

    # ---------------------------------------------------------------- draining
    def drain(self) -> None:
        t0 = time.perf_counter()
        deadline = t0 + TICK_BUDGET_S
        self._drain_queue(self.host.events, self._control, deadline)
        if self._ui_queue is not None:
            self._drain_queue(self._ui_queue, self._engine_event, deadline)
        self._flush_text()
        if self._pending_level is not None and t0 - self._last_level_emit >= LEVEL_INTERVAL_S:
            self._last_level_emit = t0
            value, self._pending_level = self._pending_level, None
            self.level.emit(value)
        took = (time.perf_counter() - t0) * 1000
        if took > self.longest_tick_ms:
            self.longest_tick_ms = took

    def _drain_queue(self, q: Any, handle: Any, deadline: float) -> None:
        while time.perf_counter() < deadline:
            try:
                ev = q.get_nowait()
            except queue.Empty:
                return
            self.events_seen += 1
            t0 = time.perf_counter()
            try:
                handle(ev)
            except Exception:  # noqa: BLE001 - a widget bug must not stop the drain
                log.exception("handling %s failed", type(ev).__name__)
            took = (time.perf_counter() - t0) * 1000
            if took > SLOW_HANDLER_MS:
                log.debug("painting %s took %.1f ms", type(ev).__name__, took)

    def _control(self, ev: object) -> None:
        if isinstance(ev, LoadProgress):
            if ev.epoch == self.host.epoch:
                self.loadProgress.emit(ev.text, ev.done, ev.total)
        elif isinstance(ev, EngineBuilt):
            self._epoch = ev.epoch
            self._ui_queue = ev.engine.orchestrator.ui_queue
            self.engineBuilt.emit(ev.engine)
        elif isinstance(ev, EngineReady):
            if ev.epoch == self.host.epoch:
                self.ready.emit(ev.seconds)
        elif isinstance(ev, LoadFailed):
            if ev.epoch == self.host.epoch:
                self.loadFailed.emit(ev.kind, ev.message)
        elif isinstance(ev, EngineStopped):
            if self._ui_queue is not None and ev.epoch == self._epoch:
                self._drain_queue(self._ui_queue, self._engine_event, time.perf_counter() + 0.05)
                self._flush_text()
                self._ui_queue = None
            self.stopped.emit()
        elif isinstance(ev, AudioStatus):
            self.audioStatus.emit(ev)
        elif isinstance(ev, MicFileFinished):
            self.micFileFinished.emit(ev.path)
        else:
            self.other.emit(ev)

    def _flush_text(self) -> None:
        if self._pending_text is None:
            return
        kind, turn_id, text = self._pending_text
        self._pending_text = None
        if kind == "delta":
            self.assistantDelta.emit(turn_id, text)
        else:
            self.partialTranscript.emit(turn_id, text)

    def _engine_event(self, ev: object) -> None:
        if isinstance(ev, Level):
            self._pending_level = max(ev.rms, self._pending_level or 0.0)
            return
        if isinstance(ev, AssistantDelta):
            if self._pending_text and self._pending_text[:2] != ("delta", ev.turn_id):
                self._flush_text()
            self._pending_text = ("delta", ev.turn_id, ev.text)
            return
        if isinstance(ev, PartialTranscript):
            if self._pending_text and self._pending_text[:2] != ("partial", ev.turn_id):
                self._flush_text()
            self._pending_text = ("partial", ev.turn_id, ev.text)
            return
        self._flush_text()  # keep order: streamed text comes before what follows it
        if isinstance(ev, StateChanged):
            self.stateChanged.emit(ev.state)
        elif isinstance(ev, UserSpeechStarted):
            self.speechStarted.emit(ev.turn_id)
        elif isinstance(ev, UserTurn):
            self.userTurn.emit(ev)
        elif isinstance(ev, TurnContinued):
            self.turnContinued.emit(ev.turn_id)
        elif isinstance(ev, AssistantTurn):
            self.assistantTurn.emit(ev)
        elif isinstance(ev, TurnDone):
            self.turnDone.emit(ev.turn_id, ev.metrics)
        elif isinstance(ev, Interrupted):
            self.interrupted.emit(ev.turn_id, ev.reason)
        elif isinstance(ev, EngineError):
            self.engineError.emit(ev.where, ev.message)
        elif isinstance(ev, Notice):
            self.notice.emit(ev.message)
        elif isinstance(ev, AlarmsChanged):
            self.alarmsChanged.emit(ev.alarms)
        elif isinstance(ev, AlarmFired):
            self.alarmFired.emit(ev)
        else:
            log.debug("unhandled engine event %r", ev)
