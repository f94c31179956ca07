"""Prompt-lookup decoding against plain decode, on the bench's questions (docs/runtime.md).

    python scripts/prompt_lookup_speed.py [--variants none,10,4,t4,t2] [--threads 1]

Each variant loads the default LLM once through the engine's own ``LlamaCppLlm`` (its context,
batch, warm-up and sampling; only llama-cpp-python's ``draft_model`` is added) and asks it the 20
``hearken bench`` questions, each alone after the default system prompt, seed 1, at most 60 tokens.  Prints, per variant, the medians of the first token, the first clause (the
engine's own ``ClauseSplitter``) and the whole answer, and tokens/s.

Variants: ``none`` (plain decode); a number N: llama-cpp-python's ``LlamaPromptLookupDecoding``
drafting N tokens; ``tN``: a lookup that drafts N tokens only from a 2- or 3-token match among
the last 256 tokens (the question and the answer so far), the latest match first.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp.llama_speculative import LlamaDraftModel, LlamaPromptLookupDecoding

from app.config import Settings
from app.engines.llm import LlamaCppLlm
from app.models import resolve
from app.pipeline.stages import FIRST_PHRASE_WORDS
from app.pipeline.text import ClauseSplitter
from app.tools.bench_corpus import CORPUS_TEXTS


class TailLookup(LlamaDraftModel):
    def __init__(self, n_pred: int, window: int = 256, min_ngram: int = 2, max_ngram: int = 3) -> None:
        self.n_pred, self.window, self.min_ngram, self.max_ngram = n_pred, window, min_ngram, max_ngram

    def __call__(self, input_ids: Any, /, **kwargs: Any) -> Any:
        tail = np.asarray(input_ids[-self.window :])
        for g in range(min(self.max_ngram, len(tail) - 1), self.min_ngram - 1, -1):
            windows = np.lib.stride_tricks.sliding_window_view(tail[:-1], g)
            for i in np.flatnonzero(np.all(windows == tail[-g:], axis=1))[::-1]:
                out = tail[i + g : i + g + self.n_pred]
                if len(out):
                    return out.astype(np.intc)
        return np.array([], dtype=np.intc)


def draft_model(name: str) -> LlamaDraftModel | None:
    if name == "none":
        return None
    if name.startswith("t"):
        return TailLookup(int(name[1:]))
    return LlamaPromptLookupDecoding(num_pred_tokens=int(name))


def run(name: str, threads: int) -> dict[str, float]:
    settings = Settings()
    plain = llama_cpp.Llama
    llama_cpp.Llama = functools.partial(plain, draft_model=draft_model(name))  # type: ignore[misc]
    try:
        llm = LlamaCppLlm(resolve("llm", settings).path, n_ctx=settings.n_ctx, threads=threads, seed=1)
    finally:
        llama_cpp.Llama = plain  # type: ignore[misc]
    llm.warm_up(settings.system_prompt)
    system = {"role": "system", "content": settings.system_prompt}
    rows = []
    for question in CORPUS_TEXTS:
        splitter = ClauseSplitter(first_phrase_words=FIRST_PHRASE_WORDS)
        t0 = time.perf_counter()
        first = clause = None
        n = 0
        messages = [system, {"role": "user", "content": question}]
        for delta in llm.stream_chat(messages, max_tokens=60, temperature=settings.temperature):
            n += 1
            now = time.perf_counter() - t0
            first = now if first is None else first
            if clause is None and splitter.feed(delta):
                clause = now
        total = time.perf_counter() - t0
        rows.append((first or total, clause or total, total, n))
    med = [round(1000 * statistics.median(r[k] for r in rows)) for k in range(3)]
    tokens_per_s = sum(r[3] for r in rows) / sum(r[2] for r in rows)
    return {"first_token_ms": med[0], "first_clause_ms": med[1], "answer_ms": med[2], "tokens_per_s": round(tokens_per_s, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", default="none,10,4,t4,t2")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    out = {}
    for name in args.variants.split(","):
        out[name] = run(name, args.threads)
        print(name, out[name], flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
