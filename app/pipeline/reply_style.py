"""How to answer a user who sounds a certain way: a note for the LLM and a speaking style.

The emotion tagger (:mod:`app.engines.emotion`) only says how the user sounds;
this is the pipeline's decision of what to do about it.  :func:`prompt_note`
tells the LLM (a frustrated user gets a short, calm answer) and
:func:`reply_style` picks how the answer is spoken, in the engine-neutral terms
of :class:`~app.messages.SpeechStyle` that each TTS engine maps to its own knobs.
Both act only on tags at or above :data:`NOTE_CONFIDENCE`.
"""

from __future__ import annotations

import numpy as np

from app.engines.emotion import word_cues
from app.messages import EmotionTags, SpeechStyle

NOTE_CONFIDENCE = 0.4  # prompt_note / reply_style act only at or above this

_NOTES = {
    "angry": ("frustrated", "be calm, acknowledge it briefly and keep it short"),
    "sad": ("sad or tired", "be warm and gentle and keep it short"),
    "anxious": ("anxious", "be calm, reassuring and clear"),
    "happy": ("happy", "you can match their upbeat tone"),
    "surprised": ("surprised", "briefly clarify what happened"),
}


def prompt_note(tags: EmotionTags | None) -> str:
    """A short note for the LLM about how the user sounds; "" when there is nothing reliable to say."""
    if tags is None or tags.label not in _NOTES or not tags.confidence >= NOTE_CONFIDENCE:
        return ""
    how, advice = _NOTES[tags.label]
    parts = [("high arousal" if tags.arousal >= 0.3 else "low energy" if tags.arousal <= -0.3 else "")]
    parts += list(tags.cues[:3])
    why = ", ".join(p for p in parts if p)
    return f"The user sounds {how}" + (f" ({why})" if why else "") + f"; {advice}."


# The styles were tuned by ear on piper: sound lengths x1.12 / x1.08 / x0.95 / x0.9, noise 0.5 /
# 0.6 / 0.8 against its usual 0.667 and noise_w 0.7 / 0.75 / 0.9 against 0.8.  They are written
# as those exact ratios, so piper is asked for exactly the tuned numbers.
STYLES: dict[str, SpeechStyle] = {
    "neutral": SpeechStyle(),
    "calm": SpeechStyle(
        "calm", rate=1 / 1.12, expressiveness=0.5 / 0.667, timing_variation=0.7 / 0.8, volume=0.9
    ),
    "warm": SpeechStyle(
        "warm", rate=1 / 1.08, expressiveness=0.6 / 0.667, timing_variation=0.75 / 0.8, volume=0.92
    ),
    "bright": SpeechStyle(
        "bright", rate=1 / 0.95, expressiveness=0.8 / 0.667, timing_variation=0.9 / 0.8, volume=1.0
    ),
    "brisk": SpeechStyle("brisk", rate=1 / 0.9),
}
_STYLE_FOR = {
    "angry": "calm",
    "anxious": "calm",
    "sad": "warm",
    "happy": "bright",
    "surprised": "bright",
    "calm": "calm",
}


def reply_style(tags: EmotionTags | None, reply_text: str = "") -> SpeechStyle:
    """How to speak the reply to a user who sounds like ``tags``.

    Frustrated or anxious -> calm (slower, steadier, a little softer); sad ->
    warm; happy or surprised -> bright (slightly quicker, more expressive), but
    warm when the reply itself brings bad news; a neutral user who talks fast
    -> brisk.  The style moves from neutral towards the target in proportion to
    confidence (the pace as a change in the length of the sounds).
    """
    if tags is None or not tags.confidence >= NOTE_CONFIDENCE:
        return STYLES["neutral"]
    name = _STYLE_FOR.get(tags.label)
    if name is None:
        if tags.label == "neutral" and "fast" in tags.cues:
            name = "brisk"
        else:
            return STYLES["neutral"]
    if name == "bright" and reply_text.strip() and word_cues(reply_text).valence <= -0.3:
        name = "warm"
    target, base = STYLES[name], STYLES["neutral"]
    k = float(np.clip((tags.confidence - NOTE_CONFIDENCE) / 0.3 + 0.5, 0.5, 1.0))

    def toward(neutral: float, styled: float) -> float:
        return neutral + k * (styled - neutral)

    return SpeechStyle(
        name=name,
        rate=1.0 / toward(1.0 / base.rate, 1.0 / target.rate),
        expressiveness=toward(base.expressiveness, target.expressiveness),
        timing_variation=toward(base.timing_variation, target.timing_variation),
        volume=round(toward(base.volume, target.volume), 3),
    )
