"""The orchestrator: builds the workers, owns turn state, memory and modes, routes stage results.

The workers see it only through their narrow contexts (``app.pipeline.context``): they
``emit`` results and ``emit`` routes them (``_route``).  What barge-in does is decided in
``app.pipeline.bargein.decide``; the one way the cancel generation moves is ``new_generation``.

Everything here is non-blocking for callers (the GUI thread may call any public
method).  Events for the UI go to ``ui_queue`` as plain dataclasses.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.audio.playback import PlaybackBuffer
from app.config import Settings
from app.engines.capabilities import Capability, supports
from app.engines.llm import LlmEngine
from app.engines.stt import SttEngine
from app.engines.tts import TtsEngine
from app.engines.turn import TurnEngine
from app.engines.vad import VadEngine
from app.engines.wake import WakeEngine
from app.messages import (
    AlarmFired,
    AlarmsChanged,
    AssistantDelta,
    AssistantTurn,
    AudioBlock,
    AudioChunk,
    Clause,
    EmotionTags,
    EndOfReply,
    EngineError,
    Interrupted,
    Notice,
    NotSpeech,
    PartialTranscript,
    ReplyGenerated,
    SkillUsed,
    SpeechStyle,
    StateChanged,
    Transcript,
    TurnContinued,
    TurnDone,
    TurnScore,
    UserSpeechStarted,
    UserTurn,
    Utterance,
)
from app.pipeline.bargein import (
    STOP_HOTWORDS,
    Decision,
    UserEvent,
    decide,
    hotword_prompt,
    is_interjection,
    is_stop_command,
)
from app.pipeline.cancel import CancelScope
from app.pipeline.clock import TurnClock
from app.pipeline.endofturn import EndOfTurnJudge, JudgeParams, Verdict
from app.pipeline.memory import Conversation
from app.pipeline.reply_style import prompt_note, reply_style
from app.pipeline.stages import LlmWorker, SttWorker, TtsWorker, TurnWorker
from app.pipeline.text import split_words_played, strip_stage_directions
from app.pipeline.turns import (
    Action,
    CloseCommand,
    Emit,
    ModeCommand,
    OnsetCancelled,
    PttCommand,
    SpeechOnset,
    SpeechResumed,
    SpeechStart,
    SpeechSustained,
    TuneCommand,
    TurnParams,
    TurnResumed,
    VadWorker,
    WakeCommand,
    WakeTuneCommand,
)
from app.pipeline.wake import (
    FOREVER,
    VERIFY_FROM,
    NameCheck,
    WakeGate,
    WakeHeard,
    WakeParams,
    WakeSlept,
    strip_wake_words,
)
from app.pipeline.worker import BoundedQueue
from app.skills import SkillAnswer, Skills

log = logging.getLogger(__name__)

# The stamps of an answer in the making (dropped with it when the user goes on).
ANSWER_STAMPS = ("llm_start", "llm_first_token", "first_clause", "tts_first_chunk", "llm_done")
IDLE_RESERVE_TOKENS = 96  # room kept for the next user message when the window is moved between turns
ALERT_TURN_BASE = 1_000_000  # turn ids of what the assistant says unasked (a timer went off)
ALARM_CHECK_S = 0.25  # how often the alarms are looked at (a timer ends at most this late)


@dataclass
class EngineFactories:
    """How to build each engine; called on the owning worker's thread."""

    vad: Callable[[], VadEngine]
    stt: Callable[[], SttEngine]
    llm: Callable[[], LlmEngine]
    tts: Callable[[], TtsEngine]
    emotion: Any = None  # an EmotionTagger instance (cheap to build) or None
    turn: Callable[[], TurnEngine] | None = None  # the end-of-turn model (Smart Turn); None: text rule only
    wake: Callable[[], WakeEngine] | None = None  # the wake word model; None: wake mode has the name only


@dataclass
class Turn:
    turn_id: int
    clock: TurnClock
    gen: int = 0
    user_text: str = ""
    emotion: EmotionTags | None = None
    reply: str = ""
    style: SpeechStyle = field(default_factory=SpeechStyle)
    state: str = "hearing"  # hearing, thinking, speaking, done, interrupted, dropped
    heard: str = ""
    interrupted: bool = False
    dropped: str = ""
    spec_duration: float | None = None  # audio length a speculative reply was started for
    sustained: bool = False  # the user spoke long enough to barge in
    resumed: int = 0  # times the user went on after the turn was committed (it stayed one turn)
    confirmed: bool = False  # its final words are in: its answer may play
    onset: bool = False  # the user may be going on (a sound began): its answer waits
    verdicts: list[Verdict] = field(default_factory=list)  # the end-of-turn judge's, one per pause
    pause_end: float | None = None  # the pause being judged (when the speech before it ended)
    pause_text: str | None = None  # its words so far (STT)
    pause_p: float | None = None  # its p(complete) (the end-of-turn model)
    pause_judged: bool = False
    skill: SkillAnswer | None = None  # the local skill that answers it (not the LLM)
    alarm: AlarmFired | None = None  # an announcement nobody asked for: what went off
    woke: bool = False  # wake word mode: the wake word was heard in it (its words start with it)
    name_check: bool = False  # wake word mode: answered only if its words start with the wake name
    over_answer: bool = False  # it began while the assistant's answer was playing


