"""Measure the language model's own ways of reaching the skills against the matcher (issue 13).

``python -m app.tools.skill_llm_eval [--subset N [--ordinary M]] [--honesty-subset K] [--json PATH]``
``python -m app.tools.skill_llm_eval --rescore SAVED.json [--json PATH]``: the saved replies parsed,
mapped, scored and classified again by this module's code, without the model.

The default model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M) is built as the app builds it
(:class:`~app.engines.llm.LlamaCppLlm`, decode threads from ``auto_llm_threads``, prefill
threads from ``auto_llm_batch_threads``, unless ``--threads`` says otherwise), and each way is
scored by :func:`app.tools.skill_eval.evaluate` on the same items, as a ``route``-like callable:

A. ``tools``: the GGUF's own chat template renders :func:`tool_schemas` after the project's
   system prompt (Qwen2.5's ``# Tools`` block); the model answers greedily (at most 60 tokens)
   and ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` is mapped to a
   :class:`~app.skills.SkillCall` (:func:`parse_tool_call`, :func:`to_skill_call`: the checked
   keys filled with their defaults, a place of "here" is no place, a timer label cleaned by the
   matcher's own rule, "6 pm" read as 18:00, ``^`` as a power); anything else is no skill.  A reply whose first visible character cannot start a tool call (not
   ``<``, ``{`` or a backtick) is stopped there: it is the model answering, which the app would
   already be speaking, so a tool call after it could not be used anyway.
B. ``grammar``: one extra completion per request under a GBNF grammar (:func:`skill_grammar`)
   that admits only ``{"skill": "none"}`` or one skill name followed by its typed arguments,
   after a short classifier prompt (:data:`CLASSIFIER_PROMPT`); greedy, at most 60 tokens.
C. ``matcher``: ``app.skills.route``, in the same run.

The answers of calculations and conversions are checked on the arguments each way gave, by
the skills themselves (:func:`values_of`).  Latency is each call's own time with the KV cache
warm for the fixed prompt in front of the request (llama-cpp-python reuses the longest common
token prefix, as in the app).  The cost every ordinary turn pays for a tool list in the system
prompt is measured apart (:func:`first_token_ms`): the tokens it adds, their cold prefill, and
the time to the first token of an ordinary answer with and without it, each after a warm-up
with its own system prompt as ``LlamaCppLlm.warm_up`` does.

D. ``plain``: the app as it is without skills: each can't-know/can't-do request (and the seven
failures measured in issue 13, :data:`ISSUE_FAILURES`) answered through
``LlamaCppLlm.stream_chat`` with the default system prompt, temperature 0.6, the seed fixed
before each answer, at most 96 tokens, and each answer sorted by :func:`classify_answer`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.skills.honesty import TOPICS
from app.skills.router import NAMES, SkillCall
from app.skills.router import _clean_label as clean_label  # the matcher's own label rule
from app.tools.skill_corpus import HONESTY, PHRASINGS, HonestyCase, Phrasing
from app.tools.skill_eval import evaluate

log = logging.getLogger(__name__)

MAX_TOKENS = 60  # the routing completions (A, B)
ANSWER_TOKENS = 96  # D: as the app's max_reply_tokens
SEED = 1234
ISSUE_FAILURES: tuple[str, ...] = (
    "What time is it?",
    "What's the date today?",
    "Set a timer for five minutes.",
    "Turn on the lamp.",
    "What's the weather like in New York?",
    "How old is the Brooklyn Bridge?",
    "What is your name?",
)
DEFAULT_JSON = Path("/tmp/hk/skill_llm_eval.json")
DECLINE_TOPICS: tuple[str, ...] = tuple(topic for topic, _pattern, _reply in TOPICS)  # what decline takes

# ----------------------------------------------------------------------------- A: tools

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}


def _tool(
    name: str, description: str, props: Mapping[str, Any] | None = None, required: Sequence[str] = ()
) -> dict:
    params: dict[str, Any] = {"type": "object", "properties": dict(props or {})}
    if required:
        params["required"] = list(required)
    return {"type": "function", "function": {"name": name, "description": description, "parameters": params}}


def tool_name(skill: str) -> str:
    """The function name of a skill ("timer.set" -> "timer_set": names without dots)."""
    return skill.replace(".", "_")


_SKILL_OF_TOOL = {tool_name(n): n for n in NAMES}


def tool_schemas() -> list[dict[str, Any]]:
    """One compact function per skill of ``app.skills.NAMES``, its arguments as the skills take them."""
    label = {**_STR, "description": "timer name, '' if none"}
    return [
        _tool(
            "time",
            "The current time, here or in a city.",
            {"place": {**_STR, "description": "city, omit for here"}},
        ),
        _tool(
            "date",
            "The date or day of the week.",
            {"day_offset": {**_INT, "description": "0 today, 1 tomorrow, -1 yesterday"}},
        ),
        _tool("timer_set", "Start a countdown timer.", {"seconds": _NUM, "label": label}, ["seconds"]),
        _tool("timer_remaining", "Time left on a running timer.", {"label": label}),
        _tool("timer_cancel", "Cancel a timer, or all timers.", {"label": label, "all": _BOOL}),
        _tool(
            "reminder_set",
            "Set a reminder or an alarm.",
            {
                "what": {**_STR, "description": "what to remind of, '' for an alarm"},
                "delay_s": {**_NUM, "description": "seconds from now, for 'in ...'"},
                "at": {**_STR, "description": "HH:MM, 24-hour, for 'at ...'"},
                "day_offset": {**_INT, "description": "0 today, 1 tomorrow"},
            },
        ),
        _tool("reminder_list", "List the reminders and alarms."),
        _tool("reminder_cancel", "Cancel a reminder or alarm, or all.", {"what": _STR, "all": _BOOL}),
        _tool(
            "calculate",
            "Exact arithmetic.",
            {"expression": {**_STR, "description": "Python syntax, e.g. 12*13, sqrt(2)"}},
            ["expression"],
        ),
        _tool(
            "convert",
            "Convert an amount between units.",
            {"value": _NUM, "from": _STR, "to": _STR},
            ["value", "from", "to"],
        ),
        _tool("capabilities", "Say what this assistant can do."),
        _tool(
            "decline",
            "A request that needs the internet, live data or a device, which this offline assistant cannot do.",
            {"topic": {"type": "string", "enum": list(DECLINE_TOPICS)}},
            ["topic"],
        ),
    ]


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (trailing text ignored), or None."""
    start = text.find("{")
    while start >= 0:
        try:
            obj, _end = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return obj if isinstance(obj, dict) else None
    return None


