"""Conversation memory: what was said, trimmed to fit the model's context window."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

# Where an answer was cut off, the model is told so in the user's next message, never in its
# own: a small model imitates its history, and once wrote "Sure! [interrupted by the user]".
INTERRUPTED_NOTE = "[I interrupted your last answer.] "


@dataclass
class Entry:
    role: str  # user | assistant
    content: str
    turn_id: int
    interrupted: bool = False


class Conversation:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._start = 0  # index of the oldest entry still in the model's window
        self._lock = threading.Lock()
        self.version = 0  # changes whenever an entry is added or removed

    def _changed(self) -> None:
        self.version += 1

    def add(self, role: str, content: str, turn_id: int, interrupted: bool = False) -> None:
        with self._lock:
            self.entries.append(Entry(role, content, turn_id, interrupted))
            self._changed()

    def drop_turn(self, turn_id: int, role: str | None = None) -> None:
        with self._lock:
            gone = [e.turn_id == turn_id and role in (None, e.role) for e in self.entries]
            self._start -= sum(gone[: self._start])
            self.entries = [e for e, g in zip(self.entries, gone, strict=True) if not g]
            self._changed()

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self._start = 0
            self._changed()

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
        """System prompt + the recent exchanges that fit in ``budget`` tokens.

        The window only moves in blocks: when the history outgrows the budget, the oldest
        exchanges are dropped until it fills about half of it, and then it is append-only
        again.  Trimming one exchange per turn would change the prompt's prefix every turn and
        make llama.cpp re-evaluate the whole history (seconds) instead of only the new words.
        """
        entries = self.snapshot()
        per_message = 6  # chat-template tokens around each message
        fixed = count_tokens(system_prompt) + per_message
        costs = [count_tokens(e.content) + per_message + (8 if e.interrupted else 0) for e in entries]
        with self._lock:
            start = min(self._start, len(entries))
            if fixed + sum(costs[start:]) > budget:
                target = fixed + (budget - fixed) // 2
                while start < len(entries) - 1 and fixed + sum(costs[start:]) > target:
                    start += 1
            while start < len(entries) and entries[start].role != "user":  # a window starts with the user
                start += 1
            self._start = start
        msgs = [{"role": "system", "content": system_prompt}]
        cut_off = False  # the assistant's last answer was interrupted
        for e in entries[start:]:
            content = e.content
            if e.role == "user" and cut_off:
                content = INTERRUPTED_NOTE + content
            cut_off = e.role == "assistant" and e.interrupted
            if msgs[-1]["role"] == e.role and e.role == "user":
                msgs[-1]["content"] += " " + content
            else:
                msgs.append({"role": e.role, "content": content})
        return msgs
