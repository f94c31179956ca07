"""Per-turn timestamps (perf_counter seconds) and the latencies derived from them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

STAMPS = (
    "speech_start",
    "speech_end",
    "eot_decided",
    "stt_done",
    "emotion_done",
    "llm_start",
    "llm_first_token",
    "first_clause",
    "tts_first_chunk",
    "first_audio",
    "llm_done",
    "turn_end",
)


@dataclass
class TurnClock:
    turn_id: int
    origin: float  # session clock zero (perf_counter)
    t: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stamp(self, name: str, when: float, *, overwrite: bool = False) -> None:
        with self._lock:
            if overwrite or name not in self.t:
                self.t[name] = when

    def forget(self, *names: str) -> None:
        """Drop these stamps (the work they timed was cancelled and will be done again)."""
        with self._lock:
            for name in names:
                self.t.pop(name, None)

    def get(self, name: str) -> float | None:
        return self.t.get(name)

    def _ms(self, a: str, b: str) -> float | None:
        if a in self.t and b in self.t:
            return round((self.t[b] - self.t[a]) * 1000.0, 1)
        return None

    def latencies_ms(self) -> dict[str, float | None]:
        return {
            "end_of_turn": self._ms("speech_end", "eot_decided"),
            "stt": self._ms("speech_end", "stt_done"),
            "llm_first_token": self._ms("llm_start", "llm_first_token"),
            "first_clause": self._ms("llm_start", "first_clause"),
            "tts_first_chunk": self._ms("first_clause", "tts_first_chunk"),
            "voice_to_voice": self._ms("speech_end", "first_audio"),
        }

    def session_times(self) -> dict[str, float]:
        """Stamps on the session clock (seconds since the session started)."""
        return {k: round(v - self.origin, 4) for k, v in sorted(self.t.items(), key=lambda kv: kv[1])}

    def as_report(self) -> dict[str, Any]:
        return {"t": self.session_times(), "latency_ms": self.latencies_ms()}
