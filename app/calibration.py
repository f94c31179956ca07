"""The calibration this machine measured (``hearken calibrate``): stored, matched, and the rule that
turns its figures into thread counts.

The measuring is ``app.calibrate``; this module is what everything else needs and stays cheap to
import and to ask: the LLM's constructor arguments (``app.engines.registry``) read one small JSON
file, ``<config dir>/calibration.json``.  An entry belongs to one processor (its name, the cores
this process may use, a hash of its feature flags, the llama.cpp version) and one set of models
(catalog id and sha256, or a user file's name, size and mtime); a new CPU or another model finds no
entry, so the app measures again.  Explicit settings (``llm_threads``, ``llm_batch_threads``)
always win; with no entry the built-in defaults (``app.config.auto_llm_threads``) apply.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app import paths
from app.config import Settings, auto_llm_batch_threads, auto_llm_threads

log = logging.getLogger(__name__)

FILE_NAME = "calibration.json"
SCHEMA = 1
MAX_ENTRIES = 8  # a portable install (HEARKEN_HOME on a stick) may meet several machines
MEASURED_ROLES = ("llm", "stt", "tts")  # the models a calibration measured; any other change keeps it

# The rule (see ``choose``)
CONTENDED_FLOOR = 0.80  # a count may trade robustness for quiet speed only down to this share ...
QUIET_GAIN = 1.15  # ... and only when it is at least this much faster on a quiet machine
TIE = 0.05  # figures within 5 % of the best are a tie, and the fewest threads win it


# --------------------------------------------------------------------------- the figures and the rule


@dataclass(frozen=True)
class ThreadSpeed:
    """The LLM's speed on ``threads`` threads, tokens per second, alone and beside a busy core."""

    threads: int
    prefill_tps: float
    decode_tps: float
    prefill_tps_busy: float
    decode_tps_busy: float


@dataclass(frozen=True)
class Choice:
    llm_threads: int  # decode (one token at a time)
    llm_batch_threads: int  # prompt evaluation (prefill)
    why: str


def _fewest_near_best(speeds: Sequence[ThreadSpeed], key: str) -> ThreadSpeed:
    best = max(getattr(s, key) for s in speeds)
    near = [s for s in speeds if getattr(s, key) >= best * (1.0 - TIE)]
    return min(near, key=lambda s: s.threads)


def _threads(n: int) -> str:
    return f"{n} thread{'s' if n != 1 else ''}"


def _pick(speeds: Sequence[ThreadSpeed], phase: str) -> tuple[int, str]:
    """The rule of :func:`choose` for one phase ("decode" or "prefill"): the count and why."""
    quiet_key, busy_key = f"{phase}_tps", f"{phase}_tps_busy"
    what = "decode" if phase == "decode" else "prompt"
    robust = _fewest_near_best(speeds, busy_key)
    best_busy = max(getattr(s, busy_key) for s in speeds)
    allowed = [s for s in speeds if getattr(s, busy_key) >= CONTENDED_FLOOR * best_busy]
    fast = max(allowed, key=lambda s: (getattr(s, quiet_key), -s.threads))
    fastest_quiet = max(speeds, key=lambda s: (getattr(s, quiet_key), -s.threads))

    def fig(s: ThreadSpeed, key: str) -> str:
        return f"{getattr(s, key):.1f}" if phase == "decode" else f"{getattr(s, key):.0f}"

    if fast.threads != robust.threads and getattr(fast, quiet_key) >= QUIET_GAIN * getattr(robust, quiet_key):
        share = getattr(fast, busy_key) / best_busy
        return fast.threads, (
            f"{what} on {_threads(fast.threads)}: {fig(fast, quiet_key)} tokens/s alone against "
            f"{fig(robust, quiet_key)} on {robust.threads}, and {fig(fast, busy_key)} beside a busy core "
            f"({share:.0%} of the best there)"
        )
    text = f"{what} on {_threads(robust.threads)}: the fastest beside a busy core ({fig(robust, busy_key)} tokens/s"
    if fastest_quiet.threads != robust.threads:
        text += (
            f", {_threads(fastest_quiet.threads)} {fig(fastest_quiet, busy_key)} there though "
            f"{fig(fastest_quiet, quiet_key)} alone"
        )
    return robust.threads, text + ")"


