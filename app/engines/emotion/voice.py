"""What the voice of one utterance measures, for the emotion tagger (pure numpy; thread-safe).

Pitch (F0) level, range, movement and final contour from Praat's
autocorrelation pitch tracker (via ``praat-parselmouth``; a numpy YIN tracker
stands in when it is not installed), loudness and its variation, speaking rate
(syllable nuclei on the energy envelope, after de Jong & Wempe 2009), pauses,
spectral tilt (alpha ratio) and jitter/shimmer.  Nothing here raises on silent,
very short or odd input: :func:`analyze` returns a :class:`VoiceFeatures` with
the unmeasured cues set to ``nan``.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MIN_SPEECH_S = 0.3  # shorter (or silent) utterances are "uncertain"
MAX_ANALYSIS_S = 10.0  # longer utterances: only the last 10 s are measured (keeps the cost < 30 ms)

_HOP = 160  # 10 ms frames at 16 kHz
_WIN = 400  # 25 ms analysis window
_NFFT = 512
_F0_FLOOR = 75.0
_F0_CEILING = 600.0
_PITCH_RATE = 8000  # the pitch tracker runs on a copy resampled to 8 kHz (F0 < 600 Hz)
_MIN_PAUSE_S = 0.2
_SILENCE_DBFS = -60.0


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


def load_parselmouth() -> Any:
    """The ``parselmouth`` module (Praat), imported once; ``None`` when it is not installed."""
    global _parselmouth, _parselmouth_tried
    if not _parselmouth_tried:
        _parselmouth_tried = True
        try:
            import parselmouth  # type: ignore[import-not-found]

            _parselmouth = parselmouth
        except Exception as e:  # pragma: no cover - depends on the environment
            log.warning("praat-parselmouth unavailable (%s); using the built-in YIN pitch tracker", e)
    return _parselmouth


def pitch_praat(x8: np.ndarray, pm: Any) -> tuple[np.ndarray, float, float, float]:
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


def analyze(audio: np.ndarray, sample_rate: int) -> VoiceFeatures:
    """Measure the voice in ``audio`` (any rate, mono or stereo, float or PCM integers)."""
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
    pm = load_parselmouth()
    if pm is not None:
        f0p, t0, jitter, shimmer = pitch_praat(x8, pm)
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
