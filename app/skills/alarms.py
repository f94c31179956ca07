"""Timers and reminders that really go off: kept in SQLite (the history database), so they
outlive a restart of the app, and each fires exactly once.

Times are wall-clock epoch seconds (``time.time()``); ``AlarmBook`` takes a clock so tests run
without real time.  No threads here: the orchestrator asks ``due()`` a few times a second.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.messages import Alarm

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind      TEXT    NOT NULL,
    label     TEXT    NOT NULL DEFAULT '',
    due       REAL    NOT NULL,
    created   REAL    NOT NULL,
    duration  REAL,
    state     TEXT    NOT NULL DEFAULT 'pending'   -- pending | fired | cancelled
);
CREATE INDEX IF NOT EXISTS alarms_pending ON alarms(state, due);
"""


class AlarmStore:
    """The ``alarms`` table; ``path=None`` keeps them in memory (the CLI, tests)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, timeout=5)
        self._lock = threading.Lock()
        with self._lock, self._db:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def add(self, kind: str, label: str, due: float, created: float, duration: float | None = None) -> Alarm:
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO alarms (kind, label, due, created, duration) VALUES (?, ?, ?, ?, ?)",
                (kind, label, due, created, duration),
            )
        return Alarm(int(cur.lastrowid or 0), kind, label, due, created, duration)

    def pending(self) -> list[Alarm]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, label, due, created, duration FROM alarms"
                " WHERE state = 'pending' ORDER BY due, id"
            ).fetchall()
        return [Alarm(*row) for row in rows]

    def close_alarm(self, alarm_id: int, state: str) -> bool:
        """Mark a pending alarm fired or cancelled; False if it was not pending (fires once)."""
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE alarms SET state = ? WHERE id = ? AND state = 'pending'", (state, alarm_id)
            )
        return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()


class AlarmBook:
    """What the skills do with the store: set, look up, cancel, and hand out what is due."""

    def __init__(self, store: AlarmStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.version = 0  # moves on every change (the UI's list is redrawn)
        self._started = clock()

    def _changed(self) -> None:
        self.version += 1

    def add(self, kind: str, label: str, due: float, duration: float | None = None) -> Alarm:
        alarm = self.store.add(kind, label, due, self.clock(), duration)
        self._changed()
        return alarm

    def pending(self, kind: str | None = None) -> list[Alarm]:
        return [a for a in self.store.pending() if kind in (None, a.kind)]

    def find(self, kind: str, label: str = "") -> list[Alarm]:
        """Pending alarms of ``kind`` whose label matches ``label`` (all of them for "")."""
        alarms = self.pending(kind)
        if not label:
            return alarms
        words = set(label.lower().split()) - {"the", "my", "a", "to", "for"}
        return [a for a in alarms if words & set(a.label.lower().split())] or []

    def cancel(self, alarm_id: int) -> bool:
        done = self.store.close_alarm(alarm_id, "cancelled")
        if done:
            self._changed()
        return done

    def due(self) -> list[tuple[Alarm, bool]]:
        """Pending alarms whose time has come, each marked fired (so it fires once, even across
        a restart), with ``late``: it fell due before this book started (the app was closed)."""
        now = self.clock()
        fired = []
        for alarm in self.store.pending():
            if alarm.due > now:
                break
            if self.store.close_alarm(alarm.id, "fired"):
                fired.append((alarm, alarm.due < self._started))
        if fired:
            self._changed()
        return fired
