"""``hearken bench``: voice-to-voice latency of the real engine against a plain cascade.

Two phases on the same audio and the same models, one after the other in this process:

1. **Engine.** The spoken questions are played into the real engine at real-time
   pace exactly as the microphone path does (``app.filemode.FileFeeder`` with a
   ``VirtualSpeaker``), as one conversation (the corpus is cycled for ``--turns``).
   Every figure comes from the engine's own per-turn clock.  Timing proxies around
   the *library* objects inside the engines (see ``app.tools.bench_probe``) split each
   turn's critical path into library time and engine glue.
2. **Baseline.** The plain sequential cascade, built from the same engine classes
   (``app.engine.make_factories``) and called directly on one thread: the same
   Silero turn detector with a fixed 700 ms end-of-turn silence, then the full
   Whisper transcription, the full LLM completion, the full piper synthesis, then
   playback through the same ``PlaybackBuffer``/``VirtualSpeaker``.  It is timed from
   the same true end of speech (the end of the last voiced frame) to the first
   audible sample.  Each distinct question is played once.

The figures are printed as a table (stdout), optionally written as JSON and drawn as a PNG.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import os
import queue
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app import paths
from app.audio.playback import PlaybackBuffer, VirtualSpeaker
from app.config import Settings
from app.engine import Engine, build_engine, make_factories
from app.filemode import FeedPlan, FileFeeder, build_report
from app.messages import FRAME, SAMPLE_RATE, AudioChunk
from app.pipeline.turns import Emit, TurnDetector, TurnParams

log = logging.getLogger(__name__)

BASELINE_EOT_MS = 700
SOAK_MIN_TURNS = 50
QUIET_OTHER_PCT = 10.0  # a turn is "quiet" when other processes used less of the CPUs than this
QUIET_WAIT_S = 15.0  # before each question, wait up to this long for the machine to be quiet
AUDIO_EXTS = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus", ".aac")

# Short everyday spoken questions and requests (the default corpus).
CORPUS_TEXTS: tuple[str, ...] = (
    "What is the capital of France?",
    "How many days are there in a leap year?",
    "Set a timer for five minutes.",
    "Who wrote Pride and Prejudice?",
    "How do I boil an egg?",
    "Remind me to call my mother tomorrow.",
    "What time zone is Tokyo in?",
    "Tell me a short joke.",
    "How far away is the moon?",
    "Can you recommend a good book?",
    "What is a healthy breakfast?",
    "How do you say thank you in Spanish?",
    "Why is the sky blue?",
    "Give me an idea for dinner tonight.",
    "How many ounces are in a pound?",
    "How much caffeine is in a cup of coffee?",
    "What is the boiling point of water?",
    "Help me name my new puppy.",
    "What should I pack for a weekend trip?",
    "How long should I sleep each night?",
)

# The critical path of a turn, from the true end of speech to the first audible sample, in five
# serial pieces that add up to voice-to-voice:
#   wait_and_stt          speech_end -> llm_start: with a speculative reply the pause that triggers it
#                         and its transcription; without one the end-of-turn wait, STT and hand-off
#   llm_to_first_clause   llm_start -> first_clause
#   tts_first_clause      first_clause -> tts_first_chunk
#   held_for_end_of_turn  tts_first_chunk -> eot_decided when the audio was ready before the turn
#                         was confirmed (a speculative reply held in playback), else 0
#   output                the rest, to the first audible sample (release, the output block)
SEGMENT_NAMES = (
    "wait_and_stt",
    "llm_to_first_clause",
    "tts_first_clause",
    "held_for_end_of_turn",
    "output",
)
BASELINE_SEGMENTS = ("end_of_turn_wait", "stt", "llm_full", "tts_full", "output")
# Per-stage latencies: the engine clock's own five, and two more that show the overlap.
STAGE_NAMES = (
    "end_of_turn",  # speech_end -> eot_decided
    "stt",  # speech_end -> stt_done
    "llm_first_token",  # llm_start -> llm_first_token
    "first_clause",  # llm_start -> first_clause
    "tts_first_chunk",  # first_clause -> tts_first_chunk
    "llm_start",  # speech_end -> llm_start (negative never; early with a speculative reply)
    "eot_to_first_audio",  # eot_decided -> first_audio
)
# Stamps that must be in this order on every answered turn (each tuple is one chain).
ORDERED_STAMPS: tuple[tuple[str, ...], ...] = (
    ("speech_start", "speech_end", "eot_decided", "first_audio"),
    ("speech_end", "llm_start", "llm_first_token", "first_clause", "tts_first_chunk", "first_audio"),
)

TARGETS = {
    "v2v_p50": 700.0,
    "v2v_p95": 1000.0,
    "ratio_p50": 0.35,
    "vad_ms_per_frame": 0.3,
    "overhead_pct": 5.0,
    "peak_rss_mb": 1536.0,
    "cold_start_s": 4.0,
    "soak_first_token_ratio": 1.2,
    "soak_rss_growth_pct": 5.0,
}

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


def _stderr(msg: str) -> None:
    sys.stderr.write(f"bench: {msg}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------- statistics


def pct(values: Sequence[float], q: float) -> float | None:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    return round(float(np.percentile(vals, q)), 1)


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys over xs (None with fewer than 3 points)."""
    pts = [(float(x), float(y)) for x, y in zip(xs, ys, strict=False) if y is not None]
    if len(pts) < 3:
        return None
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    return round(float(np.polyfit(x, y, 1)[0]), 2)


# --------------------------------------------------------------------------- corpus


