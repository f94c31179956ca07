"""Playback: a buffer the audio callback reads from, with a count of samples actually played.

``PlaybackBuffer.read`` is what a sound-card callback (or the virtual speaker)
calls: it only copies samples and appends events to a queue; no logging, no
inference, no Qt.  The engine learns from those events when the first sample of
a reply was heard, and after a barge-in exactly how much of each clause was heard.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from app.messages import AudioChunk, EndOfReply

log = logging.getLogger(__name__)


@dataclass
class _Segment:
    chunk: AudioChunk
    pos: int = 0


@dataclass(frozen=True)
class PlaybackEvent:
    kind: str  # "first_audio" | "reply_done"
    turn_id: int
    gen: int
    t: float


@dataclass
class PlayedClause:
    index: int
    text: str
    played: int
    total: int


@dataclass
class PlayedTurn:
    turn_id: int
    clauses: list[PlayedClause] = field(default_factory=list)


class PlaybackBuffer:
    def __init__(self, sample_rate: int, record: bool = False) -> None:
        self.sample_rate = sample_rate
        self._segments: collections.deque[_Segment | EndOfReply] = collections.deque()
        self._lock = threading.Lock()
        self.events: queue.SimpleQueue[PlaybackEvent] = queue.SimpleQueue()
        self._started: set[tuple[int, int]] = set()
        self._played: dict[int, list[PlayedClause]] = {}
        self.record = record
        self.recorded: dict[int, list[np.ndarray]] = {}
        self.samples_played = 0
        self.duck = 1.0  # gain applied while the user may be barging in
        self._held: set[int] = set()  # turns whose audio waits for the end of turn to be confirmed

    # -- producer side (TTS worker) --
    def enqueue(self, item: AudioChunk | EndOfReply) -> None:
        with self._lock:
            self._segments.append(_Segment(item) if isinstance(item, AudioChunk) else item)

    def hold(self, turn_id: int) -> None:
        """Queue this turn's audio but do not play it yet (a speculative reply)."""
        with self._lock:
            self._held.add(turn_id)

    def release(self, turn_id: int) -> None:
        with self._lock:
            self._held.discard(turn_id)

    def pending_samples(self) -> int:
        with self._lock:
            return sum(len(s.chunk.samples) - s.pos for s in self._segments if isinstance(s, _Segment))

    def busy(self) -> bool:
        with self._lock:
            return bool(self._segments)

    # -- consumer side (audio callback): copy and enqueue only --
    def read(self, n: int, t_play: float | None = None) -> np.ndarray:
        """Next ``n`` samples (zeros where nothing is queued). ``t_play``: when the first will be heard."""
        out = np.zeros(n, dtype=np.float32)
        filled = 0
        with self._lock:
            # A reply's end is taken as soon as its last sample is (even when that filled the
            # block exactly): the turn ends when it was heard to end, not at the next read,
            # which a barge-in pause can hold back.
            while self._segments and (filled < n or isinstance(self._segments[0], EndOfReply)):
                seg = self._segments[0]
                if isinstance(seg, EndOfReply):
                    if seg.turn_id in self._held:
                        break
                    self._segments.popleft()
                    now = time.perf_counter()
                    when = (t_play if t_play is not None else now) + filled / self.sample_rate
                    # Never before the chunk could be taken (a virtual speaker's block time is
                    # when it meant to read, which the TTS thread may have beaten by a moment).
                    when = max(when, now)
                    self.events.put(PlaybackEvent("reply_done", seg.turn_id, seg.gen, when))
                    continue
                chunk = seg.chunk
                if chunk.turn_id in self._held:
                    break
                key = (chunk.turn_id, chunk.gen)
                if key not in self._started:
                    self._started.add(key)
                    now = time.perf_counter()
                    when = (t_play if t_play is not None else now) + filled / self.sample_rate
                    # Never before the chunk could be taken (a virtual speaker's block time is
                    # when it meant to read, which the TTS thread may have beaten by a moment).
                    when = max(when, now)
                    self.events.put(PlaybackEvent("first_audio", chunk.turn_id, chunk.gen, when))
                if seg.pos == 0:
                    self._played.setdefault(chunk.turn_id, []).append(
                        PlayedClause(chunk.index, chunk.text, 0, len(chunk.samples))
                    )
                take = min(n - filled, len(chunk.samples) - seg.pos)
                out[filled : filled + take] = chunk.samples[seg.pos : seg.pos + take]
                if self.record:
                    self.recorded.setdefault(chunk.turn_id, []).append(
                        chunk.samples[seg.pos : seg.pos + take]
                    )
                seg.pos += take
                filled += take
                self._played[chunk.turn_id][-1].played = seg.pos
                if seg.pos >= len(chunk.samples):
                    self._segments.popleft()
            self.samples_played += n
        if self.duck != 1.0:
            out *= self.duck
        return out

    # -- control --
    def flush(self) -> None:
        """Drop everything queued at once (barge-in)."""
        with self._lock:
            self._segments.clear()
            self._held.clear()

    def played(self, turn_id: int) -> list[PlayedClause]:
        with self._lock:
            return [PlayedClause(c.index, c.text, c.played, c.total) for c in self._played.get(turn_id, [])]

    def forget(self, turn_id: int) -> None:
        with self._lock:
            self._played.pop(turn_id, None)

    def take_recording(self, turn_id: int) -> np.ndarray:
        with self._lock:
            parts = self.recorded.pop(turn_id, [])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


class VirtualSpeaker:
    """A silent output that consumes the buffer at real-time pace (or as fast as possible).

    Used in file mode and when no sound card is present; ``first_audio`` is when
    the first sample would have been heard.
    """

    def __init__(self, buffer: PlaybackBuffer, *, realtime: bool = True, block_ms: int = 20) -> None:
        self.buffer = buffer
        self.realtime = realtime
        self.block = max(1, buffer.sample_rate * block_ms // 1000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="virtual-speaker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        period = self.block / self.buffer.sample_rate
        next_t = time.perf_counter()
        while not self._stop.is_set():
            if self.realtime:
                now = time.perf_counter()
                if next_t > now:
                    time.sleep(next_t - now)
                else:
                    next_t = now  # fell behind (machine busy): do not burst to catch up
                self.buffer.read(self.block, t_play=next_t)
                next_t += period
            else:
                if self.buffer.busy():
                    self.buffer.read(self.block * 50)
                else:
                    time.sleep(0.002)
