"""The end-of-turn judge: how much silence ends this turn, decided when a pause begins.

A person who stops to think is not done talking.  When a pause begins the STT stage
transcribes the turn so far and, beside Whisper, asks the Smart Turn model whether the
audio sounds finished (``p_complete``).  The judge combines the two:

* the words read as a finished request and the audio sounds finished: commit after a short
  pause (``quick_ms``); the answer, prepared speculatively during the pause, plays at once;
* the words trail off ("And so my fellow Americans", "I was thinking that maybe"): hold the
  turn for up to ``patience_ms`` of silence while the speculative answer waits, unless the
  voice is sure it is over (``sure_p``: a question Whisper wrote without its mark);
* complete words that are not a request ("Isolated tornadoes."): Smart Turn hears a falling
  phrase end there too, so wait ``statement_ms``;
* a request whose voice is unsure: the plain silence rule;
* without the model: the silence rule refined by the text, as before.

Chosen by measurement (``hearken bench``, its turn-taking section; docs/turn-taking.md).

Pure and clock-free: the turn detector applies the wait it returns
(``TurnDetector.hint_end_of_turn``); ``tests/unit/pipeline/test_endofturn.py`` scripts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.pipeline.text import looks_complete, reads_as_request


@dataclass(frozen=True)
class JudgeParams:
    base_ms: int = 700  # the plain silence rule (``end_of_turn_silence_ms``)
    speculative_pause_ms: int = 64  # when the pause's transcript is asked for
    quick_ms: int = 300  # finished audio and finished words
    patience_ms: int = 2500  # the longest hold for a turn that sounds unfinished
    finished_p: float = 0.5  # Smart Turn's p(complete) at or above which the audio sounds finished
    sure_p: float = 0.9  # ... so sure that unfinished-looking words are a missing full stop
    statement_ms: int = 1200  # complete words that are not a request (the start of a statement)

    @classmethod
    def from_settings(cls, s: Any) -> JudgeParams:
        return cls(
            base_ms=s.end_of_turn_silence_ms,
            speculative_pause_ms=s.speculative_pause_ms,
            patience_ms=s.turn_patience_ms,
        )


@dataclass(frozen=True)
class Verdict:
    wait_ms: int  # silence after which the turn ends
    reason: str  # finished | unfinished | text complete | text incomplete | ...
    p_complete: float | None = None


class EndOfTurnJudge:
    def __init__(self, params: JudgeParams | None = None) -> None:
        self.p = params or JudgeParams()

    def provisional(self, text: str) -> Verdict:
        """The wait while the end-of-turn model has not answered yet: never shorter than the text
        rule of before for a request (so a slow model costs nothing), the final answer for a
        statement (the model does not change it), the longest for words that trail off."""
        if not looks_complete(text):
            return Verdict(max(self.p.patience_ms, self.p.base_ms), "unfinished (voice not heard yet)")
        if not reads_as_request(text):
            return self.judge(text, 0.5)
        return Verdict(self.judge(text, None).wait_ms, "request (voice not heard yet)")

    def judge(self, text: str, p_complete: float | None) -> Verdict:
        """The wait for a turn whose words so far are ``text`` and whose audio scored ``p_complete``
        (None: no end-of-turn model, or it failed)."""
        p = self.p
        floor = p.speculative_pause_ms + 150  # never before the speculative answer can be ready
        words_done = looks_complete(text)
        if p_complete is None:
            if words_done:
                return Verdict(max(floor, int(p.base_ms * 0.7)), "text complete")
            return Verdict(int(p.base_ms * 1.4), "text incomplete")
        held = max(p.patience_ms, p.base_ms)
        if not words_done:
            # "And so my fellow Americans", "I was thinking that maybe": held, unless the voice
            # is sure it is over (a question Whisper wrote without its question mark).
            if p_complete >= p.sure_p:
                return Verdict(int(p.base_ms * 1.4), "words unfinished, voice finished", p_complete)
            return Verdict(held, "unfinished", p_complete)
        if not reads_as_request(text):
            # The first words of a statement ("Isolated tornadoes."): Smart Turn hears a falling
            # phrase end there too, so only time tells.
            return Verdict(max(p.base_ms, min(held, p.statement_ms)), "statement", p_complete)
        if p_complete >= p.finished_p:
            return Verdict(max(floor, p.quick_ms), "finished", p_complete)
        # A request in complete words that does not sound finished: the words win, as before
        # (Smart Turn misjudges many real and synthetic ends: 0.25-0.67 on ibm_thunderstorms).
        return Verdict(max(floor, int(p.base_ms * 0.7)), "request, voice unsure", p_complete)
