"""Measuring instruments for ``hearken bench``: library-call timers, an RSS sampler, machine facts.

The library timers wrap the *library* objects inside the engine classes
(faster-whisper's ``WhisperModel``, llama.cpp's ``Llama``, piper's ``PiperVoice``,
Silero's session), not the engine classes themselves.  Every call and every
``next()`` of the streams they return is timed, so the benchmark knows how much of
a turn's critical path was spent inside a library and how much in the engine's
own glue (queues, hand-offs, prompt building, clause splitting, resampling).
Each timer costs two ``perf_counter()`` calls per library call or token.
"""

from __future__ import annotations

import os
import platform
import resource
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil

# --------------------------------------------------------------------------- library timers


@dataclass
class LibCall:
    """One library call: when it started and ended, and the spans spent inside the library."""

    role: str  # stt | llm | tts
    start: float
    end: float = 0.0
    spans: list[tuple[float, float]] = field(default_factory=list)  # (enter, leave) per call / next()
    note: str = ""  # the clause text for tts

    @property
    def busy(self) -> float:
        return sum(b - a for a, b in self.spans)

    def busy_within(self, lo: float, hi: float) -> float:
        """Library time of this call inside the window ``[lo, hi]``."""
        return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in self.spans)


class LibLog:
    """Thread-safe list of library calls (the workers append from their own threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[LibCall] = []
        self.vad_frames = 0
        self.vad_seconds = 0.0

    def add(self, call: LibCall) -> None:
        with self._lock:
            self.calls.append(call)

    def of(self, role: str) -> list[LibCall]:
        with self._lock:
            return [c for c in self.calls if c.role == role]


def _timed_stream(stream: Any, call: LibCall, log: LibLog) -> Iterator[Any]:
    """Re-yield ``stream`` while timing each ``next()``; the call is logged when the stream ends."""
    it = iter(stream)
    try:
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                t1 = time.perf_counter()
                call.spans.append((t0, t1))
                call.end = t1
                return
            call.spans.append((t0, time.perf_counter()))
            yield item
    finally:
        if not call.end:
            call.end = time.perf_counter()
        close = getattr(stream, "close", None)
        if close is not None:
            close()
        log.add(call)


class _Proxy:
    """Delegates every attribute to the wrapped library object."""

    def __init__(self, inner: Any, log: LibLog) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_log", log)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)


class _CallTimer(_Proxy):
    """Times calls of a callable library object (faster-whisper's feature extractor)."""

    role = "stt"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = LibCall(self.role, time.perf_counter())
        try:
            return self._inner(*args, **kwargs)
        finally:
            call.end = time.perf_counter()
            call.spans.append((call.start, call.end))
            self._log.add(call)


class Ct2WhisperTimer(_Proxy):
    """Times CTranslate2's Whisper (``encode``, ``generate``, ``detect_language``, ``align``).

    Both of the engine's transcription paths (faster-whisper's ``transcribe`` and a
    direct short-window ``generate``) go through these, plus the feature extractor.
    """

    def _timed(self, name: str, *args: Any, **kwargs: Any) -> Any:
        call = LibCall("stt", time.perf_counter(), note=name)
        try:
            return getattr(self._inner, name)(*args, **kwargs)
        finally:
            call.end = time.perf_counter()
            call.spans.append((call.start, call.end))
            self._log.add(call)

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed("encode", *args, **kwargs)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed("generate", *args, **kwargs)

    def detect_language(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed("detect_language", *args, **kwargs)

    def align(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed("align", *args, **kwargs)


def _install_whisper(engine: Any, log: LibLog) -> None:
    model = getattr(engine, "model", None)  # faster_whisper.WhisperModel
    if model is None:
        return
    if getattr(model, "model", None) is not None:
        model.model = Ct2WhisperTimer(model.model, log)
    if getattr(model, "feature_extractor", None) is not None:
        model.feature_extractor = _CallTimer(model.feature_extractor, log)


class LlamaTimer(_Proxy):
    def create_chat_completion(self, *args: Any, **kwargs: Any) -> Any:
        call = LibCall("llm", time.perf_counter())
        out = self._inner.create_chat_completion(*args, **kwargs)
        call.end = time.perf_counter()
        call.spans.append((call.start, call.end))
        if kwargs.get("stream"):
            call.end = 0.0
            return _timed_stream(out, call, self._log)
        self._log.add(call)
        return out


class PiperVoiceTimer(_Proxy):
    def synthesize(self, text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        call = LibCall("tts", time.perf_counter(), note=text)
        return _timed_stream(self._inner.synthesize(text, *args, **kwargs), call, self._log)


class SileroTimer(_Proxy):
    def process(self, data: Any) -> float:
        t0 = time.perf_counter()
        out = self._inner.process(data)
        log = self._log
        log.vad_seconds += time.perf_counter() - t0  # only the VAD thread calls this
        log.vad_frames += 1
        return float(out)


def _install(attr: str, timer: type[_Proxy]) -> Callable[[Any, LibLog], None]:
    def install(engine: Any, log: LibLog) -> None:
        inner = getattr(engine, attr, None)
        if inner is not None:
            setattr(engine, attr, timer(inner, log))

    return install


def _wrap(
    factory: Callable[[], Any], install: Callable[[Any, LibLog], None], log: LibLog
) -> Callable[[], Any]:
    def build() -> Any:
        engine = factory()
        install(engine, log)
        return engine

    return build


def attach_library_timers(orch: Any) -> LibLog | None:
    """Time the library calls of an orchestrator's engines (before ``start()``); None if not possible.

    The engines are still built by the engine's own factories on their own worker
    threads; only the library objects inside them (faster-whisper's CTranslate2 model
    and feature extractor, llama.cpp's ``Llama``, piper's ``PiperVoice``, Silero) are
    replaced by timing proxies once they are loaded.
    """
    log = LibLog()
    slots: list[tuple[Any, str, Callable[[Any, LibLog], None]]] = [
        (getattr(orch, "vad_worker", None), "vad_factory", _install("_vad", SileroTimer)),
        (getattr(orch, "stt_worker", None), "stt_factory", _install_whisper),
        (getattr(orch, "llm_worker", None), "llm_factory", _install("llm", LlamaTimer)),
        (getattr(orch, "tts_worker", None), "tts_factory", _install("voice", PiperVoiceTimer)),
    ]
    if any(w is None or not hasattr(w, f) for w, f, _ in slots):
        return None
    for worker, factory_attr, install in slots:
        setattr(worker, factory_attr, _wrap(getattr(worker, factory_attr), install, log))
    return log


# --------------------------------------------------------------------------- memory and machine


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def ru_maxrss_mb() -> float:
    """The process's peak resident set so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _system_busy() -> float:
    t = psutil.cpu_times()
    return float(sum(getattr(t, k, 0.0) for k in ("user", "nice", "system", "irq", "softirq", "steal")))


class RssSampler:
    """Samples this process's RSS and the machine's CPU use every ``period`` s.

    RSS is also recorded whenever ``count()`` grows (once per finished turn), and the
    CPU samples tell how much of the machine other processes used in any window
    (a noisy neighbour on two cores shows up directly in the latencies).
    """

    def __init__(self, count: Callable[[], int] | None = None, period: float = 0.1) -> None:
        self.count = count
        self.period = period
        self.peak_mb = rss_mb()
        self.per_turn: list[tuple[int, float]] = []  # (turns finished, RSS MB just after)
        self.cpu: list[tuple[float, float, float]] = []  # (perf_counter, machine busy s, own busy s)
        self._proc = psutil.Process()
        self._seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sample()

    def _sample(self) -> None:
        mb = self._proc.memory_info().rss / 2**20
        own = self._proc.cpu_times()
        self.cpu.append((time.perf_counter(), _system_busy(), float(own.user + own.system)))
        self.peak_mb = max(self.peak_mb, mb)
        if self.count is not None:
            n = self.count()
            if n > self._seen:
                self._seen = n
                self.per_turn.append((n, mb))

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self._sample()

    def other_cpu_pct(self, lo: float, hi: float) -> float | None:
        """Share of all cores (%) used by other processes between ``lo`` and ``hi`` (perf_counter)."""
        inside = [c for c in self.cpu if lo - self.period <= c[0] <= hi + self.period]
        if len(inside) < 2:
            return None
        (t0, m0, o0), (t1, m1, o1) = inside[0], inside[-1]
        wall = max(1e-6, t1 - t0) * (os.cpu_count() or 1)
        return round(max(0.0, 100.0 * ((m1 - m0) - (o1 - o0)) / wall), 1)


QUIET_OTHER_PCT = 10.0  # a turn is "quiet" when other processes used less of the CPUs than this
QUIET_WAIT_S = 15.0  # before each question, wait up to this long for the machine to be quiet


class OtherCpu:
    """Other processes' share of all CPUs (%) since the previous call."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._last = self._now()

    def _now(self) -> tuple[float, float, float]:
        own = self._proc.cpu_times()
        return time.perf_counter(), _system_busy(), float(own.user + own.system)

    def pct(self) -> float:
        now = self._now()
        (t0, m0, o0), (t1, m1, o1) = self._last, now
        self._last = now
        wall = max(1e-6, t1 - t0) * (os.cpu_count() or 1)
        return max(0.0, 100.0 * ((m1 - m0) - (o1 - o0)) / wall)


def wait_for_quiet(
    max_s: float, pause: Callable[[float], None] = time.sleep, stop: Callable[[], bool] = lambda: False
) -> float:
    """Waits until other processes have used less than ``QUIET_OTHER_PCT`` of the CPUs for a second.

    ``pause(0.25)`` passes the time between looks (the engine phase feeds the microphone
    silence meanwhile); gives up after ``max_s`` or once ``stop()``.  Returns the seconds
    waited beyond that quiet second.
    """
    meter = OtherCpu()
    t0 = time.perf_counter()
    calm = 0
    while time.perf_counter() - t0 < max_s and not stop():
        pause(0.25)
        calm = calm + 1 if meter.pct() < QUIET_OTHER_PCT else 0
        if calm >= 4:
            break
    return max(0.0, time.perf_counter() - t0 - 1.0)


class CpuShare:
    """How busy the machine was outside this process between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        self._t0 = 0.0
        self._sys0 = 0.0
        self._own0 = 0.0
        self.load_start = os.getloadavg()
        self.load_end = self.load_start
        self.other_pct = 0.0
        self.own_pct = 0.0

    @staticmethod
    def _own() -> float:
        t = psutil.Process().cpu_times()
        return float(t.user + t.system)

    def start(self) -> CpuShare:
        self.load_start = os.getloadavg()
        self._t0 = time.perf_counter()
        self._sys0 = _system_busy()
        self._own0 = self._own()
        return self

    def stop(self) -> CpuShare:
        wall = max(1e-6, time.perf_counter() - self._t0)
        cores = os.cpu_count() or 1
        busy = _system_busy() - self._sys0
        own = self._own() - self._own0
        self.own_pct = 100.0 * own / (wall * cores)
        self.other_pct = max(0.0, 100.0 * (busy - own) / (wall * cores))
        self.load_end = os.getloadavg()
        return self


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count() or 1,
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
