"""Barge-in: the engine's decision, the gate on scripted echo-processor frames, the words of a burst."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio.aec import FRAME
from app.audio.echo import FRAME_S, Frame
from app.pipeline.bargein import (
    BargeInGate,
    Decision,
    GateParams,
    GateState,
    UserEvent,
    decide,
    is_backchannel,
)

# ====================================================================== the decision


@pytest.mark.parametrize(
    "event,active,sustained,speculating,expected",
    [
        (UserEvent.SUSTAINED, True, True, False, Decision.INTERRUPT),
        (UserEvent.SUSTAINED, False, True, False, Decision.CONTINUE),
        (UserEvent.RESUMED, False, False, True, Decision.DROP_SPECULATION),
        (UserEvent.RESUMED, False, False, False, Decision.CONTINUE),
        (UserEvent.TRANSCRIPT, True, False, False, Decision.BACKCHANNEL),
        (UserEvent.TRANSCRIPT, True, True, False, Decision.CONTINUE),  # it interrupted: a real turn
        (UserEvent.TRANSCRIPT, False, False, False, Decision.CONTINUE),
    ],
)
def test_what_the_users_speech_does_to_the_assistant(event, active, sustained, speculating, expected):
    got = decide(event, assistant_active=active, turn_sustained=sustained, speculating=speculating)
    assert got is expected


def test_gate_states_read_as_their_names():
    assert GateState.HOLD == "hold" and str(GateState.RELEASED) == "released"


# ====================================================================== the gate


class Scripted:
    """Stands in for the processor: yields the frames a test scripts (near end or not, playing or not)."""

    def __init__(self) -> None:
        self.next: list[Frame] = []

    def process(self, samples: np.ndarray, t: float) -> list[Frame]:
        out, self.next = self.next, []
        return out

    def push_reference(self, *a) -> None:
        pass


def drive(front: BargeInGate, script: Scripted, pattern: str, t0: float = 0.0) -> float:
    """``pattern``: one char per 16 ms frame while playing: 'n' the user (louder than the echo
    could be), 'w' near end no louder than the echo, '.' echo or quiet."""
    t = t0
    for ch in pattern:
        near = ch in "nw"
        script.next = [Frame(np.full(FRAME, 0.1, np.float32), t, near, True, near, ch == "n")]
        front.on_mic(np.zeros(FRAME, np.float32), t)
        t += FRAME_S
    return t


def gate(classify=None, **kw):
    script = Scripted()
    fed: list[tuple[np.ndarray, float]] = []
    state = {"gen": 0, "ptt": False, "active": True}
    front = BargeInGate(
        script,  # type: ignore[arg-type]
        lambda s, t: fed.append((s, t)),
        params=GateParams(**kw),
        generation=lambda: state["gen"],
        ptt_active=lambda: state["ptt"],
        reply_active=lambda: state["active"],
        classify=classify,
    )
    return front, script, fed, state


def test_near_end_pauses_playback_and_a_short_burst_is_forgotten():
    front, script, fed, _ = gate()
    t = drive(front, script, "." * 20)
    assert not front.paused and len(fed) == 20 - 14  # while playing the VAD is fed a little late
    t_first = t
    t = drive(front, script, "nn", t)
    assert front.paused and front.state == "hold"
    t_end = drive(front, script, "nnnnnnnnnnnn", t)  # a 0.22 s "mm-hmm" ...
    drive(front, script, "." * 20, t_end)  # ... then quiet
    assert not front.paused and front.state == "pass"
    assert front.stats.backchannels == 1 and front.stats.releases == 0
    burst = [s for s, t in fed if t_first - 1e-9 <= t < t_end]
    assert len(burst) == 14 and all(not s.any() for s in burst)  # the VAD heard silence, not the backchannel
    times = [t for _, t in fed]
    assert np.allclose(np.diff(times), FRAME_S)  # and its timeline has no hole, nor a repeat


def test_sustained_speech_is_released_to_the_vad_and_the_interrupt_unpauses():
    front, script, fed, state = gate(backchannel_ms=400)
    drive(front, script, "...")
    t = drive(front, script, "n" * 30, 3 * FRAME_S)
    assert front.state == "released" and front.stats.releases == 1
    assert all(s.any() for s, _ in fed[3:])  # the user's words, in order
    assert front.paused  # still silent while the engine decides
    state["gen"] += 1  # the engine interrupted
    drive(front, script, "n", t)
    assert not front.paused and front.state == "pass"


def test_released_but_not_taken_as_speech_resumes():
    front, script, fed, _ = gate(backchannel_ms=200, resume_after_s=0.5)
    drive(front, script, "n" * 20 + "." * 60)
    assert front.stats.resumed_after_release == 1 and not front.paused


def test_a_short_answer_after_the_reply_ended_is_released_not_dropped():
    front, script, fed, state = gate()
    state["active"] = False  # the reply has finished playing (only its echo tail remains)
    drive(front, script, "nnnnnn" + "." * 25)
    assert front.stats.backchannels == 0 and front.stats.releases == 1
    assert any(s.any() for s, _ in fed)


def test_push_to_talk_bypasses_the_gate():
    front, script, fed, state = gate()
    state["ptt"] = True
    drive(front, script, "nnnnn")
    assert not front.paused and all(s.any() for s, _ in fed)


def test_near_end_no_louder_than_the_echo_must_last_longer_to_pause():
    front, script, fed, _ = gate()
    drive(front, script, "wwwww.")  # 80 ms of "maybe the user": could be residual echo
    assert not front.paused and front.stats.pauses == 0
    drive(front, script, "wwwwwwww", 6 * FRAME_S)
    assert front.paused


def _wait_for(pred, front, script, t):
    import time

    deadline = time.monotonic() + 5
    while not pred():
        assert time.monotonic() < deadline
        t = drive(front, script, ".", t)
        time.sleep(0.005)
    return t


def test_a_short_word_that_matters_is_released_and_a_backchannel_is_not():
    said = {"text": "stop"}
    judged: list[int] = []

    def classify(audio):
        judged.append(len(audio))
        return said["text"] in ("mm-hmm", "")

    front, script, fed, _ = gate(classify=classify)
    t = drive(front, script, "nnnnnnnnnn" + "." * 19)  # 0.16 s "stop", then quiet: judged
    assert front.state == "judging" and front.paused
    t = _wait_for(lambda: front.state != "judging", front, script, t)
    assert front.state == "released" and front.stats.releases == 1 and judged
    assert 10 * FRAME <= judged[0] <= 24 * FRAME  # the burst, from a little before its start
    front.reset()
    said["text"] = "mm-hmm"
    t = drive(front, script, "nnnnnnnnnn" + "." * 19, t)
    t = _wait_for(lambda: front.state != "judging", front, script, t)
    assert front.state == "pass" and not front.paused and front.stats.backchannels == 1


@pytest.mark.parametrize(
    "heard,backchannel",
    [
        ("Mm-hmm.", True),
        ("Yeah, okay.", True),
        ("I see.", True),
        ("", True),  # a cough: nothing ...
        ("Thanks for watching!", True),  # ... or one of Whisper's inventions
        ("date.", True),  # half a second of noise, misheard
        ("Stop.", False),
        ("Wait!", False),
        ("No, no.", False),
        ("What about Germany?", False),
        ("Tell me more about that", False),
    ],
)
def test_what_counts_as_a_backchannel(heard, backchannel):
    assert is_backchannel(heard) is backchannel
