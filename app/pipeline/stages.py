"""The STT, LLM and TTS workers.  Each owns one engine on one permanent thread.

A worker knows only its narrow context (``app.pipeline.context``): it stamps times, ``emit``s
its results and checks staleness.  What a result means for the turn (answer it, drop it,
adapt the end-of-turn wait) is the orchestrator's business.
"""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.audio.resample import resample
from app.engines.capabilities import Capability, supports
from app.engines.llm import LlmEngine
from app.engines.stt import SttEngine, SttResult
from app.engines.tts import TtsEngine
from app.engines.turn import TurnEngine
from app.heap import release_free_memory
from app.messages import (
    SAMPLE_RATE,
    AssistantDelta,
    AudioChunk,
    Clause,
    EmotionTags,
    EndOfReply,
    NotSpeech,
    PartialTranscript,
    ReplyGenerated,
    Transcript,
    TurnScore,
    Utterance,
)
from app.pipeline.context import LlmContext, StageContext
from app.pipeline.text import ClauseSplitter, is_probably_hallucination
from app.pipeline.worker import BoundedQueue, Worker

log = logging.getLogger(__name__)

# The first clause may end before a phrase-opening word after this many words ("The capital of
# France, | is Paris."), spoken with a comma (ClauseSplitter.first_phrase_words; 0: off).  On the
# bench's 20 questions (Zen 5, 2 cores) voice-to-voice p50 743 -> 572 ms; piper's pause at the cut
# (median 269 ms) is the one it makes at a comma inside one sentence (265-455 ms), and Whisper heard
# no sentence end at any of the 5 cuts (python -m app.tools.bench_phrase; docs/bench.md).
FIRST_PHRASE_WORDS = 3
COMMIT_AFTER_S = 25.0  # long monologues: transcribe and commit the head at a pause


@dataclass
class _TurnStt:
    committed_samples: int = 0
    committed_text: str = ""
    cached_len: int = -1
    cached: SttResult | None = None
    cached_at: float = 0.0
    emotion_future: concurrent.futures.Future | None = None
    emotion_len: int = -1


