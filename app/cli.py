"""Headless commands: listen, transcribe, say, ask, models, selftest, calibrate, eval-emotion, demo.

Exit codes: 0 ok; 1 the engine failed at run time; 2 bad usage or unusable input
file; 3 a model is missing or corrupt; 4 no usable audio device; 5 a native engine
crashed (or hung) in its child-process preflight; 6 no display for the window;
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from app import __version__
from app.config import add_setting_flags, settings_from_args

log = logging.getLogger("hearken")

EXIT_OK, EXIT_RUNTIME, EXIT_INPUT, EXIT_MODEL, EXIT_AUDIO, EXIT_NATIVE = 0, 1, 2, 3, 4, 5
LOG_FORMAT = "%(asctime)s %(levelname)s [turn %(turn)s] %(threadName)s %(name)s: %(message)s"


def _setup_logging(verbose: int) -> None:
    """The console gets warnings (more with -v); the log file in the user log dir gets info and
    native crashes (faulthandler), so a crash leaves its stacks where the message points."""
    from logging.handlers import RotatingFileHandler

    from app.logs import TurnFilter
    from app.preflight import enable_crash_log, log_file

    level = logging.WARNING - 10 * verbose
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    handlers: list[logging.Handler] = [console]
    try:
        handlers.append(RotatingFileHandler(log_file(), maxBytes=2_000_000, backupCount=2, encoding="utf-8"))
        handlers[-1].setLevel(min(level, logging.INFO))
    except OSError:
        pass
    for handler in handlers:
        handler.addFilter(TurnFilter())
    logging.basicConfig(level=min(level, logging.INFO), format=LOG_FORMAT, handlers=handlers, force=True)
    for noisy in ("faster_whisper", "piper", "httpx"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    enable_crash_log()


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"hearken: {message}\n")
    return code


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hearken", description="Private, offline voice assistant.")
    p.add_argument("--version", action="version", version=f"hearken {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0)
    sub = p.add_subparsers(dest="command")

    s = sub.add_parser("listen", help="talk to the assistant from audio files (or --mic)")
    s.add_argument("files", nargs="*", type=Path)
    s.add_argument("--out", type=Path, help="folder for the assistant's answers as WAV files")
    s.add_argument("--report", type=Path, help="write the JSON report here")
    s.add_argument("--pace", choices=["realtime", "fast"], default="realtime")
    s.add_argument("--overlap", type=float, help="start the next file this many seconds after one ends")
    s.add_argument("--channel", type=int, help="use one channel of multi-channel files")
    s.add_argument("--mic", action="store_true", help="live conversation through the sound card")
    s.add_argument("--input-device", help="microphone name (part of it is enough)")
    s.add_argument("--output-device", help="speaker name (part of it is enough)")
    s.add_argument("--quit-after-turns", type=int, help="with --mic: stop after this many answered turns")
    s.add_argument(
        "--echo-mode",
        choices=["auto", "headset", "speakers", "half-duplex"],
        help="echo handling on open speakers (default: measured)",
    )
    add_setting_flags(s)

    s = sub.add_parser("gui", help="open the desktop app (the default when no command is given)")
    s.add_argument(
        "--mic-file", type=Path, help="a virtual microphone that plays this file at real-time pace"
    )
    s.add_argument("--quit-after-turns", type=int, help="close after this many answered turns")
    s.add_argument("--screenshot", type=Path, help="save a screenshot of the window after the last turn")
    add_setting_flags(s)

    s = sub.add_parser("talk", help="push-to-talk in the running app (bind it to a key in your desktop)")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--toggle", dest="action", action="store_const", const="toggle", help="press, or release if held"
    )
    g.add_argument("--press", dest="action", action="store_const", const="press", help="start talking")
    g.add_argument("--release", dest="action", action="store_const", const="release", help="stop talking")

    s = sub.add_parser("devices", help="list the sound devices")

    s = sub.add_parser("bench", help="measure voice-to-voice latency against a plain cascade")
    s.add_argument("--corpus", type=Path, help="folder of spoken questions (WAV/FLAC/MP3) to add")
    s.add_argument(
        "--turns", type=int, default=20, help="turns to measure (50 or more adds the soak figures)"
    )
    s.add_argument("--json", type=Path, help="write the figures as JSON here")
    s.add_argument("--plot", type=Path, help="draw per-stage bars and latency over turns (PNG)")
    s.add_argument("--no-baseline", action="store_true", help="skip the plain-cascade baseline")
    s.add_argument(
        "--busy", action="store_true", help="play the questions a second time beside a process spinning on one core"
    )
    s.add_argument("--no-turns", action="store_true", help="skip the turn-taking study (false cut-offs, end-of-turn wait)")
    add_setting_flags(s)

    s = sub.add_parser("transcribe", help="print the VAD-segmented transcript of a file")
    s.add_argument("file", type=Path)
    s.add_argument("--channel", type=int)
    add_setting_flags(s)

    s = sub.add_parser("say", help="speak text into a WAV file")
    s.add_argument("text")
    s.add_argument("--out", type=Path, required=True)
    add_setting_flags(s)

    s = sub.add_parser("ask", help="print the assistant's streamed answer to a typed question")
    s.add_argument("text")
    add_setting_flags(s)

    s = sub.add_parser("models", help="list the models of each role and check them")
    s.add_argument("--verify", action="store_true", help="hash every file now, ignoring cached checks")
    s.add_argument("--json", action="store_true")
    add_setting_flags(s)

    s = sub.add_parser("assemble", help="join chunked model weights into the cache (run by the installer)")
    add_setting_flags(s)

    s = sub.add_parser("selftest", help="load every model and run one spoken turn end to end")
    add_setting_flags(s)

    s = sub.add_parser("calibrate", help="measure this computer and choose the language model's threads")
    s.add_argument("--json", action="store_true", help="print the result as JSON (progress still on stderr)")
    s.add_argument("--quick", action="store_true", help="a shorter measurement: 1-2 threads, fewer tokens")
    s.add_argument("--no-save", action="store_true", help="measure and print, but keep the stored calibration")
    s.add_argument("--nice", type=int, default=0, help=argparse.SUPPRESS)  # the window's child runs lower
    s.add_argument("--spin", type=float, help=argparse.SUPPRESS)  # the busy neighbour it measures beside
    add_setting_flags(s)

    s = sub.add_parser("demo", help="speak a question, answer it, and write the answer to a WAV file")
    s.add_argument("--out", type=Path, help="folder for the answer (default: the user data dir)")
    s.add_argument("--question", default="What is the capital of France?")
    add_setting_flags(s)

    s = sub.add_parser("eval-emotion", help="evaluate the emotion tagger on a labelled folder")
    s.add_argument("dir", type=Path)
    s.add_argument("--labels", type=Path, required=True, help="CSV with columns filename,emotion")
    s.add_argument("--json", type=Path, help="write the figures as JSON here")
    return p


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "talk":  # a keyboard shortcut runs it: no logging set-up, no Qt, no models
        return cmd_talk(args)
    if args.command == "calibrate" and args.spin:  # the calibration's busy neighbour: only spin
        from app.calibrate import spin

        spin(args.spin)
        return EXIT_OK
    _setup_logging(args.verbose)
    if args.command is None:
        return _cmd_default(args)
    from app.audio.io import AudioFileError
    from app.config import ConfigError
    from app.engines.llm import LlmError
    from app.models import ModelError
    from app.preflight import NativeCrashError
    from app.session import EngineStartError

    handler = {
        "listen": cmd_listen,
        "transcribe": cmd_transcribe,
        "say": cmd_say,
        "ask": cmd_ask,
        "models": cmd_models,
        "assemble": cmd_assemble,
        "selftest": cmd_selftest,
        "demo": cmd_demo,
        "eval-emotion": cmd_eval_emotion,
        "gui": cmd_gui,
        "devices": cmd_devices,
        "bench": cmd_bench,
        "calibrate": cmd_calibrate,
    }[args.command]
    try:
        return handler(args)
    except ModelError as exc:
        return _fail(str(exc), EXIT_MODEL)
    except (AudioFileError, ConfigError) as exc:
        return _fail(str(exc), EXIT_INPUT)
    except NativeCrashError as exc:
        return _fail(str(exc), EXIT_NATIVE)
    except (EngineStartError, LlmError) as exc:
        return _fail(str(exc), EXIT_RUNTIME)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _cmd_default(args: argparse.Namespace) -> int:
    return cmd_gui(build_parser().parse_args(["gui"]))


def cmd_gui(args: argparse.Namespace) -> int:
    from app.ui.launch import run_gui

    return run_gui(args)


def cmd_talk(args: argparse.Namespace) -> int:
    """``hearken talk --toggle|--press|--release``: one request to the running window's socket."""
    from app.ui import control

    try:
        reply = control.request(control.talk_request(args.action))
    except control.NotRunning:
        return _fail("Hearken is not running (start it with: hearken)", EXIT_RUNTIME)
    except (OSError, control.ProtocolError) as exc:
        return _fail(f"the running Hearken did not answer ({exc})", EXIT_RUNTIME)
    if not reply["ok"]:
        return _fail(str(reply.get("error", "refused")), EXIT_RUNTIME)
    print(f"push-to-talk {reply.get('ptt', '?')}")
    return EXIT_OK


