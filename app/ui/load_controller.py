"""The engine's life on screen: start, retry and reload the models, and show how it goes.

Progress in the status line, the models' names as they load, Ready (and the first start's verdict),
a banner for a load failure, a stage's error or a missing microphone, the engine's notices, and the
sound devices found in the background.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from app.config import Settings
from app.ui.banner import load_failure
from app.ui.bridge import EngineBridge
from app.ui.device_list import DeviceList, list_devices
from app.ui.engine_status import EngineStatus
from app.ui.host import ROLE_LABELS, AudioStatus, EngineHost
from app.ui.status_line import StatusLine
from app.ui.talk_controller import TalkController
from app.ui.window_body import WindowBody

FIRST_RUN_NOTE_MS = 15_000  # how long the first start's verdict stays in the status line


class LoadController(QObject):
    """Writes the shared ``engine_status``; ``settings`` are those the engine was last given."""

    def __init__(
        self,
        *,
        host: EngineHost,
        bridge: EngineBridge,
        engine_status: EngineStatus,
        body: WindowBody,
        status_line: StatusLine,
        talk: TalkController,
        lock_mode: str | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.settings: Settings = host.settings
        self.engine_status = engine_status
        self.body = body
        self.status_line = status_line
        self.talk = talk
        self.lock_mode = lock_mode
        self.first_run_note_shown = False  # the last load showed the first start's verdict
        bridge.loadProgress.connect(self._on_progress)
        bridge.engineBuilt.connect(self._on_engine_built)
        bridge.ready.connect(self._on_ready)
        bridge.loadFailed.connect(self._on_load_failed)
        bridge.audioStatus.connect(self._on_audio_status)
        bridge.engineError.connect(self._on_engine_error)
        bridge.notice.connect(self._on_notice)
        bridge.other.connect(self._on_other)
        body.banner.retry_button.clicked.connect(self.retry)

    # ---------------- what the window asks for ----------------
    def start(self) -> None:
        """Show the models loading and start them in the background."""
        self._show_loading()
        self.host.start()
        self.host.run_in_background(list_devices, name="list-devices")

    def retry(self) -> None:
        self.body.banner.hide()
        self.engine_status.load_error = None
        self.host.restart(self.host.settings)
        self._show_loading()

    def reload(self, settings: Settings) -> None:
        """Load the models again with new settings (a model or what it is built with changed)."""
        self._show_loading()
        self.talk.show_ready(False)
        self.host.restart(settings)
        self.settings = settings
        self.status_line.show("Reloading the models…")

    def _show_loading(self) -> None:
        self.engine_status.state = "loading"
        self.body.header.state.set_state("loading")
        self.status_line.loading()

    # ---------------- what the engine reports ----------------
    def _on_progress(self, text: str, done: int, total: int) -> None:
        self.status_line.set_progress(done, total)
        self.status_line.show(text)

    def _on_engine_built(self, engine: Any) -> None:
        self.engine_status.engine = engine
        self.engine_status.engine_mode = engine.orchestrator.settings.mode  # the mode its workers start in
        self.body.details.models.show_loading(engine)

    def _on_ready(self, seconds: float) -> None:
        st = self.engine_status
        st.ready_seconds = seconds
        st.state = "ready"
        self.status_line.hide_progress()
        self.status_line.show(f"Ready · models loaded in {seconds:.1f} s")
        note = getattr(self.host, "first_run_note", "")
        self.first_run_note_shown = bool(note)
        if note:  # the first start's verdict: every native engine ran once in a child process
            self.host.first_run_note = ""
            self.status_line.show(f"{note} Ready in {seconds:.1f} s.", FIRST_RUN_NOTE_MS)
        self.body.details.models.show_ready(st.engine)
        self.talk.show_ready(True)
        mode = self.talk.mode
        if mode != (st.engine_mode if st.engine_mode is not None else mode):
            self.host.set_mode(mode)  # it changed while the models were loading
        if self.body.header.state.state == "loading":
            self.talk.on_state("listening")

    def _on_load_failed(self, kind: str, message: str) -> None:
        self.engine_status.state = "failed"
        self.engine_status.load_error = (kind, message)
        self.status_line.hide_progress()
        self.body.header.state.set_state("error")
        self.talk.show_ready(False)
        title, todo = load_failure(kind)
        self.body.banner.show_problem(title, f"{message}\n\n{todo}", retry=True, settings=kind == "model")
        self.status_line.show(title)
        self.body.details.models.show_not_loaded()

    def _on_audio_status(self, st: AudioStatus) -> None:
        self.body.details.audio.show_route(st)
        if not st.ok and not self.lock_mode:
            self.body.banner.show_problem(
                "No microphone", st.problem or "No microphone is connected.", retry=False
            )

    def _on_notice(self, message: str) -> None:
        if message.startswith("mode: "):
            return  # the mode buttons already show it
        self.status_line.show(message[:1].upper() + message[1:], 5000)

    def _on_other(self, ev: object) -> None:
        if isinstance(ev, DeviceList):
            self.body.details.audio.fill(ev, self.settings)

    def _on_engine_error(self, where: str, message: str) -> None:
        if not self.engine_status.ready:
            return  # a load failure gets its own banner
        stage = ROLE_LABELS.get(where, where)
        self.body.banner.show_problem(
            f"The {stage} had a problem",
            f"{message}\n\nThe assistant carries on; if it keeps happening, try another model in Settings.",
            retry=False,
        )
