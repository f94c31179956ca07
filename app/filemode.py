"""Files in, answers out: feeds recordings through the engine exactly as a microphone would."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.audio.io import write_wav
from app.engine import Engine
from app.messages import FRAME, SAMPLE_RATE

log = logging.getLogger(__name__)

BLOCK = FRAME  # feed 32 ms blocks, like a sound card callback would


@dataclass
class FeedPlan:
    audios: list[np.ndarray]
    realtime: bool = True
    overlap: float | None = None  # start the next file this long after the previous one ends
    lead_silence_s: float = 0.3
    max_wait_s: float = 90.0


class EngineStartError(RuntimeError):
    """The engine could not load its models or reach its LLM server; the message says why."""


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
    from app.audio.playback import VirtualSpeaker

    orch = engine.orchestrator
    speaker = VirtualSpeaker(engine.playback, realtime=realtime)
    orch.start()
    speaker.start()
    try:
        if not orch.wait_ready(timeout=300):
            raise EngineStartError(
                "the engine did not start: " + "; ".join(orch.errors or ["timed out loading"])
            )
        feeder = FileFeeder(engine, FeedPlan(audios, realtime=realtime, overlap=overlap))
        feeder.run()
    finally:
        speaker.stop()
        orch.stop()
    report = build_report(engine, sources=sources)
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
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def build_report(engine: Engine, sources: list[str] | None = None) -> dict[str, Any]:
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
