"""The engine on the real models and real recordings."""

from __future__ import annotations

import json

import jiwer
import numpy as np
import pytest
import soundfile as sf

from app.audio.io import load_speech
from app.audio.resample import resample
from app.config import Settings
from app.engine import build_engine
from app.engines.stt import WhisperStt
from app.filemode import run_files
from app.models import ROLES, resolve
from tests.conftest import DATA
from tests.integration.conftest import QUESTIONS, run_cli

pytestmark = pytest.mark.integration


def norm(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).strip()


def wer(ref: str, hyp: str) -> float:
    return jiwer.wer(norm(ref), norm(hyp))


@pytest.fixture(scope="module")
def stt() -> WhisperStt:
    return WhisperStt(resolve("stt", Settings()).path)


@pytest.mark.parametrize(
    "channel,ref",
    [
        (
            0,
            "He began a confused complaint against the wizard, who had vanished behind the curtain on the left.",
        ),
        (1, "The horizon seems extremely distant."),
    ],
)
def test_stereo_channels_transcribed(stt, channel, ref):
    audio = load_speech(DATA / "stereo_diarization.wav", channel=channel)
    assert wer(ref, stt.transcribe(audio).text) <= 0.15


def test_hotword_fixes_domain_term(stt):
    audio = load_speech(DATA / "hotwords.mp3")
    plain = stt.transcribe(audio).text
    hinted = stt.transcribe(audio, hotwords="ComfyUI").text
    squash = lambda t: t.lower().replace(" ", "")  # noqa: E731 - "comfy UI" and "ComfyUI" both name it
    assert "comfyui" not in squash(plain)
    assert squash(hinted).count("comfyui") == 2, hinted


def test_spoken_questions_transcribed(stt, spoken_audio):
    errors = [wer(QUESTIONS[k], stt.transcribe(a).text) for k, a in spoken_audio.items()]
    assert np.mean(errors) <= 0.15, errors


@pytest.mark.parametrize(
    "rate,channels,subtype", [(8000, 1, "PCM_16"), (48000, 2, "PCM_24"), (44100, 2, "FLOAT")]
)
def test_any_rate_and_channel_count(stt, tmp_path, rate, channels, subtype):
    audio = load_speech(DATA / "stereo_diarization.wav", channel=0)
    converted = resample(audio, 16000, rate)
    data = np.stack([converted] * channels, axis=1) if channels > 1 else converted
    path = tmp_path / f"q_{rate}.flac" if subtype == "PCM_24" else tmp_path / f"q_{rate}.wav"
    sf.write(path, data, rate, subtype=subtype)
    back = load_speech(path)
    assert abs(len(back) - len(audio)) < 200
    ref = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
    assert wer(ref, stt.transcribe(back).text) <= 0.25


def test_silence_is_not_transcribed_as_text(stt):
    assert stt.transcribe(np.zeros(16000 * 3, np.float32)).text == ""


def test_spoken_question_gets_spoken_answer_about_paris(spoken_audio, stt, tmp_path):
    engine = build_engine(Settings(), record=True)
    report = run_files(
        engine, [spoken_audio["capital"]], out_dir=tmp_path, report_path=tmp_path / "report.json"
    )
    turns = [t for t in report["turns"] if not t.get("dropped")]
    assert len(turns) == 1, report
    turn = turns[0]
    assert "capital" in turn["user_text"].lower()
    assert "paris" in turn["assistant_text"].lower()
    # the answer really is speech that says Paris
    answer, rate = sf.read(turn["wav"], dtype="float32")
    heard = stt.transcribe(resample(answer, rate, 16000)).text
    assert "paris" in heard.lower(), heard
    # timestamps are in order on one clock
    t = turn["t"]
    chain = ["speech_start", "speech_end", "llm_first_token", "tts_first_chunk", "first_audio", "turn_end"]
    values = [t[k] for k in chain]
    assert values == sorted(values), t
    assert t["speech_end"] <= t["stt_done"] <= t["llm_first_token"] + 1e-6 or t["stt_done"] < t["eot_decided"]
    lat = turn["latency_ms"]
    assert lat["voice_to_voice"] == pytest.approx((t["first_audio"] - t["speech_end"]) * 1000, abs=1.0)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["turns"][0]["turn_id"] == turn["turn_id"]
    assert set(saved["models"]) == set(ROLES)


def test_barge_in_interrupts_first_answer(spoken_audio, tmp_path):
    engine = build_engine(Settings(max_reply_tokens=160), record=True)
    report = run_files(
        engine,
        [spoken_audio["story"], spoken_audio["novel"]],
        out_dir=tmp_path,
        overlap=4.0,  # the long first answer is playing by then, even on a busy machine
    )
    turns = [t for t in report["turns"] if not t.get("dropped")]
    assert len(turns) == 2, report
    first, second = turns
    assert first["interrupted"], first
    assert "first_audio" in first["t"], f"the first answer had not started playing: {first}"
    assert first["t"]["first_audio"] < second["t"]["speech_start"] + 0.6
    # only what was played before the interruption was recorded: no stale audio after it
    played_s = sf.info(first["wav"]).duration if first.get("wav") else 0.0
    assert played_s <= first["t"]["turn_end"] - first["t"]["first_audio"] + 0.15
    assert (
        len(first["assistant_text"]) < len(first["assistant_full_text"]) or not first["assistant_full_text"]
    )
    assert not second["interrupted"]
    assert "pride" in second["user_text"].lower() or "prejudice" in second["user_text"].lower()
    memory = engine.orchestrator.memory.snapshot()
    assert any(m.interrupted for m in memory)


def test_cli_silent_file_gives_zero_turns(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16000 * 3, np.float32), 16000)
    res = run_cli("listen", str(path), "--pace", "fast", "--report", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    assert "zero turns" in res.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert [t for t in report["turns"] if not t.get("dropped")] == []


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "folder"])
def test_cli_bad_input_files(tmp_path, kind):
    path = tmp_path / "input.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not audio at all\n" * 50)
    elif kind == "folder":
        path.mkdir()
    res = run_cli("listen", str(path), "--pace", "fast", timeout=60)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert str(path) in res.stderr and res.stderr.count("\n") == 1


def test_cli_corrupt_model_names_the_file(tmp_path, spoken):
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"not a model")
    res = run_cli("listen", str(spoken["capital"]), "--llm-model", str(bogus), timeout=60)
    assert res.returncode == 3
    assert "Traceback" not in res.stderr
    assert "broken.gguf" in res.stderr


def test_long_monologue_is_split_and_nothing_lost(stt):
    audio = load_speech(DATA / "multilingual.mp3")
    english = audio[: int(31 * 16000)]  # the English half: about 30 s of continuous reading
    engine = build_engine(Settings(max_reply_tokens=24))
    report = run_files(engine, [english], realtime=False)
    text = " ".join(t["user_text"] for t in report["turns"] if not t.get("dropped")).lower()
    for phrase in (
        "permission is hereby granted",
        "free of charge",
        "distribute",
        "subject to the following",
    ):
        assert phrase in norm(text), text
