"""The time and the date, in the user's time zone, said the way people say them."""

from __future__ import annotations

import functools
import locale
import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, available_timezones

from app.skills.spoken import ordinal, words


def uses_24h_clock() -> bool:
    """Whether the user's locale writes times on a 24-hour clock (en_US: no; de_DE, en_GB: yes).
    Without a locale (C, POSIX) the assistant speaks English the American way: 12-hour."""
    try:
        name = locale.setlocale(locale.LC_TIME, "")
        if name in ("C", "POSIX") or name.startswith(("C.", "POSIX.")):
            return False
        fmt = locale.nl_langinfo(locale.T_FMT)
    except (AttributeError, ValueError, locale.Error):
        return False
    return "%H" in fmt or "%R" in fmt or "%T" in fmt


def _hour12(h: int) -> int:
    return h % 12 or 12


def _part_of_day(h: int) -> str:
    if h < 5:
        return "at night"
    if h < 12:
        return "in the morning"
    if h < 18:
        return "in the afternoon"
    return "in the evening"


def say_time(now: datetime, *, clock_24h: bool = False) -> str:
    """ "twenty past four in the afternoon", "quarter to nine in the morning", "noon";
    on a 24-hour clock "sixteen twenty"."""
    h, m = now.hour, now.minute
    if clock_24h and h:
        if m == 0:
            return f"{words(h)} hundred"
        return f"{words(h)} {'oh ' + words(m) if m < 10 else words(m)}"
    if m == 0 and h in (0, 12):
        return "midnight" if h == 0 else "noon"
    if m <= 30:
        hour, rel = h, "past"
        amount = {15: "quarter", 30: "half"}.get(m, "")
        left = m
    else:
        hour, rel = (h + 1) % 24, "to"
        left = 60 - m
        amount = "quarter" if left == 15 else ""
    if m == 0:
        return f"{words(_hour12(h))} o'clock {_part_of_day(h)}"
    if not amount:
        unit = "" if left % 5 == 0 else (" minute" if left == 1 else " minutes")
        amount = f"{words(left)}{unit}"
    if rel == "to" and hour in (0, 12):
        return f"{amount} to {'midnight' if hour == 0 else 'noon'}"
    if hour == 0:
        return f"{amount} past midnight"
    return f"{amount} {rel} {words(_hour12(hour))} {_part_of_day(hour)}"


def show_time(when: datetime, *, clock_24h: bool = False) -> str:
    """A clock time as written on screen: "16:20" or "4:20 PM"."""
    if clock_24h:
        return when.strftime("%H:%M")
    return f"{_hour12(when.hour)}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"


def say_date(day: datetime) -> str:
    """ "Wednesday, the second of December"."""
    return f"{day.strftime('%A')}, the {ordinal(day.day)} of {day.strftime('%B')}"


def day_name(offset: int) -> str:
    return {0: "Today", 1: "Tomorrow", -1: "Yesterday"}.get(offset, f"In {offset} days")


@functools.cache
def _zones_by_city() -> dict[str, str]:
    zones: dict[str, str] = {}
    for name in available_timezones():
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")):
            city = name.rsplit("/", 1)[1].replace("_", " ").lower()
            zones.setdefault(city, name)
    extra = {
        "new york": "America/New_York",
        "london": "Europe/London",
        "san francisco": "America/Los_Angeles",
        "washington": "America/New_York",
        "beijing": "Asia/Shanghai",
        "delhi": "Asia/Kolkata",
        "mumbai": "Asia/Kolkata",
        "bangalore": "Asia/Kolkata",
        "rome": "Europe/Rome",
        "sydney": "Australia/Sydney",
        "seattle": "America/Los_Angeles",
        "boston": "America/New_York",
        "miami": "America/New_York",
        "hong kong": "Asia/Hong_Kong",
        "california": "America/Los_Angeles",
        "texas": "America/Chicago",
        "china": "Asia/Shanghai",
        "japan": "Asia/Tokyo",
        "india": "Asia/Kolkata",
        "england": "Europe/London",
        "france": "Europe/Paris",
        "germany": "Europe/Berlin",
        "spain": "Europe/Madrid",
        "italy": "Europe/Rome",
    }
    zones.update(extra)
    return zones


def zone_for(place: str) -> tuple[tzinfo, str] | None:
    """The time zone of a city or country named in a request ("tokyo", "new york"), with the
    words that named it; else None."""
    words = re.sub(r"\s+", " ", place.lower().strip()).split()
    zones = _zones_by_city()
    for n in range(len(words), 0, -1):  # "sydney australia", "there in paris": the longest known name
        for start in range(len(words) - n + 1):
            said = " ".join(words[start : start + n])
            name = zones.get(said)
            if name:
                return ZoneInfo(name), said
    return None


def local_day(now: datetime, offset: int) -> datetime:
    return now + timedelta(days=offset)
