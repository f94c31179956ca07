"""Each stage between a source and a sink, without threads or a clock: items in, assert what comes out.

The workers are driven by calling ``setup`` and ``handle`` directly with a ``RecordingContext``;
the orchestrator's turn logic is driven by the actions and results its workers would send.
"""

from __future__ import annotations

import numpy as np

from app.config import Settings
from app.messages import (
    AssistantDelta,
    AudioChunk,
    Clause,
    EndOfReply,
    NotSpeech,
    PartialTranscript,
    ReplyGenerated,
    SpeechStyle,
    Transcript,
    TurnDone,
    UserTurn,
    Utterance,
)
from app.pipeline.stages import LlmWorker, SttWorker, TtsWorker
from app.pipeline.turns import Emit, SpeechStart, SpeechSustained
from app.pipeline.worker import BoundedQueue, Worker
from tests.fakes import (
    RecordingContext,
    RecordingSink,
    ScriptedLlm,
    ScriptedStt,
    ToneTts,
    make_orchestrator,
    speech,
)


def run_stage(worker: Worker, *items: object) -> None:
    """What the worker's thread does, inline: set up, skip stale items, handle the rest."""
    worker.setup()
    for item in items:
        gen = getattr(item, "gen", None)
        if gen is not None and worker.is_stale is not None and worker.is_stale(gen):
            continue
        worker.handle(item)


def utterance(kind: str, audio: np.ndarray, turn_id: int = 1, gen: int = 0) -> Utterance:
    return Utterance(turn_id, gen, audio, 0.0, len(audio) / 16000, kind)


def transcript(text: str = "what is the capital of france?", gen: int = 0, style=None) -> Transcript:
    return Transcript(1, gen, text, 0.0, 1.0, style=style)


# ---------------------------------------------------------------- STT


def stt_worker(stt: ScriptedStt, ctx: RecordingContext) -> SttWorker:
    return SttWorker(BoundedQueue(8), ctx, lambda: stt, is_stale=ctx.is_stale)


def test_stt_final_utterance_becomes_a_transcript_with_its_times():
    ctx = RecordingContext()
    run_stage(stt_worker(ScriptedStt(["Hello there."]), ctx), utterance("final", speech(0.8)))
    (tr,) = ctx.of(Transcript)
    assert tr.final and tr.text == "Hello there." and tr.duration == 0.8
    assert [name for _, name in ctx.stamps] == ["stt_done", "emotion_done"]


def test_stt_no_words_is_not_speech():
    ctx = RecordingContext()
    run_stage(stt_worker(ScriptedStt([""]), ctx), utterance("final", speech(0.5)))
    (ns,) = ctx.of(NotSpeech)
    assert ns.turn_id == 1 and "not speech" in ns.reason and not ctx.of(Transcript)


def test_stt_pause_transcript_is_speculative_and_reused_for_the_final():
    stt = ScriptedStt(["Tell me a joke."])
    ctx = RecordingContext()
    audio = speech(1.0)
    run_stage(stt_worker(stt, ctx), utterance("speculative", audio), utterance("final", audio))
    assert len(stt.calls) == 1  # the final is the same audio: no second transcription
    (partial,) = ctx.of(PartialTranscript)
    assert partial.at_pause and partial.text == "Tell me a joke."
    early, final = ctx.of(Transcript)
    assert not early.final and final.final and early.text == final.text


def test_stt_partial_is_skipped_when_newer_audio_waits():
    stt = ScriptedStt(["so far"])
    ctx = RecordingContext()
    worker = stt_worker(stt, ctx)
    worker.inbox.put(utterance("final", speech(0.5)))
    run_stage(worker, utterance("partial", speech(0.5)))
    assert not stt.calls and not ctx.emitted


# ---------------------------------------------------------------- LLM


def llm_worker(llm: ScriptedLlm, ctx: RecordingContext, out: BoundedQueue) -> LlmWorker:
    return LlmWorker(BoundedQueue(8), ctx, lambda: llm, out, is_stale=ctx.is_stale)


def drained(q: BoundedQueue) -> list[object]:
    items = []
    while not q.empty():
        items.append(q.get())
    return items


def test_llm_streams_clauses_in_the_turns_style_then_the_end_of_the_reply():
    ctx = RecordingContext()
    out = BoundedQueue(64)
    calm = SpeechStyle("calm")
    run_stage(llm_worker(ScriptedLlm(), ctx, out), transcript(style=calm))
    *clauses, end = drained(out)
    assert [c.text for c in clauses] == ["Paris is the capital of France.", "It is lovely in spring."]
    assert all(isinstance(c, Clause) and c.style is calm for c in clauses)
    assert [c.index for c in clauses] == [0, 1] and isinstance(end, EndOfReply)
    (done,) = ctx.of(ReplyGenerated)
    assert done.text == "Paris is the capital of France. It is lovely in spring."
    names = [name for _, name in ctx.stamps]
    assert names == ["llm_start", "llm_first_token", "first_clause", "llm_done"]
    assert ctx.of(AssistantDelta)  # the UI sees the reply grow


