"""The bench's soak arithmetic on made-up turns (the real run is in tests/integration/test_bench.py)."""

from __future__ import annotations

from types import SimpleNamespace

from app.tools.bench_path import EngineTurn
from app.tools.bench_summary import skill_figures, soak_figures
from app.tools.bench_table import _skill_rows


def _turn(index: int, item: int, first_token: float) -> EngineTurn:
    return EngineTurn(index, item, {"latency_ms": {"voice_to_voice": 600.0, "llm_first_token": first_token}})



def _phase(turns: list):
    """An engine phase of ``turns`` with plain figures for everything else."""
    from app.tools.bench_engine import EnginePhase

    return EnginePhase(
        turns=turns,
        missed=[],
        report={},
        cold_start_s=1.0,
        peak_rss_mb=900.0,
        ru_maxrss_mb=900.0,
        rss_per_turn=[],
        vad_ms_per_frame=0.1,
        vad_lib_ms_per_frame=0.1,
        stt_rtf=0.1,
        tts_rtf=0.1,
        llm_tokens_per_s=20.0,
        llm_tokens_per_s_incl_prefill=15.0,
        overhead={},
        cpu={"load_start": [0.5], "load_end": [0.6], "other_processes_pct": 1.0, "own_pct": 90.0},
        wall_s=10.0,
    )

def test_soak_compares_the_last_turns_with_the_same_questions_asked_first():
    # 50 turns over 20 questions; question q costs 50 + 5q ms at first and 10 % more later on,
    # except turn 50, which is slow on its own (a one-off).
    turns = [_turn(i, i % 20, (50 + 5 * (i % 20)) * (1.1 if i >= 20 else 1.0)) for i in range(50)]
    turns[-1].report["latency_ms"]["llm_first_token"] = 500.0
    rss = [(i + 1, 1000.0 + (30.0 if i >= 25 else 0.0)) for i in range(50)]
    phase = SimpleNamespace(turns=turns, rss_per_turn=rss)
    out = soak_figures(phase)  # type: ignore[arg-type]
    ft = out["llm_first_token_ms"]
    assert ft["turn_first"] == 50.0 and ft["turn_last"] == 500.0 and ft["ratio"] == 10.0
    same = ft["same_questions"]
    assert same["turns"] == 10  # turns 41-50 are questions 0-9 again
    late = [(50 + 5 * q) * 1.1 for q in range(9)] + [500.0]
    assert same["mean_late"] == round(sum(late) / 10, 1)
    assert same["mean_first_time"] == round(sum(50 + 5 * q for q in range(10)) / 10, 1)
    assert out["rss_mb"]["growth_pct"] == 3.0
    assert out["drift"]["llm_first_token_ms_per_turn"] > 0


def _answer(index: int, v2v: float, skill: str | None = None, first_token: float = 80.0) -> EngineTurn:
    report = {
        "latency_ms": {"voice_to_voice": v2v, "llm_first_token": 0.1 if skill else first_token},
        "skill": {"name": skill, "args": {}, "result": {}} if skill else None,
    }
    return EngineTurn(index, index, report)


def test_skill_answers_are_set_against_llm_answers():
    turns = [
        _answer(0, 600.0),
        _answer(1, 640.0),
        _answer(2, 400.0, "timer"),
        _answer(3, 700.0),
        _answer(4, 800.0),
        _answer(5, 440.0, "reminder"),
    ]
    out = skill_figures(turns)
    assert out["enabled"] is True
    assert out["n"] == 2 and out["names"] == ["timer", "reminder"] and out["turns"] == [3, 6]
    assert out["v2v_p50_ms"] == 420.0 and out["v2v_p95_ms"] == 438.0
    assert out["llm"] == {"n": 4, "v2v_p50_ms": 670.0, "v2v_p95_ms": 785.0}
    assert out["ratio_p50"] == round(420.0 / 670.0, 3)
    none = skill_figures([_answer(0, 600.0)], enabled=False)
    assert none["n"] == 0 and none["v2v_p50_ms"] is None and none["ratio_p50"] is None


def test_table_prints_skill_and_llm_lines_with_the_skills_setting():
    sk = skill_figures([_answer(0, 600.0), _answer(1, 400.0, "convert")])
    lines = _skill_rows(sk)
    assert lines[0][0] == "  skill answers (1: convert) p50 / p95" and lines[0][1] == "400 ms / 400 ms"
    assert lines[1][1].endswith("; 0.667") and lines[1][3] == "ok"
    assert _skill_rows({**sk, "enabled": False}) == []


