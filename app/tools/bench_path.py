"""A turn's critical path, from the true end of speech to the first audible sample.

Its serial segments (which add up to voice-to-voice), the stamps that must come in
order, one answered turn of the engine phase (:class:`EngineTurn`), and how much of
the path after the end-of-turn decision was engine glue rather than library calls
(:func:`glue_overhead`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.tools.bench_stats import pct

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
    def skill(self) -> str | None:
        """The name of the local skill that answered this turn (None: the LLM did)."""
        rec = self.report.get("skill")
        return str(rec.get("name")) if rec else None

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


def glue_overhead(turns: list[EngineTurn], lib: Any, origin: float) -> dict[str, Any]:
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
        if not tr.answered or tr.skill is not None:
            continue  # a skill's answer has no LLM call on its path to compare the glue with
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
