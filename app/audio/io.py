"""Reading and writing audio files: any common format, rate and channel count in, 16 kHz mono out."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from app.audio.resample import resample
from app.messages import SAMPLE_RATE

log = logging.getLogger(__name__)


class AudioFileError(ValueError):
    """One clear sentence about a file that cannot be used as speech input."""


def _decode_with_av(path: Path) -> tuple[np.ndarray, int]:
    # PyAV (a faster-whisper dependency) reads what libsndfile does not (m4a, some mp3s).
    import av

    with av.open(str(path)) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioFileError(f"{path}: the file has no audio stream")
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
    if not parts:
        return np.zeros((0,), dtype=np.float32), rate
    return np.concatenate(parts).astype(np.float32), rate


def read_audio(path: str | Path, channel: int | None = None) -> tuple[np.ndarray, int]:
    """Decode a file to float32 (mono mix, or one ``channel``) at its own rate."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: the file is empty")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        if channel is not None:
            if channel >= data.shape[1]:
                raise AudioFileError(f"{path}: has {data.shape[1]} channel(s), no channel {channel}")
            mono = data[:, channel]
        else:
            mono = data.mean(axis=1)
        return np.ascontiguousarray(mono, dtype=np.float32), int(rate)
    except AudioFileError:
        raise
    except Exception as exc:  # libsndfile cannot read it: try FFmpeg's decoders
        log.debug("soundfile could not read %s (%s); trying PyAV", path, exc)
    if channel is not None:
        raise AudioFileError(f"{path}: per-channel input needs a WAV/FLAC/OGG file")
    try:
        return _decode_with_av(path)
    except AudioFileError:
        raise
    except Exception as exc:
        raise AudioFileError(f"{path}: not a readable audio file ({type(exc).__name__})") from exc


def load_speech(path: str | Path, channel: int | None = None) -> np.ndarray:
    """A file as 16 kHz mono float32, resampled with soxr."""
    audio, rate = read_audio(path, channel)
    if audio.size == 0:
        raise AudioFileError(f"{path}: the file holds no audio samples")
    audio = resample(audio, rate, SAMPLE_RATE)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        audio = audio / peak
    return audio


def write_wav(path: str | Path, audio: np.ndarray, rate: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(audio, -1.0, 1.0), rate, subtype="PCM_16")
    return path
