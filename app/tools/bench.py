"""``hearken bench``: voice-to-voice latency of the real engine against a plain cascade.

Two phases on the same audio and the same models, one after the other in this process:

1. **Engine.** The spoken questions are played into the real engine at real-time
   pace exactly as the microphone path does (``app.filemode.FileFeeder`` with a
   ``VirtualSpeaker``), as one conversation (the corpus is cycled for ``--turns``).
   Every figure comes from the engine's own per-turn clock.  Timing proxies around
   the *library* objects inside the engines (see ``app.tools.bench_probe``) split each
   turn's critical path into library time and engine glue.
2. **Baseline.** The plain sequential cascade, built from the same engine classes
   (``app.engine.make_factories``) and called directly on one thread: the same
   Silero turn detector with a fixed 700 ms end-of-turn silence, then the full
   Whisper transcription, the full LLM completion, the full piper synthesis, then
   playback through the same ``PlaybackBuffer``/``VirtualSpeaker``.  It is timed from
   the same true end of speech (the end of the last voiced frame) to the first
   audible sample.  Each distinct question is played once.

The figures are printed as a table (stdout), optionally written as JSON and drawn as a PNG.
This module is the command; the corpus, the two phases, the figures and the table each have
their own module (``app.tools.bench_*``).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from pathlib import Path

from app.config import Settings
from app.tools.bench_baseline import BaselineTurn, run_baseline
from app.tools.bench_corpus import Progress, build_corpus, no_progress
from app.tools.bench_engine import run_engine_phase
from app.tools.bench_probe import QUIET_WAIT_S
from app.tools.bench_summary import busy_figures, summarize
from app.tools.bench_table import format_table


def _stderr(msg: str) -> None:
    sys.stderr.write(f"bench: {msg}\n")
    sys.stderr.flush()


BENCH_SEED = 20261129


def _settings_from(args: argparse.Namespace) -> Settings:
    """The user's settings, with a fixed LLM seed unless they chose one: both phases then give
    the same answers to the same prompts, and two runs of the bench compare like with like."""
    from app.config import settings_from_args

    settings = settings_from_args(args)
    if settings.llm_seed < 0:
        settings = settings.updated({"llm_seed": BENCH_SEED})
    return settings


def llm_setup(settings: Settings) -> dict[str, object]:
    """The LLM's threads this run uses and where they come from (``hearken calibrate``, the
    settings or the defaults), with the calibration's figures when there is one."""
    if settings.llm_server_url:
        return {"llm_threads": None, "llm_batch_threads": None, "llm_threads_source": "an LLM server"}
    from app import calibration
    from app.engines import registry
    from app.models import resolve

    model = resolve("llm", settings, engine=registry.spec("llm", "llama.cpp"))
    threads = calibration.llm_threads(settings, model)
    entry = calibration.find({"llm": model}, roles=("llm",))
    return {
        "llm_threads": threads.threads,
        "llm_batch_threads": threads.batch_threads,
        "llm_threads_source": threads.source,
        "calibration": None
        if entry is None
        else {k: entry.get(k) for k in ("measured_at", "quick", "choice", "llm", "stt", "tts")},
    }


def run_bench(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    progress: Progress = no_progress if getattr(args, "quiet", False) else _stderr
    setup = llm_setup(settings)
    progress(
        f"LLM threads: decode {setup['llm_threads']}, prompt {setup['llm_batch_threads']} "
        f"({setup['llm_threads_source']})"
    )
    turns = max(1, int(getattr(args, "turns", 20) or 20))
    corpus = build_corpus(settings, getattr(args, "corpus", None), progress)
    seq_index = [i % len(corpus) for i in range(turns)]
    sequence = [corpus[i] for i in seq_index]
    quiet_wait = float(getattr(args, "quiet_wait", QUIET_WAIT_S) or 0.0)
    eng = run_engine_phase(settings, sequence, seq_index, progress, quiet_wait_s=quiet_wait)
    gc.collect()
    busy_eng = None
    if getattr(args, "busy", False):
        from app.calibrate import BusyNeighbour

        progress("the same questions again beside a process spinning on one core")
        with BusyNeighbour():
            busy_eng = run_engine_phase(settings, sequence, seq_index, progress, quiet_wait_s=0.0)
        gc.collect()
    base: list[BaselineTurn] | None = None
    if not getattr(args, "no_baseline", False):
        distinct = sorted(set(seq_index))
        base_turns = run_baseline(settings, [corpus[i] for i in distinct], progress, quiet_wait)
        for b, i in zip(base_turns, distinct, strict=True):
            b.item = i
        base = base_turns
    from app.tools.bench_wake import measure_wake

    progress("wake word: timing the model on the questions")
    wake = measure_wake(settings, [c.audio for c in corpus])
    summary = summarize(settings, corpus, eng, base, wake)
    summary["settings"].update(setup)
    if busy_eng is not None:
        summary["public"]["busy"] = busy_figures(busy_eng, summary["public"]["voice_to_voice_ms"]["p50"])
    table = format_table(summary)
    if not getattr(args, "no_turns", False):
        from app.tools.bench_turns import format_turn_taking, turn_taking

        tt = turn_taking(settings, progress)
        summary["public"]["turn_taking"] = {k: v for k, v in tt.items() if k != "pauses"}
        summary["turn_taking_pauses"] = tt["pauses"]
        table += format_turn_taking(tt)
    sys.stdout.write(table)
    sys.stdout.flush()
    if getattr(args, "json", None):
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary["public"], indent=2), encoding="utf-8")
    if getattr(args, "plot", None):
        from app.ui.bench_plot import draw

        draw(summary, Path(args.plot))
    if getattr(args, "details", None):
        Path(args.details).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    answered = summary["public"]["turns"]
    if not answered:
        sys.stderr.write("hearken: bench: no turn was answered: " + "; ".join(eng.report["errors"]) + "\n")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m app.tools.bench``: the same command with a few extra knobs for experiments."""
    from app.config import add_setting_flags

    p = argparse.ArgumentParser(prog="python -m app.tools.bench")
    p.add_argument("--corpus", type=Path)
    p.add_argument("--turns", type=int, default=20)
    p.add_argument("--json", type=Path)
    p.add_argument("--plot", type=Path)
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--no-turns", action="store_true", help="skip the turn-taking study (false cut-offs)")
    p.add_argument("--details", type=Path, help="write every figure (per turn too) as JSON here")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--busy", action="store_true", help="play the questions a second time beside a process spinning on one core")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=QUIET_WAIT_S,
        help="before each question wait up to S s for other processes to calm down (0: never)",
    )
    add_setting_flags(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return run_bench(args)


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
