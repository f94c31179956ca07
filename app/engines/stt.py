"""Speech to text with faster-whisper (CTranslate2), tuned for short conversational turns."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SttResult:
    text: str
    words: tuple[tuple[str, float, float], ...]
    no_speech_prob: float
    avg_logprob: float
    language: str | None
    seconds: float  # compute time
    rejected: str = ""  # why the text was judged not to be speech ("" = accepted)


class SttEngine(Protocol):
    def transcribe(
        self, audio: np.ndarray, *, hotwords: str = "", word_timestamps: bool = False
    ) -> SttResult: ...


# Whisper on silence or noise tends to produce fluent, confident-looking text with a
# high no-speech probability or a very low log-probability; these gates reject it.
NO_SPEECH_MAX = 0.6
LOGPROB_MIN = -1.0


class WhisperStt:
    def __init__(
        self,
        model_dir: Path,
        *,
        threads: int = 2,
        language: str | None = "en",
        beam_size: int = 1,
    ) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
        self.language = language if self.model.model.is_multilingual else "en"
        self.beam_size = beam_size

    def warm_up(self) -> None:
        self.transcribe(np.zeros(16000, dtype=np.float32))

    def transcribe(
        self, audio: np.ndarray, *, hotwords: str = "", word_timestamps: bool = False
    ) -> SttResult:
        t0 = time.perf_counter()
        segments, info = self.model.transcribe(
            audio.astype(np.float32, copy=False),
            language=self.language,
            beam_size=self.beam_size,
            best_of=1,
            temperature=0.0,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=not word_timestamps,
            word_timestamps=word_timestamps,
            hotwords=hotwords or None,
        )
        texts: list[str] = []
        words: list[tuple[str, float, float]] = []
        no_speech: list[float] = []
        logprobs: list[float] = []
        rejected_parts: list[str] = []
        for seg in segments:
            if seg.no_speech_prob > NO_SPEECH_MAX and seg.avg_logprob < LOGPROB_MIN:
                rejected_parts.append(seg.text.strip())
                continue
            texts.append(seg.text.strip())
            no_speech.append(seg.no_speech_prob)
            logprobs.append(seg.avg_logprob)
            for w in seg.words or ():
                words.append((w.word.strip(), float(w.start), float(w.end)))
        text = " ".join(t for t in texts if t).strip()
        rejected = ""
        if not text and rejected_parts:
            rejected = "no-speech: " + " ".join(rejected_parts)
        return SttResult(
            text=text,
            words=tuple(words),
            no_speech_prob=max(no_speech) if no_speech else 1.0,
            avg_logprob=min(logprobs) if logprobs else -10.0,
            language=getattr(info, "language", None),
            seconds=time.perf_counter() - t0,
            rejected=rejected,
        )
