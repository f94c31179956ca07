"""Settings persist (config.toml + gui.ini) and apply; the history survives a restart of the window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tomllib
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from app.config import config_file, load_settings
from app.history import History
from app.ui import prefs
from app.ui.history_panel import export_conversation
from app.ui.settings_dialog import SettingsDialog
from tests.fakes import silence, speech
from tests.gui.conftest import close_window, feed

pytestmark = pytest.mark.gui


def test_settings_round_trip_through_persistence(qtbot, make_window):
    window = make_window()
    dialog = window.open_settings()
    dialog.system_prompt.setPlainText("You are a terse assistant.")
    dialog.speaking_rate.setValue(1.3)
    dialog.hotwords.setText("ComfyUI, Kubernetes")
    dialog.sensitivity.setValue(70)
    dialog.eot.setValue(900)
    dialog.patience.setValue(3500)
    dialog.ptt_key.setKeySequence(QKeySequence("F8"))
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()

    saved = tomllib.loads(config_file().read_text(encoding="utf-8"))
    assert saved == {
        "system_prompt": "You are a terse assistant.",
        "speaking_rate": 1.3,
        "hotwords": "ComfyUI, Kubernetes",
        "vad_threshold": 0.3,
        "end_of_turn_silence_ms": 900,
        "turn_patience_ms": 3500,
    }
    s = load_settings()  # what the command line and the next start read
    assert (s.system_prompt, s.speaking_rate, s.vad_threshold, s.end_of_turn_silence_ms) == (
        "You are a terse assistant.",
        1.3,
        0.3,
        900,
    )
    ui = prefs.load_ui_prefs()
    assert (ui.theme, ui.ptt_key) == ("dark", "F8")
    assert window.colors.dark
    # applied live, without reloading the models
    orch = window.engine.orchestrator
    qtbot.waitUntil(lambda: orch.settings.system_prompt == "You are a terse assistant.", timeout=3000)
    qtbot.waitUntil(lambda: orch.vad_worker.detector.p.end_of_turn_ms == 900, timeout=3000)
    assert orch.judge.p.patience_ms == 3500  # how patient it is with pauses, live too
    assert orch.vad_worker.detector.p.threshold == pytest.approx(0.3)
    assert "F8" in window.mode_hint.text()

    again = SettingsDialog(load_settings(), prefs.load_ui_prefs(), window)
    assert again.system_prompt.toPlainText() == "You are a terse assistant."
    assert again.speaking_rate.value() == pytest.approx(1.3)
    assert again.sensitivity.value() == 70 and again.eot.value() == 900 and again.patience.value() == 3500
    assert again.theme.currentData() == "dark"
    assert again.ptt_key.keySequence().toString() == "F8"
    again.deleteLater()
    window.apply_theme("light")


def test_back_to_default_removes_the_key(qtbot, make_window):
    prefs.save_engine_settings({"end_of_turn_silence_ms": 900, "hotwords": "x"})
    prefs.save_engine_settings({"end_of_turn_silence_ms": 700})  # the default
    assert tomllib.loads(config_file().read_text(encoding="utf-8")) == {"hotwords": "x"}


def test_a_bad_model_file_cannot_be_saved(qtbot, make_window, tmp_path: Path):
    window = make_window()
    dialog = window.open_settings()
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"this is not a model")
    picker = dialog.pickers["llm"]
    picker.choose("file", str(bad))
    qtbot.waitUntil(lambda: picker.status == "error", timeout=5000)
    assert "not a GGUF model file" in picker.note.text()
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    picker.choose("default", None)
    assert ok.isEnabled()
    dialog.reject()


def test_history_survives_a_restart_of_the_window(qtbot, make_window, tmp_path: Path):
    db = tmp_path / "kept.sqlite3"
    first = make_window(history=History(db))
    with qtbot.waitSignal(first.turnFinished, timeout=10_000):
        feed(first, np.concatenate([silence(0.2), speech(0.6), silence(1.0)]))
    assert first.history_panel.list.count() == 1
    close_window(qtbot, first)
    first.history.close()

    second = make_window(history=History(db))
    panel = second.history_panel
    assert panel.list.count() == 1
    assert "what is the capital of france?" in panel.list.item(0).text()
    panel.list.setCurrentRow(0)
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    texts = [(b.role, b.text.text()) for b in second.conversation.bubbles()]
    assert texts[0] == ("user", "what is the capital of france?")
    assert texts[1][0] == "assistant" and texts[1][1].startswith("Paris")
    # reopening continues the conversation: the engine remembers it and new turns go to it
    orch = second.engine.orchestrator
    qtbot.waitUntil(lambda: [e.role for e in orch.memory.snapshot()] == ["user", "assistant"], timeout=3000)
    with qtbot.waitSignal(second.turnFinished, timeout=10_000):
        feed(second, np.concatenate([silence(0.2), speech(0.6), silence(1.0)]))
    assert second.history.conversations()[0].turns == 2

    cid = panel.selected_id()
    md = export_conversation(second.history, cid, tmp_path / "c.md").read_text(encoding="utf-8")
    assert "**You:** what is the capital of france?" in md
    data = json.loads(
        export_conversation(second.history, cid, tmp_path / "c.json").read_text(encoding="utf-8")
    )
    assert len(data["turns"]) == 2
    panel.delete_selected(confirm=False)
    assert panel.list.count() == 0 and second.conversation.bubbles() == []
