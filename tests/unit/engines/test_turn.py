"""Smart Turn's input, checked without the model: the 8 s window, its padding, and the log-mel features
against a slow reference written from the published definition of Whisper's features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.audio.io import load_speech
from app.engines import turn as turn_mod
from app.engines.capabilities import Capability, supports
from app.engines.turn import FRAMES, MELS, WINDOW, LogMel, SmartTurn, last_window, normalise

DATA = Path(__file__).resolve().parents[2] / "data"
SR = 16_000


# --------------------------------------------------------------------------- the reference


def _hz_to_mel(hz: float) -> float:
    """Slaney's mel scale: linear to 1 kHz (3 mels per 200 Hz), then logarithmic (27 mels per factor 6.4)."""
    return 3.0 * hz / 200.0 if hz < 1000.0 else 15.0 + 27.0 * np.log(hz / 1000.0) / np.log(6.4)


def _mel_to_hz(mel: float) -> float:
    return 200.0 * mel / 3.0 if mel < 15.0 else 1000.0 * 6.4 ** ((mel - 15.0) / 27.0)


def reference_filters(n_fft: int = 400, n_mels: int = 80, rate: int = SR) -> np.ndarray:
    """80 triangles evenly spaced in Slaney mels from 0 Hz to Nyquist, each of unit area (Slaney norm)."""
    edges = [_mel_to_hz(m) for m in np.linspace(0.0, _hz_to_mel(rate / 2), n_mels + 2)]
    bins = [k * rate / n_fft for k in range(n_fft // 2 + 1)]
    filters = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        for k, f in enumerate(bins):
            rising, falling = (f - lo) / (mid - lo), (hi - f) / (hi - mid)
            filters[m, k] = max(0.0, min(rising, falling)) * 2.0 / (hi - lo)
    return filters


def reference_features(audio: np.ndarray) -> np.ndarray:
    """Smart Turn's input from its definition, in float64, one frame at a time."""
    audio = np.asarray(audio, dtype=np.float64)[-WINDOW:]
    window = np.concatenate([np.zeros(WINDOW - len(audio)), audio])  # zeros before a short turn
    window = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
    padded = np.pad(window, 200, mode="reflect")  # centred frames
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic Hann
    power = np.stack(
        [
            np.abs(np.fft.rfft(padded[t * 160 : t * 160 + 400] * hann)) ** 2
            for t in range(len(window) // 160 + 1)
        ],
        axis=1,
    )[:, :-1]  # 801 centred frames, the last one dropped: 800
    log_mel = np.log10(np.maximum(reference_filters() @ power, 1e-10))
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    return (log_mel + 4.0) / 4.0


@pytest.fixture(scope="module")
def log_mel() -> LogMel:
    return LogMel()


def _speech() -> np.ndarray:
    return load_speech(DATA / "hotwords.mp3")  # 4 s of a real voice


def _long_sweep() -> np.ndarray:
    t = np.arange(int(10.5 * SR)) / SR
    rng = np.random.default_rng(1)
    return (0.3 * np.sin(2 * np.pi * (100 + 300 * t) * t) + 0.01 * rng.standard_normal(t.size)).astype(
        np.float32
    )


@pytest.mark.parametrize(
    "make",
    [_speech, _long_sweep, lambda: _speech()[: SR // 2], lambda: np.zeros(WINDOW, np.float32)],
    ids=["speech 4 s", "sweep 10.5 s", "speech 0.5 s", "silence 8 s"],
)
def test_features_match_the_reference(log_mel: LogMel, make: Any) -> None:
    audio = make()
    ours, ref = log_mel(audio), reference_features(audio)
    assert ours.shape == ref.shape == (MELS, FRAMES) and ours.dtype == np.float32
    assert float(np.max(np.abs(ours - ref))) < 1e-4  # float32 against float64: ~1e-5 measured


def test_the_reference_filters_are_whispers() -> None:
    filters = reference_filters()
    assert filters.shape == (80, 201)
    assert np.all(filters.sum(axis=1) > 0)  # no empty band
    from faster_whisper.feature_extractor import FeatureExtractor

    np.testing.assert_allclose(FeatureExtractor(feature_size=80).mel_filters, filters, atol=1e-6)


# --------------------------------------------------------------------------- the window


def test_a_short_turn_is_padded_at_the_start() -> None:
    audio = np.linspace(-0.5, 0.5, SR, dtype=np.float32)
    window = last_window(audio)
    assert window.shape == (WINDOW,) and window.dtype == np.float32
    assert np.all(window[: WINDOW - SR] == 0) and np.array_equal(window[-SR:], audio)
    assert np.array_equal(last_window(np.zeros(0, np.float32)), np.zeros(WINDOW, np.float32))


def test_a_long_turn_keeps_its_last_eight_seconds() -> None:
    audio = np.arange(WINDOW + 5000, dtype=np.float32)
    assert np.array_equal(last_window(audio), audio[-WINDOW:])
    exact = np.ones(WINDOW, np.float32)
    assert np.array_equal(last_window(exact), exact)
    assert last_window(np.ones(100, dtype=np.float64)).dtype == np.float32


def test_only_mono_audio() -> None:
    with pytest.raises(ValueError, match="mono"):
        last_window(np.zeros((SR, 2), np.float32))


def test_normalised_to_zero_mean_and_unit_variance() -> None:
    window = normalise(last_window(3.0 + 0.2 * np.sin(np.arange(SR, dtype=np.float32))))
    assert abs(float(window.mean())) < 1e-4 and abs(float(window.std()) - 1.0) < 1e-3
    assert np.all(np.isfinite(normalise(np.zeros(WINDOW, np.float32))))  # silence stays finite


def test_features_of_a_short_turn_are_those_of_its_padded_window(log_mel: LogMel) -> None:
    short = _speech()[: 3 * SR]
    padded = np.concatenate([np.zeros(WINDOW - short.size, np.float32), short])
    assert np.array_equal(log_mel(short), log_mel(padded))
    longer = np.concatenate([_long_sweep(), short])
    assert np.array_equal(log_mel(longer), log_mel(longer[-WINDOW:]))


# --------------------------------------------------------------------------- the engine, on a stand-in session


class FakeSession:
    """Stands in for onnxruntime's InferenceSession: keeps its options and what it was fed."""

    made: list[FakeSession] = []

    def __init__(self, path: str, sess_options: Any = None, providers: Any = None) -> None:
        self.path, self.options, self.providers = path, sess_options, providers
        self.fed: list[dict[str, np.ndarray]] = []
        FakeSession.made.append(self)

    def get_inputs(self) -> list[Any]:
        class Input:
            name = "input_features"

        return [Input()]

    def run(self, outputs: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.fed.append(feed)
        return [np.array([[0.75]], dtype=np.float32)]


@pytest.fixture
def fake_session(monkeypatch: pytest.MonkeyPatch) -> type[FakeSession]:
    import onnxruntime

    FakeSession.made = []
    monkeypatch.setattr(onnxruntime, "InferenceSession", FakeSession)
    return FakeSession


def test_one_sequential_thread_by_default(fake_session: type[FakeSession]) -> None:
    import onnxruntime

    engine = SmartTurn(Path("/models/smart-turn.onnx"))
    (session,) = fake_session.made
    assert session.path == "/models/smart-turn.onnx" and session.providers == ["CPUExecutionProvider"]
    assert session.options.intra_op_num_threads == 1 and session.options.inter_op_num_threads == 1
    assert session.options.execution_mode == onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    assert engine.threads == 1 and SmartTurn("/m.onnx", threads=2).session.options.intra_op_num_threads == 2


def test_prob_complete_feeds_one_batch_of_features(fake_session: type[FakeSession]) -> None:
    engine = SmartTurn("/m.onnx")
    assert supports(engine, Capability.WARM_UP)
    speech = _speech()
    assert engine.prob_complete(speech) == pytest.approx(0.75)
    (feed,) = engine.session.fed
    (features,) = feed.values()
    assert list(feed) == ["input_features"] and features.shape == (1, MELS, FRAMES)
    assert features.dtype == np.float32 and features.flags.c_contiguous
    assert np.array_equal(features[0], engine.features(speech))
    engine.warm_up()
    assert len(engine.session.fed) == 2


def test_a_model_with_other_inputs_is_refused(fake_session: type[FakeSession], monkeypatch) -> None:
    class Other:
        name = "input_values"

    monkeypatch.setattr(FakeSession, "get_inputs", lambda self: [Other()])
    with pytest.raises(
        RuntimeError, match=r"not a Smart Turn v3 model \(its inputs are \['input_values'\]\)"
    ):
        SmartTurn("/models/wav2vec.onnx")


def test_the_window_constants() -> None:
    assert (turn_mod.WINDOW, turn_mod.FRAMES, turn_mod.MELS) == (8 * SR, 800, 80)
