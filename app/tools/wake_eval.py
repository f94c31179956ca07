"""Measure the wake word models: hits on spoken wake phrases, false wakes on speech without them.

``python -m app.tools.wake_eval [--models ID ...] [--cache DIR] [--json PATH]``

**Wake clips.**  For each model, its phrase alone ("Hey Jarvis.") and followed in the same
breath by five requests ("Hey Jarvis, what time is it?"), spoken by the bundled piper voice at
speaking rates 0.8, 1.0 and 1.25 (as ``hearken say`` builds it) and by espeak-ng voices en-us,
en-gb and en-us+f3 at 120, 150 and 180 words a minute: 6 texts x 12 voices.  Each clip is
resampled to 16 kHz, scaled to a peak of -6, -20 or -30 dBFS, padded with 1 s before and after,
and played clean or with white noise, pink noise or babble (four other voices' monologues
summed) at 10 dB SNR (speech RMS over noise RMS) over the whole padded clip: 12 conditions,
864 clips a model.  The detector is reset before each clip and fed its 512-sample frames (the
VAD's 32 ms); a clip is a hit at threshold ``t`` when a frame scores ``>= t`` (the gate wakes
once per clip: a first wake does not depend on the reset that follows it).

**No-wake audio.**  Real human speech read in place (``../shared/audio``: five recordings, the
stereo one per channel; ``../shared/emotion-dev``: 32 RAVDESS clips, whose licence forbids
copying them, so they are only read), the bench's 20 questions (piper, as the bench caches
them, and the three espeak voices), long monologues (:data:`MONOLOGUES`, piper and the three
espeak voices at 150 wpm), each played twice: at -6 dBFS peak clean and at -20 dBFS with pink
noise at 10 dB SNR; and noise alone (white, pink, babble, 60 s each).  Each item is one stream
from a reset detector, and its false wakes are counted exactly as :class:`~app.pipeline.wake.WakeGate`
counts wakes (score ``>= threshold``, a 1.5 s refractory, the detector reset after each wake).
Reported apart and not part of the target: near misses (:data:`CONFUSABLES`: "Hey Travis",
"Alexander", "my croft" ...) and the other models' wake phrases (clean, -6 dBFS).

**A second opinion** (``--no-verify`` skips it).  At the model's catalog threshold, a clip it
missed but scored at least :data:`~app.pipeline.wake.VERIFY_FROM` on is transcribed as the gate
has it transcribed (the default Whisper, the wake phrase as a hotword) and is a hit when the
words start with the phrase.  In the no-wake audio, every place that scores that much (1.5 s
apart) is transcribed from 1.5 s before to 2.5 s after it: a false wake when those words start
with the phrase (stricter than the app, whose turn begins where the speech began).

**Cost.**  Every ``score`` call on the no-wake audio is timed (µs per 32 ms frame, mean and p99).

Synthesized audio is cached as 16 kHz WAVs under the temp folder (``--cache``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.messages import FRAME, SAMPLE_RATE

log = logging.getLogger(__name__)

MODELS: tuple[str, ...] = ("hey_jarvis", "alexa", "hey_mycroft", "okay_nabu")
REQUESTS: tuple[str, ...] = (
    "what time is it?",
    "set a timer for five minutes.",
    "what's the weather like tomorrow?",
    "turn off the lights in the kitchen.",
    "remind me to call my mother at six.",
)
LEVELS_DB: tuple[float, ...] = (-6.0, -20.0, -30.0)  # speech peak, dBFS
NOISES: tuple[str, ...] = ("clean", "white", "pink", "babble")
SNR_DB = 10.0
PAD_S = 1.0
NOISE_ONLY_S = 60.0
THRESHOLDS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
HIT_TARGET = 0.95
SHARED = Path(__file__).resolve().parents[2].parent / "shared"

# Long stretches of everyday talk without any of the four wake phrases ("okay" and "hey" are
# in them on purpose: they start two of the phrases).
MONOLOGUES: tuple[str, ...] = (
    "Okay, so this morning I finally got around to fixing the bicycle. The back tyre had been flat "
    "for weeks, and every time I looked at it I found something else to do. It turned out to be a "
    "tiny piece of glass, no bigger than a grain of rice, stuck right in the tread. I patched the "
    "tube, pumped it up, and rode down to the bakery before it got busy. They had the good rye "
    "bread again, the one with the seeds on top, so I bought two loaves and put one in the freezer.",
    "The meeting on Thursday ran long because nobody could agree on the schedule. Marcus wanted to "
    "ship the first version in March, but the testing team said they needed at least six more "
    "weeks. In the end we split the difference and moved the date to the middle of April. I think "
    "that is still optimistic. Half of the reports we got last quarter came from one old printer "
    "driver, and nobody has a machine that can reproduce the problem anymore.",
    "Hey, did you see the weather forecast for the weekend? They are saying rain on Saturday and "
    "sunshine on Sunday, which is the opposite of what we need. The garden party is on Saturday "
    "afternoon. We could move the tables under the big tree, or borrow the tent from the neighbours "
    "again. Last year it blew over in the wind and we spent an hour chasing paper plates across the "
    "lawn. Maybe this time we should just tie it down properly from the start.",
    "My grandmother used to say that a good soup needs three things: time, salt, and someone to "
    "share it with. She would start on Sunday morning with a pot of bones and onions and let it "
    "simmer until the whole house smelled of it. By lunch the windows were steamed up and the cat "
    "was asleep next to the stove. I have tried to make it the same way, but mine always comes out "
    "a little thin. I suspect she never wrote down the part that mattered.",
    "The train was late again, twenty minutes this time, because of a signal failure somewhere near "
    "the river. The announcement kept changing its mind about which platform we should be on. A man "
    "next to me was reading a thick paperback about the history of lighthouses, and every few "
    "minutes he laughed out loud. When we finally got on, I sat across from him and asked what was "
    "so funny. He said the keepers wrote the strangest complaints to their managers.",
    "Okay, here is the plan for the move. The van comes at eight, so we need the boxes by the door "
    "the night before. Books go in the small boxes, because the big ones get too heavy to carry down "
    "the stairs. The kitchen things we wrap in towels and newspaper. Somebody has to defrost the "
    "fridge on Wednesday, and I will call the internet company about moving the connection. If we "
    "are lucky, we will be sleeping in the new flat by Saturday night.",
    "I started learning the piano again after almost twenty years. My fingers remember more than I "
    "expected, but reading the notes is painfully slow. The teacher is patient. She says adults "
    "always want to play the difficult pieces first, and she is right, I do. This week it is scales "
    "and a simple minuet, over and over, until the left hand stops arguing with the right. The "
    "neighbours have not complained yet, which I take as a good sign.",
    "The library is closing early on Fridays this winter to save on heating. That is a shame, "
    "because Friday evening was the quietest time to work there. The reading room has those long "
    "wooden tables and green lamps, and you can hear the radiators ticking. I will probably try the "
    "café on the corner instead, although it gets loud when the students come in after class. "
    "Headphones help, as long as I remember to charge them.",
    "We watched a documentary last night about octopuses. Did you know they can taste with their "
    "arms, and that each arm has its own small cluster of nerves? One of them in an aquarium learned "
    "to unscrew the lid of a jar from the inside. Another one kept switching off a light in the lab "
    "by squirting water at it, until the staff moved the lamp. I am not sure I will ever order "
    "grilled octopus at a restaurant again.",
    "Hey, before I forget, the plumber is coming on Tuesday between ten and two. He needs to get at "
    "the pipes under the bathroom sink, so please clear out the cupboard the night before. He also "
    "said the water will be off for about an hour. If you are working from home that day, maybe "
    "fill a couple of bottles in the morning. And the parcel for your brother is still in the hall; "
    "the post office closes at five.",
)
# Near misses: words that sound like part of a wake phrase (reported apart, not in the target).
CONFUSABLES: tuple[str, ...] = (
    "Hey Travis, can you pass me the salt?",
    "Hey Marvin, how was the harvest this year?",
    "The jars are in the cupboard, hey, careful with them.",
    "Alexander called, and Alexis said she would come later.",
    "He looked it up in a lexicon of old legal terms.",
    "I like the electric car, but not the price.",
    "Hey, my crafts are finally dry.",
    "They bought a small croft in the highlands.",
    "I work at Microsoft, on the mycology database.",
    "Okay, now boo the villain when he comes on stage.",
    "Okay, Nadia, put the nappy bag in the car.",
    "Okay, I knew it, the bus is late again.",
)


@dataclass(frozen=True)
class Voice:
    name: str
    engine: str  # piper | espeak-ng
    rate: float  # piper: speaking rate (1.0 the voice's own pace); espeak-ng: words a minute
    espeak_voice: str = ""


VOICES: tuple[Voice, ...] = (
    Voice("piper-0.8", "piper", 0.8),
    Voice("piper-1.0", "piper", 1.0),
    Voice("piper-1.25", "piper", 1.25),
    *(
        Voice(f"{v}-{wpm}", "espeak-ng", wpm, v)
        for v in ("en-us", "en-gb", "en-us+f3")
        for wpm in (120, 150, 180)
    ),
)
NO_WAKE_VOICES: tuple[str, ...] = ("piper-1.0", "en-us-150", "en-gb-150", "en-us+f3-150")


def default_cache() -> Path:
    return Path(tempfile.gettempdir()) / "hearken-wake-eval"


def wake_texts(phrase: str) -> list[str]:
    """The phrase alone, then followed by each request in the same breath."""
    return [f"{phrase}."] + [f"{phrase}, {r}" for r in REQUESTS]


# --------------------------------------------------------------------------- speech


class Speaker:
    """Speech in a :class:`Voice` as 16 kHz float32, made once and cached as WAV under ``cache``."""

    def __init__(self, cache: Path) -> None:
        from app.config import Settings

        self.cache = cache
        self.settings = Settings()
        self._tts: Any = None
        self.made = 0

    def _path(self, text: str, voice: Voice) -> Path:
        key = f"{voice.engine}|{voice.espeak_voice}|{voice.rate}|{self._voice_id(voice)}|{text}"
        slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]
        return self.cache / voice.name / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:10]}.wav"

    def _voice_id(self, voice: Voice) -> str:
        if voice.engine != "piper":
            return ""
        from app.models import resolve

        return resolve("tts", self.settings).id

    def speech(self, text: str, voice: Voice) -> np.ndarray:
        from app.audio.io import load_speech, write_wav

        path = self._path(text, voice)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            audio = self._synthesize(text, voice)
            write_wav(path, audio, SAMPLE_RATE)
            self.made += 1
        return load_speech(path)

    def _synthesize(self, text: str, voice: Voice) -> np.ndarray:
        from app.audio.resample import resample

        if voice.engine == "espeak-ng":
            if not shutil.which("espeak-ng"):
                raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
            from app.audio.io import load_speech

            with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
                cmd = [
                    "espeak-ng",
                    "-v",
                    voice.espeak_voice,
                    "-s",
                    str(int(voice.rate)),
                    "-w",
                    tmp.name,
                    text,
                ]
                subprocess.run(cmd, check=True, capture_output=True)
                return load_speech(tmp.name)
        if self._tts is None:
            from app.engines import registry

            self._tts = registry.build("tts", self.settings, speaking_rate=1.0, threads=1)
        from app.pipeline.text import clean_for_speech

        self._tts.speaking_rate = voice.rate
        chunks = list(self._tts.synthesize(clean_for_speech(text)))
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return resample(audio, self._tts.sample_rate, SAMPLE_RATE)


# --------------------------------------------------------------------------- conditions


def trim(audio: np.ndarray, floor_db: float = -50.0) -> np.ndarray:
    """``audio`` without its leading and trailing near-silence (relative to its peak)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 0:
        return audio
    loud = np.flatnonzero(np.abs(audio) > peak * 10 ** (floor_db / 20))
    return audio[loud[0] : loud[-1] + 1]


