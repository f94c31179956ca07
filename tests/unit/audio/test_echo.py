"""The echo processor: the residual-echo guard and the echo modes, on synthetic rooms (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio.echo import FRAME, FRAME_S, EchoParams, EchoProcessor, Frame
from app.audio.resample import StreamResampler
from app.messages import SAMPLE_RATE
from tests.unit.audio.synthetic import BACKENDS, Room, speechlike


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
