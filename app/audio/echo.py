"""Full duplex on open speakers: the echo processor between the microphone and the VAD.

``EchoProcessor`` runs one canceller (``app/audio/aec.py``) for the whole session on 16 ms
frames, against the speaker reference (``app/audio/reference.py``).  It measures the echo path
at the start of each reply (delay, coupling; realigns if needed), picks the mode (headset /
speakers / half-duplex, or the one set by the user), measures ERLE, and flags each frame
"near end" (the user) or "echo".  Echo frames are attenuated before the VAD sees them: plain
cancellation leaves enough residue for Silero to fire.  ``EchoParams`` tunes it, ``EchoStats``
is what it measured, ``Frame`` is what it hands on.

Each frame leaves flagged ``near`` / ``onset`` / ``strong`` / ``playing``: what to do with
it while the assistant speaks (pause, hold, release) is the barge-in policy's decision
(``app/pipeline/bargein.py``).

Nothing here runs in an audio callback except ``push_reference`` (a deque append).
"""

from __future__ import annotations

import collections
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.audio.aec import FRAME, EchoCanceller, make_canceller
from app.audio.reference import ReferenceTimeline, estimate_delay
from app.messages import SAMPLE_RATE

log = logging.getLogger(__name__)

FRAME_S = FRAME / SAMPLE_RATE
MODES = ("auto", "headset", "speakers", "half-duplex")


def _db(x: float) -> float:
    return 10.0 * math.log10(max(x, 1e-20))


@dataclass
class EchoParams:
    mode: str = "auto"  # auto | headset | speakers | half-duplex
    backend: str = "auto"  # auto | pyaec | speexdsp | none
    filter_ms: int = 256
    target_delay_ms: float = 24.0  # where the echo should sit inside the canceller's filter
    ref_floor: float = 1e-6  # reference frame energy below this is silence (-60 dBFS)
    tail_ms: int = 320  # the echo of a reference frame lasts this long in the room
    calib_s: float = 1.5  # reference time measured at the start of each reply
    headset_corr: float = 0.12  # below this correlation between speaker and mic: no acoustic echo
    min_erle_db: float = 10.0  # below this (after convergence) the canceller is not enough: half-duplex
    near_margin_db: float = 9.0  # near end must exceed the predicted residual echo by this much
    half_duplex_margin_db: float = 10.0  # in half duplex, only speech this much louder than the echo
    noise_margin_db: float = 10.0
    abs_floor: float = 2e-6  # near-end frames must be louder than this (-57 dBFS)
    guard_gain: float = 0.0  # echo frames are silenced before the VAD (Silero hears speech even at -40 dB)
    hold_ms: int = 160  # once near end is detected, pass this long after it stops
    min_mic_excess_db: float = 0.5  # near end must add at least this to the echo expected at the mic
    double_talk_db: float = 12.0  # near end only where the canceller removed less than this
    strong_db: float = 6.0  # mic energy this far above the predicted echo: surely the user
    peak_hold_s: float = 1.5  # the residual-echo ratio is the peak over this long
    learn_db: float = 0.0  # frames at most this far above the predicted residual are surely echo
    res_creep: float = 1.01  # per-frame rise of the ratio on ambiguous frames
    res_fall: float = 0.95  # per-frame fall of the learnt residual-echo ratio (-14 dB/s)
    converge_s: float = 3.0  # echo time before ERLE counts (the canceller is still adapting)
    judge_s: float = 3.0  # loud echo-only time over which the canceller is judged
    max_wait_ms: int = 120  # a mic frame waits at most this long for its reference


@dataclass
class EchoStats:
    frames: int = 0
    echo_frames: int = 0
    near_frames_while_playing: int = 0
    mic_echo_energy: float = 0.0
    out_echo_energy: float = 0.0
    calibrations: int = 0
    realignments: int = 0
    delay_ms: float | None = None
    correlation: float | None = None
    coupling_db: float | None = None
    mode_changes: list[str] = field(default_factory=list)

    @property
    def erle_db(self) -> float | None:
        if self.mic_echo_energy <= 0 or self.out_echo_energy <= 0:
            return None
        return _db(self.mic_echo_energy / self.out_echo_energy)


