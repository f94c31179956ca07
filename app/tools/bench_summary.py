"""All of the bench's figures from the two phases: the public JSON document and the details."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.config import Settings
from app.tools.bench_baseline import BASELINE_SEGMENTS, BaselineTurn
from app.tools.bench_corpus import CorpusItem
from app.tools.bench_engine import EnginePhase
from app.tools.bench_path import SEGMENT_NAMES, STAGE_NAMES, EngineTurn
from app.tools.bench_probe import QUIET_OTHER_PCT, machine
from app.tools.bench_stats import pct, ratio_or_none, slope

SOAK_MIN_TURNS = 50


def _div(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _gap(t: dict[str, float], a: str, b: str) -> float | None:
    return round((t[b] - t[a]) * 1000.0, 1) if a in t and b in t else None


def _p50(rows: list[dict[str, float]], key: str) -> float | None:
    return pct([r[key] for r in rows if r.get(key) is not None], 50)


def skill_figures(answered: list[EngineTurn], enabled: bool = True) -> dict[str, Any]:
    """Voice-to-voice of the turns a local skill answered against those the LLM answered.

    The issue-13 bar: a skill's answer is no slower, voice to voice, than an ordinary one
    (``ratio_p50`` <= 1).  ``names`` is the skill of each skill turn, in the order played.
    """
    skill = [t for t in answered if t.skill is not None]
    llm = [t for t in answered if t.skill is None]

    def v2v(turns: list[EngineTurn]) -> list[float]:
        return [t.report["latency_ms"]["voice_to_voice"] for t in turns]

    s50, l50 = pct(v2v(skill), 50), pct(v2v(llm), 50)
    return {
        "enabled": enabled,
        "n": len(skill),
        "v2v_p50_ms": s50,
        "v2v_p95_ms": pct(v2v(skill), 95),
        "names": [t.skill for t in skill],
        "turns": [t.index + 1 for t in skill],
        "llm": {"n": len(llm), "v2v_p50_ms": l50, "v2v_p95_ms": pct(v2v(llm), 95)},
        "ratio_p50": _div(s50, l50),
    }


BUSY_MAX_MS = 3000.0  # issue 15: beside a busy core no turn over 3 s


def busy_figures(eng: EnginePhase, quiet_p50: float | None) -> dict[str, Any]:
    """The same questions played beside a process spinning on one core (``--busy``): p50, p95,
    the slowest turn, p50 / the quiet run's p50, and how many turns took over 3 s (or never
    answered)."""
    answered = [t for t in eng.turns if t.answered]
    v2v = [t.report["latency_ms"]["voice_to_voice"] for t in answered]
    p50 = pct(v2v, 50)
    missed = len(eng.turns) - len(answered)
    return {
        "turns": len(answered),
        "missed": missed,
        "voice_to_voice_ms": {"p50": p50, "p95": pct(v2v, 95), "max": round(max(v2v), 1) if v2v else None},
        "ratio_to_quiet_p50": _div(p50, quiet_p50),
        "turns_over_3s": sum(v > BUSY_MAX_MS for v in v2v) + missed,
        "llm_tokens_per_s": eng.llm_tokens_per_s,
    }


def summarize(
    settings: Settings,
    corpus: list[CorpusItem],
    eng: EnginePhase,
    base: list[BaselineTurn] | None,
    wake: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All the figures: the JSON document (``public``) and the details for the table and plot.

    ``wake``: the wake word model timed on the bench's audio (:func:`app.tools.bench_wake.measure_wake`)."""
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
                "skill": tr.skill,
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
        "skills": skill_figures(answered, settings.skills),
        "stages_ms": stages,
        "vad_ms_per_frame": eng.vad_ms_per_frame,
        "wake_ms_per_frame": wake_ms_per_frame(eng, wake),
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
            "stt_rtf": ratio_or_none(stt_s, aud),
            "llm_first_token_ms": pct([b.llm_first_token_ms for b in base_ok if b.llm_first_token_ms], 50),
            "llm_tokens_per_s": round(toks / dec, 1) if dec > 0 else None,
            "tts_rtf": ratio_or_none(tts_s, tts_a),
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
            "skills": settings.skills,
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
        "wake": {"engine_ms_per_frame": eng.wake_ms_per_frame, **(wake or {})},
        "llm_tokens_per_s_incl_prefill": eng.llm_tokens_per_s_incl_prefill,
        "ru_maxrss_mb": eng.ru_maxrss_mb,
        "cpu": eng.cpu,
        "engine_wall_s": eng.wall_s,
        "corpus": {
            "synth": sum(1 for c in corpus if c.source == "synth"),
            "recordings": sum(1 for c in corpus if c.source != "synth"),
        },
    }


def wake_ms_per_frame(eng: EnginePhase, wake: dict[str, Any] | None) -> float | None:
    """The wake word's cost per 32 ms frame: the engine's own counter when it ran in wake word
    mode, else the model scored on the bench's audio at real-time pace in the same run."""
    if eng.wake_ms_per_frame is not None:
        return eng.wake_ms_per_frame
    return (wake or {}).get("paced_ms_per_frame")


def soak_figures(eng: EnginePhase) -> dict[str, Any]:
    answered = [t for t in eng.turns if t.answered]
    # First-token figures over the LLM's turns: a skill's "first token" is its whole answer, at once.
    by_llm = [t for t in answered if t.skill is None]
    ft = [(t.index + 1, t.report["latency_ms"].get("llm_first_token")) for t in by_llm]
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
        for t in by_llm:
            v = t.report["latency_ms"].get("llm_first_token")
            if v is not None:
                first_seen.setdefault(t.item, (t.index, v))
        late = [
            (t.report["latency_ms"]["llm_first_token"], first_seen[t.item][1])
            for t in by_llm[-10:]
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