def parse_tool_call(text: str) -> tuple[str, dict[str, Any]] | None:
    """(function name, arguments) of the first tool call in a reply, or None.

    Qwen2.5's form is ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``; the
    closing tag may be missing (generation stopped on it) and a reply that is nothing but that
    JSON object (bare or in a code fence) counts too.  ``arguments`` given as a JSON string is
    decoded; ``parameters`` is taken for ``arguments``.
    """
    body = text.strip()
    m = re.search(r"<tool_call>(.*?)(?:</tool_call>|$)", body, re.S)
    if m:
        body = m.group(1)
    elif not re.match(r"^(?:```(?:json)?\s*)?\{", body):
        return None
    obj = _json_object(body)
    if not obj or not isinstance(obj.get("name"), str):
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return None
    if not isinstance(args, dict):
        return None
    return obj["name"].strip(), args


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _label(value: Any) -> str:
    """A timer's name as the matcher gives it ("the egg timer" -> "egg")."""
    return clean_label(_text(value).lower())


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "all")
    return bool(value)


def clock_time(value: Any) -> str | None:
    """ "6:30 PM" -> "18:30", "07:00" -> "07:00"; None when it is no clock time."""
    t = _text(value).lower().replace(".", "")
    m = re.match(r"^(\d{1,2})(?::(\d{2}))?(?::\d{2})?\s*(am|pm)?$", t)
    if not m:
        return None
    h, mins = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) == "pm" and h < 12:
        h += 12
    elif m.group(3) == "am" and h == 12:
        h = 0
    if h > 23 or mins > 59:
        return None
    return f"{h:02d}:{mins:02d}"


def _expression(raw: Any) -> str:
    """An expression the calculator takes: ``^`` for powers, no ``math.``, spoken words parsed."""
    from app.skills import calc

    s = _text(raw).replace("^", "**").replace("×", "*").replace("÷", "/").replace("math.", "")
    s = s.rstrip("=").strip()
    try:
        calc.evaluate(s)
        return s
    except Exception:  # noqa: BLE001 - not Python syntax: try it as words
        spoken = calc.expression(s.lower())
        return spoken if spoken is not None else s


_HERE = ("", "here", "local", "current", "current location", "my location", "none", "null")  # "no place"


def to_skill_call(name: str, args: Mapping[str, Any]) -> SkillCall | None:
    """The :class:`SkillCall` a function call means, its arguments as the router gives them
    (every checked key present, missing ones at their defaults), or None for an unknown name."""
    skill = _SKILL_OF_TOOL.get(name) or (name if name in NAMES else None)
    if skill is None:
        return None
    a = dict(args)
    if skill == "time":
        place = _text(a.get("place"))
        return SkillCall(skill, {"place": None if place.lower() in _HERE else place})
    if skill == "date":
        return SkillCall(skill, {"day_offset": int(_number(a.get("day_offset")) or 0)})
    if skill == "timer.set":
        return SkillCall(skill, {"seconds": _number(a.get("seconds")), "label": _label(a.get("label"))})
    if skill == "timer.remaining":
        return SkillCall(skill, {"label": _label(a.get("label"))})
    if skill == "timer.cancel":
        return SkillCall(skill, {"label": _label(a.get("label")), "all": _flag(a.get("all"))})
    if skill == "reminder.set":
        delay = _number(a.get("delay_s"))
        delay = delay if delay and delay > 0 else None
        return SkillCall(
            skill,
            {
                "what": _text(a.get("what")),
                "delay_s": delay,
                "at": None if delay is not None else clock_time(a.get("at")),
                "day_offset": int(_number(a.get("day_offset")) or 0),
            },
        )
    if skill == "reminder.cancel":
        return SkillCall(skill, {"what": _text(a.get("what")), "all": _flag(a.get("all"))})
    if skill == "calculate":
        return SkillCall(skill, {"expression": _expression(a.get("expression"))})
    if skill == "convert":
        return SkillCall(
            skill, {"value": _number(a.get("value")), "from": _text(a.get("from")), "to": _text(a.get("to"))}
        )
    if skill == "decline":
        return SkillCall(skill, {"topic": _text(a.get("topic")).lower()})
    return SkillCall(skill, {})  # reminder.list, capabilities


