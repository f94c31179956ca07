"""Emotion tagging: voice cues + word cues -> arousal, valence and a plain tag.

Runs beside speech-to-text on every user utterance.  No PyPI package ships a
speech-emotion model, so this is built from the signal with a few
literature-based rules rather than a trained classifier:

- :mod:`.voice` measures the voice (:meth:`EmotionTagger.analyze_voice`: pure,
  thread-safe): pitch, loudness, speaking rate, pauses, spectral tilt,
  jitter/shimmer;
- :mod:`.words` reads the transcript: VADER valence, emotion words, the
  speaking rate from word timestamps;
- :mod:`.baseline` keeps the speaker's own running level per cue for the
  session (a loud speaker is not always angry);
- :mod:`.tagger` fuses them (:meth:`EmotionTagger.tag`) against prototype cue
  patterns from the vocal-expression literature.

Tags: neutral, calm, happy (happy/excited), sad (sad/tired), angry
(angry/frustrated), anxious (anxious/fearful), surprised; ``uncertain`` when
the evidence does not support any of them.  Nothing here raises on silent,
very short or odd input: it says ``uncertain`` with zero confidence instead.
How the assistant answers a user who sounds a certain way is the pipeline's
decision (:mod:`app.pipeline.reply_style`), not this engine's.
"""

from app.engines.emotion.tagger import (
    HIGH_AROUSAL_TAGS,
    MIN_CONFIDENCE,
    MIN_SIDE_CONFIDENCE,
    TAGS,
    UNCERTAIN,
    EmotionTagger,
)
from app.engines.emotion.voice import MAX_ANALYSIS_S, MIN_SPEECH_S, SAMPLE_RATE, VoiceFeatures
from app.engines.emotion.words import WordCues, rate_from_words, word_cues

__all__ = [
    "HIGH_AROUSAL_TAGS",
    "MAX_ANALYSIS_S",
    "MIN_CONFIDENCE",
    "MIN_SIDE_CONFIDENCE",
    "MIN_SPEECH_S",
    "SAMPLE_RATE",
    "TAGS",
    "UNCERTAIN",
    "EmotionTagger",
    "VoiceFeatures",
    "WordCues",
    "rate_from_words",
    "word_cues",
]
