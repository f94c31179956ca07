"""Barge-in: the whole decision of when the user's voice stops the assistant, in one place.

A barge-in, read top to bottom:

1. **Gate** (``BargeInGate.on_frame``, capture thread).  While the assistant speaks, the echo
   processor flags each 16 ms microphone frame ``onset`` / ``strong`` (the user, not echo).
   Two strong frames (or eight weak ones within twelve) pause playback at once, without
   consuming it, and the burst is *held* back from the VAD (``GateState.HOLD``).
2. **Short or sustained.**  A burst longer than ``GateParams.backchannel_ms`` (650 ms) is
   *released* to the VAD (``GateState.RELEASED``).  A shorter one is *judged*
   (``GateState.JUDGING``): its audio goes to ``BackchannelClassifier`` (a small Whisper on
   its own thread) and ``is_backchannel`` reads the words.  "mm-hmm", "yeah", a cough: the
   burst is dropped and playback resumes where it paused.  "stop", "wait", a question: it is
   released.
3. **Engine** (``decide``, VAD and STT threads).  Released speech reaches the turn detector;
   once it has lasted ``barge_in_min_speech_ms`` the detector says ``SpeechSustained`` and
   ``decide`` answers ``INTERRUPT`` if the assistant is answering.  A transcript that arrives
   while the assistant speaks and was never sustained is a ``BACKCHANNEL`` (dropped, not a
   turn); speech resuming during a speculative answer is ``DROP_SPECULATION``.
4. **One way to cancel.**  ``Orchestrator.new_generation`` is the only place the cancel
   generation moves: it flushes playback, drains stale work from the queues and carries the
   user's words in progress into the new generation.  ``interrupt`` (barge-in, the Stop
   button, a new conversation), dropping a speculative answer and ``stop`` all go through it.
   When the generation changes, the gate knows the engine interrupted (back to ``PASS``);
   if it does not change within ``resume_after_s``, playback resumes.

Push-to-talk bypasses the gate: pressing talk is a sustained turn at once.
"""

from __future__ import annotations

import collections
import difflib
import enum
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.audio.echo import FRAME_S, EchoProcessor, Frame
from app.pipeline.text import is_probably_hallucination

log = logging.getLogger(__name__)

AudioSink = Callable[[np.ndarray, float], None]


# ====================================================================== the engine's decision


class Decision(enum.Enum):
    CONTINUE = "continue"  # nothing to cancel
    INTERRUPT = "interrupt"  # stop the assistant now: its turn ends as interrupted
    DROP_SPECULATION = "drop speculation"  # the user went on talking: the early answer goes
    BACKCHANNEL = "backchannel"  # "mm-hmm" while the assistant talks: not a turn


class UserEvent(enum.Enum):
    SUSTAINED = "sustained"  # the turn detector heard speech long enough to matter
    RESUMED = "resumed"  # speech again after the pause a speculative answer started in
    TRANSCRIPT = "transcript"  # a turn's final words are ready


def decide(event: UserEvent, *, assistant_active: bool, turn_sustained: bool, speculating: bool) -> Decision:
    """What the user's ``event`` does to the assistant.

    ``assistant_active``: another turn is being answered (thinking or speaking);
    ``turn_sustained``: this turn's speech lasted long enough to barge in;
    ``speculating``: an early answer to this very turn is being prepared (not yet audible).
    """
    if event is UserEvent.SUSTAINED:
        return Decision.INTERRUPT if assistant_active else Decision.CONTINUE
    if event is UserEvent.RESUMED:
        return Decision.DROP_SPECULATION if speculating else Decision.CONTINUE
    if assistant_active and not turn_sustained:
        return Decision.BACKCHANNEL  # too short to have interrupted: "okay", "mm-hmm"
    return Decision.CONTINUE


# ====================================================================== the words of a short burst


#: Words that, alone, tell the assistant to go on (said while it speaks).
BACKCHANNEL_WORDS = frozenset(
    "mm mmm mhm mmhmm hmm hm uh huh uhhuh aha ah oh um yeah yes yep yup ok okay right sure "
    "i see cool nice great alright".split()
)
#: Words that, even in a short burst, mean "stop talking" (Whisper on half a second of audio is
#: unsure of the rest: "okay" comes out as "hey", a cough as "date", so only these interrupt).
INTERRUPT_WORDS = frozenset(
    "stop top wait hold pause cancel quiet enough no nope shut sorry excuse actually but hang listen "
    "what why how who where when".split()
)


_FILLERS = frozenset("a an and the so well".split())

