"""Optional abilities an engine declares, so the workers ask instead of guessing with ``getattr``.

Every engine class says what it can do beyond its role's protocol in a class attribute::

    class WhisperStt:
        capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.WARM_UP, ...})

and a worker asks ``supports(engine, Capability.WARM_UP)`` before calling ``engine.warm_up()``.
An engine that declares nothing supports nothing optional.  Each capability promises one
member (``Capability.member``), and for a keyword of the role's main call, the keyword it
honours (``Capability.parameter``); ``tests/unit/engines/test_registry.py`` checks both.
"""

from __future__ import annotations

from enum import Enum


class Capability(str, Enum):
    WARM_UP = "warm_up"
    """``warm_up()`` (an LLM: ``warm_up(system_prompt)``): pay the first run's cost while loading."""
    PREFILL = "prefill"
    """``prefill(messages, should_stop) -> int``: evaluate the conversation into the cache between turns."""
    SPEAKING_RATE = "speaking_rate"
    """A settable ``speaking_rate`` attribute (1.0 = the voice's own pace), changed without a reload."""
    HOTWORDS = "hotwords"
    """``transcribe(audio, hotwords=...)`` biases recognition towards those words."""
    WORD_TIMES = "word_times"
    """``transcribe(audio, word_timestamps=True)`` fills ``SttResult.words`` with their times."""

    def __str__(self) -> str:
        return self.value

    @property
    def member(self) -> str:
        """The method or attribute of the engine this capability promises."""
        return _MEMBERS.get(self, (self.value, None))[0]

    @property
    def parameter(self) -> str | None:
        """The keyword of ``member`` the engine honours (None: the member itself is the ability)."""
        return _MEMBERS.get(self, (self.value, None))[1]


_MEMBERS: dict[Capability, tuple[str, str | None]] = {
    Capability.HOTWORDS: ("transcribe", "hotwords"),
    Capability.WORD_TIMES: ("transcribe", "word_timestamps"),
}

NONE: frozenset[Capability] = frozenset()


def supports(engine: object, capability: Capability) -> bool:
    """Whether ``engine`` (None: no engine) declares ``capability`` in its ``capabilities``."""
    return capability in getattr(engine, "capabilities", NONE)
