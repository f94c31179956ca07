"""Measure this machine once and choose the LLM's threads from it (``hearken calibrate``).

What a two-core machine does with two llama.cpp threads depends on the machine: on an AMD EPYC
two OpenMP threads collapsed beside a busy neighbour (decode on one thread was right there), on an
Intel Xeon two threads decode ~25 tokens/s against 13.5 on one.  So the choice is measured where
Hearken runs, in well under a minute, and stored (``app.calibration``):

1. the default models are loaded once (the LLM through its engine, so with the app's own
   context size and batch; Whisper and piper through the registry, as the app builds them);
2. for each thread count 1..min(cores, 4), llama.cpp's threads are switched on the same model
   (``llama_set_n_threads``, from this one thread), the KV cache cleared, a fixed 64-token prompt
   evaluated (prefill tokens/s) and 32 tokens decoded greedily (decode tokens/s); two rounds,
   the counts interleaved; alone the better round counts (a passing disturbance only slows a
   run down), beside the neighbour their mean (there the contention itself varies);
3. Whisper transcribes 3 s of real speech (``assets/selftest-recording.wav``) and piper speaks
   one sentence;
4. all of it again beside a busy neighbour: a separate *process* (so no GIL is involved) spinning
   on the last core this process may use, at the same priority;
5. ``app.calibration.choose`` picks the thread counts; the entry is saved under this CPU's
   signature and the models' ids.

A decode run stops after ``Plan.max_run_s`` however few tokens it has made (a collapsed count is
slow enough to show it in a few tokens).  The GUI runs this as a child process at a lower priority
(``child_command``), so the window never waits and a native crash cannot take it down.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from app import calibration, paths
from app.calibration import Choice, ThreadSpeed
from app.config import DEFAULT_SYSTEM_PROMPT, Settings

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # steps done, steps in all, what runs now

SPEECH_ASSET = "selftest-recording.wav"  # a real person reading one sentence (assets/README.md)
TTS_SENTENCE = "The capital of France is Paris, on the river Seine."
SPIN_LIMIT_S = 120.0  # the neighbour ends itself after this long even if nobody stops it
NICE = 10  # how much lower the GUI's calibration child runs


@dataclass(frozen=True)
class Plan:
    threads: tuple[int, ...]
    prompt_tokens: int = 64
    decode_tokens: int = 32
    max_run_s: float = 6.0  # one decode run stops after this long
    rounds: int = 2  # runs per thread count and condition, interleaved; the best of them counts
    stt_clip_s: float = 3.0
    tts_text: str = TTS_SENTENCE
    quick: bool = False


def full_plan(cores: int | None = None) -> Plan:
    n = min(cores or calibration.usable_cores(), 4)
    return Plan(threads=tuple(range(1, n + 1)))


def quick_plan(cores: int | None = None) -> Plan:
    """The same steps, smaller: 1..2 threads, 16 prompt tokens, 8 decoded (tests, a first look)."""
    n = min(cores or calibration.usable_cores(), 2)
    return Plan(
        threads=tuple(range(1, n + 1)), prompt_tokens=16, decode_tokens=8, max_run_s=3.0, rounds=1, quick=True
    )


# --------------------------------------------------------------------------- the busy neighbour


def _base_command() -> list[str]:
    return [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "app"]


def spin_command(limit_s: float = SPIN_LIMIT_S) -> list[str]:
    return [*_base_command(), "calibrate", "--spin", f"{limit_s:g}"]


def spin(limit_s: float = SPIN_LIMIT_S) -> None:
    """The neighbour's body: pin to the last usable core, say so, spin until killed, until the
    parent is gone or after ``limit_s``."""
    try:
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass  # not on Linux: the scheduler places it
    parent = os.getppid()
    sys.stdout.write("spinning\n")
    sys.stdout.flush()
    end = time.monotonic() + limit_s
    n = 0
    while True:
        n += 1
        if n % 200_000 == 0 and (time.monotonic() > end or os.getppid() != parent):
            return


class BusyNeighbour:
    """A process spinning on one core while the ``with`` block runs."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or spin_command()
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> BusyNeighbour:
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            creationflags=flags,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "spinning" once its loop starts; "" if it died
        if line.strip() != "spinning":
            self.__exit__(None, None, None)
            raise RuntimeError("the busy neighbour process did not start")
        time.sleep(0.2)  # let the scheduler settle it on its core
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.kill()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            log.warning("the busy neighbour %d did not end", proc.pid)
        if proc.stdout is not None:
            proc.stdout.close()


