"""What a stage is given instead of its owner: the narrow contexts of the STT, LLM and TTS workers.

A stage reads its inbox, does its one job and ``emit``s what it found (a ``Transcript``, a
``NotSpeech``, an ``AssistantDelta``...); it never calls into the orchestrator's turn logic.
The orchestrator implements these Protocols; unit tests pass a recorder
(``tests/fakes.py`` ``RecordingContext``) and call ``handle`` directly, without threads or a clock.
"""

from __future__ import annotations

from typing import Protocol

from app.config import Settings
from app.engines.llm import LlmEngine
from app.messages import Transcript
from app.skills import SkillAnswer


class StageContext(Protocol):
    """Time stamps, results and staleness: all any stage may touch of the session."""

    @property
    def settings(self) -> Settings: ...

    def stamp(self, turn_id: int, name: str, when: float) -> None:
        """Record when ``name`` happened for ``turn_id`` (a ``time.perf_counter()`` value)."""

    def emit(self, message: object) -> None:
        """A stage's result; the orchestrator routes it (to the next stage, the turn logic or the UI)."""

    def is_stale(self, gen: int) -> bool:
        """True once the cancel generation has moved past ``gen`` (stop the work at once)."""

    def hotwords(self) -> str:
        """What speech recognition should expect to hear: the user's hotwords and, in wake word
        mode, the wake phrase and name (Whisper then spells "Alexa" as the user said it)."""


class LlmContext(StageContext, Protocol):
    """The LLM stage may also ask for the conversation it answers in."""

    @property
    def memory_version(self) -> int:
        """Changes whenever the conversation changes (the idle prefill runs once per change)."""

    def prompt_for(self, tr: Transcript, llm: LlmEngine) -> list[dict[str, str]] | None:
        """Chat messages answering ``tr``, recorded in memory as sent; None if it went stale."""

    def skill_for(self, tr: Transcript) -> SkillAnswer | None:
        """A local skill's answer to ``tr`` (the clock, a timer, a sum, an honest "I can't"),
        recorded in memory like a prompt; None when the LLM answers."""

    def idle_prompt(self, llm: LlmEngine) -> list[dict[str, str]]:
        """The conversation as the next turn's prompt will begin (prefilled between turns)."""

    def heard_so_far(self) -> tuple[int, str] | None:
        """While the user speaks: the turn's id and the words of it heard so far that its
        transcript will begin with (a partial transcript less its last, maybe cut, word); else None."""

    def is_idle(self) -> bool:
        """No turn in progress and nothing queued or playing."""
