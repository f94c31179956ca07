"""Latency levers, measured: ``python -m app.tools.bench_levers``.

Two kinds of measurement, both on the real models:

* **Lever runs.** The bench's engine phase (real engine, real-time pace, the engine's
  own clock) once per variant: a changed ``Settings`` field, or an in-process patch
  of one engine constant (only in this process; no engine file is edited).  Each
  variant plays the same questions; the figures to compare are the medians.
* **False cut-offs.** ``hearken bench``'s turn-taking study (``app.tools.bench_turns``:
  Silero, the engine's ``TurnDetector``, Whisper and Smart Turn on real and synthesized
  pauses, then the end-of-turn judge) once per settings variant.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- variants


@dataclass
class Variant:
    name: str
    what: str
    settings: dict[str, Any] = field(default_factory=dict)
    patches: list[tuple[str, str, Any]] = field(default_factory=list)  # (module, attribute, value)
    no_emotion: bool = False


def _ort_options(threads: int, spin: bool) -> Callable[[], Any]:
    """An ``onnxruntime.SessionOptions`` factory for piper (which builds its session with defaults)."""
    import onnxruntime

    real = onnxruntime.SessionOptions

    def make() -> Any:
        opts = real()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        if not spin:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return opts

    return make


def _clause_splitter(first_min_words: int) -> Any:
    """The engine's splitter with another ``first_min_words`` (its other arguments as the engine
    passes them)."""
    from app.pipeline.text import ClauseSplitter

    return functools.partial(ClauseSplitter, first_min_words=first_min_words)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("current", "the engine as it is (defaults)"),
        Variant(
            "no_speculative_reply",
            "LLM and TTS start only at the end-of-turn decision",
            {"speculative_reply": False},
        ),
        Variant(
            "stt_window_10s",
            "Whisper short-window floor 1000 mel frames (10 s) instead of 3000",
            patches=[("app.engines.stt", "SHORT_MIN_FRAMES", 1000)],
        ),
        Variant("spec_pause_120", "speculative pause 120 ms instead of 64", {"speculative_pause_ms": 120}),
        Variant(
            "stt10s_pause120",
            "both of the above",
            {"speculative_pause_ms": 120},
            [("app.engines.stt", "SHORT_MIN_FRAMES", 1000)],
        ),
        Variant(
            "stt10s_pause120_eot600",
            "both, and end_of_turn_silence_ms 600 (complete question: 420 ms, else 840 ms)",
            {"speculative_pause_ms": 120, "end_of_turn_silence_ms": 600},
            [("app.engines.stt", "SHORT_MIN_FRAMES", 1000)],
        ),
        Variant(
            "stt10s_pause120_eot500",
            "both, and end_of_turn_silence_ms 500 (complete question: 350 ms, else 700 ms)",
            {"speculative_pause_ms": 120, "end_of_turn_silence_ms": 500},
            [("app.engines.stt", "SHORT_MIN_FRAMES", 1000)],
        ),
        Variant(
            "no_prefill_while_speaking",
            "the LLM does not prefill the words heard so far while the user speaks",
            {"prefill_while_speaking": False},
        ),
        Variant("spec_pause_32", "speculative pause 32 ms (one silent frame) instead of 64", {"speculative_pause_ms": 32}),
        Variant(
            "first_clause_2_words",
            "first clause may end at a comma after 2 words (ClauseSplitter first_min_words=2)",
            patches=[("app.pipeline.stages", "ClauseSplitter", "clause2")],
        ),
        Variant(
            "no_phrase_cut",
            "the first clause waits for punctuation: no cut before a phrase-opening word "
            "(stages.FIRST_PHRASE_WORDS = 0)",
            patches=[("app.pipeline.stages", "FIRST_PHRASE_WORDS", 0)],
        ),
        Variant("no_emotion", "emotion tagger off", no_emotion=True),
        Variant("llm_threads_1", "llama.cpp on 1 thread (leaves a core to the others)", {"llm_threads": 1}),
    )
}


@contextlib.contextmanager
def patched(patches: list[tuple[str, str, Any]]) -> Iterator[None]:
    import importlib

    saved = []
    try:
        for module_name, attr, value in patches:
            module = importlib.import_module(module_name)
            saved.append((module, attr, getattr(module, attr)))
            if value == "clause2":
                value = _clause_splitter(2)
            elif value == "ort1":
                value = _ort_options(1, spin=False)
            elif value == "ort0":
                value = _ort_options(0, spin=False)
            setattr(module, attr, value)
        yield
    finally:
        for module, attr, old in reversed(saved):
            setattr(module, attr, old)


def wait_quiet(max_wait_s: float, threshold: float = 0.6) -> float:
    """Waits (up to ``max_wait_s``) until the 1-minute load average is under ``threshold``."""
    deadline = time.monotonic() + max_wait_s
    while os.getloadavg()[0] > threshold and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def run_variant(
    variant: Variant, base: Settings, turns: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    from app.tools.bench_corpus import build_corpus
    from app.tools.bench_engine import run_engine_phase
    from app.tools.bench_probe import QUIET_WAIT_S
    from app.tools.bench_summary import summarize

    settings = base.updated(variant.settings).validate()
    corpus = build_corpus(settings, None)
    seq_index = [i % len(corpus) for i in range(turns)]
    prepare = None
    if variant.no_emotion:

        def prepare(engine: Any) -> None:
            engine.orchestrator.emotion = None
            engine.orchestrator.stt_worker.tagger = None  # the STT stage runs the tagger

    with patched(variant.patches):
        eng = run_engine_phase(
            settings,
            [corpus[i] for i in seq_index],
            seq_index,
            progress,
            prepare=prepare,
            quiet_wait_s=QUIET_WAIT_S,
        )
    s = summarize(settings, corpus, eng, None)
    pub = s["public"]
    return {
        "variant": variant.name,
        "what": variant.what,
        "turns": pub["turns"],
        "missed": s["missed"],
        "v2v_p50": pub["voice_to_voice_ms"]["p50"],
        "v2v_p95": pub["voice_to_voice_ms"]["p95"],
        "quiet_turns": s["quiet"]["turns"],
        "quiet_p50": s["quiet"]["p50"],
        "stages_p50": pub["stages_ms"],
        "segments_p50": s["segments_p50"],
        "llm_tokens_per_s": pub["llm_tokens_per_s"],
        "overhead_pct": (s.get("overhead") or {}).get("overhead_pct"),
        "load": s["cpu"],
        "per_turn_v2v": [r["voice_to_voice_ms"] for r in s["per_turn"]],
        "per_turn_other_cpu": [r["other_cpu_pct"] for r in s["per_turn"]],
    }


# --------------------------------------------------------------------------- false cut-offs


def cutoff_study(
    variants: list[Variant], base: Settings, progress: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """The turn-taking study of ``hearken bench`` (``app.tools.bench_turns``) per settings variant."""
    from app.tools.bench_turns import answer_ms, decide, measure_all

    ready = answer_ms(base, progress)
    results: dict[str, dict[str, Any]] = {}
    for v in variants:
        settings = base.updated(v.settings).validate()
        with patched(v.patches):
            pauses = measure_all(settings, progress)
        results[v.name] = {
            "before": decide(pauses, settings, use_model=False, answer_ms=ready),
            "judge": decide(pauses, settings, use_model=True, answer_ms=ready),
        }
        progress(f"cut-offs {v.name}: {results[v.name]['judge']['cut_offs']}")
    return results


# --------------------------------------------------------------------------- KV cache over a long conversation


class BlockTrim:
    """A trimming policy that keeps the KV prefix stable: when the history overflows, drop the
    oldest exchanges down to ``keep`` of the budget at once, then only append until the next overflow."""

    def __init__(self, keep: float = 0.5) -> None:
        self.keep = keep
        self.start = 0  # index of the first kept entry

    def messages(
        self, memory: Any, system_prompt: str, count_tokens: Callable[[str], int], budget: int
    ) -> Any:
        entries = memory.snapshot()
        per = 6

        def cost(es: list[Any]) -> int:
            return count_tokens(system_prompt) + per + sum(count_tokens(e.content) + per for e in es)

        if cost(entries[self.start :]) > budget:
            target = int(budget * self.keep)
            while self.start < len(entries) - 1 and cost(entries[self.start :]) > target:
                self.start += 1
            while self.start < len(entries) and entries[self.start].role != "user":
                self.start += 1
        msgs = [{"role": "system", "content": system_prompt}]
        for e in entries[self.start :]:
            if msgs[-1]["role"] == e.role == "user":
                msgs[-1]["content"] += " " + e.content
            else:
                msgs.append({"role": e.role, "content": e.content})
        return msgs


def kv_study(turns: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """LLM first-token time over a long conversation: the engine's trimming vs ``BlockTrim``.

    The LLM is called directly on one thread with the engine's ``Conversation`` memory and
    the same budget the orchestrator uses (n_ctx - max_reply_tokens - 16); the questions
    cycle through the bench corpus texts.
    """
    from app.engines import registry
    from app.pipeline.memory import Conversation
    from app.tools.bench_corpus import CORPUS_TEXTS

    s = Settings()
    llm = registry.build("llm", s)
    budget = llm.n_ctx - s.max_reply_tokens - 16
    out: dict[str, Any] = {}
    for policy in ("engine", "block_trim"):
        llm.warm_up(s.system_prompt)
        memory = Conversation()
        trim = BlockTrim()
        firsts: list[float] = []
        prompt_tokens: list[int] = []
        for i in range(turns):
            memory.add("user", CORPUS_TEXTS[i % len(CORPUS_TEXTS)], i)
            if policy == "engine":
                msgs = memory.messages(s.system_prompt, count_tokens=llm.count_tokens, budget=budget)
            else:
                msgs = trim.messages(memory, s.system_prompt, llm.count_tokens, budget)
            prompt_tokens.append(sum(llm.count_tokens(m["content"]) + 6 for m in msgs))
            t0 = time.perf_counter()
            first = None
            reply = ""
            for delta in llm.stream_chat(msgs, max_tokens=s.max_reply_tokens, temperature=s.temperature):
                if first is None:
                    first = time.perf_counter() - t0
                reply += delta
            firsts.append(round((first or 0.0) * 1000.0, 1))
            memory.add("assistant", reply.strip(), i)
        head, tail = float(np.mean(firsts[:5])), float(np.mean(firsts[-5:]))
        out[policy] = {
            "first_token_ms": firsts,
            "prompt_tokens": prompt_tokens,
            "mean_first5": round(head, 1),
            "mean_last5": round(tail, 1),
            "ratio": round(tail / head, 2) if head else None,
            "p50_after_turn_25": float(np.median(firsts[25:])) if len(firsts) > 25 else None,
        }
        progress(f"kv {policy}: first token first5 {head:.0f} ms, last5 {tail:.0f} ms")
    return out


# --------------------------------------------------------------------------- stage-level A/B


def component_study(reps: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Each lever's own stage, measured A/B interleaved (robust to a noisy neighbour).

    * Whisper on the corpus questions with the engine's short-window floor at 2000 vs
      1000 mel frames (time and whether the transcript changes);
    * the LLM's first token and first clause for the corpus questions with the clause
      splitter's ``first_min_words`` at 4 vs 2, and with 2 vs 1 llama.cpp threads;
    * the emotion tagger's voice analysis (the speculative reply waits for it);
    * piper on a typical first clause.
    """
    import copy

    import app.engines.stt as stt_mod
    from app.engines import registry
    from app.models import resolve
    from app.pipeline.text import ClauseSplitter
    from app.tools.bench_corpus import CORPUS_TEXTS, synth_corpus

    s = Settings()
    corpus = synth_corpus(s)
    out: dict[str, Any] = {}

    # Whisper window
    from app.engine import make_factories

    f = make_factories(s, {r: resolve(r, s) for r in ("vad", "stt", "tts")})
    stt = f.stt()
    stt.warm_up()
    times: dict[int, list[float]] = {2000: [], 1000: []}
    changed = 0
    saved = stt_mod.SHORT_MIN_FRAMES
    try:
        for _ in range(reps):
            for item in corpus:
                texts = {}
                for frames in (2000, 1000):
                    stt_mod.SHORT_MIN_FRAMES = frames
                    r = stt.transcribe(item.audio)
                    times[frames].append(r.seconds * 1000.0)
                    texts[frames] = r.text
                changed += texts[2000] != texts[1000]
    finally:
        stt_mod.SHORT_MIN_FRAMES = saved
    out["stt_window"] = {
        "p50_ms_2000": round(float(np.median(times[2000])), 1),
        "p50_ms_1000": round(float(np.median(times[1000])), 1),
        "transcripts_changed": f"{changed}/{len(corpus) * reps}",
    }
    progress(f"stt window: {out['stt_window']}")

    # Emotion analysis and piper
    tagger = f.emotion
    if tagger is not None:
        emo = []
        for item in corpus:
            t0 = time.perf_counter()
            v = tagger.analyze_voice(item.audio)
            copy.deepcopy(tagger).tag(v, item.text)
            emo.append((time.perf_counter() - t0) * 1000.0)
        out["emotion_ms_p50"] = round(float(np.median(emo)), 1)
    tts = f.tts()
    tts.warm_up()
    synth = []
    for _ in range(reps * 5):
        t0 = time.perf_counter()
        list(tts.synthesize("The capital of France is Paris."))
        synth.append((time.perf_counter() - t0) * 1000.0)
    out["tts_first_clause_ms_p50"] = round(float(np.median(synth)), 1)
    progress(f"emotion/tts: {out.get('emotion_ms_p50')} / {out['tts_first_clause_ms_p50']}")
    del stt, tts

    # LLM: first clause with min words 4 vs 2; threads 2 vs 1; and 2 vs 1 beside a busy neighbour
    import subprocess

    llama_cpp = registry.spec("llm", "llama.cpp")
    llm_model = resolve("llm", s, engine=llama_cpp)
    for threads, neighbour in ((2, False), (1, False), (2, True), (1, True)):
        llm = llama_cpp.build(llm_model, s, threads=threads, batch_threads=None)  # batch on the same threads
        llm.warm_up(s.system_prompt)
        busy = None
        if neighbour:  # one other process spinning on one core, as a test run or a browser tab would
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        res: dict[int, list[tuple[float, float, str]]] = {4: [], 2: []}
        key = f"llm_t{threads}" + ("_busy_neighbour" if neighbour else "")
        questions = CORPUS_TEXTS if not neighbour else CORPUS_TEXTS[:8]
        for _ in range(reps):
            for q in questions:
                msgs = [{"role": "system", "content": s.system_prompt}, {"role": "user", "content": q}]
                for words in (4, 2) if (threads == 2 and not neighbour) else (4,):
                    sp = ClauseSplitter(first_min_words=words)
                    t0 = time.perf_counter()
                    first = None
                    clause = None
                    for d in llm.stream_chat(msgs, max_tokens=s.max_reply_tokens, temperature=0.0):
                        if first is None:
                            first = time.perf_counter() - t0
                        got = sp.feed(d)
                        if got:
                            clause = (time.perf_counter() - t0, got[0])
                            break
                    if clause is None:
                        rest = sp.flush()
                        clause = (time.perf_counter() - t0, rest[0] if rest else "")
                    res[words].append(((first or 0) * 1000.0, clause[0] * 1000.0, clause[1]))
        if busy is not None:
            busy.kill()
            busy.wait()
        for words, rows in res.items():
            if not rows:
                continue
            out[f"{key}_w{words}"] = {
                "first_token_p50": round(float(np.median([r[0] for r in rows])), 1),
                "first_clause_p50": round(float(np.median([r[1] for r in rows])), 1),
                "first_clause_words_p50": float(np.median([len(r[2].split()) for r in rows])),
                "examples": [r[2] for r in rows[:6]],
            }
            progress(f"{key} min words {words}: {out[f'{key}_w{words}']}")
        del llm
    return out


