"""Turn taking, measured: false cut-offs in real and synthesized pauses, and the end-of-turn wait.

Every recording is one intended turn.  It is replayed through the real turn detector (Silero
per frame) with the end of turn switched off, so each pause is seen whole; at each pause the
real Whisper transcribes the turn so far (as at ``speculative_pause_ms``) and the real Smart
Turn hears it (at ``turn_check_ms``), each timed.  Then each policy decides every pause
offline, with the measured timing: until its hint arrives a pause is judged by the plain
silence rule, after that by the policy's wait.

* A **false cut-off** (the issue's definition): the assistant's first audio starts inside a
  pause the user then goes on from.  The first audio comes at the later of the commit and
  the moment the answer, started speculatively when the pause began, is ready to play
  (``speculative_pause_ms`` + the measured transcription + ``answer_ms``, the LLM's first
  clause and its synthesis, measured in the same run); a user who goes on before it holds
  it back (``SpeechOnset``) and the turn stays one.  ``commits_in_pause`` also counts the
  turns merely committed inside a pause (what a continuation then has to repair).
* The **end-of-turn wait**: at the recording's real end, the silence before the commit.

Policies, on the same pauses in the same run: ``before`` (silence plus the text rule: the
judge without a model) and ``judge`` (the judge with Smart Turn).  Recording groups: real
speech (``tests/data``, ``../shared/audio``), the synthesized hesitations (piper, a phrase
cut where people hesitate, 250-700 ms inserted), natural pauses (espeak-ng, 0.8-1.5 s) and
complete questions (piper and espeak-ng; their end-of-turn wait is the one that counts).
"""

from __future__ import annotations

import math
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings
from app.messages import FRAME, SAMPLE_RATE
from app.pipeline.endofturn import EndOfTurnJudge, JudgeParams
from app.pipeline.turns import Emit, SpeechResumed, TurnDetector, TurnParams
from app.tools.bench_corpus import Progress, no_progress

FRAME_MS = 1000 * FRAME / SAMPLE_RATE
REPO = Path(__file__).resolve().parent.parent.parent

# A sentence cut where people hesitate; each half is synthesized on its own (so the first half
# ends with the falling pitch of a finished phrase: the hard case), a pause between them.
HESITATIONS: tuple[tuple[str, str], ...] = (
    ("What is the capital of", "France?"),
    ("Remind me to call", "my mother tomorrow."),
    ("Set a timer", "for ten minutes."),
    ("Can you tell me", "how far away the moon is?"),
    ("I would like to know", "how to boil an egg."),
    ("What should I cook", "for dinner tonight?"),
)
HESITATION_PAUSES_MS = (250, 350, 450, 700)  # inserted; piper adds about 120 ms of its own
# Thinking pauses of a different voice, longer: the turn must survive them whole.
NATURAL: tuple[tuple[str, str], ...] = (
    ("And so, my fellow Americans,", "ask not what your country can do for you."),
    ("I was thinking that maybe", "we could go to the beach tomorrow."),
    ("The thing is,", "I don't really know what to cook tonight."),
)
NATURAL_PAUSES_MS = (800, 1200, 1500)
QUESTIONS: tuple[str, ...] = (
    "What is the capital of France?",
    "How far away is the moon?",
    "Set a timer for five minutes.",
    "Tell me a short joke.",
    "Why is the sky blue?",
    "Who wrote Pride and Prejudice?",
)


@dataclass
class PauseSeen:
    recording: str
    group: str  # real | hesitation | natural | question
    at_s: float  # where the pause begins in the recording
    length_ms: float  # math.inf for the pause after the recording's last words
    text: str  # Whisper on the turn so far
    p_complete: float | None  # Smart Turn at turn_check_ms (None: the pause was shorter)
    stt_s: float
    turn_s: float

    @property
    def mid(self) -> bool:
        return self.length_ms != math.inf


# --------------------------------------------------------------------------- recordings


def _real(progress: Progress) -> list[tuple[str, np.ndarray]]:
    from app.audio.io import load_speech

    data = REPO / "tests" / "data"
    shared = REPO.parent / "shared" / "audio"

    def find(name: str) -> Path:
        return data / name if (data / name).exists() else shared / name

    out = [
        ("pause heavy rain", load_speech(find("ibm_pause_heavy_rain.wav"))),
        ("thunderstorms", load_speech(find("ibm_thunderstorms.wav"))),
        ("stereo left", load_speech(find("stereo_diarization.wav"), channel=0)),
        ("stereo right", load_speech(find("stereo_diarization.wav"), channel=1)),
        ("hotwords", load_speech(find("hotwords.mp3"))),
        ("licence, English part", load_speech(find("multilingual.mp3"))[: int(29.3 * SAMPLE_RATE)]),
    ]
    return out


def _espeak(text: str) -> np.ndarray | None:
    """``text`` spoken by espeak-ng at 16 kHz (None without espeak-ng)."""
    if not shutil.which("espeak-ng"):
        return None
    from app.audio.io import load_speech

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
        return load_speech(wav)


