"""Wake word mode: Hearken stays silent until it is called.

The VAD and the turn detector run as in always-listening mode; :class:`WakeGate` sits between
the detector and the engine (on the VAD thread) and lets a turn through only when it is
*admitted*:

- the wake word model heard its phrase during the turn (or just before it began): the turn's
  actions held so far are let through at once, so "Hey Jarvis, what time is it?" is one turn
  that starts where the user started speaking (the orchestrator strips the phrase from the
  words);
- the turn began while the gate was awake: for ``listen_s`` after a wake word said alone, for
  ``followup_s`` after an answer ended (a follow-up needs no wake word), and all the time while
  the assistant is answering (so barge-in and "stop" work as in always-listening mode);
- push-to-talk was pressed;
- a wake *name* is set ("Hearken", matched on the transcript, see :func:`strip_wake_words`):
  then a turn that nothing admitted still goes to speech recognition when it ends, marked
  :class:`NameCheck`, and the orchestrator answers it only if its words start with the name;
- the model *nearly* heard its phrase (its score reached ``verify_from`` but not the
  threshold): the turn is checked the same way, on the model's phrase.  A second opinion from
  Whisper on the few turns that sound like the phrase catches the phrases a quiet, noisy or
  unusual voice says (docs/wake.md: the misses), while speech that merely scores a little
  never wakes it unless its words start with the phrase.

Everything else is dropped when it ends: never transcribed, never shown, never answered.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.engines.wake import WakeEngine
from app.pipeline.turns import Action, Emit, SpeechStart, TurnResumed

FOREVER = float("inf")
#: A turn whose wake score reached this, but not the threshold, is checked on its words
#: (measured: docs/wake.md, "A second opinion").
VERIFY_FROM = 0.05


@dataclass(frozen=True)
class WakeHeard:
    """The wake word model heard its phrase (capture time ``t``); ``turn_id`` 0: before any turn."""

    turn_id: int
    t: float
    score: float


@dataclass(frozen=True)
class WakeSlept:
    """The awake window ran out: Hearken waits for its wake word again."""

    t: float


@dataclass(frozen=True)
class NameCheck:
    """The turn that follows was admitted by nobody: answer it only if it starts with the wake name."""

    turn_id: int


@dataclass
class WakeParams:
    threshold: float | None = None  # on the model's averaged probability; None: the model's own cutoff
    listen_s: float = 6.0  # after the wake word alone: this long to start the request
    followup_s: float = 5.0  # after an answer: a follow-up within this needs no wake word
    refractory_s: float = 1.5  # one phrase, one wake (the mean stays high for a few frames)
    by_name: bool = False  # a wake name is matched on transcripts: unadmitted turns are checked
    verify_from: float | None = None  # a turn scoring this (below the threshold) is checked on its words


@dataclass
class _Held:
    actions: list[Action] = field(default_factory=list)


class WakeGate:
    """Admits or drops the turn detector's actions (VAD thread only); see the module docstring.

    ``detector``: the wake word model (None: only awake windows, push-to-talk and the name
    admit).  ``close``: tells the turn detector a dropped turn can no longer be continued.
    """

    def __init__(self, params: WakeParams, detector: WakeEngine | None, close: Callable[[int], None]) -> None:
        self.detector = detector
        self._close = close
        self.tune(params)
        self.awake_until = 0.0
        self.admitted: set[int] = set()
        self._held: dict[int, _Held] = {}
        self._pending_wake = 0.0  # a wake before the turn's SpeechStart: admit the next one
        self._quiet_until = 0.0
        self._was_awake = False
        self.wakes = 0
        self.best = 0.0  # the highest score since the last wake (for the settings' meter and tests)
        self._near: dict[int, float] = {}  # turn -> its highest score, for turns not (yet) admitted
        self._near_at = 0.0  # a near wake before the turn's SpeechStart: counts for the next one
        self.verified = 0  # turns sent to speech recognition because the model nearly woke

    # ---------------- what the engine says ----------------
    def tune(self, params: WakeParams) -> None:
        """New sensitivity, windows or wake name (a settings change), from the next frame on."""
        self.p = params
        cutoff = self.detector.cutoff if self.detector is not None else 1.0
        self.threshold = params.threshold if params.threshold is not None else cutoff

    def keep_awake(self, until: float) -> None:
        """Stay awake until ``until`` (perf_counter time; FOREVER while an answer is under way)."""
        self.awake_until = until
        self._was_awake = self._was_awake or until > 0

    def admit_next(self, t: float) -> None:
        """Push-to-talk: the turn starting now is the user's, wake word or not."""
        self._pending_wake = t + 1.0

    def awake(self, t: float) -> bool:
        return t <= self.awake_until or t <= self._pending_wake

    # ---------------- audio ----------------
    def frame(self, frame: np.ndarray, t: float, turn_id: int) -> list[Action | WakeHeard | WakeSlept]:
        """One 32 ms frame (capture time ``t``); ``turn_id``: the detector's turn in progress (0: none).

        Returns what to tell the engine: a wake (with the held actions of its turn) or the end
        of an awake window."""
        out: list[Action | WakeHeard | WakeSlept] = []
        if self.detector is not None:
            score = self.detector.score(frame)
            self.best = max(self.best, score)
            if score >= self.threshold and t >= self._quiet_until:
                out.extend(self._wake(t, turn_id, score))
            elif self.p.verify_from is not None and score >= self.p.verify_from:
                if turn_id and turn_id not in self.admitted:
                    self._near[turn_id] = max(self._near.get(turn_id, 0.0), score)
                elif not turn_id:
                    self._near_at = t + 1.0
        awake = self.awake(t) or bool(turn_id and turn_id in self.admitted)
        if self._was_awake and not awake:
            out.append(WakeSlept(t))
        self._was_awake = awake
        return out

    def _wake(self, t: float, turn_id: int, score: float) -> list[Action | WakeHeard]:
        assert self.detector is not None
        self.detector.reset()
        self.wakes += 1
        self.best = 0.0
        self._quiet_until = t + self.p.refractory_s
        self.awake_until = max(self.awake_until, t + self.p.listen_s)
        self._was_awake = True
        out: list[Action | WakeHeard] = [WakeHeard(turn_id, t, score)]
        self._near.pop(turn_id, None)
        if turn_id and turn_id not in self.admitted:
            self.admitted.add(turn_id)
            held = self._held.pop(turn_id, _Held())
            # what the detector said of the turn so far, minus its early transcripts: those
            # were of the wake phrase alone, and newer ones follow
            out.extend(a for a in held.actions if not isinstance(a, Emit))
        elif not turn_id:
            self._pending_wake = t + self.p.listen_s
        return out

    # ---------------- the turn detector's actions ----------------
    def filter(self, actions: list[Action]) -> list[Action | NameCheck]:
        out: list[Action | NameCheck] = []
        for a in actions:
            turn_id = getattr(a, "turn_id", 0)
            if turn_id in self.admitted:
                out.append(a)
                if isinstance(a, Emit) and a.kind == "final":
                    self._forget_later(turn_id)
                continue
            if isinstance(a, SpeechStart) and self.awake(a.t):
                self._pending_wake = 0.0
                self.admitted.add(turn_id)
                out.append(a)
                continue
            if isinstance(a, SpeechStart):
                self._held[turn_id] = _Held([a])
                if a.t <= self._near_at:
                    self._near[turn_id] = self.p.verify_from or 0.0
                    self._near_at = 0.0
            elif isinstance(a, TurnResumed):
                continue  # a dropped turn is never continued (it was closed)
            elif isinstance(a, Emit) and a.kind == "final":
                self._held.pop(turn_id, None)
                near = self._near.pop(turn_id, None) is not None
                if self.p.by_name or near:
                    self.verified += near and not self.p.by_name
                    self.admitted.add(turn_id)
                    out.extend([NameCheck(turn_id), a])
                else:
                    self._close(turn_id)
            elif turn_id in self._held:
                self._held[turn_id].actions.append(a)
        return out

    def _forget_later(self, turn_id: int) -> None:
        """Keep only recent admissions (a committed turn may still be continued)."""
        if len(self.admitted) > 8:
            for old in sorted(self.admitted)[:-8]:
                self.admitted.discard(old)


