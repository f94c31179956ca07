"""Sample-rate conversion with soxr (one-shot and streaming)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(audio: np.ndarray, rate_in: int, rate_out: int, quality: str = "HQ") -> np.ndarray:
    if rate_in == rate_out or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    return soxr.resample(audio.astype(np.float32, copy=False), rate_in, rate_out, quality=quality).astype(
        np.float32, copy=False
    )


class StreamResampler:
    """Resamples a stream block by block without clicks at block edges."""

    def __init__(self, rate_in: int, rate_out: int, channels: int = 1) -> None:
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._rs = (
            None if rate_in == rate_out else soxr.ResampleStream(rate_in, rate_out, channels, dtype="float32")
        )

    def __call__(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self._rs is None:
            return block.astype(np.float32, copy=False)
        return self._rs.resample_chunk(block.astype(np.float32, copy=False), last=last)
