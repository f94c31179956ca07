"""The baseline phase of ``hearken bench``: the plain sequential cascade on the same models.

Built from the same engine classes (``app.engine.make_factories``) and called directly
on one thread: the same Silero turn detector with a fixed 700 ms end-of-turn silence,
then the full Whisper transcription, the full LLM completion, the full piper
synthesis, then playback through the same ``PlaybackBuffer``/``VirtualSpeaker``.  It
is timed from the same true end of speech (the end of the last voiced frame) to the
first audible sample.  Each distinct question is played once.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field

import numpy as np

from app.audio.playback import PlaybackBuffer, VirtualSpeaker
from app.config import Settings
from app.engine import make_factories
from app.messages import FRAME, SAMPLE_RATE, AudioChunk
from app.pipeline.turns import Emit, TurnDetector, TurnParams
from app.tools.bench_corpus import CorpusItem, Progress, no_progress
from app.tools.bench_probe import RssSampler, wait_for_quiet

BASELINE_EOT_MS = 700
# The cascade's voice-to-voice in serial pieces (ms), each stage waiting for the one before.
BASELINE_SEGMENTS = ("end_of_turn_wait", "stt", "llm_full", "tts_full", "output")


@dataclass
class BaselineTurn:
    item: int
    user_text: str = ""
    reply: str = ""
    voice_to_voice_ms: float | None = None
    segments: dict[str, float] = field(default_factory=dict)
    stt_s: float = 0.0
    audio_s: float = 0.0
    llm_first_token_ms: float | None = None
    llm_tokens: int = 0
    llm_decode_s: float = 0.0
    tts_s: float = 0.0
    tts_audio_s: float = 0.0
    dropped: str = ""
    window: tuple[float, float] | None = None  # perf_counter span from end of speech to first audio
    other_cpu_pct: float | None = None


class Baseline:
    """The plain sequential cascade, on the engine's own classes, all called on this thread."""

    def __init__(self, settings: Settings, progress: Progress = no_progress) -> None:
        from app.models import resolve

        self.settings = settings
        # No app.skills here: the comparison point stays the naive LLM-for-everything cascade.
        roles = ["vad", "stt", "tts"] + ([] if settings.llm_server_url else ["llm"])
        models = {role: resolve(role, settings) for role in roles}
        factories = make_factories(settings, models)
        progress("baseline: loading the same models")
        self.vad = factories.vad()
        self.stt = factories.stt()
        self.llm = factories.llm()
        self.tts = factories.tts()
        for warm in (getattr(self.stt, "warm_up", None), getattr(self.tts, "warm_up", None)):
            if warm:
                warm()
        warm_llm = getattr(self.llm, "warm_up", None)
        if warm_llm:
            warm_llm(settings.system_prompt)
        rate = settings.output_rate or models["tts"].sample_rate or self.tts.sample_rate
        self.playback = PlaybackBuffer(rate)
        self.speaker = VirtualSpeaker(self.playback, realtime=True)
        self.history: list[dict[str, str]] = []

    def close(self) -> None:
        self.speaker.stop()

    def _params(self) -> TurnParams:
        s = self.settings
        return TurnParams(
            threshold=s.vad_threshold,
            end_of_turn_ms=BASELINE_EOT_MS,
            min_speech_ms=s.min_speech_ms,
            pre_roll_ms=s.pre_roll_ms,
            max_utterance_s=s.max_utterance_s,
        )

    def _hear(self, audio: np.ndarray) -> tuple[Emit | None, float]:
        """Plays ``audio`` at real-time pace into Silero + the turn detector until the silence window closes."""
        self.vad.reset()
        det = TurnDetector(self._params())
        lead = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
        tail = np.zeros(int((BASELINE_EOT_MS / 1000.0 + 2.0) * SAMPLE_RATE), np.float32)
        signal = np.concatenate([lead, audio.astype(np.float32, copy=False), tail])
        clock = time.perf_counter()
        for i in range(len(signal) // FRAME):
            frame = signal[i * FRAME : (i + 1) * FRAME]
            now = time.perf_counter()
            if clock > now:
                time.sleep(clock - now)
            else:
                clock = now
            for action in det.feed(frame, self.vad.prob(frame), clock):
                if isinstance(action, Emit) and action.kind == "final":
                    return action, time.perf_counter()
            clock += FRAME / SAMPLE_RATE
        return None, time.perf_counter()

    def _messages(self, text: str) -> list[dict[str, str]]:
        s = self.settings
        budget = self.llm.n_ctx - s.max_reply_tokens - 16
        system = {"role": "system", "content": s.system_prompt}
        history = list(self.history)

        def size(msgs: list[dict[str, str]]) -> int:
            return sum(self.llm.count_tokens(m["content"]) + 6 for m in msgs)

        user = {"role": "user", "content": text}
        while history and size([system, *history, user]) > budget:
            history = history[2:]
        return [system, *history, user]

    def turn(self, item: int, audio: np.ndarray) -> BaselineTurn:
        from app.audio.resample import resample

        s = self.settings
        out = BaselineTurn(item)
        emit, decided = self._hear(audio)
        if emit is None:
            out.dropped = "no speech"
            return out
        speech_end = emit.speech_end
        # 1. the full transcription
        res = self.stt.transcribe(emit.audio, hotwords=s.hotwords)
        t_stt = time.perf_counter()
        out.stt_s, out.audio_s, out.user_text = res.seconds, len(emit.audio) / SAMPLE_RATE, res.text
        if not res.text:
            out.dropped = "empty transcript"
            return out
        # 2. the full completion
        messages = self._messages(res.text)
        parts: list[str] = []
        first: float | None = None
        t0 = time.perf_counter()
        for delta in self.llm.stream_chat(messages, max_tokens=s.max_reply_tokens, temperature=s.temperature):
            if first is None:
                first = time.perf_counter()
            parts.append(delta)
        t_llm = time.perf_counter()
        reply = "".join(parts).strip()
        out.reply = reply
        out.llm_tokens = len(parts)
        out.llm_first_token_ms = round((first - t0) * 1000.0, 1) if first else None
        out.llm_decode_s = t_llm - first if first else 0.0
        if not reply:
            out.dropped = "empty reply"
            return out
        # 3. the full synthesis
        t1 = time.perf_counter()
        wave = np.concatenate(list(self.tts.synthesize(reply)) or [np.zeros(0, np.float32)])
        out.tts_s = time.perf_counter() - t1
        out.tts_audio_s = len(wave) / self.tts.sample_rate
        wave = resample(wave, self.tts.sample_rate, self.playback.sample_rate)
        t_tts = time.perf_counter()
        # 4. playback starts
        while True:
            try:
                self.playback.events.get_nowait()
            except queue.Empty:
                break
        self.playback.enqueue(AudioChunk(item, 0, 0, wave, self.playback.sample_rate, reply, True))
        first_audio = None
        deadline = time.perf_counter() + 5.0
        while time.perf_counter() < deadline:
            try:
                ev = self.playback.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if ev.kind == "first_audio":
                first_audio = ev.t
                break
        self.playback.flush()
        self.history += [{"role": "user", "content": res.text}, {"role": "assistant", "content": reply}]
        if first_audio is None:
            out.dropped = "no playback"
            return out
        out.voice_to_voice_ms = round((first_audio - speech_end) * 1000.0, 1)
        out.window = (speech_end, first_audio)
        out.segments = {
            "end_of_turn_wait": round((decided - speech_end) * 1000.0, 1),
            "stt": round((t_stt - decided) * 1000.0, 1),
            "llm_full": round((t_llm - t_stt) * 1000.0, 1),
            "tts_full": round((t_tts - t_llm) * 1000.0, 1),
            "output": round((first_audio - t_tts) * 1000.0, 1),
        }
        return out


def run_baseline(
    settings: Settings, items: list[CorpusItem], progress: Progress = no_progress, quiet_wait_s: float = 0.0
) -> list[BaselineTurn]:
    base = Baseline(settings, progress)
    base.speaker.start()
    sampler = RssSampler(None)
    sampler.start()
    out = []
    try:
        for i, it in enumerate(items):
            if quiet_wait_s > 0:
                wait_for_quiet(quiet_wait_s)
            out.append(base.turn(i, it.audio))
            progress(f"baseline: question {i + 1}/{len(items)}: {out[-1].voice_to_voice_ms} ms")
    finally:
        base.close()
        sampler.stop()
    for b in out:
        if b.window is not None:
            b.other_cpu_pct = sampler.other_cpu_pct(b.window[0] - 0.5, b.window[1])
    return out
