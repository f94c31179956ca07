"""Parsing the language model's tool calls and grammar replies into skill calls (no model needed)."""

from __future__ import annotations

import json

import pytest

from app.skills import NAMES, SkillCall
from app.tools.skill_corpus import PHRASINGS
from app.tools.skill_llm_eval import (
    classify_answer,
    clock_time,
    could_be_tool_call,
    parse_grammar_output,
    parse_tool_call,
    rescore,
    skill_grammar,
    stratified,
    to_skill_call,
    tool_name,
    tool_schemas,
)


def test_qwen_tool_call_with_tags() -> None:
    reply = '<tool_call>\n{"name": "timer_set", "arguments": {"seconds": 300, "label": ""}}\n</tool_call>'
    assert parse_tool_call(reply) == ("timer_set", {"seconds": 300, "label": ""})


def test_closing_tag_missing_when_generation_stopped_on_it() -> None:
    assert parse_tool_call('<tool_call>\n{"name": "time", "arguments": {}}') == ("time", {})


def test_bare_json_and_code_fence_count() -> None:
    assert parse_tool_call('{"name": "date", "arguments": {"day_offset": 1}}') == ("date", {"day_offset": 1})
    fenced = '```json\n{"name": "capabilities", "arguments": {}}\n```'
    assert parse_tool_call(fenced) == ("capabilities", {})


def test_arguments_as_json_string_and_parameters_key() -> None:
    reply = '<tool_call>{"name": "calculate", "arguments": "{\\"expression\\": \\"12*13\\"}"}</tool_call>'
    assert parse_tool_call(reply) == ("calculate", {"expression": "12*13"})
    assert parse_tool_call('{"name": "time", "parameters": {"place": "Tokyo"}}') == (
        "time",
        {"place": "Tokyo"},
    )


@pytest.mark.parametrize(
    "reply",
    [
        "It's a quarter past three.",
        "Sure! Here is a joke: {not json}",
        "<tool_call>\nnot json\n</tool_call>",
        '<tool_call>{"arguments": {}}</tool_call>',  # no name
        '{"name": "time", "arguments": [1, 2]}',
        "",
    ],
)
def test_no_tool_call(reply: str) -> None:
    assert parse_tool_call(reply) is None


def test_text_then_tool_call_is_found() -> None:
    reply = 'Let me set that.\n<tool_call>\n{"name": "timer_set", "arguments": {"seconds": 60}}\n</tool_call>'
    assert parse_tool_call(reply) == ("timer_set", {"seconds": 60})


def test_early_stop_only_once_the_reply_cannot_be_a_call() -> None:
    assert could_be_tool_call("")
    assert could_be_tool_call("  <tool")
    assert could_be_tool_call('{"na')
    assert could_be_tool_call("``")
    assert not could_be_tool_call("It")


def test_every_skill_has_one_tool() -> None:
    names = [t["function"]["name"] for t in tool_schemas()]
    assert names == [tool_name(n) for n in NAMES]
    assert all("." not in n for n in names)
    json.dumps(tool_schemas())


def test_mapping_fills_the_checked_arguments() -> None:
    assert to_skill_call("time", {}) == SkillCall("time", {"place": None})
    assert to_skill_call("time", {"place": "here"}) == SkillCall("time", {"place": None})
    assert to_skill_call("time", {"place": "Tokyo"}) == SkillCall("time", {"place": "Tokyo"})
    assert to_skill_call("date", {"day_offset": "1"}) == SkillCall("date", {"day_offset": 1})
    assert to_skill_call("timer_set", {"seconds": "300"}) == SkillCall(
        "timer.set", {"seconds": 300.0, "label": ""}
    )
    assert to_skill_call("timer.cancel", {"all": "true"}) == SkillCall(
        "timer.cancel", {"label": "", "all": True}
    )
    assert to_skill_call("reminder_list", {"x": 1}) == SkillCall("reminder.list", {})
    assert to_skill_call("decline", {"topic": "Weather"}) == SkillCall("decline", {"topic": "weather"})
    assert to_skill_call("joke", {}) is None


def test_timer_labels_are_cleaned_as_the_matcher_cleans_them() -> None:
    assert to_skill_call("timer_set", {"seconds": 60, "label": "Egg Timer"}).args["label"] == "egg"  # type: ignore[union-attr]
    assert to_skill_call("timer_cancel", {"label": "the pasta timer"}).args["label"] == "pasta"  # type: ignore[union-attr]


