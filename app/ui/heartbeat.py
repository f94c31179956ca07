"""Measures how long the GUI thread stalls: a 10 ms timer that records the largest gap between ticks."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class StallMeter(QObject):
    """``longest_ms``: the worst time the event loop was away beyond its 10 ms beat."""

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)
        self._last: float | None = None
        self.longest_gap_ms = 0.0
        self.beats = 0

    @property
    def longest_ms(self) -> float:
        """Longest stall: the largest gap between beats, minus the beat itself."""
        return max(0.0, self.longest_gap_ms - self.interval_ms)

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self._last = None
        self.longest_gap_ms = 0.0
        self.beats = 0

    def _beat(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            gap = (now - self._last) * 1000.0
            if gap > self.longest_gap_ms:
                self.longest_gap_ms = gap
        self._last = now
        self.beats += 1
