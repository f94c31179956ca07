"""One way to run a session, for the command line and the window alike.

A ``Session`` is an engine (``app.engine.build_engine``) plus one ``AudioLink`` that connects it
to a microphone and a speaker: the sound card (``app.live.LiveAudioLink``), recordings played
as a virtual microphone (``app.filemode.FilesLink``, ``VirtualAudio``), or audio fed by a test.
Every user of the engine goes through the same steps:

    session = Session.build(settings)        # resolve and verify models; nothing runs yet
    status = session.start()                 # workers load their models; the link opens its outputs
    session.wait_ready(progress=..., cancel=...)   # raises EngineStartError with the reason
    session.begin()                          # models warm: the link starts feeding input
    ...                                      # talk
    session.stop()                           # link first, then the engine
    session.report()                         # the JSON report (models, turns, latencies, errors)
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.config import Settings
from app.engine import Engine, build_engine

log = logging.getLogger(__name__)

ROLE_LABELS = {
    "vad": "voice activity detector",
    "stt": "speech recognition",
    "llm": "language model",
    "tts": "voice",
    "turn": "end-of-turn model",
}


class EngineStartError(RuntimeError):
    """The engine could not load its models or reach its LLM server; the message says why."""


@dataclass(frozen=True)
class AudioStatus:
    """Where the session listens and speaks (shown by the window and the CLI)."""

    input: str
    output: str
    ok: bool = True
    problem: str = ""


class AudioLink(Protocol):
    """Connects an engine to a microphone and a speaker (real or virtual)."""

    def start(self, engine: Engine) -> AudioStatus | None:
        """The engine is built and its workers are loading: open the outputs."""

    def on_ready(self, engine: Engine) -> None:
        """The models are warm: start feeding input."""

    def stop(self) -> None:
        """Close everything the link opened (idempotent)."""


@dataclass(frozen=True)
class Progress:
    """Loading progress: ``done`` of ``total`` steps, ``text`` says what is being waited for."""

    text: str
    done: int
    total: int


class Session:
    """An engine and its audio link, started, run and stopped the same way everywhere."""

    def __init__(self, engine: Engine, link: AudioLink | None = None) -> None:
        self.engine = engine
        self.link = link
        self.orchestrator = engine.orchestrator
        self._started = False
        self._stopped = threading.Event()

    @classmethod
    def build(
        cls, settings: Settings, link: AudioLink | None = None, *, output_rate: int | None = None, record: bool = False
    ) -> Session:
        """Resolve the models (``ModelError`` says what to do) and wire the engine; nothing starts."""
        return cls(build_engine(settings, output_rate=output_rate, record=record), link)

    # ---------------- life cycle ----------------
    def start(self) -> AudioStatus | None:
        """Start the workers (models load on their own threads) and open the link's outputs."""
        self._started = True
        self.orchestrator.start()
        return self.link.start(self.engine) if self.link is not None else None

    def wait_ready(
        self,
        timeout: float = 300.0,
        *,
        progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> bool:
        """Block until every model is loaded and warm (not on the GUI thread).

        Returns False if ``cancel`` was set; raises ``EngineStartError`` naming the models that
        failed, or the timeout.
        """
        orch = self.orchestrator
        workers = list(orch.workers)
        deadline = time.perf_counter() + timeout
        reported = -1
        while not orch.wait_ready(0.05):
            if cancel is not None and cancel.is_set():
                return False
            dead = [w for w in workers if not w.ready.is_set() and not w.alive]
            if dead or orch.state == "error" or orch.load_failed:
                names = ", ".join(ROLE_LABELS.get(w.name, w.name) for w in dead) or "a model"
                errors = "; ".join(orch.errors) or "it stopped while loading"
                raise EngineStartError(f"The {names} could not be loaded: {errors}")
            if time.perf_counter() > deadline:
                raise EngineStartError(f"The models did not load within {timeout:.0f} s")
            done = sum(1 for w in workers if w.ready.is_set())
            if progress is not None and done != reported:
                reported = done
                waiting = [ROLE_LABELS.get(w.name, w.name) for w in workers if not w.ready.is_set()]
                text = "Loading " + ", ".join(waiting) + "…" if waiting else "Warming up…"
                progress(Progress(text, done + 1, len(workers) + 1))
        return not (cancel is not None and cancel.is_set())

    def begin(self) -> None:
        """The models are warm: the link starts feeding input."""
        if self.link is not None:
            self.link.on_ready(self.engine)

    def open(self, timeout: float = 300.0) -> AudioStatus | None:
        """``start``, ``wait_ready`` and ``begin`` in one call (the command line's way)."""
        status = self.start()
        self.wait_ready(timeout)
        self.begin()
        return status

    def replace_link(self, link: AudioLink) -> AudioStatus | None:
        """Close the link and attach ``link`` to the running engine (new devices; memory stays)."""
        if self.link is not None:
            self.link.stop()
        self.link = link
        status = link.start(self.engine)
        link.on_ready(self.engine)
        return status

    def stop(self) -> None:
        """Close the link, then stop the engine; safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        try:
            if self.link is not None:
                self.link.stop()
        finally:
            if self._started or self.orchestrator.started:
                self.orchestrator.stop()

    # ---------------- the report ----------------
    def report(self, sources: list[str] | None = None) -> dict[str, Any]:
        return build_report(self.engine, sources)


def build_report(engine: Engine, sources: list[str] | None = None) -> dict[str, Any]:
    """The session's JSON report: models, inputs, cold start, dropped audio, errors and every turn."""
    orch = engine.orchestrator
    turns = sorted(orch.finished, key=lambda t: t["turn_id"])
    return {
        "models": engine.models_report(),
        "inputs": sources or [],
        "cold_start_s": round(orch.cold_start_s, 3) if orch.cold_start_s else None,
        "dropped_input_blocks": orch.input_q.dropped,
        "errors": orch.errors,
        "turns": turns,
    }


def write_report(report: dict[str, Any], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return path
