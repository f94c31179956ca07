"""``hearken calibrate --quick`` on the real models, as a user (or the window's child) runs it: the
JSON it prints and stores, progress on stderr, and the LLM built afterwards with what it chose.
No timing is asserted: the figures depend on the machine and on what else runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import calibrate, calibration
from app.config import Settings
from app.engines import registry
from app.models import resolve

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user dir with no calibration in it; the model cache (assembled weights) stays the real one."""
    home = tmp_path / "home"
    home.mkdir()
    cache = Path(os.environ["HEARKEN_HOME"]) / "cache"
    if cache.exists():
        (home / "cache").symlink_to(cache.resolve(), target_is_directory=True)
    monkeypatch.setenv("HEARKEN_HOME", str(home))
    return home


def test_a_quick_calibration_measures_stores_and_is_used(home: Path):
    res = subprocess.run(
        [sys.executable, "-m", "app", "calibrate", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    entry = json.loads(res.stdout)

    steps = [calibrate.parse_progress(line) for line in res.stderr.splitlines()]
    steps = [s for s in steps if s is not None]
    assert steps[0][0] == 0 and steps[-1][0] == steps[-1][1] == len(steps) - 1
    assert "beside a busy core" in " ".join(s[2] for s in steps)

    assert entry["quick"] is True and entry["cpu"] == calibration.cpu_signature()
    assert set(entry["models"]) == {"llm", "stt", "tts"} and all(m["id"] for m in entry["models"].values())
    rows = entry["llm"]["threads"]
    assert [r["threads"] for r in rows] == list(range(1, min(calibration.usable_cores(), 2) + 1))
    for r in rows:
        assert all(r[k] > 0 for k in ("prefill_tps", "decode_tps", "prefill_tps_busy", "decode_tps_busy")), r
    assert "thunder" in entry["stt"]["text"].lower()  # real speech was transcribed
    assert entry["stt"]["ms"] > 0 and entry["stt"]["ms_busy"] > 0
    assert entry["tts"]["audio_s"] > 1.0 and entry["tts"]["ms"] > 0
    choice = entry["choice"]
    threads = [r["threads"] for r in rows]
    assert choice["llm_threads"] in threads and choice["llm_batch_threads"] in threads and choice["why"]
    assert entry["in_use"] == {
        "threads": choice["llm_threads"],
        "batch_threads": choice["llm_batch_threads"],
        "source": "calibrated on this computer",
    }

    stored = calibration.load_entries()
    assert Path(entry["saved_to"]) == calibration.store_path() == home / "config" / "calibration.json"
    assert stored == [{k: v for k, v in entry.items() if k not in ("saved_to", "in_use")}]

    # the LLM is now built with what was chosen, and the window would not measure again
    settings = Settings()
    llm = resolve("llm", settings)
    _, kwargs = registry.spec("llm", "llama.cpp").arguments(llm, settings)
    assert (kwargs["threads"], kwargs["batch_threads"]) == (choice["llm_threads"], choice["llm_batch_threads"])
    models = {role: resolve(role, settings) for role in ("vad", "stt", "llm", "tts")}
    assert not calibration.status(models, settings).due
    # the user's own setting still wins
    _, kwargs = registry.spec("llm", "llama.cpp").arguments(llm, Settings(llm_threads=3))
    assert kwargs["threads"] == 3
