"""Turn taking: Silero probabilities per 32 ms frame -> user turns.

``TurnDetector`` is a pure state machine (scripted probabilities in unit tests);
``VadWorker`` feeds it real audio and Silero, and handles push-to-talk and modes.
"""

from __future__ import annotations

import collections
import logging
import math
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engines.vad import VadEngine
from app.messages import FRAME, SAMPLE_RATE, AudioBlock, Level
from app.pipeline.worker import BoundedQueue, Worker

log = logging.getLogger(__name__)

FRAME_S = FRAME / SAMPLE_RATE


@dataclass
class TurnParams:
    threshold: float = 0.5
    end_of_turn_ms: int = 700
    speculative_pause_ms: int = 200
    min_speech_ms: int = 250
    barge_in_ms: int = 300
    pre_roll_ms: int = 300
    partial_every_ms: int = 1000
    max_utterance_s: float = 120.0
    tail_ms: int = 64  # silence kept after the last speech frame (Whisper likes a little)
    turn_check_ms: int = 192  # silence after which the end-of-turn model hears the turn so far
    turn_check_s: float = 8.0  # how much of the turn it hears (Smart Turn's window)

    @classmethod
    def from_settings(cls, s: Any) -> TurnParams:
        """The turn-taking part of ``app.config.Settings``."""
        return cls(
            threshold=s.vad_threshold,
            end_of_turn_ms=s.end_of_turn_silence_ms,
            speculative_pause_ms=s.speculative_pause_ms,
            min_speech_ms=s.min_speech_ms,
            barge_in_ms=s.barge_in_min_speech_ms,
            pre_roll_ms=s.pre_roll_ms,
            max_utterance_s=s.max_utterance_s,
        )


@dataclass(frozen=True)
class SpeechStart:
    turn_id: int
    t: float


@dataclass(frozen=True)
class SpeechSustained:
    """The user has spoken long enough that it is not a click or a cough (barge-in trigger)."""

    turn_id: int
    t: float


@dataclass(frozen=True)
class SpeechResumed:
    """Speech again inside a turn's pause (before its end): a speculative answer must go."""

    turn_id: int


@dataclass(frozen=True)
class SpeechOnset:
    """Sound that may be speech began while ``turn_id`` is committed but not yet answered aloud:
    its answer must wait (``OnsetCancelled`` if it was not speech, ``TurnResumed`` if it was)."""

    turn_id: int


@dataclass(frozen=True)
class OnsetCancelled:
    turn_id: int


@dataclass(frozen=True)
class TurnResumed:
    """Speech again after a turn was committed, before any answer to it was heard: the same
    turn goes on (its audio so far, a short gap, the new words), so it is answered once, whole."""

    turn_id: int
    t: float


@dataclass
class _Committed:
    """A committed turn that the user may still continue (until its answer is heard)."""

    turn_id: int
    frames: list[np.ndarray]
    t_start: float


@dataclass(frozen=True)
class Emit:
    kind: str  # partial | speculative | turn_check (all audio so far, the pause too) | final
    turn_id: int
    audio: np.ndarray
    speech_start: float
    speech_end: float


Action = SpeechStart | SpeechSustained | SpeechResumed | SpeechOnset | OnsetCancelled | TurnResumed | Emit

RESUME_GAP_FRAMES = 6  # silence put between a committed turn's audio and its continuation (192 ms)


