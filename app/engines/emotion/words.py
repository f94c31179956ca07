"""Word cues for the emotion tagger: what the transcript says, and how fast it was said.

Valence from vaderSentiment, a few emotion words per tag and exclamation
(:func:`word_cues`); speaking rate from the speech-to-text word timestamps
(:func:`rate_from_words`).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_VOWELS = re.compile(r"[aeiouy]+")
_WORD = re.compile(r"[a-z']+")
_EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "angry": (
        "angry", "annoyed", "annoying", "furious", "frustrated", "frustrating", "hate", "stupid",
        "useless", "ridiculous", "damn", "mad", "irritated", "fed up", "sick of", "pissed",
    ),
    "sad": (
        "sad", "tired", "exhausted", "lonely", "depressed", "unhappy", "upset", "miserable", "cry",
        "crying", "hopeless", "heartbroken",
    ),
    "anxious": (
        "afraid", "scared", "worried", "worry", "nervous", "anxious", "panic", "terrified",
        "frightened", "stressed",
    ),
    "happy": (
        "happy", "glad", "awesome", "wonderful", "excited", "yay", "fantastic", "amazing", "delighted",
    ),
    "surprised": ("wow", "whoa", "no way", "seriously", "oh my", "unbelievable"),
}  # fmt: skip


def _syllables_in(word: str) -> int:
    w = word.lower().strip()
    if any(c.isdigit() for c in w):
        return max(1, sum(c.isdigit() for c in w))
    w = re.sub(r"[^a-z]", "", w)
    if not w:
        return 0
    n = len(_VOWELS.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ie", "ye")) and n > 1:
        n -= 1
    return max(n, 1)


def rate_from_words(words: Sequence[tuple[str, float, float]], min_gap_s: float = 0.25) -> float:
    """Syllables per second of speech from STT word timestamps (gaps >= ``min_gap_s`` excluded)."""
    items = []
    for w in words:
        try:
            text, start, end = str(w[0]), float(w[1]), float(w[2])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(start) and math.isfinite(end) and end >= start:
            items.append((text, start, end))
    if len(items) < 2:
        return math.nan
    items.sort(key=lambda t: t[1])
    syl = sum(_syllables_in(t) for t, _, _ in items)
    talk = items[-1][2] - items[0][1]
    for (_, _, e1), (_, s2, _) in zip(items, items[1:], strict=False):
        if s2 - e1 >= min_gap_s:
            talk -= s2 - e1
    return syl / talk if talk >= 0.2 else math.nan


_vader: Any = None
_vader_lock = threading.Lock()


def vader_scores(text: str) -> dict[str, float]:
    """VADER's polarity scores of ``text`` (the analyzer is built on the first call)."""
    global _vader
    with _vader_lock:
        if _vader is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _vader = SentimentIntensityAnalyzer()
        return dict(_vader.polarity_scores(text))


@dataclass(frozen=True)
class WordCues:
    """What the transcript of one utterance says about how the user feels."""

    valence: float = 0.0  # VADER compound, -1..1
    sentiment: float = 0.0  # share of sentiment-bearing words (VADER pos + neg)
    hits: tuple[str, ...] = ()  # tags whose emotion words occur
    exclaim: bool = False


def word_cues(text: str) -> WordCues:
    """Valence (VADER), emotion words and exclamation in a transcript."""
    t = (text or "").strip()
    if not t:
        return WordCues()
    try:
        s = vader_scores(t)
    except Exception:  # pragma: no cover - vaderSentiment is a hard dependency
        s = {}
    low = " " + " ".join(_WORD.findall(t.lower())) + " "
    hits = tuple(tag for tag, ws in _EMOTION_WORDS.items() if any(f" {w} " in low for w in ws))
    return WordCues(
        valence=float(s.get("compound", 0.0)),
        sentiment=float(s.get("pos", 0.0) + s.get("neg", 0.0)),
        hits=hits,
        exclaim="!" in t,
    )
