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
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.config import Settings

log = logging.getLogger(__name__)

ROLE_LABELS = {
    "vad": "voice activity detector",
    "stt": "speech recognition",
    "llm": "language model",
    "tts": "voice",
}


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
class AudioStatus:
    """What the microphone and speaker are (or why there is none)."""

    input: str
    output: str
    ok: bool = True
    problem: str = ""  # one sentence when there is no usable microphone


@dataclass(frozen=True)
class MicFileFinished:
    path: str


# ---------------------------------------------------------------- audio links


class AudioLink(Protocol):
    """Connects an engine to a microphone and a speaker (real or virtual)."""

    def start(self, engine: Any) -> AudioStatus: ...  # engine built: open outputs
    def on_ready(self, engine: Any) -> None: ...  # models warm: start feeding input
    def stop(self) -> None: ...


class LiveAudioLink:
    """The sound card: microphone -> echo canceller -> engine, engine -> speaker (app.live.LiveAudio).

    With no usable audio the window still works (history, settings, typed files): the reply
    plays on a silent virtual speaker and the reason is shown.
    """

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.live: Any = None
        self._fallback: VirtualAudio | None = None

    def start(self, engine: Any) -> AudioStatus:
        from app.audio.devices import AudioUnavailable
        from app.live import LiveAudio, echo_params_from, make_backchannel_classifier

        try:
            live = LiveAudio(
                engine,
                input_wanted=self.settings.input_device,
                output_wanted=self.settings.output_device,
                echo=echo_params_from(self.settings),
                classify=make_backchannel_classifier(engine, self.settings),
            )
            live.start()
        except (AudioUnavailable, OSError) as exc:
            self._fallback = VirtualAudio(no_input_reason=str(exc))
            return self._fallback.start(engine)
        self.live = live
        mic, spk = live.input_device, live.output_device
        return AudioStatus(
            f"{mic.name} ({live.input_rate} Hz)" if mic else "microphone",
            f"{spk.name} ({live.output_rate} Hz), echo: {live.processor.mode}" if spk else "speaker",
        )

    def on_ready(self, engine: Any) -> None:
        """Capture starts with the streams; the engine ignores audio until its VAD is loaded."""

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
        if self._fallback is not None:
            self._fallback.stop()


