"""The default wake word model on real audio: it hears its phrase said by piper (with the request in
the same breath) and stays asleep on speech without it; and the whole engine, in wake word mode,
answers the call and says nothing to a recording that never calls it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.audio.io import load_speech, write_wav
from app.config import Settings
from app.messages import SAMPLE_RATE
from tests.conftest import DATA
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def detector():
    from app.engines import registry

    det = registry.build("wake", Settings())
    yield det
    det.close()


@pytest.fixture(scope="module")
def piper_says(tmp_path_factory):
    """text -> a 16 kHz WAV of it by the bundled piper voice, -6 dBFS peak, 1 s of silence either side."""
    from app.audio.resample import resample
    from app.engines.tts import PiperTts
    from app.models import resolve

    m = resolve("tts", Settings())
    tts = PiperTts(m.path, m.config_path)
    folder = tmp_path_factory.mktemp("wake")

    def say(text: str) -> tuple[np.ndarray, str]:
        audio = resample(np.concatenate(list(tts.synthesize(text))), tts.sample_rate, SAMPLE_RATE)
        audio = audio * (10 ** (-6 / 20) / float(np.max(np.abs(audio))))
        pad = np.zeros(SAMPLE_RATE, np.float32)
        audio = np.concatenate([pad, audio, pad]).astype(np.float32)
        path = folder / f"{abs(hash(text))}.wav"
        write_wav(path, audio, SAMPLE_RATE)
        return load_speech(path), str(path)

    return say


def _wakes(detector, audio: np.ndarray) -> list[float]:
    from app.tools.wake_eval import gate_wakes

    threshold = Settings().wake_threshold
    return gate_wakes(detector, audio, detector.cutoff if threshold is None else threshold)


def test_the_default_model_hears_its_phrase_and_nothing_else(detector, piper_says):
    audio, _ = piper_says(f"{detector.phrase}, what time is it?")
    wakes = _wakes(detector, audio)
    assert len(wakes) == 1, wakes
    assert 1.0 < wakes[0] < len(audio) / SAMPLE_RATE - 1.0  # while the phrase is said, not in the padding
    alone, _ = piper_says(f"{detector.phrase}.")
    assert len(_wakes(detector, alone)) == 1
    for text in ("What time is it?", "Set a timer for five minutes, please.", "How far away is the moon?"):
        quiet, _ = piper_says(text)
        assert _wakes(detector, quiet) == [], text
    assert _wakes(detector, load_speech(DATA / "ibm_thunderstorms.wav")) == []


def test_file_mode_in_wake_word_mode_answers_only_the_call(detector, piper_says, tmp_path):
    _, call = piper_says(f"{detector.phrase}, what time is it?")
    report = tmp_path / "called.json"
    res = run_cli("listen", call, "--mode", "wake", "--pace", "fast", "--report", str(report))
    assert res.returncode == 0, res.stderr
    turns = [t for t in json.loads(report.read_text())["turns"] if not t.get("dropped")]
    assert len(turns) == 1, turns
    assert (
        "time" in turns[0]["user_text"].lower()
        and detector.phrase.lower() not in turns[0]["user_text"].lower()
    )
    assert (turns[0].get("skill") or {}).get("name") == "time"
    assert turns[0]["assistant_text"]

    report = tmp_path / "not_called.json"
    res = run_cli(
        "listen",
        str(DATA / "ibm_thunderstorms.wav"),
        "--mode",
        "wake",
        "--pace",
        "fast",
        "--report",
        str(report),
    )
    assert res.returncode == 0, res.stderr
    assert [t for t in json.loads(report.read_text())["turns"] if not t.get("dropped")] == []
    assert "zero turns" in res.stdout