def _trim(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Without the leading and trailing silence of a synthesized phrase."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def recordings(settings: Settings, progress: Progress = no_progress) -> list[tuple[str, str, np.ndarray]]:
    """(name, group, 16 kHz audio) of every recording the study plays."""
    from app.audio.resample import resample
    from app.engines import registry

    out = [(name, "real", audio) for name, audio in _real(progress)]
    tts = registry.build("tts", settings, speaking_rate=1.0, threads=1)  # the voice's own pace

    def piper(text: str) -> np.ndarray:
        return resample(np.concatenate(list(tts.synthesize(text))), tts.sample_rate, SAMPLE_RATE)

    def gap(ms: int) -> np.ndarray:
        return np.zeros(int(ms / 1000 * SAMPLE_RATE), np.float32)

    for a, b in HESITATIONS:
        wa, wb = piper(a), piper(b)
        for ms in HESITATION_PAUSES_MS:
            out.append((f"'{a} ... {b}' {ms} ms", "hesitation", np.concatenate([wa, gap(ms), wb])))
    for a, b in NATURAL:
        ea, eb = _espeak(a), _espeak(b)
        if ea is None or eb is None:
            progress("espeak-ng is not installed: no natural-pause recordings")
            break
        for ms in NATURAL_PAUSES_MS:
            out.append((f"'{a} ... {b}' {ms} ms", "natural", np.concatenate([_trim(ea), gap(ms), _trim(eb)])))
    for q in QUESTIONS:
        out.append((f"'{q}' (piper)", "question", piper(q)))
        spoken = _espeak(q)
        if spoken is not None:
            out.append((f"'{q}' (espeak)", "question", spoken))
    return out


# --------------------------------------------------------------------------- measuring


def measure(
    name: str, group: str, audio: np.ndarray, settings: Settings, vad: Any, stt: Any, turn: Any
) -> list[PauseSeen]:
    """Every pause of one recording, with the words and the model's verdict the engine would have."""
    import time

    params = TurnParams.from_settings(settings)
    params.end_of_turn_ms = 10**9  # see every pause whole
    params.max_utterance_s = 10**6
    det = TurnDetector(params)
    vad.reset()
    lead, tail = np.zeros(int(0.3 * SAMPLE_RATE), np.float32), np.zeros(3 * SAMPLE_RATE, np.float32)
    signal = np.concatenate([lead, audio.astype(np.float32), tail])
    seen: list[PauseSeen] = []
    current: PauseSeen | None = None
    start_frame = 0
    for i in range(len(signal) // FRAME):
        frame = signal[i * FRAME : (i + 1) * FRAME]
        for action in det.feed(frame, vad.prob(frame), i * FRAME / SAMPLE_RATE):
            if isinstance(action, Emit) and action.kind == "speculative":
                t0 = time.perf_counter()
                text = stt.transcribe(action.audio).text
                spent = time.perf_counter() - t0
                start_frame = i - math.ceil(settings.speculative_pause_ms / FRAME_MS) + 1
                at = start_frame * FRAME / SAMPLE_RATE - len(lead) / SAMPLE_RATE
                current = PauseSeen(name, group, round(at, 2), math.inf, text, None, spent, 0.0)
                seen.append(current)
            elif isinstance(action, Emit) and action.kind == "turn_check" and current is not None:
                t0 = time.perf_counter()
                current.p_complete = float(turn.prob_complete(action.audio))
                current.turn_s = time.perf_counter() - t0
            elif isinstance(action, SpeechResumed) and current is not None:
                current.length_ms = (i - start_frame) * FRAME_MS
                current = None
    vad.reset()
    return seen


def measure_all(settings: Settings, progress: Progress = no_progress) -> list[PauseSeen]:
    from app.engines import registry

    vad = registry.build("vad", settings)
    stt = registry.build("stt", settings)
    stt.warm_up()
    turn = registry.build("turn", settings)
    turn.warm_up()
    out: list[PauseSeen] = []
    recs = recordings(settings, progress)
    progress(f"turn taking: {len(recs)} recordings")
    for name, group, audio in recs:
        out += measure(name, group, audio, settings, vad, stt, turn)
    return out


# --------------------------------------------------------------------------- deciding


def answer_ms(settings: Settings, progress: Progress = no_progress) -> float:
    """How long the answer to a question takes to be ready to play once asked: the LLM's
    first clause (cold prompt, as at a pause) plus its synthesis; median of three questions."""
    import time

    from app.engines import registry
    from app.pipeline.stages import FIRST_PHRASE_WORDS
    from app.pipeline.text import ClauseSplitter

    llm = registry.build("llm", settings)
    llm.warm_up(settings.system_prompt)
    tts = registry.build("tts", settings)
    took = []
    for q in QUESTIONS[:3]:
        msgs = [{"role": "system", "content": settings.system_prompt}, {"role": "user", "content": q}]
        t0 = time.perf_counter()
        splitter, first = ClauseSplitter(first_phrase_words=FIRST_PHRASE_WORDS), ""
        for delta in llm.stream_chat(msgs, max_tokens=48, temperature=0.0):
            clauses = splitter.feed(delta)
            if clauses:
                first = clauses[0]
                break
        first = first or " ".join(splitter.flush()) or q
        next(iter(tts.synthesize(first)))
        took.append(1000 * (time.perf_counter() - t0))
    progress(f"turn taking: an answer is ready {statistics.median(took):.0f} ms after it is asked")
    return statistics.median(took)


def committed_after_ms(pause: PauseSeen, judge: EndOfTurnJudge, *, use_model: bool, settings: Settings) -> float:
    """Silence after which this policy commits the turn in ``pause`` (timing as measured)."""
    base = settings.end_of_turn_silence_ms
    words_at = settings.speculative_pause_ms + 1000 * pause.stt_s
    if words_at >= base:
        return base  # the plain silence rule ended the turn before the words came
    if not use_model or pause.p_complete is None:
        return max(judge.judge(pause.text, None).wait_ms, words_at)
    # the words come first (a provisional wait), then the voice (Smart Turn, on its own thread)
    first = judge.provisional(pause.text).wait_ms
    voice_at = max(words_at, settings_turn_check_ms(settings) + 1000 * pause.turn_s)
    if first <= voice_at:
        return max(first, words_at)
    return max(judge.judge(pause.text, pause.p_complete).wait_ms, voice_at)


def settings_turn_check_ms(settings: Settings) -> int:
    return TurnParams.from_settings(settings).turn_check_ms


def decide(
    pauses: list[PauseSeen],
    settings: Settings,
    *,
    use_model: bool,
    answer_ms: float,
    params: JudgeParams | None = None,
) -> dict[str, Any]:
    """False cut-offs per group and the end-of-turn waits, for one policy."""
    onset_ms = 2 * FRAME_MS  # the detector hears a continuation after two voiced frames
    judge = EndOfTurnJudge(params or JudgeParams.from_settings(settings))
    by_rec: dict[tuple[str, str], list[PauseSeen]] = {}
    for p in pauses:
        by_rec.setdefault((p.group, p.recording), []).append(p)
    groups: dict[str, dict[str, Any]] = {}
    waits: dict[str, list[float]] = {}
    cut_recs: list[str] = []
    for (group, rec), ps in by_rec.items():
        g = groups.setdefault(group, {"recordings": 0, "cut": 0, "commits_in_pause": 0})
        g["recordings"] += 1
        cut = committed = False
        for p in ps:
            after = committed_after_ms(p, judge, use_model=use_model, settings=settings)
            ready = settings.speculative_pause_ms + 1000 * p.stt_s + answer_ms
            if p.mid and p.length_ms > after:
                committed = True
                if p.length_ms + onset_ms > max(after, ready):
                    cut = True
            if not p.mid:
                waits.setdefault(group, []).append(after)
        g["commits_in_pause"] += committed
        if cut:
            g["cut"] += 1
            cut_recs.append(rec)
    return {
        "cut_offs": groups,
        "end_of_turn_wait_p50_ms": {g: round(statistics.median(w)) for g, w in waits.items() if w},
        "cut_recordings": cut_recs,
    }


def format_turn_taking(tt: dict[str, Any]) -> str:
    """The study's lines for the bench table."""
    lines = [
        f"turn taking (an answer is ready {tt['answer_ms']} ms after asked; Smart Turn "
        f"{tt['smart_turn_ms_p50']} ms per call p50): false cut-offs / end-of-turn wait p50"
    ]
    for name in ("before", "judge"):
        d = tt[name]
        c, w = d["cut_offs"], d["end_of_turn_wait_p50_ms"]
        parts = [f"{g} {c[g]['cut']}/{c[g]['recordings']}" for g in ("real", "hesitation", "natural") if g in c]
        lines.append(
            f"  {name:6s}  cut-offs: {', '.join(parts)}; wait after a complete question "
            f"{w.get('question', '-')} ms, after real speech {w.get('real', '-')} ms"
        )
    return "\n".join(lines) + "\n"


def turn_taking(settings: Settings, progress: Progress = no_progress) -> dict[str, Any]:
    """The study: both policies on the same measured pauses."""
    pauses = measure_all(settings, progress)
    ready = answer_ms(settings, progress)
    checked = [p.turn_s for p in pauses if p.p_complete is not None]
    return {
        "answer_ms": round(ready),
        "before": decide(pauses, settings, use_model=False, answer_ms=ready),
        "judge": decide(pauses, settings, use_model=True, answer_ms=ready),
        "smart_turn_ms_p50": round(1000 * statistics.median(checked), 1) if checked else None,
        "pauses": [asdict(p) | {"length_ms": None if not p.mid else p.length_ms} for p in pauses],
    }
