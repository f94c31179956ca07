"""Live audio through real PortAudio streams and a private PulseAudio (no sound card needed).

``scripts/virtual_audio.sh`` starts a PulseAudio whose default sink (``va_speaker``) is
recorded with parec and whose default source (``va_mic``) plays what a test feeds with
paplay.  Open speakers are simulated by routing the speaker back into the microphone
(module-loopback, attenuated and delayed).  Skipped only when pulseaudio is not installed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from app.audio.devices import INPUT, OUTPUT, load_sounddevice, pick_device, reinitialize, stream_formats
from app.messages import SAMPLE_RATE

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "virtual_audio.sh"
_PULSE_VARS = ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH", "PULSE_SERVER", "PULSE_COOKIE")


# ====================================================================== the virtual sound server


class VirtualAudio:
    """``scripts/virtual_audio.sh`` from Python: its variables go into ``os.environ``."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.rate = 0
        self._saved = {k: os.environ.get(k) for k in _PULSE_VARS}

    def _run(self, *args: str) -> str:
        res = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env={**os.environ, "VA_AUDIO_DIR": str(self.dir)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(f"virtual_audio.sh {' '.join(args)} failed: {res.stderr.strip()}")
        return res.stdout

    def start(self, rate: int = 48000, *, reinit: bool = True) -> None:
        for line in self._run("start", str(rate)).splitlines():
            if line.startswith("export "):
                key, _, value = line[len("export ") :].partition("=")
                os.environ[key] = shlex.split(value)[0] if value else ""
        self.rate = rate
        if reinit:
            reinitialize()  # PortAudio enumerates devices once: make it see the new server

    def ensure(self, rate: int = 48000) -> None:
        if self.rate != rate or not (self.dir / "pulse.pid").exists():
            self.start(rate)

    def stop(self) -> None:
        self._run("stop")

    def restore_env(self) -> None:
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def loopback(self, db: float, ms: int) -> None:
        self._run("loopback", str(db), str(ms))

    def unloop(self) -> None:
        self._run("unloop")

    def feed(self, wav: Path) -> subprocess.Popen:
        return subprocess.Popen(["paplay", "-d", "va_micfeed", str(wav)])

    @contextlib.contextmanager
    def recording(self) -> Iterator[dict[str, Any]]:
        """Records the virtual speaker (16 kHz) while the block runs: ``rec["audio"]`` afterwards."""
        raw = self.dir / f"speaker-{time.monotonic_ns()}.raw"
        rec: dict[str, Any] = {"audio": np.zeros(0, np.float32)}
        with open(raw, "wb") as fh:
            proc = subprocess.Popen(
                ["parec", "-d", "va_speaker.monitor", "--rate=16000", "--channels=1", "--format=s16le"],
                stdout=fh,
            )
            deadline = time.monotonic() + 10
            while raw.stat().st_size < 3200 and time.monotonic() < deadline:  # parec is streaming
                time.sleep(0.05)
            try:
                yield rec
            finally:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        rec["audio"] = np.fromfile(raw, "<i2").astype(np.float32) / 32768.0


def espeak_wav(text: str, out: Path, *, pad: float = 0.5, speed: int = 150) -> Path:
    """A spoken sentence at 16 kHz mono with ``pad`` seconds of silence at both ends."""
    from app.audio.io import load_speech

    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(raw), text], check=True)
    audio = load_speech(raw)
    z = np.zeros(int(pad * SAMPLE_RATE), np.float32)
    sf.write(out, np.concatenate([z, audio, z]), SAMPLE_RATE, subtype="PCM_16")
    return out


def xcorr_peak(ref: np.ndarray, rec: np.ndarray) -> tuple[int, float]:
    """(lag, normalised correlation) of ``ref`` inside ``rec`` (``rec[lag:] ~ ref``)."""
    n = 1 << int(np.ceil(np.log2(len(ref) + len(rec))))
    xc = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)
    lag = int(np.argmax(np.abs(xc[: len(rec)])))
    seg = rec[lag : lag + len(ref)]
    r = ref[: len(seg)]
    corr = float(np.dot(seg, r) / (np.linalg.norm(seg) * np.linalg.norm(r) + 1e-12))
    return lag, corr


# ====================================================================== the engine on live audio