def test_soak_first_token_leaves_skill_turns_out():
    # Every fifth turn is a skill whose "first token" is its whole answer at once: it must not
    # pull the LLM's first-token means down.
    turns = [_answer(i, 600.0, "timer" if i % 5 == 2 else None) for i in range(50)]
    out = soak_figures(SimpleNamespace(turns=turns, rss_per_turn=[]))  # type: ignore[arg-type]
    ft = out["llm_first_token_ms"]
    assert ft["mean_first5"] == 80.0 and ft["mean_last5"] == 80.0 and ft["ratio_mean5"] == 1.0


def test_summary_json_and_table_carry_the_skill_figures():
    from app.config import Settings
    from app.tools.bench_summary import summarize
    from app.tools.bench_table import format_table

    turns = [_answer(0, 600.0), _answer(1, 420.0, "timer"), _answer(2, 700.0)]
    for t in turns:
        t.report.update(user_text="q", assistant_full_text="a")
    eng = _phase(turns)
    corpus = [SimpleNamespace(name=f"q{i}", source="synth") for i in range(3)]
    summary = summarize(Settings(), corpus, eng, None)  # type: ignore[arg-type]
    sk = summary["public"]["skills"]
    assert sk["n"] == 1 and sk["names"] == ["timer"] and sk["llm"]["n"] == 2
    assert sk["ratio_p50"] == round(420.0 / 650.0, 3)
    assert [r["skill"] for r in summary["per_turn"]] == [None, "timer", None]
    table = format_table(summary)
    assert "settings: skills on" in table
    assert "skill answers (1: timer) p50 / p95" in table and "LLM answers (2)" in table
    assert "[skill timer]" in table
    off = format_table(summarize(Settings(skills=False), corpus, eng, None))  # type: ignore[arg-type]
    assert "settings: skills off" in off and "skill answers" not in off


def test_summary_and_table_carry_the_wake_word_cost():
    from dataclasses import replace

    from app.config import Settings
    from app.tools.bench_summary import summarize
    from app.tools.bench_table import format_table

    turns = [_answer(0, 600.0)]
    turns[0].report.update(user_text="q", assistant_full_text="a")
    eng = _phase(turns)
    corpus = [SimpleNamespace(name="q0", source="synth")]
    wake = {
        "model": "hey_jarvis",
        "paced_frames": 312,
        "paced_ms_per_frame": 0.21,
        "paced_ms_p99": 0.42,
        "back_to_back_frames": 1500,
        "back_to_back_ms_per_frame": 0.12,
        "back_to_back_ms_p99": 0.3,
    }
    # not in wake word mode: the model timed alone at real-time pace is the figure
    summary = summarize(Settings(), corpus, eng, None, wake)  # type: ignore[arg-type]
    assert summary["public"]["wake_ms_per_frame"] == 0.21
    assert summary["wake"]["engine_ms_per_frame"] is None and summary["wake"]["model"] == "hey_jarvis"
    table = format_table(summary)
    assert "wake word per 32 ms frame" in table and "0.210 ms" in table
    assert "wake word (hey_jarvis)" in table and "back to back 0.120 ms (p99 0.300 ms)" in table
    # in wake word mode the engine's own counter wins
    summary = summarize(Settings(), corpus, replace(eng, wake_ms_per_frame=0.25), None, wake)  # type: ignore[arg-type]
    assert summary["public"]["wake_ms_per_frame"] == 0.25
    assert "in the engine 0.250 ms per frame" in format_table(summary)
    # no wake model at all: said so, and the figure is empty
    summary = summarize(Settings(), corpus, eng, None, {"model": None, "error": "no wake word model"})  # type: ignore[arg-type]
    assert summary["public"]["wake_ms_per_frame"] is None
    assert "wake word not timed: no wake word model" in format_table(summary)


def test_busy_run_is_set_against_the_quiet_p50_and_counts_slow_or_lost_turns():
    from app.tools.bench_summary import busy_figures
    from app.tools.bench_table import _busy_rows

    turns = [_answer(0, 700.0), _answer(1, 800.0), _answer(2, 3500.0), EngineTurn(3, 3, {})]
    busy = busy_figures(_phase(turns), quiet_p50=640.0)
    assert busy["turns"] == 3 and busy["missed"] == 1
    assert busy["voice_to_voice_ms"]["p50"] == 800.0 and busy["voice_to_voice_ms"]["max"] == 3500.0
    assert busy["ratio_to_quiet_p50"] == 1.25
    assert busy["turns_over_3s"] == 2  # the 3.5 s turn and the one never answered
    rows = {name.strip(): (val, mark) for name, val, _, mark in _busy_rows(busy)}
    assert rows["busy p50 / quiet p50"] == ("1.25x", "ok")
    assert rows["turns over 3 s or unanswered"] == ("2", "!!")
    assert _busy_rows(None) == []
