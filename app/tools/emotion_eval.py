"""Evaluate the emotion tagger on a folder of labelled recordings.

Used by ``hearken eval-emotion DIR --labels CSV [--json PATH]``.  The CSV has
the columns ``filename,emotion`` (others are ignored).  All files of one run
are one session of one :class:`~app.engines.emotion.EmotionTagger`, so the
speaker baseline builds up as it would in use; they are processed in a
shuffled order with a fixed seed, so labels do not arrive sorted and the
figures are reproducible.  No transcript is given: what is measured is the
voice.

Label mapping (dataset label -> tag), the one table for every dataset:

================  ==========  ==================================================
dataset label     tag         why
================  ==========  ==================================================
neutral           neutral
calm              calm
happy, joy        happy       happy/excited
excited           happy
sad, sadness      sad         sad/tired
tired, bored      sad         low arousal, negative
angry, anger      angry       angry/frustrated
frustrated        angry
disgust           angry       no disgust tag; in use it shows as irritation or
                              annoyance, the negative "angry/frustrated" tag
                              the assistant should respond to the same way
fearful, fear     anxious     anxious/fearful
anxious           anxious
surprised         surprised
surprise, ps      surprised   ("ps" = pleasant surprise in TESS)
================  ==========  ==================================================

Arousal-only scoring: high = angry, happy, anxious, surprised; low =
neutral, calm, sad.  A predicted ``uncertain`` counts as ``neutral`` (the
assistant treats it so), both for the tag accuracy and for arousal.

Baselines: ``majority_accuracy`` always says the most frequent true tag;
``random_accuracy`` is the expected accuracy of a uniform random guess over
the k tags present (1/k); ``stratified_random_accuracy`` guesses with the
label frequencies (sum of squared shares); for arousal, the majority side and
1/2.  ``balanced_accuracy`` (mean recall over the tags present) and
``arousal_balanced_accuracy`` do not reward leaning towards the frequent
labels: their chance levels are 1/k and 1/2 whatever the label mix.
"""

from __future__ import annotations

import csv
import logging
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings
from app.engines import registry
from app.engines.emotion import HIGH_AROUSAL_TAGS, SAMPLE_RATE, TAGS, UNCERTAIN

log = logging.getLogger(__name__)

LABEL_MAP: dict[str, str] = {
    "neutral": "neutral",
    "calm": "calm",
    "happy": "happy",
    "joy": "happy",
    "excited": "happy",
    "sad": "sad",
    "sadness": "sad",
    "tired": "sad",
    "bored": "sad",
    "angry": "angry",
    "anger": "angry",
    "frustrated": "angry",
    "disgust": "angry",
    "fearful": "anxious",
    "fear": "anxious",
    "anxious": "anxious",
    "surprised": "surprised",
    "surprise": "surprised",
    "ps": "surprised",
}


def map_label(label: str) -> str | None:
    """The tag for a dataset label, or None when it has no place in the tag set."""
    return LABEL_MAP.get(label.strip().lower())


def arousal_of(tag: str) -> str:
    return "high" if tag in HIGH_AROUSAL_TAGS else "low"


def _load(path: Path) -> np.ndarray:
    import soundfile as sf

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SAMPLE_RATE:
        import soxr

        x = soxr.resample(x, sr, SAMPLE_RATE)
    return np.ascontiguousarray(x, dtype=np.float32)


