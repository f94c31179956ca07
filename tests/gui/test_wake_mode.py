"""Wake word mode in the window (fake engines, the real orchestrator): the state says it waits for
the wake word, speech nobody called leaves no trace, a call is answered, the hint names the loaded
wake word, and the settings tab reads and writes the wake settings."""

from __future__ import annotations

import numpy as np

from app.config import Settings
from app.engine import Engine
from app.models import load_catalog
from tests.fakes import LoudWake, make_orchestrator, silence, speech
from tests.gui.conftest import fake_settings, feed
from tests.gui.test_window import bubble_texts


def _wake_build(settings: Settings) -> Engine:
    orch = make_orchestrator(settings=settings, wake=LoudWake)
    return Engine(orch, orch.playback, {})


def test_waiting_for_the_wake_word_then_answering(qtbot, make_window):
    window = make_window(mode="wake", settings=fake_settings(mode="wake"), build=_wake_build)
    qtbot.waitUntil(lambda: window.state.state == "waiting", timeout=5000)
    assert window.state.text().endswith("Waiting for the wake word")
    assert window.mode_buttons["wake"].isChecked()
    assert "Hey Jarvis" in window.mode_hint.text()
    vad = window.engine.orchestrator.vad_worker
    uncalled = np.concatenate([silence(0.2), speech(0.8), silence(1.0)])  # nobody called
    feed(window, uncalled)
    qtbot.waitUntil(lambda: vad.frames_done >= len(uncalled) // 512, timeout=5000)  # all of it was heard
    assert window.conversation.bubbles() == [] and window.state.state == "waiting"
    with qtbot.waitSignal(window.turnFinished, timeout=10_000):
        feed(window, np.concatenate([speech(0.4, amp=0.9), speech(0.8), silence(1.2)]))
    assert bubble_texts(window, "user") == ["what is the capital of france?"]


def test_the_wake_tab_shows_and_returns_the_wake_settings(qtbot):
    from app.ui.wake_settings import WakeSettingsTab

    tab = WakeSettingsTab(
        Settings(wake_model="alexa", wake_threshold=0.8, wake_name="Hearken"), load_catalog()
    )
    qtbot.addWidget(tab)
    labels = [tab.model.itemText(i) for i in range(tab.model.count())]
    assert any("Alexa" in t and "default" in t for t in labels) and "\u201cHey Jarvis\u201d" in labels
    assert tab.values() == {
        "wake_model": "alexa",
        "wake_threshold": 0.8,
        "wake_followup_s": 5.0,
        "wake_name": "Hearken",
        "stop_words": "",
    }
    tab.threshold.setValue(tab.threshold.minimum())
    tab.model.setCurrentIndex(0)
    assert tab.threshold.text() == "Measured default"
    assert tab.values()["wake_threshold"] is None and tab.values()["wake_model"] is None


def test_saving_the_settings_unchanged_reloads_nothing(qtbot, make_window):
    from app.ui import prefs
    from app.ui.settings_dialog import SettingsDialog

    window = make_window(mode="wake", settings=fake_settings(mode="wake"), build=_wake_build)
    dialog = SettingsDialog(window.host.settings, window.ui_prefs, window)
    qtbot.addWidget(dialog)
    assert prefs.diff(window.host.settings, dialog.values()) == {}
    dialog.wake.name.setText("Hearken")
    dialog.wake.followup.setValue(8)
    assert prefs.diff(window.host.settings, dialog.values()) == {
        "wake_name": "Hearken",
        "wake_followup_s": 8.0,
    }
