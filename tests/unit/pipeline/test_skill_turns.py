"""Skills in the pipeline, on fakes: a skill answers instead of the LLM, what it does happens
only for a confirmed turn, and a timer going off is announced (chime, then words) unasked."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from app.messages import AlarmFired, AlarmsChanged, AssistantTurn, SkillUsed
from app.skills import Skills
from tests.fakes import ScriptedLlm, ScriptedStt, ToneTts, make_orchestrator, silence, speech
from tests.unit.pipeline.test_pipeline import events, feed, running, wait_for  # noqa: F401 - a fixture
from tests.unit.skills.test_skills import FakeClock

TZ = ZoneInfo("Europe/Paris")


def test_a_skill_answers_instead_of_the_llm_and_the_report_records_it(running):  # noqa: F811
    llm = ScriptedLlm()
    skills = Skills(clock_fn=FakeClock(datetime(2026, 12, 2, 9, 0, tzinfo=TZ)), tz=TZ, clock_24h=False)
    orch = running(
        make_orchestrator(stt=ScriptedStt(["What is twelve times thirteen?"]), llm=llm, skills=skills)
    )
    feed(orch, np.concatenate([silence(0.3), speech(1.0), silence(1.5)]))
    wait_for(lambda: orch.finished, 10)
    rep = orch.finished[0]
    assert rep["assistant_text"] == "That is 156."
    assert rep["skill"] == {
        "name": "calculate",
        "args": {"expression": "12 * 13"},
        "result": {"value": 156.0, "exact": True},
    }
    assert rep["latency_ms"]["voice_to_voice"] > 0
    assert llm.prompts == []  # the LLM was never asked (its warm-up aside)
    assert [m.role for m in orch.memory.snapshot()] == ["user", "assistant"]
    assert any(isinstance(e, SkillUsed) and e.name == "calculate" for e in events(orch))


def test_a_timer_is_set_by_a_confirmed_turn_then_goes_off_with_its_chime(running):  # noqa: F811
    clock = FakeClock(datetime(2026, 12, 2, 9, 0, tzinfo=TZ))
    skills = Skills(clock_fn=clock, tz=TZ, clock_24h=False)
    tts = ToneTts()
    sounds: list[tuple[str, int]] = []

    def sound(name: str, rate: int) -> np.ndarray:
        sounds.append((name, rate))
        return np.full(rate // 10, 0.2, np.float32)

    orch = running(
        make_orchestrator(
            stt=ScriptedStt(["Set it timer for five minutes."]), tts=tts, skills=skills, sound=sound
        )
    )
    feed(orch, np.concatenate([silence(0.3), speech(1.0), silence(1.5)]))
    wait_for(lambda: orch.finished, 10)
    assert orch.finished[0]["assistant_text"] == "OK, timer set for 5 minutes."
    (timer,) = skills.alarms()
    assert timer.kind == "timer" and timer.duration == 300
    seen = events(orch)
    assert any(isinstance(e, AlarmsChanged) and e.alarms == (timer,) for e in seen)

    clock.advance(300)
    wait_for(lambda: len(orch.finished) == 2, 10)
    alert = orch.finished[1]
    assert alert["assistant_text"] == "Your 5 minutes timer is done."
    assert alert["alarm"]["id"] == timer.id and alert["alarm"]["late"] is False
    assert alert["user_text"] == ""
    assert sounds == [("timer", orch.playback.sample_rate)]
    assert "Your 5 minutes timer is done." in tts.spoken
    seen = events(orch)
    assert any(isinstance(e, AlarmFired) and e.alarm.id == timer.id for e in seen)
    assert any(isinstance(e, AssistantTurn) and e.text == "Your 5 minutes timer is done." for e in seen)
    assert skills.alarms() == ()
    assert [m.role for m in orch.memory.snapshot()] == [
        "user",
        "assistant",
    ]  # the announcement is not history


def test_an_early_answer_the_user_talks_over_sets_nothing(running):  # noqa: F811
    """The speculative answer to "set a timer for five minutes" is dropped when the user goes on
    ("... no, ten"): only the whole turn's timer exists."""
    skills = Skills(clock_fn=FakeClock(datetime(2026, 12, 2, 9, 0, tzinfo=TZ)), tz=TZ, clock_24h=False)
    stt = ScriptedStt(
        ["set a timer for five minutes", "set a timer for five minutes", "set a timer for ten minutes"]
    )
    orch = running(make_orchestrator(stt=stt, skills=skills))
    # a pause long enough for a speculative answer, too short to end the turn, then more speech
    feed(orch, np.concatenate([silence(0.3), speech(0.6), silence(0.22), speech(0.6), silence(1.5)]))
    wait_for(lambda: orch.finished, 10)
    planned = [e.args["seconds"] for e in events(orch) if isinstance(e, SkillUsed)]
    assert planned[0] == 300 and planned[-1] == 600  # the early answer was planned, then dropped
    assert [a.duration for a in skills.alarms()] == [600]


def test_cancelling_from_the_window(running):  # noqa: F811
    skills = Skills(clock_fn=FakeClock(datetime(2026, 12, 2, 9, 0, tzinfo=TZ)), tz=TZ, clock_24h=False)
    skills.answer("set a timer for 2 minutes").commit()
    orch = running(make_orchestrator(skills=skills))
    (timer,) = orch.alarms()
    orch.cancel_alarm(timer.id)
    assert orch.alarms() == ()
    assert any(isinstance(e, AlarmsChanged) and e.alarms == () for e in events(orch))


def test_a_broken_alarm_store_never_stops_the_answers(running):  # noqa: F811
    """The alarms are checked on the thread that carries playback's events: a failing store is
    logged and the turns still play."""

    class BrokenSkills(Skills):
        def due(self):
            raise RuntimeError("database is locked")

    skills = BrokenSkills(clock_fn=FakeClock(datetime(2026, 12, 2, 9, 0, tzinfo=TZ)), tz=TZ, clock_24h=False)
    orch = running(make_orchestrator(skills=skills))
    feed(orch, np.concatenate([silence(0.3), speech(1.0), silence(1.5)]))
    wait_for(lambda: orch.finished, 10)
    assert orch.finished[0]["assistant_text"].startswith("Paris")
