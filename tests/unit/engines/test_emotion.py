"""Unit tests of the emotion tagger on synthetic signals (fast, no models)."""

from __future__ import annotations

import json
import math
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.engines.emotion import TAGS, UNCERTAIN, EmotionTagger, VoiceFeatures, rate_from_words
from app.engines.emotion import voice as voice_analysis
from app.messages import EmotionTags, SpeechStyle
from app.pipeline.reply_style import prompt_note, reply_style
from app.tools.emotion_eval import LABEL_MAP, arousal_of, evaluate, format_report, map_label

SR = 16_000


def tone(
    f0: float | tuple[float, float] = 120.0,
    level_db: float = -20.0,
    dur: float = 2.0,
    syllables_per_s: float = 0.0,
    harmonics: int = 12,
    noise_db: float = -80.0,
    seed: int = 0,
) -> np.ndarray:
    """A harmonic complex (1/k amplitudes) at ``level_db`` dBFS RMS.

    ``f0`` may be ``(start, end)`` for an exponential glide; with
    ``syllables_per_s`` the amplitude is modulated like syllables.
    """
    n = int(dur * SR)
    t = np.arange(n) / SR
    if isinstance(f0, tuple):
        f = f0[0] * (f0[1] / f0[0]) ** (t / dur)
    else:
        f = np.full(n, float(f0))
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
    if syllables_per_s:
        x = x * (0.15 + 0.85 * np.sin(np.pi * syllables_per_s * t) ** 2)
    x = x / np.sqrt(np.mean(x**2)) * 10 ** (level_db / 20)
    rng = np.random.default_rng(seed)
    x = x + rng.standard_normal(n) * 10 ** (noise_db / 20)
    return x.astype(np.float32)


def voice(f0: float = 120.0, level_db: float = -26.0, dur: float = 2.0, seed: int = 0) -> np.ndarray:
    """Speech-like: syllable-modulated harmonic tone with a gentle falling contour, padded with silence."""
    body = tone((f0 * 1.08, f0 * 0.92), level_db, dur, syllables_per_s=4.0, seed=seed)
    pad = (np.random.default_rng(seed + 1).standard_normal(int(0.3 * SR)) * 1e-4).astype(np.float32)
    return np.concatenate([pad, body, pad])


def all_finite(tags: EmotionTags) -> bool:
    nums = [tags.confidence, tags.arousal, tags.valence, *tags.scores.values()]
    return all(isinstance(v, float) and math.isfinite(v) for v in nums)


@pytest.fixture(scope="module")
def tagger() -> EmotionTagger:
    return EmotionTagger()


# ---------------------------------------------------------------- features


@pytest.mark.parametrize("f0", [120.0, 220.0])
def test_pitch_of_steady_tone(tagger: EmotionTagger, f0: float) -> None:
    v = tagger.analyze_voice(tone(f0, -20.0, 1.5))
    assert v.tracker in ("praat", "yin")
    assert v.f0_median_hz == pytest.approx(f0, rel=0.03)
    assert v.f0_mean_st == pytest.approx(12 * math.log2(f0 / 100), abs=0.5)
    assert v.f0_range_st < 1.0
    assert v.voiced_fraction > 0.8


def test_pitch_glide_has_range_and_movement(tagger: EmotionTagger) -> None:
    steady = tagger.analyze_voice(tone(120.0, -20.0, 1.5))
    glide = tagger.analyze_voice(tone((120.0, 240.0), -20.0, 1.5))
    assert glide.f0_range_st > 8.0  # an octave glide spans 12 st; p10-p90 covers 80 % of it
    assert glide.f0_velocity_st_s > 4.0  # 12 st in 1.5 s = 8 st/s
    assert glide.f0_final_slope_st_s > 4.0  # rising end
    assert steady.f0_velocity_st_s < 1.0
    assert glide.f0_mean_st > steady.f0_mean_st


def test_low_and_high_voices_order(tagger: EmotionTagger) -> None:
    low = tagger.analyze_voice(tone(120.0))
    high = tagger.analyze_voice(tone(220.0))
    assert high.f0_mean_st - low.f0_mean_st == pytest.approx(12 * math.log2(220 / 120), abs=0.5)


