"""pytest-qt fixtures: an offscreen app, per-test user dirs, windows on fake or real engines."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import app.ui  # noqa: E402,F401 - applies the Qt binding work-arounds before any Qt call
from app.config import Settings  # noqa: E402
from app.engine import Engine  # noqa: E402
from app.filemode import VirtualAudio  # noqa: E402
from app.history import History  # noqa: E402
from app.ui.host import EngineHost  # noqa: E402
from app.ui.prefs import UiPrefs  # noqa: E402
from tests.fakes import ScriptedLlm, ToneTts, make_orchestrator  # noqa: E402


@pytest.fixture(autouse=True)
def _own_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, history and gui.ini per test; the model cache stays the shared real one."""
    home = tmp_path / "home"
    home.mkdir()
    session_home = os.environ.get("HEARKEN_HOME")
    if session_home and (Path(session_home) / "cache").exists():
        (home / "cache").symlink_to((Path(session_home) / "cache").resolve(), target_is_directory=True)
    monkeypatch.setenv("HEARKEN_HOME", str(home))
    return home


def fake_settings(**kw: object) -> Settings:
    base = {"end_of_turn_silence_ms": 300, "speculative_pause_ms": 150}
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


def fake_build(llm: Callable[[], ScriptedLlm] | None = None, tts: Callable[[], ToneTts] | None = None):
    """A host ``build`` that wires the real orchestrator to scripted engines."""

    def build(settings: Settings) -> Engine:
        orch = make_orchestrator(llm=llm() if llm else None, tts=tts() if tts else None, settings=settings)
        return Engine(orch, orch.playback, {})

    return build


def feed(window, audio: np.ndarray) -> None:
    """Put audio into the engine as a sound card would (32 ms blocks, as fast as it takes them)."""
    orch = window.engine.orchestrator
    for i in range(0, len(audio), 512):
        orch.feed_audio(audio[i : i + 512])


@pytest.fixture
def make_window(qtbot, tmp_path: Path) -> Iterator[Callable[..., object]]:
    from app.ui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(
        *,
        settings: Settings | None = None,
        build: Callable[[Settings], Engine] | None = None,
        mode: str = "always",
        history: History | None = None,
        start: bool = True,
        wait_ready: bool = True,
        preflight: Callable[..., object] | None = None,
        calibration: Callable[..., object] | None = None,
    ) -> MainWindow:
        host = EngineHost(
            settings or fake_settings(),
            build=build or fake_build(),
            audio_factory=lambda: VirtualAudio(input_label="audio fed by the test"),
            preflight=preflight,
            # never the real calibration (a child process on the real models) unless a test asks
            calibration=calibration or (lambda models, settings: None),
        )
        window = MainWindow(
            host,
            history=history if history is not None else History(tmp_path / "history.sqlite3"),
            ui_prefs=UiPrefs(mode=mode),
        )
        windows.append(window)
        window.show()
        if start:
            if wait_ready:
                with qtbot.waitSignal(window.bridge.ready, timeout=20_000):
                    window.start()
            else:
                window.start()
        return window

    yield make
    for w in windows:
        close_window(qtbot, w)


def close_window(qtbot, window) -> None:
    if getattr(window, "_finished", False):
        return
    with qtbot.waitSignal(window.closed, timeout=15_000):
        window.close()


# The offscreen platform plugin warns about a feature it lacks whenever a dialog sizes itself;
# that is the test platform talking, not the app.  Every other Qt warning still fails a test.
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))