def test_rescore_parses_saved_replies_again_without_a_model() -> None:
    items = [PHRASINGS[0], next(p for p in PHRASINGS if p.expect is None)]
    saved = {
        items[0].text: {
            "reply": '{"name": "time", "arguments": {"place": "here"}}',
            "tokens": 16,
            "ms": 900.0,
        },
        items[1].text: {"reply": "The", "tokens": 1, "ms": 150.0},
    }
    run = {"result": {"items": [{"text": p.text} for p in items], "honesty_items": [], "latency_ms": {}}}
    data = {"runs": {"corpus/tools": {**run, "replies": saved}}}
    rows = rescore(data, {"corpus": (list(PHRASINGS), [])})
    result = data["runs"]["corpus/tools"]["result"]
    assert result["correct"] == 2 and result["false_triggers"] == 0
    assert data["runs"]["corpus/tools"]["latency_ms"]["max"] == 900.0  # the saved timings, not the replay's
    assert len(rows) == 1 and "corpus/tools" in rows[0]


def test_reminder_delay_wins_over_a_clock_time() -> None:
    call = to_skill_call("reminder_set", {"what": "stretch", "delay_s": 3600, "at": "14:00"})
    assert call == SkillCall(
        "reminder.set", {"what": "stretch", "delay_s": 3600.0, "at": None, "day_offset": 0}
    )
    call = to_skill_call("reminder_set", {"what": "x", "delay_s": 0, "at": "6 pm", "day_offset": 1})
    assert call is not None and call.args["delay_s"] is None and call.args["at"] == "18:00"


@pytest.mark.parametrize(
    ("said", "clock"),
    [
        ("6:30 PM", "18:30"),
        ("07:00", "07:00"),
        ("7 a.m.", "07:00"),
        ("12 am", "00:00"),
        ("25:00", None),
        ("", None),
    ],
)
def test_clock_time(said: str, clock: str | None) -> None:
    assert clock_time(said) == clock


def test_expressions_become_calculator_syntax() -> None:
    assert to_skill_call("calculate", {"expression": "25^2"}) == SkillCall(
        "calculate", {"expression": "25**2"}
    )
    assert to_skill_call("calculate", {"expression": "math.sqrt(144)"}).args["expression"] == "sqrt(144)"  # type: ignore[union-attr]
    assert to_skill_call("calculate", {"expression": "seven times eight"}).args["expression"] == "7 * 8"  # type: ignore[union-attr]


def test_grammar_output() -> None:
    assert parse_grammar_output('{"skill": "none"}') is None
    assert parse_grammar_output('{"skill": "timer.set", "seconds": 600, "label": "pasta"}') == SkillCall(
        "timer.set", {"seconds": 600.0, "label": "pasta"}
    )
    assert parse_grammar_output('{"skill": "decline", "topic": "media"}') == SkillCall(
        "decline", {"topic": "media"}
    )
    assert parse_grammar_output("garbage") is None


def test_grammar_names_every_skill_and_topic() -> None:
    g = skill_grammar()
    for name in NAMES:
        assert f'"\\"{name}\\""' in g
    assert g.startswith("root ::= ")


def test_grammar_compiles() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    llama_cpp.LlamaGrammar.from_string(skill_grammar(), verbose=False)


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("I can't check the weather: I run offline, with no internet connection.", "declined"),
        ("I'm sorry, I don't have access to live weather data.", "declined"),
        ("It's sunny and 72 degrees in New York today.", "invented"),
        ("I've turned on the lamp for you.", "invented"),
        ("Sure, the lamp is now on.", "invented"),
        ("Sure! Enjoy your evening.", "invented"),
        ("Bitcoin is trading at $43,000 right now.", "invented"),
        ("It's 3:45 PM.", "invented"),
        ("Today is October 5th, 2023.", "invented"),
        ("I can't see the score, but the Lakers won 110-102.", "invented"),
        ("The lamp is turned on.", "invented"),
        ("I read your new messages.", "invented"),
        ("Yes, the post office is open on Saturday.", "invented"),
        ("Arsenal is currently playing against Chelsea.", "invented"),
        ("That sounds like a lovely plan.", "unclear"),
    ],
)
def test_classify_answer(answer: str, verdict: str) -> None:
    assert classify_answer(answer)[0] == verdict


def test_stratified_subset_keeps_each_name() -> None:
    sub = stratified(PHRASINGS, 2, ordinary=5)
    names = {p.expect for p in PHRASINGS}
    assert {p.expect for p in sub} == names
    assert sum(p.expect is None for p in sub) == 5
    assert all(sum(p.expect == n for p in sub) <= 2 for n in names if n is not None)
    assert sub == [p for p in PHRASINGS if p in sub]