# --------------------------------------------------------------------------- the measurements


def _prompt(llm: Any, n: int) -> list[int]:
    """``n`` tokens of fixed English text (the system prompt, repeated if it is shorter)."""
    tokens = llm.tokenize(DEFAULT_SYSTEM_PROMPT.encode("utf-8"), add_bos=False)
    while len(tokens) < n:
        tokens = tokens + tokens
    return list(tokens[:n])


def llm_run(
    llm: Any, prompt: list[int], decode_tokens: int, threads: int, max_s: float
) -> tuple[float, float]:
    """Prefill and decode tokens/s of one greedy run on ``threads`` threads, from an empty cache."""
    import llama_cpp

    llama_cpp.llama_set_n_threads(llm.ctx, threads, threads)
    llm.reset()
    t0 = time.perf_counter()
    first = last = None
    made = 0
    gen = llm.generate(prompt, temp=0.0, top_k=1, reset=True)
    try:
        for _token in gen:
            last = time.perf_counter()
            if first is None:
                first = last
            else:
                made += 1
            if made >= decode_tokens or last - first > max_s:
                break
    finally:
        gen.close()
    assert first is not None and last is not None
    prefill = len(prompt) / max(first - t0, 1e-9)
    decode = made / (last - first) if made and last > first else 0.0
    return round(prefill, 1), round(decode, 2)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2)


class _Steps:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = 0, total, progress

    def __call__(self, text: str) -> None:
        log.info("calibrate: [%d/%d] %s", self.done + 1, self.total, text)
        if self.progress is not None:
            self.progress(self.done, self.total, text)
        self.done += 1

    def finish(self, text: str) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total, text)


def _models(settings: Settings) -> dict[str, Any]:
    from app.engines import registry
    from app.models import resolve

    return {
        "llm": resolve("llm", settings, engine=registry.spec("llm", "llama.cpp")),
        "stt": resolve("stt", settings, engine=registry.default("stt", settings)),
        "tts": resolve("tts", settings, engine=registry.default("tts", settings)),
    }


def _stt_figures(stt: Any, clip: Any) -> tuple[float, str]:
    t0 = time.perf_counter()
    result = stt.transcribe(clip)
    return round((time.perf_counter() - t0) * 1000, 1), result.text


def _tts_figures(tts: Any, text: str) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    first = None
    samples = 0
    for chunk in tts.synthesize(text):
        if first is None:
            first = time.perf_counter()
        samples += len(chunk)
    total = time.perf_counter() - t0
    return (
        round(((first or time.perf_counter()) - t0) * 1000, 1),
        round(total * 1000, 1),
        samples / tts.sample_rate,
    )


