"""A live conversation through the sound card: ``hearken listen --mic``.

``LiveAudio`` owns the microphone and speaker streams, the echo processor and the
barge-in gate, and a watchdog: when a device disappears (a stream errors, stops on
its own or stalls) it closes both streams, stops the reply that can no longer be
heard, tells the user, and reopens the devices when they are back (re-initialising
PortAudio), while the engine and the conversation keep running.

``listen_live(args)`` runs it from the command line and writes the same JSON report
as file mode, with an ``audio`` section (devices, rates, echo mode and ERLE, gate and
device-loss events).  Ctrl-C ends it cleanly and still saves the report.
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.audio.capture import MicCapture
from app.audio.devices import (
    INPUT,
    OUTPUT,
    AudioUnavailable,
    DeviceInfo,
    load_sounddevice,
    pick_device,
    reinitialize,
    remember,
    stream_formats,
    wanted_device,
)
from app.audio.echo import EchoParams, EchoProcessor
from app.audio.output import SpeakerOutput
from app.pipeline.bargein import BackchannelClassifier, BargeInGate, GateParams

log = logging.getLogger(__name__)

EXIT_OK, EXIT_RUNTIME, EXIT_AUDIO = 0, 1, 4


class LiveAudio:
    """Microphone -> echo processor -> gate -> engine, and engine -> speaker, with a device watchdog."""

    def __init__(
        self,
        engine: Any,
        *,
        input_wanted: str | None = None,
        output_wanted: str | None = None,
        echo: EchoParams | None = None,
        gate: GateParams | None = None,
        notify: Callable[[str], None] | None = None,
        latency: str | float = "high",
        stall_s: float = 2.0,
        retry_s: float = 1.0,
        classify: Callable[[Any], bool] | None = None,
        sd: Any | None = None,
    ) -> None:
        self.engine = engine
        self.orch = engine.orchestrator
        self.playback = engine.playback
        self.input_wanted = input_wanted
        self.output_wanted = output_wanted
        self.latency = latency
        self.stall_s = stall_s
        self.retry_s = retry_s
        self.sd = sd if sd is not None else load_sounddevice()
        self._notify_cb = notify
        self.processor = EchoProcessor(echo, on_mode=self._on_mode)
        orch = self.orch
        self.front = BargeInGate(
            self.processor,
            self._feed,
            params=gate,
            generation=lambda: orch.generation,
            ptt_active=lambda: orch.ptt_held,
            reply_active=self.playback.busy,
            classify=classify,
            user_speaking=lambda: orch.user_speaking,
        )
        self.mic: MicCapture | None = None
        self.speaker: SpeakerOutput | None = None
        self.input_device: DeviceInfo | None = None
        self.output_device: DeviceInfo | None = None
        self.input_rate: int | None = None
        self.output_rate: int | None = None
        self._totals = {"overflows": 0, "underflows": 0, "dropped_input_blocks": 0}
        self.events: list[dict[str, Any]] = []
        self.lost = threading.Event()
        self.recovered = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._watchdog: threading.Thread | None = None
        self.t0 = time.perf_counter()

    # ---------------- engine side ----------------
    def _feed(self, samples: Any, t: float) -> None:
        self.orch.feed_audio(samples, t)

    def notify(self, message: str) -> None:
        log.info("%s", message)
        try:
            from app.messages import Notice

            self.orch.ui(Notice(message))
        except Exception:  # noqa: BLE001 - a notice must never break audio
            log.debug("notice failed", exc_info=True)
        if self._notify_cb is not None:
            self._notify_cb(message)

    def _event(self, kind: str, detail: str) -> None:
        self.events.append(
            {"t": round(time.perf_counter() - self.orch.t0, 3), "event": kind, "detail": detail}
        )

    def _on_mode(self, mode: str, reason: str) -> None:
        self._event("echo_mode", f"{mode}: {reason}")
        self.notify(f"audio mode: {mode} ({reason})")

    # ---------------- lifecycle ----------------
    def start(self) -> None:
        """Open the devices (raises ``AudioUnavailable``) and start the watchdog."""
        self._open()
        self._stop.clear()
        self._watchdog = threading.Thread(target=self._watch, name="audio-watchdog", daemon=True)
        self._watchdog.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join(timeout=3)
        self._close()

    def _open(self) -> None:
        with self._lock:
            out_choice = pick_device(OUTPUT, self.output_wanted, sd=self.sd)
            in_choice = pick_device(INPUT, self.input_wanted, sd=self.sd)
            for choice in (out_choice, in_choice):
                if choice.notice:
                    self.notify(choice.notice)
            speaker = SpeakerOutput(
                self.playback,
                out_choice.device,
                latency=self.latency,
                tap=self.front.on_speaker,
                gate=self.front,
                sd=self.sd,
            )
            speaker.start()
            mic = MicCapture(self.front.on_mic, in_choice.device, latency=self.latency, sd=self.sd)
            try:
                mic.start()
            except Exception:
                speaker.stop()
                raise
            self.speaker, self.mic = speaker, mic
            self.output_device, self.input_device = out_choice.device, in_choice.device
            self.input_rate, self.output_rate = mic.rate, speaker.rate
            self._event(
                "open",
                f"microphone '{mic.device.name}' {mic.rate} Hz x{mic.channels}, "
                f"speaker '{speaker.device.name}' {speaker.rate} Hz x{speaker.channels}",
            )

    def _close(self) -> None:
        with self._lock:
            mic, speaker = self.mic, self.speaker
            self.mic = self.speaker = None
            if mic is not None:
                mic.stop()
                self.input_rate = mic.rate
                self._totals["overflows"] += mic.overflows
                self._totals["dropped_input_blocks"] += mic.dropped_blocks
            if speaker is not None:
                speaker.stop()
                self.output_rate = speaker.rate
                self._totals["underflows"] += speaker.underflows
            self.front.reset()

    # ---------------- watchdog ----------------
    def _problem(self) -> str | None:
        mic, speaker = self.mic, self.speaker
        if mic is None or speaker is None:
            return "no stream"
        now = time.perf_counter()
        for name, s in (("microphone", mic), ("speaker", speaker)):
            if s.failed.is_set():
                return s.fail_reason or f"the {name} stream failed"
            if now - s.last_callback > self.stall_s:
                return f"the {name} stopped delivering audio"
        return None

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            problem = self._problem()
            if problem is None:
                continue
            self._lose(problem)
            while not self._stop.wait(self.retry_s):
                if self._try_reopen():
                    break

    def _lose(self, problem: str) -> None:
        self.lost.set()
        self.recovered.clear()
        self._close()
        self._event("lost", problem)
        if self.orch.active_turn() is not None:
            # the question of a reply nobody heard is not carried into the next turn
            self.orch.interrupt("audio device lost", keep_words=False)
        self.notify(f"Audio device lost ({problem}); waiting for it to come back.")

    def _try_reopen(self) -> bool:
        try:
            reinitialize(self.sd)
            self.processor.reset_path()  # another device, or the same one after a restart
            self._open()
        except AudioUnavailable as exc:
            log.debug("audio not back yet: %s", exc)
            self._close()
            return False
        except Exception as exc:  # noqa: BLE001 - PortAudioError while the server restarts
            log.debug("audio not back yet: %s", exc)
            self._close()
            return False
        self.lost.clear()
        self.recovered.set()
        assert self.mic is not None and self.speaker is not None
        self._event("recovered", f"{self.mic.device.name} / {self.speaker.device.name}")
        self.notify(
            f"Audio is back: microphone '{self.mic.device.name}', speaker '{self.speaker.device.name}'."
        )
        return True

    # ---------------- report ----------------
    def report(self) -> dict[str, Any]:
        p = self.processor
        s = p.stats
        g = self.front.stats
        mic, speaker = self.mic, self.speaker
        return {
            "input": self.input_device.name if self.input_device else None,
            "output": self.output_device.name if self.output_device else None,
            "input_rate": self.input_rate,
            "output_rate": self.output_rate,
            "playback_rate": self.playback.sample_rate,
            "echo": {
                "mode": p.mode,
                "reason": p.mode_reason,
                "canceller": p.canceller.name if p.canceller else None,
                "erle_db": _round(s.erle_db),
                "coupling_db": _round(s.coupling_db),
                "delay_ms": _round(s.delay_ms),
                "correlation": _round(s.correlation, 3),
                "mode_changes": list(s.mode_changes),
            },
            "gate": {
                "pauses": g.pauses,
                "backchannels": g.backchannels,
                "released": g.releases,
                "resumed_after_release": g.resumed_after_release,
            },
            "overflows": self._totals["overflows"] + (mic.overflows if mic else 0),
            "underflows": self._totals["underflows"] + (speaker.underflows if speaker else 0),
            "dropped_input_blocks": self._totals["dropped_input_blocks"] + (mic.dropped_blocks if mic else 0),
            "events": list(self.events),
        }


def _round(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(float(x), nd)


# ====================================================================== CLI


def echo_params_from(settings: Any) -> EchoParams:
    return EchoParams(mode=settings.echo_mode)


def make_backchannel_classifier(engine: Any, settings: Any) -> BackchannelClassifier | None:
    """A classifier on the engine's Whisper model (a second, small instance), or None without one."""
    stt_model = getattr(engine, "models", {}).get("stt")
    if stt_model is None:
        return None

    def factory() -> Any:
        from app.engines import registry

        return registry.build("stt", settings, stt_model, threads=1, beam_size=1)

    orch = getattr(engine, "orchestrator", None)
    on_stop = (lambda text: orch.stop_command(text)) if orch is not None else None
    reply_text = orch.reply_text if orch is not None else None
    return BackchannelClassifier(
        factory, on_stop=on_stop, stop_words=settings.stop_words, reply_text=reply_text
    )


