"""Silero VAD on real recordings: the lean graph the engine runs (``app.engines.silero_graph``)
against the model file as published, through the catalog's model and the registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.audio.io import load_speech
from app.config import Settings
from app.engines import registry
from app.engines.vad import SileroVad
from app.messages import FRAME
from app.models import resolve

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data"
RECORDINGS = ["ibm_thunderstorms.wav", "ibm_pause_heavy_rain.wav", "hotwords.mp3", "stereo_diarization.wav"]


def _probs(vad: SileroVad, audio: np.ndarray) -> np.ndarray:
    n = len(audio) // FRAME
    return np.array([vad.prob(audio[i * FRAME : (i + 1) * FRAME]) for i in range(n)])


@pytest.fixture(scope="module")
def audios() -> dict[str, np.ndarray]:
    return {name: load_speech(DATA / name) for name in RECORDINGS}


@pytest.fixture(scope="module")
def engines() -> tuple[SileroVad, SileroVad]:
    s = Settings()
    model = resolve("vad", s)
    lean = registry.build("vad", s, model)
    published = SileroVad(model.path, lean=False)
    assert lean.graph == "lean" and published.graph == "published"
    return lean, published


@pytest.mark.parametrize("name", RECORDINGS)
def test_the_lean_graph_gives_the_published_probabilities(name, audios, engines):
    lean, published = engines
    lean.reset()
    published.reset()
    p_lean, p_pub = _probs(lean, audios[name]), _probs(published, audios[name])
    assert (p_pub > 0.5).sum() > 20 and (p_pub < 0.1).sum() > 3  # speech and the silence around it
    # measured: equal to the bit (same operators, same runtime); the tolerance is for other CPUs' kernels
    assert np.max(np.abs(p_lean - p_pub)) <= 1e-6


def test_the_pause_in_the_sentence_is_heard_as_silence(audios, engines):
    lean, _ = engines
    lean.reset()
    p = _probs(lean, audios["ibm_pause_heavy_rain.wav"])
    speech = np.flatnonzero(p > 0.5)
    inside = p[speech[0] : speech[-1]]
    assert (inside < 0.35).sum() >= 20  # ~0.85 s of pause: 26 frames below 0.35 (measured)


def test_reset_starts_an_independent_stream(audios, engines):
    lean, _ = engines
    a, b = audios["hotwords.mp3"], audios["ibm_thunderstorms.wav"]
    fresh = SileroVad(resolve("vad", Settings()).path)
    expected = _probs(fresh, b)
    lean.reset()
    _probs(lean, a)
    carried = _probs(lean, b)  # the state of recording a carries over without a reset
    lean.reset()
    again = _probs(lean, b)
    assert np.array_equal(again, expected)
    assert not np.array_equal(carried, expected)
