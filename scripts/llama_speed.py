"""Prompt and decode speed of the installed llama.cpp build, for choosing build options.

    python scripts/llama_speed.py MODEL.gguf [--threads 1 2] [--repeat 3] [--json OUT]

Prompt: a ~300-token prompt evaluated from an empty cache (tokens/s).  Decode: 64 greedy
tokens after it (tokens/s).  Each figure is the median of ``--repeat`` runs; the model is
loaded once per thread count.  Prints llama.cpp's system info (which CPU paths it uses).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

TEXT = (
    "You are a helpful voice assistant running on a desktop computer. Answer in one or two short "
    "sentences. The user asked about the weather, the time, a recipe for pancakes, how far the moon is, "
    "why the sky is blue, and how to set a timer. "
) * 6


def measure(model: str, threads: int, repeat: int) -> dict[str, float]:
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=model, n_ctx=1024, n_threads=threads, n_threads_batch=threads, n_batch=256, verbose=False
    )
    prompt = llm.tokenize(TEXT.encode(), add_bos=True)[:300]
    pp, tg = [], []
    for _ in range(repeat):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        pp.append(len(prompt) / (time.perf_counter() - t0))
        n, t0 = 0, time.perf_counter()
        for _tok in llm.generate(prompt, temp=0.0):  # reuses the evaluated prompt
            n += 1
            if n >= 64:
                break
        tg.append(n / (time.perf_counter() - t0))
    return {"threads": threads, "prompt_tps": statistics.median(pp), "decode_tps": statistics.median(tg)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json")
    args = p.parse_args()
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    rows = [measure(args.model, t, args.repeat) for t in args.threads]
    out = {"llama_cpp": llama_cpp.__version__, "system_info": info, "rows": rows}
    sys.stdout.write(info + "\n")
    for r in rows:
        sys.stdout.write(f"threads {r['threads']}: prompt {r['prompt_tps']:.1f} tok/s, decode {r['decode_tps']:.1f} tok/s\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