class VirtualAudio:
    """A silent real-time speaker, plus an optional virtual microphone that plays a file once."""

    def __init__(
        self,
        mic_file: Path | None = None,
        *,
        on_finished: Callable[[str], None] | None = None,
        no_input_reason: str = "",
        input_label: str = "",
    ) -> None:
        self.mic_file = mic_file
        self.no_input_reason = no_input_reason
        self.input_label = input_label  # audio fed by someone else (tests, an embedding app)
        self.on_finished = on_finished
        self._audio: np.ndarray | None = None
        self._speaker: Any = None
        self._feeder: Any = None
        self._thread: threading.Thread | None = None

    def load(self) -> None:
        """Decode the microphone file (raises ``AudioFileError`` with one clear line)."""
        if self.mic_file is not None and self._audio is None:
            from app.audio.io import load_speech

            self._audio = load_speech(self.mic_file)

    def start(self, engine: Any) -> AudioStatus:
        from app.audio.playback import VirtualSpeaker

        self.load()
        self._speaker = VirtualSpeaker(engine.playback, realtime=True)
        self._speaker.start()
        out = "silent virtual speaker (real-time)"
        if self.mic_file is not None:
            return AudioStatus(f"virtual microphone playing {self.mic_file.name}", out)
        if self.input_label:
            return AudioStatus(self.input_label, out)
        return AudioStatus("no microphone", out, ok=False, problem=self.no_input_reason or "No microphone.")

    def on_ready(self, engine: Any) -> None:
        if self._audio is None:
            return
        from app.filemode import FeedPlan, FileFeeder

        self._feeder = FileFeeder(engine, FeedPlan([self._audio], realtime=True))

        def run() -> None:
            try:
                self._feeder.run()
            except Exception:  # noqa: BLE001 - reported in the log; the window stays usable
                log.exception("virtual microphone failed")
            if self.on_finished is not None and self.mic_file is not None:
                self.on_finished(str(self.mic_file))

        self._thread = threading.Thread(target=run, name="virtual-mic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._feeder is not None:
            self._feeder.stop()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._speaker is not None:
            self._speaker.stop()


# ---------------------------------------------------------------- the host


def _default_build(settings: Settings) -> Any:
    from app.engine import build_engine

    return build_engine(settings)


def _default_preflight(models: dict[str, Any], settings: Settings) -> Any:
    from app.preflight import ensure_preflight

    return ensure_preflight(models, settings)


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
    ) -> None:
        self.settings = settings
        self.build = build
        # The native engines' child-process check (first start, after an update); real engines only.
        self.preflight = preflight if preflight is not None else _default_preflight
        self.first_run_note = ""  # the first-start verdict, shown by the window once ready
        self.audio_factory = audio_factory or (lambda: VirtualAudio())
        self.ready_timeout_s = ready_timeout_s
        self.events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.engine: Any = None
        self.audio: AudioLink | None = None
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
            if audio is not None:
                audio.stop()
            if engine is not None:
                engine.orchestrator.stop()
        except Exception:  # noqa: BLE001 - stopping must always finish
            log.exception("stopping the engine failed")
        with self._lock:
            self.engine = None
            self.audio = None
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
        with self._lock:
            if cancel.is_set():
                return
            self.engine, self.audio = engine, audio
        self.events.put(EngineBuilt(engine, epoch))
        orch = engine.orchestrator
        try:
            orch.start()
            self.events.put(audio.start(engine))
        except Exception as exc:  # noqa: BLE001
            log.exception("starting the engine failed")
            self._failed(epoch, "runtime", f"{type(exc).__name__}: {exc}")
            return
        workers = list(getattr(orch, "workers", []))
        total = len(workers) + 1
        reported = -1
        deadline = t0 + self.ready_timeout_s
        while not orch.wait_ready(0.05):
            if cancel.is_set():
                return
            dead = [w for w in workers if not w.ready.is_set() and not w._thread.is_alive()]
            if dead or getattr(orch, "state", "") == "error":
                names = ", ".join(ROLE_LABELS.get(w.name, w.name) for w in dead) or "a model"
                errors = "; ".join(getattr(orch, "errors", [])) or "it stopped while loading"
                self._failed(epoch, "model", f"The {names} could not be loaded: {errors}")
                return
            if time.perf_counter() > deadline:
                self._failed(epoch, "model", f"The models did not load within {self.ready_timeout_s:.0f} s")
                return
            done = sum(1 for w in workers if w.ready.is_set())
            if done != reported:
                reported = done
                waiting = [ROLE_LABELS.get(w.name, w.name) for w in workers if not w.ready.is_set()]
                text = "Loading " + ", ".join(waiting) + "…" if waiting else "Warming up…"
                self.events.put(LoadProgress(text, done + 1, total, epoch))
        seconds = time.perf_counter() - t0
        with self._lock:
            if cancel.is_set():
                return
            self.state = "ready"
            self.ready_seconds = seconds
        log.info("models ready in %.2f s", seconds)
        self.events.put(EngineReady(seconds, epoch))
        try:
            audio.on_ready(engine)
        except Exception as exc:  # noqa: BLE001
            log.exception("audio input failed to start")
            self.events.put(AudioStatus(f"microphone failed: {exc}", "", ok=False))

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
            engine, old = self.engine, self.audio
        if engine is None or old is None or self.state != "ready":
            return
        try:
            old.stop()
            audio = self.audio_factory()
            status = audio.start(engine)
            audio.on_ready(engine)
        except Exception as exc:  # noqa: BLE001 - shown in the window, not as a traceback
            log.exception("reopening the audio devices failed")
            self.events.put(AudioStatus("", "", ok=False, problem=f"The devices could not be opened: {exc}"))
            return
        with self._lock:
            self.audio = audio
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