@pytest.mark.parametrize("level", [-30.0, -10.0])
def test_loudness_in_dbfs(tagger: EmotionTagger, level: float) -> None:
    v = tagger.analyze_voice(tone(150.0, level, 1.5))
    assert v.loudness_db == pytest.approx(level, abs=1.0)
    assert v.loudness_std_db < 1.0  # steady tone


def test_louder_is_louder_with_syllables(tagger: EmotionTagger) -> None:
    quiet = tagger.analyze_voice(voice(level_db=-30.0))
    loud = tagger.analyze_voice(voice(level_db=-10.0))
    assert loud.loudness_db - quiet.loudness_db == pytest.approx(20.0, abs=1.5)


def test_syllable_rate_and_pauses(tagger: EmotionTagger) -> None:
    slow = tagger.analyze_voice(tone(130.0, -20.0, 3.0, syllables_per_s=2.5))
    fast = tagger.analyze_voice(tone(130.0, -20.0, 3.0, syllables_per_s=6.0))
    assert slow.rate_syl_s == pytest.approx(2.5, rel=0.3)
    assert fast.rate_syl_s == pytest.approx(6.0, rel=0.3)
    gap = np.zeros(int(0.6 * SR), dtype=np.float32)
    v = tagger.analyze_voice(np.concatenate([tone(130.0, -20.0, 1.0), gap, tone(130.0, -20.0, 1.0)]))
    assert v.pause_count == 1
    assert v.mean_pause_s == pytest.approx(0.6, abs=0.1)
    assert v.pause_fraction == pytest.approx(0.6 / 2.6, abs=0.05)
    assert v.speech_s == pytest.approx(2.0, abs=0.15)


def test_spectral_tilt_follows_high_frequency_energy(tagger: EmotionTagger) -> None:
    dull = tagger.analyze_voice(tone(150.0, -20.0, 1.0, harmonics=4))
    bright = tagger.analyze_voice(tone(150.0, -20.0, 1.0, harmonics=30))
    assert bright.spectral_tilt_db > dull.spectral_tilt_db + 3.0


def test_jitter_and_shimmer_are_small_for_a_clean_tone(tagger: EmotionTagger) -> None:
    v = tagger.analyze_voice(tone(150.0, -20.0, 1.0))
    if v.tracker != "praat":
        pytest.skip("jitter/shimmer need praat-parselmouth")
    assert 0.0 <= v.jitter < 0.01
    assert 0.0 <= v.shimmer < 0.05


def test_other_rate_stereo_and_int_input(tagger: EmotionTagger) -> None:
    import soxr

    x = tone(200.0, -20.0, 1.0)
    x44 = soxr.resample(x, SR, 44_100).astype(np.float32)
    v = tagger.analyze_voice(np.stack([x44, x44], axis=1), 44_100)
    assert v.duration_s == pytest.approx(1.0, abs=0.01)
    assert v.f0_median_hz == pytest.approx(200.0, rel=0.03)
    v16 = tagger.analyze_voice((x * 32767).astype(np.int16))  # PCM integers are scaled to -1..1
    assert v16.f0_median_hz == pytest.approx(200.0, rel=0.03)
    assert v16.loudness_db == pytest.approx(-20.0, abs=1.0)


def test_yin_fallback_tracks_pitch(monkeypatch: pytest.MonkeyPatch, tagger: EmotionTagger) -> None:
    monkeypatch.setattr(voice_analysis, "load_parselmouth", lambda: None)
    for f0 in (120.0, 220.0):
        v = tagger.analyze_voice(tone(f0, -20.0, 1.0))
        assert v.tracker == "yin"
        assert v.f0_median_hz == pytest.approx(f0, rel=0.03)
        assert math.isnan(v.jitter)
    t = EmotionTagger()
    assert all_finite(t.tag(t.analyze_voice(voice())))


def test_features_to_dict_is_json_safe(tagger: EmotionTagger) -> None:
    d = tagger.analyze_voice(np.zeros(SR, dtype=np.float32)).to_dict()
    json.dumps(d, allow_nan=False)
    assert {f.name for f in fields(VoiceFeatures)} == set(d)


