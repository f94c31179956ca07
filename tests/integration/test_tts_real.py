"""Piper through our session wrapper: long clauses give their memory back, short ones keep a warm arena."""

from __future__ import annotations

import psutil
import pytest

from app.config import Settings
from app.engines.tts import KEEP_ARENA_PHONEME_IDS, WARM_UP_TEXT, PiperTts
from app.heap import release_free_memory
from app.models import resolve

LONG = (
    "A healthy breakfast is a meal that includes whole grains, vegetables, lean proteins and plenty of "
    "fruits, and it should also be low in sugar and fat, to help you keep your energy up through the "
    "whole long day that lies ahead of you."
)


@pytest.fixture(scope="module")
def tts() -> PiperTts:
    m = resolve("tts", Settings())
    engine = PiperTts(m.path, m.config_path)
    engine.warm_up()
    return engine


def _ids(tts: PiperTts, text: str) -> int:
    return sum(len(tts.voice.phonemes_to_ids(p)) for p in tts.voice.phonemize(text))


def test_warm_up_text_fits_the_kept_arena(tts):
    assert _ids(tts, WARM_UP_TEXT) <= KEEP_ARENA_PHONEME_IDS < _ids(tts, LONG)
    assert tts.session.shrinks == 0


def test_long_clause_hands_its_memory_back(tts):
    proc = psutil.Process()
    release_free_memory()
    before = proc.memory_info().rss
    shrinks = tts.session.shrinks
    audio = list(tts.synthesize(LONG))
    assert sum(len(a) for a in audio) > 10 * tts.sample_rate  # a long clause really was spoken
    assert tts.session.shrinks > shrinks
    # Without shrinkage this clause leaves the process ~400 MB bigger (onnxruntime's arena).  The
    # heap is trimmed first, as the engine does between turns: after earlier tests freed large
    # blocks, glibc's raised mmap threshold keeps freed memory in the heap until a trim (this
    # failed only after the skills' integration test, never alone).
    release_free_memory()
    assert proc.memory_info().rss - before < 100e6


def test_short_clause_keeps_the_arena(tts):
    shrinks = tts.session.shrinks
    audio = list(tts.synthesize("The capital of France is Paris."))
    assert audio and len(audio[0]) > 0.5 * tts.sample_rate
    assert tts.session.shrinks == shrinks