def run(
    settings: Settings,
    *,
    plan: Plan | None = None,
    progress: Progress | None = None,
    store: bool = True,
    models: Mapping[str, Any] | None = None,
    neighbour: Callable[[], BusyNeighbour] = BusyNeighbour,
) -> dict[str, Any]:
    """Measure, choose and (``store``) save; returns the entry (``app.calibration`` describes it)."""
    from app.audio.io import load_speech
    from app.engines import registry

    plan = plan or full_plan()
    t_start = time.perf_counter()
    models = dict(models or _models(settings))
    n = len(plan.threads)
    step = _Steps(3 + 2 * n * plan.rounds + 5, progress)

    top = max(plan.threads)
    step(f"loading the language model ({models['llm'].id})")
    engine = registry.spec("llm", "llama.cpp").build(models["llm"], settings, threads=top, batch_threads=top)
    llm = engine.llm
    prompt = _prompt(llm, plan.prompt_tokens)
    llm_run(llm, prompt[:8], 4, top, plan.max_run_s)  # pages the weights in, starts the thread pool
    step(f"loading speech recognition ({models['stt'].id})")
    stt = registry.default("stt", settings).build(models["stt"], settings)
    stt.warm_up()
    clip = load_speech(paths.resource("assets", SPEECH_ASSET))[: int(plan.stt_clip_s * 16000)]
    step(f"loading the voice ({models['tts'].id})")
    tts = registry.default("tts", settings).build(models["tts"], settings)
    tts.warm_up()

    def measure_llm(llm: Any, suffix: str) -> dict[int, tuple[float, float]]:
        runs: dict[int, list[tuple[float, float]]] = {t: [] for t in plan.threads}
        for r in range(plan.rounds):  # interleaved, so a passing disturbance spoils one run, not a count
            for t in plan.threads:
                again = f" (round {r + 1})" if r else ""
                step(f"language model on {t} thread{'s' if t > 1 else ''}{suffix}{again}")
                runs[t].append(llm_run(llm, prompt, plan.decode_tokens, t, plan.max_run_s))
        if not suffix:  # alone: anything else running only slows a run down, so the best is the machine's
            return {t: (max(r[0] for r in rs), max(r[1] for r in rs)) for t, rs in runs.items()}
        # beside the neighbour the contention itself varies (where the scheduler puts whom): its mean
        return {t: (_mean([r[0] for r in rs]), _mean([r[1] for r in rs])) for t, rs in runs.items()}

    quiet = measure_llm(llm, "")
    step("speech recognition")
    stt_ms, stt_text = _stt_figures(stt, clip)
    step("the voice")
    tts_first, tts_ms, tts_audio = _tts_figures(tts, plan.tts_text)
    step("starting a busy neighbour on one core")
    with neighbour():
        busy = measure_llm(llm, ", beside a busy core")
        step("speech recognition, beside a busy core")
        stt_busy_ms, _ = _stt_figures(stt, clip)
        step("the voice, beside a busy core")
        tts_first_busy, tts_busy_ms, _ = _tts_figures(tts, plan.tts_text)
    del llm, engine, stt, tts  # free the models before the caller goes on

    speeds = [ThreadSpeed(t, quiet[t][0], quiet[t][1], busy[t][0], busy[t][1]) for t in plan.threads]
    choice: Choice = calibration.choose(speeds)
    entry = calibration.new_entry(
        models,
        quick=plan.quick,
        seconds=round(time.perf_counter() - t_start, 1),
        llm={
            "prompt_tokens": plan.prompt_tokens,
            "decode_tokens": plan.decode_tokens,
            "rounds": plan.rounds,
            "threads": [asdict(s) for s in speeds],
        },
        stt={
            "audio_s": round(len(clip) / 16000, 2),
            "threads": settings.stt_threads,
            "ms": stt_ms,
            "ms_busy": stt_busy_ms,
            "text": stt_text,
        },
        tts={
            "text": plan.tts_text,
            "audio_s": round(tts_audio, 2),
            "threads": settings.tts_threads,
            "first_chunk_ms": tts_first,
            "ms": tts_ms,
            "first_chunk_ms_busy": tts_first_busy,
            "ms_busy": tts_busy_ms,
        },
        choice=asdict(choice),
    )
    if store:
        calibration.save(entry)
        entry["saved_to"] = str(calibration.store_path())
    # what the app now runs with (the user's settings win over the calibration)
    entry["in_use"] = calibration.llm_threads(settings, models["llm"]).as_dict()
    step.finish(f"done in {entry['seconds']:.0f} s")
    return entry


# --------------------------------------------------------------------------- words and the child


