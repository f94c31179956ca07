#!/usr/bin/env python3
"""Echo and barge-in benchmark: ERLE, false/missed barge-ins, barge-in stop latency.

Two paths:

* ``--path sim`` (default): a closed loop at frame level with a simulated room. The assistant's
  real voice (piper) plays through a speaker model (soft clipping, a room impulse response,
  a delay and an attenuation, timestamp jitter) into the microphone with a noise floor; the
  real ``EchoProcessor`` + ``BargeInGate`` + Silero + the pipeline's ``TurnDetector`` decide;
  a barge-in flushes the reply, a pause stops it.  Fast and deterministic.
* ``--path pulse``: the whole engine (``app.live``) through a private PulseAudio whose virtual
  speaker is looped back into the virtual microphone with attenuation and delay
  (``scripts/virtual_audio.sh``), with espeak-ng questions and interruptions fed into the mic.

Prints ERLE (dB), false barge-ins, missed barge-ins, backchannels kept, and the stop latency
(user speech onset to playback silent) p50/p95.  ``--json PATH`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.audio.echo import (  # noqa: E402
    FRAME,
    FRAME_S,
    EchoParams,
    EchoProcessor,
)
from app.messages import SAMPLE_RATE  # noqa: E402
from app.pipeline.bargein import BargeInGate, GateParams  # noqa: E402

log = logging.getLogger("echo_bench")

REPLIES = [
    "Paris is the capital of France. It sits on the river Seine and is famous for its museums.",
    "A leap year has three hundred and sixty six days, one more than a common year.",
    "Sure, I have set a timer for five minutes. I will tell you when it is done.",
    "Pride and Prejudice was written by Jane Austen and published in eighteen thirteen.",
    "The weather today looks mild, with a few clouds in the morning and sun in the afternoon.",
    "Water boils at one hundred degrees Celsius at sea level, and at lower temperatures higher up.",
    "The Moon is about three hundred and eighty four thousand kilometres away from the Earth.",
    "To make tea, boil water, pour it over the leaves, and let it steep for three to five minutes.",
    "Mount Everest is the highest mountain on Earth, at almost nine thousand metres above sea level.",
    "The human heart beats about one hundred thousand times a day, pumping blood through the body.",
    "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar and oxygen.",
    "The Pacific is the largest ocean, covering nearly a third of the surface of the planet.",
]
BARGE_INS = [
    "Stop, tell me about Germany instead.",
    "Wait, what is the population of Berlin?",
    "Hold on, I have another question for you.",
    "Actually, can you set an alarm for seven tomorrow morning?",
]
BACKCHANNELS = ["mm-hmm", "yeah", "okay"]
SHORT_WORDS = ["Stop!", "Wait!", "No, no."]  # short, but they mean "stop talking"


# ====================================================================== material


def _espeak(text: str, out: Path, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    from app.audio.io import load_speech

    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text], check=True)
    return load_speech(out)


def _trim(x: np.ndarray, thr: float = 0.01) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) > thr)
    return x[idx[0] : idx[-1] + 1] if idx.size else x


def cough(seed: int = 0) -> np.ndarray:
    """A cough-like burst: 250 ms of shaped noise (no voice)."""
    rng = np.random.default_rng(seed)
    n = int(0.25 * SAMPLE_RATE)
    env = np.exp(-np.linspace(0, 6, n)) * np.minimum(1, np.linspace(0, 12, n))
    x = rng.standard_normal(n) * env
    x = np.convolve(x, np.ones(6) / 6, mode="same")  # a little low-pass
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def load_material(cache: Path | None = None, n_replies: int = 12) -> dict[str, list[np.ndarray]]:
    """Replies in the assistant's voice (piper), user speech (espeak-ng and real recordings)."""
    if cache is not None and cache.exists():
        data = np.load(cache, allow_pickle=True)
        return {k: list(data[k]) for k in data.files}
    from app.audio.io import load_speech
    from app.audio.resample import resample
    from app.config import Settings
    from app.engines.tts import PiperTts
    from app.models import resolve

    m = resolve("tts", Settings())
    tts = PiperTts(m.path, m.config_path)
    replies = []
    for text in (REPLIES * 3)[:n_replies]:
        audio = np.concatenate(list(tts.synthesize(text)))
        replies.append(resample(audio, tts.sample_rate, SAMPLE_RATE))
    tmp = Path(tempfile.mkdtemp(prefix="echo-bench-"))
    users = [_trim(_espeak(t, tmp / f"u{i}.wav", speed=150)) for i, t in enumerate(BARGE_INS)]
    recordings = ROOT / "tests" / "data"  # real human speech kept in the repo (MIT, see its README)
    for name in ("stereo_diarization.wav", "hotwords.mp3"):
        users.append(_trim(load_speech(recordings / name)[: 4 * SAMPLE_RATE]))
    backs = [_trim(_espeak(t, tmp / f"b{i}.wav", speed=170)) for i, t in enumerate(BACKCHANNELS)]
    backs.append(cough())
    shorts = [_trim(_espeak(t, tmp / f"s{i}.wav", speed=160)) for i, t in enumerate(SHORT_WORDS)]
    shutil.rmtree(tmp, ignore_errors=True)
    out = {"replies": replies, "users": users, "backchannels": backs, "short_words": shorts}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **{k: np.array(v, dtype=object) for k, v in out.items()})
    return out


