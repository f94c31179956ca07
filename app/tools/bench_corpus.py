"""The questions ``hearken bench`` plays: the default corpus spoken by piper, and the user's recordings."""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app import paths
from app.config import Settings
from app.messages import SAMPLE_RATE

AUDIO_EXTS = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus", ".aac")

# Short everyday spoken questions and requests (the default corpus).
CORPUS_TEXTS: tuple[str, ...] = (
    "What is the capital of France?",
    "How many days are there in a leap year?",
    "Set a timer for five minutes.",
    "Who wrote Pride and Prejudice?",
    "How do I boil an egg?",
    "Remind me to call my mother tomorrow.",
    "What time zone is Tokyo in?",
    "Tell me a short joke.",
    "How far away is the moon?",
    "Can you recommend a good book?",
    "What is a healthy breakfast?",
    "How do you say thank you in Spanish?",
    "Why is the sky blue?",
    "Give me an idea for dinner tonight.",
    "How many ounces are in a pound?",
    "How much caffeine is in a cup of coffee?",
    "What is the boiling point of water?",
    "Help me name my new puppy.",
    "What should I pack for a weekend trip?",
    "How long should I sleep each night?",
)

Progress = Callable[[str], None]  # how the bench says what it is doing, one line at a time


def no_progress(_msg: str) -> None:
    """A ``Progress`` that says nothing."""


@dataclass
class CorpusItem:
    name: str
    audio: np.ndarray  # 16 kHz mono float32
    text: str = ""  # what is said (empty for user recordings)
    source: str = "synth"  # synth | a file path

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def synth_corpus(settings: Settings, progress: Progress = no_progress) -> list[CorpusItem]:
    """The default questions, spoken once with the bundled piper voice and cached as 16 kHz WAVs."""
    from app.audio.io import load_speech, write_wav
    from app.models import resolve

    voice = resolve("tts", settings)
    key = hashlib.sha256(("\n".join(CORPUS_TEXTS) + "|" + voice.id).encode()).hexdigest()[:16]
    folder = paths.cache_dir() / "bench-corpus"
    manifest = folder / "manifest.json"
    names = [f"{i + 1:02d}-{_slug(t)}.wav" for i, t in enumerate(CORPUS_TEXTS)]
    cached = False
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        cached = meta.get("key") == key and all((folder / n).is_file() for n in names)
    except (OSError, ValueError):
        cached = False
    if not cached:
        from app.audio.resample import resample
        from app.engines.tts import PiperTts

        progress(f"synthesizing the {len(CORPUS_TEXTS)} corpus questions with {voice.id} (once)")
        tts = PiperTts(voice.path, voice.config_path)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in zip(names, CORPUS_TEXTS, strict=True):
            audio = np.concatenate(list(tts.synthesize(text)))
            write_wav(folder / name, resample(audio, tts.sample_rate, SAMPLE_RATE), SAMPLE_RATE)
        manifest.write_text(
            json.dumps({"key": key, "voice": voice.id, "files": dict(zip(names, CORPUS_TEXTS, strict=True))}),
            encoding="utf-8",
        )
        del tts
        gc.collect()
    return [
        CorpusItem(n[:-4], load_speech(folder / n), t, "synth")
        for n, t in zip(names, CORPUS_TEXTS, strict=True)
    ]


def load_recordings(folder: Path) -> list[CorpusItem]:
    from app.audio.io import AudioFileError, load_speech

    if not folder.is_dir():
        raise AudioFileError(f"{folder}: not a folder")
    items = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in AUDIO_EXTS and path.is_file():
            items.append(CorpusItem(path.stem, load_speech(path), "", str(path)))
    if not items:
        raise AudioFileError(f"{folder}: no audio files ({', '.join(AUDIO_EXTS)})")
    return items


def build_corpus(
    settings: Settings, extra: Path | None, progress: Progress = no_progress
) -> list[CorpusItem]:
    """Real recordings first (so they are always measured), then the synthesized questions."""
    items = load_recordings(extra) if extra is not None else []
    return items + synth_corpus(settings, progress)
