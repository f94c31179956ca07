"""Text to speech with piper (ONNX), one audio chunk per clause."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from app.pipeline.messages import SpeechStyle

log = logging.getLogger(__name__)


class TtsEngine(Protocol):
    sample_rate: int

    def synthesize(self, text: str, style: SpeechStyle | None = None) -> Iterator[np.ndarray]: ...


class PiperTts:
    def __init__(
        self, onnx_path: Path, config_path: Path | None = None, *, speaking_rate: float = 1.0
    ) -> None:
        from piper import PiperVoice

        self.voice = PiperVoice.load(str(onnx_path), config_path=str(config_path) if config_path else None)
        self.sample_rate = int(self.voice.config.sample_rate)
        self.speaking_rate = speaking_rate
        self.default_noise = float(getattr(self.voice.config, "noise_scale", 0.667))
        self.default_noise_w = float(getattr(self.voice.config, "noise_w_scale", 0.8))

    def warm_up(self) -> None:
        for _ in self.synthesize("Ready."):
            pass

    def synthesize(self, text: str, style: SpeechStyle | None = None) -> Iterator[np.ndarray]:
        """Yields float32 mono arrays at ``sample_rate`` (piper yields one per sentence)."""
        from piper import SynthesisConfig

        style = style or SpeechStyle()
        cfg = SynthesisConfig(
            length_scale=style.length_scale / self.speaking_rate,
            noise_scale=style.noise_scale,
            noise_w_scale=style.noise_w_scale,
            volume=style.volume,
        )
        for chunk in self.voice.synthesize(text, syn_config=cfg):
            yield np.asarray(chunk.audio_float_array, dtype=np.float32)