# ---------------------------------------------------------------- no speech


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros(SR, dtype=np.float32),  # silence
        np.zeros(0, dtype=np.float32),  # nothing
        tone(150.0, -20.0, 0.2),  # too short
        np.full(SR, np.nan, dtype=np.float32),  # garbage
        np.full(SR, 0.5, dtype=np.float32),  # DC
        (np.random.default_rng(0).standard_normal(SR) * 1e-5).astype(np.float32),  # mic hiss
    ],
    ids=["silence", "empty", "short", "nan", "dc", "hiss"],
)
def test_no_speech_is_uncertain_not_an_error(audio: np.ndarray) -> None:
    t = EmotionTagger()
    v = t.analyze_voice(audio)
    assert not v.has_speech
    tags = t.tag(v, "I am so angry!")
    assert tags.label in (UNCERTAIN, "neutral")
    assert tags.confidence == 0.0
    assert all_finite(tags)
    assert t.utterances_seen == 0  # does not touch the baseline
    assert prompt_note(tags) == ""
    assert reply_style(tags) == SpeechStyle()


@pytest.mark.parametrize(
    "audio",
    [
        (np.random.default_rng(1).standard_normal(2 * SR) * 0.3).astype(np.float32),  # loud noise
        np.clip(tone(180.0, 0.0, 2.0) * 4, -1, 1),  # clipped
        np.concatenate([np.zeros(SR), np.ones(10), np.zeros(SR)]).astype(np.float32),  # a click
        tone((80.0, 500.0), -15.0, 1.0),  # wild glide
    ],
)
def test_odd_audio_never_gives_nan(audio: np.ndarray) -> None:
    t = EmotionTagger()
    for _ in range(3):
        tags = t.tag(t.analyze_voice(audio), "hello there")
        assert all_finite(tags)
        assert -1.0 <= tags.arousal <= 1.0 and -1.0 <= tags.valence <= 1.0
        assert 0.0 <= tags.confidence <= 1.0
        assert tags.label in (*TAGS, UNCERTAIN)


# ---------------------------------------------------------------- baseline and fusion


def baseline(t: EmotionTagger, n: int = 4, level_db: float = -26.0) -> None:
    for i in range(n):
        t.tag(t.analyze_voice(voice(level_db=level_db, seed=i)))


def test_repeated_loud_input_drifts_towards_less_extreme_arousal() -> None:
    t = EmotionTagger()
    baseline(t)
    loud = t.analyze_voice(voice(level_db=-8.0, f0=150.0, seed=9))
    arousal = [t.tag(loud).arousal for _ in range(12)]
    assert arousal[0] > 0.3  # a shout against a normal baseline reads aroused
    assert all(b <= a + 1e-6 for a, b in zip(arousal, arousal[1:], strict=False))
    assert arousal[-1] < arousal[0] - 0.2  # ... but a loud speaker is not always angry


def test_reset_baseline_forgets_the_speaker() -> None:
    t = EmotionTagger()
    baseline(t)
    assert t.utterances_seen == 4
    t.reset_baseline()
    assert t.utterances_seen == 0
    assert t.baseline() == EmotionTagger().baseline()


def test_louder_higher_faster_reads_more_aroused_than_quieter_lower() -> None:
    t = EmotionTagger()
    baseline(t)
    import copy

    hi, lo = copy.deepcopy(t), copy.deepcopy(t)
    up = hi.tag(hi.analyze_voice(voice(f0=150.0, level_db=-14.0, seed=7)))
    down = lo.tag(lo.analyze_voice(voice(f0=105.0, level_db=-36.0, seed=7)))
    assert up.arousal > 0.3 > -0.3 > down.arousal
    assert up.label in ("angry", "happy", "anxious", "surprised", UNCERTAIN)
    assert down.label in ("calm", "sad", "neutral", UNCERTAIN)
    assert "loud" in up.cues or up.label == UNCERTAIN
    assert sum(up.scores.values()) == pytest.approx(1.0, abs=0.01)


def test_words_move_valence_but_do_not_override_the_voice() -> None:
    t = EmotionTagger()
    baseline(t)
    import copy

    same = t.analyze_voice(voice(seed=3))
    pos = copy.deepcopy(t).tag(same, "This is wonderful, I love it, thank you!")
    neg = copy.deepcopy(t).tag(same, "This is awful, I hate it, it is terrible.")
    assert pos.valence > 0.2 > -0.2 > neg.valence
    assert "negative words" in neg.cues or neg.label in ("neutral", UNCERTAIN)
    # a quiet, low, flat voice saying angry words is not tagged angry
    quiet = copy.deepcopy(t)
    tags = quiet.tag(
        quiet.analyze_voice(voice(f0=105.0, level_db=-38.0, seed=5)), "I am furious, this is stupid"
    )
    assert tags.label != "angry"
    assert tags.arousal < 0