def test_llm_stops_when_its_generation_goes_stale_mid_reply():
    ctx = RecordingContext()

    class CancelledMidway(ScriptedLlm):
        def stream_chat(self, messages, **kw):
            for i, tok in enumerate(super().stream_chat(messages, **kw)):
                if i == 8:
                    ctx.stale.add(0)  # the user barged in
                yield tok

    out = BoundedQueue(64)
    run_stage(llm_worker(CancelledMidway(), ctx, out), transcript())
    items = drained(out)
    assert [type(i) for i in items] == [Clause]  # the first sentence went out; nothing after
    assert not ctx.of(ReplyGenerated)


def test_llm_skips_a_transcript_already_stale():
    ctx = RecordingContext()
    ctx.stale.add(3)
    llm = ScriptedLlm()
    out = BoundedQueue(8)
    run_stage(llm_worker(llm, ctx, out), transcript(gen=3))
    assert not llm.prompts and out.empty()


def test_llm_prefills_the_conversation_when_idle_once_per_change():
    from tests.fakes import PrefillingLlm

    ctx = RecordingContext()
    llm = PrefillingLlm()
    worker = llm_worker(llm, ctx, BoundedQueue(8))
    worker.setup()
    worker.idle()
    worker.idle()
    ctx.memory_version = 1
    worker.idle()
    assert len(llm.prefilled) == 2
    assert llm.user_prefixes == ["", ""]  # the conversation and the next user message's opening


def test_llm_prefills_the_words_heard_so_far_once_each_while_the_user_speaks():
    from tests.fakes import PrefillingLlm

    ctx = RecordingContext()
    llm = PrefillingLlm()
    worker = llm_worker(llm, ctx, BoundedQueue(8))
    worker.setup()
    worker.idle()  # the conversation first
    ctx.heard = (1, "What is the")
    worker.idle()
    worker.idle()
    ctx.heard = (1, "What is the capital of")
    worker.idle()
    ctx.heard = None  # the user stopped speaking
    worker.idle()
    assert llm.user_prefixes == ["", "What is the", "What is the capital of"]
    assert all(p == llm.prefilled[0] for p in llm.prefilled)  # always after the same conversation


def test_llm_prefill_while_speaking_can_be_turned_off():
    from tests.fakes import PrefillingLlm

    ctx = RecordingContext(Settings(prefill_while_speaking=False))
    llm = PrefillingLlm()
    worker = llm_worker(llm, ctx, BoundedQueue(8))
    worker.setup()
    worker.idle()
    ctx.heard = (1, "What is the")
    worker.idle()
    assert llm.user_prefixes == [None]


# ---------------------------------------------------------------- TTS


class StyleSpy(ToneTts):
    def __init__(self) -> None:
        super().__init__()
        self.styles: list[SpeechStyle | None] = []

    def synthesize(self, text, style=None):
        self.styles.append(style)
        yield from super().synthesize(text, style)


def tts_worker(tts: ToneTts, ctx: RecordingContext, sink: RecordingSink) -> TtsWorker:
    return TtsWorker(BoundedQueue(8), ctx, lambda: tts, sink, is_stale=ctx.is_stale)


def test_tts_speaks_each_clause_at_the_sinks_rate_in_its_style():
    ctx = RecordingContext()
    sink = RecordingSink(sample_rate=22050)
    tts = StyleSpy()
    warm = SpeechStyle("warm")
    run_stage(
        tts_worker(tts, ctx, sink),
        Clause(1, 0, 0, "Hello there.", style=warm),
        EndOfReply(1, 0),
    )
    chunk, end = sink.items
    assert isinstance(chunk, AudioChunk) and chunk.sample_rate == 22050 and chunk.text == "Hello there."
    assert len(chunk.samples) == round(0.12 * 22050)  # two words of tone, resampled from 16 kHz
    assert tts.styles == [warm] and isinstance(end, EndOfReply)
    assert ctx.stamps == [(1, "tts_first_chunk")]


def test_tts_drops_a_stale_clause():
    ctx = RecordingContext()
    ctx.stale.add(0)
    sink = RecordingSink()
    run_stage(tts_worker(ToneTts(), ctx, sink), Clause(1, 0, 0, "Too late."))
    assert not sink.items


# ---------------------------------------------------------------- the orchestrator's turn logic


def ui_events(orch) -> list[object]:
    out = []
    while not orch.ui_queue.empty():
        out.append(orch.ui_queue.get_nowait())
    return out


def final_turn(orch, turn_id: int, seconds: float = 0.6) -> None:
    """What the VAD worker reports for a whole turn: its start, then its final audio."""
    audio = speech(seconds)
    orch._on_vad_action(SpeechStart(turn_id, 0.0))
    orch._on_vad_action(Emit("final", turn_id, audio, 0.0, seconds))