#: Whole utterances that tell the assistant to stop talking ("stop" always stops: it ends the
#: answer at once and is never answered as a question).  Said with anything else ("stop the
#: timer", "stop, what's the capital of Spain?") they are requests like any other.
STOP_PHRASES = frozenset(
    {
        "stop", "stop it", "stop that", "stop talking", "stop now", "stop stop", "be quiet", "quiet",
        "shut up", "hush", "shh", "silence", "cancel", "cancel that", "enough", "that's enough",
        "thats enough", "never mind", "nevermind", "forget it", "stop speaking", "quiet please",
        "be silent", "okay stop", "ok stop", "no stop", "top",
    }
)  # fmt: skip
#: What Whisper is told to expect when the user may be telling the assistant to stop.
STOP_HOTWORDS: tuple[str, ...] = ("Stop", "Cancel", "Be quiet")


def hotword_prompt(*groups: str | Iterable[str]) -> str:
    """Hotwords for Whisper as short sentences ("Alexa. Stop. Cancel."): given as a comma list,
    Whisper copies the style and drops the final full stop, and the end-of-turn judge then
    hears every "Stop" as unfinished (measured: "Be quiet." came out "Be quiet")."""
    parts: list[str] = []
    for g in groups:
        for w in g.split(",") if isinstance(g, str) else g:
            w = w.strip().rstrip(".,;:!?")
            if w and w not in parts:
                parts.append(w)
    return " ".join(f"{w}." for w in parts)


#: Words around a stop that change nothing ("stop, please", "okay, stop", "hey Jarvis, stop").
_STOP_FILLERS = frozenset("please now just okay ok oh hey um uh alright right thanks".split())
#: How Whisper writes a clipped "stop" or "cancel" through the echo canceller ("Cancel." -> "cancelled").
_STOP_FORMS = {
    "cancelled": "cancel", "canceled": "cancel", "canceling": "cancel", "cancelling": "cancel",
    "stopped": "stop", "stopping": "stop", "stops": "stop", "stap": "stop",
}  # fmt: skip
_STOP_MATCH = 0.85  # a mishearing as close as "stopp" to a stop phrase still stops


def _plain_words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() or ch in " '" else " " for ch in text.lower()).split()


def is_stop_command(text: str, extra: str | Iterable[str] = ()) -> bool:
    """True when ``text`` (a transcript, wake words already taken off) is only a request to stop:
    "Stop.", "Stop, stop!", "Be quiet please", "Cancel", or one of the user's own ``extra``
    phrases (a comma-separated string or a list), allowing for Whisper's mishearings."""
    own = [p for p in (extra.split(",") if isinstance(extra, str) else extra) if p.strip()]
    phrases = STOP_PHRASES | {_core(p) for p in own} - {""}
    said = _core(text)
    if not said or len(said.split()) > 4:
        return False
    if said in phrases:
        return True
    return any(
        len(p) >= 4
        and abs(len(p) - len(said)) <= 1
        and difflib.SequenceMatcher(None, said, p).ratio() >= _STOP_MATCH
        for p in phrases
    )


def _core(text: str) -> str:
    """The words that matter: no punctuation, politeness or repeats ("Stop, stop, please!" -> "stop")."""
    plain = " ".join(_plain_words(text)).replace("thank you", "thanks")
    words = [_STOP_FORMS.get(w, w) for w in plain.split() if w not in _STOP_FILLERS]
    while len(words) >= 2 and words[-1] == words[-2]:
        words.pop()  # "stop stop stop"
    return " ".join(words)


#: How a question or a request starts: said over an answer, such words are answered, not obeyed.
_ASKING = frozenset(
    "what whats what's who whos who's where wheres where's when why how which whose is are was were "
    "do does did can could will would should shall may might have has tell give set play show turn "
    "remind open read find call make start".split()
)


_MODALS = frozenset(
    "can could will would should shall may might is are was were do does did have has".split()
)
_SUBJECTS = frozenset("i you we it he she they there this that these those the a an my your our".split())


def is_interjection(text: str) -> bool:
    """True for a few words that are neither a question nor a request: said over the assistant's
    answer they mean "stop talking", whatever the echo canceller and Whisper made of them
    ("Stop." heard as "Let's hop.", "Be quiet." as "Why?", "Cancel." as "Can solve").

    One word is always one ("Why?" over an answer is a "what?", not a question to answer); two or
    three are a question or a request when they start like one ("What up?", "Tell me more",
    "Can you ...": a modal verb only with a subject after it)."""
    words = _core(text).split()
    if not 0 < len(words) <= 3:
        return False
    if len(words) == 1:
        return True
    if words[0] in _ASKING and (words[0] not in _MODALS or words[1] in _SUBJECTS):
        return False
    return "?" not in text