class TurnDetector:
    def __init__(self, params: TurnParams, first_turn_id: int = 1) -> None:
        self.p = params
        self.next_turn_id = first_turn_id
        self.pre_roll: collections.deque[np.ndarray] = collections.deque(
            maxlen=max(1, params.pre_roll_ms // 32)
        )
        self.eot_override_ms: dict[int, int] = {}
        self.committed: _Committed | None = None
        self._reset_turn()

    def _reset_turn(self) -> None:
        self.in_speech = False
        self.confirmed = False
        self.sustained_sent = False
        self.turn_id = 0
        self.frames: list[np.ndarray] = []
        self.voiced_frames = 0
        self.run_above = 0
        self.silence_run = 0
        self.last_speech_idx = -1
        self.t_start = 0.0
        self.t_last_speech_end = 0.0
        self.speculative_sent = False
        self.turn_checked = False
        self.last_partial_frames = 0

    @property
    def end_threshold(self) -> float:
        return max(0.05, self.p.threshold - 0.15)

    def _cut_frames(self) -> list[np.ndarray]:
        """The turn's frames up to its last speech, plus a little tail."""
        return self.frames[: min(len(self.frames), self.last_speech_idx + 1 + self.p.tail_ms // 32)]

    def _cut(self) -> np.ndarray:
        frames = self._cut_frames()
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.float32)

    def _emit(self, kind: str) -> Emit:
        return Emit(kind, self.turn_id, self._cut(), self.t_start, self.t_last_speech_end)

    def _commit(self) -> Emit:
        """The turn's final audio; the turn stays open to a continuation until ``close``."""
        self.committed = _Committed(self.turn_id, self._cut_frames(), self.t_start)
        return self._emit("final")

    def _not_speech(self) -> list[Action]:
        """The sound in progress was not a turn: a committed turn's held answer may play."""
        return [OnsetCancelled(self.committed.turn_id)] if self.committed is not None else []

    def close(self, turn_id: int) -> None:
        """``turn_id`` can no longer be continued (its answer is being heard, or it was dropped)."""
        if self.committed is not None and self.committed.turn_id == turn_id:
            self.committed = None

    def _confirm(self, t: float) -> list[Action]:
        """The speech in progress is a turn: a new one, or the continuation of a committed one."""
        self.confirmed = True
        prev, self.committed = self.committed, None
        n_prev = len(prev.frames) + RESUME_GAP_FRAMES if prev is not None else 0
        if prev is None or (n_prev + len(self.frames)) * FRAME_S >= self.p.max_utterance_s:
            self.turn_id = self.next_turn_id
            self.next_turn_id += 1
            out: list[Action] = [OnsetCancelled(prev.turn_id)] if prev is not None else []
            return [*out, SpeechStart(self.turn_id, self.t_start)]
        gap = [np.zeros(FRAME, dtype=np.float32)] * RESUME_GAP_FRAMES
        self.frames = [*prev.frames, *gap, *self.frames]
        self.last_speech_idx += n_prev
        self.last_partial_frames += n_prev
        self.turn_id = prev.turn_id
        self.t_start = prev.t_start
        if prev.turn_id in self.eot_override_ms:
            self.eot_override_ms = {}  # the old pause's hint is not this pause's
        return [TurnResumed(prev.turn_id, t)]

    def tune(self, params: TurnParams) -> None:
        """Take new thresholds (vad, end of turn, pause) for the frames to come."""
        self.p.threshold = params.threshold
        self.p.end_of_turn_ms = params.end_of_turn_ms
        self.p.speculative_pause_ms = params.speculative_pause_ms

    def hint_end_of_turn(self, turn_id: int, end_of_turn_ms: int) -> None:
        """Wait ``end_of_turn_ms`` of silence before ending ``turn_id`` (from its partial transcript).

        Called from the STT thread: one dict replaced whole, read by the VAD thread in ``feed``.
        """
        self.eot_override_ms = {turn_id: end_of_turn_ms}

    def press(self, t: float) -> list[Action]:
        """Push-to-talk pressed at ``t``: a turn starts (or the current one is taken over) at once,
        and it counts as sustained speech, so pressing talk interrupts the assistant."""
        out: list[Action] = []
        if not self.in_speech:
            self._reset_turn()
            self.in_speech = True
            self.frames = list(self.pre_roll)[-3:]
            self.pre_roll.clear()
            self.t_start = t
        if not self.confirmed:
            self.committed = None  # a press starts a turn of its own
            self.confirmed = True
            self.turn_id = self.next_turn_id
            self.next_turn_id += 1
            out.append(SpeechStart(self.turn_id, self.t_start))
        self.sustained_sent = True
        out.append(SpeechSustained(self.turn_id, t))
        return out

    def hold(self, frame: np.ndarray, pressed: bool) -> None:
        """A frame heard in push-to-talk mode, without the VAD: part of the turn while the key is
        held, otherwise kept as pre-roll for the next press."""
        (self.frames if pressed else self.pre_roll).append(frame)

    def release(self, t: float) -> list[Action]:
        """Push-to-talk released at ``t``: the turn ends there, whatever the VAD would say."""
        self.last_speech_idx = len(self.frames) - 1
        self.t_last_speech_end = t
        return self.force_end(t)

    def force_end(self, t: float) -> list[Action]:
        """End the current turn now (mode switch, push-to-talk release, end of input)."""
        if not self.in_speech:
            return []
        out: list[Action] = []
        if self.confirmed:
            out.append(self._emit("final"))
        else:
            out.extend(self._not_speech())
        self._reset_turn()
        return out

    def feed(self, frame: np.ndarray, prob: float, t: float) -> list[Action]:
        """One 512-sample frame whose first sample was captured at ``t``."""
        p = self.p
        out: list[Action] = []
        voiced = prob >= (self.end_threshold if self.in_speech else p.threshold)
        if not self.in_speech:
            self.pre_roll.append(frame)
            self.run_above = self.run_above + 1 if voiced else 0
            if self.run_above >= 2:
                if self.committed is not None:
                    out.append(SpeechOnset(self.committed.turn_id))
                self.in_speech = True
                self.frames = list(self.pre_roll)
                self.pre_roll.clear()
                self.voiced_frames = self.run_above
                self.last_speech_idx = len(self.frames) - 1
                self.t_start = t - (self.run_above - 1) * FRAME_S
                self.t_last_speech_end = t + FRAME_S
            return out
        self.frames.append(frame)
        idx = len(self.frames) - 1
        if voiced:
            self.voiced_frames += 1
            if self.speculative_sent and self.confirmed:
                out.append(SpeechResumed(self.turn_id))
            self.speculative_sent = False
            self.turn_checked = False
            self.silence_run = 0
            self.last_speech_idx = idx
            self.t_last_speech_end = t + FRAME_S
        else:
            self.silence_run += 1
        voiced_ms = self.voiced_frames * 32
        if not self.confirmed and voiced_ms >= p.min_speech_ms:
            out.extend(self._confirm(t))
            idx = len(self.frames) - 1
        if self.confirmed and not self.sustained_sent and voiced_ms >= p.barge_in_ms:
            self.sustained_sent = True
            out.append(SpeechSustained(self.turn_id, t))
        silence_ms = self.silence_run * 32
        eot_ms = self.eot_override_ms.get(self.turn_id, p.end_of_turn_ms)
        if silence_ms >= eot_ms or (len(self.frames) * FRAME_S) >= p.max_utterance_s:
            if self.confirmed:
                out.append(self._commit())
            else:
                out.extend(self._not_speech())
            self._reset_turn()
            return out
        if not self.confirmed:
            if silence_ms >= p.speculative_pause_ms + 200:  # a blip, not speech
                out.extend(self._not_speech())
                self._reset_turn()
            return out
        if silence_ms >= p.speculative_pause_ms and not self.speculative_sent:
            self.speculative_sent = True
            out.append(self._emit("speculative"))
        elif silence_ms >= p.turn_check_ms and self.speculative_sent and not self.turn_checked:
            self.turn_checked = True
            # the pause so far belongs to what the model hears; only its window is copied
            audio = np.concatenate(self.frames[-math.ceil(p.turn_check_s / FRAME_S) :])
            out.append(Emit("turn_check", self.turn_id, audio, self.t_start, self.t_last_speech_end))
        elif voiced and (idx - self.last_partial_frames) * 32 >= p.partial_every_ms:
            self.last_partial_frames = idx
            out.append(self._emit("partial"))
        return out


@dataclass(frozen=True)
class PttCommand:
    pressed: bool
    t: float


@dataclass(frozen=True)
class ModeCommand:
    mode: str  # always | wake | ptt | muted


@dataclass(frozen=True)
class WakeCommand:
    """Wake word mode: let turns through without the wake word until ``until`` (perf_counter)."""

    until: float


@dataclass(frozen=True)
class CloseCommand:
    """The turn's answer is being heard (or the turn is over): speech from now on is a new turn."""

    turn_id: int


@dataclass(frozen=True)
class TuneCommand:
    """New turn-taking thresholds (a settings change), taken from the next frame on."""

    params: TurnParams


@dataclass(frozen=True)
class WakeTuneCommand:
    """New wake word parameters (``app.pipeline.wake.WakeParams``: a settings change)."""

    params: Any


Command = PttCommand | ModeCommand | TuneCommand | CloseCommand | WakeCommand | WakeTuneCommand


class VadWorker(Worker):
    """Frames captured audio, runs Silero, drives the ``TurnDetector`` and push-to-talk."""

    name = "vad"

    def __init__(
        self,
        inbox: BoundedQueue,
        vad_factory: Callable[[], VadEngine],
        params: TurnParams,
        on_action: Callable[[Action], None],
        on_ui: Callable[[object], None],
        mode: str = "always",
        gate_factory: Callable[[Callable[[int], None]], Any] | None = None,
        **kw,
    ) -> None:
        super().__init__(inbox, **kw)
        self.vad_factory = vad_factory
        self.gate_factory = gate_factory  # wake word mode: builds the WakeGate (app.pipeline.wake)
        self.gate: Any = None
        self.wake_seconds = 0.0  # time spent on the wake word model (wake word mode), for bench
        self.wake_frames = 0
        self.detector = TurnDetector(params)
        self.on_action = on_action
        self.on_ui = on_ui
        self.mode = mode
        self.ptt_down = False
        self._rest = np.zeros(0, dtype=np.float32)
        self._rest_t = 0.0
        self._last_level = 0.0
        self.frames_done = 0
        self.vad_seconds = 0.0
        self.vad: VadEngine | None = None
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()

    def setup(self) -> None:
        self.vad = self.vad_factory()
        if self.gate_factory is not None:
            self.gate = self.gate_factory(self.detector.close)

    def command(self, cmd: Command) -> None:
        """Queue a command from any thread without blocking; handled before the next audio block."""
        self.commands.put(cmd)

    @property
    def in_speech(self) -> bool:
        """Inside a user's turn (read from any thread)."""
        return self.detector.in_speech

    def hint_end_of_turn(self, turn_id: int, end_of_turn_ms: int) -> None:
        """From the STT thread: the silence that ends ``turn_id`` (see ``TurnDetector.hint_end_of_turn``)."""
        self.detector.hint_end_of_turn(turn_id, end_of_turn_ms)

    def _commands(self) -> None:
        while True:
            try:
                cmd = self.commands.get_nowait()
            except queue.Empty:
                return
            self.handle(cmd)

    def idle(self) -> None:
        self._commands()

    @property
    def gated(self) -> bool:
        """Wake word mode: turns need the wake word (or an awake window) to reach the engine."""
        return self.mode == "wake" and self.gate is not None

    def _act(self, actions: list[Action]) -> None:
        for a in self.gate.filter(actions) if self.gated else actions:
            self.on_action(a)

    def handle(self, item: object) -> None:
        if isinstance(item, AudioBlock):
            self._commands()
            self._audio(item)
        elif isinstance(item, PttCommand):
            self._ptt(item)
        elif isinstance(item, ModeCommand):
            self._mode(item.mode)
        elif isinstance(item, TuneCommand):
            self.detector.tune(item.params)
        elif isinstance(item, CloseCommand):
            self.detector.close(item.turn_id)
        elif isinstance(item, WakeCommand):
            if self.gate is not None:
                self.gate.keep_awake(item.until)
        elif isinstance(item, WakeTuneCommand):
            if self.gate is not None:
                self.gate.tune(item.params)

    def _current_turn(self) -> int:
        return self.detector.turn_id if self.detector.in_speech else 0

    def _mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        if self.gate is not None and (mode == "wake") != (self.mode == "wake"):
            turn_id = self._current_turn()
            if mode == "wake" and turn_id:
                self.gate.admitted.add(turn_id)  # the engine already follows this turn
            elif mode != "wake" and self.detector.in_speech and turn_id not in self.gate.admitted:
                self.detector.force_end(time.perf_counter())  # nobody called: it stays unheard
                self.detector.close(turn_id)
        if self.detector.in_speech and (mode == "muted" or (mode == "ptt" and not self.ptt_down)):
            # what was said so far is a turn of its own: nothing would end it under the new mode
            self._act(self.detector.force_end(time.perf_counter()))
        if mode != "ptt" and self.ptt_down:
            self.ptt_down = False  # the held turn continues under the VAD
        self.mode = mode

    def _ptt(self, cmd: PttCommand) -> None:
        if cmd.pressed and not self.ptt_down:
            self.ptt_down = True
            if self.gated:
                self.gate.admit_next(cmd.t)
                turn_id = self._current_turn()
                if turn_id:
                    self.gate.admitted.add(turn_id)
            self._act(self.detector.press(cmd.t))
        elif not cmd.pressed and self.ptt_down:
            self.ptt_down = False
            self._act(self.detector.release(cmd.t))

    def _audio(self, block: AudioBlock) -> None:
        samples = block.samples
        if samples.size:
            now = time.perf_counter()
            if now - self._last_level >= 0.05:
                self._last_level = now
                rms = float(np.sqrt(np.mean(samples * samples)))
                self.on_ui(Level(min(1.0, rms * 4)))
        # Anchor every block to its capture time: counting samples from an old anchor would
        # turn any late or dropped block into a lasting clock offset.
        self._rest_t = block.t - self._rest.size / SAMPLE_RATE
        buf = np.concatenate([self._rest, samples]) if self._rest.size else samples
        n = len(buf) // FRAME
        vad = self.vad
        assert vad is not None
        for i in range(n):
            frame = buf[i * FRAME : (i + 1) * FRAME]
            t = self._rest_t + i * FRAME_S
            if self.mode == "muted":
                continue
            if self.mode == "ptt" or self.ptt_down:
                self.detector.hold(frame, self.ptt_down)
                continue
            if self.gated:
                t0 = time.perf_counter()
                heard = self.gate.frame(frame, t, self._current_turn())
                self.wake_seconds += time.perf_counter() - t0
                self.wake_frames += 1
                for a in heard:
                    self.on_action(a)
            t0 = time.perf_counter()
            prob = vad.prob(frame)
            self.vad_seconds += time.perf_counter() - t0
            self.frames_done += 1
            self._act(self.detector.feed(frame, prob, t))
        self._rest = buf[n * FRAME :].copy()
        self._rest_t = self._rest_t + n * FRAME_S