class SttWorker(Worker):
    """Utterances in; ``PartialTranscript``, ``Transcript`` (``final=False`` at a pause) or
    ``NotSpeech`` out.  The emotion tagger (optional) runs beside Whisper on its own thread."""

    name = "stt"

    def __init__(
        self,
        inbox: BoundedQueue,
        ctx: StageContext,
        stt_factory: Callable[[], SttEngine],
        tagger: Any = None,
        **kw: Any,
    ):
        super().__init__(inbox, **kw)
        self.ctx = ctx
        self.tagger = tagger
        self.stt_factory = stt_factory
        self.stt: SttEngine | None = None
        self.turns: dict[int, _TurnStt] = {}
        self.audio_seconds = 0.0
        self.compute_seconds = 0.0
        self._emotion_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="emotion"
        )

    def setup(self) -> None:
        self.stt = self.stt_factory()
        if supports(self.stt, Capability.WARM_UP):
            self.stt.warm_up()
        tagger = self.tagger
        if tagger is not None:  # warm the feature extractor too
            self._emotion_pool.submit(tagger.analyze_voice, np.zeros(SAMPLE_RATE // 2, np.float32)).result()

    def _transcribe(self, audio: np.ndarray) -> SttResult:
        assert self.stt is not None
        res = self.stt.transcribe(audio, hotwords=self.ctx.hotwords())
        self.audio_seconds += len(audio) / SAMPLE_RATE
        self.compute_seconds += res.seconds
        return res

    def _emotion(self, st: _TurnStt, audio: np.ndarray) -> None:
        tagger = self.tagger
        if tagger is None or st.emotion_len == len(audio):
            return
        st.emotion_len = len(audio)
        st.emotion_future = self._emotion_pool.submit(tagger.analyze_voice, audio, SAMPLE_RATE)

    def handle(self, utt: Utterance) -> None:
        st = self.turns.setdefault(utt.turn_id, _TurnStt())
        audio = utt.audio
        if utt.kind == "partial":
            if not self.inbox.empty():
                return  # something newer is waiting: a partial is only worth it when idle
            res = self._transcribe(audio[st.committed_samples :])
            text = " ".join(t for t in (st.committed_text, res.text) if t)
            if text:
                self.ctx.emit(PartialTranscript(utt.turn_id, text))
            return
        if utt.kind == "speculative":
            self._emotion(st, audio)
            tail = audio[st.committed_samples :]
            res = self._transcribe(tail)
            if len(tail) / SAMPLE_RATE >= COMMIT_AFTER_S and res.text:
                st.committed_text = " ".join(t for t in (st.committed_text, res.text) if t)
                st.committed_samples = len(audio)
                st.cached, st.cached_len = None, -1
            else:
                st.cached, st.cached_len, st.cached_at = res, len(audio), time.perf_counter()
            text = " ".join(t for t in (st.committed_text, res.text) if t)
            if text:
                self.ctx.emit(PartialTranscript(utt.turn_id, text, at_pause=True, pause_end=utt.speech_end))
                if st.cached is res and not is_probably_hallucination(text):
                    self.ctx.emit(
                        Transcript(
                            utt.turn_id,
                            utt.gen,
                            text,
                            utt.speech_start,
                            utt.speech_end,
                            final=False,
                            emotion=self._tag(st, text, res, preview=True),
                            words=res.words,
                            duration=len(audio) / SAMPLE_RATE,
                        )
                    )
            return
        # final
        self._emotion(st, audio)
        if st.cached is not None and st.cached_len == len(audio):
            res, done_at = st.cached, st.cached_at
        else:
            res = self._transcribe(audio[st.committed_samples :])
            done_at = time.perf_counter()
        self.turns.pop(utt.turn_id, None)
        for old in [k for k in self.turns if k < utt.turn_id]:
            self.turns.pop(old, None)
        text = " ".join(t for t in (st.committed_text, res.text) if t).strip()
        self.ctx.stamp(utt.turn_id, "stt_done", done_at)
        if not text or (is_probably_hallucination(text) and not st.committed_text):
            self.ctx.emit(NotSpeech(utt.turn_id, res.rejected or f"not speech ({text!r})"))
            return
        emotion = self._tag(st, text, res)
        self.ctx.stamp(utt.turn_id, "emotion_done", time.perf_counter())
        self.ctx.emit(
            Transcript(
                utt.turn_id,
                utt.gen,
                text,
                utt.speech_start,
                utt.speech_end,
                emotion=emotion,
                words=res.words,
                duration=len(audio) / SAMPLE_RATE,
            )
        )

    def _tag(self, st: _TurnStt, text: str, res: SttResult, preview: bool = False) -> EmotionTags | None:
        """Emotion tags for this text; ``preview`` leaves the speaker's baseline untouched."""
        tagger = self.tagger
        if tagger is None or st.emotion_future is None:
            return None
        try:
            voice = st.emotion_future.result(timeout=0.25)
            if preview:
                tagger = copy.deepcopy(tagger)
            return tagger.tag(voice, text, res.words or None)
        except Exception:  # noqa: BLE001 - emotion must never cost the turn
            log.exception("emotion tagging failed")
            return None

    def stop(self) -> None:
        super().stop()
        self._emotion_pool.shutdown(wait=False, cancel_futures=True)


class TurnWorker(Worker):
    """Turn checks in (the turn so far, its pause included), ``TurnScore`` out: how finished the
    turn sounds (Smart Turn), on its own thread so it runs beside Whisper's transcription."""

    name = "turn"

    def __init__(
        self, inbox: BoundedQueue, ctx: StageContext, turn_factory: Callable[[], TurnEngine], **kw: Any
    ):
        super().__init__(inbox, **kw)
        self.ctx = ctx
        self.turn_factory = turn_factory
        self.turn: TurnEngine | None = None
        self.seconds = 0.0
        self.calls = 0

    def setup(self) -> None:
        self.turn = self.turn_factory()
        if supports(self.turn, Capability.WARM_UP):
            self.turn.warm_up()

    def handle(self, utt: Utterance) -> None:
        assert self.turn is not None
        if not self.inbox.empty():
            return  # a newer pause waits: this one is over
        t0 = time.perf_counter()
        p = float(self.turn.prob_complete(utt.audio))
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.ctx.emit(TurnScore(utt.turn_id, p, utt.speech_end))


class LlmWorker(Worker):
    """Transcripts in; the reply streamed out as ``Clause``s (then ``EndOfReply``) to the TTS
    inbox, ``AssistantDelta`` and ``ReplyGenerated`` to the context.  Between turns it
    prefills the conversation into the model's cache."""

    name = "llm"

    def __init__(
        self,
        inbox: BoundedQueue,
        ctx: LlmContext,
        llm_factory: Callable[[], LlmEngine],
        out: BoundedQueue,
        **kw: Any,
    ):
        super().__init__(inbox, **kw)
        self.ctx = ctx
        self.llm_factory = llm_factory
        self.llm: LlmEngine | None = None
        self.out = out
        self.first_token_ms: list[float] = []
        self._prefilled_version = -1
        self._trim_pending = False
        self._idle_messages: list[dict[str, str]] | None = None  # what the cache holds (prefilled)
        self._heard_prefilled: tuple[int, str] | None = None

    def setup(self) -> None:
        self.llm = self.llm_factory()
        if supports(self.llm, Capability.WARM_UP):
            self.llm.warm_up(self.ctx.settings.system_prompt)

    def idle(self) -> None:
        """Between turns, once per change of the memory: evaluate the conversation so far, and
        the opening of the user's next message, into the LLM's cache (see
        ``LlamaCppLlm.prefill``); a turn arriving stops it and the rest waits for the next pause.
        While the user speaks, the words of the turn heard so far follow them.  Then, once
        nothing is playing, give the heap memory freed during the turn back to the system.
        """
        version = self.ctx.memory_version
        prefill = self.llm is not None and supports(self.llm, Capability.PREFILL)
        if self.llm is not None and version != self._prefilled_version:
            if prefill:
                messages = self.ctx.idle_prompt(self.llm)
                self._prefill(
                    messages, "" if self.ctx.settings.prefill_while_speaking else None, "between turns"
                )
                if not self.inbox.empty():
                    return
                self._idle_messages = messages
                self._heard_prefilled = None
            self._prefilled_version = version
            self._trim_pending = True
        elif prefill and self._idle_messages is not None and self.ctx.settings.prefill_while_speaking:
            heard = self.ctx.heard_so_far()
            if heard is not None and heard != self._heard_prefilled:
                self._heard_prefilled = heard
                self._prefill(self._idle_messages, heard[1], f"of turn {heard[0]} while the user speaks")
        if self._trim_pending and self.ctx.is_idle():
            # Not while audio plays: malloc_trim holds each malloc arena's lock for a moment.
            # Without it RSS grew 1127 -> 1378 MB over 50 bench turns (+22 %): glibc kept what
            # onnxruntime, CTranslate2 and numpy freed.  With it: +3.7 % over 50 turns, no slower.
            self._trim_pending = False
            log.debug("heap trimmed in %.1f ms", 1000 * release_free_memory())

    def _prefill(self, messages: list[dict[str, str]], user_prefix: str | None, what: str) -> None:
        assert self.llm is not None
        t0 = time.perf_counter()
        n = self.llm.prefill(  # type: ignore[attr-defined]
            messages,
            should_stop=lambda: not self.inbox.empty() or self._stop.is_set(),
            user_prefix=user_prefix,
        )
        seconds = time.perf_counter() - t0
        if n:
            stopped = "" if self.inbox.empty() else " (stopped: a turn arrived)"
            log.debug("llm: prefilled %d tokens %s in %.0f ms%s", n, what, 1000 * seconds, stopped)

    def handle(self, tr: Transcript) -> None:
        assert self.llm is not None
        ctx = self.ctx
        skill = ctx.skill_for(tr)
        if skill is not None:  # said the way an LLM reply is, so the report times it the same way
            self._reply(tr, iter((skill.text,)))
            return
        messages = ctx.prompt_for(tr, self.llm)
        if messages is None:
            return  # cancelled before it started
        self._reply(
            tr,
            self.llm.stream_chat(
                messages,
                max_tokens=ctx.settings.max_reply_tokens,
                temperature=ctx.settings.temperature,
                should_stop=lambda: ctx.is_stale(tr.gen),
            ),
        )

    def _reply(self, tr: Transcript, deltas: Iterator[str]) -> None:
        ctx = self.ctx
        gen = tr.gen
        splitter = ClauseSplitter(first_phrase_words=FIRST_PHRASE_WORDS)
        index = 0
        reply = ""
        if ctx.is_stale(gen):
            return
        ctx.stamp(tr.turn_id, "llm_start", time.perf_counter())
        first = True
        last_ui = 0.0

        def stale() -> bool:
            return ctx.is_stale(gen)

        def clause(text: str) -> Clause:
            return Clause(tr.turn_id, gen, index, text, style=tr.style)

        for delta in deltas:
            if stale():
                return
            now = time.perf_counter()
            if first:
                first = False
                ctx.stamp(tr.turn_id, "llm_first_token", now)
            reply += delta
            if now - last_ui > 0.05:
                last_ui = now
                ctx.emit(AssistantDelta(tr.turn_id, reply))
            for text in splitter.feed(delta):
                if index == 0:
                    ctx.stamp(tr.turn_id, "first_clause", time.perf_counter())
                self.out.put(clause(text), block=True)
                index += 1
        if stale():
            return
        for text in splitter.flush():
            if index == 0:
                ctx.stamp(tr.turn_id, "first_clause", time.perf_counter())
            self.out.put(clause(text), block=True)
            index += 1
        ctx.stamp(tr.turn_id, "llm_done", time.perf_counter())
        ctx.emit(ReplyGenerated(tr.turn_id, gen, reply.strip()))
        self.out.put(EndOfReply(tr.turn_id, gen), block=True)


class AudioSink(Protocol):
    """Where spoken clauses go (``PlaybackBuffer``)."""

    sample_rate: int

    def enqueue(self, item: AudioChunk | EndOfReply) -> None: ...


class TtsWorker(Worker):
    """Clauses in, audio at the sink's rate out, in the clause's ``SpeechStyle``."""

    name = "tts"

    def __init__(
        self,
        inbox: BoundedQueue,
        ctx: StageContext,
        tts_factory: Callable[[], TtsEngine],
        sink: AudioSink,
        **kw: Any,
    ):
        super().__init__(inbox, **kw)
        self.ctx = ctx
        self.sink = sink
        self.tts_factory = tts_factory
        self.tts: TtsEngine | None = None
        self.audio_seconds = 0.0
        self.compute_seconds = 0.0

    def setup(self) -> None:
        self.tts = self.tts_factory()
        if supports(self.tts, Capability.WARM_UP):
            self.tts.warm_up()

    def handle(self, item: Clause | AudioChunk | EndOfReply) -> None:
        ctx = self.ctx
        playback = self.sink
        if isinstance(item, EndOfReply):
            playback.enqueue(item)
            return
        if isinstance(item, AudioChunk):  # a sound already made (an alarm's chime): play it in turn
            if not ctx.is_stale(item.gen):
                audio = resample(item.samples, item.sample_rate, playback.sample_rate)
                playback.enqueue(dataclasses.replace(item, samples=audio, sample_rate=playback.sample_rate))
            return
        assert self.tts is not None
        t0 = time.perf_counter()
        parts = []
        for audio in self.tts.synthesize(item.text, item.style):
            if ctx.is_stale(item.gen):
                return
            parts.append(audio)
        if not parts or ctx.is_stale(item.gen):
            return
        audio = np.concatenate(parts)
        self.compute_seconds += time.perf_counter() - t0
        self.audio_seconds += len(audio) / self.tts.sample_rate
        audio = resample(audio, self.tts.sample_rate, playback.sample_rate)
        ctx.stamp(item.turn_id, "tts_first_chunk", time.perf_counter())
        playback.enqueue(
            AudioChunk(item.turn_id, item.gen, item.index, audio, playback.sample_rate, item.text, item.last)
        )