def _drain_ui(orch: Any, on_turn: Callable[[dict[str, Any]], None], say: Callable[[str], None]) -> None:
    """Show the conversation on the console: each turn's words once, when it is answered (a turn
    the user went on with after a pause is still one turn, so its first part is not printed)."""
    from app.messages import AlarmFired, AssistantTurn, EngineError, Notice, SkillUsed, TurnDone

    while True:
        try:
            ev = orch.ui_queue.get_nowait()
        except queue.Empty:
            return
        if isinstance(ev, AssistantTurn):
            if ev.user_text:
                say(f"you: {ev.user_text}")
            say(f"hearken{' [interrupted]' if ev.interrupted else ''}: {ev.text}")
        elif isinstance(ev, SkillUsed):
            say(f"[skill {ev.name} {ev.args}]")
        elif isinstance(ev, AlarmFired):
            say(f"[{ev.alarm.kind} went off{' (late)' if ev.late else ''}]")
        elif isinstance(ev, Notice):
            say(f"[{ev.message}]")
        elif isinstance(ev, EngineError):
            say(f"[error in {ev.where}: {ev.message}]")
        elif isinstance(ev, TurnDone):
            on_turn(ev.metrics)


class LiveAudioLink:
    """The sound card as a session's ``AudioLink`` (``LiveAudio``).

    The window (``fallback=True``) opens the devices as soon as the engine is built, and with
    no usable audio still works (history, settings, typed files): the reply plays on a silent
    virtual speaker and the reason is shown.  The command line opens them once the models are
    warm and lets ``AudioUnavailable`` end the command with exit code 4.
    """

    def __init__(self, settings: Any, *, fallback: bool = True, **live_kw: Any) -> None:
        self.settings = settings
        self.fallback = fallback
        self.live_kw = live_kw
        self.live: LiveAudio | None = None
        self._fallback: Any = None

    def _open(self, engine: Any) -> LiveAudio:
        live = LiveAudio(
            engine,
            input_wanted=self.live_kw.pop("input_wanted", self.settings.input_device),
            output_wanted=self.live_kw.pop("output_wanted", self.settings.output_device),
            echo=echo_params_from(self.settings),
            classify=make_backchannel_classifier(engine, self.settings),
            **self.live_kw,
        )
        self.live = live
        live.start()
        return live

    def start(self, engine: Any) -> Any:
        from app.session import AudioStatus

        if not self.fallback:
            return None
        try:
            live = self._open(engine)
        except (AudioUnavailable, OSError) as exc:
            from app.filemode import VirtualAudio

            self.live = None
            self._fallback = VirtualAudio(no_input_reason=str(exc))
            return self._fallback.start(engine)
        mic, spk = live.input_device, live.output_device
        return AudioStatus(
            f"{mic.name} ({live.input_rate} Hz)" if mic else "microphone",
            f"{spk.name} ({live.output_rate} Hz), echo: {live.processor.mode}" if spk else "speaker",
        )

    def on_ready(self, engine: Any) -> None:
        """The window's capture started with the streams (the engine ignores audio until its VAD
        is loaded); the command line opens the devices now."""
        if not self.fallback:
            self._open(engine)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
        if self._fallback is not None:
            self._fallback.stop()


