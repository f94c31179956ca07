"""Microphone capture: a PortAudio input stream whose callback only copies and enqueues.

A worker thread mixes to mono, resamples to 16 kHz with soxr and hands each block to
``on_audio(samples, t)``, ``t`` being the ``perf_counter`` time at which the first
sample was captured (from PortAudio's ADC timestamps, smoothed into one sample clock).
The stream is opened at a rate the device accepts (its default rate first), so
"Invalid sample rate" never reaches the user; mono and multi-channel devices both work.

A stream that errors or stops on its own (device unplugged, sound server gone) sets
``failed``; the owner (``app.live.LiveAudio``) closes it and reopens when it is back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app.audio.devices import (
    INPUT,
    AudioUnavailable,
    DeviceInfo,
    load_sounddevice,
    open_first_format,
    stream_formats,
)
from app.audio.resample import StreamResampler
from app.messages import SAMPLE_RATE

log = logging.getLogger(__name__)

AudioSink = Callable[[np.ndarray, float], None]


class SampleClock:
    """Maps a stream's sample count to ``perf_counter`` time from noisy per-block timestamps.

    The sample count is the truth (PortAudio delivers every sample in order); timestamps
    only place it in time.  Small jitter is smoothed away (the clock follows drift
    slowly); an offset larger than ``jump_s`` (a stalled or restarted stream) moves the
    clock at once, without touching the count.
    """

    def __init__(self, rate: int, *, jump_s: float = 0.2, follow: float = 0.02) -> None:
        self.rate = rate
        self.jump_s = jump_s
        self.follow = follow
        self.t0: float | None = None  # time of sample 0
        self.count = 0
        self.jumps = 0

    def update(self, t: float, n: int) -> tuple[float, bool]:
        """Register a block of ``n`` samples stamped ``t``; returns (its smoothed start time, jumped)."""
        jumped = False
        if self.t0 is None:
            self.t0 = t - self.count / self.rate
        else:
            err = t - (self.t0 + self.count / self.rate)
            if abs(err) > self.jump_s:
                self.t0 += err
                self.jumps += 1
                jumped = True
            else:
                self.t0 += self.follow * err
        start = self.t0 + self.count / self.rate
        self.count += n
        return start, jumped


class _PortAudioStream:
    """What the microphone and the speaker share: own one PortAudio stream, start it (closed
    again when it will not start), stop it, and notice when it ends without being asked to."""

    ended_reason = "the audio stream stopped"

    def __init__(
        self,
        device: DeviceInfo,
        *,
        rate: int | None,
        channels: int | None,
        latency: str | float,
        sd: Any | None,
    ) -> None:
        self.device = device
        self.want_rate = rate
        self.want_channels = channels
        self.latency = latency
        self.sd = sd if sd is not None else load_sounddevice()
        self.rate = 0
        self.channels = 0
        self._stream: Any = None
        self._closing = False
        self.failed = threading.Event()
        self.fail_reason = ""
        self.last_callback = 0.0
        self.callbacks = 0

    def _open(self, rate: int, channels: int) -> None:
        raise NotImplementedError

    def _open_device(self, kind: str, what: str) -> None:
        """Open the device in the first format it accepts, or raise ``AudioUnavailable``."""
        formats = stream_formats(
            self.device, kind, rate=self.want_rate, channels=self.want_channels, sd=self.sd
        )
        last = open_first_format(self._open, formats, f"{what} {self.device.name!r}")
        if self._stream is None:
            raise AudioUnavailable(f"The {what} '{self.device.name}' could not be opened ({_short(last)}).")

    def _start_stream(self, stream: Any) -> None:
        try:
            self.last_callback = time.perf_counter()
            self._closing = False
            stream.start()
        except Exception:
            _quiet_close(stream)
            raise
        self._stream = stream

    def _close_stream(self) -> None:
        self._closing = True
        stream, self._stream = self._stream, None
        if stream is not None:
            _quiet_close(stream)

    @property
    def running(self) -> bool:
        return self._stream is not None and not self.failed.is_set()

    def _finished(self) -> None:
        if not self._closing:
            self.fail_reason = self.ended_reason
            self.failed.set()


class MicCapture(_PortAudioStream):
    """One input stream to 16 kHz mono blocks; ``start()`` raises ``AudioUnavailable`` with one sentence."""

    ended_reason = "the microphone stream stopped"

    def __init__(
        self,
        on_audio: AudioSink,
        device: DeviceInfo,
        *,
        rate: int | None = None,
        channels: int | None = None,
        latency: str | float = "high",
        sd: Any | None = None,
        max_queue: int = 400,
    ) -> None:
        super().__init__(device, rate=rate, channels=channels, latency=latency, sd=sd)
        self.on_audio = on_audio
        self._q: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.overflows = 0
        self.dropped_blocks = 0
        self.samples_out = 0
        self._clock: SampleClock | None = None
        self._resampler: StreamResampler | None = None
        self._out_count = 0

    # ---------------- lifecycle ----------------
    def start(self) -> None:
        self._open_device(INPUT, "microphone")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mic-capture", daemon=True)
        self._thread.start()
        log.info("microphone %r open at %d Hz, %d channel(s)", self.device.name, self.rate, self.channels)

    def _open(self, rate: int, channels: int) -> None:
        self.rate, self.channels = rate, channels
        self._clock = SampleClock(rate)
        self._resampler = StreamResampler(rate, SAMPLE_RATE)
        self._out_count = 0
        stream = self.sd.InputStream(
            samplerate=rate,
            channels=channels,
            dtype="float32",
            device=self.device.index,
            latency=self.latency,
            callback=self._callback,
            finished_callback=self._finished,
        )
        self._start_stream(stream)

    def stop(self) -> None:
        """Stop and close (safe to call twice, and after a failure)."""
        self._close_stream()
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._thread = None

    # ---------------- PortAudio thread: copy and enqueue only ----------------
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        now = time.perf_counter()
        self.last_callback = now
        self.callbacks += 1
        if status and status.input_overflow:
            self.overflows += 1
        adc = time_info.inputBufferAdcTime
        cur = time_info.currentTime
        t = now - (cur - adc) if adc and cur else now - frames / self.rate
        item = (indata.copy(), t)
        try:
            self._q.put_nowait(item)
        except queue.Full:
            try:
                self._q.get_nowait()
            except queue.Empty:
                pass
            self.dropped_blocks += 1
            try:
                self._q.put_nowait(item)
            except queue.Full:
                self.dropped_blocks += 1

    # ---------------- worker thread: mix, resample, timestamp, deliver ----------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, t = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                self._deliver(data, t)
            except Exception:  # noqa: BLE001 - never let one bad block kill capture
                log.exception("microphone block failed")

    def _deliver(self, data: np.ndarray, t: float) -> None:
        assert self._clock is not None and self._resampler is not None
        mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
        self._clock.update(t, len(mono))
        out = self._resampler(np.ascontiguousarray(mono, dtype=np.float32))
        if out.size:
            # soxr emits output aligned with its input (held back by its delay): output
            # sample k is input time k / 16000 after the clock's origin.
            t0 = self._clock.t0 if self._clock.t0 is not None else t
            t_out = t0 + self._out_count / SAMPLE_RATE
            self._out_count += out.size
            self.samples_out += out.size
            self.on_audio(out, t_out)


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _quiet_close(stream: Any) -> None:
    for method in ("abort", "close"):
        try:
            getattr(stream, method)()
        except Exception:  # noqa: BLE001 - the device may already be gone
            log.debug("stream %s failed", method, exc_info=True)
