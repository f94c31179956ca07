"""Turn taking on real recordings and the real models: never answer into a pause, each turn once."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.audio.io import load_speech
from app.config import Settings
from app.engine import build_engine
from app.engines import registry
from app.filemode import run_files
from app.pipeline.endofturn import EndOfTurnJudge, JudgeParams
from app.tools import bench_turns
from tests.conftest import DATA

pytestmark = pytest.mark.integration


def one_conversation(name: str) -> dict:
    engine = build_engine(Settings(max_reply_tokens=24))
    return run_files(engine, [load_speech(DATA / name)], realtime=True)


def test_a_sentence_with_a_thinking_pause_is_one_turn_with_its_words_once():
    """ibm_pause_heavy_rain.wav: 'Isolated tornadoes ... and heavy rain.' with a 0.85 s pause."""
    report = one_conversation("ibm_pause_heavy_rain.wav")
    answered = [t for t in report["turns"] if not t.get("dropped")]
    assert len(answered) == 1, [t["user_text"] for t in answered]
    (turn,) = answered
    text = turn["user_text"].lower()
    assert "tornado" in text and "heavy rain" in text, text
    assert text.count("tornado") == 1, text  # the words once, not "Isolated tornadoes. Isolated tornadoes."
    assert not turn["interrupted"] and turn["assistant_text"]
    reasons = [v["reason"] for v in turn["end_of_turn"]]
    assert reasons and reasons[0] != "finished", turn["end_of_turn"]  # the pause was held, not committed


def test_a_read_sentence_is_one_turn():
    report = one_conversation("ibm_thunderstorms.wav")
    answered = [t for t in report["turns"] if not t.get("dropped")]
    assert len(answered) == 1 and "thunderstorm" in answered[0]["user_text"].lower()
    assert answered[0]["assistant_text"]


@pytest.fixture(scope="module")
def engines():
    s = Settings()
    vad, stt, turn = registry.build("vad", s), registry.build("stt", s), registry.build("turn", s)
    stt.warm_up()
    turn.warm_up()
    return s, vad, stt, turn


def test_the_study_sees_the_pause_and_the_judge_holds_it(engines):
    s, vad, stt, turn = engines
    pauses = bench_turns.measure(
        "pause heavy rain", "real", load_speech(DATA / "ibm_pause_heavy_rain.wav"), s, vad, stt, turn
    )
    mid = [p for p in pauses if p.mid]
    end = [p for p in pauses if not p.mid]
    assert len(mid) == 1 and 700 <= mid[0].length_ms <= 1000  # the 0.85 s pause, seen whole
    assert "tornado" in mid[0].text.lower() and mid[0].p_complete is not None
    assert len(end) == 1 and "rain" in end[0].text.lower()
    judge = EndOfTurnJudge(JudgeParams.from_settings(s))
    held = bench_turns.committed_after_ms(mid[0], judge, use_model=True, settings=s)
    assert held > mid[0].length_ms  # the judge waits past the pause
    before = bench_turns.decide(pauses, s, use_model=False, answer_ms=0.0)
    now = bench_turns.decide(pauses, s, use_model=True, answer_ms=0.0)
    assert before["cut_offs"]["real"]["cut"] == 1 and now["cut_offs"]["real"]["cut"] == 0


def test_a_thinking_pause_in_a_different_voice_is_held(engines):
    s, vad, stt, turn = engines
    first = bench_turns._espeak("And so, my fellow Americans,")
    rest = bench_turns._espeak("ask not what your country can do for you.")
    if first is None or rest is None:
        pytest.fail("espeak-ng is needed (apt-get install espeak-ng)")
    gap = np.zeros(int(1.2 * 16000), np.float32)
    audio = np.concatenate([bench_turns._trim(first), gap, bench_turns._trim(rest)])
    pauses = bench_turns.measure("fellow Americans", "natural", audio, s, vad, stt, turn)
    judge = EndOfTurnJudge(JudgeParams.from_settings(s))
    for p in pauses:
        if p.mid and p.length_ms > 600:
            assert bench_turns.committed_after_ms(p, judge, use_model=True, settings=s) > p.length_ms, p
    assert any(p.mid and p.length_ms > 1000 for p in pauses) and any(p.length_ms == math.inf for p in pauses)
