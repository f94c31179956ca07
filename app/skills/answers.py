"""Skills: what a routed request does and what the assistant says about it.

``Skills.answer(text)`` plans a turn's answer: the call, the sentence to speak and a ``commit``
that performs what the turn asked (sets the timer) once the turn is really the user's (not a
speculative answer that the user talked over).  ``due()`` hands out what has gone off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from app.messages import Alarm, AlarmFired
from app.skills import calc, clock
from app.skills.alarms import AlarmBook, AlarmStore
from app.skills.honesty import TOPICS
from app.skills.router import SkillCall, route
from app.skills.spoken import say_duration, say_number

log = logging.getLogger(__name__)

CAPABILITIES = (
    "I can tell you the time and the date, set timers and reminders, do exact sums and convert units, "
    "and talk about most things I know. I run offline, so I can't get the news, the weather or anything online."
)
_DECLINES = {topic: reply for topic, _pattern, reply in TOPICS}
_PRONOUNS = {
    "my": "your",
    "me": "you",
    "i": "you",
    "myself": "yourself",
    "mine": "yours",
    "i'm": "you're",
    "am": "are",
    "your": "my",
    "you": "me",
}


def _second_person(text: str) -> str:
    """ "call my mother" -> "call your mother" (what the user said, said back to them)."""
    return " ".join(_PRONOUNS.get(w, w) for w in text.split())


@dataclass
class SkillAnswer:
    call: SkillCall
    text: str  # what to say
    result: dict[str, Any] = field(default_factory=dict)
    commit: Callable[[], None] | None = None  # the side effect, once the turn is confirmed

    def record(self) -> dict[str, Any]:
        """The report's ``"skill"`` entry."""
        return {"name": self.call.name, "args": dict(self.call.args), "result": dict(self.result)}