def test_word_timestamps_give_the_rate(tagger: EmotionTagger) -> None:
    words = [
        ("Kids", 0.0, 0.3),
        ("are", 0.3, 0.45),
        ("talking", 0.45, 0.9),
        ("by", 1.5, 1.7),
        ("the", 1.7, 1.8),
    ]
    # syllables 1 + 1 + 2 + 1 + 1 = 6 over 1.8 s minus the 0.6 s gap
    assert rate_from_words(words) == pytest.approx(6 / 1.2, rel=0.01)
    assert math.isnan(rate_from_words([("hi", 0.0, 0.2)]))
    assert math.isnan(rate_from_words([]))
    t = EmotionTagger()
    baseline(t)
    v = t.analyze_voice(voice(seed=2))
    tags = t.tag(v, "kids are talking by the door", [(w, s, e) for w, s, e in words] + [("door", 1.8, 2.1)])
    assert all_finite(tags)
    t.tag(v, "x", [("bad", float("nan"), 1.0), ("x", 2.0, 1.0)])  # junk timestamps are ignored


def test_confidence_is_low_before_a_baseline_and_for_short_speech() -> None:
    t = EmotionTagger()
    first = t.tag(t.analyze_voice(voice(level_db=-26.0)))
    assert first.confidence < 0.8
    short = VoiceFeatures(duration_s=0.25, speech_s=0.25, loudness_db=-20.0)
    assert t.tag(short).label == UNCERTAIN


# ---------------------------------------------------------------- evaluation


def test_label_map_and_arousal_sides() -> None:
    assert map_label("disgust") == "angry"
    assert map_label("Fearful") == "anxious"
    assert map_label("unknown") is None
    assert set(LABEL_MAP.values()) <= set(TAGS)
    assert {t for t in TAGS if arousal_of(t) == "high"} == {"angry", "happy", "anxious", "surprised"}
    assert arousal_of(UNCERTAIN) == "low"


def test_evaluate_on_a_tiny_synthetic_set(tmp_path: Path) -> None:
    rows = []
    for i in range(4):
        sf.write(tmp_path / f"n{i}.wav", voice(level_db=-28.0, seed=i), SR)
        sf.write(tmp_path / f"a{i}.wav", voice(f0=160.0, level_db=-12.0, seed=10 + i), SR)
        rows += [f"n{i}.wav,neutral", f"a{i}.wav,angry"]
    rows.append("missing.wav,neutral")
    rows.append("x.wav,bored-to-death")
    (tmp_path / "labels.csv").write_text("filename,emotion\n" + "\n".join(rows) + "\n")
    r = evaluate(tmp_path, tmp_path / "labels.csv")
    for key in (
        "n",
        "accuracy",
        "majority_accuracy",
        "random_accuracy",
        "arousal_accuracy",
        "arousal_majority_accuracy",
        "per_class_recall",
        "confusion",
        "ms_per_utterance",
    ):
        assert key in r
    assert r["n"] == 8
    assert r["majority_accuracy"] == 0.5 and r["random_accuracy"] == 0.5
    assert set(r["per_class_recall"]) == {"neutral", "angry"}
    assert sum(sum(row.values()) for row in r["confusion"].values()) == 8
    assert r["ms_per_utterance"] > 0
    json.dumps(r, allow_nan=False)
    text = format_report(r)
    assert "accuracy" in text and "majority" in text and "ms per utterance" in text
    with pytest.raises(ValueError):
        evaluate(tmp_path / "nowhere", tmp_path / "labels.csv")


def test_tag_survives_a_broken_feature_object() -> None:
    t = EmotionTagger()
    bad = replace(VoiceFeatures(duration_s=1.0, speech_s=1.0, loudness_db=-20.0), f0_mean_st=float("inf"))
    tags = t.tag(bad)
    assert all_finite(tags)
