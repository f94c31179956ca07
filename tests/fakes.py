"""Fakes for unit tests of pipeline logic (never a stand-in for a capability under test)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from app.audio.playback import PlaybackBuffer
from app.config import Settings
from app.engines.capabilities import Capability
from app.engines.stt import SttResult
from app.messages import SAMPLE_RATE, SpeechStyle
from app.pipeline.orchestrator import EngineFactories, Orchestrator
from app.skills import Skills


class EnergyVad:
    """Speech probability from frame energy: loud frames are speech."""

    def prob(self, frame: np.ndarray) -> float:
        return 0.95 if float(np.sqrt(np.mean(frame * frame))) > 0.05 else 0.02

    def reset(self) -> None:
        pass


class ScriptedStt:
    def __init__(self, texts: list[str] | None = None, delay: float = 0.0) -> None:
        self.texts = list(texts or ["what is the capital of france?"])
        self.delay = delay
        self.calls: list[int] = []

    def transcribe(
        self, audio: np.ndarray, *, hotwords: str = "", word_timestamps: bool = False
    ) -> SttResult:
        self.calls.append(len(audio))
        time.sleep(self.delay)
        text = self.texts[0] if len(self.texts) == 1 else self.texts.pop(0)
        return SttResult(text, (), 0.01, -0.2, "en", self.delay)


class ScriptedLlm:
    def __init__(
        self, reply: str = "Paris is the capital of France. It is lovely in spring.", token_delay: float = 0.0
    ):
        self.reply = reply
        self.token_delay = token_delay
        self.n_ctx = 2048
        self.name = "scripted"
        self.prompts: list[list[dict[str, str]]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def stream_chat(
        self,
        messages,
        *,
        max_tokens: int,
        temperature: float = 0.6,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        self.prompts.append([dict(m) for m in messages])
        words = self.reply.split(" ")
        for i, w in enumerate(words[:max_tokens]):
            if should_stop():
                return
            time.sleep(self.token_delay)
            yield (w if i == 0 else " " + w)


class PrefillingLlm(ScriptedLlm):
    """Records what the LLM worker prefills between turns."""

    capabilities = frozenset({Capability.PREFILL})

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.prefilled: list[list[dict[str, str]]] = []
        self.user_prefixes: list[str | None] = []

    def prefill(
        self, messages, should_stop: Callable[[], bool] = lambda: False, user_prefix: str | None = None
    ) -> int:
        self.prefilled.append([dict(m) for m in messages])
        self.user_prefixes.append(user_prefix)
        return len(messages)


class ToneTts:
    """0.06 s of tone per word, at 16 kHz."""

    sample_rate = SAMPLE_RATE

    def __init__(self, seconds_per_word: float = 0.06) -> None:
        self.spw = seconds_per_word
        self.spoken: list[str] = []

    def synthesize(self, text: str, style: SpeechStyle | None = None) -> Iterator[np.ndarray]:
        self.spoken.append(text)
        n = int(self.spw * SAMPLE_RATE * max(1, len(text.split())))
        yield (0.1 * np.sin(np.arange(n) * 0.1)).astype(np.float32)


class LoudWake:
    """A wake word "model" for tests: its phrase is any frame louder than ``level`` (RMS)."""

    phrase = "Hey Jarvis"
    cutoff = 0.5

    def __init__(self, level: float = 0.45) -> None:
        self.level = level
        self.resets = 0

    def score(self, frame: np.ndarray) -> float:
        return 1.0 if float(np.sqrt(np.mean(frame * frame))) > self.level else 0.0

    def reset(self) -> None:
        self.resets += 1


def speech(seconds: float, amp: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (amp * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def make_orchestrator(
    stt: ScriptedStt | None = None,
    llm: ScriptedLlm | None = None,
    tts: ToneTts | None = None,
    settings: Settings | None = None,
    skills: Skills | None = None,
    sound: Callable[[str, int], np.ndarray] | None = None,
    wake: Callable[[], Any] | None = None,
) -> Orchestrator:
    settings = settings or Settings(end_of_turn_silence_ms=300, speculative_pause_ms=150)
    stt = stt or ScriptedStt()
    llm = llm or ScriptedLlm()
    tts = tts or ToneTts()
    factories = EngineFactories(
        vad=EnergyVad, stt=lambda: stt, llm=lambda: llm, tts=lambda: tts, emotion=None, wake=wake
    )
    return Orchestrator(
        settings, factories, PlaybackBuffer(SAMPLE_RATE, record=True), skills=skills, sound=sound
    )


class RecordingContext:
    """A stage's context for tests without threads or a clock: records stamps and emits.

    ``stale`` holds the generations a test declares cancelled; the conversation asks
    (``prompt_for``, ``idle_prompt``) answer with a one-message prompt.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.stamps: list[tuple[int, str]] = []
        self.emitted: list[object] = []
        self.stale: set[int] = set()
        self.memory_version = 0
        self.idle = True
        self.heard: tuple[int, str] | None = None  # what a test says the user has said so far
        self.skills = None  # an app.skills.Skills answers before the "LLM" when a test sets one

    def stamp(self, turn_id: int, name: str, when: float) -> None:
        self.stamps.append((turn_id, name))

    def emit(self, message: object) -> None:
        self.emitted.append(message)

    def hotwords(self) -> str:
        return self.settings.hotwords

    def is_stale(self, gen: int) -> bool:
        return gen in self.stale

    def prompt_for(self, tr, llm) -> list[dict[str, str]] | None:
        return None if tr.gen in self.stale else [{"role": "user", "content": tr.text}]

    def skill_for(self, tr):
        if self.skills is None or tr.gen in self.stale:
            return None
        return self.skills.answer(tr.text)

    def idle_prompt(self, llm) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.settings.system_prompt}]

    def heard_so_far(self) -> tuple[int, str] | None:
        return self.heard

    def is_idle(self) -> bool:
        return self.idle

    def of(self, kind: type) -> list:
        return [m for m in self.emitted if isinstance(m, kind)]


class RecordingSink:
    """Where a TTS stage's audio goes in tests (``PlaybackBuffer``'s ``enqueue``)."""

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.sample_rate = sample_rate
        self.items: list[object] = []

    def enqueue(self, item: object) -> None:
        self.items.append(item)