class Skills:
    """The local skills over one alarm store.  ``clock`` is wall-clock epoch seconds."""

    def __init__(
        self,
        store: AlarmStore | None = None,
        *,
        clock_fn: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
        clock_24h: bool | None = None,
    ) -> None:
        self.book = AlarmBook(store or AlarmStore(None), clock_fn)
        self.clock_fn = clock_fn
        self.tz = tz
        self.clock_24h = clock.uses_24h_clock() if clock_24h is None else clock_24h

    def warm_up(self) -> None:
        """Load what the first request would otherwise wait for: pint's unit registry (~150-290 ms
        measured on the first conversion), the time zone names, text2num."""
        calc.unit("kilometer")
        clock.zone_for("tokyo")
        route("what time is it")

    # ---------------- time ----------------
    def now(self) -> datetime:
        when = datetime.fromtimestamp(self.clock_fn(), self.tz)
        return when if self.tz is not None else when.astimezone()

    def _at(self, epoch: float) -> datetime:
        return (
            datetime.fromtimestamp(epoch, self.tz) if self.tz else datetime.fromtimestamp(epoch).astimezone()
        )

    def _when(self, due: float) -> str:
        at = self._at(due)
        day = (at.date() - self.now().date()).days
        said = clock.say_time(at, clock_24h=self.clock_24h)
        return {0: said, 1: f"tomorrow at {said}"}.get(day, f"on {at.strftime('%A')} at {said}")

    # ---------------- answering ----------------
    def answer(self, text: str) -> SkillAnswer | None:
        """The skill's answer to a request, or None when it is the LLM's to answer."""
        call = route(text, self.now())
        if call is None:
            return None
        try:
            return getattr(self, "_" + call.name.replace(".", "_"))(call)
        except calc.CalcError as e:
            return SkillAnswer(call, f"I can't work that out: {e}.", {"error": str(e)})
        except Exception:  # noqa: BLE001 - a skill's bug must never cost the turn: the LLM answers
            log.exception("skill %s failed on %r", call.name, text)
            return None

    def _time(self, call: SkillCall) -> SkillAnswer | None:
        place = call.args.get("place")
        now = self.now()
        if place:
            found = clock.zone_for(place)
            if found is None:
                return SkillAnswer(
                    call, f"I don't know the time zone of {place}.", {"error": "unknown place"}
                )
            zone, named = found
            there = now.astimezone(zone)
            said = clock.say_time(there, clock_24h=self.clock_24h)
            return SkillAnswer(
                call, f"In {named.title()} it's {said}.", {"time": there.isoformat(timespec="minutes")}
            )
        said = clock.say_time(now, clock_24h=self.clock_24h)
        return SkillAnswer(call, f"It's {said}.", {"time": now.isoformat(timespec="minutes")})

    def _date(self, call: SkillCall) -> SkillAnswer:
        offset = int(call.args.get("day_offset", 0))
        day = clock.local_day(self.now(), offset)
        verb = "was" if offset < 0 else "is"
        said = f"{clock.day_name(offset)} {verb} {clock.say_date(day)}"
        return SkillAnswer(call, f"{said}.", {"date": day.date().isoformat(), "weekday": day.strftime("%A")})

    def _timer_set(self, call: SkillCall) -> SkillAnswer:
        secs = float(call.args["seconds"])
        label = call.args.get("label", "")
        if secs > 7 * 86400:
            return SkillAnswer(call, "I can only set timers of up to a week.", {"error": "too long"})
        due = self.clock_fn() + secs
        result: dict[str, Any] = {"seconds": secs, "due": due}
        name = f"{label} timer" if label else "timer"
        running = len(self.book.pending("timer"))
        text = f"OK, {name} set for {say_duration(secs)}."
        if running:
            text = f"OK, another {name} for {say_duration(secs)}." if not label else text

        def commit() -> None:
            alarm = self.book.add("timer", label, due, secs)
            result["id"] = alarm.id

        return SkillAnswer(call, text, result, commit)

    def _timer_remaining(self, call: SkillCall) -> SkillAnswer:
        label = call.args.get("label", "")
        timers = self.book.find("timer", label)
        now = self.clock_fn()
        if not timers:
            return SkillAnswer(
                call, f"You have no {label + ' ' if label else ''}timer running.", {"timers": []}
            )
        parts = []
        for t in timers[:3]:
            left = say_duration(max(0.0, t.due - now))
            parts.append(
                f"{left} left on the {t.label + ' ' if t.label else ''}timer"
                if len(timers) > 1 or t.label
                else f"{left} left"
            )
        text = ("There's " if len(parts) == 1 else "There are ") + "; ".join(parts) + "."
        if len(timers) > 3:
            text += f" And {len(timers) - 3} more."
        return SkillAnswer(
            call, text, {"timers": [{"id": t.id, "left_s": round(t.due - now, 1)} for t in timers]}
        )

    def _timer_cancel(self, call: SkillCall) -> SkillAnswer:
        return self._cancel(call, "timer")

    def _cancel(self, call: SkillCall, kind: str) -> SkillAnswer:
        label = call.args.get("label", call.args.get("what", ""))
        every = bool(call.args.get("all"))
        found = self.book.find(kind, "" if every else label)
        noun = "reminder" if kind == "reminder" else "timer"
        if not found:
            return SkillAnswer(
                call,
                f"You have no {noun}s to cancel." if not label else f"I can't find a {noun} for {label}.",
                {"cancelled": []},
            )
        if len(found) > 1 and not every:
            # "cancel the timer" with several running: cancelling a guess would be worse than asking
            names = ", ".join(a.label or f"the {say_duration(a.duration or 0)} one" for a in found[:3])
            return SkillAnswer(
                call,
                f"You have {len(found)} {noun}s: {names}. Say which one, or all of them.",
                {"cancelled": [], "ambiguous": [a.id for a in found]},
            )
        ids = [a.id for a in found]

        def commit() -> None:
            for i in ids:
                self.book.cancel(i)

        if len(ids) == 1:
            a = found[0]
            what = (
                f"the {a.label} {noun}"
                if a.label and kind == "timer"
                else f"the {noun}"
                if kind == "timer"
                else f"the reminder to {_second_person(a.label)}"
                if a.label
                else "the reminder"
            )
            text = f"OK, I've cancelled {what}."
        else:
            text = f"OK, I've cancelled all {len(ids)} {noun}s."
        return SkillAnswer(call, text, {"cancelled": ids}, commit)

    def _reminder_set(self, call: SkillCall) -> SkillAnswer:
        args = call.args
        now = self.now()
        if args.get("delay_s") is not None:
            due = self.clock_fn() + float(args["delay_s"])
        else:
            hh, mm = (int(x) for x in args["at"].split(":"))
            at = now.replace(hour=hh, minute=mm, second=0, microsecond=0) + timedelta(
                days=int(args["day_offset"])
            )
            due = at.timestamp()
        what = args.get("what", "")
        said_what = _second_person(what)
        kind_word = (
            "wake you up" if what == "wake up" else f"remind you to {said_what}" if what else "remind you"
        )
        if args.get("delay_s") is not None:
            text = f"OK, I'll {kind_word} in {say_duration(float(args['delay_s']))}."
        else:
            text = (
                f"OK, I'll {kind_word} at {self._when(due)}"
                if self._at(due).date() == now.date()
                else f"OK, I'll {kind_word} {self._when(due)}"
            )
            text += "."
        result: dict[str, Any] = {"due": due, "at": self._at(due).isoformat(timespec="minutes")}

        def commit() -> None:
            alarm = self.book.add("reminder", what, due)
            result["id"] = alarm.id

        return SkillAnswer(call, text, result, commit)

    def _reminder_list(self, call: SkillCall) -> SkillAnswer:
        pending = self.book.pending("reminder")
        if not pending:
            return SkillAnswer(call, "You have no reminders set.", {"reminders": []})
        parts = [
            f"{'to ' + _second_person(a.label) if a.label else 'one'} {self._at_phrase(a.due)}"
            for a in pending[:3]
        ]
        head = "You have one reminder: " if len(pending) == 1 else f"You have {len(pending)} reminders: "
        return SkillAnswer(call, head + "; ".join(parts) + ".", {"reminders": [a.id for a in pending]})

    def _at_phrase(self, due: float) -> str:
        when = self._when(due)
        return when if when.startswith(("tomorrow", "on ")) else f"at {when}"

    def _reminder_cancel(self, call: SkillCall) -> SkillAnswer:
        return self._cancel(call, "reminder")

    def _calculate(self, call: SkillCall) -> SkillAnswer:
        value = calc.evaluate(call.args["expression"])
        exact = isinstance(value, Fraction) and value.denominator == 1
        said = say_number(value)
        text = f"{'That is' if exact else 'That is about'} {said}."
        return SkillAnswer(call, text, {"value": float(value), "exact": exact})

    def _convert(self, call: SkillCall) -> SkillAnswer:
        a = call.args
        src, dst = calc.unit(a["from"]), calc.unit(a["to"])
        value = calc.convert(float(a["value"]), src, dst)
        said_in = say_number(a["value"])
        text = f"{said_in} {calc.spoken_unit(src, a['value'])} is {say_number(value)} {calc.spoken_unit(dst, value)}."
        return SkillAnswer(call, text[0].upper() + text[1:], {"value": value})

    def _capabilities(self, call: SkillCall) -> SkillAnswer:
        return SkillAnswer(call, CAPABILITIES, {})

    def _decline(self, call: SkillCall) -> SkillAnswer:
        return SkillAnswer(call, _DECLINES[call.args["topic"]], {"declined": call.args["topic"]})

    # ---------------- what has gone off ----------------
    def alarms(self) -> tuple[Alarm, ...]:
        return tuple(self.book.pending())

    def cancel(self, alarm_id: int | None) -> int:
        """Cancel one alarm (or all, for None); how many were cancelled."""
        ids = [a.id for a in self.book.pending()] if alarm_id is None else [alarm_id]
        return sum(self.book.cancel(i) for i in ids)

    def due(self) -> list[AlarmFired]:
        fired = []
        for alarm, late in self.book.due():
            fired.append(AlarmFired(alarm, self.announcement(alarm, late), late))
        return fired

    def announcement(self, alarm: Alarm, late: bool = False) -> str:
        if alarm.kind == "timer":
            name = f"{alarm.label} timer" if alarm.label else f"{say_duration(alarm.duration or 0)} timer"
            text = f"Your {name} is done."
            if late:
                text = f"Your {name} went off while I was closed."
            return text
        what = _second_person(alarm.label)
        if what == "wake up":
            text = f"Time to wake up! It's {clock.say_time(self._at(alarm.due), clock_24h=self.clock_24h)}."
        else:
            text = f"Reminder: {what}." if what else "This is your reminder."
        if late:
            at = clock.say_time(self._at(alarm.due), clock_24h=self.clock_24h)
            text = f"While I was closed, a reminder came due at {at}: {what or 'no message'}."
        return text