class Orchestrator:
    def __init__(
        self,
        settings: Settings,
        factories: EngineFactories,
        playback: PlaybackBuffer,
        *,
        ui_queue: queue.SimpleQueue | None = None,
        input_maxsize: int = 256,
        skills: Skills | None = None,
        sound: Callable[[str, int], np.ndarray] | None = None,
    ) -> None:
        self.settings = settings
        self.skills = skills
        self.sound = sound  # named earcons at a sample rate (app.audio.sounds.load_sound)
        self._alerts: list[AlarmFired] = []  # fired, waiting for a quiet moment to be said
        self._next_alert = ALERT_TURN_BASE
        self._alarm_check_at = 0.0
        self._shown_alarms: tuple[Any, ...] = ()  # what the window was last told
        self.factories = factories
        self.playback = playback
        self.emotion = factories.emotion
        self.ui_queue: queue.SimpleQueue = ui_queue if ui_queue is not None else queue.SimpleQueue()
        self.scope = CancelScope()
        self.memory = Conversation()
        self.t0 = time.perf_counter()
        self.turns: dict[int, Turn] = {}
        self.finished: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._pending_prefix = ""  # user words of a turn stopped (Stop button) before any answer was heard
        self._heard: tuple[int, str] | None = None  # a turn in progress, its settled words (heard_so_far)
        self.judge = EndOfTurnJudge(JudgeParams.from_settings(settings))
        self.state = "idle"
        self._wake_until = 0.0  # wake word mode: awake until then (as the VAD thread's gate was told)
        self._interrupted_at = -1e9  # when an answer was last interrupted (perf_counter)
        self.input_q = BoundedQueue(input_maxsize, "audio-in")
        self.stt_q = BoundedQueue(32, "stt")
        self.llm_q = BoundedQueue(8, "llm")
        self.tts_q = BoundedQueue(64, "tts")
        common = {"is_stale": self.is_stale, "on_error": self._worker_error}
        self.vad_worker = VadWorker(
            self.input_q,
            factories.vad,
            TurnParams.from_settings(settings),
            self._on_vad_action,
            self.ui,
            mode=settings.mode,
            gate_factory=self._wake_gate,
            on_error=self._worker_error,
        )
        self.stt_worker = SttWorker(self.stt_q, self, factories.stt, self.emotion, **common)
        self.llm_worker = LlmWorker(self.llm_q, self, factories.llm, self.tts_q, **common)
        self.tts_worker = TtsWorker(self.tts_q, self, factories.tts, playback, **common)
        self.workers = [self.vad_worker, self.stt_worker, self.llm_worker, self.tts_worker]
        self.turn_q = BoundedQueue(4, "turn")
        self.turn_worker: TurnWorker | None = None
        if factories.turn is not None:  # the end-of-turn model, beside Whisper on its own thread
            self.turn_worker = TurnWorker(self.turn_q, self, factories.turn, **common)
            self.workers.append(self.turn_worker)
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._watch_playback, name="playback-events", daemon=True)
        self._ready = threading.Event()  # set when loading ended, well or not (see load_failed)
        self.load_failed = False
        self.started = False
        self.cold_start_s: float | None = None

    def _wake_gate(self, close: Callable[[int], None]) -> WakeGate:
        """Built on the VAD thread: the wake word model loads there.  A model that cannot load
        leaves wake word mode with the wake name (if any) and push-to-talk, and says so."""
        detector: WakeEngine | None = None
        if self.factories.wake is not None:
            try:
                detector = self.factories.wake()
            except Exception as exc:  # noqa: BLE001 - the rest of the assistant works without it
                log.exception("the wake word model could not load")
                self.ui(EngineError("wake word", f"the wake word model could not load: {exc}"))
        return WakeGate(self._wake_params(), detector, close)

    def _wake_params(self) -> WakeParams:
        s = self.settings
        return WakeParams(
            threshold=s.wake_threshold,
            listen_s=s.wake_listen_s,
            followup_s=s.wake_followup_s,
            by_name=bool(s.wake_name.strip()),
            verify_from=VERIFY_FROM,
        )

    @property
    def wake_phrases(self) -> list[str]:
        """What calls Hearken in wake word mode: the model's phrase, and the wake name if set."""
        gate = self.vad_worker.gate
        phrases = [gate.detector.phrase] if gate is not None and gate.detector is not None else []
        name = self.settings.wake_name.strip()
        return phrases + ([name] if name else [])

    def hotwords(self) -> str:
        """``StageContext.hotwords``: measured in docs/wake.md, the wake phrase as a hotword makes
        Whisper write "Alexa" where it wrote "I like" (a quiet or noisy call the model nearly missed)."""
        s = self.settings
        groups: list[str | Iterable[str]] = [s.hotwords]
        if s.mode == "wake":
            groups.append(self.wake_phrases)
        if self.active_turn() is not None or time.perf_counter() - self._interrupted_at < 5.0:
            # over an answer (or just after one the user stopped), "stop" is the likeliest word:
            # through the echo canceller Whisper otherwise writes "Why it?" for "Be quiet."
            groups += [STOP_HOTWORDS, s.stop_words]
        return hotword_prompt(*groups)

    # ---------------- lifecycle ----------------
    def start(self) -> None:
        """Start every worker; models load in parallel on their own threads."""
        self.t0 = time.perf_counter()
        self.started = True
        for w in self.workers:
            w.start()
        self._monitor.start()
        if self.skills is not None:  # beside the models, so no request pays for it
            threading.Thread(target=self.skills.warm_up, name="skills-warm-up", daemon=True).start()
        threading.Thread(target=self._await_ready, name="ready-watch", daemon=True).start()

    def _await_ready(self) -> None:
        for w in self.workers:
            while not w.ready.wait(0.05):
                if self._stop.is_set() or not w._thread.is_alive():
                    self.load_failed = True
                    self._ready.set()
                    self._set_state("error")
                    return
        self.cold_start_s = time.perf_counter() - self.t0
        self._ready.set()
        self._set_state("listening" if self.settings.mode != "muted" else "idle")
        self._alarms_changed()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Blocks until every model is loaded and warm (not for the GUI thread); False if loading failed."""
        return self._ready.wait(timeout) and not self.load_failed

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self.load_failed

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.new_generation()
        for w in self.workers:
            w.stop()
        deadline = time.perf_counter() + timeout
        for w in self.workers:
            w.join(max(0.0, deadline - time.perf_counter()))
        self._set_state("stopped")

    # ---------------- inputs (non-blocking) ----------------
    def feed_audio(self, samples: np.ndarray, t: float | None = None, block: bool = False) -> None:
        self.input_q.put(AudioBlock(samples, time.perf_counter() if t is None else t), block=block)

    def push_to_talk(self, pressed: bool) -> None:
        self.vad_worker.command(PttCommand(pressed, time.perf_counter()))

    def set_mode(self, mode: str) -> None:
        self.settings.mode = mode
        self._wake_until = 0.0
        self.vad_worker.command(WakeCommand(0.0))  # a new wake word mode starts waiting
        self.vad_worker.command(ModeCommand(mode))
        self.ui(Notice(f"mode: {mode}"))
        if self.state in ("listening", "waiting"):
            self._set_state("listening")

    def new_conversation(self) -> None:
        self.interrupt("new conversation")
        self.memory.clear()
        self._pending_prefix = ""
        if self.emotion is not None:
            self.emotion.reset_baseline()

    def restore_memory(self, entries: list[tuple[str, str, bool]]) -> None:
        """Start a fresh conversation seeded with (role, text, interrupted) entries of an old one."""
        self.new_conversation()
        for i, (role, text, interrupted) in enumerate(entries):
            if text:
                self.memory.add(role, text, -1 - i // 2, interrupted=interrupted)

    LIVE_SETTINGS = (
        "system_prompt",
        "max_reply_tokens",
        "temperature",
        "hotwords",
        "vad_threshold",
        "end_of_turn_silence_ms",
        "speculative_pause_ms",
        "turn_patience_ms",
        "speaking_rate",
        "wake_threshold",
        "wake_listen_s",
        "wake_followup_s",
        "wake_name",
        "stop_words",
    )

    def apply_settings(self, changes: dict[str, Any]) -> list[str]:
        """Apply the settings that need no model reload; returns the keys that need a restart."""
        live = {k: v for k, v in changes.items() if k in self.LIVE_SETTINGS}
        cleared = {k: None for k, v in live.items() if v is None}  # back to the default (updated skips None)
        self.settings = dataclasses.replace(self.settings.updated(live), **cleared).validate()
        self.vad_worker.command(TuneCommand(TurnParams.from_settings(self.settings)))
        self.vad_worker.command(WakeTuneCommand(self._wake_params()))
        self.judge = EndOfTurnJudge(JudgeParams.from_settings(self.settings))
        tts = self.tts_worker.tts
        if supports(tts, Capability.SPEAKING_RATE):
            tts.speaking_rate = self.settings.speaking_rate
        return [k for k in changes if k not in self.LIVE_SETTINGS]

    def ui(self, event: object) -> None:
        self.ui_queue.put(event)

    # ---------------- what the stages and the audio front end see ----------------
    def is_stale(self, gen: int) -> bool:
        return self.scope.is_stale(gen)

    @property
    def generation(self) -> int:
        """The current cancel generation (it moves when the assistant is interrupted)."""
        return self.scope.current

    @property
    def memory_version(self) -> int:
        return self.memory.version

    @property
    def ptt_held(self) -> bool:
        """Push-to-talk is held down."""
        return self.vad_worker.ptt_down

    @property
    def user_speaking(self) -> bool:
        """The turn detector is inside a user's turn."""
        return self.vad_worker.in_speech

    def emit(self, message: object) -> None:
        """A stage's result (``StageContext.emit``): route it to the turn logic or the UI."""
        if isinstance(message, PartialTranscript):
            self.ui(message)
            if message.at_pause:
                self._pause_evidence(message.turn_id, message.pause_end, text=message.text)
            else:
                self._hear_partial(message)
        elif isinstance(message, TurnScore):
            self._pause_evidence(message.turn_id, message.pause_end, p=message.p_complete)
        elif isinstance(message, Transcript):
            (self.transcript_ready if message.final else self.speculative_ready)(message)
        elif isinstance(message, NotSpeech):
            self.drop_turn(message.turn_id, message.reason)
        elif isinstance(message, ReplyGenerated):
            turn = self._live(message.turn_id)
            if turn is not None and not self.scope.is_stale(message.gen):
                turn.reply = message.text
        else:
            if isinstance(message, AssistantDelta):
                turn = self._live(message.turn_id)
                if turn is not None and len(message.text) > len(turn.reply):
                    turn.reply = message.text  # the reply so far (the barge-in judge compares echo with it)
            self.ui(message)  # AssistantDelta and anything else meant for the user

    def _set_state(self, state: str) -> None:
        if self.settings.mode == "wake":
            state = self._wake_state(state)
        if state != self.state:
            self.state = state
            self.ui(StateChanged(state))

    def _wake_state(self, state: str) -> str:
        """Wake word mode: awake while a turn is under way and for a follow-up after it; the
        window shows "waiting" (for the wake word) instead of "listening" once that has passed."""
        now = time.perf_counter()
        if state in ("hearing", "thinking", "speaking"):
            self._keep_awake(FOREVER)
        elif state == "listening" and self.state in ("hearing", "thinking", "speaking"):
            self._keep_awake(now + self.settings.wake_followup_s)
        if state == "listening" and now > self._wake_until:
            return "waiting"
        return state

    def _keep_awake(self, until: float) -> None:
        self._wake_until = until
        self.vad_worker.command(WakeCommand(until))

    def _worker_error(self, where: str, exc: BaseException) -> None:
        msg = f"{where}: {exc}"
        self.errors.append(msg)
        self.ui(EngineError(where, str(exc)))

    # ---------------- turn bookkeeping ----------------
    def _turn(self, turn_id: int) -> Turn:
        """The turn's record, created when the VAD first reports it."""
        with self._lock:
            turn = self.turns.get(turn_id)
            if turn is None:
                turn = Turn(turn_id, TurnClock(turn_id, self.t0), gen=self.scope.current)
                self.turns[turn_id] = turn
            return turn

    def _live(self, turn_id: int) -> Turn | None:
        """The turn if it is still in progress (late stamps of finished turns are ignored)."""
        with self._lock:
            return self.turns.get(turn_id)

    def stamp(self, turn_id: int, name: str, when: float) -> None:
        turn = self._live(turn_id)
        if turn is not None:
            turn.clock.stamp(name, when)

    def active_turn(self, *, besides: Turn | None = None) -> Turn | None:
        """The newest turn being answered (thinking or speaking), other than ``besides``."""
        with self._lock:
            for t in sorted(self.turns.values(), key=lambda t: -t.turn_id):
                if t.state in ("thinking", "speaking") and t is not besides:
                    return t
        return None

    def _hear_partial(self, message: PartialTranscript) -> None:
        """Keep the words of a turn in progress that its transcript will begin with, for the LLM
        to prefill while the user goes on (``heard_so_far``)."""
        with self._lock:
            turn = self._live(message.turn_id)
            if turn is None or turn.state != "hearing":
                return
            words = message.text.split()[:-1]  # the last word may be cut off mid-way
            called = self._called(turn, " ".join(words)) if words else None
            if called:
                self._heard = (message.turn_id, f"{self._pending_prefix} {called}".strip())

    def heard_so_far(self) -> tuple[int, str] | None:
        """``LlmContext.heard_so_far``: the newest partial transcript's settled words, while its
        turn is still being heard."""
        heard = self._heard
        if heard is None or not self.user_speaking:
            return None
        with self._lock:
            turn = self._live(heard[0])
            return heard if turn is not None and turn.state == "hearing" else None

    def is_idle(self) -> bool:
        """No turn in progress and nothing queued or playing."""
        with self._lock:
            busy_turns = any(t.state in ("hearing", "thinking", "speaking") for t in self.turns.values())
        return (
            not busy_turns
            and not self.vad_worker.in_speech
            and self.stt_q.empty()
            and self.llm_q.empty()
            and self.tts_q.empty()
            and not self.playback.busy()
        )

    # ---------------- VAD actions (VAD thread) ----------------
    def _on_vad_action(self, action: Action | WakeHeard | WakeSlept | NameCheck) -> None:
        if isinstance(action, WakeHeard | WakeSlept | NameCheck):
            self._on_wake(action)
        elif isinstance(action, SpeechStart):
            turn = self._turn(action.turn_id)
            turn.clock.stamp("speech_start", action.t)
            self.ui(UserSpeechStarted(action.turn_id, action.t - self.t0))
            other = self.active_turn(besides=turn)
            # over an answer: one playing, or one this very speech stopped (a burst judged as
            # words reaches the VAD after the interruption it caused)
            turn.over_answer = (other is not None and other.state == "speaking") or (
                0.0 <= self._interrupted_at - action.t < 3.0
            )
            if other is None:
                self._set_state("hearing")
        elif isinstance(action, SpeechSustained):
            if self._barge_in(UserEvent.SUSTAINED, self._turn(action.turn_id)) is Decision.INTERRUPT:
                self.interrupt("barge-in")
            turn = self._turn(action.turn_id)
            turn.gen = self.scope.current
            turn.sustained = True
            self._set_state("hearing")
        elif isinstance(action, SpeechOnset):
            turn = self._live(action.turn_id)
            if turn is not None and turn.state != "speaking":
                turn.onset = True
                self.playback.hold(action.turn_id)  # not a word of its answer over the user's
        elif isinstance(action, OnsetCancelled):
            turn = self._live(action.turn_id)
            if turn is not None:
                turn.onset = False
                if turn.confirmed:
                    self.playback.release(action.turn_id)  # a click, not speech: the answer may play
        elif isinstance(action, TurnResumed):
            self._resume(action.turn_id)
        elif isinstance(action, SpeechResumed):
            turn = self._live(action.turn_id)
            if turn is not None and self._barge_in(UserEvent.RESUMED, turn) is Decision.DROP_SPECULATION:
                self._cancel_speculation(turn)
        elif isinstance(action, Emit):
            turn = self._turn(action.turn_id)
            if action.kind == "final":
                now = time.perf_counter()
                turn.clock.stamp("speech_end", action.speech_end, overwrite=True)
                turn.clock.stamp("eot_decided", now)
                turn.state = "thinking"
                if self.active_turn(besides=turn) is None:  # else the assistant is still talking
                    self._set_state("thinking")
            if action.kind == "speculative":  # a new pause: its evidence starts afresh
                turn.pause_end, turn.pause_text, turn.pause_p = action.speech_end, None, None
                turn.pause_judged = False
            utt = Utterance(
                action.turn_id, turn.gen, action.audio, action.speech_start, action.speech_end, action.kind
            )
            if action.kind == "turn_check":
                if self.turn_worker is not None:
                    self.turn_q.put(utt)
            else:
                self.stt_q.put(utt)

    def _on_wake(self, event: WakeHeard | WakeSlept | NameCheck) -> None:
        if isinstance(event, WakeHeard):
            log.info(
                "wake word heard (score %.2f)%s",
                event.score,
                f" in turn {event.turn_id}" if event.turn_id else "",
            )
            if event.turn_id:
                self._turn(event.turn_id).woke = True
            self._wake_until = max(self._wake_until, event.t + self.settings.wake_listen_s)
            self.ui(event)
            if self.state == "waiting":
                self._set_state("listening")
        elif isinstance(event, NameCheck):
            self._turn(event.turn_id).name_check = True
        elif self.state == "listening" and time.perf_counter() > self._wake_until:
            self._set_state("waiting")

    def _called(self, turn: Turn, text: str) -> str | None:
        """Wake word mode: the words meant for the assistant (the wake word or name taken off
        the front), or None when nothing is: a turn that did not call it by name, or only
        called it ("Hey Jarvis." alone: the earcon says it is listening)."""
        if self.settings.mode != "wake":
            return text
        found, rest = strip_wake_words(text, self.wake_phrases)
        if turn.name_check and not found:
            return None
        if found and not rest:
            return None
        return rest if found else text

    def _wake_only(self, turn: Turn, text: str) -> bool:
        """The turn is over and said nothing but the wake word: answer with the earcon, then listen."""
        found, rest = strip_wake_words(text, self.wake_phrases)
        if not found or rest:
            return False
        self.drop_turn(turn.turn_id, "the wake word alone")
        self._keep_awake(time.perf_counter() + self.settings.wake_listen_s)
        self._earcon("wake")
        self._set_state("listening")
        return True

    def _earcon(self, name: str) -> None:
        if self.sound is None:
            return
        try:
            rate = self.playback.sample_rate
            with self._lock:
                chunk_id = self._next_alert
                self._next_alert += 1
            self.tts_q.put(AudioChunk(chunk_id, self.scope.current, 0, self.sound(name, rate), rate, ""))
            self.tts_q.put(EndOfReply(chunk_id, self.scope.current))
        except Exception:  # noqa: BLE001 - a missing earcon must not cost the turn
            log.exception("earcon %r unavailable", name)

    def _barge_in(self, event: UserEvent, turn: Turn) -> Decision:
        """What the user's ``event`` in ``turn`` does to the assistant (``bargein.decide``)."""
        return decide(
            event,
            assistant_active=self.active_turn(besides=turn) is not None,
            turn_sustained=turn.sustained,
            speculating=turn.spec_duration is not None,
        )

    def _pause_evidence(
        self, turn_id: int, pause_end: float | None, *, text: str | None = None, p: float | None = None
    ) -> None:
        """The pause's words (STT) or its p(complete) (the end-of-turn model) came in; once this
        pause has both (or only words, without a model) the judge sets its wait."""
        turn = self._live(turn_id)
        if turn is None or pause_end is None or pause_end != turn.pause_end:
            return  # a pause the user has already talked past
        if text is not None:
            turn.pause_text = text
        if p is not None:
            turn.pause_p = p
        if turn.pause_text is None or turn.pause_judged:
            return
        if self.turn_worker is not None and turn.pause_p is None:
            # words first: a provisional wait, so a slow end-of-turn model never delays a request
            self._adapt_end_of_turn(turn, self.judge.provisional(turn.pause_text))
            return
        turn.pause_judged = True
        self._adapt_end_of_turn(turn, self.judge.judge(turn.pause_text, turn.pause_p))

    def _adapt_end_of_turn(self, turn: Turn, verdict: Verdict) -> None:
        """This pause's end-of-turn wait, from the words so far and how finished they sound."""
        turn_id = turn.turn_id
        text, p_complete = turn.pause_text, turn.pause_p
        turn.verdicts.append(verdict)
        log.debug(
            "turn %d: pause after %r (p=%s): wait %d ms (%s)",
            turn_id,
            text,
            p_complete,
            verdict.wait_ms,
            verdict.reason,
        )
        self.vad_worker.hint_end_of_turn(turn_id, verdict.wait_ms)

    def _resume(self, turn_id: int) -> None:
        """The user went on after ``turn_id`` was committed, before its answer was heard: it is
        one turn.  Its answer in the making goes (one new generation); what it said is not in
        memory twice; the window shows one bubble, the report one turn."""
        turn = self._live(turn_id)
        if turn is not None and turn.state == "speaking":
            # The answer became audible just as the user went on (the VAD had not heard of it
            # yet): that is a barge-in, and what follows is a turn of its own under this id.
            self.interrupt("barge-in")
            turn = None
        if turn is None:
            turn = self._turn(turn_id)
        else:
            with self._lock:
                self.new_generation()
                turn.gen = self.scope.current
                self.memory.drop_turn(turn_id)
                turn.clock.forget("speech_end", "eot_decided", "stt_done", "emotion_done", *ANSWER_STAMPS)
                turn.reply = ""
                turn.spec_duration = None
                turn.sustained = False
                turn.confirmed = False
                turn.onset = False
                turn.state = "hearing"
                turn.resumed += 1
            log.info("turn %d: the user went on; still one turn", turn_id)
        self.ui(TurnContinued(turn_id))
        self._set_state("hearing")

    # ---------------- STT -> LLM ----------------
    def drop_turn(self, turn_id: int, reason: str) -> None:
        turn = self._live(turn_id)
        if turn is None:
            return
        if turn.spec_duration is not None:
            self._cancel_speculation(turn)
        turn.state = "dropped"
        turn.dropped = reason
        self.vad_worker.command(CloseCommand(turn_id))
        log.info("turn %d dropped: %s", turn_id, reason)
        self.ui(TurnDone(turn_id, self._report(turn)))
        with self._lock:
            self.turns.pop(turn_id, None)
        active = self.active_turn()
        self._set_state("listening" if active is None else active.state)

    def speculative_ready(self, tr: Transcript) -> None:
        """A pause began and its transcript is ready: start answering now, play once the turn is confirmed."""
        if not self.settings.speculative_reply:
            return
        with self._lock:
            turn = self._live(tr.turn_id)
            if turn is None or turn.state != "hearing" or self.scope.is_stale(tr.gen):
                return
            called = self._called(turn, tr.text)
            if called is not None and (
                self._is_stop(called) or (turn.over_answer and is_interjection(called))
            ):
                self.stop_command(called)  # at the first pause, not at the end of the turn
                return
            if self.active_turn() is not None:
                return
            if called is None:
                return  # not meant for the assistant (yet): no early answer
            if turn.spec_duration is not None:
                self._cancel_speculation(turn)
            text = f"{self._pending_prefix} {called}".strip()
            turn.spec_duration = tr.duration
            turn.user_text = text
            turn.emotion = tr.emotion
            turn.style = self._style(tr.emotion)
            self.playback.hold(tr.turn_id)
            self.llm_q.put(dataclasses.replace(tr, text=text, gen=turn.gen, style=turn.style))

    def _cancel_speculation(self, turn: Turn) -> None:
        """The user went on talking: throw the early answer away, the turn continues."""
        self.new_generation()
        self._carry_over(turn)  # also when it is no longer "hearing" (its final transcript came)
        log.debug("turn %d: speculative answer dropped", turn.turn_id)

    def _carry_over(self, turn: Turn) -> None:
        """Move a turn the user is still speaking into the current generation, minus any early answer."""
        turn.gen = self.scope.current
        if turn.spec_duration is not None:
            self.memory.drop_turn(turn.turn_id)
            turn.clock.forget(*ANSWER_STAMPS)
            turn.reply = ""
            turn.skill = None  # what it would have done is not done
            turn.spec_duration = None

    def transcript_ready(self, tr: Transcript) -> None:
        turn = self._live(tr.turn_id)
        if turn is None or self.scope.is_stale(tr.gen):
            return
        called = self._called(turn, tr.text)
        if called is not None and self._is_stop(called):
            self.drop_turn(tr.turn_id, f"a stop command ({tr.text!r})")  # first: it is no answer to stop
            self.stop_command(called)
            return
        if self._barge_in(UserEvent.TRANSCRIPT, turn) is Decision.BACKCHANNEL:
            self.drop_turn(tr.turn_id, f"backchannel while the assistant speaks ({tr.text!r})")
            return
        if called is None:
            if not self._wake_only(turn, tr.text):
                self.drop_turn(tr.turn_id, "not called by name")
            return
        if turn.over_answer and is_interjection(called):
            # a few words that ask nothing, said over the answer: "stop", however it was heard
            self.drop_turn(tr.turn_id, f"an interjection over the answer ({tr.text!r})")
            self.stop_command(called)
            return
        text = f"{self._pending_prefix} {called}".strip()
        self._pending_prefix = ""
        if turn.spec_duration is not None:
            if abs(turn.spec_duration - tr.duration) < 1e-6 and text == turn.user_text:
                turn.emotion = tr.emotion  # same audio, same baseline: same tags, now recorded
                turn.confirmed = True
                self._commit_skill(turn)
                self.ui(UserTurn(tr.turn_id, text, tr.emotion))
                if not turn.onset:
                    self.playback.release(tr.turn_id)
                return
            self._cancel_speculation(turn)
        turn.user_text = text
        turn.emotion = tr.emotion
        turn.style = self._style(tr.emotion)
        turn.confirmed = True
        self._commit_skill(turn)  # None yet, unless an early answer of these very words was a skill
        self.ui(UserTurn(tr.turn_id, text, tr.emotion))
        self.llm_q.put(dataclasses.replace(tr, text=text, gen=turn.gen, style=turn.style))

    def reply_text(self) -> str:
        """What the assistant is saying now (any thread): the answer being spoken, "" if none."""
        turn = self.active_turn()
        return turn.reply if turn is not None else ""

    def _is_stop(self, text: str) -> bool:
        return is_stop_command(text, self.settings.stop_words)

    def stop_command(self, text: str = "stop") -> None:
        """The user said "stop" (or "be quiet", "cancel", their own stop words): whatever the
        assistant is saying ends now, and the words are never answered (any thread)."""
        log.info("stop command: %r", text)
        with self._lock:
            self._pending_prefix = ""
        self.interrupt("stop command", keep_words=False)

    def _style(self, tags: EmotionTags | None) -> SpeechStyle:
        return reply_style(tags)

    def _note(self, tags: EmotionTags | None) -> str:
        return prompt_note(tags)

    def _user_content(self, tr: Transcript) -> str:
        note = self._note(tr.emotion)
        return f"({note}) {tr.text}" if note else tr.text

    def skill_for(self, tr: Transcript) -> SkillAnswer | None:
        """A local skill's answer (``LlmContext.skill_for``): recorded on the turn and in memory;
        what it does (a timer set) happens once the turn is confirmed, never for an early answer
        the user talks over."""
        if self.skills is None or not self.settings.skills:
            return None
        t0 = time.perf_counter()
        answer = self.skills.answer(tr.text)
        if answer is None:
            return None
        with self._lock:
            turn = self._live(tr.turn_id)
            if turn is None or self.scope.is_stale(tr.gen):
                return None
            self.memory.add("user", self._user_content(tr), tr.turn_id)
            turn.skill = answer
            if turn.confirmed:
                self._commit_skill(turn)
        log.info(
            "turn %d: skill %s %s (%.1f ms)",
            tr.turn_id,
            answer.call.name,
            answer.call.args,
            1000 * (time.perf_counter() - t0),
        )
        self.ui(SkillUsed(tr.turn_id, tr.gen, answer.call.name, dict(answer.call.args), dict(answer.result)))
        return answer

    def _commit_skill(self, turn: Turn) -> None:
        """Do what the turn's skill answer says it did (once)."""
        with self._lock:
            answer = turn.skill
            commit = answer.commit if answer is not None else None
            if answer is None or commit is None:
                return
            answer.commit = None
        commit()
        self._alarms_changed()

    def prompt_for(self, tr: Transcript, llm: LlmEngine) -> list[dict[str, str]] | None:
        """Chat messages for this turn; records the user's message in memory as sent (None if stale)."""
        content = self._user_content(tr)
        with self._lock:
            if self.scope.is_stale(tr.gen):
                return None
            self.memory.add("user", content, tr.turn_id)
        return self.memory.messages(
            self.settings.system_prompt, count_tokens=llm.count_tokens, budget=self._history_budget(llm)
        )

    def _history_budget(self, llm: LlmEngine) -> int:
        return min(llm.n_ctx - self.settings.max_reply_tokens - 16, self.settings.history_tokens)

    def idle_prompt(self, llm: LlmEngine) -> list[dict[str, str]]:
        """The conversation as the next turn's prompt will start, for prefilling while idle.

        It leaves room for the user's next words (``IDLE_RESERVE_TOKENS``): when the window is
        that close to full, it moves now, between turns, rather than at the start of the next one.
        """
        budget = self._history_budget(llm)
        budget -= min(IDLE_RESERVE_TOKENS, budget // 4)
        return self.memory.messages(self.settings.system_prompt, count_tokens=llm.count_tokens, budget=budget)

    # ---------------- playback events ----------------
    def _watch_playback(self) -> None:
        while not self._stop.is_set():
            self._tick_alarms()
            try:
                ev = self.playback.events.get(timeout=0.05)
            except queue.Empty:
                continue
            turn = self._live(ev.turn_id)
            if turn is None or self.scope.is_stale(ev.gen):
                continue
            if ev.kind == "first_audio":
                self.vad_worker.command(CloseCommand(turn.turn_id))  # speech from now on is a new turn
                turn.clock.stamp("first_audio", ev.t)
                turn.state = "speaking"
                self._set_state("speaking")
            elif ev.kind == "reply_done":
                turn.clock.stamp("turn_end", ev.t)
                self._finish(turn, interrupted=False)

    def _finish(self, turn: Turn, *, interrupted: bool, keep_words: bool = True) -> None:
        with self._lock:
            if turn.state in ("done", "interrupted"):
                return
            played = self.playback.played(turn.turn_id)
            self.playback.forget(turn.turn_id)
            self.vad_worker.command(CloseCommand(turn.turn_id))
            if interrupted:
                heard = []
                for c in played:
                    frac = c.played / c.total if c.total else 0.0
                    heard.append(split_words_played(c.text, frac))
                turn.heard = " ".join(h for h in heard if h).strip()
                turn.interrupted = True
                turn.state = "interrupted"
            else:
                turn.heard = turn.reply
                turn.state = "done"
            self.turns.pop(turn.turn_id, None)
        if turn.alarm is not None:
            pass  # an announcement is no part of the conversation the LLM continues
        elif interrupted and not turn.heard:
            # Nothing was heard: the user was still talking. Keep their words for the next turn.
            self.memory.drop_turn(turn.turn_id)
            if turn.user_text and keep_words:
                self._pending_prefix = turn.user_text
        else:
            self.memory.add(
                "assistant", strip_stage_directions(turn.heard), turn.turn_id, interrupted=interrupted
            )
        self.ui(
            AssistantTurn(turn.turn_id, turn.heard, turn.reply, interrupted, turn.style.name, turn.user_text)
        )
        report = self._report(turn)
        self.finished.append(report)
        self.ui(TurnDone(turn.turn_id, report))
        if self.active_turn() is None and not interrupted:
            self._set_state("listening")

    def _report(self, turn: Turn) -> dict[str, Any]:
        data = turn.clock.as_report()
        lat = data["latency_ms"]
        return {
            "turn_id": turn.turn_id,
            "user_text": turn.user_text,
            "emotion": turn.emotion.to_dict() if turn.emotion else None,
            "assistant_text": turn.heard,
            "assistant_full_text": turn.reply,
            "interrupted": turn.interrupted,
            "dropped": turn.dropped or None,
            "style": turn.style.name,
            "resumed": turn.resumed,
            "woke": turn.woke,  # wake word mode: the wake word was heard in this turn
            "skill": turn.skill.record() if turn.skill is not None else None,
            "alarm": (
                {**turn.alarm.alarm.to_dict(), "late": turn.alarm.late} if turn.alarm is not None else None
            ),
            "end_of_turn": [
                {"wait_ms": v.wait_ms, "reason": v.reason, "p_complete": v.p_complete} for v in turn.verdicts
            ],
            "t": data["t"],
            "latency_ms": {
                "stt": lat["stt"],
                "llm_first_token": lat["llm_first_token"],
                "tts_first_chunk": lat["tts_first_chunk"],
                "voice_to_voice": lat["voice_to_voice"],
                "end_of_turn": lat["end_of_turn"],
                "first_clause": lat["first_clause"],
            },
        }

    # ---------------- alarms: timers and reminders going off ----------------
    def alarms(self) -> tuple:
        return self.skills.alarms() if self.skills is not None else ()

    def cancel_alarm(self, alarm_id: int | None) -> None:
        """Cancel a timer or reminder (the window's cancel button); None cancels all."""
        if self.skills is not None and self.skills.cancel(alarm_id):
            self._alarms_changed()

    def _alarms_changed(self) -> None:
        if self.skills is not None:
            self._shown_alarms = self.skills.alarms()
            self.ui(AlarmsChanged(self._shown_alarms))

    def _tick_alarms(self) -> None:
        """On the playback-events thread, every ``ALARM_CHECK_S``: what fell due is announced
        (the window notifies at once) and said as soon as nobody is talking."""
        if self.skills is None or not self._ready.is_set() or self.load_failed:
            return
        now = time.perf_counter()
        if now < self._alarm_check_at:
            return
        self._alarm_check_at = now + ALARM_CHECK_S
        try:
            self._check_alarms()
        except Exception:  # noqa: BLE001 - this thread also carries playback's events: never let it die
            log.exception("checking the alarms failed")

    def _check_alarms(self) -> None:
        assert self.skills is not None
        fired = self.skills.due()
        for alarm in fired:
            log.info(
                "alarm %d (%s) went off%s", alarm.alarm.id, alarm.alarm.kind, " late" if alarm.late else ""
            )
            self.ui(alarm)
        if fired:
            self._alerts.extend(fired)
        if fired or self.skills.alarms() != self._shown_alarms:  # also one set by `hearken ask`
            self._alarms_changed()
        if (
            self._alerts
            and self.active_turn() is None
            and not self.user_speaking
            and not self.playback.busy()
        ):
            self._announce(self._alerts.pop(0))

    def _announce(self, fired: AlarmFired) -> None:
        """Say what went off, after its chime, as a turn of its own (barge-in stops it as any other)."""
        with self._lock:
            turn_id = self._next_alert
            self._next_alert += 1
            turn = self._turn(turn_id)
            turn.alarm = fired
            turn.reply = fired.text
            turn.confirmed = True
            turn.state = "thinking"
            gen = turn.gen
        turn.clock.stamp("llm_start", time.perf_counter())
        if self.sound is not None:
            try:
                rate = self.playback.sample_rate
                chime = self.sound("timer", rate)
                self.tts_q.put(AudioChunk(turn_id, gen, 0, chime, rate, ""))
            except Exception:  # noqa: BLE001 - the words matter more than the chime
                log.exception("alarm chime unavailable")
        self.tts_q.put(Clause(turn_id, gen, 1, fired.text, last=True))
        self.tts_q.put(EndOfReply(turn_id, gen))

    # ---------------- cancelling ----------------
    def new_generation(self) -> int:
        """The one way the cancel generation moves: every item and reply of the old one is stale.

        Playback is flushed, stale work is drained from the LLM and TTS queues (workers also
        drop stale items and stop stale streams themselves), and the user's words in progress
        are carried into the new generation: they are not what is cancelled.
        """
        with self._lock:
            self.scope.cancel()
            self.playback.flush()
            gen = self.scope.current
            for q in (self.llm_q, self.tts_q):
                q.drain(keep=lambda item: getattr(item, "gen", gen) == gen)
            for hearing in [t for t in self.turns.values() if t.state == "hearing"]:
                self._carry_over(hearing)
            return gen

    def interrupt(self, reason: str = "user", *, keep_words: bool = True) -> None:
        """Stop the assistant now (barge-in, the Stop button, a new conversation): a new
        generation, and the turn being answered ends as interrupted with what was heard."""
        with self._lock:
            turn = self.active_turn()
            self.new_generation()
        if turn is None:
            return
        self._interrupted_at = time.perf_counter()
        turn.clock.stamp("turn_end", self._interrupted_at)
        log.info("turn %d interrupted (%s)", turn.turn_id, reason)
        self.ui(Interrupted(turn.turn_id, reason))
        self._finish(turn, interrupted=True, keep_words=keep_words)
        self._set_state("listening")
