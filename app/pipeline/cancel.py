"""The cancel generation: barge-in bumps it, every stage drops items of older generations."""

from __future__ import annotations

import threading


class CancelScope:
    def __init__(self) -> None:
        self._gen = 0
        self._lock = threading.Lock()

    @property
    def current(self) -> int:
        return self._gen

    def cancel(self) -> int:
        """Invalidate everything in flight; returns the new generation."""
        with self._lock:
            self._gen += 1
            return self._gen

    def is_stale(self, gen: int) -> bool:
        return gen != self._gen
