"""Conversation memory: what was said, trimmed to fit the model's context window."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

INTERRUPTED_MARK = " [interrupted by the user]"


@dataclass
class Entry:
    role: str  # user | assistant
    content: str
    turn_id: int
    interrupted: bool = False


class Conversation:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._lock = threading.Lock()

    def add(self, role: str, content: str, turn_id: int, interrupted: bool = False) -> None:
        with self._lock:
            self.entries.append(Entry(role, content, turn_id, interrupted))

    def drop_turn(self, turn_id: int, role: str | None = None) -> None:
        with self._lock:
            self.entries = [e for e in self.entries if not (e.turn_id == turn_id and role in (None, e.role))]

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()

    def snapshot(self) -> list[Entry]:
        with self._lock:
            return list(self.entries)

    def messages(
        self,
        system_prompt: str,
        *,
        count_tokens: Callable[[str], int],
        budget: int,
    ) -> list[dict[str, str]]:
        """System prompt + as many of the most recent whole exchanges as fit in ``budget`` tokens.

        Older history is dropped from the front, so the remaining prefix stays
        append-only between turns and the LLM's KV cache keeps matching.
        """
        entries = self.snapshot()
        per_message = 6  # chat-template tokens around each message
        used = count_tokens(system_prompt) + per_message
        kept: list[Entry] = []
        for e in reversed(entries):
            cost = count_tokens(e.content) + per_message + (8 if e.interrupted else 0)
            if used + cost > budget and kept:
                break
            used += cost
            kept.append(e)
        kept.reverse()
        while kept and kept[0].role != "user":  # a window starts with the user's turn
            kept.pop(0)
        msgs = [{"role": "system", "content": system_prompt}]
        for e in kept:
            content = e.content + (INTERRUPTED_MARK if e.interrupted else "")
            if msgs[-1]["role"] == e.role and e.role == "user":
                msgs[-1]["content"] += " " + content
            else:
                msgs.append({"role": e.role, "content": content})
        return msgs