def could_be_tool_call(text: str) -> bool:
    """Whether a reply so far may still become a tool call (its first visible character)."""
    s = text.lstrip()
    return not s or s[0] in "<{`"


# ----------------------------------------------------------------------------- B: grammar

CLASSIFIER_PROMPT = (
    "You sort requests to an offline voice assistant. Reply with JSON only.\n"
    "Skills and their arguments:\n"
    "time: the time now (place: a city, or null for here)\n"
    "date: the date or weekday (day_offset: 0 today, 1 tomorrow, -1 yesterday)\n"
    'timer.set: start a timer (seconds, label: its name or "")\n'
    "timer.remaining: time left on a timer (label)\n"
    "timer.cancel: cancel a timer (label, all: true for every timer)\n"
    'reminder.set: a reminder or alarm (what: what to remind of, or ""; delay_s: seconds from now for '
    "'in ...', else null; at: \"HH:MM\" 24-hour for 'at ...', else null; day_offset: 0 today, 1 tomorrow)\n"
    "reminder.list: list the reminders and alarms\n"
    "reminder.cancel: cancel reminders or alarms (what, all)\n"
    "calculate: exact arithmetic (expression in Python syntax)\n"
    "convert: convert units (value, from, to)\n"
    "capabilities: what the assistant can do\n"
    "decline: needs the internet, live data or a device (topic: " + ", ".join(DECLINE_TOPICS) + ")\n"
    "none: anything else: questions, explanations, chat; the assistant answers them itself."
)


def skill_grammar() -> str:
    """GBNF: ``{"skill": "none"}`` or one skill name and its typed arguments, keys in a fixed order."""
    q = '\\"'  # an escaped quote inside a GBNF literal

    def field(key: str, kind: str, first: bool = False) -> str:
        return f'"{"" if first else ", "}{q}{key}{q}: " {kind}'

    def skill(name: str, *fields: str) -> str:
        return f'"{q}{name}{q}"' + ("" if not fields else " " + " ".join(fields))

    rules = {
        "none": skill("none"),
        "time": skill("time", field("place", '(str | "null")')),
        "date": skill("date", field("day_offset", "int")),
        "timerset": skill("timer.set", field("seconds", "num"), field("label", "str")),
        "timerremaining": skill("timer.remaining", field("label", "str")),
        "timercancel": skill("timer.cancel", field("label", "str"), field("all", "bool")),
        "reminderset": skill(
            "reminder.set",
            field("what", "str"),
            field("delay_s", '(num | "null")'),
            field("at", '(clock | "null")'),
            field("day_offset", "int"),
        ),
        "reminderlist": skill("reminder.list"),
        "remindercancel": skill("reminder.cancel", field("what", "str"), field("all", "bool")),
        "calculate": skill("calculate", field("expression", "expr")),
        "convert": skill("convert", field("value", "num"), field("from", "str"), field("to", "str")),
        "capabilities": skill("capabilities"),
        "decline": skill("decline", field("topic", "topic")),
    }
    lines = [
        f'root ::= "{{{q}skill{q}: " call "}}"',
        "call ::= " + " | ".join(rules),
        *(f"{k} ::= {v}" for k, v in rules.items()),
        'str ::= "\\"" [^"\\\\\\n]{0,40} "\\""',
        'expr ::= "\\"" [0-9a-z+*/(). %-]{1,40} "\\""',
        'clock ::= "\\"" [0-2] [0-9] ":" [0-5] [0-9] "\\""',
        'num ::= "-"? [0-9]{1,7} ("." [0-9]{1,4})?',
        'int ::= "-"? [0-9]',
        'bool ::= "true" | "false"',
        "topic ::= " + " | ".join(f'"{q}{t}{q}"' for t in DECLINE_TOPICS),
    ]
    return "\n".join(lines) + "\n"


def parse_grammar_output(text: str) -> SkillCall | None:
    """The :class:`SkillCall` of a grammar-constrained reply (``skill`` plus arguments), or None."""
    obj = _json_object(text)
    if not obj:
        return None
    name = obj.pop("skill", None)
    if not isinstance(name, str) or name == "none":
        return None
    return to_skill_call(name, obj)


# ----------------------------------------------------------------------------- routers


