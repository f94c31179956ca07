#!/usr/bin/env python3
"""Synthesize Hearken's earcons (our own sounds, made from sine waves) into ``assets/sounds/``.

* ``timer.wav``: a timer ended / a reminder is due: three soft bell notes rising (G5, B5, D6),
  each with a few gently inharmonic partials, a 6 ms raised-cosine attack and an exponential decay,
  1.2 s in all.
* ``wake.wav``: a short rising blip (150 ms, 660 -> 1320 Hz) for a future wake word.

22050 Hz, mono, 16-bit PCM, peak -6 dBFS, the same bytes on every run (no randomness, no dither).
Run ``python scripts/make_sounds.py`` after changing a sound and commit the WAVs with it.
"""

from __future__ import annotations

import argparse
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RATE = 22050
PEAK_DBFS = -6.0


def _envelope(n: int, attack_s: float, decay_tau_s: float) -> np.ndarray:
    t = np.arange(n) / RATE
    env = np.exp(-t / decay_tau_s)
    a = max(1, int(attack_s * RATE))
    env[:a] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)  # raised cosine: no click
    return env


def _fade_out(x: np.ndarray, seconds: float) -> np.ndarray:
    n = min(len(x), int(seconds * RATE))
    x = x.copy()
    x[-n:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(n) / n)
    return x


def _normalize(x: np.ndarray, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    return x * (10 ** (peak_dbfs / 20) / np.max(np.abs(x)))


def bell(freq: float, seconds: float) -> np.ndarray:
    """A soft struck-bell note: the fundamental plus a few quieter, slightly stretched partials."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    partials = ((1.0, 1.0, 0.42), (2.01, 0.32, 0.24), (3.02, 0.12, 0.14), (4.2, 0.05, 0.08))
    out = np.zeros(n)
    for ratio, amp, tau in partials:
        if freq * ratio < RATE / 2 * 0.9:
            out += amp * np.sin(2 * np.pi * freq * ratio * t) * _envelope(n, 0.006, tau)
    return out


def timer_chime() -> np.ndarray:
    total = int(1.2 * RATE)
    out = np.zeros(total)
    for start_s, freq, gain in ((0.0, 783.99, 0.9), (0.16, 987.77, 0.85), (0.32, 1174.66, 1.0)):
        note = gain * bell(freq, 1.2 - start_s)
        i = int(start_s * RATE)
        out[i : i + len(note)] += note[: total - i]
    return _normalize(_fade_out(out, 0.15))


def wake_blip() -> np.ndarray:
    n = int(0.15 * RATE)
    t = np.arange(n) / RATE
    f0, f1, dur = 660.0, 1320.0, n / RATE
    k = np.log(f1 / f0) / dur  # exponential sweep: the pitch rises evenly to the ear
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    tone = np.sin(phase) + 0.18 * np.sin(2 * phase)
    env = np.sin(np.pi * np.clip(t / dur, 0, 1)) ** 1.5  # soft in, soft out
    return _normalize(tone * env)


def write_wav(path: Path, x: np.ndarray) -> None:
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


SOUNDS = {"timer": timer_chime, "wake": wake_blip}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "sounds", help="folder for the WAVs")
    args = parser.parse_args(argv)
    for name, make in SOUNDS.items():
        x = make()
        path = args.out / f"{name}.wav"
        write_wav(path, x)
        peak = 20 * np.log10(np.max(np.abs(x)))
        print(f"{path}: {len(x) / RATE:.3f} s, peak {peak:.1f} dBFS, {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
