"""The speaker reference for echo cancellation: what was played, and when (``perf_counter`` time).

``ReferenceTimeline`` keeps the exact samples sent to the speaker (the output callback's
``tap``), resampled to 16 kHz and placed on the ``perf_counter`` timeline by their DAC time,
so the microphone path can ask for the reference of each captured frame.  ``push`` is the only
part that runs in an audio callback (a deque append).  ``estimate_delay`` finds the lag of the
strongest echo of the reference in the microphone signal (the echo path's delay).
"""

from __future__ import annotations

import collections
import math

import numpy as np

from app.audio.capture import SampleClock
from app.audio.resample import StreamResampler
from app.messages import SAMPLE_RATE


class ReferenceTimeline:
    """What the speaker played, at 16 kHz, indexed by ``perf_counter`` time.

    ``push`` is called from the output callback (a deque append, no copy); everything
    else runs on the capture thread.
    """

    def __init__(self, seconds: float = 8.0) -> None:
        self.size = 1 << max(12, math.ceil(math.log2(seconds * SAMPLE_RATE)))
        self.ring = np.zeros(self.size, dtype=np.float32)
        self.origin: float | None = None
        self.head = 0  # absolute index of the next sample to write
        self._pending: collections.deque[tuple[np.ndarray, float, int]] = collections.deque(maxlen=4096)
        self._rate = 0
        self._clock: SampleClock | None = None
        self._rs: StreamResampler | None = None
        self._count = 0

    def push(self, samples: np.ndarray, t_play: float, rate: int) -> None:
        self._pending.append((samples, t_play, rate))

    def ingest(self) -> None:
        while self._pending:
            samples, t_play, rate = self._pending.popleft()
            self._write(samples, t_play, rate)

    def _write(self, samples: np.ndarray, t_play: float, rate: int) -> None:
        if rate != self._rate or self._clock is None or self._rs is None:
            self._rate = rate
            self._clock = SampleClock(rate, jump_s=0.03)
            self._rs = StreamResampler(rate, SAMPLE_RATE)
            self._count = 0
        self._clock.update(t_play, len(samples))
        y = self._rs(samples)
        if not y.size:
            return
        t0 = self._clock.t0 if self._clock.t0 is not None else t_play
        t_first = t0 + self._count / SAMPLE_RATE
        self._count += y.size
        if self.origin is None:
            self.origin = t_first
            self.head = 0
        idx = int(round((t_first - self.origin) * SAMPLE_RATE))
        if abs(idx - self.head) <= 160:  # within 10 ms: keep the stream contiguous
            idx = self.head
        if idx > self.head:
            gap = min(idx - self.head, self.size)
            self._put(self.head, np.zeros(gap, dtype=np.float32))
        self._put(idx, y)
        self.head = idx + y.size

    def _put(self, idx: int, y: np.ndarray) -> None:
        if y.size >= self.size:
            y = y[-self.size :]
            idx = idx + (len(y) - self.size)
        start = idx % self.size
        end = start + y.size
        if end <= self.size:
            self.ring[start:end] = y
        else:
            k = self.size - start
            self.ring[start:] = y[:k]
            self.ring[: end - self.size] = y[k:]

    def end_time(self) -> float | None:
        """Time at which the known reference ends (None before any)."""
        return None if self.origin is None else self.origin + self.head / SAMPLE_RATE

    def fetch(self, t: float, n: int) -> np.ndarray:
        """The ``n`` reference samples that started playing at ``t`` (zeros where unknown)."""
        out = np.zeros(n, dtype=np.float32)
        if self.origin is None:
            return out
        idx = int(round((t - self.origin) * SAMPLE_RATE))
        lo = max(idx, self.head - self.size + 1)
        hi = min(idx + n, self.head)
        if hi <= lo:
            return out
        start = lo % self.size
        k = hi - lo
        if start + k <= self.size:
            out[lo - idx : hi - idx] = self.ring[start : start + k]
        else:
            m = self.size - start
            out[lo - idx : lo - idx + m] = self.ring[start:]
            out[lo - idx + m : hi - idx] = self.ring[: k - m]
        return out


def estimate_delay(
    mic: np.ndarray, ref: np.ndarray, *, min_lag: int = -800, max_lag: int = 6400
) -> tuple[int, float]:
    """Lag (samples, ``mic[i + lag] ~ ref[i]``) of the strongest echo, and its normalised correlation."""
    n = len(mic)
    if n == 0 or len(ref) != n:
        return 0, 0.0
    nfft = 1 << math.ceil(math.log2(2 * n))
    m = mic.astype(np.float64) - float(np.mean(mic))
    r = ref.astype(np.float64) - float(np.mean(ref))
    norm = float(np.linalg.norm(m) * np.linalg.norm(r))
    if norm <= 1e-12:
        return 0, 0.0
    xc = np.fft.irfft(np.fft.rfft(m, nfft) * np.conj(np.fft.rfft(r, nfft)), nfft)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(min_lag, 0)]
    vals = np.r_[xc[: max_lag + 1], xc[nfft + min_lag :]]
    i = int(np.argmax(np.abs(vals)))
    return int(lags[i]), float(abs(vals[i]) / norm)
