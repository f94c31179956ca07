"""The emotion tagger: voice cues + word cues -> arousal, valence and a plain tag.

:meth:`EmotionTagger.tag` judges each voice cue (:mod:`.voice`) against the
speaker's own running baseline for this session (:mod:`.baseline`), adds word
cues from the transcript (:mod:`.words`), and scores each tag against a
prototype cue pattern taken from the vocal-expression literature (Banse &
Scherer 1996; Juslin & Laukka 2003; Scherer 2003).  Arousal, the dimension
the voice shows most reliably, is a weighted sum of the z-scores, and a tag
must agree with it.  The voice decides; words only tip the balance between
tags the voice allows, and move valence.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.engines.emotion.baseline import session_baselines
from app.engines.emotion.voice import SAMPLE_RATE, VoiceFeatures, analyze, load_parselmouth
from app.engines.emotion.words import WordCues, rate_from_words, vader_scores, word_cues
from app.messages import EmotionTags

log = logging.getLogger(__name__)

TAGS: tuple[str, ...] = ("neutral", "calm", "happy", "sad", "angry", "anxious", "surprised")
UNCERTAIN = "uncertain"
HIGH_AROUSAL_TAGS = frozenset({"happy", "angry", "anxious", "surprised"})

MIN_CONFIDENCE = 0.2  # below this a non-neutral winner becomes "uncertain" ...
MIN_SIDE_CONFIDENCE = 0.45  # ... and so does one whose arousal side (high / low) is this unsure

_TAG_VALENCE = {
    "neutral": 0.0,
    "calm": 0.3,
    "happy": 0.8,
    "sad": -0.6,
    "angry": -0.7,
    "anxious": -0.6,
    "surprised": 0.2,
}


# Cue dimensions used by the tag prototypes (z units) and how much each counts.
_DIMS = (
    "loudness",
    "effort",
    "pitch",
    "pitch_range",
    "pitch_motion",
    "rate",
    "pauses",
    "irregularity",
    "final_rise",
)
_DIM_WEIGHT = np.array([1.0, 0.8, 0.7, 0.7, 0.4, 0.5, 0.4, 0.3, 0.4])
# Arousal: louder and more varied loudness, higher and livelier pitch, more
# vocal effort; speaking rate and pauses count little (an inconsistent cue
# across studies: Juslin & Laukka 2003; loudness and F0 lead in Eyben et al. 2016).
_AROUSAL_WEIGHTS: dict[str, float] = {
    "loudness": 0.35,
    "loudness_var": 0.10,
    "pitch": 0.20,
    "pitch_motion": 0.10,
    "effort": 0.10,
    "pitch_range": 0.05,
    "rate": 0.05,
    "pauses": -0.05,
}
# Typical direction and size of each cue per tag, from the vocal-expression
# literature (Banse & Scherer 1996; Juslin & Laukka 2003, table 7; Scherer 2003).
_PROTOTYPES: dict[str, tuple[float, ...]] = {
    #            loud  effort pitch range motion rate pauses irreg rise
    "neutral": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "calm": (-0.7, -0.6, -0.4, -0.5, -0.4, -0.5, 0.3, 0.0, 0.0),
    "happy": (0.8, 0.6, 1.2, 1.2, 0.8, 0.5, -0.3, 0.0, 0.3),
    "sad": (-1.0, -1.0, -0.2, -1.0, -0.8, -0.8, 0.8, 0.8, 0.0),
    "angry": (1.6, 1.6, 1.0, 0.8, 0.6, 0.5, -0.3, 0.3, -0.3),
    "anxious": (0.3, 0.3, 1.3, -0.2, 0.2, 1.0, 0.3, 1.0, 0.0),
    "surprised": (0.6, 0.4, 1.2, 1.6, 1.2, 0.0, 0.0, 0.0, 1.2),
}
_PROTO = np.array([_PROTOTYPES[t] for t in TAGS])
_TEMPERATURE = 1.5  # softens the Gaussian scores: the cues are noisy
# Arousal is what the voice shows most reliably, so a tag must agree with it:
# each tag's score moves by _AROUSAL_GAIN * arousal * its side (+1 high, -1 low),
# and neutral's falls by _AROUSAL_GAIN * |arousal|.
_AROUSAL_SIDE = np.array([0.0, -1.0, 1.0, -1.0, 1.0, 1.0, 1.0])  # order of TAGS
_AROUSAL_GAIN = 2.0
_WORD_VALENCE_GAIN = 1.0  # logits per unit of VADER compound, times the tag's valence
_WORD_HIT_GAIN = 0.8  # logits for an emotion word of that tag

# Plain words for a cue that is high / low against the baseline.
_CUE_WORDS: dict[str, tuple[str, str]] = {
    "loudness": ("loud", "quiet"),
    "effort": ("tense voice", "soft voice"),
    "pitch": ("raised pitch", "low pitch"),
    "pitch_range": ("lively intonation", "flat intonation"),
    "pitch_motion": ("lively intonation", "flat intonation"),
    "rate": ("fast", "slow"),
    "pauses": ("hesitant", "fluent"),
    "irregularity": ("shaky voice", "steady voice"),
    "final_rise": ("rising end", "falling end"),
}
_CUE_MIN_Z = 0.7
_HIT_WORDS = {
    "angry": "angry words",
    "sad": "sad words",
    "anxious": "worried words",
    "happy": "happy words",
    "surprised": "surprised words",
}


def _finite(x: float, default: float = 0.0) -> float:
    x = float(x)
    return x if math.isfinite(x) else default


class EmotionTagger:
    """Tags each user utterance; keeps the speaker's running baseline for the session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._base = session_baselines()
        self._n = 0
        # load the pitch tracker and the sentiment lexicon now, not on the first utterance
        load_parselmouth()
        try:
            vader_scores("")
        except Exception as e:  # pragma: no cover - vaderSentiment is a hard dependency
            log.warning("vaderSentiment unavailable (%s); word cues are off", e)

    @property
    def utterances_seen(self) -> int:
        return self._n

    def baseline(self) -> dict[str, tuple[float, float]]:
        """The session baseline per cue: (mean, spread)."""
        with self._lock:
            return {k: (r.mean, math.sqrt(r.var)) for k, r in self._base.items()}

    def __deepcopy__(self, memo: dict[int, Any]) -> EmotionTagger:
        other = EmotionTagger()
        with self._lock:
            for k, r in self._base.items():
                o = other._base[k]
                o.mean, o.var, o.n = r.mean, r.var, r.n
            other._n = self._n
        return other

    def reset_baseline(self) -> None:
        with self._lock:
            for r in self._base.values():
                r.reset()
            self._n = 0

    def analyze_voice(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> VoiceFeatures:
        """Measure the voice of one utterance (pure; thread-safe; never raises on odd audio)."""
        try:
            return analyze(audio, int(sample_rate))
        except Exception:  # a tagger must never take the turn down
            log.exception("voice analysis failed; treating the utterance as unmeasured")
            n = int(np.size(audio)) if audio is not None else 0
            return VoiceFeatures(duration_s=n / max(int(sample_rate), 1))

    # ---- fusion

    def _raw_cues(self, v: VoiceFeatures, rate: float) -> dict[str, float]:
        return {
            "loudness": v.loudness_db,
            "effort": v.spectral_tilt_db,
            "pitch": v.f0_mean_st,
            "pitch_range": v.f0_range_st,
            "pitch_motion": v.f0_velocity_st_s,
            "rate": rate,
            "pauses": v.pause_fraction,
            "loudness_var": v.loudness_std_db,
            "jitter": v.jitter,
            "shimmer": v.shimmer,
            "final_rise": v.f0_final_slope_st_s,
        }

    def tag(
        self,
        voice: VoiceFeatures,
        text: str = "",
        words: Sequence[tuple[str, float, float]] | None = None,
    ) -> EmotionTags:
        """Fuse voice and word cues into tags, then let this utterance update the baseline."""
        try:
            return self._tag(voice, text, words)
        except Exception:
            log.exception("emotion tagging failed")
            return EmotionTags(UNCERTAIN, 0.0, 0.0, 0.0, ("error",), {})

    def _tag(
        self, voice: VoiceFeatures, text: str, words: Sequence[tuple[str, float, float]] | None
    ) -> EmotionTags:
        if voice is None or not voice.has_speech:
            cue = "no speech" if voice is None or voice.speech_s <= 0 else "too short"
            return EmotionTags(UNCERTAIN, 0.0, 0.0, 0.0, (cue,), {})
        wc = word_cues(text)
        rate = voice.rate_syl_s
        if words:
            r = rate_from_words(words)
            if math.isfinite(r):
                rate = r
        raw = self._raw_cues(voice, rate)
        with self._lock:
            z = {k: self._base[k].z(x) for k, x in raw.items()}
            n_before = self._n
            for k, x in raw.items():
                self._base[k].update(x)
            self._n += 1
        irr = [z[k] for k in ("jitter", "shimmer") if math.isfinite(raw[k])]
        z["irregularity"] = float(np.mean(irr)) if irr else 0.0
        zv = np.array([z[d] for d in _DIMS])

        # arousal from the voice (a hint from "!" in the transcript)
        a_raw = sum(w * z[k] for k, w in _AROUSAL_WEIGHTS.items()) + (0.1 if wc.exclaim else 0.0)
        arousal = math.tanh(a_raw)

        # voice scores per tag, then word evidence on top
        voice_score = -0.5 * ((zv[None, :] - _PROTO) ** 2 @ _DIM_WEIGHT) / _TEMPERATURE
        voice_score += _AROUSAL_GAIN * arousal * _AROUSAL_SIDE
        voice_score[0] -= _AROUSAL_GAIN * abs(arousal)
        voice_score -= voice_score.max()
        word_score = np.zeros(len(TAGS))
        for i, t in enumerate(TAGS):
            word_score[i] = _WORD_VALENCE_GAIN * wc.valence * _TAG_VALENCE[t]
            if t in wc.hits:
                word_score[i] += _WORD_HIT_GAIN
        score = voice_score + word_score
        p = np.exp(score - score.max())
        p /= p.sum()
        pv = np.exp(voice_score)
        pv /= pv.sum()
        best = int(np.argmax(p))
        label = TAGS[best]

        # valence: the words when they carry sentiment, blended with the voice's reading
        v_voice = float(pv @ np.array([_TAG_VALENCE[t] for t in TAGS]))
        w_words = min(1.0, 2.0 * wc.sentiment) * 0.6 if text else 0.0
        valence = float(np.clip((1 - w_words) * v_voice + w_words * wc.valence, -1.0, 1.0))

        # confidence: the posterior, discounted for short / unvoiced speech and an immature baseline
        reliability = min(1.0, voice.speech_s / 1.0) * (0.5 + 0.5 * min(1.0, voice.voiced_fraction / 0.3))
        reliability *= 0.7 + 0.3 * min(1.0, n_before / 3.0)
        confidence = float(np.clip(p[best] * reliability, 0.0, 1.0))

        cues = self._describe(label, z, wc)
        side = _AROUSAL_SIDE == _AROUSAL_SIDE[best]
        side_conf = float(p[side].sum()) * reliability
        if label != "neutral" and (confidence < MIN_CONFIDENCE or side_conf < MIN_SIDE_CONFIDENCE):
            label = UNCERTAIN
        scores = {t: round(_finite(float(p[i])), 4) for i, t in enumerate(TAGS)}
        tags = EmotionTags(
            label=label,
            confidence=round(_finite(confidence), 4),
            arousal=round(_finite(float(np.clip(arousal, -1, 1))), 4),
            valence=round(_finite(valence), 4),
            cues=cues,
            scores=scores,
        )
        log.debug("emotion %s z=%s", tags, {k: round(v, 2) for k, v in z.items()})
        return tags

    @staticmethod
    def _describe(label: str, z: dict[str, float], wc: WordCues) -> tuple[str, ...]:
        """The cues that speak for ``label``, strongest first, in plain words."""
        if label not in _PROTOTYPES:
            return ()
        proto = _PROTOTYPES[label]
        found: list[tuple[float, str]] = []
        for i, d in enumerate(_DIMS):
            zz = z[d]
            if label == "neutral":  # only what stands out clearly (a fast talker gets brisk replies)
                keep = abs(zz) >= 1.0 and d == "rate"
            else:  # what deviates the way this tag does
                keep = abs(zz) >= _CUE_MIN_Z and proto[i] * zz > 0
            if keep:
                found.append((float(_DIM_WEIGHT[i]) * abs(zz), _CUE_WORDS[d][0 if zz > 0 else 1]))
        out: list[str] = []
        for _, w in sorted(found, key=lambda t: -t[0]):
            if w not in out:
                out.append(w)
        out = out[:3]
        tv = _TAG_VALENCE[label]
        if wc.valence <= -0.3 and tv < 0:
            out.append("negative words")
        elif wc.valence >= 0.3 and tv > 0:
            out.append("positive words")
        if label in wc.hits:
            out.append(_HIT_WORDS[label])
        return tuple(out)