@dataclass
class CorpusItem:
    name: str
    audio: np.ndarray  # 16 kHz mono float32
    text: str = ""  # what is said (empty for user recordings)
    source: str = "synth"  # synth | a file path

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def synth_corpus(settings: Settings, progress: Progress = _quiet) -> list[CorpusItem]:
    """The default questions, spoken once with the bundled piper voice and cached as 16 kHz WAVs."""
    from app.audio.io import load_speech, write_wav
    from app.models import resolve

    voice = resolve("tts", settings)
    key = hashlib.sha256(("\n".join(CORPUS_TEXTS) + "|" + voice.id).encode()).hexdigest()[:16]
    folder = paths.cache_dir() / "bench-corpus"
    manifest = folder / "manifest.json"
    names = [f"{i + 1:02d}-{_slug(t)}.wav" for i, t in enumerate(CORPUS_TEXTS)]
    cached = False
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        cached = meta.get("key") == key and all((folder / n).is_file() for n in names)
    except (OSError, ValueError):
        cached = False
    if not cached:
        from app.audio.resample import resample
        from app.engines.tts import PiperTts

        progress(f"synthesizing the {len(CORPUS_TEXTS)} corpus questions with {voice.id} (once)")
        tts = PiperTts(voice.path, voice.config_path)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in zip(names, CORPUS_TEXTS, strict=True):
            audio = np.concatenate(list(tts.synthesize(text)))
            write_wav(folder / name, resample(audio, tts.sample_rate, SAMPLE_RATE), SAMPLE_RATE)
        manifest.write_text(
            json.dumps({"key": key, "voice": voice.id, "files": dict(zip(names, CORPUS_TEXTS, strict=True))}),
            encoding="utf-8",
        )
        del tts
        gc.collect()
    return [
        CorpusItem(n[:-4], load_speech(folder / n), t, "synth")
        for n, t in zip(names, CORPUS_TEXTS, strict=True)
    ]


def load_recordings(folder: Path) -> list[CorpusItem]:
    from app.audio.io import AudioFileError, load_speech

    if not folder.is_dir():
        raise AudioFileError(f"{folder}: not a folder")
    items = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in AUDIO_EXTS and path.is_file():
            items.append(CorpusItem(path.stem, load_speech(path), "", str(path)))
    if not items:
        raise AudioFileError(f"{folder}: no audio files ({', '.join(AUDIO_EXTS)})")
    return items


def build_corpus(settings: Settings, extra: Path | None, progress: Progress = _quiet) -> list[CorpusItem]:
    """Real recordings first (so they are always measured), then the synthesized questions."""
    items = load_recordings(extra) if extra is not None else []
    return items + synth_corpus(settings, progress)


# --------------------------------------------------------------------------- engine phase


def critical_segments(t: dict[str, float]) -> dict[str, float]:
    """Voice-to-voice split into ``SEGMENT_NAMES`` (ms); the pieces add up to the whole."""
    need = ("speech_end", "llm_start", "first_clause", "tts_first_chunk", "eot_decided", "first_audio")
    if not all(k in t for k in need):
        return {}
    start = t["speech_end"]
    llm = max(start, t["llm_start"])
    clause = max(llm, t["first_clause"])
    chunk = max(clause, t["tts_first_chunk"])
    ready = max(chunk, t["eot_decided"])
    end = max(ready, t["first_audio"])
    pieces = (llm - start, clause - llm, chunk - clause, ready - chunk, end - ready)
    return {name: round(v * 1000.0, 1) for name, v in zip(SEGMENT_NAMES, pieces, strict=True)}


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

    def _wait_quiet(self) -> None:
        from app.tools.bench_probe import OtherCpu

        meter = OtherCpu()
        t0 = time.perf_counter()
        calm = 0
        while time.perf_counter() - t0 < self.quiet_wait_s and not self._stop.is_set():
            self._silence(0.25)
            calm = calm + 1 if meter.pct() < QUIET_OTHER_PCT else 0
            if calm >= 4:
                break
        self.waited_s += max(0.0, time.perf_counter() - t0 - 1.0)

    def _push(self, samples: np.ndarray) -> None:
        k = len(self.starts)
        if k < len(self.plan.audios) and samples is self.plan.audios[k]:
            if self.quiet_wait_s > 0:
                self._wait_quiet()
            self.starts.append(max(self._next, time.perf_counter()))
            super()._push(samples)
            self.ends.append(self._next)
            self.progress(f"engine: question {k + 1}/{len(self.plan.audios)} played")
            return
        super()._push(samples)


@dataclass
class EngineTurn:
    index: int  # position in the played sequence
    item: int  # corpus index
    report: dict[str, Any]
    extra_turns: int = 0  # further turns the same file produced (a false cut-off)
    other_cpu_pct: float | None = None  # other processes' share of the CPUs while this turn was answered

    @property
    def t(self) -> dict[str, float]:
        return self.report.get("t", {})

    @property
    def answered(self) -> bool:
        r = self.report
        return (
            not r.get("dropped")
            and not r.get("interrupted")
            and (r.get("latency_ms") or {}).get("voice_to_voice") is not None
        )

    def segments(self) -> dict[str, float]:
        return critical_segments(self.t)


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


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b > 0 else None


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


