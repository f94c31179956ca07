"""Text to speech with piper (ONNX), one audio chunk per clause."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from app.engines.capabilities import NONE, Capability
from app.messages import SpeechStyle

log = logging.getLogger(__name__)


class TtsEngine(Protocol):
    capabilities: ClassVar[frozenset[Capability]] = NONE  # see app.engines.capabilities
    sample_rate: int

    def synthesize(self, text: str, style: SpeechStyle | None = None) -> Iterator[np.ndarray]: ...


# onnxruntime's CPU arena keeps the largest working set any run has needed: one long clause
# (piper's decoder holds ~10 MB of activations per second of audio) and the process stays
# hundreds of MB bigger for good (measured: +400 MB after one 45-word clause).  Runs longer
# than a typical first clause hand their memory back when they finish ("arena shrinkage"):
# the next short clause pays ~10 ms of page faults once, and short first clauses, on the
# critical path of every answer, keep a warm arena.
KEEP_ARENA_PHONEME_IDS = 180  # about 13 words (piper interleaves pad ids); the warm-up text fits
WARM_UP_TEXT = "The moon is about three hundred and eighty thousand kilometres away from us."

# Words espeak-ng (piper's phonemizer) says wrong, spelled the way they sound.  Whisper heard
# piper's "I'm Hearken" as "unharcan"; "Harken" comes back as "I'm Harkin".
PRONOUNCE = ((re.compile(r"\bHearken\b", re.IGNORECASE), "Harken"),)


def respell(text: str) -> str:
    """``text`` with the words of ``PRONOUNCE`` respelled for the phonemizer."""
    for pattern, said in PRONOUNCE:
        text = pattern.sub(said, text)
    return text


class _BoundedArenaSession:
    """An ``InferenceSession`` stand-in for ``PiperVoice``: shrinks the arena after long runs."""

    def __init__(self, session: Any, keep_ids: int = KEEP_ARENA_PHONEME_IDS) -> None:
        import onnxruntime

        self._session = session
        self.keep_ids = keep_ids
        self.shrinks = 0
        self._shrink = onnxruntime.RunOptions()
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names: Any, input_feed: dict[str, Any], run_options: Any = None) -> Any:
        ids = input_feed.get("input")
        if run_options is None and ids is not None and ids.shape[-1] > self.keep_ids:
            self.shrinks += 1
            run_options = self._shrink
        return self._session.run(output_names, input_feed, run_options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class PiperTts:
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.WARM_UP, Capability.SPEAKING_RATE})
    sample_rate: int
    speaking_rate: float  # 1.0 = the voice's own pace; the orchestrator changes it live

    def __init__(
        self,
        onnx_path: Path,
        config_path: Path | None = None,
        *,
        speaking_rate: float = 1.0,
        threads: int = 1,
    ) -> None:
        import json

        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        config_path = config_path or Path(f"{onnx_path}.json")
        with open(config_path, encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        # Our own session options (PiperVoice.load takes none): a small thread pool that does
        # not spin, so synthesis running beside llama.cpp does not starve it of the CPU.
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.session = _BoundedArenaSession(session)
        self.voice = PiperVoice(config=config, session=self.session)  # type: ignore[arg-type]
        self.sample_rate = int(self.voice.config.sample_rate)
        self.speaking_rate = speaking_rate

    def warm_up(self) -> None:
        # A typical first clause: the arena starts at the size the critical path needs.
        for _ in self.synthesize(WARM_UP_TEXT):
            pass

    def synthesize(self, text: str, style: SpeechStyle | None = None) -> Iterator[np.ndarray]:
        """Yields float32 mono arrays at ``sample_rate`` (piper yields one per sentence)."""
        from piper import SynthesisConfig

        cfg = SynthesisConfig(**self.piper_knobs(style or SpeechStyle(), self.speaking_rate))
        for chunk in self.voice.synthesize(respell(text), syn_config=cfg):
            yield np.asarray(chunk.audio_float_array, dtype=np.float32)

    @staticmethod
    def piper_knobs(style: SpeechStyle, speaking_rate: float = 1.0) -> dict[str, float]:
        """``style`` as piper's ``SynthesisConfig`` fields.

        Expressiveness and timing variation 1.0 are piper's usual noise 0.667 and noise_w 0.8.
        The knobs go in steps of 0.001 (finer is inaudible), so a style written as exact ratios
        of tuned numbers asks piper for exactly those numbers.
        """
        return {
            "length_scale": round(1.0 / style.rate, 3) / speaking_rate,
            "noise_scale": round(0.667 * style.expressiveness, 3),
            "noise_w_scale": round(0.8 * style.timing_variation, 3),
            "volume": style.volume,
        }
