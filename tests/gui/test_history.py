"""app/history.py: SQLite history, crash safety, export (no Qt)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.history import History, TurnRecord

pytestmark = pytest.mark.gui

REPORT = {
    "turn_id": 1,
    "user_text": "What is the capital of France?",
    "emotion": {
        "label": "calm",
        "confidence": 0.72,
        "arousal": -0.2,
        "valence": 0.1,
        "cues": ["slow speech"],
    },
    "assistant_text": "Paris is the capital of France.",
    "assistant_full_text": "Paris is the capital of France.",
    "interrupted": False,
    "latency_ms": {"voice_to_voice": 1050.0, "stt": None},
}


def test_turns_round_trip_and_title(tmp_path: Path):
    h = History(tmp_path / "h.sqlite3")
    cid = h.new_conversation()
    h.add_turn(cid, TurnRecord.from_report(REPORT))
    h.add_turn(
        cid,
        TurnRecord.from_report(
            {
                **REPORT,
                "turn_id": 2,
                "interrupted": True,
                "assistant_text": "Paris is",
                "user_text": "And Spain?",
            }
        ),
    )
    [summary] = h.conversations()
    assert summary.title == "What is the capital of France?" and summary.turns == 2
    turns = h.turns(cid)
    assert [t.turn_id for t in turns] == [1, 2]
    assert turns[0].emotion["label"] == "calm"
    assert turns[0].latency == {"voice_to_voice": 1050.0}  # unmeasured stages are left out
    assert turns[1].interrupted and turns[1].assistant_text == "Paris is"
    assert h._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_empty_conversations_are_not_listed_and_delete_cascades(tmp_path: Path):
    h = History(tmp_path / "h.sqlite3")
    h.new_conversation()
    cid = h.new_conversation()
    h.add_turn(cid, TurnRecord.from_report(REPORT))
    assert [c.id for c in h.conversations()] == [cid]
    h.delete(cid)
    assert h.conversations() == []
    assert h._db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0


def test_exports(tmp_path: Path):
    h = History(tmp_path / "h.sqlite3")
    cid = h.new_conversation()
    h.add_turn(cid, TurnRecord.from_report(REPORT))
    h.add_turn(
        cid, TurnRecord.from_report({**REPORT, "turn_id": 2, "interrupted": True, "assistant_text": "It"})
    )
    md = h.export_markdown(cid)
    assert md.startswith("# What is the capital of France?")
    assert "**You:** What is the capital of France? _(calm, 72%)_" in md
    assert "**Hearken:** It _(interrupted)_" in md
    data = json.loads(h.export_json(cid))
    assert data["title"] == "What is the capital of France?"
    assert [t["turn_id"] for t in data["turns"]] == [1, 2]
    assert data["turns"][0]["emotion"]["cues"] == ["slow speech"]


KILLER = """
import os, signal, sys
sys.path.insert(0, {root!r})
from app.history import History, TurnRecord
h = History({db!r})
cid = h.new_conversation()
h.add_turn(cid, TurnRecord(1, 0.0, "first question", "first answer"))
h.add_turn(cid, TurnRecord(2, 0.0, "second question", "second answer"))
h._db.execute("BEGIN IMMEDIATE")  # a third turn half-written when the process dies
h._db.execute("INSERT INTO turns(conversation_id, turn_id, created, user_text) VALUES (?, 3, 0, 'lost')", (cid,))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_kill_mid_turn_loses_only_that_turn(tmp_path: Path):
    db = tmp_path / "h.sqlite3"
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run([sys.executable, "-c", KILLER.format(root=root, db=str(db))], timeout=30)
    assert proc.returncode == -9
    h = History(db)
    [c] = h.conversations()
    assert [t.user_text for t in h.turns(c.id)] == ["first question", "second question"]
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