@dataclass(frozen=True)
class Frame:
    samples: np.ndarray  # 16 kHz float32, FRAME samples, after cancellation and the guard
    t: float  # capture time of its first sample
    near: bool  # the user (not echo) is audible in it
    playing: bool  # the assistant's voice is (or was within the echo tail) coming out of the speaker
    onset: bool = False  # near end in this very frame (``near`` also covers a short hold after it)
    strong: bool = False  # ... and louder at the mic than the echo could be (surely the user)
    raw: np.ndarray | None = None  # the same frame without the guard (echo cancelled, not silenced)


class EchoProcessor:
    """One canceller for the session; 16 kHz mic blocks in, guarded ``Frame``s out."""

    def __init__(
        self,
        params: EchoParams | None = None,
        *,
        canceller: EchoCanceller | None = None,
        on_mode: Callable[[str, str], None] | None = None,
    ) -> None:
        self.p = params or EchoParams()
        if self.p.mode not in MODES:
            raise ValueError(f"echo mode must be one of {', '.join(MODES)}")
        filter_len = int(self.p.filter_ms * SAMPLE_RATE / 1000)
        if canceller is None and self.p.backend != "none" and self.p.mode != "headset":
            canceller = make_canceller(self.p.backend, filter_len=filter_len)
        self.canceller = canceller
        self.filter_len = filter_len
        self.on_mode = on_mode
        self.reference = ReferenceTimeline()
        self.stats = EchoStats()
        self.advance_s = self.p.target_delay_ms / 1000.0  # reference read this far ahead of the mic
        self.mode = self.p.mode if self.p.mode != "auto" else "speakers"
        self.mode_reason = "until the echo is measured"
        if self.mode == "speakers" and self.canceller is None:
            self.mode = "half-duplex"
            self.mode_reason = "no echo canceller library"
        self._rest = np.zeros(0, dtype=np.float32)
        self._rest_t = 0.0
        self._waiting: collections.deque[tuple[np.ndarray, float]] = collections.deque()
        self._mic16 = np.zeros(FRAME, dtype=np.int16)
        self._ref16 = np.zeros(FRAME, dtype=np.int16)
        self._out16 = np.zeros(FRAME, dtype=np.int16)
        self._tmp = np.zeros(FRAME, dtype=np.float32)
        tail_frames = max(1, int(self.p.tail_ms / 1000 / FRAME_S))
        self._ref_energy: collections.deque[float] = collections.deque(
            [0.0] * tail_frames, maxlen=tail_frames
        )
        self._res_ratio = 4.0  # residual echo / reference energy, learnt on echo frames (starts cautious)
        self._noise = 1e-5
        self._headset_votes = 0
        self._lag_s = self.advance_s + 0.02  # echo delay behind the presented reference (calibrated)
        self._coupling = 1.0  # echo energy at the mic / reference energy (calibrated)
        self._near_until = -1.0
        self._inst: collections.deque[float] = collections.deque(
            maxlen=max(1, int(self.p.peak_hold_s / FRAME_S))
        )
        self._silent_frames = 10_000
        self._calib_mic: list[np.ndarray] = []
        self._calib_ref: list[np.ndarray] = []
        self._calibrating = False
        self._echo_frames_mode = 0
        self._erle_window: list[float] = []
        self._gain = 1.0
        self._lock = threading.Lock()

    # ---------------- public ----------------
    def push_reference(self, samples: np.ndarray, t_play: float, rate: int) -> None:
        """From the output callback: the samples just written to the device."""
        self.reference.push(samples, t_play, rate)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"echo mode must be one of {', '.join(MODES)}")
        with self._lock:
            self.p.mode = mode
            if mode != "auto":
                self._change_mode(mode, "set by the user")

    def reset_path(self) -> None:
        """Forget the echo path (devices reopened): a fresh canceller, reference and calibration."""
        with self._lock:
            if self.canceller is not None:
                self.canceller.reset()
            self.reference = ReferenceTimeline()
            self._waiting.clear()
            self._rest = np.zeros(0, dtype=np.float32)
            self._res_ratio = 4.0 if self.mode != "headset" else 0.0
            self._inst.clear()
            self._silent_frames = 10_000
            self._calibrating = False
            self._ref_energy.extend([0.0] * (self._ref_energy.maxlen or 1))

    @property
    def playing(self) -> bool:
        return self._silent_frames * FRAME_S * 1000 < self.p.tail_ms

    def process(self, mic: np.ndarray, t: float) -> list[Frame]:
        """A 16 kHz block captured at ``t`` -> whole frames, in order.

        A frame waits (up to ``max_wait_ms``) until the reference it needs has arrived:
        resampling holds the reference back by a few tens of milliseconds.
        """
        with self._lock:
            self.reference.ingest()
            if self._rest.size:
                buf = np.concatenate([self._rest, mic])
                t0 = self._rest_t
            else:
                buf, t0 = mic, t
            n = len(buf) // FRAME
            for i in range(n):
                self._waiting.append((buf[i * FRAME : (i + 1) * FRAME], t0 + i * FRAME_S))
            self._rest = buf[n * FRAME :].copy()
            self._rest_t = t0 + n * FRAME_S
            out: list[Frame] = []
            newest = self._rest_t
            ref_end = self.reference.end_time()
            while self._waiting:
                frame, tf = self._waiting[0]
                need = tf + self.advance_s + FRAME_S
                stalled = ref_end is None or ref_end < tf - 0.25  # no output running
                if ref_end is not None and ref_end < need and not stalled:
                    if newest - tf < self.p.max_wait_ms / 1000.0:
                        break
                self._waiting.popleft()
                out.append(self._frame(frame, tf))
            return out

    def flush(self) -> list[Frame]:
        """Process whatever waits for its reference (end of input)."""
        with self._lock:
            out = [self._frame(f, tf) for f, tf in self._waiting]
            self._waiting.clear()
            return out

    def describe(self) -> str:
        s = self.stats
        parts = [f"{self.mode} ({self.mode_reason})"]
        if s.coupling_db is not None:
            parts.append(f"echo coupling {s.coupling_db:.0f} dB, delay {s.delay_ms:.0f} ms")
        if s.erle_db is not None:
            parts.append(f"ERLE {s.erle_db:.0f} dB")
        return "; ".join(parts)

    # ---------------- per frame ----------------
    def _frame(self, mic: np.ndarray, t: float) -> Frame:
        p = self.p
        self.stats.frames += 1
        ref = self.reference.fetch(t + self.advance_s, FRAME)
        e_ref_now = float(np.dot(ref, ref)) / FRAME
        self._ref_energy.append(e_ref_now)
        e_ref = max(self._ref_energy)
        if e_ref_now > p.ref_floor:
            if self._silent_frames * FRAME_S > 1.0:
                self._start_calibration()
            self._silent_frames = 0
        else:
            self._silent_frames += 1
        playing = e_ref > p.ref_floor
        if self._calibrating:
            self._calib_mic.append(mic.copy())
            self._calib_ref.append(ref)
            if len(self._calib_mic) * FRAME_S >= p.calib_s:
                self._finish_calibration()
        e_mic = float(np.dot(mic, mic)) / FRAME

        if self.canceller is not None and self.mode != "headset":
            np.clip(mic * 32767.0, -32768.0, 32767.0, out=self._tmp)
            self._mic16[:] = self._tmp
            np.clip(ref * 32767.0, -32768.0, 32767.0, out=self._tmp)
            self._ref16[:] = self._tmp
            self.canceller.cancel(self._mic16, self._ref16, self._out16)
            cleaned = self._out16.astype(np.float32) / 32768.0
        else:
            cleaned = mic.astype(np.float32, copy=True)
        e_out = float(np.dot(cleaned, cleaned)) / FRAME

        e_echo = self._echo_expected()
        onset, near = self._classify(e_mic, e_out, e_ref, playing, t, e_echo)
        # Louder than the echo can be (the coupling measured at the start of the reply): surely the user.
        strong = onset and (
            not playing or self.mode == "headset" or e_mic > e_echo * 10 ** (p.strong_db / 10)
        )
        if (
            playing
            and not near
            and self.mode != "headset"
            and e_mic <= e_echo * 10 ** (p.min_mic_excess_db / 10)
        ):
            # Surely echo alone (the mic holds no more than the echo expected): what ERLE is measured on.
            self.stats.echo_frames += 1
            if self.stats.echo_frames * FRAME_S > p.converge_s:
                self.stats.mic_echo_energy += e_mic
                self.stats.out_echo_energy += e_out
            self._check_half_duplex(e_mic, e_out)
        elif playing and near:
            self.stats.near_frames_while_playing += 1

        if not playing:
            # Nobody is speaking through the speaker: the microphone as it is (best for STT).
            target, samples = 1.0, mic
        else:
            target = 1.0 if near else p.guard_gain
            samples = cleaned
        # A short ramp avoids clicks where the guard opens or closes.
        g0, self._gain = self._gain, target
        if g0 == target:
            res = samples * target if target != 1.0 else samples.astype(np.float32, copy=True)
        else:
            res = samples * np.linspace(g0, target, FRAME, dtype=np.float32)
        raw = samples if samples is not mic else mic.astype(np.float32, copy=True)
        return Frame(res.astype(np.float32, copy=False), t, near, playing, onset, strong, raw)

    def _echo_expected(self) -> float:
        """The echo energy expected at the microphone now: the coupling times the energy of the
        reference frames that reach the mic now (at the measured delay, plus early reflections)."""
        energies = self._ref_energy
        n = len(energies)
        k0 = int(round(self._lag_s / FRAME_S))
        ks = [k for k in range(k0 - 1, k0 + 3) if 0 <= k < n]
        if not ks:
            return self._coupling * max(energies)
        return self._coupling * sum(energies[n - 1 - k] for k in ks) / len(ks)

    def _classify(
        self, e_mic: float, e_out: float, e_ref: float, playing: bool, t: float, e_echo: float = 0.0
    ) -> tuple[bool, bool]:
        """(near end in this frame, near end or within the hold after it)."""
        p = self.p
        if not playing:
            # Track the noise floor (fast down, slow up) and call anything clearly above it near end.
            if e_out > 0:
                self._noise = max(min(e_out, self._noise * 1.01), 1e-9)
            near = e_out > max(self._noise * 10 ** (p.noise_margin_db / 10), p.abs_floor)
        else:
            if self.mode == "headset":
                predicted = self._noise
                margin = p.noise_margin_db
            elif self.mode == "half-duplex":
                predicted = self._coupling * e_ref
                margin = p.half_duplex_margin_db
                e_out = e_mic  # nothing is trusted to be cancelled
            else:
                predicted = self._res_ratio * e_ref
                margin = p.near_margin_db
            near = e_out > max(predicted * 10 ** (margin / 10), p.abs_floor)
            if near and self.mode == "speakers" and e_out * 10 ** (p.double_talk_db / 10) < e_mic:
                # The canceller removed most of this frame: it is echo (residual echo of loud or
                # distorted passages spikes above the prediction; the user's voice is not removed).
                near = False
            if near and self.mode == "speakers" and e_mic < e_echo * 10 ** (p.min_mic_excess_db / 10):
                # The microphone holds no more than the echo it should: a glitch of the canceller
                # (a reference that slipped after an underrun), not the user.
                near = False
            if self.mode == "speakers" and e_ref > 0:
                self._learn(e_out / e_ref, e_out <= predicted * 10 ** (p.learn_db / 10))
        if near:
            self._near_until = t + p.hold_ms / 1000.0
            return True, True
        return False, t < self._near_until

    def _learn(self, inst: float, confident: bool) -> None:
        """Learn how much echo is left after cancellation.

        The ratio is the peak of the last half second of confidently-echo frames (residual
        echo flickers by 10 dB from frame to frame): it rises at once to such a peak and
        falls by ``res_fall`` per frame.  Frames between "surely echo" and "surely the
        user" teach nothing, so the start of the user's speech is never learnt as echo;
        they only nudge the ratio up slowly, in case the echo path really changed.
        """
        p = self.p
        if confident:
            self._inst.append(inst)
            target = max(self._inst)
            if target > self._res_ratio:
                self._res_ratio = min(target, self._res_ratio * 1.5)
            else:
                self._res_ratio = max(target, self._res_ratio * p.res_fall)
        else:
            self._res_ratio *= p.res_creep
        self._res_ratio = min(max(self._res_ratio, 1e-5), 8.0)

    # ---------------- calibration and modes ----------------
    def _start_calibration(self) -> None:
        self._calibrating = True
        self._calib_mic.clear()
        self._calib_ref.clear()

    def _finish_calibration(self) -> None:
        self._calibrating = False
        mic = np.concatenate(self._calib_mic)
        ref = np.concatenate(self._calib_ref)
        self._calib_mic.clear()
        self._calib_ref.clear()
        p = self.p
        e_ref = float(np.mean(ref * ref))
        if e_ref < p.ref_floor:
            return
        lag, corr = estimate_delay(
            mic, ref, min_lag=-int(0.05 * SAMPLE_RATE), max_lag=int(0.45 * SAMPLE_RATE)
        )
        s = self.stats
        s.calibrations += 1
        s.correlation = corr
        e_mic = float(np.mean(mic * mic))
        s.coupling_db = _db(e_mic / e_ref) if e_mic > 1e-10 else None
        self._coupling = min(max(e_mic / e_ref, 0.01), 10.0)
        delay_s = lag / SAMPLE_RATE
        self._lag_s = delay_s
        s.delay_ms = (delay_s - self.advance_s) * 1000.0  # speaker -> microphone, wall clock
        log.info(
            "echo path: correlation %.2f, coupling %s dB, delay %.0f ms", corr, s.coupling_db, s.delay_ms
        )
        if corr < p.headset_corr:
            # No echo: a headset.  Two replies in a row must agree (the user talking over the
            # start of a reply also lowers the correlation); going back to speakers is immediate.
            self._headset_votes += 1
            if p.mode == "auto" and self.mode != "headset" and self._headset_votes >= 2:
                self._change_mode("headset", f"no echo heard (correlation {corr:.2f})")
            return
        self._headset_votes = 0
        # Keep the echo inside the canceller's filter, a little after the reference.
        target = p.target_delay_ms / 1000.0
        if self.canceller is not None and not (0.004 <= delay_s <= self.filter_len / SAMPLE_RATE - 0.1):
            self.advance_s += target - delay_s
            self._lag_s = target
            self.advance_s = min(max(self.advance_s, -0.5), 0.5)
            self.canceller.reset()
            self._res_ratio = max(self._res_ratio, 4.0)
            s.realignments += 1
            log.info("echo reference realigned: reading %.0f ms ahead", self.advance_s * 1000)
        # What is left after cancelling cannot be louder than the echo itself: the cautious start
        # (4x the reference) made the user's first "stop" of a session, over an answer whose
        # canceller had not converged yet, too quiet to count (docs/audio.md, the stop trials).
        if self.mode != "headset":
            self._res_ratio = min(self._res_ratio, max(self._coupling, 1e-5))
        if p.mode == "auto" and self.mode == "headset":
            if self.canceller is None:
                self._change_mode("half-duplex", "echo heard and no echo canceller library")
            else:
                self._change_mode("speakers", f"echo heard (coupling {s.coupling_db or 0:.0f} dB)")
        elif p.mode == "auto" and self.mode == "speakers" and self.mode_reason.startswith("until"):
            self._change_mode("speakers", f"echo heard (coupling {s.coupling_db or 0:.0f} dB)")

    def _check_half_duplex(self, e_mic: float, e_out: float) -> None:
        """Speakers mode whose canceller stays poor after convergence falls back to half duplex.

        Judged on the median per-frame ERLE of loud echo-only frames, after ``converge_s``
        of echo, over windows of ``judge_s`` (a few misjudged double-talk frames do not count).
        """
        p = self.p
        if p.mode != "auto" or self.mode != "speakers":
            return
        self._echo_frames_mode += 1
        if self._echo_frames_mode * FRAME_S <= p.converge_s or e_mic < 1e-5:
            return
        self._erle_window.append(_db(e_mic / max(e_out, 1e-12)))
        if len(self._erle_window) * FRAME_S < p.judge_s:
            return
        erle = float(np.median(self._erle_window))
        self._erle_window.clear()
        if erle < p.min_erle_db:
            self._change_mode("half-duplex", f"echo cancelled only {erle:.0f} dB")

    def _change_mode(self, mode: str, reason: str) -> None:
        changed = mode != self.mode
        self.mode, self.mode_reason = mode, reason
        self._echo_frames_mode = 0
        self._erle_window.clear()
        if mode == "headset":
            self._res_ratio = 0.0
        elif self._res_ratio < 1e-5:
            self._res_ratio = 4.0
        self.stats.mode_changes.append(f"{mode}: {reason}")
        log.info("echo mode: %s (%s)", mode, reason)
        if self.on_mode is not None and (changed or reason):
            self.on_mode(mode, reason)
