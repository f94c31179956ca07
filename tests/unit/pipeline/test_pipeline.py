"""The pipeline on fakes: turn flow, timestamps, barge-in, stale dropping, queues, push-to-talk."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np
import pytest

from app.audio.playback import VirtualSpeaker
from app.messages import (
    FRAME,
    AssistantTurn,
    Clause,
    Interrupted,
    TurnDone,
)
from app.pipeline.cancel import CancelScope
from app.pipeline.memory import INTERRUPTED_NOTE, Conversation
from app.pipeline.turns import Emit, SpeechResumed, SpeechStart, TurnDetector, TurnParams
from app.pipeline.worker import BoundedQueue, Worker
from tests.fakes import PrefillingLlm, ScriptedLlm, ScriptedStt, ToneTts, make_orchestrator, silence, speech


def feed(orch, audio: np.ndarray, realtime: bool = True) -> None:
    t = time.perf_counter()
    for i in range(0, len(audio), FRAME):
        blk = audio[i : i + FRAME]
        if realtime:
            delay = t - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        orch.feed_audio(blk, t=t)
        t += len(blk) / 16000


def events(orch) -> list[object]:
    out = []
    while True:
        try:
            out.append(orch.ui_queue.get_nowait())
        except queue.Empty:
            return out


def wait_for(pred, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


@pytest.fixture
def running():
    started = []

    def start(orch):
        speaker = VirtualSpeaker(orch.playback, realtime=True)
        orch.start()
        speaker.start()
        assert orch.wait_ready(5)
        started.append((orch, speaker))
        return orch

    yield start
    for orch, speaker in started:
        speaker.stop()
        orch.stop()


# ---------------------------------------------------------------- turn detector


def run_detector(probs: list[float], params: TurnParams | None = None) -> list[object]:
    det = TurnDetector(params or TurnParams(end_of_turn_ms=320, speculative_pause_ms=128, min_speech_ms=96))
    frame = np.zeros(FRAME, dtype=np.float32)
    out = []
    for i, p in enumerate(probs):
        out += det.feed(frame, p, i * 0.032)
    return out


def test_detector_turn_with_speculative_then_final():
    acts = run_detector([0.0] * 5 + [0.9] * 20 + [0.0] * 15)
    kinds = [type(a).__name__ + (":" + a.kind if isinstance(a, Emit) else "") for a in acts]
    assert kinds[0] == "SpeechStart"
    assert "SpeechSustained" in kinds
    assert kinds.index("Emit:speculative") < kinds.index("Emit:final")
    final = [a for a in acts if isinstance(a, Emit) and a.kind == "final"][0]
    spec = [a for a in acts if isinstance(a, Emit) and a.kind == "speculative"][0]
    assert len(final.audio) == len(spec.audio)  # same cut: the speculative transcript is reusable
    assert final.speech_end == pytest.approx(25 * 0.032)
    assert final.speech_start == pytest.approx(5 * 0.032)


def test_detector_asks_for_a_turn_check_in_the_pause_with_the_pause_in_its_audio():
    acts = run_detector([0.9] * 15 + [0.0] * 15)
    emits = [a for a in acts if isinstance(a, Emit)]
    assert [e.kind for e in emits] == ["speculative", "turn_check", "final"]
    spec, check, _ = emits
    assert len(check.audio) == len(spec.audio) + 4 * FRAME  # 192 ms of the pause heard, 64 ms kept


def test_detector_pause_then_resume_is_one_turn():
    acts = run_detector([0.9] * 15 + [0.0] * 6 + [0.9] * 15 + [0.0] * 15)
    assert sum(isinstance(a, SpeechStart) for a in acts) == 1
    assert any(isinstance(a, SpeechResumed) for a in acts)
    finals = [a for a in acts if isinstance(a, Emit) and a.kind == "final"]
    assert len(finals) == 1 and finals[0].speech_end == pytest.approx(36 * 0.032)


def test_detector_speech_after_a_committed_turn_continues_it_until_its_answer_is_heard():
    from app.pipeline.turns import TurnResumed

    det = TurnDetector(TurnParams(end_of_turn_ms=320, speculative_pause_ms=128, min_speech_ms=96))
    loud, quiet = np.full(FRAME, 0.5, np.float32), np.zeros(FRAME, np.float32)
    acts: list[object] = []
    script = [(loud, 0.9)] * 15 + [(quiet, 0.0)] * 12 + [(loud, 0.9)] * 10 + [(quiet, 0.0)] * 12
    for i, (frame, p) in enumerate(script):
        acts += det.feed(frame, p, i * 0.032)
    finals = [a for a in acts if isinstance(a, Emit) and a.kind == "final"]
    (resumed,) = [a for a in acts if isinstance(a, TurnResumed)]
    assert [a.turn_id for a in finals] == [1, 1] and resumed.turn_id == 1
    assert not any(isinstance(a, SpeechStart) and a.turn_id == 2 for a in acts)
    whole = finals[1].audio
    assert len(whole) > len(finals[0].audio) + 10 * FRAME  # the first part, a gap, the new words
    assert np.array_equal(whole[: len(finals[0].audio)], finals[0].audio)
    assert finals[1].speech_start == finals[0].speech_start
    # once the answer is heard (the orchestrator closes the turn), speech is a new turn
    det.close(1)
    more = []
    for i, (frame, p) in enumerate([(loud, 0.9)] * 10, start=len(script)):
        more += det.feed(frame, p, i * 0.032)
    assert [a.turn_id for a in more if isinstance(a, SpeechStart)] == [2]


def test_detector_a_click_after_a_committed_turn_holds_its_answer_only_for_a_moment():
    from app.pipeline.turns import OnsetCancelled, SpeechOnset

    det = TurnDetector(TurnParams(end_of_turn_ms=320, speculative_pause_ms=128, min_speech_ms=96))
    frame = np.zeros(FRAME, np.float32)
    acts: list[object] = []
    for i, p in enumerate([0.9] * 15 + [0.0] * 12 + [0.9] * 2 + [0.0] * 15):
        acts += det.feed(frame, p, i * 0.032)
    kinds = [type(a).__name__ for a in acts if not isinstance(a, (Emit, SpeechStart))]
    assert kinds[-2:] == ["SpeechOnset", "OnsetCancelled"]
    assert [a.turn_id for a in acts if isinstance(a, (SpeechOnset, OnsetCancelled))] == [1, 1]
    assert det.committed is not None  # still open: the answer has not been heard


def test_detector_ignores_blips():
    acts = run_detector([0.0] * 5 + [0.9] * 2 + [0.0] * 30)
    assert not any(isinstance(a, (SpeechStart, Emit)) for a in acts)


def test_detector_eot_override_shortens_wait():
    det = TurnDetector(TurnParams(end_of_turn_ms=640, speculative_pause_ms=128, min_speech_ms=96))
    frame = np.zeros(FRAME, dtype=np.float32)
    for i in range(15):
        det.feed(frame, 0.9, i * 0.032)
    det.hint_end_of_turn(det.turn_id, 256)
    finals = []
    for i in range(15, 30):
        finals += [a for a in det.feed(frame, 0.0, i * 0.032) if isinstance(a, Emit) and a.kind == "final"]
        if finals:
            break
    assert finals and (i - 14) * 32 <= 288


def test_detector_push_to_talk_press_hold_release_without_a_clock():
    """Push-to-talk through the detector's own methods: the pre-roll's last frames start the turn,
    held frames join it whatever the VAD would say, and the release ends it at that moment."""
    from app.pipeline.turns import SpeechSustained

    det = TurnDetector(TurnParams(end_of_turn_ms=640, speculative_pause_ms=128, min_speech_ms=96))
    quiet = np.zeros(FRAME, dtype=np.float32)
    for _ in range(5):
        det.hold(quiet, pressed=False)  # before the press: pre-roll only
    acts = det.press(1.0)
    assert [type(a) for a in acts] == [SpeechStart, SpeechSustained]
    assert det.in_speech and acts[0].turn_id == acts[1].turn_id == 1 and acts[0].t == 1.0
    assert len(det.frames) == 3  # the last three pre-roll frames
    for _ in range(10):
        det.hold(np.full(FRAME, 0.1, dtype=np.float32), pressed=True)
    (final,) = det.release(1.5)
    assert isinstance(final, Emit) and final.kind == "final" and final.turn_id == 1
    assert final.speech_end == 1.5 and len(final.audio) == 13 * FRAME
    assert not det.in_speech
    assert det.press(2.0)[0].turn_id == 2  # the next press is a new turn


# ---------------------------------------------------------------- queues and workers


def test_bounded_queue_drops_oldest_and_counts():
    q = BoundedQueue(3)
    for i in range(5):
        q.put(i)
    assert q.dropped == 2
    assert [q.get(0.1) for _ in range(3)] == [2, 3, 4]


def test_worker_drops_stale_generation_and_survives_exceptions():
    scope = CancelScope()
    seen, errors = [], []

    class W(Worker):
        name = "test"

        def handle(self, item):
            if item.text == "boom":
                raise RuntimeError("boom")
            seen.append(item.text)

    q = BoundedQueue(10)
    w = W(q, is_stale=scope.is_stale, on_error=lambda where, exc: errors.append(str(exc)))
    w.start()
    q.put(Clause(1, 0, 0, "old"))
    q.put(Clause(1, 0, 1, "boom"))
    wait_for(lambda: errors)
    scope.cancel()
    q.put(Clause(1, 0, 2, "stale"))
    q.put(Clause(2, 1, 0, "fresh"))
    wait_for(lambda: "fresh" in seen)
    w.stop()
    assert w.join(2)
    assert seen == ["old", "fresh"]


def test_memory_trims_oldest_exchanges_and_marks_interruptions():
    conv = Conversation()
    for i in range(40):
        conv.add("user", f"question number {i} " + "word " * 20, i)
        conv.add("assistant", f"answer {i} " + "word " * 20, i, interrupted=(i == 39))
    msgs = conv.messages("system prompt", count_tokens=lambda s: len(s.split()), budget=300)
    assert msgs[0] == {"role": "system", "content": "system prompt"}
    assert msgs[1]["role"] == "user"
    assert sum(len(m["content"].split()) + 6 for m in msgs) <= 300 + 10
    assert msgs[-1]["content"] == "answer 39 " + "word " * 20  # the model's own turn: only its words
    assert "question number 39" in msgs[-2]["content"]
    conv.add("user", "and what next?", 40)
    msgs = conv.messages("system prompt", count_tokens=lambda s: len(s.split()), budget=300)
    assert msgs[-1]["content"] == INTERRUPTED_NOTE + "and what next?"  # the note is in the user's
    assert not any(INTERRUPTED_NOTE in m["content"] for m in msgs if m["role"] == "assistant")


# ---------------------------------------------------------------- whole pipeline on fakes


def test_turn_end_to_end_with_ordered_timestamps(running):
    orch = running(make_orchestrator())
    feed(orch, np.concatenate([silence(0.3), speech(1.0), silence(1.5)]))
    wait_for(lambda: orch.finished, 10)
    rep = orch.finished[0]
    t = rep["t"]
    order = [
        "speech_start",
        "speech_end",
        "stt_done",
        "llm_first_token",
        "tts_first_chunk",
        "first_audio",
        "turn_end",
    ]
    assert all(k in t for k in order), t
    assert t["speech_start"] < t["speech_end"] <= t["eot_decided"] + 1e-6
    assert t["llm_first_token"] <= t["tts_first_chunk"] <= t["first_audio"] <= t["turn_end"]
    assert rep["latency_ms"]["voice_to_voice"] > 0
    assert rep["assistant_text"].startswith("Paris")
    assert not rep["interrupted"]
    msgs = orch.memory.snapshot()
    assert [m.role for m in msgs] == ["user", "assistant"]


def test_speculative_transcript_is_reused_for_final(running):
    stt = ScriptedStt()
    orch = running(make_orchestrator(stt=stt))
    feed(orch, np.concatenate([silence(0.3), speech(0.5), silence(1.2)]))  # short: no partial pass
    wait_for(lambda: orch.finished, 10)
    # warm-up excluded: one transcription for the speculative pass, none again for the final
    assert len([c for c in stt.calls if c > 0]) == 1


def test_barge_in_stops_playback_and_no_stale_audio_plays(running):
    llm = ScriptedLlm(reply=" ".join([f"This is a long answer, sentence number {i}." for i in range(12)]))
    tts = ToneTts(seconds_per_word=0.08)
    orch = running(make_orchestrator(llm=llm, tts=tts))
    feed(orch, np.concatenate([silence(0.3), speech(0.8), silence(0.6)]))
    wait_for(lambda: orch.state == "speaking", 10)
    time.sleep(0.5)  # let some of the answer play
    played_before = orch.playback.played(1)
    assert played_before
    # the user talks over the assistant
    feed(orch, np.concatenate([speech(0.8), silence(1.2)]))
    wait_for(lambda: len(orch.finished) >= 2, 15)
    first, second = sorted(orch.finished, key=lambda r: r["turn_id"])
    assert first["interrupted"]
    assert first["assistant_text"] and len(first["assistant_text"]) < len(first["assistant_full_text"])
    assert not second["interrupted"]
    # nothing of turn 1 was played after it was interrupted
    rec = orch.playback.take_recording(1)
    assert len(rec) / 16000 < first["t"]["turn_end"] - first["t"]["first_audio"] + 0.1
    evs = events(orch)
    assert any(isinstance(e, Interrupted) and e.turn_id == 1 for e in evs)
    assert any(isinstance(e, AssistantTurn) and e.turn_id == 1 and e.interrupted for e in evs)
    mem = orch.memory.snapshot()
    interrupted = [m for m in mem if m.interrupted]
    assert len(interrupted) == 1 and interrupted[0].content == first["assistant_text"]


def test_going_on_before_any_answer_is_heard_is_one_turn_with_all_its_words(running):
    llm = ScriptedLlm(token_delay=0.15)
    stt = ScriptedStt(texts=["tell me about", "tell me about the weather in Paris"])
    orch = running(make_orchestrator(stt=stt, llm=llm))
    feed(orch, np.concatenate([silence(0.3), speech(0.6), silence(0.5)]))
    wait_for(lambda: orch.state == "thinking", 5)
    feed(orch, np.concatenate([speech(0.6), silence(1.5)]))
    wait_for(lambda: orch.finished and orch.is_idle(), 15)
    (turn,) = orch.finished  # one turn: not an interrupted one plus a new one
    assert turn["user_text"] == "tell me about the weather in Paris" and not turn["interrupted"]
    assert turn["resumed"] == 1 and turn["assistant_text"]
    assert max(stt.calls) >= 1.2 * 16000  # the continuation was transcribed with its start
    users = [e.content for e in orch.memory.snapshot() if e.role == "user"]
    assert users == ["tell me about the weather in Paris"]  # the words are in memory once


def test_push_to_talk_drives_a_turn_and_gates_audio(running):
    from app.config import Settings

    orch = running(make_orchestrator(settings=Settings(mode="ptt", end_of_turn_silence_ms=300)))
    feed(orch, np.concatenate([speech(0.8), silence(1.0)]))  # talking without the key does nothing
    wait_for(lambda: orch.input_q.empty() and not orch.vad_worker.busy)  # every block taken
    assert not orch.finished and orch.is_idle() and not orch.turns
    orch.push_to_talk(True)
    feed(orch, speech(0.6))
    orch.push_to_talk(False)
    wait_for(lambda: orch.finished, 10)
    assert orch.finished[0]["user_text"]


def test_silence_makes_no_turn(running):
    orch = running(make_orchestrator())
    audio = silence(1.5)
    feed(orch, audio, realtime=False)
    wait_for(lambda: orch.vad_worker.frames_done >= len(audio) // FRAME)  # every frame judged
    assert not orch.finished and orch.is_idle() and not orch.turns


def test_turn_done_events_reach_the_ui_queue(running):
    orch = running(make_orchestrator())
    feed(orch, np.concatenate([silence(0.2), speech(0.6), silence(1.2)]))
    seen: list[object] = []
    wait_for(lambda: seen.extend(events(orch)) or any(isinstance(e, TurnDone) for e in seen), 10)
    assert orch.finished


def test_interrupt_is_thread_safe_under_load(running):
    llm = ScriptedLlm(reply=" ".join(["word"] * 80) + ".", token_delay=0.002)
    orch = running(make_orchestrator(llm=llm, tts=ToneTts(0.02)))
    feed(orch, np.concatenate([silence(0.2), speech(0.6), silence(0.6)]))
    wait_for(lambda: orch.state == "speaking", 10)  # interrupts must land on a real answer
    threads = [threading.Thread(target=orch.interrupt, args=("test",)) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wait_for(lambda: orch.is_idle() and orch.finished, 5)
    assert len(orch.finished) == 1 and orch.finished[0]["interrupted"], orch.finished
    # and the engine still works: the next turn is answered in full
    feed(orch, np.concatenate([speech(0.6), silence(0.8)]))
    wait_for(lambda: len(orch.finished) == 2, 20)
    assert not orch.finished[1]["interrupted"]


def test_short_backchannel_does_not_interrupt_or_make_a_turn(running):
    from app.config import Settings

    llm = ScriptedLlm(reply=" ".join(f"Sentence number {i} of a long answer." for i in range(10)))
    settings = Settings(
        end_of_turn_silence_ms=300, speculative_pause_ms=150, min_speech_ms=96, barge_in_min_speech_ms=400
    )
    orch = running(make_orchestrator(llm=llm, tts=ToneTts(0.08), settings=settings))
    feed(orch, np.concatenate([silence(0.3), speech(0.8), silence(0.6)]))
    wait_for(lambda: orch.state == "speaking", 10)
    feed(orch, np.concatenate([speech(0.2), silence(0.6)]))  # "mm-hmm"
    wait_for(lambda: orch.finished and orch.is_idle(), 20)
    assert len(orch.finished) == 1 and not orch.finished[0]["interrupted"]  # answered once, in full
    dropped = [e.metrics for e in events(orch) if isinstance(e, TurnDone) and e.metrics["dropped"]]
    assert len(dropped) == 1 and "backchannel" in dropped[0]["dropped"]


def test_memory_window_moves_in_blocks_so_the_prefix_stays_stable():
    conv = Conversation()
    count = lambda s: len(s.split())  # noqa: E731
    prompts = []
    for i in range(30):
        conv.add("user", f"question {i} " + "word " * 10, i)
        prompts.append(conv.messages("sys", count_tokens=count, budget=200))
        conv.add("assistant", f"answer {i} " + "word " * 10, i)
    # between two trims, each prompt extends the previous one (the KV cache prefix matches)
    trims = 0
    for before, after in zip(prompts, prompts[1:], strict=False):
        if after[: len(before)] != before:
            trims += 1
            assert after[1]["role"] == "user"
    assert 2 <= trims < len(prompts) // 2  # a trim every few turns, not every turn
    assert all(sum(len(m["content"].split()) + 6 for m in p) <= 210 for p in prompts)


def test_idle_llm_prefills_the_conversation_and_moves_a_full_window_between_turns(running):
    from app.config import Settings

    llm = PrefillingLlm(reply="Fine words " * 8)
    stt = ScriptedStt(["tell me something nice " * 4])
    settings = Settings(
        end_of_turn_silence_ms=300, speculative_pause_ms=150, history_tokens=200, system_prompt="Be brief."
    )
    orch = running(make_orchestrator(stt=stt, llm=llm, settings=settings))
    idle: list[dict[str, str]] = []
    for turn in range(1, 6):
        feed(orch, np.concatenate([silence(0.3), speech(0.5), silence(1.0)]))
        wait_for(lambda turn=turn: len(orch.finished) >= turn, 10)
        if idle:  # this turn's prompt extends what was prefilled: only the new words were left
            assert llm.prompts[-1][: len(idle)] == idle
            assert llm.prompts[-1][len(idle)]["role"] == "user"
        # once the reply is in memory, the idle worker prefills the conversation so far
        last = orch.memory.snapshot()[-1]
        wait_for(lambda last=last: llm.prefilled[-1][-1]["content"] == last.content)
        idle = llm.prefilled[-1]
        assert idle[0] == {"role": "system", "content": "Be brief."} and idle[1]["role"] == "user"
    # the window outgrew the budget and moved while idle (the turns' prompts above never did)
    assert len(idle) < 1 + 2 * 5


def test_heap_is_trimmed_between_turns_never_while_audio_plays(running, monkeypatch):
    import app.pipeline.stages as stages

    calls: list[bool] = []
    orch = make_orchestrator()
    monkeypatch.setattr(stages, "release_free_memory", lambda: calls.append(orch.is_idle()) or 0.0)
    running(orch)
    feed(orch, np.concatenate([silence(0.3), speech(0.5), silence(1.0)]))
    wait_for(lambda: orch.finished, 10)
    worker = orch.llm_worker
    # The turn's entries reach the memory at more than one moment (each a change, each trimmed
    # once): wait until the worker has caught up with the last one, not merely the first trim.
    wait_for(lambda: calls and worker._prefilled_version == orch.memory.version and not worker._trim_pending)
    assert all(calls)  # every trim happened with nothing heard, queued or playing
    n = len(calls)
    feed(orch, silence(0.5))
    assert len(calls) == n  # once per change of the conversation, not every idle moment
