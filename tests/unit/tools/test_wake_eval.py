"""The wake word measurement's arithmetic: clip conditions, gate-exact false wakes, the pick."""

from __future__ import annotations

import numpy as np

from app.messages import FRAME, SAMPLE_RATE
from app.tools import wake_eval as we


class ScriptedWake:
    """Scores a fixed list, one value a frame, whatever the audio (a reset does not rewind it)."""

    phrase = "Hey Test"
    cutoff = 0.5

    def __init__(self, scores: list[float]) -> None:
        self.scores = scores
        self.i = 0
        self.resets = 0

    def score(self, frame: np.ndarray) -> float:
        v = self.scores[self.i] if self.i < len(self.scores) else 0.0
        self.i += 1
        return v

    def reset(self) -> None:
        self.resets += 1


def _db(x: float) -> float:
    return 20 * np.log10(x)


def test_condition_sets_the_peak_pads_and_mixes_noise_at_the_snr():
    rng = np.random.default_rng(0)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    speech = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    clean = we.condition(speech, -20.0, "clean", rng)
    assert len(clean) == 3 * SAMPLE_RATE
    assert abs(_db(np.abs(clean).max()) + 20.0) < 0.01
    assert not clean[: SAMPLE_RATE - 1].any() and not clean[-SAMPLE_RATE + 1 :].any()
    noisy = we.condition(speech, -20.0, "white", rng)
    noise = noisy - clean
    snr = _db(we.active_rms(clean[SAMPLE_RATE:-SAMPLE_RATE]) / np.sqrt(np.mean(noise**2)))
    assert abs(snr - we.SNR_DB) < 0.3
    assert noise[:SAMPLE_RATE].std() > 0  # the padding is noisy too


def test_pink_noise_has_more_power_low_than_high():
    x = we.pink(1 << 16, np.random.default_rng(1))
    assert abs(np.sqrt(np.mean(x**2)) - 1.0) < 1e-3
    p = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    low, high = p[(f > 100) & (f < 200)].mean(), p[(f > 4000) & (f < 4100)].mean()
    assert 15 < low / high < 45  # 1/f: 27x over this span (white noise would give 1x)


def test_false_wakes_are_counted_as_the_gate_counts_them():
    # high at 1.0 s, again 0.5 s later (inside the 1.5 s refractory), and at 3.0 s
    n = int(4 * SAMPLE_RATE / FRAME)
    scores = [0.0] * n
    for s, v in ((1.0, 0.9), (1.5, 0.95), (3.0, 0.7)):
        scores[int(s * SAMPLE_RATE / FRAME)] = v
    audio = np.zeros(n * FRAME, np.float32)
    det = ScriptedWake(scores)
    trace = we.trace(det, audio)
    assert trace.tolist() == np.float32(scores).tolist()
    det.i = 0
    out = {}
    for t in (0.6, 0.8, 0.92, 0.99):
        det.i = 0
        out[t] = we.false_wakes(det, audio, trace, [t])[t]
    assert [len(out[t]) for t in (0.6, 0.8, 0.92, 0.99)] == [2, 1, 1, 0]
    assert abs(out[0.6][0] - 1.0) < 0.05 and abs(out[0.6][1] - 3.0) < 0.05
    assert abs(out[0.92][0] - 1.5) < 0.05  # the second peak, once the first is under the threshold


def test_summary_and_recommendation_prefer_zero_false_wakes_then_hits():
    def result(model: str, cutoff: float, clip_max: list[float], fw: dict[float, int], top: float) -> dict:
        sweep = sorted({0.5, 0.9, cutoff})
        r = {
            "model": model,
            "cutoff": cutoff,
            "clips": [{"max": m} for m in clip_max],
            "no_wake": {
                "real": {"false_wakes": {t: fw.get(t, 0) for t in sweep}},
                "confusable": {"false_wakes": {t: 5 for t in sweep}},  # not in the target
            },
            "no_wake_max": top,
        }
        r["sweep"] = [we.summary_at(r, t) for t in sweep]
        return r

    a = result("a", 0.9, [0.95, 0.95, 0.6, 0.2], {0.5: 3}, 0.55)  # 0.5: 3 false wakes
    b = result("b", 0.7, [0.99, 0.99, 0.99, 0.3], {}, 0.2)
    s = we.summary_at(a, 0.5)
    assert s["hits"] == 3 and s["hit_rate"] == 0.75 and s["false_wakes_target"] == 3
    assert s["false_wakes"]["confusable"] == 5
    rec = we.recommend({"a": a, "b": b})
    assert rec["model"] == "b" and rec["threshold"] == 0.7 and rec["hit_rate"] == 0.75
    assert rec["false_wakes"] == 0 and rec["meets_targets"] is False
    assert rec["ranking"][1] == {"model": "a", "hit_rate": 0.5, "threshold": 0.9}
    assert we.breakdown(a["clips"], 0.9, lambda c: c["max"] > 0.5) == {
        True: {"hits": 2, "clips": 3, "hit_rate": 0.6667},
        False: {"hits": 0, "clips": 1, "hit_rate": 0.0},
    }


def test_wake_texts_put_the_request_in_the_same_breath():
    texts = we.wake_texts("Hey Jarvis")
    assert texts[0] == "Hey Jarvis." and texts[1] == "Hey Jarvis, what time is it?"
    assert len(texts) == 1 + len(we.REQUESTS)
    for text in we.MONOLOGUES:
        low = text.lower()
        assert not any(w in low for w in ("jarvis", "alexa", "mycroft", "nabu"))


class _Words:
    """A "Whisper" that says what it was told for each call, and records the hotwords."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.hotwords: list[str] = []

    def transcribe(self, audio, *, hotwords: str = ""):
        from app.engines.stt import SttResult

        self.hotwords.append(hotwords)
        return SttResult(self.texts.pop(0), (), 0.01, -0.2, "en", 0.0)


def test_the_second_opinion_asks_only_near_misses_and_counts_words_that_start_with_the_phrase():
    stt = _Words("Alexa, what time is it?", "I like the weather.")
    op = we.SecondOpinion(stt, "Alexa", threshold=0.5, verify_from=0.05)
    assert op.clip(np.zeros(SAMPLE_RATE, np.float32), 0.9) is None  # the model heard it
    assert op.clip(np.zeros(SAMPLE_RATE, np.float32), 0.01) is None  # too little to ask
    assert op.clip(np.zeros(SAMPLE_RATE, np.float32), 0.2) is True
    assert op.clip(np.zeros(SAMPLE_RATE, np.float32), 0.3) is False
    assert stt.hotwords == ["Alexa", "Alexa"]  # as the app transcribes in wake word mode

    nw = _Words("Alexander called.", "Alexa, stop.")
    op = we.SecondOpinion(nw, "Alexa", threshold=0.5, verify_from=0.05)
    scores = np.zeros(200, np.float32)
    scores[[10, 12, 100, 150]] = [0.1, 0.2, 0.3, 0.7]  # 12 is within 1.5 s of 10; 150 woke already
    item = we.Item("monologue", "m", np.zeros(200 * FRAME, np.float32))
    op.no_wake(item, scores)
    assert [c["score"] for c in op.candidates] == [0.1, 0.3]
    assert [c["woke"] for c in op.candidates] == [False, True]