def is_backchannel(text: str) -> bool:
    """True for "mm-hmm", "yeah, okay", a cough (nothing, or one of Whisper's inventions);
    False when the burst holds a word that asks the assistant to stop, or several other words."""
    if is_probably_hallucination(text):
        return True
    words = _burst_words(text)
    if any(w in INTERRUPT_WORDS for w in words):
        return False
    return len(_content_words(words)) <= 2


def _burst_words(text: str) -> list[str]:
    return "".join(
        ch if ch.isalnum() or ch.isspace() else " " for ch in text.lower().replace("-", "")
    ).split()


def _content_words(words: list[str]) -> list[str]:
    """The words that are no backchannel, filler or hum ("mm", "hmm")."""
    return [w for w in words if w not in BACKCHANNEL_WORDS and w not in _FILLERS and set(w) - set("mh")]


def is_known_backchannel(text: str) -> bool:
    """Nothing but backchannel words ("mm-hmm", "yeah, okay", "I see"), or nothing Whisper heard."""
    return is_probably_hallucination(text) or not _content_words(_burst_words(text))


def is_echo_of(text: str, reply: str) -> bool:
    """True when every longer word of ``text`` is (nearly) a word of ``reply``: Whisper heard the
    assistant's own voice through the echo canceller, not the user."""
    said = [w for w in _plain_words(text) if len(w) >= 3]
    if not said:
        return True
    spoken = set(_plain_words(reply))
    return all(
        w in spoken or any(difflib.SequenceMatcher(None, w, r).ratio() >= 0.8 for r in spoken) for w in said
    )


class BackchannelClassifier:
    """Transcribes a short burst heard while the assistant speaks (its own small Whisper) and
    says whether it is a backchannel.  Loaded in the background; until then, every burst is one."""

    def __init__(
        self,
        stt_factory: Callable[[], Any],
        *,
        on_stop: Callable[[str], None] | None = None,
        stop_words: str = "",
        reply_text: Callable[[], str] | None = None,
    ) -> None:
        self._factory = stt_factory
        self.on_stop = on_stop  # a burst that says "stop": the engine stops now, not after the VAD's turn
        self.stop_words = stop_words
        self.reply_text = (
            reply_text  # what the assistant is saying (None: unknown, bursts of odd words stay backchannels)
        )
        # what a short burst over an answer most often is: Whisper, told so, hears "Be quiet."
        # where it heard "and so" (scripts/echo_bench.py --stop-trials, docs/audio.md)
        self.hotwords = hotword_prompt(STOP_HOTWORDS, stop_words)
        self._stt: Any = None
        self._lock = threading.Lock()
        self._loading = threading.Thread(target=self._load, name="backchannel-stt", daemon=True)
        self._loading.start()

    def _load(self) -> None:
        try:
            stt = self._factory()
        except Exception:  # noqa: BLE001 - without it, short bursts stay backchannels
            log.exception("the backchannel classifier could not load its speech model")
            return
        self._stt = stt

    def __call__(self, audio: Any) -> bool:
        if self._stt is None or len(audio) < 0.1 * 16000:
            return True
        with self._lock:
            padded = np.concatenate([np.zeros(1600, np.float32), audio, np.zeros(3200, np.float32)])
            text = self._stt.transcribe(padded, hotwords=self.hotwords).text
        garbled = (
            self.reply_text is not None
            and is_interjection(text)
            and not is_known_backchannel(text)
            and not is_echo_of(text, self.reply_text())
        )
        if is_stop_command(text, self.stop_words) or garbled:
            # words that are no backchannel and not the assistant's own echo, over its answer:
            # a "stop" the echo canceller garbled ("Cancel." heard as "and assault")
            log.info("short burst while speaking: %r -> stop", text)
            if self.on_stop is not None:
                self.on_stop(text)
            return False
        verdict = is_backchannel(text)
        log.info("short burst while speaking: %r -> %s", text, "backchannel" if verdict else "barge-in")
        return verdict


# ====================================================================== the gate


class GateState(enum.StrEnum):
    PASS = "pass"  # frames go to the VAD (silenced while the assistant's voice plays)
    HOLD = "hold"  # near-end burst: playback paused, frames held back
    JUDGING = "judging"  # a short burst is with the classifier; playback stays paused
    RELEASED = "released"  # the VAD has the burst: the engine interrupts, or playback resumes


