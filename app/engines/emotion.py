"""Emotion tagger: voice cues + word cues -> arousal, valence and a plain tag.

Runs beside speech-to-text on every user utterance.  No PyPI package ships a
speech-emotion model, so this is built from the signal with a few
literature-based rules rather than a trained classifier:

1. :meth:`EmotionTagger.analyze_voice` measures the voice (pure, thread-safe):
   pitch (F0) level, range, movement and final contour from Praat's
   autocorrelation pitch tracker (via ``praat-parselmouth``; a numpy YIN
   tracker stands in when it is not installed), loudness and its variation,
   speaking rate (syllable nuclei on the energy envelope, after de Jong &
   Wempe 2009), pauses, spectral tilt (alpha ratio) and jitter/shimmer.
2. :meth:`EmotionTagger.tag` judges each cue against the speaker's own running
   baseline for this session (z-scores against a slowly adapting mean and
   variance that start from population priors for adult speech: a loud
   speaker is not always angry), adds word cues from the transcript
   (vaderSentiment for valence and a few emotion words), and scores each tag
   against a prototype cue pattern taken from the vocal-expression literature
   (Banse & Scherer 1996; Juslin & Laukka 2003; Scherer 2003).  Arousal,
   the dimension the voice shows most reliably, is a weighted sum of the
   z-scores, and a tag must agree with it.  The voice decides; words only tip
   the balance between tags the voice allows, and move valence.

Tags: neutral, calm, happy (happy/excited), sad (sad/tired), angry
(angry/frustrated), anxious (anxious/fearful), surprised; ``uncertain`` when
the evidence does not support any of them.  Nothing here raises on silent,
very short or odd input: it says ``uncertain`` with zero confidence instead.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from app.messages import EmotionTags, SpeechStyle

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
TAGS: tuple[str, ...] = ("neutral", "calm", "happy", "sad", "angry", "anxious", "surprised")
UNCERTAIN = "uncertain"
HIGH_AROUSAL_TAGS = frozenset({"happy", "angry", "anxious", "surprised"})

MIN_SPEECH_S = 0.3  # shorter (or silent) utterances are "uncertain"
MAX_ANALYSIS_S = 10.0  # longer utterances: only the last 10 s are measured (keeps the cost < 30 ms)
MIN_CONFIDENCE = 0.2  # below this a non-neutral winner becomes "uncertain" ...
MIN_SIDE_CONFIDENCE = 0.45  # ... and so does one whose arousal side (high / low) is this unsure
NOTE_CONFIDENCE = 0.4  # prompt_note / reply_style act only at or above this

_HOP = 160  # 10 ms frames at 16 kHz
_WIN = 400  # 25 ms analysis window
_NFFT = 512
_F0_FLOOR = 75.0
_F0_CEILING = 600.0
_PITCH_RATE = 8000  # the pitch tracker runs on a copy resampled to 8 kHz (F0 < 600 Hz)
_MIN_PAUSE_S = 0.2
_SILENCE_DBFS = -60.0


# --------------------------------------------------------------------------- features


@dataclass(frozen=True)
class VoiceFeatures:
    """What the voice of one utterance measured.  ``nan`` marks a cue that could not be measured.

    Pitch values in semitones are relative to 100 Hz; loudness is RMS in dBFS
    over the frames with speech.
    """

    duration_s: float  # length of the audio
    speech_s: float = 0.0  # time with speech (speech span less pauses)
    voiced_fraction: float = 0.0  # voiced share of the speech span
    f0_median_hz: float = math.nan
    f0_mean_st: float = math.nan  # pitch level
    f0_std_st: float = math.nan
    f0_range_st: float = math.nan  # 10th-90th percentile span
    f0_velocity_st_s: float = math.nan  # mean absolute pitch movement within voiced stretches
    f0_final_slope_st_s: float = math.nan  # slope of the last 300 ms voiced (rising end > 0)
    loudness_db: float = math.nan
    loudness_std_db: float = math.nan
    loudness_peak_db: float = math.nan  # 95th percentile frame level
    rate_syl_s: float = math.nan  # syllable nuclei per second of speech
    syllables: int = 0
    pause_count: int = 0
    pause_fraction: float = 0.0  # share of the speech span in pauses >= 200 ms
    mean_pause_s: float = 0.0
    spectral_tilt_db: float = math.nan  # alpha ratio: 1-5 kHz over 0-1 kHz energy (higher = more effort)
    jitter: float = math.nan  # local, relative (Praat's cycle-to-cycle measure; nan without Praat)
    shimmer: float = math.nan  # local, relative (Praat; nan without Praat)
    tracker: str = "none"  # "praat", "yin" or "none"

    @property
    def has_speech(self) -> bool:
        return self.speech_s >= MIN_SPEECH_S and math.isfinite(self.loudness_db)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict (``nan`` -> ``None``)."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()
        }


def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    n = 1 + (len(x) - win) // hop
    return np.lib.stride_tricks.as_strided(x, shape=(n, win), strides=(x.strides[0] * hop, x.strides[0]))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of the True runs of a boolean array."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _st(f0: np.ndarray) -> np.ndarray:
    return 12.0 * np.log2(np.maximum(f0, 1e-3) / 100.0)


# ---- pitch trackers: each returns (f0 per 10 ms frame from t0, hz; 0 = unvoiced), jitter, shimmer

_praat_lock = threading.Lock()
_parselmouth: Any = None
_parselmouth_tried = False


def _load_parselmouth() -> Any:
    global _parselmouth, _parselmouth_tried
    if not _parselmouth_tried:
        _parselmouth_tried = True
        try:
            import parselmouth  # type: ignore[import-not-found]

            _parselmouth = parselmouth
        except Exception as e:  # pragma: no cover - depends on the environment
            log.warning("praat-parselmouth unavailable (%s); using the built-in YIN pitch tracker", e)
    return _parselmouth


def _pitch_praat(x8: np.ndarray, pm: Any) -> tuple[np.ndarray, float, float, float]:
    """Praat "To Pitch (ac)" on 8 kHz audio; returns f0, first frame time, jitter, shimmer."""
    call = pm.praat.call
    with _praat_lock:  # Praat keeps global state; one analysis at a time
        snd = pm.Sound(x8.astype(np.float64), sampling_frequency=float(_PITCH_RATE))
        pitch = snd.to_pitch_ac(time_step=0.01, pitch_floor=_F0_FLOOR, pitch_ceiling=_F0_CEILING)
        f0 = np.nan_to_num(np.asarray(pitch.selected_array["frequency"], dtype=np.float64))
        t0 = float(pitch.xs()[0]) if len(f0) else 0.0
        jitter = shimmer = math.nan
        if np.count_nonzero(f0) >= 5:
            try:
                pp = call([snd, pitch], "To PointProcess (cc)")
                jitter = float(call(pp, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3))
                shimmer = float(call([snd, pp], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6))
            except Exception as e:  # Praat refuses odd inputs ("no periods"): leave them unmeasured
                log.debug("jitter/shimmer unavailable: %s", e)
    return f0, t0, jitter, shimmer


def _pitch_yin(x8: np.ndarray, threshold: float = 0.15) -> tuple[np.ndarray, float, float, float]:
    """Vectorised YIN (de Cheveigné & Kawahara 2002) on 8 kHz audio, 10 ms hop."""
    sr = _PITCH_RATE
    tmin, tmax = int(sr / _F0_CEILING), int(sr / _F0_FLOOR) + 1
    w = 256
    hop = sr // 100
    if len(x8) < w + tmax:
        return np.zeros(0), 0.0, math.nan, math.nan
    fr = _frames(np.ascontiguousarray(x8, dtype=np.float64), w + tmax, hop)
    n = 1024
    spec_a = np.fft.rfft(fr[:, :w], n)
    spec_b = np.fft.rfft(fr, n)
    r = np.fft.irfft(np.conj(spec_a) * spec_b, n)[:, : tmax + 1]  # sum_j x_j x_{j+tau}, j < w
    sq = np.concatenate((np.zeros((len(fr), 1)), np.cumsum(fr**2, axis=1)), axis=1)
    e0 = sq[:, w][:, None]
    taus = np.arange(tmax + 1)
    et = sq[:, taus + w] - sq[:, taus]
    d = np.maximum(e0 + et - 2.0 * r, 0.0)
    d[:, 0] = 0.0
    cum = np.cumsum(d[:, 1:], axis=1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    seg = cmnd[:, tmin : tmax + 1]
    below = seg < threshold
    first = np.where(below.any(axis=1), below.argmax(axis=1), seg.argmin(axis=1))
    # walk down to the local minimum after the first dip under the threshold
    idx = first.copy()
    for _ in range(tmax):
        nxt = np.minimum(idx + 1, seg.shape[1] - 1)
        move = seg[np.arange(len(seg)), nxt] < seg[np.arange(len(seg)), idx]
        if not move.any():
            break
        idx = np.where(move, nxt, idx)
    best = seg[np.arange(len(seg)), idx]
    tau = (idx + tmin).astype(np.float64)
    # parabolic interpolation
    i = np.clip(idx + tmin, 1, tmax - 1)
    rows = np.arange(len(seg))
    a, b, c = cmnd[rows, i - 1], cmnd[rows, i], cmnd[rows, i + 1]
    den = a - 2 * b + c
    tau = tau + np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(np.abs(den) > 1e-9, den, 1.0), 0.0)
    energy = e0[:, 0] / w
    loud_enough = energy > (10 ** (_SILENCE_DBFS / 10)) * 10
    f0 = np.where((best < 0.35) & loud_enough, sr / np.maximum(tau, 1.0), 0.0)
    # 3-frame median on voiced runs to remove single-frame octave slips
    if len(f0) >= 3:
        med = np.median(np.stack((np.roll(f0, 1), f0, np.roll(f0, -1))), axis=0)
        f0 = np.where((f0 > 0) & (med > 0), med, f0)
    t0 = (w + tmax) / 2 / sr
    # no glottal-cycle marks here: jitter and shimmer stay unmeasured (the tagger ignores them)
    return f0, t0, math.nan, math.nan


def _syllable_nuclei(env_db: np.ndarray, thr: float, voiced: np.ndarray, min_dip_db: float = 2.0) -> int:
    """Count intensity peaks above ``thr`` separated by dips of ``min_dip_db`` (de Jong & Wempe 2009)."""
    if len(env_db) < 3:
        return 0
    x = env_db
    is_peak = np.zeros(len(x), dtype=bool)
    is_peak[1:-1] = (x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:]) & (x[1:-1] > thr)
    cand = np.flatnonzero(is_peak)
    kept: list[int] = []
    for p in cand.tolist():
        if not kept:
            kept.append(p)
            continue
        q = kept[-1]
        dip = float(x[q : p + 1].min())
        if min(x[q], x[p]) - dip >= min_dip_db:
            kept.append(p)
        elif x[p] > x[q]:
            kept[-1] = p
    return int(sum(1 for p in kept if voiced[max(0, p - 2) : p + 3].any()))


def _analyze(audio: np.ndarray, sample_rate: int) -> VoiceFeatures:
    x = np.asarray(audio)
    if np.issubdtype(x.dtype, np.integer):  # PCM integers -> -1..1
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max)
    x = x.astype(np.float32, copy=False)
    if x.ndim > 1:
        x = x.mean(axis=1) if x.shape[1] <= x.shape[0] else x.mean(axis=0)
    x = np.nan_to_num(x.reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
    if sample_rate != SAMPLE_RATE and len(x):
        import soxr

        x = soxr.resample(x, sample_rate, SAMPLE_RATE).astype(np.float32)
    duration = len(x) / SAMPLE_RATE
    if len(x) > MAX_ANALYSIS_S * SAMPLE_RATE:
        x = x[-int(MAX_ANALYSIS_S * SAMPLE_RATE) :]
    empty = VoiceFeatures(duration_s=duration)
    if duration < MIN_SPEECH_S or len(x) < _WIN + _HOP:
        return empty
    x = (x - x.mean()).astype(np.float64)
    if np.max(np.abs(x)) < 10 ** (_SILENCE_DBFS / 20):
        return empty

    # frame levels and spectra
    fr = _frames(x, _WIN, _HOP)
    db = 10 * np.log10(np.mean(fr**2, axis=1) + 1e-12)
    spec = np.abs(np.fft.rfft(fr * np.hanning(_WIN), _NFFT)) ** 2
    freqs = np.fft.rfftfreq(_NFFT, 1 / SAMPLE_RATE)
    floor, top = float(np.percentile(db, 10)), float(np.percentile(db, 95))
    thr = max(min(max(floor + 6.0, top - 30.0), top - 3.0), _SILENCE_DBFS)
    active = db > thr
    if not active.any():
        return empty
    idx = np.flatnonzero(active)
    a, b = int(idx[0]), int(idx[-1]) + 1
    span_s = (b - a) * _HOP / SAMPLE_RATE
    pauses = [(s, e) for s, e in _runs(~active[a:b]) if (e - s) * _HOP / SAMPLE_RATE >= _MIN_PAUSE_S]
    pause_s = sum(e - s for s, e in pauses) * _HOP / SAMPLE_RATE
    speech_s = max(span_s - pause_s, 0.0)
    if speech_s < MIN_SPEECH_S:
        return replace(empty, speech_s=speech_s)

    # pitch on the speech span (+50 ms either side), resampled to 8 kHz
    import soxr

    margin = int(0.05 * SAMPLE_RATE)
    s0 = max(a * _HOP - margin, 0)
    seg = x[s0 : min(b * _HOP + _WIN + margin, len(x))]
    x8 = soxr.resample(seg.astype(np.float32), SAMPLE_RATE, _PITCH_RATE).astype(np.float64)
    pm = _load_parselmouth()
    if pm is not None:
        f0p, t0, jitter, shimmer = _pitch_praat(x8, pm)
        tracker = "praat"
    else:
        f0p, t0, jitter, shimmer = _pitch_yin(x8)
        tracker = "yin"
    # map the tracker's frames onto ours (nearest)
    centers = (np.arange(len(db)) * _HOP + _WIN / 2 - s0) / SAMPLE_RATE
    f0 = np.zeros(len(db))
    if len(f0p):
        k = np.rint((centers - t0) / 0.01).astype(int)
        ok = (k >= 0) & (k < len(f0p))
        f0[ok] = f0p[k[ok]]
    f0[~active] = 0.0
    voiced = f0 > 0
    voiced_fraction = float(voiced[a:b].mean())

    f0_median = f0_mean = f0_std = f0_range = f0_vel = f0_final = math.nan
    if voiced.sum() >= 5:
        st = _st(f0[voiced])
        f0_median = float(np.median(f0[voiced]))
        med_st = float(np.median(st))
        st = st[np.abs(st - med_st) < 9.0]  # drop octave errors
        f0_mean = float(st.mean())
        f0_std = float(st.std())
        p10, p90 = np.percentile(st, [10, 90])
        f0_range = float(p90 - p10)
        vel = []
        for s, e in _runs(voiced):
            if e - s >= 3:
                d = np.abs(np.diff(_st(f0[s:e])))
                vel.append(d[d < 1.5])  # > 1.5 st in 10 ms is a tracking jump
        v = np.concatenate(vel) if vel else np.zeros(0)
        f0_vel = float(v.mean() * 100.0) if len(v) else math.nan
        vi = np.flatnonzero(voiced)
        tail = vi[vi >= vi[-1] - 30]
        if len(tail) >= 5:
            tt = tail * _HOP / SAMPLE_RATE
            ys = _st(f0[tail])
            ys = np.where(np.abs(ys - med_st) < 9.0, ys, med_st)
            f0_final = float(np.polyfit(tt, ys, 1)[0])

    # loudness over frames with speech
    lin = 10 ** (db[active] / 10)
    loud = float(10 * np.log10(lin.mean() + 1e-12))
    loud_std = float(db[active].std())
    peak = float(np.percentile(db[active], 95))

    # spectral tilt (alpha ratio) over voiced frames, or over speech if none is voiced
    sel = voiced if voiced.sum() >= 5 else active
    p = spec[sel].mean(axis=0)
    lo = p[(freqs >= 50) & (freqs < 1000)].sum()
    hi = p[(freqs >= 1000) & (freqs < 5000)].sum()
    tilt = float(10 * np.log10((hi + 1e-12) / (lo + 1e-12)))

    # syllable nuclei on the 300-3000 Hz band envelope, smoothed over 50 ms
    band = spec[:, (freqs >= 300) & (freqs <= 3000)].sum(axis=1)
    env = 10 * np.log10(band + 1e-12)
    env = np.convolve(env, np.ones(5) / 5, mode="same")
    env_active = env[active]
    peak_thr = max(float(np.median(env_active)) - 6.0, float(env_active.max()) - 25.0)
    syl = _syllable_nuclei(np.where(active, env, -200.0), peak_thr, voiced)
    rate = syl / speech_s if speech_s > 0 else math.nan

    return VoiceFeatures(
        duration_s=duration,
        speech_s=speech_s,
        voiced_fraction=voiced_fraction,
        f0_median_hz=f0_median,
        f0_mean_st=f0_mean,
        f0_std_st=f0_std,
        f0_range_st=f0_range,
        f0_velocity_st_s=f0_vel,
        f0_final_slope_st_s=f0_final,
        loudness_db=loud,
        loudness_std_db=loud_std,
        loudness_peak_db=peak,
        rate_syl_s=float(rate),
        syllables=syl,
        pause_count=len(pauses),
        pause_fraction=pause_s / span_s if span_s > 0 else 0.0,
        mean_pause_s=pause_s / len(pauses) if pauses else 0.0,
        spectral_tilt_db=tilt,
        jitter=jitter if jitter == jitter else math.nan,
        shimmer=shimmer if shimmer == shimmer else math.nan,
        tracker=tracker,
    )


# --------------------------------------------------------------------------- words

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
_TAG_VALENCE = {
    "neutral": 0.0,
    "calm": 0.3,
    "happy": 0.8,
    "sad": -0.6,
    "angry": -0.7,
    "anxious": -0.6,
    "surprised": 0.2,
}


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


def _vader_scores(text: str) -> dict[str, float]:
    global _vader
    with _vader_lock:
        if _vader is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _vader = SentimentIntensityAnalyzer()
        return dict(_vader.polarity_scores(text))


@dataclass(frozen=True)
class WordCues:
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
        s = _vader_scores(t)
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


# --------------------------------------------------------------------------- baseline


_HUBER_K = 1.345  # Huber's constant: the baseline's mean is a robust (M-) estimate


class _Running:
    """Running mean/variance of one cue for this speaker, starting from a population prior.

    The prior counts as ``weight`` utterances; the update rate then falls to
    ``min_alpha`` (about the last 1/min_alpha utterances matter).  The mean is
    a robust (Huber) estimate so one shout barely moves it, and the spread
    never shrinks below ``floor``.  With ``modes`` (a population with several
    typical levels, such as male and female pitch), the prior mean is the mode
    nearest to the speaker's first utterance.
    """

    __slots__ = ("prior_mean", "prior_std", "floor", "weight", "min_alpha", "modes", "mean", "var", "n")

    def __init__(
        self,
        mean: float,
        std: float,
        floor: float,
        weight: float = 3.0,
        min_alpha: float = 0.05,
        modes: tuple[float, ...] = (),
    ):
        self.prior_mean, self.prior_std, self.floor = mean, std, floor
        self.weight, self.min_alpha, self.modes = weight, min_alpha, modes
        self.reset()

    def reset(self) -> None:
        self.mean, self.var, self.n = self.prior_mean, self.prior_std**2, 0

    def _anchor(self, x: float) -> None:
        if self.n == 0 and self.modes:
            self.mean = min(self.modes, key=lambda m: abs(m - x))

    def z(self, x: float) -> float:
        if not math.isfinite(x):
            return 0.0
        self._anchor(x)
        return float(np.clip((x - self.mean) / math.sqrt(self.var), -4.0, 4.0))

    def update(self, x: float) -> None:
        if not math.isfinite(x):
            return
        self._anchor(x)
        alpha = max(1.0 / (self.n + 1 + self.weight), self.min_alpha)
        sd = math.sqrt(self.var)
        dev = x - self.mean
        d = float(np.clip(dev, -2.5 * sd, 2.5 * sd))
        self.mean += alpha * float(np.clip(dev, -_HUBER_K * sd, _HUBER_K * sd))
        self.var = max((1 - alpha) * (self.var + alpha * d * d), self.floor**2)
        self.n += 1


# Population priors for adult conversational speech: (mean, spread between
# utterances, least spread the baseline may shrink to).  Loudness in dBFS
# depends on the microphone, so its prior is wide and weak; pitch level starts
# from the nearer of the typical male (~115 Hz) and female (~210 Hz) levels.
# The floors are typical within-speaker spreads.
_PRIORS: dict[str, tuple[float, float, float]] = {
    "loudness": (-26.0, 10.0, 3.0),  # dBFS (-26 dBov is the nominal active speech level)
    "effort": (-10.0, 4.0, 2.0),  # alpha ratio, dB
    "pitch": (8.0, 3.5, 1.5),  # semitones re 100 Hz; the mean is replaced by a _PRIOR_MODES entry
    "pitch_range": (6.0, 2.5, 1.2),  # semitones, p10-p90
    "pitch_motion": (27.0, 8.0, 4.0),  # semitones / s
    "rate": (4.5, 1.0, 0.5),  # syllables / s
    "pauses": (0.05, 0.1, 0.05),  # share of the speech span
    "loudness_var": (7.0, 2.0, 1.0),  # dB
    "jitter": (0.025, 0.01, 0.005),
    "shimmer": (0.12, 0.035, 0.02),
    "final_rise": (-5.0, 20.0, 10.0),  # semitones / s over the last 300 ms
}

# How many utterances each prior counts for.  The level a microphone delivers
# says nothing about the speaker, so the loudness baseline follows the first
# utterances almost at once.
_PRIOR_WEIGHT = {"loudness": 1.0}
_PRIOR_MODES = {"pitch": (2.4, 12.8)}  # 115 Hz, 210 Hz

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
        self._base = {
            k: _Running(m, s, f, weight=_PRIOR_WEIGHT.get(k, 3.0), modes=_PRIOR_MODES.get(k, ()))
            for k, (m, s, f) in _PRIORS.items()
        }
        self._n = 0
        # load the pitch tracker and the sentiment lexicon now, not on the first utterance
        _load_parselmouth()
        try:
            _vader_scores("")
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
            return _analyze(audio, int(sample_rate))
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


# --------------------------------------------------------------------------- using the tags

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


_STYLES: dict[str, SpeechStyle] = {
    "neutral": SpeechStyle(),
    "calm": SpeechStyle("calm", length_scale=1.12, noise_scale=0.5, noise_w_scale=0.7, volume=0.9),
    "warm": SpeechStyle("warm", length_scale=1.08, noise_scale=0.6, noise_w_scale=0.75, volume=0.92),
    "bright": SpeechStyle("bright", length_scale=0.95, noise_scale=0.8, noise_w_scale=0.9, volume=1.0),
    "brisk": SpeechStyle("brisk", length_scale=0.9, noise_scale=0.667, noise_w_scale=0.8, volume=1.0),
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
    -> brisk.  The knobs move towards the style in proportion to confidence.
    """
    if tags is None or not tags.confidence >= NOTE_CONFIDENCE:
        return _STYLES["neutral"]
    name = _STYLE_FOR.get(tags.label)
    if name is None:
        if tags.label == "neutral" and "fast" in tags.cues:
            name = "brisk"
        else:
            return _STYLES["neutral"]
    if name == "bright" and reply_text.strip():
        try:
            if _vader_scores(reply_text).get("compound", 0.0) <= -0.3:
                name = "warm"
        except Exception:  # pragma: no cover - vader is a hard dependency
            pass
    target, base = _STYLES[name], _STYLES["neutral"]
    k = float(np.clip((tags.confidence - NOTE_CONFIDENCE) / 0.3 + 0.5, 0.5, 1.0))
    return SpeechStyle(
        name=name,
        length_scale=round(base.length_scale + k * (target.length_scale - base.length_scale), 3),
        noise_scale=round(base.noise_scale + k * (target.noise_scale - base.noise_scale), 3),
        noise_w_scale=round(base.noise_w_scale + k * (target.noise_w_scale - base.noise_w_scale), 3),
        volume=round(base.volume + k * (target.volume - base.volume), 3),
    )