def listen_live(args: argparse.Namespace, say: Callable[[str], None] = log.info) -> int:
    """``hearken listen --mic``: talk through the sound card until Ctrl-C (or N answered turns);
    ``say`` shows each line to the user."""
    from app.config import settings_from_args
    from app.session import EngineStartError, Session, write_report

    settings = settings_from_args(args)
    try:
        sd = load_sounddevice()
        in_wanted = wanted_device(INPUT, getattr(args, "input_device", None), settings.input_device)
        out_wanted = wanted_device(OUTPUT, getattr(args, "output_device", None), settings.output_device)
        out_choice = pick_device(OUTPUT, out_wanted, sd=sd)
        in_choice = pick_device(INPUT, in_wanted, sd=sd)
        out_rate = stream_formats(out_choice.device, OUTPUT, sd=sd)[0][0]
    except AudioUnavailable as exc:
        sys.stderr.write(f"hearken: {exc}\n")
        return EXIT_AUDIO
    for kind, explicit, choice in (
        (INPUT, getattr(args, "input_device", None), in_choice),
        (OUTPUT, getattr(args, "output_device", None), out_choice),
    ):
        if explicit and not choice.notice:
            remember(kind, choice.device.name)

    link = LiveAudioLink(settings, fallback=False, input_wanted=in_wanted, output_wanted=out_wanted, sd=sd)
    session = Session.build(settings, link, output_rate=out_rate)
    orch = session.orchestrator
    quit_after = getattr(args, "quit_after_turns", None)
    answered = 0
    code = EXIT_OK

    def on_turn(metrics: dict[str, Any]) -> None:
        nonlocal answered
        if not metrics.get("dropped") and metrics.get("assistant_text"):
            answered += 1

    try:
        say("loading the models ...")
        session.start()
        try:
            session.wait_ready(300)
        except EngineStartError as exc:
            sys.stderr.write(f"hearken: {exc}\n")
            return EXIT_RUNTIME
        try:
            session.begin()
        except AudioUnavailable as exc:
            sys.stderr.write(f"hearken: {exc}\n")
            return EXIT_AUDIO
        live = link.live
        assert live is not None and live.mic is not None and live.speaker is not None
        mic, speaker = live.mic, live.speaker
        say(
            f"listening on '{mic.device.name}' ({mic.rate} Hz), speaking on '{speaker.device.name}' "
            f"({speaker.rate} Hz). Talk to me; Ctrl-C ends."
        )
        while True:
            _drain_ui(orch, on_turn, say)
            if quit_after and answered >= quit_after and orch.is_idle():
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        say("\nstopping ...")
    finally:
        session.stop()
        _drain_ui(orch, on_turn, say)
        report = session.report()
        if link.live is not None:
            report["audio"] = link.live.report()
        path = getattr(args, "report", None)
        if path:
            say(f"report: {write_report(report, Path(path))}")
    if report["errors"]:
        sys.stderr.write("hearken: " + "; ".join(report["errors"]) + "\n")
        code = EXIT_RUNTIME
    return code