# --------------------------------------------------------------------------- command


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.tools.bench_levers", description=__doc__)
    p.add_argument("--turns", type=int, default=20)
    p.add_argument("--only", nargs="*", help=f"variants to run: {', '.join(VARIANTS)}")
    p.add_argument("--cutoffs", action="store_true", help="run the false cut-off study")
    p.add_argument("--no-runs", action="store_true", help="skip the engine runs")
    p.add_argument("--kv", type=int, default=0, help="KV-cache study over this many turns (LLM only)")
    p.add_argument("--components", type=int, default=0, help="stage-level A/B with this many repetitions")
    p.add_argument("--wait-quiet", type=float, default=0.0, help="wait up to S seconds for load < 0.6")
    p.add_argument("--out", type=Path, help="append the results as JSON lines here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    def progress(msg: str) -> None:
        sys.stderr.write(f"levers: {msg}\n")

    from app.tools.bench import BENCH_SEED

    base = Settings(llm_seed=BENCH_SEED)  # the same answers in every variant, as in the bench
    names = args.only or list(VARIANTS)
    variants = [VARIANTS[n] for n in names]
    out: list[dict[str, Any]] = []
    if args.cutoffs:
        study = cutoff_study(variants, base, progress)
        for name, r in study.items():
            rec = {"kind": "cutoffs", "variant": name, **r}
            out.append(rec)
            sys.stdout.write(f"{name:<28} {json.dumps(r['judge']['cut_offs'])}\n")
    if args.components:
        comp = component_study(args.components, progress)
        out.append({"kind": "components", **comp})
        sys.stdout.write(json.dumps(comp, indent=1) + "\n")
        if args.out:
            with args.out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(out[-1]) + "\n")
    if args.kv:
        kv = kv_study(args.kv, progress)
        out.append({"kind": "kv", **kv})
        for name, r in kv.items():
            sys.stdout.write(
                f"kv {name:<12} first token mean of turns 1-5 {r['mean_first5']} ms, last 5 {r['mean_last5']} ms "
                f"({r['ratio']}x); p50 after turn 25 {r['p50_after_turn_25']} ms; "
                f"prompt tokens at the end {r['prompt_tokens'][-1]}\n"
            )
        if args.out:
            with args.out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(out[-1]) + "\n")
    if not args.no_runs:
        for v in variants:
            load = wait_quiet(args.wait_quiet) if args.wait_quiet else os.getloadavg()[0]
            progress(f"run {v.name} (load {load:.2f})")
            r = run_variant(v, base, args.turns, progress)
            out.append({"kind": "run", **r})
            sys.stdout.write(
                f"{v.name:<28} v2v p50 {r['v2v_p50']} p95 {r['v2v_p95']} | quiet {r['quiet_turns']} turns "
                f"p50 {r['quiet_p50']} | eot {r['stages_p50']['end_of_turn']} llm@ {r['stages_p50']['llm_start']} "
                f"clause {r['stages_p50']['first_clause']} tts {r['stages_p50']['tts_first_chunk']} "
                f"eot>audio {r['stages_p50']['eot_to_first_audio']} | load {r['load']['load_start'][0]}"
                f"->{r['load']['load_end'][0]} other {r['load']['other_processes_pct']}%\n"
            )
            sys.stdout.flush()
            if args.out:
                with args.out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(out[-1]) + "\n")
    if args.out and args.cutoffs:
        with args.out.open("a", encoding="utf-8") as f:
            for rec in out:
                if rec["kind"] == "cutoffs":
                    f.write(json.dumps(rec, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
