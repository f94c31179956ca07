"""The reply-style policy: what the LLM is told and how the answer is spoken, per emotion tag."""

from __future__ import annotations

from app.engines.emotion import UNCERTAIN
from app.engines.tts import PiperTts
from app.messages import EmotionTags, SpeechStyle
from app.pipeline.reply_style import STYLES, prompt_note, reply_style


def make(label: str, conf: float = 0.8, arousal: float = 0.0, cues: tuple[str, ...] = ()) -> EmotionTags:
    return EmotionTags(label=label, confidence=conf, arousal=arousal, valence=0.0, cues=cues)


def test_prompt_note() -> None:
    note = prompt_note(make("angry", 0.8, 0.7, ("loud", "negative words")))
    assert "frustrated" in note and "high arousal" in note and "loud" in note and "calm" in note
    assert "sad" in prompt_note(make("sad", 0.7, -0.5))
    assert "anxious" in prompt_note(make("anxious", 0.7, 0.4))
    assert prompt_note(None) == ""
    assert prompt_note(make("neutral", 0.9)) == ""
    assert prompt_note(make(UNCERTAIN, 0.1)) == ""
    assert prompt_note(make("angry", 0.2, 0.7)) == ""  # low confidence: say nothing
    assert prompt_note(make("angry", float("nan"))) == ""


def test_reply_style() -> None:
    neutral = SpeechStyle()
    assert reply_style(None) == neutral
    assert reply_style(make("neutral", 0.9)) == neutral
    assert reply_style(make(UNCERTAIN, 0.1)) == neutral
    assert reply_style(make("angry", 0.2)) == neutral
    calm = reply_style(make("angry", 0.8))
    assert calm.name == "calm" and calm.rate < 1 / 1.05 and calm.expressiveness < neutral.expressiveness
    assert calm.volume <= 1.0
    bright = reply_style(make("happy", 0.8))
    assert bright.name == "bright" and bright.rate > 1.0 and bright.expressiveness > neutral.expressiveness
    assert reply_style(make("sad", 0.8)).name == "warm"
    assert reply_style(make("anxious", 0.8)).rate < 1.0
    # happy user, bad news: not bright
    assert reply_style(make("happy", 0.8), "Sorry, that failed and the file is lost.").name == "warm"
    assert reply_style(make("neutral", 0.8, cues=("fast",))).name == "brisk"
    # weaker confidence, smaller change
    weak = reply_style(make("angry", 0.45))
    assert calm.rate < weak.rate < 1.0


# The numbers each style was tuned with on piper: length_scale, noise_scale, noise_w_scale, volume.
PIPER_TUNED = {
    "neutral": (1.0, 0.667, 0.8, 1.0),
    "calm": (1.12, 0.5, 0.7, 0.9),
    "warm": (1.08, 0.6, 0.75, 0.92),
    "bright": (0.95, 0.8, 0.9, 1.0),
    "brisk": (0.9, 0.667, 0.8, 1.0),
}


def _piper(style: SpeechStyle, speaking_rate: float = 1.0) -> tuple[float, ...]:
    k = PiperTts.piper_knobs(style, speaking_rate)
    return k["length_scale"], k["noise_scale"], k["noise_w_scale"], k["volume"]


def test_each_style_asks_piper_for_exactly_the_numbers_it_was_tuned_with() -> None:
    assert set(STYLES) == set(PIPER_TUNED)
    for name, tuned in PIPER_TUNED.items():
        assert _piper(STYLES[name]) == tuned, name
        # the user's speaking rate divides the length, as it always has
        assert _piper(STYLES[name], 1.25) == (tuned[0] / 1.25, *tuned[1:]), name
    assert _piper(SpeechStyle()) == PIPER_TUNED["neutral"]
    # a sure tag gets the style itself
    assert _piper(reply_style(make("angry", 0.9))) == PIPER_TUNED["calm"]
    assert _piper(reply_style(make("happy", 0.9), "Sorry, that failed.")) == PIPER_TUNED["warm"]


def test_a_less_sure_tag_moves_piper_part_of_the_way() -> None:
    # confidence 0.46: 70 % of the way from neutral to calm, in piper's steps of 0.001
    assert _piper(reply_style(make("angry", 0.46))) == (1.084, 0.55, 0.73, 0.93)
    assert _piper(reply_style(make("sad", 0.43))) == (1.048, 0.627, 0.77, 0.952)
