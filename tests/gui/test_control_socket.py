"""``hearken talk`` and a second ``hearken`` against the running window's control socket, for real:
the .venv's ``hearken`` as a subprocess, the window's QLocalServer on the GUI thread."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.ui import control
from app.ui.control_server import ControlServer
from tests.fakes import speech
from tests.gui.conftest import feed

pytestmark = pytest.mark.gui

HEARKEN = Path(sys.executable).with_name("hearken")
# the offscreen platform has no window stack to raise a window in: the test platform talking
NO_RAISE = pytest.mark.qt_log_ignore(r"This plugin does not support raise\(\)")


@pytest.fixture(autouse=True)
def _runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private runtime dir (socket paths are limited to 108 bytes)."""
    with tempfile.TemporaryDirectory(prefix="hk-run-") as run:
        monkeypatch.setenv("XDG_RUNTIME_DIR", run)
        yield Path(run)


def start(*args: str) -> subprocess.Popen:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen(
        [str(HEARKEN), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(qtbot, proc: subprocess.Popen, timeout_ms: int = 30_000) -> tuple[int, str, str]:
    """Wait for the child while the GUI thread keeps serving the socket."""
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=timeout_ms)
    out, err = proc.communicate()
    return proc.returncode, out, err


@pytest.fixture
def served(make_window):
    window = make_window(mode="ptt")
    path = control.socket_path()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # a crashed run's socket file: it must not block this start
    stale.close()
    lock = control.claim()
    assert lock is not None
    server = ControlServer(window, lock)
    assert server.listen()
    assert path.stat().st_mode & 0o777 == 0o600
    yield window, server
    server.close()


def test_hearken_talk_presses_releases_and_toggles(qtbot, served):
    window, _server = served
    assert HEARKEN.exists(), f"{HEARKEN} is the venv's entry point"
    code, out, err = finish(qtbot, start("talk", "--press"))
    assert (code, out.strip()) == (0, "push-to-talk down"), err
    assert window.talk.ptt_down
    qtbot.waitUntil(lambda: window.state.state == "hearing", timeout=5000)
    feed(window, speech(0.6))
    proc = start("talk", "--release")
    with qtbot.waitSignal(window.turnFinished, timeout=15_000) as done:
        code, out, err = finish(qtbot, proc)
    assert (code, out.strip()) == (0, "push-to-talk up"), err
    assert done.args[0]["user_text"] == "what is the capital of france?"

    code, out, _ = finish(qtbot, start("talk", "--toggle"))
    assert (code, out.strip(), window.talk.ptt_down) == (0, "push-to-talk down", True)
    code, out, _ = finish(qtbot, start("talk", "--toggle"))
    assert (code, out.strip(), window.talk.ptt_down) == (0, "push-to-talk up", False)


def test_hearken_talk_while_muted_says_so(qtbot, served):
    window, _server = served
    window.set_mode("muted")
    code, _out, err = finish(qtbot, start("talk", "--press"))
    assert code == 1 and err == "hearken: Hearken is muted\n"
    assert not window.talk.ptt_down


def test_hearken_talk_without_hearken_is_one_clear_line():
    out = subprocess.run([str(HEARKEN), "talk", "--toggle"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert out.stderr == "hearken: Hearken is not running (start it with: hearken)\n"
    assert out.stdout == ""


def test_the_talk_command_imports_no_qt():
    code = "import sys; from app.cli import run; run(['talk', '--press']); print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False", out.stderr


@NO_RAISE
def test_a_second_start_brings_the_first_window_forward(qtbot, served):
    window, server = served
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized, timeout=3000)
    with qtbot.waitSignal(server.activated, timeout=30_000) as activated:
        code, _out, err = finish(qtbot, start("gui"))
    assert code == 0, err
    assert err.strip().splitlines()[-1] == "hearken: already running; its window was brought forward"
    assert activated.args == [["gui"]]
    assert not window.isMinimized() and window.isVisible()


@NO_RAISE
def test_a_second_plain_hearken_forwards_too(qtbot, served):
    _window, server = served
    with qtbot.waitSignal(server.activated, timeout=30_000) as activated:
        code, _out, err = finish(qtbot, start())
    assert code == 0, err
    assert activated.args == [[]]
