"""The speaker's running baseline per voice cue, for the emotion tagger.

A loud speaker is not always angry: each cue is judged against this speaker's
own level in this session, a slowly adapting robust mean and variance that
start from population priors for adult speech.
"""

from __future__ import annotations

import math

import numpy as np

_HUBER_K = 1.345  # Huber's constant: the baseline's mean is a robust (M-) estimate


class CueBaseline:
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


def session_baselines() -> dict[str, CueBaseline]:
    """A fresh baseline for every cue, at the population priors."""
    return {
        k: CueBaseline(m, s, f, weight=_PRIOR_WEIGHT.get(k, 3.0), modes=_PRIOR_MODES.get(k, ()))
        for k, (m, s, f) in _PRIORS.items()
    }