PROGRESS_RE = re.compile(r"^calibrate: \[(\d+)/(\d+)\] (.*)$")


def progress_line(done: int, total: int, text: str) -> str:
    """How progress is printed (stderr) and read back by the window (``parse_progress``)."""
    return f"calibrate: [{done}/{total}] {text}"


def parse_progress(line: str) -> tuple[int, int, str] | None:
    m = PROGRESS_RE.match(line.strip())
    return (int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def child_command(settings: Settings) -> list[str]:
    """``hearken calibrate --json`` at a lower priority, with the models ``settings`` pick."""
    cmd = [*_base_command(), "calibrate", "--json", "--nice", str(NICE), "--profile", settings.profile]
    for flag, value in (
        ("--llm-model", settings.llm_model),
        ("--stt-model", settings.stt_model),
        ("--tts-voice", settings.tts_voice),
    ):
        if value:
            cmd += [flag, str(value)]
    return cmd


def lower_priority(nice: int) -> None:
    """Run this process below the desktop's normal priority (what the window asks of its child)."""
    try:
        if hasattr(os, "nice"):
            os.nice(nice)
        else:  # Windows
            import psutil

            psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
    except (OSError, ImportError, AttributeError):
        log.warning("could not lower the calibration's priority", exc_info=True)


def _n_threads(n: Any) -> str:
    return f"{n} thread{'' if n == 1 else 's'}"


def format_report(entry: Mapping[str, Any]) -> str:
    """The figures and the choice, as ``hearken calibrate`` prints them."""
    cpu = entry.get("cpu", {})
    llm = entry.get("llm", {})
    lines = [
        f"Calibrated on {cpu.get('name')} ({cpu.get('cores')} cores, llama.cpp {cpu.get('llama_cpp')}) "
        f"in {entry.get('seconds', 0):.1f} s{' (quick)' if entry.get('quick') else ''}:",
        f"  language model {entry.get('models', {}).get('llm', {}).get('id')}: "
        f"{llm.get('prompt_tokens')}-token prompt, {llm.get('decode_tokens')} tokens decoded, greedy",
        "    threads   prompt tok/s quiet / busy   decode tok/s quiet / busy",
    ]
    for r in llm.get("threads", []):
        lines.append(
            f"    {r['threads']:>7}   {r['prefill_tps']:>12.1f} / {r['prefill_tps_busy']:<6.1f}"
            f"   {r['decode_tps']:>12.1f} / {r['decode_tps_busy']:.1f}"
        )
    stt, tts = entry.get("stt", {}), entry.get("tts", {})
    models = entry.get("models", {})
    lines.append(
        f"  speech recognition {models.get('stt', {}).get('id')}: {stt.get('audio_s')} s of speech in "
        f"{stt.get('ms'):.0f} ms ({stt.get('ms_busy'):.0f} ms beside a busy core), {stt.get('threads')} threads"
    )
    lines.append(
        f"  voice {models.get('tts', {}).get('id')}: one sentence ({tts.get('audio_s')} s of audio) in "
        f"{tts.get('ms'):.0f} ms ({tts.get('ms_busy'):.0f} ms beside a busy core), {tts.get('threads')} threads"
    )
    choice = entry.get("choice", {})
    lines.append(
        f"Chosen: decode on {_n_threads(choice.get('llm_threads'))}, "
        f"prompt on {_n_threads(choice.get('llm_batch_threads'))}"
    )
    lines.extend(f"  {part.strip()}" for part in str(choice.get("why", "")).split(";") if part.strip())
    in_use = entry.get("in_use")
    if in_use:
        lines.append(
            f"In use: decode on {_n_threads(in_use['threads'])}, prompt on {_n_threads(in_use['batch_threads'])}"
            f" ({in_use['source']})"
        )
    if entry.get("saved_to"):
        lines.append(f"Saved to {entry['saved_to']}")
    return "\n".join(lines) + "\n"
