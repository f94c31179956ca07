"""Files in, answers out: feeds recordings through the engine exactly as a microphone would.

``FileFeeder`` is the virtual microphone; ``FilesLink`` (a conversation from recordings, as
fast as real time or faster) and ``VirtualAudio`` (the window without a sound card: a silent
real-time speaker, and optionally one file played as the microphone) are the session's
``AudioLink``s for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.audio.io import write_wav
from app.engine import Engine
from app.messages import FRAME, SAMPLE_RATE
from app.session import AudioStatus, EngineStartError, Session, build_report, write_report

__all__ = ["EngineStartError", "FeedPlan", "FileFeeder", "FilesLink", "VirtualAudio", "build_report", "run_files"]

log = logging.getLogger(__name__)

BLOCK = FRAME  # feed 32 ms blocks, like a sound card callback would


@dataclass
class FeedPlan:
    audios: list[np.ndarray]
    realtime: bool = True
    overlap: float | None = None  # start the next file this long after the previous one ends
    lead_silence_s: float = 0.3
    max_wait_s: float = 90.0


class FileFeeder:
    """A virtual microphone: plays arrays into the engine at real-time pace (or as fast as it can take)."""

    def __init__(self, engine: Engine, plan: FeedPlan) -> None:
        self.engine = engine
        self.plan = plan
        self.orch = engine.orchestrator
        self._next = time.perf_counter()
        self._stop = threading.Event()
        self.done = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _push(self, samples: np.ndarray) -> None:
        for i in range(0, len(samples), BLOCK):
            if self._stop.is_set():
                return
            blk = samples[i : i + BLOCK]
            if self.plan.realtime:
                now = time.perf_counter()
                if self._next > now:
                    time.sleep(self._next - now)
                else:
                    self._next = now
                self.orch.feed_audio(blk, t=self._next)
                self._next += len(blk) / SAMPLE_RATE
            else:
                self.orch.feed_audio(blk, t=time.perf_counter(), block=True)
                if self.orch.input_q.qsize() > 8:
                    time.sleep(0.002)

    def _silence(self, seconds: float) -> None:
        self._push(np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32))

    def _wait_idle(self) -> None:
        """Keep the microphone open (silence) until the assistant has finished answering."""
        eot = self.orch.settings.end_of_turn_silence_ms / 1000.0
        self._silence(eot * 1.5 + 0.3)
        deadline = time.perf_counter() + self.plan.max_wait_s
        quiet = 0
        while not self._stop.is_set() and time.perf_counter() < deadline:
            if self.orch.is_idle():
                quiet += 1
                if quiet >= 3:
                    return
            else:
                quiet = 0
            self._silence(0.1)
        if time.perf_counter() >= deadline:
            log.warning("gave up waiting for the assistant after %.0f s", self.plan.max_wait_s)

    def run(self) -> None:
        try:
            self._next = time.perf_counter()
            for i, audio in enumerate(self.plan.audios):
                self._silence(self.plan.lead_silence_s)
                self._push(audio)
                last = i == len(self.plan.audios) - 1
                if self.plan.overlap is not None and not last:
                    self._silence(self.plan.overlap)
                else:
                    self._wait_idle()
        finally:
            self.done.set()


class FilesLink:
    """Recordings as the microphone and a virtual speaker; ``run`` plays them all, then returns."""

    def __init__(self, plan: FeedPlan) -> None:
        self.plan = plan
        self._speaker: Any = None
        self._feeder: FileFeeder | None = None

    def start(self, engine: Engine) -> AudioStatus:
        from app.audio.playback import VirtualSpeaker

        self._speaker = VirtualSpeaker(engine.playback, realtime=self.plan.realtime)
        self._speaker.start()
        pace = "real time" if self.plan.realtime else "as fast as it can"
        return AudioStatus(f"{len(self.plan.audios)} recording(s), {pace}", "virtual speaker")

    def on_ready(self, engine: Engine) -> None:
        self._feeder = FileFeeder(engine, self.plan)

    def run(self) -> None:
        """Play every recording and wait for the answers (on the caller's thread)."""
        assert self._feeder is not None, "on_ready first"
        self._feeder.run()

    def stop(self) -> None:
        if self._feeder is not None:
            self._feeder.stop()
        if self._speaker is not None:
            self._speaker.stop()


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
        self._feeder: FileFeeder | None = None
        self._thread: threading.Thread | None = None

    def load(self) -> None:
        """Decode the microphone file (raises ``AudioFileError`` with one clear line)."""
        if self.mic_file is not None and self._audio is None:
            from app.audio.io import load_speech

            self._audio = load_speech(self.mic_file)

    def start(self, engine: Engine) -> AudioStatus:
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

    def on_ready(self, engine: Engine) -> None:
        if self._audio is None:
            return
        feeder = self._feeder = FileFeeder(engine, FeedPlan([self._audio], realtime=True))

        def run() -> None:
            try:
                feeder.run()
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


def run_files(
    engine: Engine,
    audios: list[np.ndarray],
    *,
    out_dir: Path | None = None,
    report_path: Path | None = None,
    realtime: bool = True,
    overlap: float | None = None,
    sources: list[str] | None = None,
) -> dict[str, Any]:
    """Runs a whole conversation from files with a virtual speaker; returns the report."""
    link = FilesLink(FeedPlan(audios, realtime=realtime, overlap=overlap))
    session = Session(engine, link)
    try:
        session.open()
        link.run()
    finally:
        session.stop()
    report = session.report(sources)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for turn in report["turns"]:
            audio = engine.playback.take_recording(turn["turn_id"])
            if audio.size:
                path = write_wav(
                    out_dir / f"turn_{turn['turn_id']:02d}.wav", audio, engine.playback.sample_rate
                )
                turn["wav"] = str(path)
    if report_path is not None:
        write_report(report, report_path)
    return report
