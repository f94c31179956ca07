"""The end-of-turn judge on scripted pauses: words, Smart Turn's probability, the wait it picks."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.pipeline.endofturn import EndOfTurnJudge, JudgeParams

JUDGE = EndOfTurnJudge(JudgeParams(base_ms=700, speculative_pause_ms=64, quick_ms=300, patience_ms=2500))


@pytest.mark.parametrize(
    "text,p,wait,reason",
    [
        ("What is the capital of France?", 0.93, 300, "finished"),  # commit sooner than the silence rule
        ("And so, my fellow Americans,", 0.01, 2500, "unfinished"),  # hold a thinking pause
        ("I was thinking that maybe", 0.37, 2500, "unfinished"),
        ("Isolated tornadoes.", 0.99, 1200, "statement"),  # Smart Turn hears an end; it is not a request
        ("What is the capital of", 0.95, 979, "words unfinished, voice finished"),  # a missing "?"
        ("Set a timer.", 0.35, 489, "request, voice unsure"),
        ("Set a timer for", 0.35, 2500, "unfinished"),
        ("Thanks!", 0.8, 300, "finished"),
        ("What is the capital of France?", None, 489, "text complete"),  # no model: the rule of before
        ("What is the capital of", None, 979, "text incomplete"),
    ],
)
def test_the_wait_follows_the_audio_and_the_words(text, p, wait, reason):
    verdict = JUDGE.judge(text, p)
    assert (verdict.wait_ms, verdict.reason) == (wait, reason)


def test_a_finished_turn_is_never_committed_before_its_speculative_answer_can_be_ready():
    quick = EndOfTurnJudge(JudgeParams(quick_ms=50, speculative_pause_ms=200))
    assert quick.judge("Hello.", 0.99).wait_ms == 350


def test_patience_never_makes_the_wait_shorter_than_the_silence_rule():
    impatient = EndOfTurnJudge(JudgeParams(base_ms=1200, patience_ms=600))
    assert impatient.judge("and then", 0.01).wait_ms == 1200


def test_before_the_voice_is_heard_a_request_waits_no_less_than_the_text_rule():
    assert JUDGE.provisional("What is the capital of France?").wait_ms == 489
    assert JUDGE.provisional("Isolated tornadoes.") == JUDGE.judge("Isolated tornadoes.", 0.5)
    assert JUDGE.provisional("And so, my fellow").wait_ms == 2500


def test_patience_comes_from_the_settings():
    params = JudgeParams.from_settings(Settings(turn_patience_ms=3200, end_of_turn_silence_ms=800))
    assert params.patience_ms == 3200 and params.base_ms == 800