@dataclass
class GateParams:
    backchannel_ms: int = 650  # near-end bursts shorter than this are backchannels or coughs
    quiet_ms: int = 300  # a burst ends after this much quiet
    resume_after_s: float = 1.5  # released to the VAD and nothing interrupted: resume playback
    lead_frames: int = 6  # frames before the first near-end frame kept with the burst (96 ms)
    judge_timeout_s: float = 2.5  # a classifier slower than this: treat the burst as a backchannel
    onset_frames: int = 2  # consecutive near-end frames (16 ms each) louder than the echo that pause playback
    weak_onset_frames: int = 8  # ... or this many near-end frames not louder than the echo could be
    weak_window_frames: int = 12  # ... within this many frames


@dataclass
class GateStats:
    pauses: int = 0
    backchannels: int = 0
    releases: int = 0
    resumed_after_release: int = 0
    pause_times: list[float] = field(default_factory=list)  # capture time of each near-end onset


class BargeInGate:
    """Between the echo processor and the engine: pauses, holds and releases the user's speech.

    ``paused`` is read by ``SpeakerOutput`` (silence without consuming the reply);
    ``generation`` is the engine's cancel generation (a change means it interrupted);
    ``ptt_active`` bypasses the gate while push-to-talk is held; ``reply_active`` tells whether
    the reply still has audio to play (a short burst after the reply ended is a real answer,
    not a backchannel: it is released, never dropped).  ``classify`` (optional, may be slow:
    it runs on its own thread while playback stays paused) tells a short burst's audio
    apart: True for a backchannel or a cough (dropped, playback resumes), False for words
    that matter ("stop", "wait": released to the VAD, which interrupts).  Without it every
    short burst counts as a backchannel.  ``user_speaking`` (the VAD is inside a user turn)
    keeps a released burst from resuming playback while the engine is still deciding.
    """

    def __init__(
        self,
        processor: EchoProcessor,
        sink: AudioSink,
        *,
        params: GateParams | None = None,
        generation: Callable[[], int] | None = None,
        ptt_active: Callable[[], bool] | None = None,
        reply_active: Callable[[], bool] | None = None,
        classify: Callable[[np.ndarray], bool] | None = None,
        user_speaking: Callable[[], bool] | None = None,
    ) -> None:
        self.processor = processor
        self.sink = sink
        self.p = params or GateParams()
        self.generation = generation or (lambda: 0)
        self.ptt_active = ptt_active or (lambda: False)
        self.reply_active = reply_active or (lambda: False)
        self.classify = classify
        self.user_speaking = user_speaking or (lambda: False)
        self.paused = False
        self.state: GateState = GateState.PASS
        self.stats = GateStats()
        self._held: list[Frame] = []
        self._burst_start = 0.0
        self._last_near = 0.0
        self._release_t = 0.0
        self._judge_t = 0.0
        self._verdict: list[bool] = []  # filled by the classifier thread
        self._gen = 0
        self._onsets = 0
        self._strong = 0
        self._delay: collections.deque[Frame] = collections.deque()
        self._recent: collections.deque[bool] = collections.deque(maxlen=self.p.weak_window_frames)

    def reset(self) -> None:
        """Forget any burst in progress (the devices were lost: nothing held is still worth hearing)."""
        self._held.clear()
        self.state = GateState.PASS
        self.paused = False

    def on_speaker(self, samples: np.ndarray, t_play: float, rate: int) -> None:
        """The output callback's tap (cheap)."""
        self.processor.push_reference(samples, t_play, rate)

    def on_mic(self, samples: np.ndarray, t: float) -> None:
        """The capture thread's 16 kHz blocks."""
        for f in self.processor.process(samples, t):
            self.on_frame(f)

    # ---------------- states: pass -> hold (-> judging) -> released | pass ----------------
    def _release(self, f: Frame, why: str) -> None:
        if why == "sustained" and self.classify is not None and not self.ptt_active():
            self._judge(for_stop_only=True)
        self.state = GateState.RELEASED
        self.stats.releases += 1
        log.debug("near end (%s, %.2f s): released to the VAD", why, self._last_near - self._burst_start)
        self._release_t = f.t
        self._gen = self.generation()
        held, self._held = self._held, []
        for h in held:
            self.sink(h.raw if h.raw is not None else h.samples, h.t)

    def _forget(self, why: str) -> None:
        self.stats.backchannels += 1
        log.debug(
            "short burst (%s, %.2f s): dropped, playback resumes", why, self._last_near - self._burst_start
        )
        held, self._held = self._held, []
        for h in held:
            self.sink(np.zeros_like(h.samples), h.t)  # the VAD's timeline goes on, in silence
        self.state = GateState.PASS
        self.paused = False

    def _judge(self, *, for_stop_only: bool = False) -> None:
        """Ask the classifier about the burst, on its own thread (the capture thread must not wait).

        ``for_stop_only``: the burst goes to the VAD anyway (it was long enough to barge in); the
        classifier still hears it, because a "stop" the echo canceller thinned out may be too
        faint for the VAD to make a turn of, and the classifier stops the answer itself."""
        classify = self.classify
        assert classify is not None
        burst = [h.raw if h.raw is not None else h.samples for h in self._held if h.t < self._last_near + 0.1]
        audio = np.concatenate(burst) if burst else np.zeros(0, dtype=np.float32)
        verdict: list[bool] = []
        if not for_stop_only:
            self._verdict = verdict

        def run() -> None:
            try:
                verdict.append(bool(classify(audio)))
            except Exception:  # noqa: BLE001 - a failed judgement is a backchannel
                log.exception("backchannel classifier failed")
                verdict.append(True)

        threading.Thread(target=run, name="backchannel-judge", daemon=True).start()

    def on_frame(self, f: Frame) -> None:
        """One frame from the echo processor: pass it on, hold it, judge or release the burst."""
        p = self.p
        self._onsets = self._onsets + 1 if f.onset else 0
        self._strong = self._strong + 1 if f.strong else 0
        self._recent.append(f.onset)
        if self.state == GateState.PASS:
            confirmed = self._strong >= p.onset_frames or sum(self._recent) >= p.weak_onset_frames
            if confirmed and f.playing and not self.ptt_active():
                # The delay line still holds the start of the burst (not yet silenced for the VAD).
                run = max(
                    self._onsets,
                    len(self._recent) - list(self._recent).index(True) if any(self._recent) else 1,
                )
                start = max(0, len(self._delay) - run + 1 - p.lead_frames)
                for d in list(self._delay)[:start]:
                    self.sink(d.samples, d.t)
                self._held = [*list(self._delay)[start:], f]
                self._delay.clear()
                self.state = GateState.HOLD
                self.paused = True
                self.stats.pauses += 1
                self.stats.pause_times.append(f.t)
                log.debug("near end while speaking at %.3f: playback paused", f.t)
                self._burst_start = self._held[-min(run, len(self._held))].t
                self._last_near = f.t + FRAME_S
                return
            if f.playing or self._delay:
                # While the assistant speaks the VAD hears silence: only a confirmed burst reaches it
                # (through hold and release).  Delaying that silence a little keeps the start of the
                # user's words for when a burst is confirmed.
                self._delay.append(f)
                if len(self._delay) > p.weak_onset_frames + p.lead_frames:
                    d = self._delay.popleft()
                    self.sink(d.samples if not d.playing else np.zeros_like(d.samples), d.t)
                if not f.playing:
                    while self._delay:
                        d = self._delay.popleft()
                        self.sink(d.samples if not d.playing else np.zeros_like(d.samples), d.t)
                return
            self.sink(f.samples, f.t)
            return
        if self.state in (GateState.HOLD, GateState.JUDGING):
            self._held.append(f)
            if f.onset:
                self._last_near = f.t + FRAME_S
            quiet = f.t + FRAME_S - self._last_near >= p.quiet_ms / 1000.0
            sustained = self._last_near - self._burst_start >= p.backchannel_ms / 1000.0
            if self.ptt_active() or sustained:
                self._release(f, "sustained")
            elif quiet and not self.reply_active():
                self._release(f, "after the reply")
            elif self.state == GateState.JUDGING:
                if self._verdict:
                    if self._verdict[0]:
                        self._forget("backchannel")
                    else:
                        self._release(f, "words")
                elif f.t - self._judge_t > p.judge_timeout_s:
                    self._forget("no verdict")
            elif quiet:
                if self.classify is None:
                    self._forget("short")
                else:
                    self.state = GateState.JUDGING
                    self._judge_t = f.t
                    self._judge()
            return
        # released: the VAD has it; the engine interrupts or we resume
        self.sink(f.samples, f.t)
        if f.onset:
            self._last_near = f.t + FRAME_S
        if self.generation() != self._gen:
            self.state = GateState.PASS
            self.paused = False
        elif (
            f.t - self._release_t >= p.resume_after_s
            and f.t - self._last_near >= p.quiet_ms / 1000.0
            and not self.user_speaking()
        ):
            self.stats.resumed_after_release += 1
            log.debug("released but not interrupted: playback resumes")
            self.state = GateState.PASS
            self.paused = False
