"""Typed messages between pipeline stages and from the engine to the UI.

Every item that belongs to a turn carries ``turn_id`` and ``gen`` (the cancel
generation current when the turn began); stages drop items whose ``gen`` is
stale.  Times are ``time.perf_counter()`` seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000  # the engine's internal rate for everything the user says
FRAME = 512  # Silero's window at 16 kHz: 32 ms


@dataclass(frozen=True)
class AudioBlock:
    """Captured audio, already 16 kHz mono float32; ``t`` is when its first sample was captured."""

    samples: np.ndarray
    t: float


@dataclass(frozen=True)
class Utterance:
    """Speech of one user turn handed from the VAD to STT.

    ``kind`` is ``"partial"`` while the user is still talking (for a live
    transcript), ``"speculative"`` when a pause has begun (transcribe now, the
    turn may still continue) and ``"final"`` when end of turn is decided.
    """

    turn_id: int
    gen: int
    audio: np.ndarray
    speech_start: float
    speech_end: float
    kind: str = "final"


@dataclass(frozen=True)
class EmotionTags:
    label: str  # neutral, calm, happy, sad, angry, anxious, surprised, uncertain
    confidence: float
    arousal: float  # -1 (low) .. 1 (high)
    valence: float  # -1 (negative) .. 1 (positive)
    cues: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cues"] = list(self.cues)
        return d


@dataclass(frozen=True)
class Transcript:
    turn_id: int
    gen: int
    text: str
    speech_start: float
    speech_end: float
    final: bool = True
    emotion: EmotionTags | None = None
    words: tuple[tuple[str, float, float], ...] = ()
    duration: float = 0.0
    style: SpeechStyle | None = None  # how to say the answer (set by the orchestrator)


@dataclass(frozen=True)
class NotSpeech:
    """The STT stage found no words in a turn's audio (a cough, a door, Whisper's inventions)."""

    turn_id: int
    reason: str


@dataclass(frozen=True)
class Clause:
    """A piece of the reply ready to speak (the splitter's output)."""

    turn_id: int
    gen: int
    index: int
    text: str
    last: bool = False
    style: SpeechStyle | None = None


@dataclass(frozen=True)
class SpeechStyle:
    """How to say a reply, in terms any TTS engine can honour, plus a name the UI can show.

    Each factor is relative to the voice's own delivery (1.0 = as the voice speaks by
    default); an engine maps them to its knobs and ignores those it has none for.
    """

    name: str = "neutral"
    rate: float = 1.0  # speaking pace: >1 faster
    expressiveness: float = 1.0  # variation in intonation and energy: <1 flatter
    timing_variation: float = 1.0  # variation in the length of sounds: <1 more even
    volume: float = 1.0  # gain on the samples


@dataclass(frozen=True)
class AudioChunk:
    """Synthesized audio of one clause, at ``sample_rate`` (the output's rate)."""

    turn_id: int
    gen: int
    index: int
    samples: np.ndarray  # float32 mono
    sample_rate: int
    text: str
    last: bool = False


@dataclass(frozen=True)
class EndOfReply:
    """Tells playback that a turn has no more audio coming."""

    turn_id: int
    gen: int


@dataclass(frozen=True)
class ReplyGenerated:
    """The LLM stage finished writing a turn's reply (``text``, before any interruption)."""

    turn_id: int
    gen: int
    text: str


# ---- events for the UI / CLI (plain data; the Qt bridge turns them into signals) ----


@dataclass(frozen=True)
class StateChanged:
    state: str  # idle, listening, hearing, thinking, speaking, stopped


@dataclass(frozen=True)
class UserSpeechStarted:
    turn_id: int
    t: float


@dataclass(frozen=True)
class PartialTranscript:
    turn_id: int
    text: str
    at_pause: bool = False  # transcribed in a pause (its end-of-turn wait adapts to it)
    pause_end: float | None = None  # at_pause: when the speech before this pause ended (names the pause)


@dataclass(frozen=True)
class TurnScore:
    """How finished the turn sounds at a pause (the end-of-turn model's p(complete))."""

    turn_id: int
    p_complete: float
    pause_end: float  # when the speech before the pause ended (names the pause)


@dataclass(frozen=True)
class TurnContinued:
    """The user went on after the turn was committed, before its answer was heard: the same
    turn continues (its answer in the making is gone; its words will come again, whole)."""

    turn_id: int


@dataclass(frozen=True)
class UserTurn:
    turn_id: int
    text: str
    emotion: EmotionTags | None


@dataclass(frozen=True)
class AssistantDelta:
    turn_id: int
    text: str  # the reply so far


@dataclass(frozen=True)
class AssistantTurn:
    turn_id: int
    text: str  # what the user heard
    full_text: str  # what the model wrote
    interrupted: bool
    style: str = "neutral"
    user_text: str = ""  # what the user said in this turn (the console shows it with the answer)


@dataclass(frozen=True)
class TurnDone:
    """A turn finished (answered, interrupted or dropped); ``metrics`` is the report entry."""

    turn_id: int
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Interrupted:
    turn_id: int
    reason: str


@dataclass(frozen=True)
class Level:
    rms: float  # 0..1, microphone level


@dataclass(frozen=True)
class EngineError:
    where: str
    message: str


@dataclass(frozen=True)
class Notice:
    message: str


# ---- skills: what the assistant does itself (timers, reminders, the clock, sums) ----


@dataclass(frozen=True)
class Alarm:
    """A running timer or a pending reminder; ``due`` and ``created`` are wall-clock epoch seconds
    (``time.time()``): reminders outlive the app, so they cannot be on the perf_counter clock."""

    id: int
    kind: str  # timer | reminder
    label: str  # the timer's name ("pasta") or what to remind of ("call my mother"); may be ""
    due: float
    created: float
    duration: float | None = None  # timers: the length asked for, in seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlarmsChanged:
    """The running timers and pending reminders, soonest first (after every change)."""

    alarms: tuple[Alarm, ...]


@dataclass(frozen=True)
class AlarmFired:
    """A timer ended or a reminder is due: ``text`` is what the assistant says about it."""

    alarm: Alarm
    text: str
    late: bool = False  # it fell due while the app was closed


@dataclass(frozen=True)
class SkillUsed:
    """A turn was answered by a skill, not the LLM (the report's ``"skill"`` entry)."""

    turn_id: int
    gen: int
    name: str
    args: dict[str, Any]
    result: dict[str, Any]
