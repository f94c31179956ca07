"""The wake word's cost per 32 ms frame, measured on the bench's own audio in the same run.

The engine counts it itself when it runs in wake word mode (``VadWorker.wake_seconds`` /
``wake_frames``: the time in ``WakeGate.frame``, which is the model's ``score`` plus a few
comparisons).  In the other modes no wake model runs in the engine, so the bench scores the
questions it played with the configured wake model directly, on this thread, two ways:

- **paced**: one frame every 32 ms, as the VAD worker calls it (a call at real-time pace finds
  its caches cold, which is what the engine pays: the VAD's bare call was 5x slower so);
- **back to back**: every frame of the corpus as fast as it goes (the floor).

Both report the mean and the 99th percentile, in milliseconds, like the VAD's figure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.config import Settings
from app.messages import FRAME, SAMPLE_RATE

log = logging.getLogger(__name__)

FRAME_S = FRAME / SAMPLE_RATE
PACED_S = 10.0  # seconds of audio scored at real-time pace (the rest back to back)


def _frames(audios: Sequence[np.ndarray]) -> list[np.ndarray]:
    out = []
    for a in audios:
        a = np.asarray(a, dtype=np.float32)
        out += [a[i * FRAME : (i + 1) * FRAME] for i in range(len(a) // FRAME)]
    return out


def frame_costs(
    detector: Any,
    audios: Sequence[np.ndarray],
    paced_s: float = PACED_S,
    clock: Any = time.perf_counter,
    sleep: Any = time.sleep,
) -> dict[str, Any]:
    """``detector.score`` timed on every 32 ms frame of ``audios``: the first ``paced_s`` seconds
    one frame per 32 ms, then all of them back to back.  Milliseconds per frame."""
    frames = _frames(audios)
    if not frames:
        raise ValueError("no audio to score")
    paced: list[float] = []
    n_paced = min(len(frames), max(0, int(round(paced_s / FRAME_S))))
    detector.reset()
    start = clock()
    for i, frame in enumerate(frames[:n_paced]):
        due = start + i * FRAME_S
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        t0 = clock()
        detector.score(frame)
        paced.append(clock() - t0)
    fast: list[float] = []
    detector.reset()
    for frame in frames:
        t0 = clock()
        detector.score(frame)
        fast.append(clock() - t0)

    def ms(xs: list[float], q: float | None = None) -> float | None:
        if not xs:
            return None
        v = float(np.mean(xs)) if q is None else float(np.percentile(xs, q))
        return round(1000.0 * v, 4)

    return {
        "paced_frames": len(paced),
        "paced_ms_per_frame": ms(paced),
        "paced_ms_p99": ms(paced, 99),
        "back_to_back_frames": len(fast),
        "back_to_back_ms_per_frame": ms(fast),
        "back_to_back_ms_p99": ms(fast, 99),
    }


def measure_wake(
    settings: Settings, audios: Sequence[np.ndarray], paced_s: float = PACED_S
) -> dict[str, Any]:
    """:func:`frame_costs` with the configured wake model (``{"error": ...}`` when there is none)."""
    from app.engines import registry
    from app.models import ModelError, resolve

    try:
        model = resolve("wake", settings)
        detector = registry.build("wake", settings, model)
    except (ModelError, ImportError, OSError, RuntimeError, ValueError) as exc:
        log.warning("bench: no wake word model to time: %s", exc)
        return {"model": None, "error": str(exc)}
    try:
        out = frame_costs(detector, audios, paced_s)
    finally:
        close = getattr(detector, "close", None)
        if close is not None:
            close()
    return {"model": model.id, **out}