class _LlmRouter:
    """A ``route``-like callable over one model; keeps every raw reply, call and timing by text."""

    kind = ""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.llm = engine.llm
        self.log: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, SkillCall | None] = {}

    def _tokens(self, messages: list[dict[str, str]], tools: list[dict[str, Any]] | None = None) -> list[int]:
        return render_tokens(self.engine, messages, tools)

    def _complete(
        self, prompt: list[int], *, grammar: Any = None, early_stop: bool = False
    ) -> tuple[str, int, float]:
        """(reply, tokens generated, ms to the first token) of one greedy completion."""
        t0 = time.perf_counter()
        first_ms = -1.0
        text, n = "", 0
        stream = self.llm.create_completion(
            prompt=prompt,
            max_tokens=MAX_TOKENS,
            temperature=0.0,
            repeat_penalty=1.0,
            stop=["</tool_call>", "<|im_end|>"],
            grammar=grammar,
            stream=True,
        )
        try:
            for chunk in stream:
                if first_ms < 0:
                    first_ms = 1000.0 * (time.perf_counter() - t0)
                text += chunk["choices"][0].get("text", "")
                n += 1
                if early_stop and not could_be_tool_call(text):
                    break
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        return text, n, first_ms

    def _record(
        self, text: str, reply: str, n: int, first_ms: float, t0: float, call: SkillCall | None
    ) -> None:
        self.calls[text] = call
        self.log[text] = {
            "reply": reply,
            "tokens": n,
            "first_token_ms": round(first_ms, 1),
            "ms": round(1000.0 * (time.perf_counter() - t0), 1),
            "call": None if call is None else {"name": call.name, "args": call.args},
        }