def _union(spans: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Total length of the union of ``spans`` clipped to ``[lo, hi]``."""
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in spans if min(b, hi) > max(a, lo))
    total = 0.0
    cur_a, cur_b = None, None
    for a, b in clipped:
        if cur_b is None or a > cur_b:
            if cur_b is not None and cur_a is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_a is not None and cur_b is not None:
        total += cur_b - cur_a
    return total


def _overhead(turns: list[EngineTurn], lib: Any, origin: float) -> dict[str, Any]:
    """Engine glue on each turn's critical path, against a program calling the libraries directly.

    Before the end-of-turn decision the turn waits by policy (the silence window), and
    whatever the engine does in parallel is off the critical path.  From the decision
    to the first audible sample, every moment is either inside a library call on the
    reply's chain (Whisper; llama.cpp from the LLM's start to the first clause; piper on
    the first clause) or glue: queues, thread hand-offs, emotion tagging, prompt
    building, token counting, clause splitting, resampling, the output block.  A
    program with no glue would answer ``glue`` sooner, so
    ``overhead_pct = glue / (voice_to_voice - glue)``.
    """
    if lib is None:
        return {}
    stt_calls = lib.of("stt")
    llm_calls = lib.of("llm")
    tts_calls = lib.of("tts")
    rows = []
    for tr in turns:
        if not tr.answered:
            continue
        t = {k: v + origin for k, v in tr.t.items()}
        need = ("speech_end", "eot_decided", "llm_start", "first_clause", "tts_first_chunk", "first_audio")
        if not all(k in t for k in need):
            continue
        end, eot, llm_start, clause, chunk, audio = (t[k] for k in need)
        lo = max(eot, end)
        eps = 0.001  # the report's stamps are rounded to 0.1 ms
        llm_call = next((c for c in llm_calls if llm_start - eps <= c.start <= clause + eps), None)
        tts_call = next((c for c in tts_calls if clause - eps <= c.start <= chunk + eps), None)
        if llm_call is None or tts_call is None:
            continue
        llm_lib = llm_call.busy_within(max(lo, llm_start), min(audio, clause))
        tts_lib = tts_call.busy_within(lo, audio)
        spans = [sp for c in stt_calls for sp in c.spans]
        spans += [(max(a, llm_start), min(b, clause)) for a, b in llm_call.spans]
        spans += tts_call.spans

        def window(a: float, b: float, lib_s: float, lo: float = lo, hi: float = audio) -> float:
            return max(0.0, min(b, hi) - max(a, lo)) - lib_s

        glue_before_llm = window(
            lo, llm_start, sum(c.busy_within(lo, min(llm_start, audio)) for c in stt_calls)
        )
        glue_llm = window(llm_start, clause, llm_lib)
        glue_tts = window(clause, chunk, tts_lib)
        glue_out = window(max(chunk, lo), audio, 0.0)
        path = audio - lo
        library = _union(spans, lo, audio)  # the libraries may overlap in time: count it once
        glue = path - library
        v2v = audio - end
        rows.append(
            {
                "v2v": v2v,
                "path": path,
                "library": library,
                "glue": glue,
                "glue_before_llm": glue_before_llm,
                "glue_llm": glue_llm,
                "glue_tts": glue_tts,
                "glue_out": glue_out,
            }
        )
    if not rows:
        return {}

    def tot(k: str) -> float:
        return sum(r[k] for r in rows)

    def med(k: str) -> float | None:
        return pct([r[k] * 1000.0 for r in rows], 50)

    direct = tot("v2v") - tot("glue")
    return {
        "turns": len(rows),
        "overhead_pct": round(100.0 * tot("glue") / direct, 1) if direct > 0 else None,
        "overhead_pct_p50": pct([100.0 * r["glue"] / max(1e-6, r["v2v"] - r["glue"]) for r in rows], 50),
        "p50_ms": {
            "path_after_eot": med("path"),
            "library": med("library"),
            "glue": med("glue"),
            "glue_before_llm": med("glue_before_llm"),
            "glue_llm_stream": med("glue_llm"),
            "glue_tts_clause": med("glue_tts"),
            "glue_output": med("glue_out"),
        },
    }


def run_engine_phase(
    settings: Settings,
    sequence: list[CorpusItem],
    seq_index: list[int],
    progress: Progress = _quiet,
    prepare: Callable[[Engine], None] | None = None,
    quiet_wait_s: float = 0.0,
) -> EnginePhase:
    """Plays ``sequence`` into a fresh engine as one conversation; ``prepare`` may adjust it first."""
    from app.tools.bench_probe import CpuShare, RssSampler, attach_library_timers, ru_maxrss_mb

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
    stt_rtf = _ratio(getattr(stt_w, "compute_seconds", 0.0), getattr(stt_w, "audio_seconds", 0.0))
    tts_rtf = _ratio(getattr(tts_w, "compute_seconds", 0.0), getattr(tts_w, "audio_seconds", 0.0))
    llm = getattr(llm_w, "llm", None)
    tok_s_all = None
    if llm is not None and getattr(llm, "decode_seconds", 0.0) > 0:
        tok_s_all = round(llm.tokens_generated / llm.decode_seconds, 1)
    tok_s = _decode_rate(turns, llm)
    ov = _overhead(turns, lib, orch.t0)
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
    )


def _decode_rate(turns: list[EngineTurn], llm: Any) -> float | None:
    """Generation speed inside the engine: tokens after the first / (llm_done - first token)."""
    count = getattr(llm, "count_tokens", None)
    if count is None:
        return None
    n = 0
    secs = 0.0
    for tr in turns:
        t = tr.t
        text = tr.report.get("assistant_full_text") or ""
        if "llm_first_token" in t and "llm_done" in t and text:
            toks = count(text)
            if toks > 1:
                n += toks - 1
                secs += t["llm_done"] - t["llm_first_token"]
    return round(n / secs, 1) if secs > 0 else None


# --------------------------------------------------------------------------- baseline phase


@dataclass
class BaselineTurn:
    item: int
    user_text: str = ""
    reply: str = ""
    voice_to_voice_ms: float | None = None
    segments: dict[str, float] = field(default_factory=dict)
    stt_s: float = 0.0
    audio_s: float = 0.0
    llm_first_token_ms: float | None = None
    llm_tokens: int = 0
    llm_decode_s: float = 0.0
    tts_s: float = 0.0
    tts_audio_s: float = 0.0
    dropped: str = ""
    window: tuple[float, float] | None = None  # perf_counter span from end of speech to first audio
    other_cpu_pct: float | None = None


class Baseline:
    """The plain sequential cascade, on the engine's own classes, all called on this thread."""

    def __init__(self, settings: Settings, progress: Progress = _quiet) -> None:
        from app.models import resolve

        self.settings = settings
        roles = ["vad", "stt", "tts"] + ([] if settings.llm_server_url else ["llm"])
        models = {role: resolve(role, settings) for role in roles}
        factories = make_factories(settings, models)
        progress("baseline: loading the same models")
        self.vad = factories.vad()
        self.stt = factories.stt()
        self.llm = factories.llm()
        self.tts = factories.tts()
        for warm in (getattr(self.stt, "warm_up", None), getattr(self.tts, "warm_up", None)):
            if warm:
                warm()
        warm_llm = getattr(self.llm, "warm_up", None)
        if warm_llm:
            warm_llm(settings.system_prompt)
        rate = settings.output_rate or models["tts"].sample_rate or self.tts.sample_rate
        self.playback = PlaybackBuffer(rate)
        self.speaker = VirtualSpeaker(self.playback, realtime=True)
        self.history: list[dict[str, str]] = []

    def close(self) -> None:
        self.speaker.stop()

    def _params(self) -> TurnParams:
        s = self.settings
        return TurnParams(
            threshold=s.vad_threshold,
            end_of_turn_ms=BASELINE_EOT_MS,
            min_speech_ms=s.min_speech_ms,
            pre_roll_ms=s.pre_roll_ms,
            max_utterance_s=s.max_utterance_s,
        )

    def _hear(self, audio: np.ndarray) -> tuple[Emit | None, float]:
        """Plays ``audio`` at real-time pace into Silero + the turn detector until the silence window closes."""
        self.vad.reset()
        det = TurnDetector(self._params())
        lead = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
        tail = np.zeros(int((BASELINE_EOT_MS / 1000.0 + 2.0) * SAMPLE_RATE), np.float32)
        signal = np.concatenate([lead, audio.astype(np.float32, copy=False), tail])
        clock = time.perf_counter()
        for i in range(len(signal) // FRAME):
            frame = signal[i * FRAME : (i + 1) * FRAME]
            now = time.perf_counter()
            if clock > now:
                time.sleep(clock - now)
            else:
                clock = now
            for action in det.feed(frame, self.vad.prob(frame), clock):
                if isinstance(action, Emit) and action.kind == "final":
                    return action, time.perf_counter()
            clock += FRAME / SAMPLE_RATE
        return None, time.perf_counter()

    def _messages(self, text: str) -> list[dict[str, str]]:
        s = self.settings
        budget = self.llm.n_ctx - s.max_reply_tokens - 16
        system = {"role": "system", "content": s.system_prompt}
        history = list(self.history)

        def size(msgs: list[dict[str, str]]) -> int:
            return sum(self.llm.count_tokens(m["content"]) + 6 for m in msgs)

        user = {"role": "user", "content": text}
        while history and size([system, *history, user]) > budget:
            history = history[2:]
        return [system, *history, user]

    def turn(self, item: int, audio: np.ndarray) -> BaselineTurn:
        from app.audio.resample import resample

        s = self.settings
        out = BaselineTurn(item)
        emit, decided = self._hear(audio)
        if emit is None:
            out.dropped = "no speech"
            return out
        speech_end = emit.speech_end
        # 1. the full transcription
        res = self.stt.transcribe(emit.audio, hotwords=s.hotwords)
        t_stt = time.perf_counter()
        out.stt_s, out.audio_s, out.user_text = res.seconds, len(emit.audio) / SAMPLE_RATE, res.text
        if not res.text:
            out.dropped = "empty transcript"
            return out
        # 2. the full completion
        messages = self._messages(res.text)
        parts: list[str] = []
        first: float | None = None
        t0 = time.perf_counter()
        for delta in self.llm.stream_chat(messages, max_tokens=s.max_reply_tokens, temperature=s.temperature):
            if first is None:
                first = time.perf_counter()
            parts.append(delta)
        t_llm = time.perf_counter()
        reply = "".join(parts).strip()
        out.reply = reply
        out.llm_tokens = len(parts)
        out.llm_first_token_ms = round((first - t0) * 1000.0, 1) if first else None
        out.llm_decode_s = t_llm - first if first else 0.0
        if not reply:
            out.dropped = "empty reply"
            return out
        # 3. the full synthesis
        t1 = time.perf_counter()
        wave = np.concatenate(list(self.tts.synthesize(reply)) or [np.zeros(0, np.float32)])
        out.tts_s = time.perf_counter() - t1
        out.tts_audio_s = len(wave) / self.tts.sample_rate
        wave = resample(wave, self.tts.sample_rate, self.playback.sample_rate)
        t_tts = time.perf_counter()
        # 4. playback starts
        while True:
            try:
                self.playback.events.get_nowait()
            except queue.Empty:
                break
        self.playback.enqueue(AudioChunk(item, 0, 0, wave, self.playback.sample_rate, reply, True))
        first_audio = None
        deadline = time.perf_counter() + 5.0
        while time.perf_counter() < deadline:
            try:
                ev = self.playback.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if ev.kind == "first_audio":
                first_audio = ev.t
                break
        self.playback.flush()
        self.history += [{"role": "user", "content": res.text}, {"role": "assistant", "content": reply}]
        if first_audio is None:
            out.dropped = "no playback"
            return out
        out.voice_to_voice_ms = round((first_audio - speech_end) * 1000.0, 1)
        out.window = (speech_end, first_audio)
        out.segments = {
            "end_of_turn_wait": round((decided - speech_end) * 1000.0, 1),
            "stt": round((t_stt - decided) * 1000.0, 1),
            "llm_full": round((t_llm - t_stt) * 1000.0, 1),
            "tts_full": round((t_tts - t_llm) * 1000.0, 1),
            "output": round((first_audio - t_tts) * 1000.0, 1),
        }
        return out


def _wait_quiet(max_s: float) -> float:
    from app.tools.bench_probe import OtherCpu

    meter = OtherCpu()
    t0 = time.perf_counter()
    calm = 0
    while time.perf_counter() - t0 < max_s:
        time.sleep(0.25)
        calm = calm + 1 if meter.pct() < QUIET_OTHER_PCT else 0
        if calm >= 4:
            break
    return max(0.0, time.perf_counter() - t0 - 1.0)


def run_baseline(
    settings: Settings, items: list[CorpusItem], progress: Progress = _quiet, quiet_wait_s: float = 0.0
) -> list[BaselineTurn]:
    from app.tools.bench_probe import RssSampler

    base = Baseline(settings, progress)
    base.speaker.start()
    sampler = RssSampler(None)
    sampler.start()
    out = []
    try:
        for i, it in enumerate(items):
            if quiet_wait_s > 0:
                _wait_quiet(quiet_wait_s)
            out.append(base.turn(i, it.audio))
            progress(f"baseline: question {i + 1}/{len(items)}: {out[-1].voice_to_voice_ms} ms")
    finally:
        base.close()
        sampler.stop()
    for b in out:
        if b.window is not None:
            b.other_cpu_pct = sampler.other_cpu_pct(b.window[0] - 0.5, b.window[1])
    return out


# --------------------------------------------------------------------------- summary


def _div(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _gap(t: dict[str, float], a: str, b: str) -> float | None:
    return round((t[b] - t[a]) * 1000.0, 1) if a in t and b in t else None


def _p50(rows: list[dict[str, float]], key: str) -> float | None:
    return pct([r[key] for r in rows if r.get(key) is not None], 50)


def summarize(
    settings: Settings,
    corpus: list[CorpusItem],
    eng: EnginePhase,
    base: list[BaselineTurn] | None,
) -> dict[str, Any]:
    """All the figures: the JSON document (``public``) and the details for the table and plot."""
    from app.tools.bench_probe import machine

    answered = [t for t in eng.turns if t.answered]
    v2v = [t.report["latency_ms"]["voice_to_voice"] for t in answered]
    lat = [t.report["latency_ms"] for t in answered]
    stages: dict[str, float | None] = {k: _p50(lat, k) for k in STAGE_NAMES[:5]}
    segs = [t.segments() for t in answered]
    stages["llm_start"] = pct([_gap(t.t, "speech_end", "llm_start") for t in answered], 50)
    stages["eot_to_first_audio"] = pct([_gap(t.t, "eot_decided", "first_audio") for t in answered], 50)
    base_ok = [b for b in (base or []) if b.voice_to_voice_ms is not None]
    base_by_item = {b.item: b for b in base_ok}
    base_v2v = [b.voice_to_voice_ms for b in base_ok if b.voice_to_voice_ms is not None]
    ratio = None
    p50, b50 = pct(v2v, 50), pct(base_v2v, 50)
    if p50 is not None and b50:
        ratio = round(p50 / b50, 3)

    per_turn = []
    for tr in eng.turns:
        b = base_by_item.get(tr.item)
        mine = tr.report.get("latency_ms", {}).get("voice_to_voice") if tr.answered else None
        per_turn.append(
            {
                "turn": tr.index + 1,
                "item": corpus[tr.item].name,
                "heard": tr.report.get("user_text", ""),
                "reply": tr.report.get("assistant_full_text", ""),
                "voice_to_voice_ms": mine,
                "segments_ms": tr.segments(),
                "stages_ms": {
                    **{k: (tr.report.get("latency_ms") or {}).get(k) for k in STAGE_NAMES[:5]},
                    "llm_start": _gap(tr.t, "speech_end", "llm_start"),
                    "eot_to_first_audio": _gap(tr.t, "eot_decided", "first_audio"),
                },
                "baseline_ms": b.voice_to_voice_ms if b else None,
                "ratio": round(mine / b.voice_to_voice_ms, 3)
                if (mine and b and b.voice_to_voice_ms)
                else None,
                "extra_turns": tr.extra_turns,
                "other_cpu_pct": tr.other_cpu_pct,
                "baseline_other_cpu_pct": b.other_cpu_pct if b else None,
            }
        )
    quiet = [
        t.report["latency_ms"]["voice_to_voice"]
        for t in answered
        if t.other_cpu_pct is not None and t.other_cpu_pct < QUIET_OTHER_PCT
    ]
    base_quiet = [
        b.voice_to_voice_ms
        for b in base_ok
        if b.other_cpu_pct is not None and b.other_cpu_pct < QUIET_OTHER_PCT and b.voice_to_voice_ms
    ]

    public: dict[str, Any] = {
        "machine": machine(),
        "turns": len(answered),
        "voice_to_voice_ms": {"p50": p50, "p95": pct(v2v, 95)},
        "baseline_voice_to_voice_ms": {"p50": b50, "p95": pct(base_v2v, 95)},
        "ratio_p50": ratio,
        "stages_ms": stages,
        "vad_ms_per_frame": eng.vad_ms_per_frame,
        "stt_rtf": eng.stt_rtf,
        "tts_rtf": eng.tts_rtf,
        "llm_tokens_per_s": eng.llm_tokens_per_s,
        "peak_rss_mb": eng.peak_rss_mb,
        "cold_start_s": round(eng.cold_start_s, 2) if eng.cold_start_s is not None else None,
    }
    if len(eng.turns) >= SOAK_MIN_TURNS:
        public["soak"] = soak_figures(eng)

    base_detail: dict[str, Any] = {}
    if base_ok:
        stt_s = sum(b.stt_s for b in base_ok)
        aud = sum(b.audio_s for b in base_ok)
        toks = sum(max(0, b.llm_tokens - 1) for b in base_ok)
        dec = sum(b.llm_decode_s for b in base_ok)
        tts_s = sum(b.tts_s for b in base_ok)
        tts_a = sum(b.tts_audio_s for b in base_ok)
        base_detail = {
            "turns": len(base_ok),
            "segments_p50": {k: _p50([b.segments for b in base_ok], k) for k in BASELINE_SEGMENTS},
            "stt_rtf": _ratio(stt_s, aud),
            "llm_first_token_ms": pct([b.llm_first_token_ms for b in base_ok if b.llm_first_token_ms], 50),
            "llm_tokens_per_s": round(toks / dec, 1) if dec > 0 else None,
            "tts_rtf": _ratio(tts_s, tts_a),
        }
    return {
        "public": public,
        "settings": {
            "profile": settings.profile,
            "end_of_turn_silence_ms": settings.end_of_turn_silence_ms,
            "speculative_pause_ms": settings.speculative_pause_ms,
            "llm_threads": settings.llm_threads,
            "stt_threads": settings.stt_threads,
            "max_reply_tokens": settings.max_reply_tokens,
        },
        "per_turn": per_turn,
        "stamps": [t.t for t in answered],
        "rss_per_turn_mb": [[n, round(mb, 1)] for n, mb in eng.rss_per_turn],
        "segments_p50": {name: _p50(segs, name) for name in SEGMENT_NAMES},
        "baseline": base_detail,
        "quiet": {
            "turns": len(quiet),
            "p50": pct(quiet, 50),
            "p95": pct(quiet, 95),
            "baseline_turns": len(base_quiet),
            "baseline_p50": pct(base_quiet, 50),
            "ratio_p50": _div(pct(quiet, 50), pct(base_quiet, 50)),
        },
        "missed": len(eng.missed),
        "false_cutoffs": sum(t.extra_turns for t in eng.turns),
        "overhead": eng.overhead,
        "vad_lib_ms_per_frame": eng.vad_lib_ms_per_frame,
        "llm_tokens_per_s_incl_prefill": eng.llm_tokens_per_s_incl_prefill,
        "ru_maxrss_mb": eng.ru_maxrss_mb,
        "cpu": eng.cpu,
        "engine_wall_s": eng.wall_s,
        "corpus": {
            "synth": sum(1 for c in corpus if c.source == "synth"),
            "recordings": sum(1 for c in corpus if c.source != "synth"),
        },
    }


def soak_figures(eng: EnginePhase) -> dict[str, Any]:
    answered = [t for t in eng.turns if t.answered]
    ft = [(t.index + 1, t.report["latency_ms"].get("llm_first_token")) for t in answered]
    ft = [(i, v) for i, v in ft if v is not None]
    v2v = [(t.index + 1, t.report["latency_ms"]["voice_to_voice"]) for t in answered]
    out: dict[str, Any] = {"turns": len(eng.turns)}
    if ft:
        first, last = ft[0][1], ft[-1][1]
        head = float(np.mean([v for _, v in ft[:5]]))
        tail = float(np.mean([v for _, v in ft[-5:]]))
        out["llm_first_token_ms"] = {
            "turn_first": first,
            "turn_last": last,
            "ratio": round(last / first, 2) if first else None,
            "mean_first5": round(head, 1),
            "mean_last5": round(tail, 1),
            "ratio_mean5": round(tail / head, 2) if head else None,
        }
        # The literal figure compares two different questions (and turn 1 has no history); the
        # fair one compares the last ten turns with the first time the same questions were asked.
        first_seen: dict[int, tuple[int, float]] = {}  # corpus item -> (turn index, first token)
        for t in answered:
            v = t.report["latency_ms"].get("llm_first_token")
            if v is not None:
                first_seen.setdefault(t.item, (t.index, v))
        late = [
            (t.report["latency_ms"]["llm_first_token"], first_seen[t.item][1])
            for t in answered[-10:]
            if t.item in first_seen
            and first_seen[t.item][0] != t.index
            and t.report["latency_ms"].get("llm_first_token") is not None
        ]
        if late:
            a, b = float(np.mean([x for x, _ in late])), float(np.mean([y for _, y in late]))
            out["llm_first_token_ms"]["same_questions"] = {
                "turns": len(late),
                "mean_late": round(a, 1),
                "mean_first_time": round(b, 1),
                "ratio": round(a / b, 2) if b else None,
            }
    rss = eng.rss_per_turn
    if rss:
        r1 = rss[0][1]
        r5 = rss[min(4, len(rss) - 1)][1]
        rn = rss[-1][1]
        out["rss_mb"] = {
            "after_turn_1": round(r1, 1),
            "after_turn_5": round(r5, 1),
            "after_last": round(rn, 1),
            "growth_pct": round(100.0 * (rn - r1) / r1, 1),
            "growth_pct_after_turn_5": round(100.0 * (rn - r5) / r5, 1),
        }
    out["drift"] = {
        "voice_to_voice_ms_per_turn": slope([i for i, _ in v2v], [v for _, v in v2v]),
        "llm_first_token_ms_per_turn": slope([i for i, _ in ft], [v for _, v in ft]),
        "voice_to_voice_p50_first_half": pct([v for i, v in v2v if i <= len(eng.turns) // 2], 50),
        "voice_to_voice_p50_second_half": pct([v for i, v in v2v if i > len(eng.turns) // 2], 50),
    }
    return out


# --------------------------------------------------------------------------- table


def _fmt(v: Any, unit: str = "", nd: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}{unit}"
    return f"{v}{unit}"


def _mark(value: float | None, target: float) -> str:
    if value is None:
        return "  "
    return "ok" if value <= target else "!!"


def format_table(summary: dict[str, Any]) -> str:
    p = summary["public"]
    m = p["machine"]
    cpu = summary["cpu"]
    st = p["stages_ms"]
    seg = summary["segments_p50"]
    b = summary.get("baseline") or {}
    ov = summary.get("overhead") or {}
    lines: list[str] = []
    add = lines.append
    add("")
    add("Per turn (ms; stt, llm start and eot are measured from the end of speech)")
    add(
        f"{'#':>3} {'heard':<36} {'v2v':>6} {'eot':>5} {'stt':>5} {'llm@':>5} {'1sttok':>6} {'clause':>6} "
        f"{'tts':>5} {'eot>au':>6} {'base':>6} {'ratio':>6} {'busy%':>5}"
    )
    for r in summary["per_turn"]:
        s = r["stages_ms"]
        heard = (r["heard"] or r["item"])[:36]
        flag = f" (+{r['extra_turns']} cut)" if r["extra_turns"] else ""
        add(
            f"{r['turn']:>3} {heard:<36} {_fmt(r['voice_to_voice_ms']):>6} {_fmt(s.get('end_of_turn')):>5} "
            f"{_fmt(s.get('stt')):>5} {_fmt(s.get('llm_start')):>5} {_fmt(s.get('llm_first_token')):>6} "
            f"{_fmt(s.get('first_clause')):>6} {_fmt(s.get('tts_first_chunk')):>5} "
            f"{_fmt(s.get('eot_to_first_audio')):>6} {_fmt(r['baseline_ms']):>6} {_fmt(r['ratio'], nd=2):>6} "
            f"{_fmt(r['other_cpu_pct']):>5}{flag}"
        )
    add("")
    add(f"Hearken bench — {p['turns']} answered turns, profile {summary['settings']['profile']}")
    add(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; "
        f"load avg {cpu['load_start'][0]:.2f} -> {cpu['load_end'][0]:.2f}, "
        f"other processes used {cpu['other_processes_pct']:.0f}% of the CPUs during the engine run"
        + (f" (waited {cpu['waited_for_quiet_s']:.0f} s for quiet)" if cpu.get("waited_for_quiet_s") else "")
    )
    add("")
    rows: list[tuple[str, str, str, str]] = []
    v = p["voice_to_voice_ms"]
    bv = p["baseline_voice_to_voice_ms"]
    rows.append(
        ("voice-to-voice p50", _fmt(v["p50"], " ms"), "<= 700 ms", _mark(v["p50"], TARGETS["v2v_p50"]))
    )
    rows.append(
        ("voice-to-voice p95", _fmt(v["p95"], " ms"), "<= 1000 ms", _mark(v["p95"], TARGETS["v2v_p95"]))
    )
    q = summary["quiet"]
    rows.append(
        (
            f"  on quiet turns only ({q['turns']} ours, {q['baseline_turns']} cascade)",
            f"{_fmt(q['p50'], ' ms')} / {_fmt(q['p95'], ' ms')}, ratio {_fmt(q['ratio_p50'], nd=3)}",
            "",
            "",
        )
    )
    rows.append(("plain cascade p50 / p95", f"{_fmt(bv['p50'], ' ms')} / {_fmt(bv['p95'], ' ms')}", "", ""))
    rows.append(
        (
            "ratio of medians (ours / cascade)",
            _fmt(p["ratio_p50"], nd=3),
            "<= 0.35",
            _mark(p["ratio_p50"], 0.35),
        )
    )
    rows.append(("  end-of-turn wait p50", _fmt(st["end_of_turn"], " ms"), "", ""))
    rows.append(("  STT done (after speech end) p50", _fmt(st["stt"], " ms"), "", ""))
    rows.append(("  LLM start (after speech end) p50", _fmt(st["llm_start"], " ms"), "", ""))
    rows.append(("  LLM first token p50", _fmt(st["llm_first_token"], " ms"), "", ""))
    rows.append(("  first clause (from LLM start) p50", _fmt(st["first_clause"], " ms"), "", ""))
    rows.append(("  TTS first chunk p50", _fmt(st["tts_first_chunk"], " ms"), "", ""))
    rows.append(("  end-of-turn decision to audio p50", _fmt(st["eot_to_first_audio"], " ms"), "", ""))
    rows.append(
        (
            "VAD per 32 ms frame",
            _fmt(p["vad_ms_per_frame"], " ms", 3),
            "<= 0.3 ms",
            _mark(p["vad_ms_per_frame"], 0.3),
        )
    )
    rows.append(("STT real-time factor", _fmt(p["stt_rtf"], nd=3), "", ""))
    rows.append(("TTS real-time factor", _fmt(p["tts_rtf"], nd=3), "", ""))
    rows.append(("LLM tokens/s (in engine)", _fmt(p["llm_tokens_per_s"], nd=1), "", ""))
    rows.append(
        (
            "engine overhead over the libraries",
            _fmt(ov.get("overhead_pct"), " %", 1),
            "<= 5 %",
            _mark(ov.get("overhead_pct"), TARGETS["overhead_pct"]),
        )
    )
    rows.append(
        (
            "peak RSS",
            _fmt(p["peak_rss_mb"], " MB"),
            "<= 1536 MB",
            _mark(p["peak_rss_mb"], TARGETS["peak_rss_mb"]),
        )
    )
    rows.append(
        ("cold start to ready", _fmt(p["cold_start_s"], " s", 2), "<= 4 s", _mark(p["cold_start_s"], 4.0))
    )
    soak = p.get("soak")
    if soak:
        ft = soak.get("llm_first_token_ms", {})
        rs = soak.get("rss_mb", {})
        dr = soak.get("drift", {})
        rows.append(
            (
                f"soak: LLM first token turn {soak['turns']} / turn 1",
                f"{_fmt(ft.get('turn_last'))} / {_fmt(ft.get('turn_first'))} ms = {_fmt(ft.get('ratio'), nd=2)}x",
                "<= 1.2x",
                _mark(ft.get("ratio"), 1.2),
            )
        )
        rows.append(
            (
                "soak: same, mean of last 5 / first 5",
                f"{_fmt(ft.get('mean_last5'))} / {_fmt(ft.get('mean_first5'))} ms = "
                f"{_fmt(ft.get('ratio_mean5'), nd=2)}x",
                "",
                "",
            )
        )
        same = ft.get("same_questions")
        if same:
            rows.append(
                (
                    f"soak: same questions, last {same['turns']} turns / first time asked",
                    f"{_fmt(same.get('mean_late'))} / {_fmt(same.get('mean_first_time'))} ms = "
                    f"{_fmt(same.get('ratio'), nd=2)}x",
                    "<= 1.2x",
                    _mark(same.get("ratio"), 1.2),
                )
            )
        rows.append(
            (
                "soak: RSS growth after turn 1 (after 5)",
                f"{_fmt(rs.get('growth_pct'), ' %', 1)} ({_fmt(rs.get('growth_pct_after_turn_5'), ' %', 1)})",
                "<= +5 %",
                _mark(rs.get("growth_pct"), 5.0),
            )
        )
        rows.append(
            (
                "soak: drift of v2v / first token",
                f"{_fmt(dr.get('voice_to_voice_ms_per_turn'), ' ms', 1)} / "
                f"{_fmt(dr.get('llm_first_token_ms_per_turn'), ' ms', 1)} per turn",
                "",
                "",
            )
        )
    w = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    add(f"{'figure':<{w}}  {'measured':>{w2}}  {'target':<10}")
    for name, val, target, mark in rows:
        add(f"{name:<{w}}  {val:>{w2}}  {target:<10} {mark}".rstrip())
    add("")
    order = " + ".join(f"{k} {_fmt(seg.get(k))}" for k in SEGMENT_NAMES)
    add(f"ours, critical path in serial pieces, p50 (ms): {order}")
    if b:
        bs = b["segments_p50"]
        add(
            "cascade, p50 of each segment (ms): "
            + " + ".join(f"{k} {_fmt(bs.get(k))}" for k in BASELINE_SEGMENTS)
        )
        add(
            f"libraries alone (cascade) vs inside the engine: STT RTF {_fmt(b.get('stt_rtf'), nd=3)} vs "
            f"{_fmt(p['stt_rtf'], nd=3)}; LLM first token {_fmt(b.get('llm_first_token_ms'))} vs "
            f"{_fmt(st['llm_first_token'])} ms; LLM {_fmt(b.get('llm_tokens_per_s'), nd=1)} vs "
            f"{_fmt(p['llm_tokens_per_s'], nd=1)} tokens/s; TTS RTF {_fmt(b.get('tts_rtf'), nd=3)} vs "
            f"{_fmt(p['tts_rtf'], nd=3)}"
        )
    if ov:
        o = ov["p50_ms"]
        add(
            f"engine overhead: {_fmt(ov.get('overhead_pct'), ' %', 1)} over all turns "
            f"(per-turn p50 {_fmt(ov.get('overhead_pct_p50'), ' %', 1)}); after the end-of-turn decision the "
            f"path is {_fmt(o['path_after_eot'])} ms p50: library {_fmt(o['library'])}, glue {_fmt(o['glue'])} "
            f"(before the LLM {_fmt(o['glue_before_llm'])}, in the LLM stream {_fmt(o['glue_llm_stream'])}, "
            f"around TTS {_fmt(o['glue_tts_clause'])}, output incl. the 20 ms block {_fmt(o['glue_output'])})"
        )
    add(
        f"VAD library call alone {_fmt(summary.get('vad_lib_ms_per_frame'), ' ms', 3)} per frame; "
        f"LLM tokens/s incl. prefill {_fmt(summary.get('llm_tokens_per_s_incl_prefill'), nd=1)}; "
        f"ru_maxrss {_fmt(summary.get('ru_maxrss_mb'), ' MB')}"
    )
    if summary["missed"] or summary["false_cutoffs"]:
        add(
            f"unanswered questions: {summary['missed']}; questions split into two turns: {summary['false_cutoffs']}"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- command


BENCH_SEED = 20261129


def _settings_from(args: argparse.Namespace) -> Settings:
    """The user's settings, with a fixed LLM seed unless they chose one: both phases then give
    the same answers to the same prompts, and two runs of the bench compare like with like."""
    from app.config import settings_from_args

    settings = settings_from_args(args)
    if settings.llm_seed < 0:
        settings = settings.updated({"llm_seed": BENCH_SEED})
    return settings


def run_bench(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    progress: Progress = _quiet if getattr(args, "quiet", False) else _stderr
    turns = max(1, int(getattr(args, "turns", 20) or 20))
    corpus = build_corpus(settings, getattr(args, "corpus", None), progress)
    seq_index = [i % len(corpus) for i in range(turns)]
    sequence = [corpus[i] for i in seq_index]
    quiet_wait = float(getattr(args, "quiet_wait", QUIET_WAIT_S) or 0.0)
    eng = run_engine_phase(settings, sequence, seq_index, progress, quiet_wait_s=quiet_wait)
    gc.collect()
    base: list[BaselineTurn] | None = None
    if not getattr(args, "no_baseline", False):
        distinct = sorted(set(seq_index))
        base_turns = run_baseline(settings, [corpus[i] for i in distinct], progress, quiet_wait)
        for b, i in zip(base_turns, distinct, strict=True):
            b.item = i
        base = base_turns
    summary = summarize(settings, corpus, eng, base)
    sys.stdout.write(format_table(summary))
    sys.stdout.flush()
    if getattr(args, "json", None):
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary["public"], indent=2), encoding="utf-8")
    if getattr(args, "plot", None):
        from app.ui.bench_plot import draw

        draw(summary, Path(args.plot))
    if getattr(args, "details", None):
        Path(args.details).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    answered = summary["public"]["turns"]
    if not answered:
        sys.stderr.write("hearken: bench: no turn was answered: " + "; ".join(eng.report["errors"]) + "\n")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m app.tools.bench``: the same command with a few extra knobs for experiments."""
    from app.config import add_setting_flags

    p = argparse.ArgumentParser(prog="python -m app.tools.bench")
    p.add_argument("--corpus", type=Path)
    p.add_argument("--turns", type=int, default=20)
    p.add_argument("--json", type=Path)
    p.add_argument("--plot", type=Path)
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--details", type=Path, help="write every figure (per turn too) as JSON here")
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=QUIET_WAIT_S,
        help="before each question wait up to S s for other processes to calm down (0: never)",
    )
    add_setting_flags(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return run_bench(args)


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
