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
        self.voice = PiperVoice(config=config, session=session)
        self.sample_rate = int(self.voice.config.sample_rate)
        self.speaking_rate = speaking_rate

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
