"""The bench's soak arithmetic on made-up turns (the real run is in tests/integration/test_bench.py)."""

from __future__ import annotations

from types import SimpleNamespace

from app.tools.bench_path import EngineTurn
from app.tools.bench_summary import soak_figures


def _turn(index: int, item: int, first_token: float) -> EngineTurn:
    return EngineTurn(index, item, {"latency_ms": {"voice_to_voice": 600.0, "llm_first_token": first_token}})


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
