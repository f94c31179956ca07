"""The echo canceller backends remove most of a synthetic room's echo."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio.aec import FRAME, make_canceller
from app.messages import SAMPLE_RATE
from tests.unit.audio.synthetic import BACKENDS, Room, speechlike


@pytest.mark.skipif(not BACKENDS, reason="no echo canceller library (pyaec or libspeexdsp)")
@pytest.mark.parametrize("backend", BACKENDS)
def test_canceller_removes_most_of_the_echo(backend):
    canceller = make_canceller(backend)
    assert canceller is not None and canceller.name == backend
    x = speechlike(6.0, 2)
    mic = Room().mic(np.concatenate([np.zeros(int(0.02 * SAMPLE_RATE), np.float32), x])[: len(x)])
    out = np.zeros(len(x), np.float32)
    m16 = np.zeros(FRAME, np.int16)
    r16 = np.zeros(FRAME, np.int16)
    o16 = np.zeros(FRAME, np.int16)
    for i in range(0, len(x) - FRAME + 1, FRAME):
        m16[:] = np.clip(mic[i : i + FRAME] * 32767, -32768, 32767)
        r16[:] = np.clip(x[i : i + FRAME] * 32767, -32768, 32767)
        canceller.cancel(m16, r16, o16)
        out[i : i + FRAME] = o16 / 32768.0
    tail = slice(3 * SAMPLE_RATE, None)
    erle = 10 * np.log10(np.sum(mic[tail] ** 2) / np.sum(out[tail] ** 2))
    assert erle > 15, f"{backend}: ERLE {erle:.1f} dB"
