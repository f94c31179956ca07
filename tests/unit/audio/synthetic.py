"""Synthetic signals for the echo tests (no models): speech-like noise and a room that echoes it."""

from __future__ import annotations

import numpy as np

from app.audio.aec import make_canceller
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
