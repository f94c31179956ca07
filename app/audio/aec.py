"""Echo canceller backends: Speex's adaptive filter and residual-echo suppressor behind one interface.

``EchoCanceller`` takes one int16 frame of microphone and one of speaker reference and writes
the cancelled frame.  Two backends implement it: the ``pyaec`` wheel (preferred: it ships its
own library) and the system's ``libspeexdsp`` through ctypes.  ``make_canceller`` returns the
first that loads.  Which one is preferred was chosen by measurement (``scripts/echo_bench.py``,
docs/audio.md).  The frame is ``FRAME`` samples (16 ms at 16 kHz).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Any

import numpy as np

from app.messages import SAMPLE_RATE

log = logging.getLogger(__name__)

FRAME = 256  # 16 ms at 16 kHz: the canceller's frame

_I16P = ctypes.POINTER(ctypes.c_int16)


def _ptr(a: np.ndarray) -> Any:
    return a.ctypes.data_as(_I16P)


class EchoCanceller:
    """Linear echo cancellation + residual-echo suppression on int16 frames of ``frame`` samples."""

    name = "none"
    frame = FRAME

    def cancel(self, mic: np.ndarray, ref: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class PyAecCanceller(EchoCanceller):
    """The ``pyaec`` wheel (Speex AEC + preprocessor with residual-echo suppression), called with numpy buffers."""

    name = "pyaec"

    def __init__(self, frame: int = FRAME, filter_len: int = 4096, rate: int = SAMPLE_RATE) -> None:
        import pyaec

        if pyaec.lib is None:
            raise OSError("pyaec's library could not be loaded")
        self._lib = pyaec.lib
        self.frame, self.filter_len, self.rate = frame, filter_len, rate
        self._h = self._lib.AecNew(frame, filter_len, rate, True)
        if not self._h:
            raise OSError("pyaec: AecNew failed")

    def cancel(self, mic: np.ndarray, ref: np.ndarray, out: np.ndarray) -> None:
        self._lib.AecCancelEcho(self._h, _ptr(mic), _ptr(ref), _ptr(out), self.frame)

    def reset(self) -> None:
        old, self._h = self._h, self._lib.AecNew(self.frame, self.filter_len, self.rate, True)
        if old:
            self._lib.AecDestroy(old)

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._lib.AecDestroy(h)
            self._h = None


class SpeexDspCanceller(EchoCanceller):
    """The system's libspeexdsp (Debian ``libspeexdsp1``, a dependency of PulseAudio) through ctypes."""

    name = "speexdsp"
    _SET_RATE = 24
    _PP_DENOISE, _PP_NOISE_SUPPRESS, _PP_ECHO_SUPPRESS = 0, 18, 20
    _PP_ECHO_SUPPRESS_ACTIVE, _PP_ECHO_STATE = 22, 24

    def __init__(
        self,
        frame: int = FRAME,
        filter_len: int = 4096,
        rate: int = SAMPLE_RATE,
        *,
        echo_suppress_db: int = -40,
        echo_suppress_active_db: int = -15,
        noise_suppress_db: int = -15,
    ) -> None:
        path = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
        lib = ctypes.CDLL(path)
        lib.speex_echo_state_init.restype = ctypes.c_void_p
        lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
        lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, _I16P, _I16P, _I16P]
        lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_preprocess_state_init.restype = ctypes.c_void_p
        lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.speex_preprocess_state_destroy.argtypes = [ctypes.c_void_p]
        lib.speex_preprocess_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_preprocess_run.argtypes = [ctypes.c_void_p, _I16P]
        self._lib = lib
        self.frame, self.filter_len, self.rate = frame, filter_len, rate
        self._settings = (echo_suppress_db, echo_suppress_active_db, noise_suppress_db)
        self._st: Any = None
        self._pp: Any = None
        self._make()

    def _ctl(self, request: int, value: int) -> None:
        v = ctypes.c_int(value)
        self._lib.speex_preprocess_ctl(self._pp, request, ctypes.byref(v))

    def _make(self) -> None:
        lib = self._lib
        self._st = lib.speex_echo_state_init(self.frame, self.filter_len)
        if not self._st:
            raise OSError("speex_echo_state_init failed")
        rate = ctypes.c_int(self.rate)
        lib.speex_echo_ctl(self._st, self._SET_RATE, ctypes.byref(rate))
        self._pp = lib.speex_preprocess_state_init(self.frame, self.rate)
        lib.speex_preprocess_ctl(self._pp, self._PP_ECHO_STATE, ctypes.c_void_p(self._st))
        # Speex applies residual-echo suppression only through its denoiser's gains.
        self._ctl(self._PP_DENOISE, 1)
        echo_db, active_db, noise_db = self._settings
        self._ctl(self._PP_ECHO_SUPPRESS, echo_db)
        self._ctl(self._PP_ECHO_SUPPRESS_ACTIVE, active_db)
        self._ctl(self._PP_NOISE_SUPPRESS, noise_db)

    def cancel(self, mic: np.ndarray, ref: np.ndarray, out: np.ndarray) -> None:
        self._lib.speex_echo_cancellation(self._st, _ptr(mic), _ptr(ref), _ptr(out))
        self._lib.speex_preprocess_run(self._pp, _ptr(out))

    def _free(self) -> None:
        if self._pp:
            self._lib.speex_preprocess_state_destroy(self._pp)
            self._pp = None
        if self._st:
            self._lib.speex_echo_state_destroy(self._st)
            self._st = None

    def reset(self) -> None:
        self._free()
        self._make()

    def __del__(self) -> None:
        try:
            self._free()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def make_canceller(backend: str = "auto", *, filter_len: int = 4096) -> EchoCanceller | None:
    """The first backend that loads (``auto``: pyaec, then speexdsp), or None."""
    order = {"auto": ("pyaec", "speexdsp"), "pyaec": ("pyaec",), "speexdsp": ("speexdsp",)}.get(backend, ())
    for name in order:
        try:
            if name == "pyaec":
                return PyAecCanceller(filter_len=filter_len)
            return SpeexDspCanceller(filter_len=filter_len)
        except Exception as exc:  # noqa: BLE001 - ImportError, OSError: try the next one
            log.info("echo canceller %s unavailable: %s", name, exc)
    return None
