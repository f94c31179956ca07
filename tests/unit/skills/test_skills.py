"""The skills without real time: a fake wall clock in a fixed time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.skills import AlarmStore, Skills, route
from app.skills.calc import CalcError, evaluate, expression
from app.skills.clock import say_date, say_time
from app.skills.spoken import normalize, say_duration

TZ = ZoneInfo("Europe/Paris")


class FakeClock:
    def __init__(self, when: datetime) -> None:
        self.t = when.timestamp()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def skills_at(when: datetime, store: AlarmStore | None = None) -> tuple[Skills, FakeClock]:
    clock = FakeClock(when)
    return Skills(store, clock_fn=clock, tz=TZ, clock_24h=False), clock


@pytest.mark.parametrize(
    ("h", "m", "said"),
    [
        (16, 20, "twenty past four in the afternoon"),
        (8, 45, "quarter to nine in the morning"),
        (9, 7, "seven minutes past nine in the morning"),
        (23, 58, "two minutes to midnight"),
        (12, 0, "noon"),
        (17, 0, "five o'clock in the afternoon"),
        (10, 30, "half past ten in the morning"),
    ],
)
def test_the_time_is_said_the_way_people_say_it(h, m, said):
    assert say_time(datetime(2026, 12, 2, h, m)) == said


def test_24_hour_clock_and_dates():
    assert say_time(datetime(2026, 12, 2, 16, 20), clock_24h=True) == "sixteen twenty"
    assert say_time(datetime(2026, 12, 2, 9, 5), clock_24h=True) == "nine oh five"
    assert say_date(datetime(2026, 12, 2)) == "Wednesday, the second of December"


def test_whisper_spellings_are_normalized_once():
    assert normalize("Set it timer for five minutes.") == "set a timer for 5 minutes"
    assert normalize("Remind me at 6pm.") == "remind me at 6 pm"
    assert normalize("A timer for two and a half minutes, please") == "a timer for 2.5 minutes please"
    assert normalize("What is 1,000 divided by 8?") == "what is 1000 divided by 8"
    assert say_duration(5400) == "1 hour and 30 minutes"


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("12 times 13", 156),
        ("15 % of 80", 12),
        ("square root of 144", 12),
        ("2 to the power of 10", 1024),
        ("minus 5 plus 3", -2),
        ("17 times 23 plus 4", 395),
    ],
)
def test_sums_are_exact(words, value):
    assert evaluate(expression(words)) == value


def test_no_sum_and_impossible_sums():
    assert expression("i have 2 cats and a dog") is None
    assert expression("5") is None
    with pytest.raises(CalcError):
        evaluate(expression("10 divided by 0"))


def test_the_measured_failures_get_true_answers():
    sk, _ = skills_at(datetime(2026, 12, 2, 16, 20, tzinfo=TZ))
    assert sk.answer("What time is it?").text == "It's twenty past four in the afternoon."
    assert sk.answer("What's the date today?").text == "Today is Wednesday, the second of December."
    lamp = sk.answer("Would you please turn on the living room lamp?")
    assert lamp.call.name == "decline" and "can't" in lamp.text
    weather = sk.answer("What's the weather like in New York?")
    assert weather.call.name == "decline" and "weather" in weather.text
    assert sk.answer("What is twelve times thirteen?").result["value"] == 156
    assert sk.answer("convert 5 miles to kilometers").result["value"] == pytest.approx(8.04672)
    assert sk.answer("what time is it over there in Tokyo?").text == ("In Tokyo it's twenty past midnight.")
    assert sk.answer("what time is it for you").text == "It's twenty past four in the afternoon."
    assert sk.answer("What is the capital of France?") is None
    assert sk.answer("How old is the Brooklyn Bridge?") is None  # the LLM's (a knowledge question)


def test_timers_are_set_only_when_committed_and_fire_once():
    sk, clock = skills_at(datetime(2026, 12, 2, 12, 0, tzinfo=TZ))
    ans = sk.answer("set a pasta timer for ten minutes")
    assert ans.text == "OK, pasta timer set for 10 minutes."
    assert sk.alarms() == ()  # an early answer does nothing until the turn is the user's
    ans.commit()
    sk.answer("set a timer for 30 seconds").commit()
    assert [a.label for a in sk.alarms()] == ["", "pasta"]
    clock.advance(60)
    assert "9 minutes left on the pasta timer" in sk.answer("how long is left on the pasta timer").text
    fired = sk.due()
    assert [f.text for f in fired] == ["Your 30 seconds timer is done."]
    assert sk.due() == []
    clock.advance(600)
    assert [f.text for f in sk.due()] == ["Your pasta timer is done."]
    assert sk.alarms() == ()


def test_cancel_one_or_all_timers():
    sk, _ = skills_at(datetime(2026, 12, 2, 12, 0, tzinfo=TZ))
    for q in ("set an egg timer for 5 minutes", "set a tea timer for 3 minutes", "set a timer for 1 hour"):
        sk.answer(q).commit()
    cancel = sk.answer("cancel the egg timer")
    assert cancel.text == "OK, I've cancelled the egg timer."
    cancel.commit()
    assert sorted(a.label for a in sk.alarms()) == ["", "tea"]
    unclear = sk.answer("cancel the timer")  # two are running: ask, don't guess
    assert unclear.text == "You have 2 timers: tea, the 1 hour one. Say which one, or all of them."
    assert unclear.commit is None
    every = sk.answer("cancel all timers")
    every.commit()
    assert sk.alarms() == ()
    assert sk.answer("cancel the timer").text == "You have no timers to cancel."


def test_reminders_resolve_clock_times_and_survive_a_restart(tmp_path):
    db = tmp_path / "history.sqlite3"
    sk, clock = skills_at(datetime(2026, 12, 2, 15, 0, tzinfo=TZ), AlarmStore(db))
    ans = sk.answer("Remind me to call my mother at six")
    assert ans.call.args["at"] == "18:00"  # the next six o'clock
    assert ans.text == "OK, I'll remind you to call your mother at six o'clock in the evening."
    ans.commit()
    wake = sk.answer("wake me up at 7 tomorrow")
    assert wake.call.args["at"] == "07:00" and wake.call.args["day_offset"] == 1
    wake.commit()
    sk.book.store.close()
    # the app restarts after the reminder's time: it fires once, late, and then never again
    later = FakeClock(datetime(2026, 12, 2, 18, 30, tzinfo=TZ))
    again = Skills(AlarmStore(db), clock_fn=later, tz=TZ, clock_24h=False)
    assert "call your mother" in again.answer("what are my reminders").text
    fired = again.due()
    assert len(fired) == 1 and fired[0].late and "call your mother" in fired[0].text
    assert again.due() == []
    assert [a.label for a in again.alarms()] == ["wake up"]
    again.book.store.close()
    third = Skills(AlarmStore(db), clock_fn=later, tz=TZ, clock_24h=False)
    assert third.due() == [] and len(third.alarms()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "what time complexity does quicksort have",
        "I need to remind myself to be patient",
        "how do weather forecasts work?",
        "who won the World Cup in 2010?",
        "my timer app is broken, any advice?",
        "Tell me a joke",
        "play a game with me",
        "Thunderstorms could produce large hail, isolated tornadoes and heavy rain.",  # a statement
        "I have to call my mom later",
    ],
)
def test_ordinary_talk_is_left_to_the_llm(text):
    assert route(text) is None
