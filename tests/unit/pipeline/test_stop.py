""" "Stop" always stops: what counts as a stop command, and on fakes: a short "stop" while the
assistant speaks ends the answer (it is no backchannel) and is never answered, also in wake
word mode without the wake word, and a burst the barge-in classifier hears as "stop" stops at once."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import Settings
from app.messages import Interrupted, TurnDone
from app.pipeline.bargein import BackchannelClassifier, is_interjection, is_stop_command
from tests.fakes import LoudWake, ScriptedLlm, ScriptedStt, ToneTts, make_orchestrator, silence, speech
from tests.unit.pipeline.test_pipeline import events, feed, running, wait_for  # noqa: F401 - a fixture

LONG = " ".join(f"Sentence number {i} of a long answer." for i in range(12))


@pytest.mark.parametrize(
    "text",
    [
        "Stop.",
        "Stop!",
        "stop, stop, stop",
        "Stop it.",
        "Okay, stop.",
        "Stop, please.",
        "Be quiet, please.",
        "Shut up!",
        "Cancel.",
        "That's enough.",
        "Never mind.",
        "Stopp.",
        "Top.",
        "Quiet.",
        "Cancelled.",
    ],
)
def test_stop_commands(text):
    assert is_stop_command(text)


@pytest.mark.parametrize(
    "text",
    [
        "Stop the timer.",
        "Stop, what is the capital of Spain?",
        "Cancel my reminder at six.",
        "Don't stop.",
        "The bus stop is around the corner.",
        "Quietly.",
        "Shop.",
        "",
        "Thank you.",
    ],
)
def test_requests_that_mention_stopping_are_not_stop_commands(text):
    assert not is_stop_command(text)


def test_the_users_own_stop_words():
    assert is_stop_command("That will do, thanks.", "that will do, off you go")
    assert is_stop_command("Off you go!", ["that will do", "off you go"])
    assert not is_stop_command("That will do, thanks.")


@pytest.mark.parametrize(
    "text",
    [
        "Let's hop.",
        "I'm talking.",
        "They have talking.",
        "Wait.",
        "No, no.",
        "Thanks, Tod.",
        "Why?",
        "Can solve",
        "What?",
    ],
)
def test_a_few_words_that_ask_nothing_are_an_interjection(text):
    assert is_interjection(text)  # how "stop" comes out of the echo canceller and Whisper


@pytest.mark.parametrize(
    "text",
    [
        "What up?",
        "What is the capital of Spain",
        "Tell me more.",
        "Set a timer.",
        "Can you?",
        "Is it?",
        "",
        "Paris, London, Rome and Berlin.",
    ],
)
def test_questions_requests_and_sentences_are_no_interjection(text):
    assert not is_interjection(text)


def _settings(**kw) -> Settings:
    # a "stop" (250 ms) is a turn but too short to barge in by its length alone
    base = {"end_of_turn_silence_ms": 300, "speculative_pause_ms": 150, "min_speech_ms": 96}
    return Settings(**{**base, "barge_in_min_speech_ms": 600, **kw})


def _stop_while_speaking(orch) -> None:
    feed(orch, np.concatenate([silence(0.3), speech(0.8), silence(0.6)]))
    wait_for(lambda: orch.state == "speaking", 10)
    feed(orch, np.concatenate([speech(0.25), silence(0.8)]))
    wait_for(lambda: orch.finished and orch.is_idle(), 20)


def _said_over_the_answer(running, words: str) -> tuple:  # noqa: F811
    """A question, a long answer, and ``words`` said (briefly) while it plays: (orchestrator, LLM)."""
    llm = ScriptedLlm(reply=LONG)
    stt = ScriptedStt(["What is the capital of France?", "What is the capital of France?", words])
    orch = running(make_orchestrator(stt=stt, llm=llm, tts=ToneTts(0.08), settings=_settings()))
    _stop_while_speaking(orch)
    return orch, llm


def test_a_short_stop_while_speaking_ends_the_answer_and_is_never_answered(running):  # noqa: F811
    orch, llm = _said_over_the_answer(running, "Stop.")
    assert len(orch.finished) == 1 and orch.finished[0]["interrupted"]
    seen = events(orch)
    assert any(isinstance(e, Interrupted) and e.reason == "stop command" for e in seen)
    dropped = [e.metrics["dropped"] for e in seen if isinstance(e, TurnDone) and e.metrics["dropped"]]
    assert dropped and "stop command" in dropped[0]
    assert all("Stop" not in m.content for m in orch.memory.snapshot())  # not in what the LLM sees
    assert len([p for p in llm.prompts if p[-1]["content"] == "Stop."]) == 0


def test_a_stop_in_wake_word_mode_needs_no_wake_word(running):  # noqa: F811
    stt = ScriptedStt(
        ["Hey Jarvis, what is the capital of France?", "Hey Jarvis, what is the capital of France?", "Stop."]
    )
    orch = running(
        make_orchestrator(
            stt=stt,
            llm=ScriptedLlm(reply=LONG),
            tts=ToneTts(0.08),
            settings=_settings(mode="wake"),
            wake=LoudWake,
        )
    )
    feed(orch, np.concatenate([silence(0.3), speech(0.4, amp=0.9), speech(0.5), silence(0.6)]))
    wait_for(lambda: orch.state == "speaking", 10)
    feed(orch, np.concatenate([speech(0.25), silence(0.8)]))
    wait_for(lambda: orch.finished and orch.is_idle(), 20)
    assert len(orch.finished) == 1 and orch.finished[0]["interrupted"]


def test_nothing_to_stop_is_still_no_question(running):  # noqa: F811
    llm = ScriptedLlm()
    orch = running(make_orchestrator(stt=ScriptedStt(["Be quiet."]), llm=llm, settings=_settings()))
    feed(orch, np.concatenate([silence(0.3), speech(0.6), silence(1.0)]))
    wait_for(lambda: any(isinstance(e, TurnDone) for e in events(orch)), 10)
    assert orch.finished == []
    assert all(p[-1]["content"] != "Be quiet." for p in llm.prompts)


class _Whisper:
    def __init__(self, text: str) -> None:
        self.text = text

    def transcribe(self, audio, *, hotwords: str = ""):
        from app.engines.stt import SttResult

        return SttResult(self.text, (), 0.01, -0.2, "en", 0.0)


def test_the_classifier_stops_the_engine_when_a_short_burst_says_stop():
    stopped: list[str] = []
    clf = BackchannelClassifier(lambda: _Whisper("Stop!"), on_stop=stopped.append)
    clf._loading.join(5)
    assert clf(np.zeros(8000, np.float32)) is False  # released to the VAD as well
    assert stopped == ["Stop!"]
    yeah = BackchannelClassifier(lambda: _Whisper("Yeah."), on_stop=stopped.append)
    yeah._loading.join(5)
    assert yeah(np.zeros(8000, np.float32)) is True and stopped == ["Stop!"]


def test_a_misheard_stop_over_the_answer_stops_it_and_is_not_answered(running):  # noqa: F811
    orch, llm = _said_over_the_answer(running, "Let's hop.")
    assert len(orch.finished) == 1 and orch.finished[0]["interrupted"]
    dropped = [e.metrics["dropped"] for e in events(orch) if isinstance(e, TurnDone) and e.metrics["dropped"]]
    assert dropped and "interjection" in dropped[0]
    assert all(p[-1]["content"] != "Let's hop." for p in llm.prompts)


def test_the_same_words_with_nothing_playing_are_answered(running):  # noqa: F811
    llm = ScriptedLlm()
    orch = running(make_orchestrator(stt=ScriptedStt(["Let's hop."]), llm=llm, settings=_settings()))
    feed(orch, np.concatenate([silence(0.3), speech(0.6), silence(1.0)]))
    wait_for(lambda: orch.finished and orch.is_idle(), 10)
    assert len(orch.finished) == 1 and not orch.finished[0]["interrupted"]


def test_odd_words_over_the_answer_stop_it_unless_they_are_its_echo_or_a_backchannel():
    from app.pipeline.bargein import is_echo_of, is_known_backchannel

    reply = "Once upon a time, a brave little dragon named Ember lived on a mountain."
    assert is_echo_of("a brave dragon", reply) and is_echo_of("Ember live", reply)
    assert not is_echo_of("and assault", reply)
    assert is_known_backchannel("Mm-hmm, yeah.") and is_known_backchannel("")
    assert not is_known_backchannel("and assault")

    def judge(text: str) -> tuple[bool, list[str]]:
        stopped: list[str] = []
        clf = BackchannelClassifier(lambda: _Whisper(text), on_stop=stopped.append, reply_text=lambda: reply)
        clf._loading.join(5)
        return clf(np.zeros(8000, np.float32)), stopped

    assert judge("and assault") == (False, ["and assault"])  # "Cancel." through the echo canceller
    assert judge("little dragon") == (True, [])  # the assistant's own voice
    assert judge("Yeah, okay.") == (True, [])
    assert judge("What is that?") == (False, [])  # a question: released to the VAD, answered there


def test_hotwords_are_short_sentences_so_whisper_keeps_its_full_stops():
    from app.pipeline.bargein import STOP_HOTWORDS, hotword_prompt

    assert hotword_prompt("ComfyUI, Kubernetes", ["Alexa"], STOP_HOTWORDS, "enough talking, Stop") == (
        "ComfyUI. Kubernetes. Alexa. Stop. Cancel. Be quiet. enough talking."
    )
    assert hotword_prompt("", ()) == ""


def test_the_engine_expects_stop_words_only_around_an_answer(running):  # noqa: F811
    orch = running(make_orchestrator(settings=_settings(hotwords="Kubernetes", mode="wake"), wake=LoudWake))
    wait_for(lambda: orch.vad_worker.gate is not None and orch.vad_worker.gate.detector is not None, 10)
    assert orch.hotwords() == "Kubernetes. Hey Jarvis."  # no answer under way: no stop words
    orch._interrupted_at = __import__("time").perf_counter()  # the user just stopped one
    assert orch.hotwords().endswith("Stop. Cancel. Be quiet.")