# ====================================================================== words


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _similar(said: str, wanted: str) -> float:
    return 1.0 if said == wanted else difflib.SequenceMatcher(None, said, wanted).ratio()


MATCH = 0.8  # how alike the words said and the wake phrase must be (letters, spaces ignored)


def strip_wake_words(text: str, phrases: list[str]) -> tuple[bool, str]:
    """``(found, rest)``: whether ``text`` starts with one of ``phrases`` (fuzzily, as Whisper
    spells names: "Hey, Jarvis", "hey jervis", "Heyjarvis", "Harken", "Hear ken"), and the words
    after it.

    Matching is on the first words only (one word may come before: "Okay, hey Jarvis"): "ask
    Jarvis" in the middle of a sentence is no call.
    """
    spans = [(m.group(0).lower(), m.end()) for m in re.finditer(r"[A-Za-z0-9']+", text)]
    best: tuple[float, int] | None = None  # (likeness, end of the match in text)
    for phrase in phrases:
        target = "".join(_words(phrase))
        if not target:
            continue
        n = len(_words(phrase))
        for skip in (0, 1):
            for k in range(1, n + 2):  # the phrase may come out as fewer or more words
                said = spans[skip : skip + k]
                if len(said) < k:
                    break
                score = _similar("".join(w for w, _ in said), target) - 0.05 * skip
                if (score >= MATCH or (len(target) < 5 and score == 1.0)) and (
                    best is None or score > best[0]
                ):
                    best = (score, said[-1][1])
    if best is None:
        return False, text.strip()
    return True, text[best[1] :].lstrip(" ,.!?;:-\u2014").strip()