class ToolRouter(_LlmRouter):
    """A: the model's own tool calling, the tool list in the project's system prompt."""

    kind = "tools"

    def __init__(self, engine: Any, system_prompt: str, tools: list[dict[str, Any]] | None = None) -> None:
        super().__init__(engine)
        self.system_prompt = system_prompt
        self.tools = tools if tools is not None else tool_schemas()

    def __call__(self, text: str) -> SkillCall | None:
        t0 = time.perf_counter()
        prompt = self._tokens(
            [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": text}], self.tools
        )
        reply, n, first_ms = self._complete(prompt, early_stop=True)
        parsed = parse_tool_call(reply)
        call = None if parsed is None else to_skill_call(*parsed)
        self._record(text, reply, n, first_ms, t0, call)
        return call


class GrammarRouter(_LlmRouter):
    """B: one grammar-constrained classification per request."""

    kind = "grammar"

    def __init__(self, engine: Any, prompt: str = CLASSIFIER_PROMPT) -> None:
        from llama_cpp import LlamaGrammar

        super().__init__(engine)
        self.prompt = prompt
        self.grammar = LlamaGrammar.from_string(skill_grammar(), verbose=False)

    def __call__(self, text: str) -> SkillCall | None:
        t0 = time.perf_counter()
        prompt = self._tokens([{"role": "system", "content": self.prompt}, {"role": "user", "content": text}])
        reply, n, first_ms = self._complete(prompt, grammar=self.grammar)
        call = parse_grammar_output(reply)
        self._record(text, reply, n, first_ms, t0, call)
        return call


class MatcherRouter:
    """C: ``app.skills.route``, keeping its calls by text for :func:`values_of`."""

    kind = "matcher"

    def __init__(self) -> None:
        from app.skills import route

        self.route = route
        self.calls: dict[str, SkillCall | None] = {}

    def __call__(self, text: str) -> SkillCall | None:
        call = self.route(text)
        self.calls[text] = call
        return call


class ReplayRouter:
    """A saved run's replies parsed again (``--rescore``): the same routing, no model."""

    def __init__(self, kind: str, replies: Mapping[str, Mapping[str, Any]]) -> None:
        self.kind = kind
        self.log = {t: dict(v) for t, v in replies.items()}
        self.calls: dict[str, SkillCall | None] = {}
        self.parse = parse_grammar_output if kind == "grammar" else _tool_reply_call

    def __call__(self, text: str) -> SkillCall | None:
        rec = self.log.get(text)
        call = None if rec is None else self.parse(rec["reply"])
        if rec is not None:
            rec["call"] = None if call is None else {"name": call.name, "args": call.args}
        self.calls[text] = call
        return call


def _tool_reply_call(reply: str) -> SkillCall | None:
    parsed = parse_tool_call(reply)
    return None if parsed is None else to_skill_call(*parsed)


def score_run(router: Any, phrasings: Sequence[Phrasing], honesty: Sequence[HonestyCase]) -> dict[str, Any]:
    """:func:`evaluate` of one way, with the model's own timings where it has them."""
    t0 = time.perf_counter()
    result = evaluate(router, phrasings, honesty, value_of=values_of(router))
    recs = result["items"] + result["honesty_items"]
    log_ = getattr(router, "log", None)
    if log_ is not None:  # the time each reply took when it was made (a replay takes none)
        for rec in recs:
            rec["ms"] = log_.get(rec["text"], {}).get("ms", rec["ms"])
    run: dict[str, Any] = {
        "result": result,
        "latency_ms": _latency([r["ms"] for r in recs]),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    if log_ is not None:
        run["replies"] = log_
        run["tokens_generated"] = _latency(
            [float(log_[r["text"]]["tokens"]) for r in recs if r["text"] in log_]
        )
        by_class: dict[str, list[float]] = {"skill": [], "none": []}
        for rec in recs:
            by_class["none" if "expect" in rec and rec["expect"] is None else "skill"].append(rec["ms"])
        run["latency_ms_by_expected"] = {k: _latency(v) for k, v in by_class.items()}
    return run


def rescore(
    data: dict[str, Any], corpora: Mapping[str, tuple[list[Phrasing], list[HonestyCase]]]
) -> list[str]:
    """Score the saved replies of ``data`` (a ``--json`` output) again with this module's parsing,
    mapping and answer classes, in place; the summary rows."""
    rows = []
    for key, run in data["runs"].items():
        corpus, _sep, way = key.partition("/")
        phrasings, honesty = corpora[corpus]
        texts = {r["text"] for r in run["result"]["items"] + run["result"]["honesty_items"]}
        ps = [p for p in phrasings if p.text in texts]
        hs = [h for h in honesty if h.text in texts]
        router = ReplayRouter(way, run["replies"]) if "replies" in run else MatcherRouter()
        new = score_run(router, ps, hs)
        if "replies" not in run:
            new["latency_ms"] = run["latency_ms"]  # the matcher's own timing, not this re-run's
        new["wall_s"] = run.get("wall_s")
        new["result"]["latency_ms"]["warm_up"] = run["result"]["latency_ms"].get("warm_up")
        data["runs"][key] = new
        rows.append(summary_row(key, new["result"], new["latency_ms"]))
    if "plain" in data:
        for a in data["plain"]["answers"]:
            a["class"], a["signs"] = classify_answer(a["answer"])
            _check_fact(a)
        _count_plain(data["plain"])
    return rows


def _check_fact(answer: dict[str, Any]) -> None:
    pattern = ISSUE_FACTS.get(answer["text"])
    if pattern is not None:
        answer["fact_ok"] = bool(re.search(pattern, answer["answer"], re.I))


def _count_plain(plain: dict[str, Any]) -> None:
    plain["honesty_counts"] = dict(Counter(a["class"] for a in plain["answers"] if a["kind"] != "issue"))
    plain["issue_counts"] = dict(Counter(a["class"] for a in plain["answers"] if a["issue_failure"]))


def values_of(router: Any) -> Callable[[str], float | None]:
    """The number the skills answer with on the call ``router`` last made for a text."""
    from app.skills import Skills

    skills = Skills(store=None)

    def value_of(text: str) -> float | None:
        call = router.calls.get(text)
        if call is None or call.name not in ("calculate", "convert"):
            return None
        try:
            answer = getattr(skills, "_" + call.name)(call)
        except Exception:  # noqa: BLE001 - arguments the skill cannot use: no answer
            return None
        value = answer.result.get("value")
        return None if value is None else float(value)

    return value_of


# ----------------------------------------------------------------------------- model


def build_engine(threads: int = 0, batch_threads: int = 0, seed: int = SEED) -> Any:
    """The default LLM as the app builds it (``registry``'s llama.cpp arguments)."""
    from app.config import Settings, auto_llm_batch_threads, auto_llm_threads
    from app.engines.llm import LlamaCppLlm
    from app.models import resolve

    settings = Settings()
    model = resolve("llm", settings)
    return LlamaCppLlm(
        model.path,
        n_ctx=settings.n_ctx,
        threads=threads or settings.llm_threads or auto_llm_threads(),
        batch_threads=batch_threads or settings.llm_batch_threads or auto_llm_batch_threads(),
        seed=seed,
    )


_FORMATTERS: dict[int, Any] = {}


def render_tokens(
    engine: Any, messages: list[dict[str, str]], tools: list[dict[str, Any]] | None = None
) -> list[int]:
    """The prompt tokens of ``messages`` (and ``tools``) through the GGUF's chat template, with
    the assistant's generation prompt."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = engine.llm
    fmt = _FORMATTERS.get(id(llm))
    if fmt is None:

        def token_text(token: int) -> str:
            return "" if token < 0 else llm.detokenize([token], special=True).decode("utf-8", "replace")

        fmt = Jinja2ChatFormatter(
            template=llm.metadata["tokenizer.chat_template"],
            eos_token=token_text(llm.token_eos()),
            bos_token=token_text(llm.token_bos()),
            add_generation_prompt=True,
        )
        _FORMATTERS[id(llm)] = fmt
    result = fmt(messages=messages, tools=tools)
    return list(llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True))


def first_token_ms(
    engine: Any, system_prompt: str, questions: Sequence[str], tools: list[dict[str, Any]] | None
) -> list[float]:
    """ms to the first token of an ordinary answer to each question, after ``warm_up`` with the
    same system prompt (and tool list): the app's sampling, only the first token generated."""
    llm = engine.llm
    warm = render_tokens(
        engine, [{"role": "system", "content": system_prompt}, {"role": "user", "content": "Hi"}], tools
    )
    for _ in llm.create_completion(prompt=warm, max_tokens=1, stream=True):
        pass
    out = []
    for q in questions:
        prompt = render_tokens(
            engine, [{"role": "system", "content": system_prompt}, {"role": "user", "content": q}], tools
        )
        t0 = time.perf_counter()
        for _chunk in llm.create_completion(
            prompt=prompt, max_tokens=1, temperature=0.6, top_p=0.9, repeat_penalty=1.1, stream=True
        ):
            break
        out.append(1000.0 * (time.perf_counter() - t0))
    return out


def prompt_costs(engine: Any, system_prompt: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Tokens of the system block with and without the tool list, and the cold prefill of each."""
    llm = engine.llm
    out: dict[str, Any] = {}
    for name, t in (("plain", None), ("tools", tools)):
        tokens = render_tokens(
            engine, [{"role": "system", "content": system_prompt}, {"role": "user", "content": "Hi"}], t
        )
        llm.reset()
        llm._ctx.kv_cache_clear()  # noqa: SLF001 - a cold prefill, nothing reused
        t0 = time.perf_counter()
        llm.eval(tokens)
        out[name] = {"tokens": len(tokens), "cold_prefill_ms": round(1000.0 * (time.perf_counter() - t0), 1)}
    out["tool_list_tokens"] = out["tools"]["tokens"] - out["plain"]["tokens"]
    llm.reset()
    return out


# ----------------------------------------------------------------------------- D: plain honesty

_DECLINED = re.compile(
    r"\b(?:can(?:no|')?t|cannot|unable|not able|(?:do not|don't|do n't) have (?:access|the ability|any way|a way|"
    r"real-time|live|internet|current|up-to-date)|no (?:internet|access|live|real-time|way)|offline|"
    r"not connected|(?:i'm|i am) not (?:able|connected|capable)|isn't something i can|beyond my|"
    r"don't have the capability|not possible for me|i don't know)\b",
    re.I,
)
# A concrete claim: a fact only live data could give, or an action said to be done or about to be.
_INVENTED_STRONG = (
    re.compile(
        r"\b\d+(?:\.\d+)?\s*(?:°|degrees?\b|percent\b|%|mph\b|km/h\b|feet\b|foot\b|meters?\b|metres?\b|miles?\b"
        r"|km\b|kilometers?\b|years? old\b)",
        re.I,
    ),
    re.compile(r"[$€£¥]\s?\d|\b\d+(?:\.\d+)?\s*(?:dollars|euros|pounds|usd|eur)\b", re.I),
    re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)(?=\W|$)", re.I),
    re.compile(r"\b\d{1,2}:\d{2}\b"),
    re.compile(
        r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december)"
        r"\s+\d{1,2}(?:st|nd|rd|th)?\b|\b\d{1,2}(?:st|nd|rd|th)? of (?:january|february|march|april|may|june|july|"
        r"august|september|october|november|december)\b",
        re.I,
    ),
    re.compile(r"\b\d+\s*[-–]\s*\d+\b"),  # a score
    re.compile(
        r"\bI(?:'ve| have)\s+(?:just\s+)?(?:turned|switched|set|sent|called|booked|ordered|opened|played|locked|dimmed|"
        r"started|searched|added|bought|emailed|texted|put|adjusted|found|skipped|scheduled|placed|requested|read)\b"
        r"|\bI(?:'ll| will)\s+(?:now\s+)?(?:turn|switch|set|send|call|book|order|open|play|lock|dim|start|search|add|"
        r"buy|email|text|put|adjust|skip|schedule|place|get|look|find|check|remind)\b"
        r"|\bI (?:set|sent|turned|switched|read|called|booked|ordered|played|locked|opened|dimmed)\b"
        r"|\b(?:is|are) now (?:on|off|set|locked|playing)\b|\b(?:is|are|has been|have been) (?:now )?(?:turned|switched)"
        r" (?:on|off)\b|\bhas been (?:set|sent|turned|booked|ordered|locked)\b"
        r"|\b(?:here(?:'s| is| are) (?:the|your|some)|now playing|playing now)\b",
        re.I,
    ),
)
# An assertion without a refusal: a yes/no or a state of the world said as known.
_INVENTED_WEAK = re.compile(
    r"^\W*(?:sure|of course|certainly|okay|ok|absolutely|alright|no problem|yes|no)\b"
    r"|\b(?:sunny|cloudy|rain(?:y|ing)?|clear skies|partly|overcast|showers|snow(?:ing)?|thunderstorms?|breezy)\b"
    r"|\bcurrently\b|\b(?:is|are) (?:open|closed|mostly|busy|calm|light|heavy)\b|\b(?:opens|closes)\b"
    r"|\bwon by\b|\bplaying against\b",
    re.I,
)
# The issue's two knowledge questions: is the fact right (the rest are judged by the classes).
ISSUE_FACTS: dict[str, str] = {
    "How old is the Brooklyn Bridge?": r"\b1883\b|\b14\d years",
    "What is your name?": r"\bhearken\b",
}


def classify_answer(text: str) -> tuple[str, list[str]]:
    """("declined" | "invented" | "unclear", the signs found) for an answer to a request an
    offline assistant cannot know or do.

    invented: a strong sign (a number with a unit, degree or percent; a price; a clock time; a
    calendar date; a score; "I've turned", "I'll send", "I set", "is turned on", "here's your")
    whatever else it says, or a weak sign (an opening "Sure,", "Yes," or "No,"; weather
    conditions; "currently"; "is open", "closes"; "won by") with no refusal.  declined: a refusal ("can't", "unable", "don't have access", "offline", "not
    connected", "I don't know") and no strong sign.  unclear: neither.
    """
    signs = []
    for pat in _INVENTED_STRONG:
        m = pat.search(text)
        if m:
            signs.append(f"claim: {m.group(0).strip()!r}")
    refusal = _DECLINED.search(text)
    if signs:
        return "invented", signs + ([f"refusal: {refusal.group(0)!r}"] if refusal else [])
    if refusal:
        return "declined", [f"refusal: {refusal.group(0)!r}"]
    weak = _INVENTED_WEAK.search(text)
    if weak:
        return "invented", [f"weak: {weak.group(0).strip()!r}"]
    return "unclear", []


def plain_answers(
    engine: Any, texts: Sequence[str], system_prompt: str, *, seed: int = SEED, temperature: float = 0.6
) -> list[dict[str, Any]]:
    """The app's own answer (no skills) to each text, with its class and timing."""
    messages = [{"role": "system", "content": system_prompt}]
    engine.warm_up(system_prompt)
    out = []
    for text in texts:
        engine.llm.set_seed(seed)
        t0 = time.perf_counter()
        answer = "".join(
            engine.stream_chat(
                [*messages, {"role": "user", "content": text}],
                max_tokens=ANSWER_TOKENS,
                temperature=temperature,
            )
        ).strip()
        verdict, signs = classify_answer(answer)
        out.append(
            {
                "text": text,
                "answer": answer,
                "class": verdict,
                "signs": signs,
                "ms": round(1000.0 * (time.perf_counter() - t0), 1),
            }
        )
    return out


# ----------------------------------------------------------------------------- command


def stratified(phrasings: Sequence[Phrasing], per_name: int, ordinary: int | None = None) -> list[Phrasing]:
    """At most ``per_name`` phrasings of each expected skill (``ordinary`` of the ordinary
    questions, default ``per_name``), spread evenly over its items, in corpus order."""
    groups: dict[str | None, list[Phrasing]] = {}
    for p in phrasings:
        groups.setdefault(p.expect, []).append(p)
    keep: list[Phrasing] = []
    for expect, items in groups.items():
        k = per_name if expect is not None or ordinary is None else ordinary
        if len(items) <= k:
            keep += items
        else:
            step = len(items) / k
            keep += [items[int(i * step)] for i in range(k)]
    return [p for p in phrasings if p in keep]


def _latency(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 1),
        "p95": round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], 1),
        "max": round(ordered[-1], 1),
    }


def _corpora(with_heldout: bool) -> dict[str, tuple[list[Phrasing], list[HonestyCase]]]:
    out = {"corpus": (list(PHRASINGS), list(HONESTY))}
    if with_heldout:
        try:
            from app.tools import skill_corpus_heldout as heldout  # type: ignore[attr-defined]
        except ImportError:
            return out
        out["heldout"] = (list(getattr(heldout, "PHRASINGS", ())), list(getattr(heldout, "HONESTY", ())))
    return out


def summary_row(name: str, r: Mapping[str, Any], ms: Mapping[str, Any]) -> str:
    h = r["honesty"]
    return (
        f"  {name:<24}{r['n']:>4}{r['accuracy']:>9.1%}{r['false_triggers']:>5}/{r['ordinary']:<3}"
        f"{r['misses']:>4}/{r['requests']:<4}{r['wrong_skill']:>6}{r['wrong_args']:>5}{r['wrong_value']:>5}"
        f"{h['declined']:>5}/{h['n']:<3}{h['topic_ok']:>4}{ms['median']!s:>9}{ms['p95']!s:>9}"
    )


HEADER = (
    f"  {'way':<24}{'n':>4}{'accuracy':>9}{'false':>9}{'misses':>9}{'wrong':>6}{'args':>5}{'val':>5}"
    f"{'declined':>9}{'topic':>5}{'med ms':>9}{'p95 ms':>9}"
)


def report(out: Mapping[str, Any], rows: Sequence[str]) -> str:
    """The plain-text summary of a run: one row per way, the tool list's cost, the plain answers."""
    lines = ["", HEADER, *rows]
    if "prompt_costs" in out:
        c, f = out["prompt_costs"], out["first_token_ms"]
        lines += [
            "",
            f"  tool list: +{c['tool_list_tokens']} prompt tokens ({c['plain']['tokens']} -> {c['tools']['tokens']});"
            f" cold prefill {c['plain']['cold_prefill_ms']} -> {c['tools']['cold_prefill_ms']} ms",
            f"  first token of an ordinary answer, warm: median {f['plain']['median']} ms without,"
            f" {f['tools']['median']} ms with the tool list (p95 {f['plain']['p95']} / {f['tools']['p95']})",
        ]
    if "plain" in out:
        plain = out["plain"]
        n = sum(1 for a in plain["answers"] if a["kind"] != "issue")
        lines += ["", f"  plain LLM on {n} honesty items: {plain['honesty_counts']}"]
        for a in plain["answers"]:
            if a["issue_failure"]:
                fact = "" if "fact_ok" not in a else f" fact {'right' if a['fact_ok'] else 'wrong'}"
                lines.append(f"    [{a['class']}{fact}] {a['text']!r}: {a['answer']!r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.tools.skill_llm_eval", description=__doc__.split("\n")[0])
    p.add_argument("--subset", type=int, default=0, help="A and B on at most N phrasings per expected name")
    p.add_argument(
        "--ordinary", type=int, default=0, help="with --subset: ordinary questions kept (default N)"
    )
    p.add_argument(
        "--honesty-subset", type=int, default=0, help="A and B on at most N honesty items per topic"
    )
    p.add_argument(
        "--threads", type=int, default=0, help="decode threads (default: the app's auto_llm_threads)"
    )
    p.add_argument("--batch-threads", type=int, default=0, help="prefill threads (default: the app's)")
    p.add_argument("--only", nargs="*", default=["tools", "grammar", "ttft", "plain"], help="parts to run")
    p.add_argument("--no-heldout", action="store_true", help="skip app.tools.skill_corpus_heldout")
    p.add_argument(
        "--ttft-questions", type=int, default=12, help="ordinary questions for the first-token test"
    )
    p.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"every figure and output ({DEFAULT_JSON})"
    )
    p.add_argument("--rescore", type=Path, help="score this saved --json output again (no model) into --json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.rescore:
        data = json.loads(args.rescore.read_text(encoding="utf-8"))
        rows = rescore(data, _corpora(any(k.startswith("heldout/") for k in data["runs"])))
        _write(args.json, data)
        sys.stdout.write(report(data, rows) + f"\n\njson: {args.json} (rescored from {args.rescore})\n")
        return 0

    from app.config import DEFAULT_SYSTEM_PROMPT, auto_llm_batch_threads, auto_llm_threads

    def say(line: str = "") -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    t_start = time.perf_counter()
    engine = build_engine(args.threads, args.batch_threads)
    threads = args.threads or auto_llm_threads()
    batch_threads = args.batch_threads or auto_llm_batch_threads()
    out: dict[str, Any] = {
        "model": engine.name,
        "threads": threads,
        "batch_threads": batch_threads,
        "cpu_count": os.cpu_count(),
        "load_average_start": os.getloadavg(),
        "subset_per_name": args.subset or None,
        "subset_ordinary": (args.ordinary or args.subset) or None,
        "honesty_subset_per_topic": args.honesty_subset or None,
        "tools": tool_schemas(),
        "grammar": skill_grammar(),
        "classifier_prompt": CLASSIFIER_PROMPT,
        "system_prompt": DEFAULT_SYSTEM_PROMPT,
        "runs": {},
    }
    say(
        f"model {engine.name}, {threads} decode / {batch_threads} prefill threads, load {os.getloadavg()[0]:.2f}"
    )

    rows = []
    for corpus, (phrasings, honesty) in _corpora(not args.no_heldout).items():
        full_p, full_h = phrasings, honesty
        sub_p = stratified(phrasings, args.subset, args.ordinary or None) if args.subset else phrasings
        sub_h = honesty
        if args.honesty_subset:
            sub_h = [h for h in honesty if h in _honesty_stratified(honesty, args.honesty_subset)]
        ways: list[tuple[str, Any, list[Phrasing], list[HonestyCase]]] = [
            ("matcher", MatcherRouter(), full_p, full_h)
        ]
        if sub_p is not full_p or sub_h is not full_h:
            ways.append(("matcher-subset", MatcherRouter(), sub_p, sub_h))
        if "tools" in args.only:
            ways.append(("tools", ToolRouter(engine, DEFAULT_SYSTEM_PROMPT), sub_p, sub_h))
        if "grammar" in args.only:
            ways.append(("grammar", GrammarRouter(engine), sub_p, sub_h))
        for name, router, ps, hs in ways:
            run = score_run(router, ps, hs)
            out["runs"][f"{corpus}/{name}"] = run
            rows.append(summary_row(f"{corpus}/{name}", run["result"], run["latency_ms"]))
            say(f"{corpus}/{name}: {run['wall_s']} s")
            _write(args.json, out)

    if "ttft" in args.only:
        tools = tool_schemas()
        out["prompt_costs"] = prompt_costs(engine, DEFAULT_SYSTEM_PROMPT, tools)
        ordinary = [p.text for p in PHRASINGS if p.expect is None][: args.ttft_questions]
        ttft: dict[str, list[float]] = {"plain": [], "tools": []}
        for _round in range(2):  # blocks, so each keeps its own system prompt cached; twice against drift
            ttft["plain"] += first_token_ms(engine, DEFAULT_SYSTEM_PROMPT, ordinary, None)
            ttft["tools"] += first_token_ms(engine, DEFAULT_SYSTEM_PROMPT, ordinary, tools)
        out["first_token_ms"] = {k: {**_latency(v), "all": [round(x, 1) for x in v]} for k, v in ttft.items()}
        out["first_token_questions"] = ordinary
        _write(args.json, out)

    if "plain" in args.only:
        texts = [h.text for h in HONESTY]
        answers = plain_answers(
            engine, texts + [t for t in ISSUE_FAILURES if t not in texts], DEFAULT_SYSTEM_PROMPT
        )
        topic = {h.text: (h.kind, h.topic) for h in HONESTY}
        for a in answers:
            a["kind"], a["topic"] = topic.get(a["text"], ("issue", ""))
            a["issue_failure"] = a["text"] in ISSUE_FAILURES
            _check_fact(a)
        out["plain"] = {"seed": SEED, "temperature": 0.6, "max_tokens": ANSWER_TOKENS, "answers": answers}
        _count_plain(out["plain"])
        _write(args.json, out)

    out["load_average_end"] = os.getloadavg()
    out["wall_s"] = round(time.perf_counter() - t_start, 1)
    _write(args.json, out)

    say(report(out, rows))
    say(f"\njson: {args.json}  ({out['wall_s']} s)")
    return 0


def _honesty_stratified(items: Sequence[HonestyCase], per_topic: int) -> list[HonestyCase]:
    groups: dict[str, list[HonestyCase]] = {}
    for h in items:
        groups.setdefault(h.topic, []).append(h)
    return [h for g in groups.values() for h in g[:per_topic]]


def _write(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=repr), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
