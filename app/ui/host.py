"""The engine's life cycle off the GUI thread: build, start, wait until ready, stop, restart.

No Qt here.  ``EngineHost`` runs everything slow on plain threads and reports
progress as plain events on ``events`` (a ``SimpleQueue``), which the Qt bridge
drains together with the orchestrator's ``ui_queue``.  Calls into the
orchestrator from the window go through one ordered command thread, so the GUI
thread never waits on an engine lock or a full queue.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.config import Settings
from app.filemode import VirtualAudio
from app.live import LiveAudioLink
from app.session import ROLE_LABELS, AudioLink, AudioStatus, EngineStartError, Session

__all__ = [
    "ROLE_LABELS",
    "AudioStatus",
    "EngineBuilt",
    "EngineHost",
    "EngineReady",
    "EngineStopped",
    "LiveAudioLink",
    "LoadFailed",
    "LoadProgress",
    "MicFileFinished",
    "VirtualAudio",
]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- events for the bridge


@dataclass(frozen=True)
class LoadProgress:
    text: str
    done: int
    total: int
    epoch: int


@dataclass(frozen=True)
class EngineBuilt:
    """Models are resolved and the engine is wired; they now load on their worker threads."""

    engine: Any  # app.engine.Engine
    epoch: int


@dataclass(frozen=True)
class EngineReady:
    seconds: float  # from the start of loading to every model warm
    epoch: int


@dataclass(frozen=True)
class LoadFailed:
    kind: str  # "model" | "input" | "native" | "runtime"
    message: str  # one clear line
    epoch: int


@dataclass(frozen=True)
class EngineStopped:
    epoch: int


@dataclass(frozen=True)
class MicFileFinished:
    path: str


# ---------------------------------------------------------------- the host


def _default_build(settings: Settings) -> Any:
    from app.engine import build_engine

    return build_engine(settings)


def _default_preflight(models: dict[str, Any], settings: Settings) -> Any:
    from app.preflight import ensure_preflight

    return ensure_preflight(models, settings)


def _default_calibration(models: dict[str, Any], settings: Settings) -> Any:
    from app.calibration import status

    return status(models, settings)


class EngineHost:
    """Builds and runs one engine at a time on background threads; never blocks its caller."""

    def __init__(
        self,
        settings: Settings,
        *,
        build: Callable[[Settings], Any] = _default_build,
        audio_factory: Callable[[], AudioLink] | None = None,
        ready_timeout_s: float = 600.0,
        preflight: Callable[[dict[str, Any], Settings], Any] | None = None,
        calibration: Callable[[dict[str, Any], Settings], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.build = build
        # The native engines' child-process check (first start, after an update); real engines only.
        self.preflight = preflight if preflight is not None else _default_preflight
        self.first_run_note = ""  # the first-start verdict, shown by the window once ready
        # Whether this machine is calibrated for the engine's models (app.calibration.Status), asked
        # on the loader thread; the window starts ``hearken calibrate`` in the background when due.
        self.calibration_check = calibration if calibration is not None else _default_calibration
        self.calibration: Any = None
        self.audio_factory = audio_factory or (lambda: VirtualAudio())
        self.ready_timeout_s = ready_timeout_s
        self.events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.engine: Any = None
        self.audio: AudioLink | None = None
        self.session: Session | None = None
        self.epoch = 0
        self.state = "idle"  # idle, loading, ready, failed, stopping, stopped
        self.load_started: float | None = None
        self.ready_seconds: float | None = None
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._loader: threading.Thread | None = None
        self._life: threading.Thread | None = None
        self._commands: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._command_thread = threading.Thread(target=self._run_commands, name="ui-commands", daemon=True)
        self._command_thread.start()

    # ---------------- life cycle ----------------
    def start(self) -> None:
        """Load the models in the background (progress and result arrive on ``events``)."""
        with self._lock:
            if self.state in ("loading", "ready"):
                return
            self.epoch += 1
            self.state = "loading"
            self._cancel = threading.Event()
            epoch, cancel, settings = self.epoch, self._cancel, self.settings
            self._loader = threading.Thread(
                target=self._load, args=(epoch, cancel, settings), name="engine-loader", daemon=True
            )
            self._loader.start()

    def stop(self) -> None:
        """Stop the engine in the background; ``EngineStopped`` follows."""
        self._sequence(restart_with=None)

    def restart(self, settings: Settings) -> None:
        """Stop the running engine and load a new one with ``settings`` (for model changes)."""
        self._sequence(restart_with=settings)

    def _sequence(self, restart_with: Settings | None) -> None:
        with self._lock:
            previous = self._life
            self.state = "stopping"
            self._cancel.set()
            loader = self._loader
            engine, audio, epoch = self.engine, self.audio, self.epoch

            def run() -> None:
                if previous is not None:
                    previous.join()
                if loader is not None:
                    loader.join()
                self._shutdown(engine if engine is not None else self.engine, audio or self.audio, epoch)
                if restart_with is not None:
                    with self._lock:
                        self.settings = restart_with
                        self.state = "idle"
                    self.start()

            self._life = threading.Thread(target=run, name="engine-stopper", daemon=True)
            self._life.start()

    def _shutdown(self, engine: Any, audio: AudioLink | None, epoch: int) -> None:
        t0 = time.perf_counter()
        try:
            if engine is not None:
                Session(engine, audio).stop()
            elif audio is not None:
                audio.stop()
        except Exception:  # noqa: BLE001 - stopping must always finish
            log.exception("stopping the engine failed")
        with self._lock:
            self.engine = None
            self.audio = None
            self.session = None
            self.state = "stopped"
        log.info("engine stopped in %.0f ms", (time.perf_counter() - t0) * 1000)
        self.events.put(EngineStopped(epoch))

    def wait_stopped(self, timeout: float) -> bool:
        """For tests and shutdown paths off the GUI thread."""
        life = self._life
        if life is None:
            return True
        life.join(timeout)
        return not life.is_alive()

    def close(self) -> None:
        """End the command thread (after ``stop``)."""
        self._commands.put(None)

    def _load(self, epoch: int, cancel: threading.Event, settings: Settings) -> None:
        from app.audio.io import AudioFileError
        from app.models import ModelError
        from app.preflight import NativeCrashError

        t0 = time.perf_counter()
        self.load_started = t0
        self.events.put(LoadProgress("Checking models…", 0, 5, epoch))
        try:
            audio = self.audio_factory()
            load = getattr(audio, "load", None)
            if load is not None:
                load()
            engine = self.build(settings)
            models = getattr(engine, "models", None)
            if models and isinstance(models, dict):
                self.events.put(LoadProgress("Checking each engine on this computer…", 0, 5, epoch))
                checked = self.preflight(models, settings)
                if checked is not None and not getattr(checked, "cached", True):
                    self.first_run_note = (
                        f"First start on this computer ({checked.cpu}): every engine ran once in a "
                        f"separate process and passed ({checked.seconds:.1f} s)."
                    )
            self._check_calibration(models if isinstance(models, dict) else {}, settings)
        except NativeCrashError as exc:
            self._failed(epoch, "native", str(exc))
            return
        except ModelError as exc:
            self._failed(epoch, "model", str(exc))
            return
        except AudioFileError as exc:
            self._failed(epoch, "input", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown in the window, not as a traceback
            log.exception("building the engine failed")
            self._failed(epoch, "runtime", f"{type(exc).__name__}: {exc}")
            return
        session = Session(engine, audio)
        with self._lock:
            if cancel.is_set():
                return
            self.engine, self.audio, self.session = engine, audio, session
        self.events.put(EngineBuilt(engine, epoch))
        try:
            status = session.start()
            if status is not None:
                self.events.put(status)
        except Exception as exc:  # noqa: BLE001
            log.exception("starting the engine failed")
            self._failed(epoch, "runtime", f"{type(exc).__name__}: {exc}")
            return
        try:
            ready = session.wait_ready(
                max(1.0, t0 + self.ready_timeout_s - time.perf_counter()),
                progress=lambda p: self.events.put(LoadProgress(p.text, p.done, p.total, epoch)),
                cancel=cancel,
            )
        except EngineStartError as exc:
            self._failed(epoch, "model", str(exc))
            return
        if not ready:
            return
        seconds = time.perf_counter() - t0
        with self._lock:
            if cancel.is_set():
                return
            self.state = "ready"
            self.ready_seconds = seconds
        log.info("models ready in %.2f s", seconds)
        self.events.put(EngineReady(seconds, epoch))
        try:
            session.begin()
        except Exception as exc:  # noqa: BLE001
            log.exception("audio input failed to start")
            self.events.put(AudioStatus(f"microphone failed: {exc}", "", ok=False))

    def _check_calibration(self, models: dict[str, Any], settings: Settings) -> None:
        try:
            self.calibration = self.calibration_check(models, settings)
        except Exception:  # noqa: BLE001 - without it the defaults apply; never stop the load
            log.exception("reading the calibration failed")
            self.calibration = None

    def _failed(self, epoch: int, kind: str, message: str) -> None:
        with self._lock:
            if self.epoch == epoch:
                self.state = "failed"
        log.error("engine load failed (%s): %s", kind, message)
        self.events.put(LoadFailed(kind, message, epoch))

    # ---------------- commands (ordered, off the GUI thread) ----------------
    def _run_commands(self) -> None:
        while True:
            try:
                cmd = self._commands.get(timeout=0.5)
            except queue.Empty:
                continue
            if cmd is None:
                return
            try:
                cmd()
            except Exception:  # noqa: BLE001 - one failed command must not end the thread
                log.exception("engine command failed")

    def _orch_call(self, fn: Callable[[Any], None]) -> None:
        def run() -> None:
            engine = self.engine
            if engine is not None and self.state == "ready":
                fn(engine.orchestrator)

        self._commands.put(run)

    def push_to_talk(self, pressed: bool) -> None:
        self._orch_call(lambda o: o.push_to_talk(pressed))

    def set_mode(self, mode: str) -> None:
        self.settings.mode = mode
        self._orch_call(lambda o: o.set_mode(mode))

    def interrupt(self, reason: str = "user") -> None:
        self._orch_call(lambda o: o.interrupt(reason))

    def cancel_alarm(self, alarm_id: int | None) -> None:
        """Cancel one timer or reminder by its id; ``None`` cancels them all (``AlarmsChanged`` follows)."""
        self._orch_call(lambda o: o.cancel_alarm(alarm_id))

    def new_conversation(self, memory: list[tuple[str, str, bool]] | None = None) -> None:
        """Start fresh memory; ``memory`` (role, text, interrupted) seeds it to continue an old one."""

        def run(o: Any) -> None:
            o.restore_memory(memory or [])

        self._orch_call(run)

    def apply_live(self, changes: dict[str, Any]) -> None:
        """Settings that take effect without reloading a model (a device change reopens the audio)."""
        for key, value in changes.items():
            setattr(self.settings, key, value)
        self._orch_call(lambda o: o.apply_settings(changes))
        if {"input_device", "output_device", "echo_mode"} & changes.keys():
            self._commands.put(self._reopen_audio)

    def _reopen_audio(self) -> None:
        """Close the microphone and speaker and open the chosen ones; the engine and memory stay."""
        with self._lock:
            session = self.session
        if session is None or self.state != "ready":
            return
        try:
            audio = self.audio_factory()
            status = session.replace_link(audio)
        except Exception as exc:  # noqa: BLE001 - shown in the window, not as a traceback
            log.exception("reopening the audio devices failed")
            self.events.put(AudioStatus("", "", ok=False, problem=f"The devices could not be opened: {exc}"))
            return
        with self._lock:
            self.audio = audio
        if status is not None:
            self.events.put(status)

    def run_in_background(self, fn: Callable[[], object], name: str = "ui-task") -> None:
        """Run ``fn`` on its own thread and put what it returns on ``events``."""

        def run() -> None:
            try:
                result = fn()
            except Exception:  # noqa: BLE001
                log.exception("%s failed", name)
                return
            if result is not None:
                self.events.put(result)

        threading.Thread(target=run, name=name, daemon=True).start()
