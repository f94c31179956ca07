"""The skill corpus is well-formed and the evaluation counts what it says (no router needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from app.tools.skill_corpus import (
    DECLINE_TOPICS,
    HONESTY,
    HONESTY_KINDS,
    PHRASINGS,
    SKILL_NAMES,
    SPOKEN,
    HonestyCase,
    Phrasing,
)
from app.tools.skill_eval import args_mismatches, evaluate, format_report, format_summary, value_matches

CHECKED_ARGS = {
    "time": {"place"},
    "date": {"day_offset"},
    "timer.set": {"seconds", "label"},
    "timer.remaining": {"label"},
    "timer.cancel": {"label", "all"},
    "reminder.set": {"what", "delay_s", "at", "day_offset"},
    "reminder.list": set(),
    "reminder.cancel": {"what", "all"},
    "calculate": {"expression"},
    "convert": {"value", "from", "to"},
    "capabilities": set(),
    "decline": {"topic"},
}


def test_the_corpus_is_big_enough():
    assert len(PHRASINGS) >= 110
    assert sum(1 for p in PHRASINGS if p.expect is None) >= 30
    assert len(HONESTY) >= 36
    assert {p.expect for p in PHRASINGS if p.expect} == set(SKILL_NAMES)
    assert {h.topic for h in HONESTY} == set(DECLINE_TOPICS)
    assert 50 <= len(SPOKEN) <= 70


def test_texts_are_unique_and_spoken_ones_are_in_the_corpus():
    texts = [p.text for p in PHRASINGS] + [h.text for h in HONESTY]
    assert len(texts) == len(set(texts))
    assert len(set(SPOKEN)) == len(SPOKEN)
    assert set(SPOKEN) <= set(texts)
    phrased = {p.text for p in PHRASINGS}
    assert sum(1 for t in SPOKEN if t in phrased) >= 35
    assert sum(1 for t in SPOKEN if t not in phrased) >= 12
    assert any(p.expect is None for p in PHRASINGS if p.text in set(SPOKEN))


@pytest.mark.parametrize("item", PHRASINGS, ids=lambda p: p.text[:40])
def test_each_phrasing_is_well_formed(item: Phrasing):
    assert item.text.strip() == item.text and item.text
    if item.expect is None:
        assert not item.args and item.value is None
        return
    assert item.expect in SKILL_NAMES
    assert set(item.args) <= CHECKED_ARGS[item.expect]
    if item.value is not None:
        assert item.expect in ("calculate", "convert")
    if item.expect in ("calculate", "convert"):
        assert item.value is not None
    if item.expect == "decline":
        assert item.args["topic"] in DECLINE_TOPICS
    for key in ("seconds", "delay_s"):
        if item.args.get(key) is not None:
            assert isinstance(item.args[key], int | float) and item.args[key] > 0
    at = item.args.get("at")
    for hhmm in at if isinstance(at, tuple) else (at,) if at else ():
        h, m = hhmm.split(":")
        assert len(h) == len(m) == 2 and 0 <= int(h) < 24 and 0 <= int(m) < 60
    if "day_offset" in item.args:
        assert isinstance(item.args["day_offset"], int)


@pytest.mark.parametrize("case", HONESTY, ids=lambda h: h.text[:40])
def test_each_honesty_case_is_well_formed(case: HonestyCase):
    assert case.kind in HONESTY_KINDS and case.topic in DECLINE_TOPICS and case.text
    know = {"weather", "news", "prices", "sports", "traffic", "hours"}
    assert (case.kind == "cant_know") == (case.topic in know)


def test_the_measured_failures_are_in_the_honesty_set():
    texts = {h.text for h in HONESTY}
    for t in (
        "What's the weather like in New York?",
        "Turn on the lamp.",
        "Would you please turn on the living room lamp?",
    ):
        assert t in texts


# --------------------------------------------------------------------------- the evaluation


@dataclass
class Call:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


def test_arguments_compare_as_documented():
    assert not args_mismatches({"seconds": 300, "label": ""}, {"seconds": 300.2, "label": None})
    assert not args_mismatches({"at": ("06:30", "18:30")}, {"at": "18:30"})
    assert not args_mismatches({"what": "call my mom"}, {"what": "Call my Mom."})
    assert not args_mismatches({"place": None}, {"place": None})
    assert args_mismatches({"all": False}, {"all": 0})  # a bool is a bool
    assert args_mismatches({"day_offset": 0}, {"day_offset": None})
    assert args_mismatches({"seconds": 300}, {})
    assert args_mismatches({"place": "tokyo"}, {"place": None})
    assert value_matches(156, 156.5) and not value_matches(156, 158)


def test_evaluate_counts_a_false_trigger_a_miss_and_the_rest():
    phrasings = [
        Phrasing("set a timer for five minutes", "timer.set", {"seconds": 300}),  # ok
        Phrasing("remind me in ten minutes to stretch", "reminder.set", {"delay_s": 600}),  # miss
        Phrasing("I set the table yesterday", None),  # false trigger
        Phrasing("tell me a joke", None),  # ok
        Phrasing("what time is it", "time", {"place": None}),  # wrong skill
        Phrasing("what's the date tomorrow", "date", {"day_offset": 1}),  # wrong args
        Phrasing("what's 12 times 13", "calculate", value=156),  # wrong value
        Phrasing("what's 2 plus 2", "calculate", value=4),  # ok
        Phrasing("boom", "capabilities"),  # error
    ]
    honesty = [
        HonestyCase("turn on the lamp", "cant_do", "devices"),  # declined, right topic
        HonestyCase("what's the weather", "cant_know", "weather"),  # not declined
    ]
    answers = {
        "set a timer for five minutes": Call("timer.set", {"seconds": 300.0, "label": ""}),
        "I set the table yesterday": Call("timer.set", {"seconds": 0.0, "label": ""}),
        "what time is it": Call("date", {"day_offset": 0}),
        "what's the date tomorrow": Call("date", {"day_offset": 0}),
        "what's 12 times 13": Call("calculate", {"expression": "12*13"}),
        "what's 2 plus 2": Call("calculate", {"expression": "2+2"}),
        "turn on the lamp": Call("decline", {"topic": "devices"}),
    }

    def route(text: str) -> Call | None:
        if text == "boom":
            raise RuntimeError("boom")
        return answers.get(text)

    values = {"what's 12 times 13": 144.0, "what's 2 plus 2": 4.0}
    r = evaluate(route, phrasings, honesty, value_of=values.get)
    assert r["n"] == 9 and r["ordinary"] == 2 and r["requests"] == 7
    assert r["false_triggers"] == 1 and r["misses"] == 1
    assert r["wrong_skill"] == 1 and r["wrong_args"] == 1 and r["wrong_value"] == 1 and r["errors"] == 1
    assert r["correct"] == 3 and r["accuracy"] == round(3 / 9, 4)
    assert r["values_checked"] == 2
    assert r["confusion"]["none"] == {"timer.set": 1, "none": 1}
    assert r["confusion"]["reminder.set"] == {"none": 1}
    assert r["confusion"]["time"] == {"date": 1}
    by_text = {f["text"]: f["outcome"] for f in r["failures"]}
    assert by_text["I set the table yesterday"] == "false_trigger"
    assert by_text["remind me in ten minutes to stretch"] == "miss"
    assert r["honesty"]["n"] == 2 and r["honesty"]["declined"] == 1 and r["honesty"]["topic_ok"] == 1
    assert r["honesty"]["per_kind"]["cant_know"]["declined"] == 0
    assert [f["text"] for f in r["honesty_failures"]] == ["what's the weather"]
    assert r["latency_ms"]["median"] is not None
    report = format_report(r)
    assert "false_trigger" in report and "I set the table yesterday" in report
    assert "typed" in format_summary({"typed": r})


def test_evaluate_routes_what_was_heard():
    phrasings = [
        Phrasing("set a timer for five minutes", "timer.set", {"seconds": 300}),
        Phrasing("hi", None),
    ]
    seen = []

    def route(text: str) -> Call | None:
        seen.append(text)
        return Call("timer.set", {"seconds": 300}) if "timer" in text else None

    r = evaluate(
        route,
        phrasings,
        [],
        heard={"set a timer for five minutes": "Set a timer for 5 minutes."},
        warm_up=False,
    )
    assert seen == ["Set a timer for 5 minutes."]
    assert r["n"] == 1 and r["correct"] == 1
    assert r["items"][0]["heard"] == "Set a timer for 5 minutes."


# --------------------------------------------------------------------------- the second held-out set

import app.tools.skill_corpus as first_corpus  # noqa: E402
import app.tools.skill_corpus_heldout as heldout  # noqa: E402

CORPORA = {"first": first_corpus, "heldout": heldout}


def test_the_heldout_set_is_big_enough_and_covers_every_skill():
    requests = [p for p in heldout.PHRASINGS if p.expect is not None]
    assert len(heldout.PHRASINGS) >= 90 and len(requests) >= 60
    assert sum(1 for p in heldout.PHRASINGS if p.expect is None) >= 30
    assert len(heldout.HONESTY) >= 30
    assert {p.expect for p in requests} == set(SKILL_NAMES)
    assert set(DECLINE_TOPICS) <= set(heldout.DECLINE_TOPICS)
    assert {h.topic for h in heldout.HONESTY} == set(heldout.DECLINE_TOPICS)
    assert 25 <= len(heldout.SPOKEN) <= 40


def test_the_heldout_set_shares_no_text_with_the_first():
    def texts(corpus: Any) -> set[str]:
        return {" ".join(t.text.lower().strip(".?!").split()) for t in (*corpus.PHRASINGS, *corpus.HONESTY)}

    assert not texts(first_corpus) & texts(heldout)


@pytest.mark.parametrize("corpus", list(CORPORA.values()), ids=list(CORPORA))
def test_each_set_has_unique_texts_and_speaks_only_its_own(corpus: Any):
    texts = [p.text for p in corpus.PHRASINGS] + [h.text for h in corpus.HONESTY]
    assert len(texts) == len(set(texts))
    assert len(set(corpus.SPOKEN)) == len(corpus.SPOKEN)
    assert set(corpus.SPOKEN) <= set(texts)
    spoken = set(corpus.SPOKEN)
    assert any(p.expect is None for p in corpus.PHRASINGS if p.text in spoken)
    assert any(p.expect is not None for p in corpus.PHRASINGS if p.text in spoken)
    assert any(h.text in spoken for h in corpus.HONESTY)


@pytest.mark.parametrize("item", heldout.PHRASINGS, ids=lambda p: p.text[:40])
def test_each_heldout_phrasing_is_well_formed(item: Phrasing):
    test_each_phrasing_is_well_formed(item)  # the first set's rules


@pytest.mark.parametrize("case", heldout.HONESTY, ids=lambda h: h.text[:40])
def test_each_heldout_honesty_case_is_well_formed(case: HonestyCase):
    assert case.kind in HONESTY_KINDS and case.topic in heldout.DECLINE_TOPICS and case.text
    know = {"weather", "news", "prices", "sports", "traffic", "hours", "location"}
    assert (case.kind == "cant_know") == (case.topic in know)


@pytest.mark.parametrize("corpus", list(CORPORA.values()), ids=list(CORPORA))
def test_a_router_that_answers_as_labelled_scores_full_marks(corpus: Any):
    @dataclass
    class Call:
        name: str
        args: dict[str, Any] = field(default_factory=dict)

    def pick(want: Any) -> Any:
        return want[0] if isinstance(want, tuple) else want

    by_text = {p.text: p for p in corpus.PHRASINGS}
    topics = {h.text: h.topic for h in corpus.HONESTY}

    def route(text: str) -> Call | None:
        if text in topics:
            return Call("decline", {"topic": topics[text]})
        item = by_text.get(text)
        if item is None or item.expect is None:
            return None
        return Call(item.expect, {k: pick(v) for k, v in item.args.items()})

    def value_of(text: str) -> float | None:
        return by_text[text].value

    r = evaluate(route, corpus.PHRASINGS, corpus.HONESTY, value_of=value_of)
    assert r["accuracy"] == 1.0, format_report(r)
    assert r["honesty"]["rate"] == 1.0 and r["honesty"]["topic_ok"] == r["honesty"]["n"]


# --------------------------------------------------------------------------- the third, final set

import re  # noqa: E402

import app.tools.skill_corpus_final as final  # noqa: E402


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_the_final_set_is_big_enough_and_covers_every_skill():
    requests = [p for p in final.PHRASINGS if p.expect is not None]
    assert len(final.PHRASINGS) >= 70 and len(requests) >= 45
    assert sum(1 for p in final.PHRASINGS if p.expect is None) >= 25
    assert len(final.HONESTY) >= 25
    assert {p.expect for p in requests} == set(SKILL_NAMES)
    assert set(final.DECLINE_TOPICS) == set(heldout.DECLINE_TOPICS)
    assert {h.topic for h in final.HONESTY} == set(final.DECLINE_TOPICS)
    assert 20 <= len(final.SPOKEN) <= 35


def test_the_final_set_shares_no_text_with_the_other_two():
    def texts(corpus: Any) -> set[str]:
        return {_plain(t.text) for t in (*corpus.PHRASINGS, *corpus.HONESTY)}

    mine = texts(final)
    assert not mine & texts(first_corpus), sorted(mine & texts(first_corpus))
    assert not mine & texts(heldout), sorted(mine & texts(heldout))


def test_the_final_set_has_unique_texts_speaks_only_its_own_and_scores_as_labelled():
    assert len({_plain(t.text) for t in (*final.PHRASINGS, *final.HONESTY)}) == len(final.PHRASINGS) + len(
        final.HONESTY
    )
    test_each_set_has_unique_texts_and_speaks_only_its_own(final)
    test_a_router_that_answers_as_labelled_scores_full_marks(final)


@pytest.mark.parametrize("item", final.PHRASINGS, ids=lambda p: p.text[:40])
def test_each_final_phrasing_is_well_formed(item: Phrasing):
    test_each_phrasing_is_well_formed(item)  # the first set's rules


@pytest.mark.parametrize("case", final.HONESTY, ids=lambda h: h.text[:40])
def test_each_final_honesty_case_is_well_formed(case: HonestyCase):
    test_each_heldout_honesty_case_is_well_formed(case)  # the held-out set's rules
