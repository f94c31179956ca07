"""From what Whisper writes to what a skill reads, and from numbers to what piper should say.

Whisper writes numbers as words or digits, punctuates and capitalises freely and mishears short
function words ("set it timer"); ``normalize`` undoes all of that once, so the patterns of
``app.skills.router`` see one spelling: lower case, digits, single spaces, no punctuation other
than the decimal point, ``:`` in clock times and ``%``.
"""

from __future__ import annotations

import re
from fractions import Fraction

from num2words import num2words
from text_to_num import alpha2digit

# Mishearings seen from Whisper tiny.en on short requests, fixed before matching.
_MISHEARD = (
    (re.compile(r"\bset (?:it|at|up) (?:a )?timer\b"), "set a timer"),
    (re.compile(r"\bset (?:a|the) time (?=for\b)"), "set a timer "),
    (re.compile(r"\bsat a timer\b"), "set a timer"),
    (re.compile(r"\bremind me too\b"), "remind me to"),
    (re.compile(r"\btimer's\b"), "timers"),
)
_WORD_FRACTIONS = (
    (re.compile(r"\b(\d+) and a half\b"), lambda m: f"{int(m.group(1)) + 0.5:g}"),
    (re.compile(r"\b(\d+) and a quarter\b"), lambda m: f"{int(m.group(1)) + 0.25:g}"),
    (re.compile(r"\b(?:a|an|1) (hour|minute|second) and a half\b"), lambda m: f"1.5 {m.group(1)}s"),
    (
        re.compile(r"\b(\d+) (hours?|minutes?|seconds?) and a half\b"),
        lambda m: f"{int(m.group(1)) + 0.5:g} {m.group(2).rstrip('s')}s",
    ),
    (re.compile(r"\b(?:a|one|1) and a half\b"), lambda m: "1.5"),
    (re.compile(r"\bhalf an? \b"), lambda m: "0.5 "),
    (re.compile(r"\ba quarter of an? \b"), lambda m: "0.25 "),
    (re.compile(r"\bthree quarters of an? \b"), lambda m: "0.75 "),
)
_PUNCT = re.compile(r"[^\w\s.:%'+\-*/^=,]")


def normalize(text: str) -> str:
    """Lower case, numbers as digits, no sentence punctuation, known mishearings fixed."""
    t = text.lower().replace("’", "'")
    t = t.replace("p.m.", "pm").replace("a.m.", "am").replace("o'clock", "oclock")
    t = re.sub(r"\$\s?(\d[\d,.]*)", r"\1 dollars ", t)
    t = re.sub(r"€\s?(\d[\d,.]*)", r"\1 euros ", t)
    t = re.sub(r"£\s?(\d[\d,.]*)", r"\1 pounds sterling ", t)
    t = _PUNCT.sub(" ", t)
    t = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", t)  # "two-minute": alpha2digit reads words apart
    t = re.sub(r"(\d),(\d{3})\b", r"\1\2", t)  # 1,000
    t = re.sub(r"(?<!\d)\.|\.(?!\d)|,", " ", t)  # sentence dots and commas, not 2.5
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"\ba (hundred|thousand|million)\b", r"one \1", t)
    t = alpha2digit(t, "en", threshold=0)  # only for matching: the LLM gets the words as said
    t = re.sub(r"\b1st\b", "first", t)
    t = re.sub(r"(\d)\s*%", r"\1 %", t)
    t = re.sub(r"(\d)(am|pm)\b", r"\1 \2", t)  # Whisper's "6pm"
    t = re.sub(r"(\d)-(hours?|minutes?|seconds?|mins?|secs?|hour|minute|second)\b", r"\1 \2", t)
    for pat, rep in _WORD_FRACTIONS:
        t = pat.sub(rep, t)
    for pat, fix in _MISHEARD:
        t = pat.sub(fix, t)
    return re.sub(r"\s+", " ", t).strip()


def number(token: str) -> float | None:
    """A number as ``normalize`` writes it ("5", "2.5", "a"/"an"/"one" = 1), else None."""
    if token in ("a", "an", "one"):
        return 1.0
    try:
        return float(token)
    except ValueError:
        return None


def say_number(value: float | Fraction, places: int = 2) -> str:
    """A number as digits piper reads well: integers whole, others rounded to ``places``."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return (
            f"{value.numerator:,}".replace(",", " ")
            if abs(value.numerator) >= 10**6
            else str(value.numerator)
        )
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if abs(v) >= 1e6 or (v != 0 and abs(v) < 10**-places):
        return f"{v:.3g}".replace("e+", " times ten to the ").replace("e-", " times ten to the minus ")
    return f"{v:.{places}f}".rstrip("0").rstrip(".")


def say_duration(seconds: float) -> str:
    """ "5 minutes", "1 hour and 30 minutes", "45 seconds" (rounded to whole seconds)."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    parts = []
    for n, unit in ((h, "hour"), (m, "minute"), (sec, "second")):
        if n:
            parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
    if not parts:
        return "0 seconds"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def words(n: int) -> str:
    """An integer in words ("twenty-two"), for the spoken clock."""
    return num2words(n)


def ordinal(n: int) -> str:
    return num2words(n, to="ordinal")