def active_rms(audio: np.ndarray) -> float:
    """RMS over the 32 ms frames within 30 dB of the loudest: the speech, not its pauses."""
    n = len(audio) // FRAME
    if n == 0:
        return float(np.sqrt(np.mean(audio**2))) if audio.size else 0.0
    rms = np.sqrt(np.mean(audio[: n * FRAME].reshape(n, FRAME) ** 2, axis=1))
    keep = rms[rms >= rms.max() * 10 ** (-30 / 20)]
    return float(np.sqrt(np.mean(keep**2)))


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f power) noise."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(f), n)
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def babble_bank(streams: Sequence[np.ndarray], seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS babble: the given speech streams (each at unit RMS, random start) summed."""
    n = int(seconds * SAMPLE_RATE)
    out = np.zeros(n, np.float64)
    for s in streams:
        s = s / max(active_rms(s), 1e-9)
        start = int(rng.integers(0, max(1, len(s) - n)))
        piece = np.resize(s[start:], n)  # wraps around when the stream is short
        out += piece
    return (out / np.sqrt(np.mean(out**2))).astype(np.float32)


def noise(kind: str, n: int, rng: np.random.Generator, bank: np.ndarray | None) -> np.ndarray:
    """``n`` samples of unit-RMS noise of ``kind`` (white, pink, babble: a stretch of ``bank``)."""
    if kind == "white":
        return rng.standard_normal(n).astype(np.float32)
    if kind == "pink":
        return pink(n, rng)
    if kind == "babble":
        if bank is None or len(bank) < n:
            raise ValueError("babble needs a bank longer than the clip")
        start = int(rng.integers(0, len(bank) - n + 1))
        return bank[start : start + n]
    raise ValueError(f"unknown noise {kind!r}")


def condition(
    speech: np.ndarray,
    level_db: float,
    kind: str,
    rng: np.random.Generator,
    bank: np.ndarray | None = None,
    pad_s: float = PAD_S,
    snr_db: float = SNR_DB,
) -> np.ndarray:
    """``speech`` at a peak of ``level_db`` dBFS, padded with ``pad_s`` either side, with ``kind``
    noise at ``snr_db`` over the whole clip (speech RMS over its active frames / noise RMS)."""
    peak = float(np.max(np.abs(speech))) or 1.0
    s = speech * (10 ** (level_db / 20) / peak)
    pad = np.zeros(int(pad_s * SAMPLE_RATE), np.float32)
    clip = np.concatenate([pad, s, pad]).astype(np.float32)
    if kind != "clean":
        clip = clip + noise(kind, len(clip), rng, bank) * (active_rms(s) / 10 ** (snr_db / 20))
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- scoring


def frames(audio: np.ndarray) -> Iterable[np.ndarray]:
    for i in range(len(audio) // FRAME):
        yield audio[i * FRAME : (i + 1) * FRAME]


def trace(detector: Any, audio: np.ndarray, timings: list[float] | None = None) -> np.ndarray:
    """The score of every 32 ms frame of ``audio``, from a reset detector (each call timed into
    ``timings`` when given)."""
    detector.reset()
    out = np.zeros(len(audio) // FRAME, np.float32)
    clock = time.perf_counter
    for i, frame in enumerate(frames(audio)):
        t0 = clock()
        out[i] = detector.score(frame)
        if timings is not None:
            timings.append(clock() - t0)
    return out


def gate_wakes(detector: Any, audio: np.ndarray, threshold: float) -> list[float]:
    """When :class:`~app.pipeline.wake.WakeGate` wakes on ``audio`` (seconds), from a reset detector."""
    from app.pipeline.wake import WakeGate, WakeHeard, WakeParams

    detector.reset()
    gate = WakeGate(WakeParams(threshold=threshold), detector, close=lambda _turn: None)
    out = []
    for i, frame in enumerate(frames(audio)):
        t = (i + 1) * FRAME / SAMPLE_RATE
        out += [a.t for a in gate.frame(frame, t, 0) if isinstance(a, WakeHeard)]
    return out


def false_wakes(detector: Any, audio: np.ndarray, scores: np.ndarray, thresholds: Iterable[float]) -> dict:
    """threshold -> wake times on ``audio`` (no wake word in it), exactly as the gate counts them:
    nothing where no frame reached the threshold, else the gate is run on it."""
    top = float(scores.max()) if scores.size else 0.0
    return {t: (gate_wakes(detector, audio, t) if top >= t else []) for t in thresholds}


# --------------------------------------------------------------------------- the sets


@dataclass
class Item:
    group: str  # real | bench | monologue | noise | confusable | other_phrase
    name: str
    audio: np.ndarray
    real: bool = False

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def real_speech(shared: Path = SHARED) -> list[tuple[str, np.ndarray]]:
    """Real human recordings, read in place (never copied): ``shared/audio`` and ``shared/emotion-dev``."""
    import soundfile as sf

    from app.audio.io import load_speech

    out: list[tuple[str, np.ndarray]] = []
    folder = shared / "audio"
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix.lower() not in (".wav", ".mp3", ".flac"):
            continue
        try:
            channels = sf.info(str(path)).channels if path.suffix.lower() == ".wav" else 1
        except RuntimeError:
            channels = 1
        if channels > 1:  # one speaker a channel: each channel is an utterance of its own
            out += [(f"{path.name}[{c}]", load_speech(path, c)) for c in range(channels)]
        else:
            out.append((path.name, load_speech(path)))
    folder = shared / "emotion-dev"
    for path in sorted(folder.glob("*.wav")) if folder.is_dir() else []:
        out.append((f"emotion-dev/{path.name}", load_speech(path)))
    return out


def no_wake_items(speaker: Speaker, bank: np.ndarray, rng: np.random.Generator) -> list[Item]:
    """The no-wake set, each piece twice (-6 dBFS clean; -20 dBFS with pink noise at 10 dB SNR),
    and noise alone."""
    from app.tools.bench_corpus import CORPUS_TEXTS, synth_corpus

    pieces: list[tuple[str, str, np.ndarray, bool]] = []
    pieces += [("real", name, audio, True) for name, audio in real_speech()]
    pieces += [("bench", f"piper/{c.name}", c.audio, False) for c in synth_corpus(speaker.settings)]
    voices = {v.name: v for v in VOICES}
    for vname in NO_WAKE_VOICES[1:]:
        pieces += [
            ("bench", f"{vname}/{i + 1:02d}", speaker.speech(t, voices[vname]), False)
            for i, t in enumerate(CORPUS_TEXTS)
        ]
    for vname in NO_WAKE_VOICES:
        pieces += [
            ("monologue", f"{vname}/{i + 1:02d}", speaker.speech(t, voices[vname]), False)
            for i, t in enumerate(MONOLOGUES)
        ]
    items: list[Item] = []
    for group, name, audio, real in pieces:
        speech = trim(audio)
        items.append(Item(group, f"{name} clean", condition(speech, -6.0, "clean", rng, pad_s=0.5), real))
        items.append(Item(group, f"{name} pink", condition(speech, -20.0, "pink", rng, pad_s=0.5), real))
    n = int(NOISE_ONLY_S * SAMPLE_RATE)
    for kind in ("white", "pink", "babble"):
        items.append(Item("noise", kind, noise(kind, n, rng, bank) * np.float32(10 ** (-20 / 20) / 3)))
    for vname in ("piper-1.0", "en-us-150", "en-gb-150"):
        for i, t in enumerate(CONFUSABLES):
            speech = trim(speaker.speech(t, voices[vname]))
            items.append(
                Item("confusable", f"{vname}/{i + 1:02d} {t}", condition(speech, -6.0, "clean", rng))
            )
    return items


def babble_streams(speaker: Speaker) -> list[np.ndarray]:
    voices = {v.name: v for v in VOICES}
    return [np.concatenate([trim(speaker.speech(t, voices[v])) for t in MONOLOGUES]) for v in NO_WAKE_VOICES]


# --------------------------------------------------------------------------- evaluation


def _rate(hits: int, n: int) -> float:
    return round(hits / n, 4) if n else 0.0


def evaluate_model(
    model_id: str,
    speaker: Speaker,
    no_wake: list[Item],
    bank: np.ndarray,
    thresholds: Sequence[float] = THRESHOLDS,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _m: None,
    stt: Any = None,
) -> dict[str, Any]:
    from app.config import Settings
    from app.engines.wake import MicroWakeWordDetector
    from app.models import entry_by_id, resolve
    from app.pipeline.wake import VERIFY_FROM

    m = resolve("wake", Settings(wake_model=model_id))
    det = MicroWakeWordDetector(m.path, m.config_path)
    sweep = sorted({*thresholds, det.cutoff})
    rng = np.random.default_rng(seed)
    shipped = float(entry_by_id(model_id).extra.get("wake_threshold", det.cutoff))  # what the app uses
    opinion = SecondOpinion(stt, det.phrase, shipped, VERIFY_FROM) if stt is not None else None

    # wake clips
    clips: list[dict[str, Any]] = []
    texts = wake_texts(det.phrase)
    progress(f"{model_id}: {len(texts) * len(VOICES) * len(LEVELS_DB) * len(NOISES)} wake clips")
    for voice in VOICES:
        for ti, text in enumerate(texts):
            speech = trim(speaker.speech(text, voice))
            for level in LEVELS_DB:
                for kind in NOISES:
                    audio = condition(speech, level, kind, rng, bank)
                    scores = trace(det, audio)
                    first = int(np.argmax(scores >= det.cutoff)) if scores.max() >= det.cutoff else None
                    heard = opinion.clip(audio, float(scores.max())) if opinion is not None else None
                    clips.append(
                        {
                            "text": text,
                            "alone": ti == 0,
                            "voice": voice.name,
                            "engine": voice.engine,
                            "level_db": level,
                            "noise": kind,
                            "max": round(float(scores.max()), 4),
                            "heard": heard,
                            "wake_at_s": None
                            if first is None
                            else round((first + 1) * FRAME / SAMPLE_RATE, 3),
                        }
                    )

    # no-wake audio
    progress(f"{model_id}: {sum(i.seconds for i in no_wake) / 60:.1f} min of no-wake audio")
    timings: list[float] = []
    groups: dict[str, dict[str, Any]] = {}
    worst: list[dict[str, Any]] = []
    for item in no_wake:
        scores = trace(det, item.audio, timings if item.group != "confusable" else None)
        wakes = false_wakes(det, item.audio, scores, sweep)
        if opinion is not None and item.group in ("real", "bench", "monologue", "noise"):
            opinion.no_wake(item, scores)
        g = groups.setdefault(item.group, {"seconds": 0.0, "max": 0.0, "false_wakes": {t: 0 for t in sweep}})
        g["seconds"] += item.seconds
        g["max"] = max(g["max"], float(scores.max()))
        for t, at in wakes.items():
            g["false_wakes"][t] += len(at)
        worst.append(
            {
                "group": item.group,
                "name": item.name,
                "max": round(float(scores.max()), 4),
                "wakes_at_cutoff_s": [round(x, 2) for x in wakes[det.cutoff]],
            }
        )
    # the other models' phrases
    other = {"seconds": 0.0, "max": 0.0, "false_wakes": {t: 0 for t in sweep}, "clips": 0}
    for other_id in MODELS:
        if other_id == model_id:
            continue
        om = resolve("wake", Settings(wake_model=other_id))
        from app.engines.wake import read_config

        for voice in VOICES:
            for text in wake_texts(read_config(om.config_path)["phrase"]):
                audio = condition(trim(speaker.speech(text, voice)), -6.0, "clean", rng)
                top = float(trace(det, audio).max())
                other["clips"] += 1
                other["seconds"] += len(audio) / SAMPLE_RATE
                other["max"] = max(other["max"], top)
                for t in sweep:
                    other["false_wakes"][t] += top >= t
                if top >= det.cutoff:
                    worst.append(
                        {
                            "group": "other_phrase",
                            "name": f"{voice.name}: {text}",
                            "max": round(top, 4),
                            "wakes_at_cutoff_s": [],
                        }
                    )
    groups["other_phrase"] = other
    det.close()

    worst.sort(key=lambda w: -w["max"])
    us = np.array(timings) * 1e6
    target = [g for k, g in groups.items() if k in ("real", "bench", "monologue", "noise")]
    result: dict[str, Any] = {
        "model": model_id,
        "phrase": det.phrase,
        "cutoff": det.cutoff,
        "thresholds": sweep,
        "clips": clips,
        "no_wake": {
            k: {**g, "seconds": round(g["seconds"], 1), "max": round(g["max"], 4)} for k, g in groups.items()
        },
        "no_wake_minutes": round(sum(g["seconds"] for g in target) / 60, 2),
        "no_wake_max": round(max(g["max"] for g in target), 4),
        "worst_no_wake": worst[:12],
        "frame_us_mean": round(float(us.mean()), 1),
        "frame_us_p99": round(float(np.percentile(us, 99)), 1),
        "frames_timed": len(timings),
    }
    result["sweep"] = [summary_at(result, t) for t in sweep]
    if opinion is not None:
        result["second_opinion"] = opinion.summary(clips, result)
    return result


class SecondOpinion:
    """Whisper's check of what the model nearly heard (see the module docstring)."""

    def __init__(self, stt: Any, phrase: str, threshold: float, verify_from: float) -> None:
        self.stt, self.phrase, self.threshold, self.verify_from = stt, phrase, threshold, verify_from
        self.candidates: list[dict[str, Any]] = []

    def _heard(self, audio: np.ndarray) -> tuple[bool, str]:
        from app.pipeline.wake import strip_wake_words

        said = self.stt.transcribe(audio, hotwords=self.phrase).text
        return strip_wake_words(said, [self.phrase])[0], said

    def clip(self, audio: np.ndarray, top: float) -> bool | None:
        """A wake clip: None when Whisper is not asked (a hit already, or too little to ask)."""
        if not self.verify_from <= top < self.threshold:
            return None
        return self._heard(audio)[0]

    def no_wake(self, item: Item, scores: np.ndarray) -> None:
        last = -1e9
        for i in np.flatnonzero(scores >= self.verify_from):
            t = (i + 1) * FRAME / SAMPLE_RATE
            if t - last < 1.5:
                continue
            last = t
            if scores[i] >= self.threshold:
                continue  # a false wake the sweep already counts
            piece = item.audio[max(0, int((t - 1.5) * SAMPLE_RATE)) : int((t + 2.5) * SAMPLE_RATE)]
            found, said = self._heard(piece)
            self.candidates.append(
                {"item": item.name, "t": round(t, 2), "score": round(float(scores[i]), 4), "said": said, "woke": found}
            )

    def summary(self, clips: list[dict[str, Any]], result: dict[str, Any]) -> dict[str, Any]:
        direct = sum(c["max"] >= self.threshold for c in clips)
        verified = sum(bool(c["heard"]) for c in clips)
        at = next((s for s in result["sweep"] if s["threshold"] == self.threshold), None)
        false_direct = None if at is None else at["false_wakes_target"]
        false_verified = sum(c["woke"] for c in self.candidates)
        return {
            "threshold": self.threshold,
            "verify_from": self.verify_from,
            "hits": direct + verified,
            "hits_by_model": direct,
            "hits_by_words": verified,
            "clips_asked": sum(c["heard"] is not None for c in clips),
            "hit_rate": _rate(direct + verified, len(clips)),
            "no_wake_asked": len(self.candidates),
            "false_wakes": None if false_direct is None else false_direct + false_verified,
            "false_wakes_by_words": [c for c in self.candidates if c["woke"]],
        }


def summary_at(result: dict[str, Any], threshold: float) -> dict[str, Any]:
    """Hits and false wakes of one model's result at ``threshold`` (one of its swept thresholds)."""
    clips = result["clips"]
    hits = sum(c["max"] >= threshold for c in clips)
    fw = {k: g["false_wakes"][threshold] for k, g in result["no_wake"].items()}
    return {
        "threshold": threshold,
        "hits": hits,
        "clips": len(clips),
        "hit_rate": _rate(hits, len(clips)),
        "false_wakes": fw,
        "false_wakes_target": sum(v for k, v in fw.items() if k in ("real", "bench", "monologue", "noise")),
    }


def breakdown(clips: list[dict[str, Any]], threshold: float, key: Callable[[dict[str, Any]], Any]) -> dict:
    """Hit rate per value of ``key`` at ``threshold``."""
    out: dict[Any, list[int]] = {}
    for c in clips:
        h = out.setdefault(key(c), [0, 0])
        h[0] += c["max"] >= threshold
        h[1] += 1
    return {k: {"hits": h, "clips": n, "hit_rate": _rate(h, n)} for k, (h, n) in out.items()}


def recommend(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The model and threshold to ship: zero false wakes on the no-wake speech and noise, then the
    most hits; the model's own cutoff when it is within a point of the best; ties to the higher
    threshold (more room under it)."""
    picks = []
    for r in results.values():
        clean = [s for s in r["sweep"] if s["false_wakes_target"] == 0]
        if not clean:
            picks.append((0.0, 0.0, r["model"], None))
            continue
        best = max(s["hit_rate"] for s in clean)
        at_cutoff = next((s for s in clean if s["threshold"] == r["cutoff"]), None)
        if at_cutoff is not None and at_cutoff["hit_rate"] >= best - 0.01:
            pick = at_cutoff
        else:
            pick = max((s for s in clean if s["hit_rate"] == best), key=lambda s: s["threshold"])
        picks.append((pick["hit_rate"], pick["threshold"] - r["no_wake_max"], r["model"], pick))
    picks.sort(key=lambda p: (p[0], p[1]), reverse=True)
    rate, margin, model, pick = picks[0]
    return {
        "model": model,
        "threshold": None if pick is None else pick["threshold"],
        "hit_rate": rate,
        "false_wakes": None if pick is None else pick["false_wakes_target"],
        "margin_over_no_wake_max": round(margin, 4),
        "meets_targets": bool(pick is not None and rate >= HIT_TARGET),
        "ranking": [
            {"model": m, "hit_rate": h, "threshold": None if p is None else p["threshold"]}
            for h, _mg, m, p in picks
        ],
    }


# --------------------------------------------------------------------------- report


def format_report(results: dict[str, dict[str, Any]], rec: dict[str, Any]) -> str:
    lines: list[str] = []
    any_r = next(iter(results.values()))
    nw = any_r["no_wake"]
    speech_s = sum(nw.get(k, {}).get("seconds", 0.0) for k in ("real", "bench", "monologue"))
    lines.append(
        f"Wake word models: {len(any_r['clips'])} wake clips each; no-wake audio: {speech_s / 120:.1f} min"
        f" of speech ({nw.get('real', {}).get('seconds', 0.0) / 120:.1f} min of it real human speech),"
        f" each piece played twice (clean, and in pink noise: {speech_s / 60:.1f} min scored),"
        f" and {nw.get('noise', {}).get('seconds', 0.0) / 60:.0f} min of noise alone"
    )
    lines.append("")
    lines.append(
        f"{'model':<12} {'cutoff':>6} {'hits':>7} {'false':>5} {'no-wake max':>11}"
        f" {'near-miss':>9} {'other':>5} {'µs/frame':>8} {'p99':>6}"
    )
    for r in results.values():
        s = summary_at(r, r["cutoff"])
        fw = s["false_wakes"]
        lines.append(
            f"{r['model']:<12} {r['cutoff']:>6.2f} {s['hit_rate']:>7.1%} {s['false_wakes_target']:>5}"
            f" {r['no_wake_max']:>11.3f} {fw.get('confusable', 0):>9} {fw.get('other_phrase', 0):>5}"
            f" {r['frame_us_mean']:>8.0f} {r['frame_us_p99']:>6.0f}"
        )
    lines += ["", "Threshold sweep: hit rate / false wakes (speech+noise) [near misses]"]
    ths = any_r["thresholds"]
    lines.append(f"{'threshold':<12}" + "".join(f"{t:>15.2f}" for t in THRESHOLDS))
    for r in results.values():
        cells = []
        for t in THRESHOLDS:
            s = summary_at(r, t)
            cells.append(f"{s['hit_rate']:.1%}/{s['false_wakes_target']}[{s['false_wakes']['confusable']}]")
        lines.append(f"{r['model']:<12}" + "".join(f"{c:>15}" for c in cells))
    del ths
    for r in results.values():
        t = rec["threshold"] if r["model"] == rec["model"] and rec["threshold"] is not None else r["cutoff"]
        lines += ["", f"{r['model']} at {t:.2f}: hit rate by condition"]
        for title, key in (
            ("voice", lambda c: c["voice"]),
            ("peak dBFS", lambda c: c["level_db"]),
            ("noise", lambda c: c["noise"]),
            ("text", lambda c: "phrase alone" if c["alone"] else "with request"),
        ):
            b = breakdown(r["clips"], t, key)
            lines.append(f"  {title:<10} " + "  ".join(f"{k} {v['hit_rate']:.0%}" for k, v in b.items()))
    for r in results.values():
        so = r.get("second_opinion")
        if so:
            lines.append(
                f"{r['model']} at {so['threshold']:.2f} with Whisper's second opinion from {so['verify_from']:.2f}:"
                f" {so['hit_rate']:.1%} hits ({so['hits_by_model']} by the model, {so['hits_by_words']} of"
                f" {so['clips_asked']} asked by the words), {so['false_wakes']} false wakes"
                f" ({so['no_wake_asked']} no-wake places asked)"
            )
    lines.append("")
    if rec["threshold"] is None:
        lines.append("No model reached zero false wakes at any swept threshold.")
    else:
        verdict = "meets" if rec["meets_targets"] else "misses"
        lines.append(
            f"Recommended: {rec['model']} at {rec['threshold']:.2f}: {rec['hit_rate']:.1%} hits,"
            f" {rec['false_wakes']} false wakes ({verdict} the targets: >= {HIT_TARGET:.0%} hits, 0 false wakes)"
        )
        so = results[rec["model"]].get("second_opinion")
        if so and so["threshold"] == rec["threshold"]:
            meets = so["hit_rate"] >= HIT_TARGET and so["false_wakes"] == 0
            lines.append(
                f"With the second opinion: {so['hit_rate']:.1%} hits, {so['false_wakes']} false wakes"
                f" ({'meets' if meets else 'misses'} the targets)"
            )
    return "\n".join(lines)


def run(
    models: Sequence[str] = MODELS,
    cache: Path | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    verify: bool = True,
) -> dict[str, Any]:
    speaker = Speaker(cache or default_cache())
    stt = None
    if verify:
        from app.config import Settings
        from app.engines.stt import WhisperStt
        from app.models import resolve

        stt = WhisperStt(resolve("stt", Settings()).path, threads=2)
    rng = np.random.default_rng(1234)
    progress("synthesizing (cached) the monologues for babble")
    bank = babble_bank(babble_streams(speaker), 120.0, rng)
    progress("building the no-wake set")
    no_wake = no_wake_items(speaker, bank, rng)
    results = {}
    for model_id in models:
        results[model_id] = evaluate_model(model_id, speaker, no_wake, bank, progress=progress, stt=stt)
        progress(f"{model_id}: done ({speaker.made} clips synthesized so far)")
    rec = recommend(results)
    real = [i for i in no_wake if i.real]
    return {
        "models": results,
        "recommended": rec,
        "no_wake_distinct_minutes": round(
            sum(i.seconds for i in no_wake if i.group != "confusable" and not i.name.endswith(" pink")) / 60,
            2,
        ),
        "real_speech_distinct_minutes": round(
            sum(i.seconds for i in real if i.name.endswith(" clean")) / 60, 2
        ),
        "setup": {
            "voices": [v.__dict__ for v in VOICES],
            "levels_db": LEVELS_DB,
            "noises": NOISES,
            "snr_db": SNR_DB,
            "requests": REQUESTS,
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.tools.wake_eval", description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="*", choices=MODELS, default=list(MODELS))
    p.add_argument("--cache", type=Path, help=f"where the synthesized WAVs are kept ({default_cache()})")
    p.add_argument("--json", type=Path, help="write every figure and clip as JSON here")
    p.add_argument("--no-verify", action="store_true", help="skip Whisper's second opinion")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="wake_eval: %(message)s")
    out = run(args.models, args.cache, progress=log.info, verify=not args.no_verify)
    sys.stdout.write(format_report(out["models"], out["recommended"]) + "\n")
    sys.stdout.write(
        f"no-wake audio: {out['no_wake_distinct_minutes']:.1f} min distinct"
        f" ({out['real_speech_distinct_minutes']:.1f} min real human speech)\n"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, default=repr), encoding="utf-8")
        sys.stdout.write(f"json: {args.json}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
