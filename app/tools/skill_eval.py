"""Score the skill router on the labelled requests of :mod:`app.tools.skill_corpus`.

``python -m app.tools.skill_eval [--heldout | --final] [--spoken] [--json PATH]``

``--heldout``: score the second held-out set, :mod:`app.tools.skill_corpus_heldout`, written
after the router was tuned on the first, instead of :mod:`app.tools.skill_corpus`.
``--final``: score the third set, :mod:`app.tools.skill_corpus_final`, written blind after the
router was frozen, instead.

Typed: every phrasing goes through ``route(text)`` as written.  An item is right when the
name is the expected one (None: no skill, the language model answers), every checked
argument matches (a tuple lists acceptable values; numbers within 0.5; strings without
case, punctuation or extra spaces; an expected None or "" accepts either), and, for a
calculation or conversion, the answer the skills give is the expected number within 0.5 %.
What goes wrong is counted once, in this order: an exception (error), a skill on an ordinary
question (false trigger), no skill on a request (miss), another skill (wrong skill), the right
skill with wrong arguments (wrong args), the right call with a wrong number (wrong value).
Honesty: the share of can't-know and can't-do requests routed to ``decline``, and of those
the share with the expected topic.  Latency: each ``route`` call once, after one warm-up call.

Spoken (``--spoken``): the ``SPOKEN`` texts are synthesized with the bundled piper voice
(as ``hearken say`` builds it, at the voice's own pace) and with espeak-ng in two voices
(en-us at 150 words a minute, en-gb at 175), cached as WAVs under the temp folder, heard by
the configured Whisper engine (as ``hearken transcribe`` builds it; the whole clip as one
turn, with 0.2 s of silence either side, Whisper's stock inventions for silence dropped as
the pipeline drops them), and the transcript is routed and scored as above, per voice.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import logging
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from app.tools.skill_corpus import HONESTY, PHRASINGS, SPOKEN, HonestyCase, Phrasing

log = logging.getLogger(__name__)

Router = Callable[[str], Any]  # text -> an object with .name and .args, or None
ValueOf = Callable[[str], float | None]  # text -> the number the skills answer with

NUMBER_TOLERANCE = 0.5  # seconds, days, a converted amount as said
VALUE_TOLERANCE = 0.005  # relative, for the answer of a calculation or conversion
NONE = "none"  # how "no skill" is written in the confusion table
OUTCOMES = ("ok", "error", "false_trigger", "miss", "wrong_skill", "wrong_args", "wrong_value")


# --------------------------------------------------------------------------- matching


def _norm(text: str) -> str:
    text = re.sub(r"[^\w\s:]", " ", text.lower())
    return " ".join(text.split())


def _matches(expected: Any, got: Any) -> bool:
    if isinstance(expected, tuple):
        return any(_matches(e, got) for e in expected)
    if expected is None or expected == "":
        return got is None or (isinstance(got, str) and not got.strip())
    if isinstance(expected, bool):
        return isinstance(got, bool) and got == expected
    if isinstance(expected, int | float):
        return (
            isinstance(got, int | float)
            and not isinstance(got, bool)
            and math.isfinite(float(got))
            and abs(float(got) - float(expected)) <= NUMBER_TOLERANCE
        )
    if isinstance(expected, str):
        return isinstance(got, str) and _norm(got) == _norm(expected)
    return bool(got == expected)


def args_mismatches(expected: Mapping[str, Any], got: Mapping[str, Any] | None) -> list[str]:
    """``key: want X, got Y`` for each checked argument that does not match."""
    got = got or {}
    out = []
    for key, want in expected.items():
        if key not in got:
            out.append(f"{key}: want {want!r}, missing")
        elif not _matches(want, got[key]):
            out.append(f"{key}: want {want!r}, got {got[key]!r}")
    return out


def value_matches(expected: float, got: float | None) -> bool:
    if got is None or not math.isfinite(got):
        return False
    return abs(got - expected) <= VALUE_TOLERANCE * max(abs(expected), 1e-9)


def _jsonable(args: Any) -> Any:
    try:
        json.dumps(args)
        return args
    except TypeError:
        return {str(k): repr(v) for k, v in dict(args).items()} if isinstance(args, Mapping) else repr(args)


def _call(route: Router, text: str) -> tuple[str | None, dict[str, Any], str, float]:
    """(name, args, error, ms) of one route call."""
    t0 = time.perf_counter()
    try:
        call = route(text)
    except Exception as exc:  # a crash is a failure to report, not the end of the run
        return None, {}, f"{type(exc).__name__}: {exc}", 1000.0 * (time.perf_counter() - t0)
    ms = 1000.0 * (time.perf_counter() - t0)
    if call is None:
        return None, {}, "", ms
    return str(call.name), dict(getattr(call, "args", None) or {}), "", ms


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --------------------------------------------------------------------------- scoring


def _score_phrasing(route: Router, item: Phrasing, heard: str, value_of: ValueOf | None) -> dict[str, Any]:
    name, args, error, ms = _call(route, heard)
    rec: dict[str, Any] = {
        "text": item.text,
        "expect": item.expect,
        "expect_args": _jsonable(dict(item.args)),
        "got": name,
        "got_args": _jsonable(args),
        "ms": round(ms, 3),
        "why": "",
    }
    if heard != item.text:
        rec["heard"] = heard
    if error:
        rec["outcome"], rec["why"] = "error", error
    elif item.expect is None:
        rec["outcome"] = "ok" if name is None else "false_trigger"
    elif name is None:
        rec["outcome"] = "miss"
    elif name != item.expect:
        rec["outcome"] = "wrong_skill"
    elif bad := args_mismatches(item.args, args):
        rec["outcome"], rec["why"] = "wrong_args", "; ".join(bad)
    elif item.value is not None and value_of is not None:
        rec["value_expected"] = item.value
        try:
            got_value = value_of(heard)
        except Exception as exc:
            got_value, rec["why"] = None, f"{type(exc).__name__}: {exc}"
        rec["value_got"] = got_value
        if value_matches(item.value, got_value):
            rec["outcome"] = "ok"
        else:
            rec["outcome"] = "wrong_value"
            rec["why"] = rec["why"] or f"value: want {item.value:g}, got {got_value!r}"
    else:
        rec["outcome"] = "ok"
    return rec


def _score_honesty(route: Router, item: HonestyCase, heard: str) -> dict[str, Any]:
    name, args, error, ms = _call(route, heard)
    topic = args.get("topic") if name == "decline" else None
    rec = {
        "text": item.text,
        "kind": item.kind,
        "topic": item.topic,
        "got": name,
        "got_args": _jsonable(args),
        "declined": name == "decline",
        "topic_ok": name == "decline" and isinstance(topic, str) and _norm(topic) == item.topic,
        "ms": round(ms, 3),
        "why": error,
    }
    if heard != item.text:
        rec["heard"] = heard
    return rec


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def evaluate(
    route: Router,
    phrasings: Iterable[Phrasing] = PHRASINGS,
    honesty: Iterable[HonestyCase] = HONESTY,
    *,
    value_of: ValueOf | None = None,
    heard: Mapping[str, str] | None = None,
    warm_up: bool = True,
) -> dict[str, Any]:
    """Route every item and score it (see the module doc).

    ``value_of``: the number the skills answer a text with (None: answers are not checked).
    ``heard``: original text -> what the router is given instead (a transcript); only the
    items it names are scored.
    """
    phrasings, honesty = list(phrasings), list(honesty)
    if heard is not None:
        phrasings = [p for p in phrasings if p.text in heard]
        honesty = [h for h in honesty if h.text in heard]
    said = heard or {}
    warm_ms = _call(route, "hello there")[3] if warm_up else None
    items = [_score_phrasing(route, p, said.get(p.text, p.text), value_of) for p in phrasings]
    cases = [_score_honesty(route, h, said.get(h.text, h.text)) for h in honesty]

    outcomes = Counter(r["outcome"] for r in items)
    ordinary = sum(1 for r in items if r["expect"] is None)
    confusion: dict[str, dict[str, int]] = {}
    per_name: dict[str, dict[str, Any]] = {}
    for r in items:
        want, got = r["expect"] or NONE, r["got"] or NONE
        row = confusion.setdefault(want, {})
        row[got] = row.get(got, 0) + 1
        stats = per_name.setdefault(want, {"n": 0, "ok": 0})
        stats["n"] += 1
        stats["ok"] += r["outcome"] == "ok"
    for stats in per_name.values():
        stats["accuracy"] = _rate(stats["ok"], stats["n"])

    def share(rows: list[dict[str, Any]]) -> dict[str, Any]:
        declined = sum(r["declined"] for r in rows)
        return {
            "n": len(rows),
            "declined": declined,
            "rate": _rate(declined, len(rows)),
            "topic_ok": sum(r["topic_ok"] for r in rows),
        }

    spent = [r["ms"] for r in items] + [r["ms"] for r in cases]
    n = len(items)
    return {
        "n": n,
        "requests": n - ordinary,
        "ordinary": ordinary,
        "correct": outcomes["ok"],
        "accuracy": _rate(outcomes["ok"], n),
        "outcomes": {k: outcomes[k] for k in OUTCOMES},
        "false_triggers": outcomes["false_trigger"],
        "false_trigger_rate": _rate(outcomes["false_trigger"], ordinary),
        "misses": outcomes["miss"],
        "miss_rate": _rate(outcomes["miss"], n - ordinary),
        "wrong_skill": outcomes["wrong_skill"],
        "wrong_args": outcomes["wrong_args"],
        "wrong_value": outcomes["wrong_value"],
        "errors": outcomes["error"],
        "values_checked": sum(1 for r in items if "value_expected" in r),
        "per_name": per_name,
        "confusion": confusion,
        "latency_ms": {
            "median": round(statistics.median(spent), 3) if spent else None,
            "p95": round(_percentile(spent, 0.95), 3) if spent else None,
            "max": round(max(spent), 3) if spent else None,
            "warm_up": None if warm_ms is None else round(warm_ms, 3),
        },
        "honesty": {
            **share(cases),
            "per_kind": {
                k: share([r for r in cases if r["kind"] == k]) for k in sorted({r["kind"] for r in cases})
            },
            "per_topic": {
                t: share([r for r in cases if r["topic"] == t]) for t in sorted({r["topic"] for r in cases})
            },
        },
        "failures": [r for r in items if r["outcome"] != "ok"],
        "honesty_failures": [r for r in cases if not r["declined"] or not r["topic_ok"]],
        "items": items,
        "honesty_items": cases,
    }


# --------------------------------------------------------------------------- report


def _show_call(name: str | None, args: Any) -> str:
    if name is None:
        return NONE
    return f"{name} {json.dumps(args, default=repr)}" if args else name


def format_report(result: dict[str, Any], title: str = "typed") -> str:
    """A plain-text report of one :func:`evaluate` result, every failure included."""
    r = result
    lat = r["latency_ms"]
    h = r["honesty"]
    lines = [
        f"Skill router, {title}: {r['n']} phrasings ({r['requests']} requests, {r['ordinary']} ordinary)",
        f"  accuracy        {r['accuracy']:.1%}  ({r['correct']}/{r['n']}: name, arguments and answer right)",
        f"  false triggers  {r['false_triggers']} of {r['ordinary']} ordinary ({r['false_trigger_rate']:.1%})",
        f"  misses          {r['misses']} of {r['requests']} requests ({r['miss_rate']:.1%})",
        f"  wrong skill     {r['wrong_skill']}",
        f"  wrong args      {r['wrong_args']}",
        f"  wrong answer    {r['wrong_value']} (answers checked: {r['values_checked']})",
        f"  errors          {r['errors']}",
        f"  latency         median {lat['median']} ms, p95 {lat['p95']} ms, max {lat['max']} ms"
        f" (warm-up call {lat['warm_up']} ms)",
        f"  honesty         {h['declined']}/{h['n']} declined ({h['rate']:.1%}), {h['topic_ok']} with the right topic"
        + "".join(f"; {k} {v['declined']}/{v['n']}" for k, v in h["per_kind"].items()),
        "",
        "  per expected name     n  right  routed to",
    ]
    for want, stats in sorted(r["per_name"].items()):
        row = r["confusion"][want]
        elsewhere = ", ".join(f"{g} {c}" for g, c in sorted(row.items()) if g != want)
        lines.append(f"    {want:<18}{stats['n']:>4}{stats['ok']:>7}  {elsewhere}")
    if r["failures"]:
        lines += ["", f"  failures ({len(r['failures'])}):"]
        for f in r["failures"]:
            heard = f"  [heard: {f['heard']!r}]" if "heard" in f else ""
            lines.append(
                f"    {f['outcome']:<13} {f['text']!r}{heard}\n"
                f"                  expected {_show_call(f['expect'], f['expect_args'])}\n"
                f"                  got      {_show_call(f['got'], f['got_args'])}"
                + (f"\n                  ({f['why']})" if f["why"] else "")
            )
    if r["honesty_failures"]:
        lines += ["", f"  honesty failures ({len(r['honesty_failures'])}):"]
        for f in r["honesty_failures"]:
            heard = f"  [heard: {f['heard']!r}]" if "heard" in f else ""
            what = "wrong topic" if f["declined"] else "not declined"
            lines.append(
                f"    {what:<13} {f['text']!r}{heard}\n"
                f"                  expected decline {{'topic': {f['topic']!r}}} ({f['kind']})\n"
                f"                  got      {_show_call(f['got'], f['got_args'])}"
                + (f"\n                  ({f['why']})" if f["why"] else "")
            )
    return "\n".join(lines)


def format_summary(results: Mapping[str, dict[str, Any]]) -> str:
    """One line per run (typed, each voice)."""
    lines = [
        f"  {'run':<11}{'n':>4}{'accuracy':>10}{'false':>7}{'misses':>8}{'wrong':>7}{'args':>6}"
        f"{'answer':>8}{'honesty':>9}{'topic':>7}"
    ]
    for name, r in results.items():
        h = r["honesty"]
        lines.append(
            f"  {name:<11}{r['n']:>4}{r['accuracy']:>10.1%}{r['false_triggers']:>7}{r['misses']:>8}"
            f"{r['wrong_skill']:>7}{r['wrong_args']:>6}{r['wrong_value']:>8}{h['rate']:>9.1%}"
            f"{h['topic_ok']:>4}/{h['n']}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- spoken


@dataclass(frozen=True)
class Voice:
    name: str
    engine: str  # piper | espeak-ng
    espeak_voice: str = ""
    words_per_minute: int = 0


VOICES: dict[str, Voice] = {
    "piper": Voice("piper", "piper"),
    "espeak-us": Voice("espeak-us", "espeak-ng", "en-us", 150),
    "espeak-gb": Voice("espeak-gb", "espeak-ng", "en-gb", 175),
}


def default_cache() -> Path:
    return Path(tempfile.gettempdir()) / "hearken-skill-eval"


def _wav_name(text: str, key: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]
    return f"{slug}-{hashlib.sha256((key + '|' + text).encode()).hexdigest()[:10]}.wav"


def synthesize(texts: Iterable[str], voice: Voice, cache: Path, settings: Any) -> dict[str, Path]:
    """text -> a WAV of it in ``voice``, made once and kept under ``cache``."""
    texts = list(texts)
    folder = cache / voice.name
    folder.mkdir(parents=True, exist_ok=True)
    if voice.engine == "espeak-ng":
        if not shutil.which("espeak-ng"):
            raise RuntimeError("espeak-ng is not installed")
        key = f"espeak-ng {voice.espeak_voice} {voice.words_per_minute}"
        out = {t: folder / _wav_name(t, key) for t in texts}
        for text, wav in out.items():
            if not wav.is_file():
                cmd = [
                    "espeak-ng",
                    "-v",
                    voice.espeak_voice,
                    "-s",
                    str(voice.words_per_minute),
                    "-w",
                    str(wav),
                ]
                subprocess.run([*cmd, text], check=True, capture_output=True)
        return out
    import numpy as np

    from app.audio.io import write_wav
    from app.engines import registry
    from app.models import resolve
    from app.pipeline.text import clean_for_speech

    key = f"piper {resolve('tts', settings).id}"
    out = {t: folder / _wav_name(t, key) for t in texts}
    todo = [t for t, wav in out.items() if not wav.is_file()]
    if todo:
        tts = registry.build("tts", settings, speaking_rate=1.0, threads=1)  # the voice's own pace
        for text in todo:
            chunks = list(tts.synthesize(clean_for_speech(text)))
            audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
            write_wav(out[text], audio, tts.sample_rate)
    return out


def transcribe(wavs: Mapping[str, Path], stt: Any, settings: Any) -> dict[str, tuple[str, float]]:
    """text -> (what Whisper heard, seconds it took)."""
    import numpy as np

    from app.audio.io import load_speech
    from app.messages import SAMPLE_RATE
    from app.pipeline.text import is_probably_hallucination

    pad = np.zeros(int(0.2 * SAMPLE_RATE), np.float32)
    out = {}
    for text, wav in wavs.items():
        audio = np.concatenate([pad, load_speech(wav), pad])
        res = stt.transcribe(audio, hotwords=settings.hotwords)
        heard = res.text if res.text and not is_probably_hallucination(res.text) else ""
        out[text] = (heard, res.seconds)
    return out


def evaluate_spoken(
    route: Router,
    voices: Iterable[str] = tuple(VOICES),
    *,
    value_of: ValueOf | None = None,
    cache: Path | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    corpus: ModuleType | None = None,
) -> dict[str, dict[str, Any]]:
    """voice name -> :func:`evaluate` on what Whisper heard of ``SPOKEN`` in that voice.

    ``corpus``: the module whose ``PHRASINGS``, ``HONESTY`` and ``SPOKEN`` are used
    (None: :mod:`app.tools.skill_corpus`).
    """
    from app.config import Settings
    from app.engines import registry

    phrasings, honesty, spoken = (
        (PHRASINGS, HONESTY, SPOKEN) if corpus is None else (corpus.PHRASINGS, corpus.HONESTY, corpus.SPOKEN)
    )

    settings = Settings()
    cache = cache or default_cache()
    stt = registry.build("stt", settings)
    stt.warm_up()
    results = {}
    for name in voices:
        voice = VOICES[name]
        progress(f"{name}: synthesizing {len(spoken)} texts (cache {cache / name})")
        wavs = synthesize(spoken, voice, cache, settings)
        progress(f"{name}: transcribing")
        heard = transcribe(wavs, stt, settings)
        result = evaluate(
            route, phrasings, honesty, value_of=value_of, heard={t: h for t, (h, _s) in heard.items()}
        )
        stt_ms = [1000.0 * s for _h, s in heard.values()]
        result["stt_ms_median"] = round(statistics.median(stt_ms), 1)
        result["transcripts"] = {t: h for t, (h, _s) in heard.items()}
        result["verbatim"] = sum(1 for t, (h, _s) in heard.items() if _norm(h) == _norm(t))
        results[name] = result
    return results


# --------------------------------------------------------------------------- command


def skills_value_of() -> ValueOf | None:
    """The number ``app.skills`` answers a text with, or None where that API is not there."""
    try:
        from app.skills import Skills
    except ImportError:
        return None
    skills = Skills(store=None)

    def value_of(text: str) -> float | None:
        answer = skills.answer(text)
        result = getattr(answer, "result", None) or {}
        value = result.get("value")
        return None if value is None else float(value)

    return value_of


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.tools.skill_eval", description=__doc__.split("\n")[0])
    p.add_argument("--heldout", action="store_true", help="the second held-out set (skill_corpus_heldout)")
    p.add_argument("--final", action="store_true", help="the third, final blind set (skill_corpus_final)")
    p.add_argument("--spoken", action="store_true", help="also through piper, espeak-ng and Whisper")
    p.add_argument("--voices", nargs="*", choices=list(VOICES), default=list(VOICES))
    p.add_argument("--no-typed", action="store_true", help="only the spoken runs")
    p.add_argument("--no-values", action="store_true", help="do not check the answers' numbers")
    p.add_argument("--cache", type=Path, help=f"where the synthesized WAVs are kept ({default_cache()})")
    p.add_argument("--json", type=Path, help="write every figure and item as JSON here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from app.skills import route

    name = "skill_corpus_heldout" if args.heldout else "skill_corpus_final" if args.final else None
    corpus = importlib.import_module(f"app.tools.{name}") if name else None
    phrasings, honesty = (PHRASINGS, HONESTY) if corpus is None else (corpus.PHRASINGS, corpus.HONESTY)
    value_of = None if args.no_values else skills_value_of()
    if value_of is None and not args.no_values:
        sys.stderr.write("skill_eval: app.skills has no Skills(...).answer: answers are not checked\n")
    results: dict[str, dict[str, Any]] = {}
    if not args.no_typed:
        results["typed"] = evaluate(route, phrasings, honesty, value_of=value_of)
        sys.stdout.write(format_report(results["typed"], "typed") + "\n\n")
        sys.stdout.flush()
    if args.spoken:
        spoken = evaluate_spoken(
            route,
            args.voices,
            value_of=value_of,
            cache=args.cache,
            progress=lambda m: sys.stderr.write(f"skill_eval: {m}\n"),
            corpus=corpus,
        )
        for name, r in spoken.items():
            title = f"spoken by {name} ({r['verbatim']}/{r['n'] + r['honesty']['n']} heard word for word)"
            sys.stdout.write(format_report(r, title) + "\n\n")
        results.update(spoken)
    sys.stdout.write(format_summary(results) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=repr), encoding="utf-8")
        sys.stdout.write(f"json: {args.json}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
