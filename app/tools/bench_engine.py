"""The engine phase of ``hearken bench``: the questions played into the real engine at real-time pace.

Exactly as the microphone path does (``app.filemode.FileFeeder`` with a
``VirtualSpeaker``), as one conversation; every figure comes from the engine's own
per-turn clock, and timing proxies around the library objects
(``app.tools.bench_probe``) split each turn's critical path into library time and glue.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.audio.playback import VirtualSpeaker
from app.config import Settings
from app.engine import Engine, build_engine
from app.filemode import FeedPlan, FileFeeder, build_report
from app.messages import FRAME, SAMPLE_RATE
from app.tools.bench_corpus import CorpusItem, Progress, no_progress
from app.tools.bench_path import EngineTurn, glue_overhead
from app.tools.bench_probe import CpuShare, RssSampler, attach_library_timers, ru_maxrss_mb, wait_for_quiet
from app.tools.bench_stats import ratio_or_none


def frame_aligned(audio: np.ndarray) -> np.ndarray:
    """``audio`` padded with silence to whole 512-sample frames.

    The VAD worker only re-reads a block's capture time when no partial frame is left
    over from the previous block; with a leftover it counts samples from the last
    anchor instead, so any moment the feed runs late (a busy machine) becomes a lasting
    offset of the speech-end stamps.  Feeding whole frames keeps the stamps on the
    capture clock.
    """
    pad = (-len(audio)) % FRAME
    return np.concatenate([audio, np.zeros(pad, dtype=np.float32)]) if pad else audio


class _MarkedFeeder(FileFeeder):
    """``FileFeeder`` that notes when each file starts and ends on the feed clock.

    With ``quiet_wait_s`` it keeps the microphone open on silence before each question
    until other processes have used less than ``QUIET_OTHER_PCT`` of the CPUs for a
    second (or the wait runs out), so a busy neighbour spoils fewer turns.
    """

    def __init__(self, engine: Engine, plan: FeedPlan, progress: Progress, quiet_wait_s: float = 0.0) -> None:
        super().__init__(engine, plan)
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.progress = progress
        self.quiet_wait_s = quiet_wait_s
        self.waited_s = 0.0

    def _silence(self, seconds: float) -> None:
        # Whole 32 ms blocks only, like a sound card with a 512-sample callback: the VAD worker
        # then re-anchors its clock on every block's capture time (see ``frame_aligned``).
        n = int(seconds * SAMPLE_RATE)
        self._push(np.zeros(n + (-n) % FRAME, dtype=np.float32))

    def _push(self, samples: np.ndarray) -> None:
        k = len(self.starts)
        if k < len(self.plan.audios) and samples is self.plan.audios[k]:
            # Bench questions set timers and reminders like any user's ("Set a timer for five
            # minutes."); one going off would put a chime and an announcement inside a later
            # question's measurement (and keep the engine busy when the question starts), so
            # nothing set by an earlier question outlives it.
            self.engine.orchestrator.cancel_alarm(None)
            if self.quiet_wait_s > 0:
                self.waited_s += wait_for_quiet(self.quiet_wait_s, self._silence, self._stop.is_set)
            self.starts.append(max(self._next, time.perf_counter()))
            super()._push(samples)
            self.ends.append(self._next)
            self.progress(f"engine: question {k + 1}/{len(self.plan.audios)} played")
            return
        super()._push(samples)


@dataclass
class EnginePhase:
    turns: list[EngineTurn]
    missed: list[int]  # sequence positions with no answered turn
    report: dict[str, Any]
    cold_start_s: float | None
    peak_rss_mb: float
    ru_maxrss_mb: float
    rss_per_turn: list[tuple[int, float]]
    vad_ms_per_frame: float | None
    vad_lib_ms_per_frame: float | None
    stt_rtf: float | None
    tts_rtf: float | None
    llm_tokens_per_s: float | None
    llm_tokens_per_s_incl_prefill: float | None
    overhead: dict[str, Any]
    cpu: dict[str, Any]
    wall_s: float
    wake_ms_per_frame: float | None = None  # the engine's own counter, in wake word mode only


def _assign_turns(
    finished: list[dict[str, Any]], starts: list[float], origin: float, seq: list[int]
) -> tuple[list[EngineTurn], list[int]]:
    """Which played file each finished turn came from (by its speech start)."""
    rel = [s - origin for s in starts]
    by_pos: dict[int, list[dict[str, Any]]] = {}
    for rep in sorted(finished, key=lambda r: r["turn_id"]):
        t0 = (rep.get("t") or {}).get("speech_start")
        if t0 is None:
            continue
        pos = max((k for k, s in enumerate(rel) if s - 0.1 <= t0), default=-1)
        if pos >= 0:
            by_pos.setdefault(pos, []).append(rep)
    turns: list[EngineTurn] = []
    missed: list[int] = []
    for pos in range(len(rel)):
        reps = by_pos.get(pos, [])
        good = [r for r in reps if not r.get("dropped")]
        if not good:
            missed.append(pos)
            continue
        # The answered turn is the last one (an earlier one would have been cut off and interrupted).
        main = good[-1]
        turns.append(EngineTurn(pos, seq[pos], main, extra_turns=len(good) - 1))
        if not turns[-1].answered:
            missed.append(pos)
    return turns, missed


def run_engine_phase(
    settings: Settings,
    sequence: list[CorpusItem],
    seq_index: list[int],
    progress: Progress = no_progress,
    prepare: Callable[[Engine], None] | None = None,
    quiet_wait_s: float = 0.0,
) -> EnginePhase:
    """Plays ``sequence`` into a fresh engine as one conversation; ``prepare`` may adjust it first."""
    # Timers and reminders in memory, whatever the config file or HEARKEN_ALARMS_DB says: the
    # bench's own must not land in the user's store, nor the user's go off during a measurement.
    settings = dataclasses.replace(settings, alarms_db=None)
    engine = build_engine(settings)
    if prepare is not None:
        prepare(engine)
    orch = engine.orchestrator
    lib = attach_library_timers(orch)
    sampler = RssSampler(lambda: len(orch.finished))
    cpu = CpuShare().start()
    speaker = VirtualSpeaker(engine.playback, realtime=True)
    t_begin = time.perf_counter()
    sampler.start()
    progress("engine: loading and warming the models")
    orch.start()
    speaker.start()
    feeder: _MarkedFeeder | None = None
    try:
        if not orch.wait_ready(timeout=300):
            raise RuntimeError("models did not load: " + "; ".join(orch.errors or ["timeout"]))
        progress(f"engine: ready after {orch.cold_start_s:.2f} s; playing {len(sequence)} questions")
        audios = [frame_aligned(it.audio) for it in sequence]
        feeder = _MarkedFeeder(engine, FeedPlan(audios, realtime=True), progress, quiet_wait_s)
        feeder.run()
    finally:
        speaker.stop()
        orch.stop()
        sampler.stop()
        cpu.stop()
    wall = time.perf_counter() - t_begin
    report = build_report(engine)
    turns, missed = _assign_turns(orch.finished, feeder.starts if feeder else [], orch.t0, seq_index)
    for tr in turns:
        t = tr.t
        if "speech_end" in t and "first_audio" in t:
            tr.other_cpu_pct = sampler.other_cpu_pct(
                orch.t0 + t["speech_end"] - 0.5, orch.t0 + t["first_audio"]
            )

    vad_w, stt_w, tts_w, llm_w = orch.vad_worker, orch.stt_worker, orch.tts_worker, orch.llm_worker
    frames = getattr(vad_w, "frames_done", 0)
    vad_ms = round(1000.0 * vad_w.vad_seconds / frames, 4) if frames else None
    vad_lib = round(1000.0 * lib.vad_seconds / lib.vad_frames, 4) if lib and lib.vad_frames else None
    wake_frames = getattr(vad_w, "wake_frames", 0)
    wake_ms = round(1000.0 * vad_w.wake_seconds / wake_frames, 4) if wake_frames else None
    stt_rtf = ratio_or_none(getattr(stt_w, "compute_seconds", 0.0), getattr(stt_w, "audio_seconds", 0.0))
    tts_rtf = ratio_or_none(getattr(tts_w, "compute_seconds", 0.0), getattr(tts_w, "audio_seconds", 0.0))
    llm = getattr(llm_w, "llm", None)
    tok_s_all = None
    if llm is not None and getattr(llm, "decode_seconds", 0.0) > 0:
        tok_s_all = round(llm.tokens_generated / llm.decode_seconds, 1)
    tok_s = _decode_rate(turns, llm)
    ov = glue_overhead(turns, lib, orch.t0)
    return EnginePhase(
        turns=turns,
        missed=missed,
        report=report,
        cold_start_s=orch.cold_start_s,
        peak_rss_mb=round(sampler.peak_mb, 1),
        ru_maxrss_mb=round(ru_maxrss_mb(), 1),
        rss_per_turn=sampler.per_turn,
        vad_ms_per_frame=vad_ms,
        vad_lib_ms_per_frame=vad_lib,
        stt_rtf=stt_rtf,
        tts_rtf=tts_rtf,
        llm_tokens_per_s=tok_s,
        llm_tokens_per_s_incl_prefill=tok_s_all,
        overhead=ov,
        cpu={
            "load_start": [round(x, 2) for x in cpu.load_start],
            "load_end": [round(x, 2) for x in cpu.load_end],
            "other_processes_pct": round(cpu.other_pct, 1),
            "own_pct": round(cpu.own_pct, 1),
            "waited_for_quiet_s": round(feeder.waited_s, 1) if feeder else 0.0,
        },
        wall_s=round(wall, 1),
        wake_ms_per_frame=wake_ms,
    )


def _decode_rate(turns: list[EngineTurn], llm: Any) -> float | None:
    """Generation speed inside the engine: tokens after the first / (llm_done - first token).

    Over the LLM's turns only: a skill's answer is said whole, in no time, by no LLM."""
    count = getattr(llm, "count_tokens", None)
    if count is None:
        return None
    n = 0
    secs = 0.0
    for tr in turns:
        if tr.skill is not None:
            continue
        t = tr.t
        text = tr.report.get("assistant_full_text") or ""
        if "llm_first_token" in t and "llm_done" in t and text:
            toks = count(text)
            if toks > 1:
                n += toks - 1
                secs += t["llm_done"] - t["llm_first_token"]
    return round(n / secs, 1) if secs > 0 else None
