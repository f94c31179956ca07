"""Speaker output: a PortAudio output stream whose callback reads the engine's ``PlaybackBuffer``.

The callback asks ``PlaybackBuffer.read(n, t_play)`` for exactly what the device
needs, ``t_play`` being when its first sample reaches the speaker (PortAudio's DAC
time mapped to ``perf_counter``), so the buffer's played-sample count is what the
user actually heard.  The samples written to the device are handed to ``tap`` (the
echo canceller's reference) unchanged.  Build the engine with ``output_rate`` equal
to the device's rate; if a reopened device needs another rate, a small streaming
resampler adapts inside the callback.

``paused`` (or ``gate.paused``, the barge-in gate's flag) makes the callback write
silence without consuming the buffer: playback resumes exactly where it stopped.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app.audio.capture import _PortAudioStream
from app.audio.devices import (
    OUTPUT,
    DeviceInfo,
)
from app.audio.playback import PlaybackBuffer

log = logging.getLogger(__name__)

ReferenceTap = Callable[[np.ndarray, float, int], None]


class _RateAdapter:
    """Reads the buffer at its own rate and emits the device's rate (streaming soxr, a small FIFO)."""

    def __init__(self, buffer: PlaybackBuffer, rate_out: int) -> None:
        import soxr

        self.buffer = buffer
        self.rate_in = buffer.sample_rate
        self.rate_out = rate_out
        self._rs = soxr.ResampleStream(self.rate_in, rate_out, 1, dtype="float32")
        self._fifo = np.zeros(0, dtype=np.float32)

    def read(self, n: int, t_play: float) -> np.ndarray:
        while len(self._fifo) < n:
            need = n - len(self._fifo)
            k = math.ceil(need * self.rate_in / self.rate_out) + 8
            x = self.buffer.read(k, t_play + len(self._fifo) / self.rate_out)
            y = self._rs.resample_chunk(x)
            self._fifo = np.concatenate([self._fifo, y.astype(np.float32, copy=False)])
        out, self._fifo = self._fifo[:n], self._fifo[n:]
        return out


class SpeakerOutput(_PortAudioStream):
    """One output stream fed from a ``PlaybackBuffer``; ``start()`` raises ``AudioUnavailable``."""

    ended_reason = "the speaker stream stopped"

    def __init__(
        self,
        buffer: PlaybackBuffer,
        device: DeviceInfo,
        *,
        rate: int | None = None,
        channels: int | None = None,
        latency: str | float = "high",
        tap: ReferenceTap | None = None,
        gate: Any = None,
        sd: Any | None = None,
    ) -> None:
        super().__init__(device, rate=rate or buffer.sample_rate, channels=channels, latency=latency, sd=sd)
        self.buffer = buffer
        self.tap = tap
        self.gate = gate  # anything with a ``paused`` attribute (the barge-in gate)
        self.paused = False
        self._adapter: _RateAdapter | None = None
        self.underflows = 0
        self.audible_until = 0.0  # perf_counter time when the last non-silent block ends at the speaker
        self._latency_s = 0.05

    # ---------------- lifecycle ----------------
    def start(self) -> None:
        self._open_device(OUTPUT, "speaker")
        log.info(
            "speaker %r open at %d Hz, %d channel(s)%s",
            self.device.name,
            self.rate,
            self.channels,
            "" if self._adapter is None else f" (resampling from {self.buffer.sample_rate} Hz)",
        )

    def _open(self, rate: int, channels: int) -> None:
        self.rate, self.channels = rate, channels
        self._adapter = None if rate == self.buffer.sample_rate else _RateAdapter(self.buffer, rate)
        stream = self.sd.OutputStream(
            samplerate=rate,
            channels=channels,
            dtype="float32",
            device=self.device.index,
            latency=self.latency,
            callback=self._callback,
            finished_callback=self._finished,
        )
        self._latency_s = float(getattr(stream, "latency", 0.05) or 0.05)
        self._start_stream(stream)

    def stop(self) -> None:
        self._close_stream()

    # ---------------- PortAudio thread: copy only ----------------
    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        now = time.perf_counter()
        self.last_callback = now
        self.callbacks += 1
        if status and status.output_underflow:
            self.underflows += 1
        dac = time_info.outputBufferDacTime
        cur = time_info.currentTime
        t_play = now + (dac - cur) if dac and cur else now + self._latency_s
        gate = self.gate
        if self.paused or (gate is not None and gate.paused):
            mono = np.zeros(frames, dtype=np.float32)
        elif self._adapter is not None:
            mono = self._adapter.read(frames, t_play)
        else:
            mono = self.buffer.read(frames, t_play)
        outdata[:] = mono[:, None]
        if mono.any():
            self.audible_until = t_play + frames / self.rate
        if self.tap is not None:
            self.tap(mono, t_play, self.rate)
