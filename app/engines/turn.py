"""End of turn from the sound of the voice: Smart Turn v3.2 says how likely it is that the speaker has finished.

Silence alone cannot tell a finished sentence from a thinking pause ("Isolated tornadoes ...
and heavy rain").  Smart Turn (Pipecat's semantic end-of-turn model, BSD-2-Clause, shipped in
the ``pipecat-ai`` wheel and found by the model catalog like every other model) listens to the
end of the turn, intonation and all, and answers one number: the probability that the turn is
complete.

What the model was trained on, and so what :meth:`SmartTurn.prob_complete` feeds it:

1. the last 8 s of the turn, 16 kHz mono, zero-padded at the *start* when shorter (the end of
   the speech stays at the end of the window);
2. that window normalised to zero mean and unit variance;
3. Whisper's log-mel spectrogram of it: 400-sample periodic Hann window, hop 160, 80 Slaney mel
   bands up to 8 kHz, log10, floored 8 below its maximum, scaled by (x + 4) / 4, 800 frames.
   faster-whisper's own ``FeatureExtractor`` computes exactly that
   (``tests/unit/engines/test_turn.py`` checks it against a reference written from the
   definition).

The answer is a probability in [0, 1]: above 0.5 the model thinks the speaker has finished.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from app.engines.capabilities import NONE, Capability
from app.messages import SAMPLE_RATE

log = logging.getLogger(__name__)

WINDOW_S = 8  # the model hears the last 8 s of the turn
WINDOW = WINDOW_S * SAMPLE_RATE  # 128,000 samples
N_FFT = 400  # 25 ms analysis window
HOP = 160  # 10 ms between frames
MELS = 80
FRAMES = WINDOW // HOP  # 800
NORMALISE_EPS = 1e-7  # added to the variance, so a silent window stays finite
INPUT = "input_features"  # the model's input: (batch, MELS, FRAMES) float32


class TurnEngine(Protocol):
    capabilities: ClassVar[frozenset[Capability]] = NONE  # see app.engines.capabilities

    def prob_complete(self, audio: np.ndarray) -> float: ...  # the probability that the turn is complete


def last_window(audio: np.ndarray) -> np.ndarray:
    """The last :data:`WINDOW_S` seconds of 16 kHz mono ``audio`` as float32, zeros in front when shorter."""
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"the turn model takes mono audio (one dimension), not shape {audio.shape}")
    tail = audio[-WINDOW:].astype(np.float32, copy=False)
    if tail.size == WINDOW:
        return tail
    out = np.zeros(WINDOW, dtype=np.float32)
    if tail.size:
        out[-tail.size :] = tail
    return out


def normalise(window: np.ndarray) -> np.ndarray:
    """``window`` shifted to zero mean and scaled to unit variance (float32)."""
    window = window.astype(np.float32, copy=False)
    return ((window - window.mean()) / np.sqrt(window.var() + NORMALISE_EPS)).astype(np.float32, copy=False)


class LogMel:
    """Whisper's log-mel spectrogram of one :data:`WINDOW_S` s window, by faster-whisper's extractor."""

    def __init__(self) -> None:
        from faster_whisper.feature_extractor import FeatureExtractor

        self._extractor = FeatureExtractor(
            feature_size=MELS, sampling_rate=SAMPLE_RATE, hop_length=HOP, chunk_length=WINDOW_S, n_fft=N_FFT
        )

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """The model's input for ``audio`` (16 kHz mono, any length): (MELS, FRAMES) float32."""
        window = normalise(last_window(audio))
        # padding=0: the window is exactly 8 s; the extractor's centred frames give FRAMES + 1,
        # of which it drops the last, as Whisper does.
        mel = self._extractor(window, padding=0)
        if mel.shape != (MELS, FRAMES):  # a faster-whisper that computes differently
            raise RuntimeError(f"unexpected log-mel shape {mel.shape}, expected {(MELS, FRAMES)}")
        return np.ascontiguousarray(mel, dtype=np.float32)


class SmartTurn:
    """Smart Turn v3.2 on onnxruntime (CPU).  ``prob_complete`` is safe to call from one worker at a time."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.WARM_UP})

    def __init__(self, model_path: Path | str, *, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as piper: no busy wait
        self.session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        inputs = [i.name for i in self.session.get_inputs()]
        if inputs != [INPUT]:
            raise RuntimeError(f"{model_path} is not a Smart Turn v3 model (its inputs are {inputs})")
        self.features = LogMel()
        self.threads = threads

    def prob_complete(self, audio: np.ndarray) -> float:
        """The probability (0..1) that the speaker has finished, from the last 8 s of ``audio``.

        ``audio``: the turn so far, 16 kHz mono float32 (-1..1), ending now; shorter than 8 s is fine.
        """
        mel = self.features(audio)
        (out,) = self.session.run(None, {INPUT: mel[np.newaxis]})
        return float(np.asarray(out).reshape(-1)[0])

    def warm_up(self) -> None:
        """One run on quiet noise, so the first real turn does not pay onnxruntime's first-run cost."""
        rng = np.random.default_rng(0)
        self.prob_complete((rng.standard_normal(SAMPLE_RATE) * 1e-3).astype(np.float32))
