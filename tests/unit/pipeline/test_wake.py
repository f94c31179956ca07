"""Wake word mode on fakes: the gate (what it admits, holds and drops), the wake phrase taken off
the words, and whole turns through the orchestrator (silent until called, the same breath, the
wake word alone then the request, follow-ups, the wake name, push-to-talk)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from app.config import Settings
from app.messages import FRAME, StateChanged, UserSpeechStarted, UserTurn
from app.pipeline.turns import Emit, SpeechStart, SpeechSustained
from app.pipeline.wake import NameCheck, WakeGate, WakeHeard, WakeParams, WakeSlept, strip_wake_words
from tests.fakes import LoudWake, ScriptedLlm, ScriptedStt, make_orchestrator, silence, speech
from tests.unit.pipeline.test_pipeline import events, feed, running, wait_for  # noqa: F401 - a fixture

FRAME_S = FRAME / 16000
QUIET = np.zeros(FRAME, np.float32)
LOUD = np.full(FRAME, 0.9, np.float32)


class ScriptedWake:
    phrase = "Hey Jarvis"
    cutoff = 0.9

    def __init__(self) -> None:
        self.next = 0.0
        self.resets = 0

    def score(self, frame: np.ndarray) -> float:
        return self.next

    def reset(self) -> None:
        self.resets += 1


def _gate(**kw) -> tuple[WakeGate, ScriptedWake, list[int]]:
    closed: list[int] = []
    det = ScriptedWake()
    return WakeGate(WakeParams(**kw), det, closed.append), det, closed


def _emit(kind: str, turn_id: int) -> Emit:
    return Emit(kind, turn_id, np.zeros(10, np.float32), 1.0, 2.0)


# ---------------------------------------------------------------- the gate


def test_a_turn_nobody_called_is_held_then_dropped_and_closed():
    gate, _det, closed = _gate()
    assert gate.filter([SpeechStart(1, 10.0), SpeechSustained(1, 10.3), _emit("speculative", 1)]) == []
    assert gate.filter([_emit("final", 1)]) == []
    assert closed == [1]


def test_a_wake_in_the_turn_lets_it_through_from_where_it_began():
    gate, det, _closed = _gate()
    gate.filter([SpeechStart(1, 10.0), _emit("partial", 1), SpeechSustained(1, 10.3)])
    det.next = 0.95
    out = gate.frame(QUIET, 10.6, turn_id=1)
    assert isinstance(out[0], WakeHeard) and out[0].turn_id == 1
    assert out[1:] == [SpeechStart(1, 10.0), SpeechSustained(1, 10.3)]  # early transcripts were of the phrase
    assert det.resets == 1
    final = _emit("final", 1)
    assert gate.filter([final]) == [final]


def test_one_phrase_wakes_once():
    gate, det, _ = _gate(refractory_s=1.0)
    det.next = 0.99
    heard = [e for i in range(20) for e in gate.frame(QUIET, 10 + i * FRAME_S, 0) if isinstance(e, WakeHeard)]
    assert len(heard) == 1
    assert gate.frame(QUIET, 11.1, 0)[0] == WakeHeard(0, 11.1, 0.99)  # a second call, later, wakes again


def test_below_the_threshold_nothing_wakes_and_the_threshold_is_the_models_unless_set():
    gate, det, _ = _gate()
    det.next = 0.89
    assert gate.frame(QUIET, 10.0, 0) == []
    assert gate.threshold == 0.9
    gate2, det2, _ = _gate(threshold=0.5)
    det2.next = 0.6
    assert isinstance(gate2.frame(QUIET, 10.0, 0)[0], WakeHeard)


def test_the_wake_word_alone_opens_a_window_for_the_request():
    gate, det, _ = _gate(listen_s=6.0)
    det.next = 0.95
    gate.frame(QUIET, 10.0, 0)
    det.next = 0.0
    start = SpeechStart(1, 14.0)
    assert gate.filter([start]) == [start]  # said within the window: admitted
    late = SpeechStart(2, 30.0)
    assert gate.filter([late]) == []


def test_follow_ups_within_the_window_need_no_wake_word_and_the_gate_says_when_it_sleeps():
    gate, _det, _ = _gate()
    gate.keep_awake(20.0)
    assert gate.filter([SpeechStart(1, 19.0)]) == [SpeechStart(1, 19.0)]
    assert gate.frame(QUIET, 19.5, 1) == []  # its turn keeps it awake
    out = gate.frame(QUIET, 21.0, 0)
    assert out == [WakeSlept(21.0)]
    assert gate.frame(QUIET, 21.1, 0) == []  # said once


def test_push_to_talk_is_admitted_without_the_wake_word():
    gate, _det, _ = _gate()
    gate.admit_next(50.0)
    assert gate.filter([SpeechStart(3, 50.0)]) == [SpeechStart(3, 50.0)]


def test_with_a_wake_name_an_uncalled_turn_is_transcribed_for_the_name_check():
    gate, _det, closed = _gate(by_name=True)
    gate.filter([SpeechStart(1, 10.0)])
    final = _emit("final", 1)
    assert gate.filter([final]) == [NameCheck(1), final]
    assert closed == []


def test_a_turn_the_model_nearly_woke_on_is_checked_on_its_words():
    gate, det, closed = _gate(verify_from=0.1)
    gate.filter([SpeechStart(1, 10.0)])
    det.next = 0.3  # below the threshold (0.9): no wake, but a second opinion
    assert gate.frame(QUIET, 10.4, turn_id=1) == []
    final = _emit("final", 1)
    assert gate.filter([final]) == [NameCheck(1), final]
    assert closed == [] and gate.verified == 1
    det.next = 0.05  # too little to ask: dropped as before
    gate.filter([SpeechStart(2, 20.0)])
    gate.frame(QUIET, 20.4, turn_id=2)
    assert gate.filter([_emit("final", 2)]) == [] and closed == [2]


def test_a_near_wake_just_before_the_turn_began_counts_for_it():
    gate, det, _closed = _gate(verify_from=0.1)
    det.next = 0.2
    gate.frame(QUIET, 10.0, turn_id=0)
    det.next = 0.0
    gate.filter([SpeechStart(1, 10.5)])
    final = _emit("final", 1)
    assert gate.filter([final]) == [NameCheck(1), final]


# ---------------------------------------------------------------- the words


@pytest.mark.parametrize(
    ("text", "phrases", "found", "rest"),
    [
        ("Hey Jarvis, what time is it?", ["Hey Jarvis"], True, "what time is it?"),
        ("hey jarvis what time is it", ["Hey Jarvis"], True, "what time is it"),
        ("Hey, Jervis. Set a timer.", ["Hey Jarvis"], True, "Set a timer."),
        ("Heyjarvis, stop.", ["Hey Jarvis"], True, "stop."),
        ("Hey Jarvis.", ["Hey Jarvis"], True, ""),
        ("Okay, hey Jarvis, what's the date?", ["Hey Jarvis"], True, "what's the date?"),
        ("Alexa, what time is it?", ["Alexa"], True, "what time is it?"),
        ("Hearken, how are you?", ["Hey Jarvis", "Hearken"], True, "how are you?"),
        ("Harken, how are you?", ["Hearken"], True, "how are you?"),
        ("Hear ken, how are you?", ["Hearken"], True, "how are you?"),
        ("I asked Jarvis about it yesterday.", ["Hey Jarvis"], False, "I asked Jarvis about it yesterday."),
        ("What time is it?", ["Hey Jarvis", "Hearken"], False, "What time is it?"),
        ("Hey, what's up?", ["Hey Jarvis"], False, "Hey, what's up?"),
        ("Parker said hello.", ["Hearken"], False, "Parker said hello."),
    ],
)
def test_the_wake_words_come_off_the_front(text, phrases, found, rest):
    assert strip_wake_words(text, phrases) == (found, rest)


# ---------------------------------------------------------------- whole turns

WAKE_SETTINGS = {"end_of_turn_silence_ms": 300, "speculative_pause_ms": 150, "mode": "wake"}


def _wake_call() -> np.ndarray:
    """The "wake phrase" (loud, see LoudWake) and the request, in one breath."""
    return np.concatenate([speech(0.4, amp=0.9), speech(0.9)])


def test_silent_until_called_then_the_request_in_the_same_breath(running):  # noqa: F811
    llm = ScriptedLlm()
    stt = ScriptedStt(["Hey Jarvis, what is the capital of France?"])
    orch = running(make_orchestrator(stt=stt, llm=llm, settings=Settings(**WAKE_SETTINGS), wake=LoudWake))
    wait_for(lambda: orch.state == "waiting", 5)
    feed(orch, np.concatenate([silence(0.3), speech(1.0), silence(1.0)]))  # nobody called
    seen = events(orch)
    assert not [e for e in seen if isinstance(e, UserSpeechStarted | UserTurn)]
    assert stt.calls == [] and orch.finished == []
    feed(orch, np.concatenate([_wake_call(), silence(1.2)]))
    wait_for(lambda: orch.finished, 10)
    rep = orch.finished[0]
    assert rep["user_text"] == "what is the capital of France?"
    assert llm.prompts[-1][-1]["content"].endswith("what is the capital of France?")
    seen = events(orch)
    assert any(isinstance(e, WakeHeard) for e in seen)
    assert [e.state for e in seen if isinstance(e, StateChanged)][:1] == ["listening"]


def test_the_wake_word_alone_chimes_then_the_request_is_answered(running):  # noqa: F811
    sounds: list[str] = []

    def sound(name: str, rate: int) -> np.ndarray:
        sounds.append(name)
        return np.full(rate // 10, 0.1, np.float32)

    stt = ScriptedStt(["Hey Jarvis.", "What is the capital of France?"])
    orch = running(make_orchestrator(stt=stt, settings=Settings(**WAKE_SETTINGS), wake=LoudWake, sound=sound))
    feed(orch, np.concatenate([silence(0.2), speech(0.5, amp=0.9), silence(1.0)]))
    wait_for(lambda: sounds == ["wake"], 5)
    assert orch.finished == []
    feed(orch, np.concatenate([speech(1.0), silence(1.2)]))  # no wake word: within the window
    wait_for(lambda: orch.finished, 10)
    assert orch.finished[0]["user_text"] == "What is the capital of France?"


class LengthStt(ScriptedStt):
    """Says what was said by how long it was (speculative and final transcripts agree)."""

    def __init__(self, by_seconds: dict[float, str]) -> None:
        super().__init__()
        self.by_seconds = by_seconds

    def transcribe(self, audio, *, hotwords: str = "", word_timestamps: bool = False):
        res = super().transcribe(audio)
        secs = len(audio) / 16000
        text = min(self.by_seconds.items(), key=lambda kv: abs(kv[0] - secs))[1]
        return dataclasses.replace(res, text=text)


def test_a_follow_up_needs_no_wake_word_until_the_window_closes(running):  # noqa: F811
    stt = LengthStt({1.6: "Hey Jarvis, what is the capital of France?", 1.1: "And of Spain?", 0.6: "Italy?"})
    settings = Settings(**WAKE_SETTINGS, wake_followup_s=1.5)
    orch = running(make_orchestrator(stt=stt, settings=settings, wake=LoudWake))
    feed(orch, np.concatenate([_wake_call(), silence(1.2)]))
    wait_for(lambda: orch.finished, 10)
    wait_for(lambda: orch.state == "listening", 5)
    feed(orch, np.concatenate([silence(0.2), speech(0.8), silence(1.0)]))
    wait_for(lambda: len(orch.finished) == 2, 10)
    assert orch.finished[1]["user_text"] == "And of Spain?"
    feed(orch, silence(2.0))  # the microphone goes on: the gate sees the window close
    wait_for(lambda: orch.state == "waiting", 5)
    feed(orch, np.concatenate([speech(0.6), silence(1.0)]))
    assert len(orch.finished) == 2  # the window had closed: not called, not heard


def test_the_wake_name_is_matched_on_the_words(running):  # noqa: F811
    stt = ScriptedStt(["What time is it over there?", "Hearken, what is the capital of France?"])
    settings = Settings(**WAKE_SETTINGS, wake_name="Hearken")
    orch = running(make_orchestrator(stt=stt, settings=settings))  # no wake word model at all
    feed(orch, np.concatenate([silence(0.2), speech(1.0), silence(1.0)]))
    wait_for(lambda: len(stt.calls) >= 1, 5)
    assert orch.finished == []
    feed(orch, np.concatenate([speech(1.0), silence(1.2)]))
    wait_for(lambda: orch.finished, 10)
    assert orch.finished[0]["user_text"] == "what is the capital of France?"
    assert [e.text for e in events(orch) if isinstance(e, UserTurn)] == ["what is the capital of France?"]


def test_push_to_talk_works_in_wake_word_mode(running):  # noqa: F811
    orch = running(make_orchestrator(settings=Settings(**WAKE_SETTINGS), wake=LoudWake))
    orch.push_to_talk(True)
    feed(orch, speech(0.8))
    orch.push_to_talk(False)
    feed(orch, silence(0.8))
    wait_for(lambda: orch.finished, 10)
    assert orch.finished[0]["user_text"] == "what is the capital of france?"
