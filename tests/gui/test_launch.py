"""``hearken gui`` start-up: no display gives one sentence and exit code 4, not a Qt abort."""

from __future__ import annotations

import argparse

import pytest

from app.ui import launch

pytestmark = pytest.mark.gui


def test_no_display_is_one_clear_sentence():
    problem = launch.display_problem(env={}, platform="linux")
    assert problem and problem.startswith("hearken: there is no display")
    assert problem.count("\n") == 0
    assert launch.display_problem(env={"QT_QPA_PLATFORM": "offscreen"}, platform="linux") is None
    assert launch.display_problem(env={"WAYLAND_DISPLAY": "wayland-0"}, platform="linux") is None
    assert launch.display_problem(env={}, platform="win32") is None
    assert "DISPLAY is not set" in launch.display_problem(env={"QT_QPA_PLATFORM": "xcb"}, platform="linux")


def test_run_gui_without_display_returns_6(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(launch.sys, "platform", "linux")
    code = launch.run_gui(argparse.Namespace(mic_file=None, quit_after_turns=None, screenshot=None))
    assert code == 6  # EXIT_DISPLAY: not 4, which means "no usable audio device"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no display" in err


def test_unusable_mic_file_fails_with_the_input_code(qtbot, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    args = argparse.Namespace(
        mic_file=empty, quit_after_turns=1, screenshot=tmp_path / "shot.png", config=None
    )
    run = launch.create(args)
    window = run.window
    window.show()
    with qtbot.waitSignal(window.closed, timeout=20_000):
        window.start()
    assert run.exit_code == launch.EXIT_INPUT
    assert "cannot be used" in window.banner_title.text()
    assert "empty" in window.banner_text.text()
    assert (tmp_path / "shot.png").stat().st_size > 0  # the picture shows the message
