"""Hearken's own earcons (``assets/sounds/*.wav``, made by ``scripts/make_sounds.py``), ready to play.

``load_sound("timer", 48000)`` is the chime as float32 mono at the output's rate; each (name, rate)
is read and resampled once and then shared, so the array is read-only (``np.copy`` it to change it).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
import soundfile as sf

from app import paths
from app.audio.resample import resample

log = logging.getLogger(__name__)

SOUNDS = ("timer", "wake")


class SoundError(FileNotFoundError):
    """A bundled sound is missing or unreadable (a broken install, not a user error)."""


@lru_cache(maxsize=16)
def load_sound(name: str, sample_rate: int) -> np.ndarray:
    """The sound ``name`` as float32 mono at ``sample_rate`` (cached, read-only)."""
    path = paths.resource("assets", "sounds", name + ".wav")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - libsndfile's errors vary; one clear one instead
        raise SoundError(f"the sound {name!r} could not be read from {path}: {exc}") from exc
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    out = np.ascontiguousarray(resample(mono, int(rate), int(sample_rate)), dtype=np.float32)
    out.setflags(write=False)
    log.debug("sound %s: %d samples at %d Hz", name, len(out), sample_rate)
    return out