def cmd_devices(args: argparse.Namespace) -> int:
    from app.audio.devices import devices_report

    code, text = devices_report()
    if code:
        return _fail(text, code)
    print(text)
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from app.tools.bench import run_bench

    return run_bench(args)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Measure the LLM's speed per thread count (alone and beside a busy core), Whisper and piper;
    choose the threads, store them for this CPU and these models; print what was chosen."""
    from app import calibrate

    if args.nice:
        calibrate.lower_priority(args.nice)
    settings = settings_from_args(args)

    def progress(done: int, total: int, text: str) -> None:
        sys.stderr.write(calibrate.progress_line(done, total, text) + "\n")
        sys.stderr.flush()

    plan = calibrate.quick_plan() if args.quick else calibrate.full_plan()
    entry = calibrate.run(settings, plan=plan, progress=progress, store=not args.no_save)
    if args.json:
        print(json.dumps(entry, indent=1))
    else:
        sys.stdout.write(calibrate.format_report(entry))
        if settings.llm_server_url:
            print(f"(the language model is served by {settings.llm_server_url}: these threads apply without it)")
    return EXIT_OK


# ---------------------------------------------------------------- commands


def _load_inputs(files: list[Path], channel: int | None) -> list[Any]:
    from app.audio.io import load_speech

    return [load_speech(f, channel) for f in files]


def cmd_listen(args: argparse.Namespace) -> int:
    from app.engine import build_engine
    from app.filemode import run_files

    if args.mic:
        from app.live import listen_live

        return listen_live(args, say=lambda line: print(line, flush=True))
    if not args.files:
        return _fail("give one or more audio files, or --mic for a live conversation", EXIT_INPUT)
    audios = _load_inputs(args.files, args.channel)
    settings = settings_from_args(args)
    engine = build_engine(settings, record=args.out is not None)
    report = run_files(
        engine,
        audios,
        out_dir=args.out,
        report_path=args.report,
        realtime=args.pace == "realtime",
        overlap=args.overlap,
        sources=[str(f) for f in args.files],
    )
    for turn in report["turns"]:
        if turn.get("dropped"):
            continue
        mark = " [interrupted]" if turn["interrupted"] else ""
        v2v = turn["latency_ms"].get("voice_to_voice")
        emo = turn.get("emotion") or {}
        if turn.get("alarm"):
            print(f"[{turn['alarm']['kind']} went off]")
        else:
            print(f"you ({emo.get('label', '-')}): {turn['user_text']}")
        print(f"hearken{mark}: {turn['assistant_text']}")
        skill = turn.get("skill")
        if skill:
            print(f"  [skill {skill['name']} {skill['args']}]")
        print(f"  voice-to-voice: {v2v} ms" + (f"   wav: {turn['wav']}" if turn.get("wav") else ""))
    answered = [t for t in report["turns"] if not t.get("dropped")]
    if not answered:
        print("no speech found: zero turns")
    if args.report:
        print(f"report: {args.report}")
    if report["errors"]:
        return _fail("; ".join(report["errors"]), EXIT_RUNTIME)
    return EXIT_OK


def cmd_transcribe(args: argparse.Namespace) -> int:
    from app.audio.io import load_speech
    from app.engines import registry
    from app.messages import FRAME, SAMPLE_RATE
    from app.pipeline.text import is_probably_hallucination
    from app.pipeline.turns import Emit, TurnDetector, TurnParams

    settings = settings_from_args(args)
    audio = load_speech(args.file, args.channel)
    vad = registry.build("vad", settings)
    stt = registry.build("stt", settings, beam_size=1)  # greedy, as this command always decoded
    det = TurnDetector(TurnParams.from_settings(settings))
    import numpy as np

    padded = np.concatenate([audio, np.zeros(SAMPLE_RATE * 2, np.float32)])
    segments = []
    for i in range(0, len(padded) - FRAME + 1, FRAME):
        frame = padded[i : i + FRAME]
        for action in det.feed(frame, vad.prob(frame), i / SAMPLE_RATE):
            if isinstance(action, Emit) and action.kind == "final":
                segments.append(action)
    if not segments:
        print("(no speech)")
        return EXIT_OK
    for seg in segments:
        res = stt.transcribe(seg.audio, hotwords=settings.hotwords)
        if res.text and not is_probably_hallucination(res.text):
            print(f"[{seg.speech_start:7.2f} - {seg.speech_end:7.2f}] {res.text}")
    return EXIT_OK


def cmd_say(args: argparse.Namespace) -> int:
    import numpy as np

    from app.audio.io import write_wav
    from app.engines import registry
    from app.pipeline.text import clean_for_speech

    settings = settings_from_args(args)
    tts = registry.build("tts", settings, threads=1)  # one synthesis thread, as this command always used
    text = clean_for_speech(args.text)
    if not text:
        return _fail("nothing speakable in that text", EXIT_INPUT)
    audio = np.concatenate(list(tts.synthesize(text)) or [np.zeros(0, np.float32)])
    write_wav(args.out, audio, tts.sample_rate)
    print(f"{args.out} ({len(audio) / tts.sample_rate:.1f} s)")
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    from app.engines import registry

    settings = settings_from_args(args)
    if settings.skills:  # the same skills as a spoken turn: a typed "what time is it?" gets the true time
        from app.engine import make_skills
        from app.history import default_path

        if settings.alarms_db is None:  # the window's store: its running app makes the timer go off
            settings.alarms_db = str(default_path())
        skills = make_skills(settings)
        answer = skills.answer(args.text) if skills is not None else None
        if answer is not None:
            print(answer.text)
            if answer.commit is not None:
                answer.commit()
                print(f"(kept in {settings.alarms_db}: it goes off while Hearken's window is open)")
            log.info("answered by the %s skill", answer.call.name)
            return EXIT_OK
    llm = registry.build("llm", settings)
    messages = [{"role": "system", "content": settings.system_prompt}, {"role": "user", "content": args.text}]
    t0 = time.perf_counter()
    first = None
    for delta in llm.stream_chat(
        messages, max_tokens=settings.max_reply_tokens, temperature=settings.temperature
    ):
        if first is None:
            first = time.perf_counter() - t0
        sys.stdout.write(delta)
        sys.stdout.flush()
    sys.stdout.write("\n")
    log.info("first token after %.0f ms", (first or 0) * 1000)
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from app.models import describe_models

    settings = settings_from_args(args)
    rows = describe_models(settings, full_verify=args.verify)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        for r in rows:
            if r.get("error"):
                print(f"{r['role']:<4} {r.get('id', '?'):<36} ERROR: {r['error']}")
                continue
            check = {True: "sha256 ok", None: "not in catalog (unchecked)"}.get(r.get("verified"), "?")
            print(
                f"{r['role']:<4} {r['id']:<36} {r['size_mb']:>8.1f} MB  {r['licence']:<12} {check:<12} {r['path']}"
            )
    return EXIT_MODEL if any(r.get("error") for r in rows) else EXIT_OK


def cmd_assemble(args: argparse.Namespace) -> int:
    from app.models import assemble_all, describe_models

    settings = settings_from_args(args)
    assemble_all(settings)
    rows = describe_models(settings, full_verify=False)
    bad = [r for r in rows if r.get("error")]
    for r in bad:
        sys.stderr.write(f"hearken: {r['error']}\n")
    print("models ready" if not bad else "some models are not ready")
    return EXIT_MODEL if bad else EXIT_OK


SELFTEST_RECORDING = "selftest-recording.wav"  # a real person speaking (assets/README.md)


def _question_wav(text: str, settings: Any) -> Any:
    """A spoken question made with the bundled voice, at 16 kHz (for demo and selftest)."""
    import numpy as np

    from app.audio.resample import resample
    from app.engines import registry

    tts = registry.build("tts", settings, speaking_rate=1.0, threads=1)  # the voice's own pace
    audio = np.concatenate(list(tts.synthesize(text)))
    return resample(audio, tts.sample_rate, 16000)


def cmd_demo(args: argparse.Namespace) -> int:
    from app import paths
    from app.engine import build_engine
    from app.filemode import run_files

    settings = settings_from_args(args)
    out = args.out or (paths.data_dir() / "demo")
    question = _question_wav(args.question, settings)
    print(f'asking: "{args.question}"')
    engine = build_engine(settings, record=True)
    report = run_files(engine, [question], out_dir=out, report_path=out / "report.json")
    turns = [t for t in report["turns"] if not t.get("dropped")]
    if not turns:
        return _fail(
            "the demo produced no answer: " + "; ".join(report["errors"] or ["no turn"]), EXIT_RUNTIME
        )
    t = turns[0]
    print(f"heard:   {t['user_text']}")
    print(f"answer:  {t['assistant_text']}")
    print(f"voice-to-voice latency: {t['latency_ms']['voice_to_voice']} ms")
    print(f"the spoken answer is in {t.get('wav')}")
    return EXIT_OK


def cmd_selftest(args: argparse.Namespace) -> int:
    """Every native engine once in a child process (a crash becomes one sentence), then one spoken
    turn from the bundled recording through the real engine, with this machine's latency."""
    from app import paths
    from app.audio.io import load_speech
    from app.engine import build_engine
    from app.filemode import run_files
    from app.preflight import ENGINES, preflight, spec_for

    settings = settings_from_args(args)
    engine = build_engine(settings, record=False)
    report = preflight(spec_for(engine.models, settings), force=True)
    names = {r: m.id for r, m in engine.models.items()}
    for r in report.results:
        what = names.get(r.key, ENGINES[r.key].label if r.key in ENGINES else r.key)
        print(f"{'ok' if r.status == 'ok' else r.status:<7} {r.key:<7} {what} ({r.seconds:.2f} s)")
    if not report.ok:
        return _fail(report.message(), EXIT_NATIVE)
    question = load_speech(paths.resource("assets", SELFTEST_RECORDING))
    report_turns = run_files(engine, [question], realtime=True)
    turns = [t for t in report_turns["turns"] if not t.get("dropped")]
    problems = list(report_turns["errors"])
    if not turns:
        problems.append("no turn was recognised")
    elif not turns[0]["assistant_text"]:
        problems.append("the assistant gave no answer")
    elif turns[0]["latency_ms"]["voice_to_voice"] is None:
        problems.append("no audio was played")
    skills = _selftest_skills()
    if skills.startswith("failed"):
        problems.append(f"the skills {skills}")
    if problems:
        return _fail("selftest failed: " + "; ".join(problems), EXIT_RUNTIME)
    t = turns[0]
    v2v = t["latency_ms"]["voice_to_voice"]
    print(f"ok      answer  {t['user_text']!r} -> {t['assistant_text']!r}")
    print(f"ok      skills  {skills}")
    print(f"selftest passed: Hearken answers {v2v:.0f} ms after you stop speaking on this computer ({report.cpu})")
    return EXIT_OK


def _selftest_skills() -> str:
    """One request per kind of skill (its libraries and data, in a frozen bundle too)."""
    from app.skills import Skills

    skills = Skills()
    said = []
    for request, name in (
        ("What time is it?", "time"),
        ("What is twelve times thirteen?", "calculate"),
        ("Convert five miles to kilometers.", "convert"),
        ("What's the weather like?", "decline"),
    ):
        answer = skills.answer(request)
        if answer is None or answer.call.name != name or "error" in answer.result:
            return f"failed on {request!r}"
        said.append(answer.text)
    return " / ".join(said)


def cmd_eval_emotion(args: argparse.Namespace) -> int:
    from app.tools.emotion_eval import evaluate, format_report

    if not args.dir.is_dir():
        return _fail(f"{args.dir}: not a folder", EXIT_INPUT)
    if not args.labels.is_file():
        return _fail(f"{args.labels}: no such labels file", EXIT_INPUT)
    result = evaluate(args.dir, args.labels)
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return EXIT_OK
