"""The earcons: our own WAVs load as float32 mono at any rate, once, read-only, with a clear error if missing."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from app import paths
from app.audio.sounds import SOUNDS, SoundError, load_sound


@pytest.fixture(autouse=True)
def _fresh_cache():
    load_sound.cache_clear()
    yield
    load_sound.cache_clear()


@pytest.mark.parametrize("name", SOUNDS)
def test_the_committed_wavs_are_22050_hz_mono_16_bit(name):
    with wave.open(str(paths.resource("assets", "sounds", f"{name}.wav"))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (22050, 1, 2)


def test_timer_chime_at_its_own_rate_is_soft_and_about_1_2_s():
    x = load_sound("timer", 22050)
    assert x.dtype == np.float32 and x.ndim == 1
    assert len(x) / 22050 == pytest.approx(1.2, abs=0.05)
    peak_db = 20 * np.log10(np.max(np.abs(x)))
    assert -7.0 < peak_db < -5.0
    assert abs(x[0]) < 0.02 and abs(x[-1]) < 0.01  # soft attack, faded out: no clicks


def test_wake_blip_is_short_and_rises():
    x = load_sound("wake", 16000)
    assert len(x) / 16000 == pytest.approx(0.15, abs=0.01)
    half = len(x) // 2

    def crossings(a: np.ndarray) -> int:
        return int(np.count_nonzero(np.diff(np.signbit(a))))

    assert crossings(x[half:]) > crossings(x[:half]) * 1.2  # the pitch goes up


def test_resampled_to_the_output_rate_keeps_length_and_level():
    x48 = load_sound("timer", 48000)
    x22 = load_sound("timer", 22050)
    assert len(x48) == pytest.approx(len(x22) * 48000 / 22050, abs=4)
    assert np.max(np.abs(x48)) == pytest.approx(np.max(np.abs(x22)), rel=0.05)


def test_cached_and_read_only():
    a = load_sound("timer", 24000)
    assert load_sound("timer", 24000) is a
    with pytest.raises(ValueError):
        a[0] = 1.0


def test_a_missing_sound_names_the_file():
    with pytest.raises(SoundError, match=r"nope.*nope\.wav"):
        load_sound("nope", 16000)