def choose(speeds: Sequence[ThreadSpeed]) -> Choice:
    """Thread counts for decode and for prompt evaluation (prefill) from measured speeds.

    The same rule for both phases:

    1. The base choice is the count with the best **worst case**: the fastest beside a busy core
       (ties within 5 % go to fewer threads).  A voice assistant is judged by its slow answers, and
       a desktop is often busy (a browser, a build, a video call).  On two cores this is what keeps
       llama.cpp off the second core where its OpenMP threads collapse when a neighbour takes one
       (AMD EPYC: 0.3 s answers became 1-13 s; the Intel Xeon of issue 15 decodes 12.4 tokens/s on
       one thread beside a busy core but 6.8 on two).
    2. Another count is taken instead when it is at least **15 % faster alone** *and* keeps at
       least **80 % of the best speed beside a busy core**: a small loss under load is worth a
       large gain on a quiet machine.  80 % is about the slow-down the project accepts beside a
       busy core (issue 15: p50 within 1.3x of quiet, and 1/1.3 = 77 %); 15 % keeps run-to-run
       noise from flipping the choice.  This is what gave prompt evaluation every core on the AMD
       machine (first token 132 -> 72 ms alone on two threads, 138 -> 152 ms beside a busy core).
    """
    if not speeds:
        raise ValueError("no measurements to choose from")
    decode, why_decode = _pick(speeds, "decode")
    prefill, why_prefill = _pick(speeds, "prefill")
    return Choice(decode, prefill, f"{why_decode}; {why_prefill}")


# --------------------------------------------------------------------------- what an entry belongs to


def usable_cores() -> int:
    """The cores this process may run on (a ``taskset`` or a container's quota narrows them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _llama_cpp_build() -> str | None:
    """llama-cpp-python's version and a hash of its native libraries' sizes and mtimes: a rebuild
    with other flags (``scripts/build_llama.sh``: portable, AVX-512, another thread pool) keeps
    the version but not the files.  Found without importing the package."""
    import importlib.util
    from importlib import metadata

    try:
        version = metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        version = "?"
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None if version == "?" else version
    stats = []
    for base in spec.submodule_search_locations:
        lib = Path(base) / "lib"
        for f in sorted(lib.iterdir()) if lib.is_dir() else ():
            if f.suffix in (".so", ".dll", ".dylib") or ".so." in f.name:
                st = f.stat()
                stats.append((f.name, st.st_size, int(st.st_mtime)))
    digest = hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:12]
    return f"{version} [{digest}]"


@functools.lru_cache(maxsize=1)
def _cpu_identity() -> tuple[str, str, str | None]:
    name, flags = "", ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not name:
                    name = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = value.strip()
                if name and flags:
                    break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    digest = hashlib.sha256(flags.encode()).hexdigest()[:12] if flags else "no-flags"
    return name, digest, _llama_cpp_build()


def cpu_signature() -> dict[str, Any]:
    """This machine as a calibration sees it: the CPU's name, usable cores, flags hash, llama.cpp build."""
    name, flags, llama_cpp = _cpu_identity()  # read once per process
    return {"name": name, "cores": usable_cores(), "flags": flags, "llama_cpp": llama_cpp}


def model_identity(model: Any) -> dict[str, Any] | None:
    """A model as ``app.models.resolve`` gives it: catalog id and sha256 when verified, else the
    file's name, size and mtime (a user's file is never hashed here).  None: no id to match on."""
    model_id = getattr(model, "id", None)
    path = getattr(model, "path", None)
    if not model_id or path is None:
        return None
    ident: dict[str, Any] = {"id": model_id, "size": getattr(model, "size", None)}
    sha = None
    if getattr(model, "verified", None):
        from app.models import ModelError, entry_by_id

        try:
            sha = entry_by_id(model_id).weights.sha256
        except ModelError:
            sha = None
    if sha:
        ident["sha256"] = sha
    else:
        try:
            ident["mtime"] = int(Path(path).stat().st_mtime)
        except OSError:
            return None
    return ident


def models_identity(models: Mapping[str, Any], roles: Sequence[str] = MEASURED_ROLES) -> dict[str, Any]:
    return {role: model_identity(models[role]) for role in roles if role in models}


# --------------------------------------------------------------------------- the store


def store_path() -> Path:
    return paths.config_dir() / FILE_NAME


def load_entries(path: Path | None = None) -> list[dict[str, Any]]:
    """Every stored calibration, newest last ([] when none or unreadable)."""
    path = path or store_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        log.warning("the calibration file %s cannot be read; measuring again", path)
        return []
    if (
        not isinstance(data, dict)
        or data.get("schema") != SCHEMA
        or not isinstance(data.get("entries"), list)
    ):
        return []
    return [e for e in data["entries"] if isinstance(e, dict)]