def read_labels(labels_csv: Path) -> list[tuple[str, str, str]]:
    """(filename, dataset label, tag) for each usable row."""
    rows: list[tuple[str, str, str]] = []
    with open(labels_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name, emo = (row.get("filename") or "").strip(), (row.get("emotion") or "").strip()
            tag = map_label(emo)
            if not name or tag is None:
                log.warning("skipping row %r: no file name or unknown emotion %r", name, emo)
                continue
            rows.append((name, emo, tag))
    return rows


def evaluate(directory: Path, labels_csv: Path, seed: int = 0) -> dict[str, Any]:
    """Tag every labelled file in ``directory`` as one session and score the tags."""
    directory, labels_csv = Path(directory), Path(labels_csv)
    rows = [r for r in read_labels(labels_csv) if (directory / r[0]).is_file()]
    if not rows:
        raise ValueError(f"no labelled audio files found in {directory} for {labels_csv}")
    random.Random(seed).shuffle(rows)
    tagger = registry.build("emotion", Settings())
    items: list[dict[str, Any]] = []
    spent = []
    for name, emo, truth in rows:
        audio = _load(directory / name)
        t0 = time.perf_counter()
        tags = tagger.tag(tagger.analyze_voice(audio, SAMPLE_RATE))
        spent.append(time.perf_counter() - t0)
        pred = "neutral" if tags.label == UNCERTAIN else tags.label
        items.append(
            {
                "file": name,
                "label": emo,
                "truth": truth,
                "predicted": tags.label,
                "confidence": tags.confidence,
                "arousal": tags.arousal,
                "valence": tags.valence,
                "cues": list(tags.cues),
                "correct": pred == truth,
                "arousal_correct": arousal_of(pred) == arousal_of(truth),
            }
        )
        log.debug("%s %s -> %s (%.2f)", name, truth, tags.label, tags.confidence)

    n = len(items)
    truths = [it["truth"] for it in items]
    counts = Counter(truths)
    present = [t for t in TAGS if t in counts]
    preds = ["neutral" if it["predicted"] == UNCERTAIN else it["predicted"] for it in items]
    a_counts = Counter(arousal_of(t) for t in truths)
    confusion = {t: {p: 0 for p in (*TAGS, UNCERTAIN)} for t in present}
    for it in items:
        confusion[it["truth"]][it["predicted"]] += 1
    recall = {
        t: round(sum(1 for tr, p in zip(truths, preds, strict=True) if tr == t and p == t) / counts[t], 4)
        for t in present
    }
    a_recall = {
        side: sum(1 for it in items if arousal_of(it["truth"]) == side and it["arousal_correct"])
        / a_counts[side]
        for side in a_counts
    }
    return {
        "n": n,
        "accuracy": round(sum(it["correct"] for it in items) / n, 4),
        "majority_accuracy": round(max(counts.values()) / n, 4),
        "majority_label": counts.most_common(1)[0][0],
        "random_accuracy": round(1.0 / len(present), 4),
        "stratified_random_accuracy": round(sum((c / n) ** 2 for c in counts.values()), 4),
        "arousal_accuracy": round(sum(it["arousal_correct"] for it in items) / n, 4),
        "arousal_majority_accuracy": round(max(a_counts.values()) / n, 4),
        "arousal_random_accuracy": 0.5,
        "per_class_recall": recall,
        "balanced_accuracy": round(sum(recall.values()) / len(recall), 4),
        "arousal_balanced_accuracy": round(sum(a_recall.values()) / len(a_recall), 4),
        "confusion": confusion,
        "uncertain_rate": round(sum(1 for it in items if it["predicted"] == UNCERTAIN) / n, 4),
        "ms_per_utterance": round(1000.0 * float(np.mean(spent)), 2),
        "ms_per_utterance_max": round(1000.0 * float(np.max(spent)), 2),
        "seed": seed,
        "items": items,
    }


def format_report(result: dict[str, Any]) -> str:
    """A plain-text report of :func:`evaluate`'s result."""
    lines = [
        f"Emotion tagger on {result['n']} utterances (one session, seed {result.get('seed', 0)})",
        f"  tag accuracy      {result['accuracy']:.1%}   majority {result['majority_accuracy']:.1%}"
        f"   random {result['random_accuracy']:.1%} (1/k)",
        f"  arousal accuracy  {result['arousal_accuracy']:.1%}   majority {result['arousal_majority_accuracy']:.1%}"
        "   random 50.0%",
        f"  balanced (mean recall): tags {result.get('balanced_accuracy', 0.0):.1%} (chance"
        f" {result['random_accuracy']:.1%}), arousal {result.get('arousal_balanced_accuracy', 0.0):.1%} (chance 50.0%)",
        f"  uncertain         {result.get('uncertain_rate', 0.0):.1%} (scored as neutral)",
        f"  cost              {result['ms_per_utterance']:.1f} ms per utterance",
        "",
        "  recall per tag:",
    ]
    for tag, r in result["per_class_recall"].items():
        lines.append(f"    {tag:<10} {r:.0%}")
    conf = result["confusion"]
    cols = [c for c in (*TAGS, UNCERTAIN) if any(row.get(c, 0) for row in conf.values())]
    lines += [
        "",
        "  confusion (rows: truth, columns: predicted):",
        "    " + " " * 10 + "".join(f"{c[:5]:>7}" for c in cols),
    ]
    for tag, row in conf.items():
        lines.append(f"    {tag:<10}" + "".join(f"{row.get(c, 0):>7}" for c in cols))
    return "\n".join(lines)
