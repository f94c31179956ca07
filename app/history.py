"""Conversation history in SQLite: saved turn by turn, crash-safe, exportable.

The database lives in the user data dir (``history.sqlite3``).  It runs in WAL
mode and commits once per finished turn, so killing the app mid-turn loses at
most that turn.  No Qt here: the window calls these methods on its own thread
(each is one short statement) and tests use it directly.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app import paths

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TITLE_CHARS = 60

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    title    TEXT    NOT NULL DEFAULT '',
    created  REAL    NOT NULL,
    updated  REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id     INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    turn_id             INTEGER NOT NULL,
    created             REAL    NOT NULL,
    user_text           TEXT    NOT NULL DEFAULT '',
    emotion             TEXT,
    assistant_text      TEXT    NOT NULL DEFAULT '',
    assistant_full_text TEXT    NOT NULL DEFAULT '',
    interrupted         INTEGER NOT NULL DEFAULT 0,
    latency             TEXT
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, id);
"""


def default_path() -> Path:
    return paths.data_dir() / "history.sqlite3"


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    title: str
    created: float
    updated: float
    turns: int


@dataclass(frozen=True)
class TurnRecord:
    turn_id: int
    created: float
    user_text: str
    assistant_text: str  # what the user heard
    assistant_full_text: str = ""  # what the model wrote
    interrupted: bool = False
    emotion: dict[str, Any] | None = None
    latency: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> TurnRecord:
        """From an engine turn report (``TurnDone.metrics``)."""
        return cls(
            turn_id=int(report.get("turn_id") or 0),
            created=time.time(),
            user_text=str(report.get("user_text") or ""),
            assistant_text=str(report.get("assistant_text") or ""),
            assistant_full_text=str(report.get("assistant_full_text") or ""),
            interrupted=bool(report.get("interrupted")),
            emotion=dict(report["emotion"]) if report.get("emotion") else None,
            latency={k: v for k, v in (report.get("latency_ms") or {}).items() if v is not None},
        )


class History:
    """One SQLite database of conversations and their turns."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "PRAGMA synchronous=NORMAL"
        )  # WAL + NORMAL: a killed process loses nothing committed
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=2000")
        with self._tx():
            for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                self._db.execute(stmt)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---------------- writing ----------------
    def new_conversation(self, title: str = "") -> int:
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO conversations(title, created, updated) VALUES (?, ?, ?)", (title, now, now)
            )
            return int(cur.lastrowid or 0)

    def add_turn(self, conversation_id: int, turn: TurnRecord) -> None:
        """Append one finished turn and commit it (the unit of crash safety)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO turns(conversation_id, turn_id, created, user_text, emotion, assistant_text,"
                " assistant_full_text, interrupted, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    turn.turn_id,
                    turn.created,
                    turn.user_text,
                    json.dumps(turn.emotion) if turn.emotion else None,
                    turn.assistant_text,
                    turn.assistant_full_text,
                    int(turn.interrupted),
                    json.dumps(turn.latency) if turn.latency else None,
                ),
            )
            row = db.execute("SELECT title FROM conversations WHERE id=?", (conversation_id,)).fetchone()
            title = row["title"] if row else ""
            if not title and turn.user_text:
                title = _title_from(turn.user_text)
            db.execute(
                "UPDATE conversations SET updated=?, title=? WHERE id=?",
                (turn.created, title, conversation_id),
            )

    def rename(self, conversation_id: int, title: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE conversations SET title=? WHERE id=?", (title.strip(), conversation_id))

    def delete(self, conversation_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,))

    # ---------------- reading ----------------
    def conversations(self) -> list[ConversationSummary]:
        """Newest first; conversations without any turn are left out."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.title, c.created, c.updated, COUNT(t.id) AS n FROM conversations c"
                " JOIN turns t ON t.conversation_id = c.id GROUP BY c.id ORDER BY c.updated DESC, c.id DESC"
            ).fetchall()
        return [ConversationSummary(r["id"], r["title"], r["created"], r["updated"], r["n"]) for r in rows]

    def summary(self, conversation_id: int) -> ConversationSummary | None:
        with self._lock:
            r = self._db.execute(
                "SELECT c.id, c.title, c.created, c.updated, COUNT(t.id) AS n FROM conversations c"
                " LEFT JOIN turns t ON t.conversation_id = c.id WHERE c.id=? GROUP BY c.id",
                (conversation_id,),
            ).fetchone()
        return ConversationSummary(r["id"], r["title"], r["created"], r["updated"], r["n"]) if r else None

    def turns(self, conversation_id: int) -> list[TurnRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM turns WHERE conversation_id=? ORDER BY id", (conversation_id,)
            ).fetchall()
        return [
            TurnRecord(
                turn_id=r["turn_id"],
                created=r["created"],
                user_text=r["user_text"],
                assistant_text=r["assistant_text"],
                assistant_full_text=r["assistant_full_text"],
                interrupted=bool(r["interrupted"]),
                emotion=json.loads(r["emotion"]) if r["emotion"] else None,
                latency=json.loads(r["latency"]) if r["latency"] else {},
            )
            for r in rows
        ]

    # ---------------- export ----------------
    def export_json(self, conversation_id: int) -> str:
        summary = self.summary(conversation_id)
        if summary is None:
            raise KeyError(conversation_id)
        data = {
            "id": summary.id,
            "title": summary.title,
            "created": _iso(summary.created),
            "updated": _iso(summary.updated),
            "turns": [{**asdict(t), "created": _iso(t.created)} for t in self.turns(conversation_id)],
        }
        return json.dumps(data, indent=2, ensure_ascii=False)

    def export_markdown(self, conversation_id: int) -> str:
        summary = self.summary(conversation_id)
        if summary is None:
            raise KeyError(conversation_id)
        lines = [f"# {summary.title or 'Conversation'}", "", f"*{_iso(summary.created)}*", ""]
        for t in self.turns(conversation_id):
            you = t.user_text or "…"
            if t.emotion and t.emotion.get("label"):
                conf = float(t.emotion.get("confidence") or 0.0)
                you += f" _({t.emotion['label']}, {conf:.0%})_"
            lines += [f"**You:** {you}", ""]
            if t.assistant_text or t.interrupted:
                reply = t.assistant_text or "…"
                if t.interrupted:
                    reply += " _(interrupted)_"
                lines += [f"**Hearken:** {reply}", ""]
        return "\n".join(lines).rstrip() + "\n"


def _title_from(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
