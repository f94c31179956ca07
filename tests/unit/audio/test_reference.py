"""The speaker reference timeline places what was played by its DAC time; the delay estimate finds the echo."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio.reference import ReferenceTimeline, estimate_delay
from app.audio.resample import StreamResampler
from app.messages import SAMPLE_RATE
from tests.unit.audio.synthetic import Room, speechlike


def test_reference_is_placed_by_its_dac_time_at_any_device_rate():
    for rate in (16000, 44100, 48000):
        ref = ReferenceTimeline()
        x = np.zeros(SAMPLE_RATE, np.float32)
        x[8000] = 1.0
        up = StreamResampler(SAMPLE_RATE, rate)
        sent = 0
        for i in range(0, len(x), 320):
            dev = up(x[i : i + 320])
            ref.push(dev, 5.0 + sent / rate, rate)
            sent += dev.size
        ref.ingest()
        got = ref.fetch(5.25, 8000)  # 250 ms in: the impulse is 250 ms later
        assert abs(int(np.argmax(np.abs(got))) - 4000) <= 1, rate


def test_reference_gap_is_silence_and_later_audio_lands_in_place():
    ref = ReferenceTimeline()
    ref.push(np.full(1600, 0.5, np.float32), 1.0, 16000)
    ref.push(np.full(1600, 0.25, np.float32), 1.6, 16000)  # the stream restarted half a second later
    ref.ingest()
    seg = ref.fetch(1.0, int(0.8 * SAMPLE_RATE))
    assert np.allclose(seg[:1600], 0.5) and np.allclose(seg[1700:9500], 0.0)
    assert np.allclose(seg[9600:11200], 0.25)
    assert ref.end_time() == pytest.approx(1.7, abs=1e-3)


def test_estimate_delay_finds_the_echo():
    x = speechlike(1.5, 1)
    room = Room(delay_ms=45)
    lag, corr = estimate_delay(room.mic(x), x)
    assert abs(lag - int(0.045 * SAMPLE_RATE)) <= 2 and corr > 0.5
    lag, corr = estimate_delay(np.random.default_rng(9).standard_normal(len(x)).astype(np.float32), x)
    assert corr < 0.1
