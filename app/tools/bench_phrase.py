"""Does a first clause cut at a phrase boundary still sound right?  ``python -m app.tools.bench_phrase``.

The engine speaks a reply clause by clause, each synthesized by piper on its own and played back to
back.  ``ClauseSplitter(first_phrase_words=3)`` may end the first clause before a phrase-opening
word ("I recommend the book, | because it is fun."), so the first sound comes a few tokens sooner;
the clause is given a comma so piper ends it with a continuing, not a sentence-final, intonation.

This checks that on the bench's own answers: for each default question, the LLM's reply (the
bench's fixed seed), cut the default way and with the phrase cut.  Where the first clause differs,
piper speaks both versions as the engine would, and Whisper (base when installed, else the
default model) transcribes them.  Reported per answer and in total:

* the word error rate of each version against the reply's words (does the cut lose or garble a word?);
* whether Whisper wrote a sentence end (``.``, ``!``, ``?``) right after the cut word: Whisper's
  punctuation follows the prosody, so a sentence-final fall at the cut shows up as a full stop;
* the pause at the cut (trailing plus leading silence of the two pieces) against the pause the
  whole-sentence synthesis makes there, and what the first piece costs piper.

Prints one JSON object (``--out`` writes it too); ``docs/bench.md`` quotes the figures.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings

log = logging.getLogger(__name__)

SILENCE = 0.01  # |amplitude| below this counts as silence at a piece's edges
_WORD = re.compile(r"[A-Za-z0-9']+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def wer(ref: str, hyp: str) -> float:
    """Word error rate of ``hyp`` against ``ref`` (case and punctuation ignored)."""
    r, h = _words(ref), _words(hyp)
    if not r:
        return 0.0 if not h else 1.0
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)] / len(r)


def sentence_end_after(transcript: str, first_clause: str) -> bool | None:
    """Did Whisper end a sentence right after the first clause's last word?  None when that word
    cannot be found in the transcript."""
    tokens = transcript.split()
    norm = [" ".join(_words(t)) for t in tokens]
    clause = _words(first_clause)
    if not clause:
        return None
    matcher = difflib.SequenceMatcher(a=clause, b=norm, autojunk=False)
    target = len(clause) - 1
    for a, b, n in matcher.get_matching_blocks():
        if a <= target < a + n:
            return tokens[b + target - a].rstrip("\"')]").endswith((".", "!", "?"))
    return None


def _edge_silence(audio: np.ndarray, sample_rate: int, end: bool) -> float:
    loud = np.flatnonzero(np.abs(audio) >= SILENCE)
    if loud.size == 0:
        return len(audio) / sample_rate
    return (len(audio) - 1 - loud[-1] if end else loud[0]) / sample_rate


def _longest_gap(audio: np.ndarray, sample_rate: int, min_ms: float = 40.0) -> list[float]:
    """Silent stretches (ms) inside ``audio``, longest first."""
    frame = int(sample_rate * 0.005)
    n = len(audio) // frame
    quiet = np.abs(audio[: n * frame]).reshape(n, frame).max(axis=1) < SILENCE
    gaps, run = [], 0
    loud_seen = False
    for q in quiet:
        if q:
            run += 1
        else:
            if loud_seen and run * 5 >= min_ms:
                gaps.append(run * 5.0)
            run, loud_seen = 0, True
    return sorted(gaps, reverse=True)


def run(settings: Settings, progress: Any = lambda _m: None) -> dict[str, Any]:
    from app.audio.resample import resample
    from app.engines import registry
    from app.messages import SAMPLE_RATE
    from app.models import ModelError, resolve
    from app.pipeline.text import ClauseSplitter
    from app.tools.bench import BENCH_SEED
    from app.tools.bench_corpus import CORPUS_TEXTS

    s = settings.updated({"llm_seed": BENCH_SEED}) if settings.llm_seed < 0 else settings
    try:
        judge_settings = s.updated({"stt_model": "whisper-base"})
        judge_model = resolve("stt", judge_settings)
    except ModelError:
        judge_settings, judge_model = s, resolve("stt", s)
    progress(f"loading the LLM, piper and Whisper ({judge_model.id}) to judge")
    llm = registry.build("llm", s)
    llm.warm_up(s.system_prompt)
    tts = registry.build("tts", s)
    tts.warm_up()
    stt = registry.build("stt", judge_settings, judge_model)
    stt.warm_up()
    sr = tts.sample_rate

    def speak(clauses: list[str]) -> tuple[list[np.ndarray], float]:
        pieces, first_s = [], 0.0
        for k, clause in enumerate(clauses):
            t0 = time.perf_counter()
            pieces.append(np.concatenate(list(tts.synthesize(clause))))
            if k == 0:
                first_s = time.perf_counter() - t0
        return pieces, first_s

    def hear(pieces: list[np.ndarray]) -> str:
        return stt.transcribe(resample(np.concatenate(pieces), sr, SAMPLE_RATE)).text

    def split(reply: str, phrase: bool) -> list[str]:
        sp = ClauseSplitter(first_phrase_words=3) if phrase else ClauseSplitter()
        return sp.feed(reply) + sp.flush()

    answers: list[dict[str, Any]] = []
    for i, question in enumerate(CORPUS_TEXTS, 1):
        msgs = [{"role": "system", "content": s.system_prompt}, {"role": "user", "content": question}]
        reply = "".join(llm.stream_chat(msgs, max_tokens=s.max_reply_tokens, temperature=s.temperature))
        default, phrase = split(reply, False), split(reply, True)
        if default[:1] == phrase[:1]:
            answers.append({"question": question, "cut": False})
            continue
        progress(f"{i}/{len(CORPUS_TEXTS)}: {phrase[0]!r} | {phrase[1][:40]!r}...")
        whole, whole_first_s = speak(default)
        cut, cut_first_s = speak(phrase)
        heard_whole, heard_cut = hear(whole), hear(cut)
        pause_cut = _edge_silence(cut[0], sr, end=True) + _edge_silence(cut[1], sr, end=False)
        answers.append(
            {
                "question": question,
                "cut": True,
                "reply": reply,
                "first_clause_default": default[0],
                "first_clause_phrase": phrase[0],
                "heard_whole": heard_whole,
                "heard_cut": heard_cut,
                "wer_whole": round(wer(reply, heard_whole), 3),
                "wer_cut": round(wer(reply, heard_cut), 3),
                "sentence_end_at_cut_whole": sentence_end_after(heard_whole, phrase[0]),
                "sentence_end_at_cut": sentence_end_after(heard_cut, phrase[0]),
                "pause_at_cut_ms": round(1000 * pause_cut),
                "first_piece_audio_ms": {
                    "default": round(1000 * len(whole[0]) / sr),
                    "phrase": round(1000 * len(cut[0]) / sr),
                },
                "first_piece_synth_ms": {"default": round(1000 * whole_first_s), "phrase": round(1000 * cut_first_s)},
                "longest_gaps_whole_first_ms": _longest_gap(whole[0], sr)[:2],
            }
        )
    cuts = [a for a in answers if a["cut"]]

    def mean(key: str) -> float | None:
        return round(float(np.mean([a[key] for a in cuts])), 3) if cuts else None

    def median_of(key: str, which: str) -> float | None:
        return round(float(np.median([a[key][which] for a in cuts]))) if cuts else None

    return {
        "judge": judge_model.id,
        "answers_cut": f"{len(cuts)}/{len(answers)}",
        "wer_whole_mean": mean("wer_whole"),
        "wer_cut_mean": mean("wer_cut"),
        "sentence_end_heard_at_cut": sum(a["sentence_end_at_cut"] is True for a in cuts),
        "sentence_end_heard_there_whole": sum(a["sentence_end_at_cut_whole"] is True for a in cuts),
        "pause_at_cut_ms_median": round(float(np.median([a["pause_at_cut_ms"] for a in cuts]))) if cuts else None,
        "first_piece_audio_ms_median": {w: median_of("first_piece_audio_ms", w) for w in ("default", "phrase")},
        "first_piece_synth_ms_median": {w: median_of("first_piece_synth_ms", w) for w in ("default", "phrase")},
        "answers": answers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.tools.bench_phrase", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    def progress(msg: str) -> None:
        sys.stderr.write(f"phrase: {msg}\n")

    result = run(Settings(), progress)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