class LiveHarness:
    """The real engine on ``app.live.LiveAudio`` through the virtual server, with helpers to talk to it."""

    def __init__(self, va: VirtualAudio, engine: Any, live: Any) -> None:
        self.va = va
        self.engine = engine
        self.live = live
        self.orch = engine.orchestrator
        self.events: list[Any] = []
        self.turns: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._pump = threading.Thread(target=self._drain, daemon=True)
        self._pump.start()
        self.tmp = Path(tempfile.mkdtemp(prefix="hearken-live-"))
        # raw microphone (before echo cancellation), for locating injected speech exactly
        self.mic_log: list[tuple[float, np.ndarray]] = []
        front = live.front
        original = front.on_mic

        def tapped(samples: np.ndarray, t: float) -> None:
            self.mic_log.append((t, samples))
            if len(self.mic_log) > 4000:
                del self.mic_log[:1000]
            original(samples, t)

        front.on_mic = tapped
        # when the speaker last played something, sampled every 10 ms (for stop latency)
        self.audible: list[tuple[float, float]] = []
        threading.Thread(target=self._watch_speaker, daemon=True).start()

    def _watch_speaker(self) -> None:
        while not self._stop.wait(0.01):
            spk = self.live.speaker
            if spk is not None:
                self.audible.append((time.perf_counter(), spk.audible_until))
                if len(self.audible) > 20000:
                    del self.audible[:5000]

    def silent_after(self, onset: float) -> float | None:
        """When the speaker went silent after ``onset``: the end of the last audible block."""
        for now, until in list(self.audible):
            if now > onset and until < now - 0.05:
                return until
        return None

    def _drain(self) -> None:
        from app.messages import TurnDone

        while not self._stop.is_set():
            try:
                ev = self.orch.ui_queue.get(timeout=0.05)
            except queue.Empty:
                continue
            self.events.append(ev)
            if isinstance(ev, TurnDone):
                self.turns.append(ev.metrics)

    @classmethod
    @contextlib.contextmanager
    def started(
        cls,
        *,
        va: VirtualAudio | None = None,
        rate: int = 48000,
        loopback_db: float | None = None,
        loopback_ms: int = 40,
        settings: Any = None,
    ) -> Iterator[LiveHarness]:
        from app.config import Settings
        from app.engine import build_engine
        from app.live import LiveAudio, make_backchannel_classifier

        own = va is None
        if va is None:
            va = VirtualAudio(Path(tempfile.mkdtemp(prefix="hearken-va-")))
            va.start(rate)
        live = None
        orch = None
        harness = None
        try:
            if loopback_db is not None:
                va.loopback(loopback_db, loopback_ms)
            sd = load_sounddevice()
            out_rate = stream_formats(pick_device(OUTPUT, sd=sd).device, OUTPUT, sd=sd)[0][0]
            settings = settings or Settings()
            engine = build_engine(settings, output_rate=out_rate)
            orch = engine.orchestrator
            live = LiveAudio(engine, classify=make_backchannel_classifier(engine, settings), sd=sd)
            harness = cls(va, engine, live)  # taps the microphone before the streams open
            orch.start()
            assert orch.wait_ready(timeout=300), orch.errors
            live.start()
            time.sleep(0.5)
            yield harness
        finally:
            if harness is not None:
                harness._stop.set()
            if live is not None:
                live.stop()
            if orch is not None:
                orch.stop()
            if loopback_db is not None:
                with contextlib.suppress(Exception):
                    va.unloop()
            if own:
                va.stop()
                va.restore_env()

    def say(self, text: str, *, speed: int = 150) -> tuple[Path, np.ndarray]:
        path = espeak_wav(text, self.tmp / f"say-{len(list(self.tmp.iterdir()))}.wav", speed=speed)
        audio, _ = sf.read(path, dtype="float32")
        self.va.feed(path).wait(timeout=60)
        return path, audio

    def wait(self, pred, timeout: float = 90.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return False

    def wait_turns(self, n: int, timeout: float = 90.0) -> list[dict[str, Any]]:
        self.wait(lambda: len(self.answered()) >= n and self.orch.is_idle(), timeout)
        return self.answered()

    def answered(self) -> list[dict[str, Any]]:
        return [t for t in self.turns if not t.get("dropped")]

    def speaking(self) -> bool:
        return self.orch.state == "speaking" and self.engine.playback.busy()

    def onset_time(self, utterance: np.ndarray, after: float) -> float | None:
        """Capture time of the first voiced sample of ``utterance`` in the raw microphone."""
        log = [(t, s) for t, s in list(self.mic_log) if t >= after - 0.5]
        if not log:
            return None
        t0 = log[0][0]
        mic = np.concatenate([s for _, s in log])
        voiced = np.flatnonzero(np.abs(utterance) > 0.02)
        if not voiced.size:
            return None
        lag, corr = xcorr_peak(utterance, mic)
        if corr < 0.2:
            return None
        return t0 + (lag + int(voiced[0])) / SAMPLE_RATE

    def echo_benchmark(self, turns: int = 20) -> dict[str, Any]:
        """Echo-only answered turns, then barge-ins: the figures of ``scripts/echo_bench.py --path pulse``."""
        questions = [
            "What is the capital city of France?",
            "How many days are there in a leap year?",
            "Who wrote the novel Pride and Prejudice?",
            "What is the tallest mountain in the world?",
            "Why is the sky blue?",
        ]
        t_start = time.perf_counter()
        for i in range(turns):
            before = len(self.answered())
            self.say(questions[i % len(questions)])
            self.wait_turns(before + 1, timeout=90)
        echo_turns = self.answered()
        false = sum(1 for t in echo_turns if t["interrupted"])
        echo_pauses = self.live.front.stats.pauses  # brief false pauses (the answer went on)
        latencies: list[float] = []
        missed = 0
        n_barge = max(3, turns // 4)
        for i in range(n_barge):
            before = len(self.answered())
            self.say("Tell me a long story about a brave little dragon who learns to fly.")
            if not self.wait(self.speaking, timeout=60):
                continue
            time.sleep(1.0 + 0.3 * i)
            t_feed = time.perf_counter()
            _, utt = self.say("Stop. What is the capital of Germany?")
            ok = self.wait(lambda b=before: any(t["interrupted"] for t in self.answered()[b:]), 20)
            if not ok:
                missed += 1
                continue
            onset = self.onset_time(utt, t_feed)
            silent = self.silent_after(onset) if onset is not None else None
            if onset is not None and silent is not None:
                latencies.append((silent - onset) * 1000)
            self.wait_turns(before + 2, timeout=60)
        s = self.live.processor.stats
        return {
            "path": "pulse",
            "echo_only": {
                "replies": len(echo_turns),
                "false_barge_ins": false,
                "pauses": echo_pauses,
                "erle_db": s.erle_db,
                "modes": s.mode_changes,
            },
            "with_user": {
                "barge_ins": n_barge,
                "missed_barge_ins": missed,
                "backchannels": 0,
                "backchannels_kept": 0,
                "stop_latency_ms_p50": float(np.percentile(latencies, 50)) if latencies else None,
                "stop_latency_ms_p95": float(np.percentile(latencies, 95)) if latencies else None,
                "erle_db": s.erle_db,
            },
            "gate": {k: v for k, v in vars(self.live.front.stats).items() if k != "pause_times"},
            "seconds": round(time.perf_counter() - t_start, 1),
        }

    STOP_TRIALS: tuple[str, ...] = ("Stop.", "Be quiet.", "Cancel.", "Stop it.", "Stop talking.", "Enough talking.")

    def stop_trials(self, n: int = 20) -> dict[str, Any]:
        """``n`` times: ask for a long story, and while it plays say one of :attr:`STOP_TRIALS`
        (the last one is the user's own stop words: run with ``stop_words="enough talking"``).
        A trial is obeyed when the story stops within 5 s and nothing is answered after it."""
        trials: list[dict[str, Any]] = []
        latencies: list[float] = []
        void = 0  # the story ended before the stop phrase began: not a trial
        t_start = time.perf_counter()
        i = 0
        while len(trials) < n and void < n:
            phrase = self.STOP_TRIALS[i % len(self.STOP_TRIALS)]
            i += 1
            self.wait(self.orch.is_idle, timeout=30)
            before = len(self.answered())
            self.say("Tell me a long story about a brave little dragon who learns to fly.")
            if not self.wait(self.speaking, timeout=60):
                trials.append({"phrase": phrase, "obeyed": False, "why": "the story never played"})
                continue
            time.sleep(1.0 + 0.4 * (i % 4))
            if self.orch.active_turn() is None:  # (playback may wait between clauses: still answering)
                void += 1
                self.wait(self.orch.is_idle, timeout=30)
                continue
            t_feed = time.perf_counter()
            _, utt = self.say(phrase)
            stopped = self.wait(lambda b=before: any(t["interrupted"] for t in self.answered()[b:]), 5)
            self.wait(self.orch.is_idle, timeout=30)
            time.sleep(1.0)  # a reply to the stop words would have begun by now
            after = self.answered()[before:]
            replies = [t for t in after if not t["interrupted"]]
            onset = self.onset_time(utt, t_feed)
            silent = self.silent_after(onset) if onset is not None else None
            if stopped and onset is not None and silent is not None:
                latencies.append((silent - onset) * 1000)
            story = after[0] if after else None
            if not stopped and story is not None and onset is not None and not story["interrupted"]:
                if self.orch.t0 + story["t"].get("turn_end", float("inf")) < onset + 0.6:
                    void += 1  # the story ended as the user began: nothing was left to stop
                    continue
            obeyed = stopped and not replies
            why = "" if obeyed else ("not stopped" if not stopped else f"answered {replies[0]['user_text']!r}")
            trial: dict[str, Any] = {"phrase": phrase, "obeyed": obeyed, "why": why}
            if not obeyed and onset is not None:  # what a miss looked like, in ms after the stop began
                end = story["t"].get("turn_end") if story is not None else None
                trial["story_end_ms"] = None if end is None else round((self.orch.t0 + end - onset) * 1000)
                trial["silent_ms"] = None if silent is None else round((silent - onset) * 1000)
                trial["heard"] = [t["user_text"] for t in after[1:]]
            trials.append(trial)
        return {
            "path": "pulse",
            "trials": len(trials),
            "obeyed": sum(t["obeyed"] for t in trials),
            "misses": [t for t in trials if not t["obeyed"]],
            "void": void,
            "stop_latency_ms_p50": float(np.percentile(latencies, 50)) if latencies else None,
            "stop_latency_ms_p95": float(np.percentile(latencies, 95)) if latencies else None,
            "seconds": round(time.perf_counter() - t_start, 1),
        }


# ====================================================================== fixtures


@pytest.fixture(scope="module")
def va(tmp_path_factory) -> Iterator[VirtualAudio]:
    if not shutil.which("pulseaudio") or not shutil.which("paplay"):
        pytest.skip(
            "pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)"
        )
    load_sounddevice()  # PortAudio itself must be there: scripts/setup.sh installs libportaudio2
    v = VirtualAudio(tmp_path_factory.mktemp("va"))
    v.start(48000)
    yield v
    v.stop()
    v.restore_env()
    with contextlib.suppress(Exception):
        reinitialize()


# ====================================================================== devices and rates


def test_devices_command_lists_the_virtual_server(va):
    res = subprocess.run(
        [sys.executable, "-m", "app", "devices"], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stderr
    assert "Microphones:" in res.stdout and "Speakers:" in res.stdout
    assert "default" in res.stdout
    assert pick_device(INPUT, "PULS").device.name == "pulse"  # part of the name, any case


def test_missing_device_falls_back_to_default_with_a_notice(va):
    choice = pick_device(OUTPUT, "USB Headset That Is Not Here")
    assert choice.device.is_default_output or choice.device.name in ("default", "pulse")
    assert choice.notice and "not connected" in choice.notice


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_virtual_devices_at_each_rate_round_trip(va, rate, tmp_path):
    """Server and streams at ``rate``: the mic delivers 16 kHz, the speaker plays the buffer's rate."""
    from app.audio.capture import MicCapture
    from app.audio.output import SpeakerOutput
    from app.audio.playback import PlaybackBuffer
    from app.audio.resample import resample
    from app.messages import AudioChunk, EndOfReply

    va.ensure(rate)
    sd = load_sounddevice()
    rng = np.random.default_rng(rate)
    t = np.arange(int(1.2 * SAMPLE_RATE)) / SAMPLE_RATE
    top = min(3000, rate // 2 - 600)
    sig = (0.3 * np.sin(2 * np.pi * (200 * t + (top - 200) / 2.4 * t**2))).astype(np.float32)
    sig += 0.03 * rng.standard_normal(sig.size).astype(np.float32)
    # microphone: paplay a WAV into the mic while MicCapture (forced to ``rate``) records
    wav = tmp_path / "ref.wav"
    z = np.zeros(int(0.4 * SAMPLE_RATE), np.float32)
    sf.write(wav, np.concatenate([z, sig, z]), SAMPLE_RATE, subtype="PCM_16")
    got: list[np.ndarray] = []
    mic = MicCapture(lambda s, _t: got.append(s), pick_device(INPUT, sd=sd).device, rate=rate, sd=sd)
    # speaker: a PlaybackBuffer at ``rate`` played by SpeakerOutput, recorded with parec (both at once)
    buf = PlaybackBuffer(rate)
    out = resample(sig, SAMPLE_RATE, rate)
    spk = SpeakerOutput(buf, pick_device(OUTPUT, sd=sd).device, sd=sd)
    with va.recording() as recd:
        mic.start()
        spk.start()
        assert mic.rate == rate and spk.rate == rate
        time.sleep(0.5)
        feeder = va.feed(wav)
        buf.enqueue(AudioChunk(1, 0, 0, out, rate, "test", True))
        buf.enqueue(EndOfReply(1, 0))
        feeder.wait(timeout=30)
        deadline = time.monotonic() + 10
        while buf.busy() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.4)
        mic.stop()
        spk.stop()
    ref16 = resample(resample(sig, SAMPLE_RATE, rate), rate, SAMPLE_RATE)  # what survives ``rate``
    mid = ref16[len(ref16) // 4 : 3 * len(ref16) // 4]  # robust to a late start or an early stop
    _, corr = xcorr_peak(mid, np.concatenate(got))
    assert corr > 0.8, f"microphone at {rate} Hz: correlation {corr:.2f}"
    _, corr = xcorr_peak(mid, recd["audio"])
    assert corr > 0.8, f"speaker at {rate} Hz: correlation {corr:.2f}"
    assert buf.samples_played >= out.size


# ====================================================================== a live conversation


def test_listen_mic_answers_a_spoken_question_out_loud(va, tmp_path):
    """`hearken listen --mic`: a recording fed into the mic makes a turn; the answer is heard and says Paris."""
    from app.config import Settings
    from app.engines.stt import WhisperStt
    from app.models import resolve

    va.ensure(48000)
    question = espeak_wav("What is the capital city of France?", tmp_path / "q.wav")
    report = tmp_path / "report.json"
    log = open(tmp_path / "cli.log", "w")  # noqa: SIM115 - closed below
    cli = subprocess.Popen(
        [sys.executable, "-m", "app", "listen", "--mic", "--quit-after-turns", "1", "--report", str(report)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(cli.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        with va.recording() as rec:
            deadline = time.monotonic() + 120
            while not any("listening on" in line for line in lines) and time.monotonic() < deadline:
                assert cli.poll() is None, "".join(lines) + open(tmp_path / "cli.log").read()
                time.sleep(0.2)
            time.sleep(1.0)
            va.feed(question).wait(timeout=30)
            rc = cli.wait(timeout=120)
    finally:
        if cli.poll() is None:
            cli.send_signal(signal.SIGINT)
            cli.wait(timeout=30)
        log.close()
    out = "".join(lines)
    assert rc == 0, out + (tmp_path / "cli.log").read_text()
    import json

    data = json.loads(report.read_text())
    turns = [t for t in data["turns"] if not t.get("dropped")]
    assert turns and "france" in turns[0]["user_text"].lower()
    assert data["audio"]["output_rate"] and data["audio"]["input_rate"]
    heard = rec["audio"]
    assert np.sqrt(np.mean(heard**2)) > 0.005, "nothing came out of the speaker"
    text = WhisperStt(resolve("stt", Settings()).path).transcribe(heard).text
    # The answer says Paris, and what came out of the speaker is that answer: Whisper tiny hears
    # piper's stochastic "Paris is" as "Carises" or "Here's" about one time in five, so the heard
    # text is compared with the answer as a whole, not by its first word.
    import jiwer

    answer = turns[0]["assistant_text"]
    assert "paris" in answer.lower(), answer
    norm = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()])
    wer = jiwer.wer(norm(answer), norm(text))
    assert wer <= 0.4, (answer, text, wer)


# ====================================================================== echo, barge-in, device loss


@pytest.fixture(scope="module")
def echo_live(va) -> Iterator[LiveHarness]:
    """The engine on open speakers: the speaker comes back into the mic at -6 dB after ~40 ms."""
    va.ensure(48000)
    with LiveHarness.started(va=va, loopback_db=-6, loopback_ms=40) as h:
        yield h


def test_echo_only_turns_never_interrupt_themselves(echo_live):
    h = echo_live
    for i, q in enumerate(["What is the capital city of France?", "How many days are there in a leap year?"]):
        h.say(q)
        turns = h.wait_turns(i + 1, timeout=90)
        assert len(turns) >= i + 1, [e for e in h.events][-10:]
    assert not any(t["interrupted"] for t in h.answered())
    p = h.live.processor
    assert p.mode == "speakers", p.stats.mode_changes
    assert p.stats.correlation is not None and p.stats.correlation > 0.3  # the echo was heard ...
    assert p.stats.erle_db is None or p.stats.erle_db > 10  # ... and cancelled


def test_user_talking_over_the_answer_stops_it(echo_live):
    h = echo_live
    before = len(h.answered())
    h.say("Tell me a long story about a brave little dragon who learns to fly.")
    assert h.wait(h.speaking, timeout=60), "the assistant never started speaking"
    time.sleep(1.5)
    h.say("Stop. What is the capital of Germany?")
    assert h.wait(lambda: any(t["interrupted"] for t in h.answered()[before:]), 20)
    story = next(t for t in h.answered()[before:] if t["interrupted"])
    assert story["assistant_text"] != story["assistant_full_text"]  # only what was heard is kept
    assert h.live.front.stats.pauses >= 1


def test_sound_server_restart_mid_answer_is_survived(echo_live):
    from app.messages import Notice

    h = echo_live
    before = len(h.answered())
    h.say("Tell me a long story about a brave little dragon who learns to fly.")
    assert h.wait(h.speaking, timeout=60)
    h.va.stop()  # the sound server goes away mid-answer
    assert h.wait(h.live.lost.is_set, timeout=10), "device loss was not noticed"
    assert h.wait(lambda: any(t.get("interrupted") for t in h.answered()[before:]), 10)
    time.sleep(1.0)
    h.va.start(48000, reinit=False)  # the app's watchdog re-initialises PortAudio itself
    h.va.loopback(-6, 40)
    assert h.wait(h.live.recovered.is_set, timeout=20), "devices were not reopened"
    notices = [e.message for e in h.events if isinstance(e, Notice)]
    assert any("lost" in n for n in notices) and any("back" in n for n in notices)
    n = len(h.answered())
    h.say("What is the capital city of France?")
    turns = h.wait_turns(n + 1, timeout=90)
    # (the answer cut off before a word was heard leaves its question in front of this one)
    # (through the loopback Whisper tiny has heard "France" as "friends": the question is known
    # by its other words)
    assert len(turns) >= n + 1 and "capital city" in turns[-1]["user_text"].lower(), turns[-1]
    users = [e.content for e in h.orch.memory.snapshot() if e.role == "user"]
    assert len(users) >= 3  # the conversation before the restart is still there


# ====================================================================== many turns, simulated open speakers


def _echo_bench():
    import importlib.util

    spec = importlib.util.spec_from_file_location("echo_bench", ROOT / "scripts" / "echo_bench.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["echo_bench"] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def test_twenty_answers_on_simulated_open_speakers_never_self_interrupt(tmp_path):
    """The real voice (piper) through a simulated room, Silero and the turn detector deciding (fast)."""
    eb = _echo_bench()
    mat = eb.load_material(tmp_path / "material.npz", n_replies=12)
    replies = [mat["replies"][i % len(mat["replies"])] for i in range(20)]
    echo_only = eb.simulate(replies)
    assert echo_only.replies == 20 and echo_only.false_barge_ins == 0 and echo_only.completed == 20
    assert echo_only.erle_db is not None and echo_only.erle_db > 15
    events = {
        1: eb.Event("barge", mat["users"][0], 1.2),
        2: eb.Event("backchannel", mat["backchannels"][0], 1.5),
        3: eb.Event("barge", mat["users"][4], 1.0),
        4: eb.Event("backchannel", mat["backchannels"][-1], 2.0),  # a cough
        5: eb.Event("barge", mat["users"][2], 2.2),
    }
    events[6] = eb.Event("barge", mat["short_words"][1], 1.5)  # a lone "Wait!"
    mixed = eb.simulate(replies[:7], events, classify=eb.whisper_classifier())
    assert mixed.barge_ins == 4 and mixed.missed_barge_ins <= 1
    assert mixed.backchannels == 2 and mixed.backchannels_kept == 2
    assert len(mixed.stop_latency_ms) >= 3
