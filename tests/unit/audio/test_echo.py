"""Echo cancellation, the residual-echo guard and the echo modes, on synthetic rooms (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio.echo import (
    FRAME,
    FRAME_S,
    EchoParams,
    EchoProcessor,
    Frame,
    ReferenceTimeline,
    estimate_delay,
    make_canceller,
)
from app.audio.resample import StreamResampler
from app.messages import SAMPLE_RATE

BACKENDS = [b for b in ("pyaec", "speexdsp") if make_canceller(b) is not None]


def speechlike(seconds: float, seed: int, level: float = 0.1) -> np.ndarray:
    """Band-limited noise with a syllable-rate envelope and pauses (enough like speech for energy logic)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    x = rng.standard_normal(n)
    x = np.convolve(x, np.hanning(9) / np.hanning(9).sum(), mode="same")  # soften the top band
    t = np.arange(n) / SAMPLE_RATE
    env = np.clip(np.sin(2 * np.pi * 3.3 * t + rng.uniform(0, 6)), 0, None) ** 0.7
    env *= np.repeat(rng.uniform(0.3, 1.0, n // 1600 + 1), 1600)[:n]
    y = x * env
    return (level * y / (np.sqrt(np.mean(y**2)) + 1e-12)).astype(np.float32)


class Room:
    """Speaker -> microphone: a delay, a decaying impulse response, an attenuation, a noise floor."""

    def __init__(self, delay_ms: float = 30.0, gain_db: float = -4.0, seed: int = 3) -> None:
        rng = np.random.default_rng(seed)
        tail = rng.standard_normal(int(0.15 * SAMPLE_RATE)) * np.exp(
            -np.arange(int(0.15 * SAMPLE_RATE)) / 500
        )
        tail[:16] = 0
        tail *= 0.7 / np.linalg.norm(tail)
        tail[0] = 1.0
        h = np.concatenate([np.zeros(int(delay_ms * SAMPLE_RATE / 1000)), tail])
        self.h = (h / np.linalg.norm(h) * 10 ** (gain_db / 20)).astype(np.float32)
        self.rng = rng

    def mic(self, played: np.ndarray, user: np.ndarray | None = None) -> np.ndarray:
        echo = np.convolve(played, self.h)[: len(played)]
        out = echo + self.rng.standard_normal(len(played)) * 3e-4
        if user is not None:
            out[: len(user)] += user
        return out.astype(np.float32)


def run(proc: EchoProcessor, played: np.ndarray, mic: np.ndarray, *, out_rate: int = 48000) -> list[Frame]:
    """Feeds the processor as the live path does: the reference 3 frames ahead of the mic, at ``out_rate``."""
    up = StreamResampler(SAMPLE_RATE, out_rate)
    lead = 3
    pushed = 0
    frames: list[Frame] = []
    n = len(played) // FRAME
    for k in range(n + lead):
        if k < n:
            dev = up(played[k * FRAME : (k + 1) * FRAME])
            if dev.size:
                proc.push_reference(dev, 100.0 + pushed / out_rate, out_rate)
                pushed += dev.size
        j = k - lead
        if j >= 0:
            frames += proc.process(mic[j * FRAME : (j + 1) * FRAME], 100.0 + j * FRAME_S)
    return frames + proc.flush()


# ====================================================================== building blocks


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


@pytest.mark.skipif(not BACKENDS, reason="no echo canceller library (pyaec or libspeexdsp)")
@pytest.mark.parametrize("backend", BACKENDS)
def test_canceller_removes_most_of_the_echo(backend):
    canceller = make_canceller(backend)
    assert canceller is not None and canceller.name == backend
    x = speechlike(6.0, 2)
    mic = Room().mic(np.concatenate([np.zeros(int(0.02 * SAMPLE_RATE), np.float32), x])[: len(x)])
    out = np.zeros(len(x), np.float32)
    m16 = np.zeros(FRAME, np.int16)
    r16 = np.zeros(FRAME, np.int16)
    o16 = np.zeros(FRAME, np.int16)
    for i in range(0, len(x) - FRAME + 1, FRAME):
        m16[:] = np.clip(mic[i : i + FRAME] * 32767, -32768, 32767)
        r16[:] = np.clip(x[i : i + FRAME] * 32767, -32768, 32767)
        canceller.cancel(m16, r16, o16)
        out[i : i + FRAME] = o16 / 32768.0
    tail = slice(3 * SAMPLE_RATE, None)
    erle = 10 * np.log10(np.sum(mic[tail] ** 2) / np.sum(out[tail] ** 2))
    assert erle > 15, f"{backend}: ERLE {erle:.1f} dB"


# ====================================================================== the processor


@pytest.mark.skipif(not BACKENDS, reason="no echo canceller library")
def test_echo_alone_is_silenced_and_the_user_comes_through():
    proc = EchoProcessor(EchoParams())
    played = np.concatenate([speechlike(8.0, 4), np.zeros(SAMPLE_RATE, np.float32)])
    user = np.zeros(len(played), np.float32)
    u0, u1 = int(5.0 * SAMPLE_RATE), int(6.5 * SAMPLE_RATE)
    user[u0:u1] = speechlike(1.5, 5, level=0.08)
    frames = run(proc, played, Room().mic(played, user))
    assert proc.mode == "speakers" and proc.stats.correlation > 0.5
    assert proc.stats.erle_db is not None and proc.stats.erle_db > 15
    times = np.array([f.t - 100.0 for f in frames])
    onset = np.array([f.onset for f in frames])
    echo_only = (times > 1.0) & (times < 4.8)
    assert onset[echo_only].mean() < 0.01  # the guard keeps the echo away from the VAD ...
    assert all(not f.samples.any() for f, e in zip(frames, echo_only, strict=True) if e and not f.near)
    loud = np.array(
        [
            np.sqrt(np.mean(user[int(t * SAMPLE_RATE) : int(t * SAMPLE_RATE) + FRAME] ** 2)) > 0.05
            if 0 <= t < len(user) / SAMPLE_RATE
            else False
            for t in times
        ]
    )
    assert loud.sum() > 20
    assert onset[loud].mean() > 0.8  # ... and lets the user through during double talk
    after = [f for f in frames if f.t - 100.0 > 8.5]
    assert after and not any(f.playing for f in after)  # silence after the reply: the plain mic


def test_no_echo_at_all_is_a_headset_after_two_replies():
    proc = EchoProcessor(EchoParams())
    room = Room(gain_db=-80)
    changes = []
    proc.on_mode = lambda mode, why: changes.append(mode)
    gap = np.zeros(int(1.5 * SAMPLE_RATE), np.float32)
    played = np.concatenate([speechlike(2.0, 6), gap, speechlike(2.0, 7), gap])
    run(proc, played, room.mic(played))
    assert proc.mode == "headset" and changes == ["headset"]
    assert proc.stats.correlation is not None and proc.stats.correlation < 0.12


def test_without_a_canceller_echo_means_half_duplex():
    proc = EchoProcessor(EchoParams(backend="none"))
    assert proc.canceller is None and proc.mode == "half-duplex"
    assert "no echo canceller" in proc.describe()


def test_the_user_can_force_a_mode():
    proc = EchoProcessor(EchoParams(mode="headset"))
    assert proc.mode == "headset" and proc.canceller is None
    proc = EchoProcessor(EchoParams(mode="speakers"))
    seen = []
    proc.on_mode = lambda mode, why: seen.append((mode, why))
    proc.set_mode("half-duplex")
    assert proc.mode == "half-duplex" and seen == [("half-duplex", "set by the user")]
    with pytest.raises(ValueError):
        proc.set_mode("loud")


@pytest.mark.skipif(not BACKENDS, reason="no echo canceller library")
def test_a_late_echo_is_realigned_into_the_filter():
    proc = EchoProcessor(EchoParams())
    played = np.concatenate([speechlike(6.0, 8), np.zeros(SAMPLE_RATE, np.float32)])
    run(proc, played, Room(delay_ms=250).mic(played))
    assert proc.stats.realignments >= 1
    assert proc.stats.delay_ms == pytest.approx(250, abs=5)