def test_a_final_turn_is_transcribed_then_answered_in_the_turns_style():
    orch = make_orchestrator()
    final_turn(orch, 1)
    utt = orch.stt_q.get()
    assert isinstance(utt, Utterance) and utt.kind == "final" and orch.state == "thinking"
    orch.emit(Transcript(1, utt.gen, "hello", 0.0, 0.6))
    sent = orch.llm_q.get()
    assert sent.text == "hello" and sent.style == SpeechStyle()
    assert any(isinstance(e, UserTurn) and e.text == "hello" for e in ui_events(orch))


def test_not_speech_drops_the_turn_and_says_why():
    orch = make_orchestrator()
    final_turn(orch, 1)
    orch.emit(NotSpeech(1, "a cough"))
    done = [e for e in ui_events(orch) if isinstance(e, TurnDone)]
    assert done and done[0].metrics["dropped"] == "a cough" and orch.llm_q.empty()


def test_a_short_burst_while_the_assistant_answers_is_a_backchannel_not_a_turn():
    orch = make_orchestrator()
    final_turn(orch, 1)
    orch.emit(Transcript(1, 0, "tell me a story", 0.0, 0.6))
    orch.llm_q.get()
    final_turn(orch, 2, seconds=0.3)  # "mm-hmm", never sustained
    orch.emit(Transcript(2, orch.generation, "mm-hmm", 0.0, 0.3))
    assert orch.llm_q.empty() and orch.generation == 0  # nothing cancelled, no new turn
    dropped = [e.metrics for e in ui_events(orch) if isinstance(e, TurnDone)]
    assert dropped and "backchannel" in dropped[0]["dropped"]


def test_sustained_speech_while_the_assistant_answers_interrupts_through_one_new_generation():
    orch = make_orchestrator()
    final_turn(orch, 1)
    orch.emit(Transcript(1, 0, "tell me a story", 0.0, 0.6))
    orch.tts_q.put(Clause(1, 0, 0, "Once upon a time"))
    orch._on_vad_action(SpeechStart(2, 1.0))
    orch._on_vad_action(SpeechSustained(2, 1.3))
    assert orch.generation == 1 and orch.tts_q.empty()  # stale work drained at once
    assert orch.finished[0]["interrupted"] and orch.turns[2].gen == 1


def test_hearing_settings_change_reaches_the_turn_detector_as_a_command():
    orch = make_orchestrator(settings=Settings(end_of_turn_silence_ms=300))
    assert orch.apply_settings({"end_of_turn_silence_ms": 900, "beam_size": 3}) == ["beam_size"]
    orch.vad_worker.idle()  # what its thread does between audio blocks
    assert orch.vad_worker.detector.p.end_of_turn_ms == 900


class ScriptedTurn:
    """An end-of-turn model that says how finished each call's audio sounds."""

    def __init__(self, p: float) -> None:
        self.p = p
        self.heard: list[int] = []

    def prob_complete(self, audio: np.ndarray) -> float:
        self.heard.append(len(audio))
        return self.p


def test_the_turn_stage_says_how_finished_a_pause_sounds():
    from app.messages import TurnScore
    from app.pipeline.stages import TurnWorker

    ctx = RecordingContext()
    turn = ScriptedTurn(0.07)
    worker = TurnWorker(BoundedQueue(4), ctx, lambda: turn, is_stale=ctx.is_stale)
    heard = np.concatenate([speech(1.0), np.zeros(3200, np.float32)])
    run_stage(worker, utterance("turn_check", heard))
    (score,) = ctx.of(TurnScore)
    assert score.p_complete == 0.07 and score.turn_id == 1 and score.pause_end == 1.2
    assert turn.heard == [16000 + 3200]  # the model heard the pause too


def test_stt_sends_a_pauses_words_naming_the_pause():
    ctx = RecordingContext()
    run_stage(stt_worker(ScriptedStt(["Hello."]), ctx), utterance("speculative", speech(0.5)))
    (partial,) = ctx.of(PartialTranscript)
    assert partial.at_pause and partial.pause_end == 0.5


def test_the_judge_waits_for_both_the_words_and_the_voice_of_a_pause():
    from app.messages import TurnScore

    orch = make_orchestrator()
    orch.turn_worker = object()  # as if an end-of-turn model ran
    orch._on_vad_action(SpeechStart(1, 0.0))
    audio = speech(1.0)
    orch._on_vad_action(Emit("speculative", 1, audio, 0.0, 1.0))
    orch.emit(PartialTranscript(1, "And so, my fellow Americans,", at_pause=True, pause_end=1.0))
    (early,) = orch.turns[1].verdicts  # the words alone: a provisional wait
    assert early.reason == "unfinished (voice not heard yet)"
    orch.emit(TurnScore(1, 0.9, pause_end=0.5))  # an older pause's score: ignored
    assert len(orch.turns[1].verdicts) == 1
    orch.emit(TurnScore(1, 0.1, pause_end=1.0))
    verdict = orch.turns[1].verdicts[-1]
    assert verdict.reason == "unfinished" and verdict.wait_ms == orch.settings.turn_patience_ms
    assert orch.vad_worker.detector.eot_override_ms == {1: verdict.wait_ms}
