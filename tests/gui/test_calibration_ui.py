"""Calibration from the window: on a first start it runs in a child process in the background, its
progress shows in the status line, a new choice reloads the models while nothing was said yet, a
failed child only says so; the settings dialog's "Calibrate now" runs the same.  The child here is a
stand-in script (the real one is tests/integration/test_calibrate_real.py)."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from PySide6.QtCore import Qt

from app.calibration import LlmThreads, Status

pytestmark = pytest.mark.gui

ENTRY = {
    "measured_at": "2026-12-02T15:00:00+0000",
    "seconds": 1.5,
    "llm": {"threads": [{"threads": 2, "decode_tps": 24.0, "decode_tps_busy": 20.0}]},
    "choice": {"llm_threads": 2, "llm_batch_threads": 2, "why": "made up"},
    "in_use": {"threads": 2, "batch_threads": 2, "source": "calibrated on this computer"},
}


def child(*steps: str, entry: dict | None = ENTRY, code: int = 0) -> list[str]:
    """A stand-in for ``hearken calibrate --json``: progress on stderr, the entry on stdout."""
    script = textwrap.dedent(
        f"""
        import sys
        steps = {list(steps)!r}
        for i, text in enumerate(steps):
            sys.stderr.write(f"calibrate: [{{i}}/{{len(steps)}}] {{text}}\\n")
            sys.stderr.flush()
        if {code}:
            sys.stderr.write("Traceback (most recent call last):\\nRuntimeError: boom\\n")
        out = {json.dumps(entry) if entry is not None else ""!r}
        if out:
            print(out)
        sys.exit({code})
        """
    )
    return [sys.executable, "-c", script]


def due(threads: tuple[int, int] = (1, 2)):
    def check(models, settings):
        return Status(True, None, LlmThreads(*threads, "default (not calibrated)"))

    return check


def window_with(make_window, command: list[str], check=None):
    window = make_window(start=False)
    window.host.calibration_check = check or due()
    window.calibration.command = lambda settings: command
    return window


def test_a_first_start_measures_in_the_background_and_reloads_with_the_new_threads(qtbot, make_window):
    window = window_with(make_window, child("loading the language model", "language model on 2 threads"))
    seen: list[tuple[int, int, str, bool, bool]] = []
    window.calibration.progress.connect(
        lambda d, t, s: seen.append((d, t, s, window.engine_status.ready, window.talk_button.isEnabled()))
    )
    with qtbot.waitSignal(window.calibration.finished, timeout=20_000):
        window.start()
    # it started once the models were ready, and the window could be used meanwhile
    assert seen == [
        (0, 2, "loading the language model", True, True),
        (1, 2, "language model on 2 threads", True, True),
    ]
    # 2 + 2 threads instead of 1 + 2, nothing said yet: the models load again to use them
    assert "Reloading the models to use it" in window.status_text.text()
    assert "decodes on 2 threads (24.0 tokens/s, 20.0 beside a busy core)" in window.status_text.text()
    with qtbot.waitSignal(window.bridge.ready, timeout=10_000):
        pass
    assert not window.calibration.running


def test_progress_shows_in_the_status_line(qtbot, make_window):
    window = window_with(make_window, child("language model on 1 thread, beside a busy core"))
    texts: list[str] = []
    window.calibration.progress.connect(lambda *_: texts.append(window.status_text.text()))
    with qtbot.waitSignal(window.calibration.finished, timeout=20_000):
        window.start()
    assert texts == [
        "First start on this computer: measuring its speed to choose the language model's threads "
        "(language model on 1 thread, beside a busy core)…"
    ]


def test_the_same_choice_needs_no_reload(qtbot, make_window):
    window = window_with(make_window, child("x"), check=due((2, 2)))
    with qtbot.waitSignal(window.calibration.finished, timeout=20_000):
        window.start()
    assert window.status_text.text().startswith("Calibrated in 2 s.")
    assert "Reloading" not in window.status_text.text() and window.engine_status.ready


def test_a_calibrated_machine_is_not_measured_again(qtbot, make_window):
    window = window_with(make_window, child("x"), check=lambda m, s: Status(False, ENTRY, LlmThreads(2, 2, "c")))
    with qtbot.waitSignal(window.bridge.ready, timeout=10_000):
        window.start()
    assert not window._calibration_tried  # decided in the ready slot itself: nothing scheduled
    dialog = window.open_settings()
    assert dialog.calibration_note.text().startswith("Measured 2026-12-02")
    dialog.reject()


def test_a_window_on_a_virtual_microphone_does_not_measure(qtbot, make_window):
    window = window_with(make_window, child("x"))
    window.lock_mode = "always"  # what ``hearken gui --mic-file`` runs: an unattended turn
    with qtbot.waitSignal(window.bridge.ready, timeout=10_000):
        window.start()
    assert not window._calibration_tried and not window.calibration.running


def test_a_failed_calibration_says_why_and_the_window_goes_on(qtbot, make_window):
    window = window_with(make_window, child("loading the language model", entry=None, code=3))
    with qtbot.waitSignal(window.calibration.failed, timeout=20_000) as failed:
        window.start()
    assert failed.args == ["RuntimeError: boom"]
    assert "failed (RuntimeError: boom): the default threads stay" in window.status_text.text()
    assert window.engine_status.ready and window.talk_button.isEnabled()


def test_calibrate_now_in_the_settings(qtbot, make_window):
    window = window_with(make_window, child("language model on 2 threads"), check=due((2, 2)))
    window.host.calibration_check = lambda m, s: Status(False, None, LlmThreads(2, 2, "d"))
    with qtbot.waitSignal(window.bridge.ready, timeout=10_000):
        window.start()
    dialog = window.open_settings()
    assert dialog.calibration_note.text().startswith("Not measured on this computer yet")
    assert dialog.calibrate_button.isEnabled()
    with qtbot.waitSignal(window.calibration.finished, timeout=20_000):
        qtbot.mouseClick(dialog.calibrate_button, Qt.MouseButton.LeftButton)
        assert not dialog.calibrate_button.isEnabled()
    assert dialog.calibrate_button.isEnabled()
    assert dialog.calibration_note.text().startswith("Measured 2026-12-02: the language model decodes on 2")
    assert window.status_text.text().startswith("Calibrated in 2 s.")
    dialog.reject()
    again = window.open_settings()  # a new dialog shows the result too
    assert again.calibration_note.text() == dialog.calibration_note.text()
    again.reject()


def test_the_first_starts_preflight_verdict_is_read_before_measuring(qtbot, make_window):
    from pathlib import Path

    from app.models import ResolvedModel
    from app.preflight import EngineResult, PreflightReport
    from tests.gui.conftest import fake_build

    def build(settings):
        engine = fake_build()(settings)
        engine.models = {"llm": ResolvedModel("llm", "test-llm", Path("m.gguf"), 1, "MIT", "test", True)}
        return engine

    def passed(models, settings):
        return PreflightReport([EngineResult("llm", "ok", 0.5)], "Test CPU", 2.5, cached=False)

    window = make_window(build=build, preflight=passed, calibration=due(), start=False)
    window.calibration.command = lambda settings: child("x")
    with qtbot.waitSignal(window.bridge.ready, timeout=10_000):
        window.start()
    assert window._calibration_tried and not window.calibration.running  # it starts after the note
    assert window.status_text.text().startswith("First start on this computer (Test CPU)")


def test_a_broken_calibration_file_never_stops_the_models_loading(qtbot, make_window):
    def broken(models, settings):
        raise OSError("unreadable")

    window = window_with(make_window, child("x"), check=broken)
    with qtbot.waitSignal(window.bridge.ready, timeout=10_000):
        window.start()
    assert window.host.calibration is None and not window._calibration_tried