def save(entry: Mapping[str, Any], path: Path | None = None) -> Path:
    """Store ``entry``, replacing one of the same machine and models; atomically (a temp file)."""
    path = path or store_path()
    kept = [
        e
        for e in load_entries(path)
        if not (e.get("cpu") == entry.get("cpu") and e.get("models") == entry.get("models"))
    ]
    kept = [*kept, dict(entry)][-MAX_ENTRIES:]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"schema": SCHEMA, "entries": kept}, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def find(
    models: Mapping[str, Any],
    *,
    roles: Sequence[str] = MEASURED_ROLES,
    entries: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """The newest entry measured on this machine with these models (only ``roles`` compared)."""
    wanted = models_identity(models, roles)
    if not wanted or any(v is None for v in wanted.values()):
        return None
    cpu = cpu_signature()
    for entry in reversed(list(load_entries() if entries is None else entries)):
        stored = entry.get("models") or {}
        if entry.get("cpu") == cpu and all(stored.get(r) == v for r, v in wanted.items()):
            return dict(entry)
    return None


def new_entry(models: Mapping[str, Any], **figures: Any) -> dict[str, Any]:
    """An entry for this machine and ``models`` holding ``figures`` (``llm``, ``stt``, ``tts``,
    ``choice``, ``seconds``, ``quick``)."""
    return {
        "cpu": cpu_signature(),
        "models": models_identity(models),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **figures,
    }


# --------------------------------------------------------------------------- using it


@dataclass(frozen=True)
class LlmThreads:
    threads: int  # decode
    batch_threads: int  # prefill
    source: str  # where they come from, in words

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SOURCES = {
    "settings": "set in the settings",
    "calibrated": "calibrated on this computer",
    "default": "default (not calibrated)",
}


def apply_choice(settings: Settings, choice: Mapping[str, Any] | None) -> LlmThreads:
    """The LLM's threads: the user's settings, else ``choice`` (an entry's), else the defaults."""

    def pick(setting: int, key: str, default: int) -> tuple[int, str]:
        if setting:
            return setting, "settings"
        value = (choice or {}).get(key)
        if isinstance(value, int) and value > 0:
            return value, "calibrated"
        return default, "default"

    threads, t_kind = pick(settings.llm_threads, "llm_threads", auto_llm_threads())
    batch, b_kind = pick(settings.llm_batch_threads, "llm_batch_threads", auto_llm_batch_threads())
    source = SOURCES[t_kind] if t_kind == b_kind else f"decode {SOURCES[t_kind]}, prompt {SOURCES[b_kind]}"
    return LlmThreads(threads, batch, source)


def llm_threads(settings: Settings, model: Any = None) -> LlmThreads:
    """The threads the in-process LLM runs with for ``model`` (``ResolvedModel``) on this machine."""
    entry = None
    if model is not None and not (settings.llm_threads and settings.llm_batch_threads):
        try:
            entry = find({"llm": model}, roles=("llm",))
        except Exception:  # noqa: BLE001 - a calibration problem must never stop the LLM loading
            log.warning("the stored calibration could not be read", exc_info=True)
    return apply_choice(settings, (entry or {}).get("choice"))


def describe(entry: Mapping[str, Any] | None) -> str:
    """One or two sentences for the window: what was measured and chosen."""
    if not entry:
        return "Not measured on this computer yet: the default thread counts are used."
    choice = entry.get("choice") or {}
    rows = {r.get("threads"): r for r in (entry.get("llm") or {}).get("threads", [])}
    decode = rows.get(choice.get("llm_threads")) or {}
    when = str(entry.get("measured_at", ""))[:10]
    text = (
        f"Measured {when}: the language model decodes on {choice.get('llm_threads')} "
        f"thread{'s' if choice.get('llm_threads') != 1 else ''}"
    )
    if decode:
        text += (
            f" ({decode.get('decode_tps', 0):.1f} tokens/s, "
            f"{decode.get('decode_tps_busy', 0):.1f} beside a busy core)"
        )
    text += f" and reads the prompt on {choice.get('llm_batch_threads')}."
    return text


@dataclass(frozen=True)
class Status:
    """What the window needs to know at a load: whether to measure, and what the LLM runs with."""

    due: bool  # no calibration of this machine with these models, and the LLM runs in-process
    entry: dict[str, Any] | None  # the matching calibration (None: none)
    threads: LlmThreads | None  # the threads the engine's LLM was built with (None: no in-process LLM)


def status(models: Mapping[str, Any], settings: Settings) -> Status:
    """For an engine's resolved ``models``: cheap (one small file), meant for a loader thread."""
    llm = models.get("llm")
    if llm is None or settings.llm_server_url:
        return Status(False, None, None)
    entry = find(models)
    threads = llm_threads(settings, llm)
    wanted = os.environ.get("HEARKEN_CALIBRATE", "1") != "0"  # 0: never on its own (CI, packaging)
    return Status(entry is None and wanted, entry, threads)
