"""The headless commands on the real models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from app.audio.io import load_speech
from app.models import ROLES
from tests.conftest import DATA
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration


def test_transcribe_prints_segments():
    res = run_cli("transcribe", str(DATA / "stereo_diarization.wav"), "--channel", "1")
    assert res.returncode == 0, res.stderr
    assert "horizon seems extremely distant" in res.stdout.lower()
    assert res.stdout.startswith("[")


def test_say_cleans_markdown_and_emoji(tmp_path):
    from app.config import Settings
    from app.engines.stt import WhisperStt
    from app.models import resolve

    out = tmp_path / "said.wav"
    res = run_cli(
        "say",
        "**Good morning** everyone 👋! Visit https://example.com/docs for `details`.",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    heard = WhisperStt(resolve("stt", Settings()).path).transcribe(load_speech(out)).text.lower()
    assert "morning" in heard and "example" in heard
    for literal in ("asterisk", "star", "https", "slash", "backtick", "waving"):
        assert literal not in heard, heard


def test_ask_streams_an_answer():
    # Not arithmetic: the 0.5B model answers "Three" to "two plus two" with these pinned packages
    # (both llama.cpp builds); exact arithmetic is a skill's job, not the LLM's.
    res = run_cli("ask", "What is the capital of France? Answer in one word.")
    assert res.returncode == 0, res.stderr
    assert "paris" in res.stdout.lower()


def test_ask_answers_with_the_skills_first():
    """Typed, as spoken: the sum is exact and the timer is kept where the window will make it go off."""
    from app.history import default_path
    from app.skills import AlarmStore

    res = run_cli("ask", "What is twelve times thirteen?")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "That is 156."
    res = run_cli("ask", "Set a tea timer for four minutes.")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("OK, tea timer set for 4 minutes.")
    store = AlarmStore(default_path())
    tea = [a for a in store.pending() if a.label == "tea"]
    assert len(tea) == 1 and tea[0].duration == 240
    store.close_alarm(tea[0].id, "cancelled")


def test_models_lists_every_role_verified():
    res = run_cli("models", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert {r["role"] for r in rows} == set(ROLES)
    assert all(r["verified"] is True for r in rows)


def test_selftest_runs_each_native_engine_in_a_child_then_a_real_turn():
    res = run_cli("selftest", timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    for key in ("vad", "stt", "llm", "tts", "turn", "emotion", "echo"):
        assert any(line.split()[:2] == ["ok", key] for line in lines), res.stdout
    assert "thunderstorm" in res.stdout.lower()  # the bundled recording was heard
    assert any(line.split()[:2] == ["ok", "skills"] and "156" in line for line in lines), res.stdout
    verdict = lines[-1]
    assert verdict.startswith("selftest passed: Hearken answers "), res.stdout
    assert int(verdict.split("answers ")[1].split(" ms")[0]) > 0
    assert "Traceback" not in res.stderr


def test_noise_makes_no_turn(tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(16000 * 4) / 16000
    hum = 0.02 * np.sin(2 * np.pi * 50 * t) + 0.01 * np.cumsum(rng.standard_normal(t.size)) / 300
    path = tmp_path / "hum.wav"
    sf.write(path, hum.astype(np.float32), 16000)
    res = run_cli("listen", str(path), "--pace", "fast", "--report", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [t for t in report["turns"] if not t.get("dropped")] == []