# ====================================================================== simulated room


@dataclass
class Room:
    echo_db: float = -3.0  # echo level at the mic relative to the reference's level
    delay_ms: float = 30.0  # speaker -> mic, on top of the reported DAC time
    rt60: float = 0.3
    drr_db: float = 3.0  # direct-to-reverberant energy ratio (a laptop's speaker is close to its mic)
    nonlinear: bool = True
    noise_dbfs: float = -60.0
    jitter_ms: float = 2.0  # per-block timestamp noise of the output callback
    user_db: float = -3.0  # user speech level at the mic relative to the reference
    out_rate: int = 48000  # the speaker's rate (the reference is resampled to 16 kHz)
    out_latency_ms: float = 48.0  # the output callback runs this far ahead of the speaker
    seed: int = 1

    def impulse_response(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        n = int(0.25 * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        tail = rng.standard_normal(n) * np.exp(-6.9 * t / self.rt60)
        tail[:16] = 0.0  # the first reflections arrive about 1 ms after the direct sound
        tail *= 10 ** (-self.drr_db / 20) / np.linalg.norm(tail)
        tail[0] = 1.0  # the direct path
        d = int(self.delay_ms * SAMPLE_RATE / 1000)
        h = np.concatenate([np.zeros(d), tail])
        return (h / np.linalg.norm(h)).astype(np.float32)


@dataclass
class Event:
    kind: str  # barge | backchannel
    audio: np.ndarray
    at_s: float  # seconds into the reply's playback


@dataclass
class SimResult:
    replies: int = 0
    completed: int = 0
    false_barge_ins: int = 0
    missed_barge_ins: int = 0
    barge_ins: int = 0
    backchannels: int = 0
    backchannels_kept: int = 0
    pauses_echo_only: int = 0
    stop_latency_ms: list[float] = field(default_factory=list)
    judge_ms: list[float] = field(default_factory=list)  # wall time of each backchannel judgement
    interrupt_latency_ms: list[float] = field(default_factory=list)
    erle_db: float | None = None
    modes: list[str] = field(default_factory=list)


def _frames_of(x: np.ndarray) -> np.ndarray:
    n = math.ceil(len(x) / FRAME) * FRAME
    out = np.zeros(n, dtype=np.float32)
    out[: len(x)] = x
    return out


def simulate(
    replies: list[np.ndarray],
    events: dict[int, Event] | None = None,
    *,
    room: Room | None = None,
    echo: EchoParams | None = None,
    gate: GateParams | None = None,
    vad_factory=None,
    classify=None,
) -> SimResult:
    """Closed-loop run: each reply plays; events inject the user during it; Silero + TurnDetector decide."""
    from app.audio.resample import StreamResampler
    from app.pipeline.turns import SpeechSustained, TurnDetector, TurnParams

    room = room or Room()
    events = events or {}
    rng = np.random.default_rng(room.seed + 7)
    h = room.impulse_response()
    L = len(h)
    if vad_factory is None:
        from app.config import Settings
        from app.engines.vad import SileroVad
        from app.models import resolve

        def vad_factory():
            return SileroVad(resolve("vad", Settings()).path)

    vad = vad_factory()
    res = SimResult()
    proc = EchoProcessor(echo or EchoParams())
    state = {"gen": 0, "flushed": False}
    det = TurnDetector(TurnParams())
    vad_buf: list[np.ndarray] = []
    vad_t: list[float] = []

    def sink(samples: np.ndarray, t: float) -> None:
        vad_buf.append(samples)
        vad_t.append(t)

    front = BargeInGate(
        proc,
        sink,
        params=gate or GateParams(),
        generation=lambda: state["gen"],
        reply_active=lambda: not state["flushed"] and state["pos"] < state["len"],
        classify=classify,
    )
    ref_gain = 0.8
    user_gain = 10 ** (room.user_db / 20) * ref_gain
    hist = np.zeros(L + FRAME, dtype=np.float32)  # speaker output history (16 kHz) for the room
    t = 0.0
    out_rate = room.out_rate
    sustained_at: list[float] = []

    lead = max(1, round(room.out_latency_ms / 1000 / FRAME_S))
    # The frames the callback has written but the speaker has not played yet.
    in_flight = [np.zeros(FRAME, dtype=np.float32) for _ in range(lead)]
    to_dev = StreamResampler(SAMPLE_RATE, out_rate)

    def step(spk16: np.ndarray, user16: np.ndarray) -> None:
        nonlocal t, hist
        # Speaker side: the callback writes ``lead`` frames ahead of what the room plays now;
        # its tap gets exactly the device-rate samples, with their (jittered) DAC time.
        dev = to_dev(spk16).astype(np.float32)
        jitter = float(rng.normal(0, room.jitter_ms / 1000)) if room.jitter_ms else 0.0
        if dev.size:
            # soxr's stream output is aligned with its input: sample k is input time k / rate.
            t_dev = lead * FRAME_S + dev_count[0] / out_rate
            dev_count[0] += dev.size
            front.on_speaker(dev, t_dev + jitter, out_rate)
        in_flight.append(spk16)
        now = in_flight.pop(0)
        # Room: soft-clipping speaker, impulse response (with the delay), attenuation, noise.
        drive = np.tanh(1.5 * now) / 1.5 if room.nonlinear else now
        hist = np.concatenate([hist[FRAME:], drive.astype(np.float32)])
        e = np.convolve(hist, h, mode="valid")[-FRAME:]
        mic = e * 10 ** (room.echo_db / 20) + user16
        mic = mic + rng.standard_normal(FRAME).astype(np.float32) * 10 ** (room.noise_dbfs / 20)
        front.on_mic(mic.astype(np.float32), t)
        # The engine's VAD on whatever the gate let through.
        while vad_buf:
            blk = vad_buf.pop(0)
            bt = vad_t.pop(0)
            pending.append((blk, bt))
        while sum(len(b) for b, _ in pending) >= 512:
            joined = np.concatenate([b for b, _ in pending])
            t0 = pending[0][1]
            frame, rest = joined[:512], joined[512:]
            pending.clear()
            if rest.size:
                pending.append((rest, t0 + 512 / SAMPLE_RATE))
            for a in det.feed(frame, vad.prob(frame), t0):
                if isinstance(a, SpeechSustained):
                    sustained_at.append(a.t)
        t += FRAME_S

    pending: list[tuple[np.ndarray, float]] = []
    dev_count = [0]
    res_judge_seen = [0.0]
    for i, reply in enumerate(replies):
        res.replies += 1
        rep = _frames_of(reply) * ref_gain
        state.update(pos=0, len=len(rep), flushed=False)
        ev = events.get(i)
        user = np.zeros(0, dtype=np.float32)
        ev_start_t = None
        if ev is not None:
            user = _frames_of(ev.audio / max(1e-6, float(np.sqrt(np.mean(ev.audio**2)))) * 0.1) * user_gain
        n_sustained = len(sustained_at)
        user_pos = -1
        silent_after_onset = None
        flushed_at = None
        # play until the reply ends (or is flushed), then a little silence
        guard_frames = 0
        while True:
            if front.state == "judging":
                # The classifier runs on its own thread in wall-clock time: let it finish.
                w0 = time.perf_counter()
                while front.state == "judging" and not front._verdict and time.perf_counter() - w0 < 10:
                    time.sleep(0.002)
                if front._verdict and w0 - res_judge_seen[0] > 0:
                    res.judge_ms.append((time.perf_counter() - w0) * 1000)
                    res_judge_seen[0] = time.perf_counter()
            playing_now = not front.paused and not state["flushed"] and state["pos"] < state["len"]
            if playing_now:
                spk = rep[state["pos"] : state["pos"] + FRAME]
                state["pos"] += FRAME
            else:
                spk = np.zeros(FRAME, dtype=np.float32)
            if ev is not None and user_pos < 0 and state["pos"] >= int(ev.at_s * SAMPLE_RATE):
                user_pos = 0
                ev_start_t = t
                log.info("reply %d: %s starts at %.2f s", i, ev.kind, t)
            if 0 <= user_pos < len(user):
                u = user[user_pos : user_pos + FRAME]
                user_pos += FRAME
            else:
                u = np.zeros(FRAME, dtype=np.float32)
            step(spk, u)
            if ev_start_t is not None and silent_after_onset is None and not np.any(spk):
                silent_after_onset = t - FRAME_S
            if len(sustained_at) > n_sustained and not state["flushed"]:
                # The engine's barge-in: bump the generation, flush playback.
                state["flushed"] = True
                state["gen"] += 1
                flushed_at = t
                if silent_after_onset is None and ev_start_t is not None:
                    silent_after_onset = t
            done = state["flushed"] or state["pos"] >= state["len"]
            user_done = user_pos < 0 or user_pos >= len(user)
            if done and user_done and not front.paused:
                guard_frames += 1
                if guard_frames * FRAME_S >= 1.2:
                    break
            if t > 120 * (i + 1) + 600:
                break
        interrupted = len(sustained_at) > n_sustained
        early = interrupted and (ev_start_t is None or sustained_at[n_sustained] < ev_start_t)
        if interrupted:
            log.info("reply %d: barge-in at %.2f s (user at %s)", i, sustained_at[n_sustained], ev_start_t)
        if ev is None or early:
            if ev is not None:
                res.barge_ins += 1  # the echo interrupted before the user spoke: false, and the event is lost
                res.missed_barge_ins += 1
            res.false_barge_ins += int(interrupted)
            res.completed += int(not interrupted)
        elif ev.kind == "barge":
            res.barge_ins += 1
            if not interrupted:
                res.missed_barge_ins += 1
            else:
                assert ev_start_t is not None and silent_after_onset is not None
                res.stop_latency_ms.append((silent_after_onset - ev_start_t) * 1000)
                if flushed_at is not None:
                    res.interrupt_latency_ms.append((flushed_at - ev_start_t) * 1000)
        else:
            res.backchannels += 1
            res.backchannels_kept += int(not interrupted and state["pos"] >= state["len"])
        # let the VAD's state settle between replies (the user's turn, if any, ends)
        det.force_end(t)
    res.pauses_echo_only = max(0, front.stats.pauses - sum(1 for e in events.values()))
    res.erle_db = proc.stats.erle_db
    res.modes = proc.stats.mode_changes
    return res


def whisper_classifier():
    """The live path's backchannel classifier (a small Whisper), called synchronously here."""
    from app.config import Settings
    from app.engines.stt import WhisperStt
    from app.models import resolve
    from app.pipeline.bargein import BackchannelClassifier

    clf = BackchannelClassifier(lambda: WhisperStt(resolve("stt", Settings()).path, threads=2))
    clf._loading.join()
    return clf


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def run_sim(args: argparse.Namespace) -> dict:
    mat = load_material(Path(args.cache) if args.cache else None, n_replies=min(args.turns, 12))
    replies = [mat["replies"][i % len(mat["replies"])] for i in range(args.turns)]
    room = Room(echo_db=args.echo_db, delay_ms=args.delay_ms, out_rate=args.out_rate)
    echo = EchoParams(mode=args.mode, backend=args.backend)
    figures: dict = {"path": "sim", "room": asdict(room), "echo": asdict(echo)}
    classify = None if args.no_classify else whisper_classifier()
    t0 = time.perf_counter()
    a = simulate(replies, room=room, echo=echo)
    figures["echo_only"] = {
        "replies": a.replies,
        "false_barge_ins": a.false_barge_ins,
        "pauses": a.pauses_echo_only,
        "erle_db": a.erle_db,
        "modes": a.modes,
    }
    events: dict[int, Event] = {}
    for i in range(1, args.turns):  # the first reply lets the canceller converge
        if i % 3 == 0:
            b = mat["backchannels"][(i // 3) % len(mat["backchannels"])]
            events[i] = Event("backchannel", b, 1.5 + 0.3 * (i % 4))
        else:
            u = mat["users"][i % len(mat["users"])]
            events[i] = Event("barge", u, 1.0 + 0.4 * (i % 5))
    b = simulate(replies, events, room=room, echo=echo, classify=classify)
    figures["with_user"] = {
        "barge_ins": b.barge_ins,
        "missed_barge_ins": b.missed_barge_ins,
        "backchannels": b.backchannels,
        "backchannels_kept": b.backchannels_kept,
        "stop_latency_ms_p50": pct(b.stop_latency_ms, 50),
        "stop_latency_ms_p95": pct(b.stop_latency_ms, 95),
        "interrupt_latency_ms_p50": pct(b.interrupt_latency_ms, 50),
        "interrupt_latency_ms_p95": pct(b.interrupt_latency_ms, 95),
        "erle_db": b.erle_db,
        "backchannel_judge_ms_p50": pct(b.judge_ms, 50),
    }
    if not args.no_classify:
        words = simulate(
            replies[:4],
            {i: Event("barge", w, 1.5) for i, w in enumerate(mat["short_words"][:3], 1)},
            room=room,
            echo=echo,
            classify=classify,
        )
        figures["short_commands"] = {"said": words.barge_ins, "missed": words.missed_barge_ins}
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    return figures


# ====================================================================== live path (PulseAudio)


def run_pulse(args: argparse.Namespace) -> dict:
    from app.config import Settings
    from tests.integration.test_live_audio import LiveHarness  # the same harness as the tests

    # long stories (a 96-token one may end before the stop is said: such trials are void)
    settings = Settings(stop_words="enough talking", max_reply_tokens=320) if args.stop_trials else None
    with LiveHarness.started(
        rate=48000, loopback_db=args.echo_db, loopback_ms=int(args.delay_ms), settings=settings
    ) as h:
        if args.stop_trials:
            return h.stop_trials(args.stop_trials)
        return h.echo_benchmark(turns=args.turns)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", choices=["sim", "pulse"], default="sim")
    ap.add_argument("--turns", type=int, default=24, help="assistant replies per scenario")
    ap.add_argument(
        "--stop-trials",
        type=int,
        default=0,
        help="pulse: say a stop phrase over this many long answers instead",
    )
    ap.add_argument("--echo-db", type=float, default=-3.0, help="echo level at the mic vs the speaker signal")
    ap.add_argument("--delay-ms", type=float, default=30.0, help="speaker-to-mic delay")
    ap.add_argument("--out-rate", type=int, default=48000, help="simulated speaker rate")
    ap.add_argument("--mode", default="auto", help="auto | headset | speakers | half-duplex")
    ap.add_argument("--backend", default="auto", help="auto | pyaec | speexdsp")
    ap.add_argument("--no-classify", action="store_true", help="drop every short burst (no Whisper judge)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "hearken-echo-bench.npz"))
    ap.add_argument("--json", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    figures = run_sim(args) if args.path == "sim" else run_pulse(args)
    print(json.dumps(figures, indent=2, default=str))
    summary = figures.get("summary") or (
        f"stop obeyed {figures['obeyed']}/{figures['trials']}" if "obeyed" in figures else _summary(figures)
    )
    print(summary)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    return 0


def _summary(f: dict) -> str:
    e, w = f.get("echo_only", {}), f.get("with_user", {})

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.0f}"

    return (
        f"ERLE {fmt(e.get('erle_db'))} dB | false barge-ins {e.get('false_barge_ins')}/{e.get('replies')} "
        f"(brief pauses {e.get('pauses')}) | missed barge-ins {w.get('missed_barge_ins')}/{w.get('barge_ins')} | "
        f"backchannels kept {w.get('backchannels_kept')}/{w.get('backchannels')} | "
        f"stop latency p50 {fmt(w.get('stop_latency_ms_p50'))} ms p95 {fmt(w.get('stop_latency_ms_p95'))} ms "
        f"(interrupt p50 {fmt(w.get('interrupt_latency_ms_p50'))} ms)"
    )


if __name__ == "__main__":
    sys.exit(main())
