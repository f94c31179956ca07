"""One validated settings object: defaults < config file < environment < CLI flags.

The config file is TOML at ``<config dir>/config.toml``; environment variables
are ``HEARKEN_<FIELD>`` in upper case (for example ``HEARKEN_MAX_REPLY_TOKENS=80``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomllib

from app import paths

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are Hearken, a friendly voice assistant running privately on the user's computer. "
    "Your replies are spoken aloud, so answer in one to three short, natural sentences. "
    "Never use lists, markdown, code blocks, emoji or URLs. "
    "If you are not sure, say so briefly. "
    "You work offline: you have no internet, no live news, weather or prices, and you control no devices "
    "and send no messages, so never claim to have done such a thing."
)


MODES = ("always", "wake", "ptt", "muted")


class ConfigError(ValueError):
    """A setting has a value that cannot work; the message says which and why."""


@dataclass
class Settings:
    profile: str = "fast"
    # Per-role model overrides: a path to a file (or a CTranslate2 dir for STT).
    vad_model: str | None = None
    stt_model: str | None = None
    llm_model: str | None = None
    tts_voice: str | None = None
    turn_model: str | None = None  # a Smart Turn v3 .onnx (end of turn)
    wake_model: str | None = (
        None  # a catalog wake word ("hey_jarvis", "alexa", ...) or a microWakeWord .tflite
    )
    # LLM
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_reply_tokens: int = 96
    n_ctx: int = 2048
    history_tokens: int = 1024  # prompt budget for the conversation (a longer prompt answers later)
    temperature: float = 0.6
    llm_seed: int = -1  # -1 = a new random seed each run; fixed: the same words for the same prompts
    # 0 = auto: what `hearken calibrate` chose on this computer (app/calibration.py), and without a
    # calibration half the cores for decode (auto_llm_threads) and all of them for the prompt
    llm_threads: int = 0
    llm_batch_threads: int = 0  # prompt evaluation (prefill); 0 = auto, as above
    llm_server_url: str | None = None  # OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1
    llm_server_model: str = "default"
    llm_server_api_key: str | None = None
    # STT
    stt_threads: int = 2
    language: str | None = "en"
    hotwords: str = ""
    beam_size: int = 1
    # VAD and turn taking
    vad_threshold: float = 0.5
    end_of_turn_silence_ms: int = 700
    # Transcribe and start answering after this much pause (the answer plays only once the end of
    # turn is confirmed).  Bench, same seeded answers: p50 685 ms at 120, 651 at 96, 597 at 64;
    # the four real recordings give 20 speculative runs at each of 64, 96 and 120 ms (9 at 200).
    speculative_pause_ms: int = 64
    speculative_reply: bool = True  # start the answer at the pause; play it once the turn is confirmed
    # While the user speaks, evaluate the words heard so far (a partial transcript's) into the LLM's
    # cache, so only the last words are left to evaluate once the turn ends.
    prefill_while_speaking: bool = True
    # How long a pause may last in a turn that sounds unfinished ("and so ... ask not ...") before
    # the turn ends anyway; finished-sounding turns end much sooner (app/pipeline/endofturn.py).
    turn_patience_ms: int = 2500
    min_speech_ms: int = 250
    barge_in_min_speech_ms: int = 300
    pre_roll_ms: int = 300
    max_utterance_s: float = 120.0
    # TTS
    speaking_rate: float = 1.0  # >1 speaks faster
    # piper's pool does not spin, so two threads cost nothing when a core is taken: measured on two
    # cores, first clause 88 -> 54 ms alone, 91 vs 97 ms beside a busy neighbour, bench p50 -50 ms
    tts_threads: int = 2
    output_rate: int = 0  # 0 = the voice's own rate (file mode) or the device's rate
    # Devices
    input_device: str | None = None
    output_device: str | None = None
    echo_mode: str = "auto"  # auto | headset | speakers | half-duplex
    # Skills (app/skills): the clock, timers, reminders, sums and honest declines, before the LLM
    skills: bool = True
    alarms_db: str | None = (
        None  # SQLite file for timers and reminders; None: in memory (the window uses its history db)
    )
    clock: str = "auto"  # auto (the locale's) | 12h | 24h: how times are said
    # Wake word mode (app/pipeline/wake.py)
    wake_threshold: float | None = None  # the model's averaged probability that wakes; None: measured default
    wake_listen_s: float = 6.0  # after the wake word alone: this long to start the request
    wake_followup_s: float = 5.0  # after an answer: a follow-up within this needs no wake word
    wake_name: str = ""  # also wake on this name at the start of what is said (matched on the transcript)
    # "Stop" always stops: these (and the built-in stop words) end the answer and are never answered
    stop_words: str = ""  # comma-separated, e.g. "that's enough, thanks Hearken"
    # Misc
    mode: str = "always"  # always | wake | ptt | muted
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> Settings:
        if self.profile not in ("fast", "quality"):
            raise ConfigError(f"profile must be 'fast' or 'quality', not {self.profile!r}")
        if not 8 <= self.max_reply_tokens <= 2048:
            raise ConfigError("max_reply_tokens must be between 8 and 2048")
        if not 512 <= self.n_ctx <= 32768:
            raise ConfigError("n_ctx must be between 512 and 32768")
        if not 0.05 <= self.vad_threshold <= 0.95:
            raise ConfigError("vad_threshold must be between 0.05 and 0.95")
        if not 100 <= self.end_of_turn_silence_ms <= 5000:
            raise ConfigError("end_of_turn_silence_ms must be between 100 and 5000")
        if not 500 <= self.turn_patience_ms <= 6000:
            raise ConfigError("turn_patience_ms must be between 500 and 6000")
        if not 0.5 <= self.speaking_rate <= 2.0:
            raise ConfigError("speaking_rate must be between 0.5 and 2.0")
        if self.echo_mode not in ("auto", "headset", "speakers", "half-duplex"):
            raise ConfigError("echo_mode must be 'auto', 'headset', 'speakers' or 'half-duplex'")
        if self.clock not in ("auto", "12h", "24h"):
            raise ConfigError("clock must be 'auto', '12h' or '24h'")
        if self.mode not in MODES:
            raise ConfigError("mode must be 'always', 'wake', 'ptt' or 'muted'")
        if self.wake_threshold is not None and not 0.05 <= self.wake_threshold <= 0.999:
            raise ConfigError("wake_threshold must be between 0.05 and 0.999")
        if not 1.0 <= self.wake_listen_s <= 30.0:
            raise ConfigError("wake_listen_s must be between 1 and 30 seconds")
        if not 0.0 <= self.wake_followup_s <= 60.0:
            raise ConfigError("wake_followup_s must be between 0 and 60 seconds")
        return self

    def updated(self, values: Mapping[str, Any]) -> Settings:
        """A copy with ``values`` applied (unknown keys and None are ignored)."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if value is None or key not in known:
                continue
            changes[key] = _coerce(known[key], value)
        return dataclasses.replace(self, **changes)


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    kind = str(f.type)
    try:
        if isinstance(value, str):
            if kind.startswith("int"):
                return int(value)
            if kind.startswith("float"):
                return float(value)
            if kind.startswith("bool"):
                return value.strip().lower() in ("1", "true", "yes", "on")
        return value
    except ValueError as exc:
        raise ConfigError(f"setting {f.name}: {value!r} is not a valid {kind}") from exc


def auto_llm_threads(cores: int | None = None) -> int:
    """The decode threads when this computer has no calibration (``hearken calibrate``).

    llama.cpp's OpenMP threads wait on each other at every step: if another process takes
    one of them off the CPU, decoding collapses (measured on two cores: 0.3 s answers became
    1-13 s with one busy neighbour).  Half the cores leaves room for piper, Whisper and the
    rest of the desktop; on two cores one thread costs ~40 ms of first token when all is quiet.
    """
    return max(1, (cores or os.cpu_count() or 2) // 2)


def auto_llm_batch_threads(cores: int | None = None) -> int:
    """The prompt threads when this computer has no calibration (``hearken calibrate``).

    Prompt evaluation (the prefill before the first token) is one short burst of matrix
    products that parallelises well, and nothing else of ours runs then (Whisper is done, piper
    has no clause yet).  Measured on two cores, 8 turns: first token 132 ms p50 on one thread,
    72 ms on two; with a neighbour spinning on one core 138 vs 152 ms p50 (worst 285 ms), so the
    collapse seen when *decoding* on every core does not happen for a burst this short.
    """
    return max(1, cores or os.cpu_count() or 2)


def config_file() -> Path:
    return paths.config_dir() / "config.toml"


def load_settings(cli: Mapping[str, Any] | None = None, path: Path | None = None) -> Settings:
    settings = Settings()
    path = path or config_file()
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc}") from exc
        settings = settings.updated(data)
    env = {
        f.name: os.environ[f"HEARKEN_{f.name.upper()}"]
        for f in fields(Settings)
        if f"HEARKEN_{f.name.upper()}" in os.environ
    }
    settings = settings.updated(env)
    if cli:
        settings = settings.updated(cli)
    return settings.validate()


# Command-line flags that map one to one onto Settings fields (CLI, GUI launcher, bench).
SETTING_FLAGS = (
    "profile",
    "stt_model",
    "llm_model",
    "tts_voice",
    "vad_model",
    "turn_model",
    "wake_model",
    "wake_threshold",
    "wake_followup_s",
    "wake_name",
    "stop_words",
    "mode",
    "system_prompt",
    "max_reply_tokens",
    "hotwords",
    "llm_server_url",
    "llm_server_model",
    "end_of_turn_silence_ms",
    "turn_patience_ms",
    "speaking_rate",
    "echo_mode",
    "skills",
    "alarms_db",
    "clock",
)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Defaults < config file < environment < the command line's flags (``SETTING_FLAGS``)."""
    cli = {k: getattr(args, k, None) for k in SETTING_FLAGS}
    return load_settings(cli, Path(args.config) if getattr(args, "config", None) else None)


def add_setting_flags(p: argparse.ArgumentParser) -> None:
    """The model and behaviour flags every engine command takes."""
    g = p.add_argument_group("models and settings")
    g.add_argument("--profile", choices=["fast", "quality"], help="model set from the catalog")
    g.add_argument("--stt-model", help="path to a CTranslate2 Whisper model folder")
    g.add_argument("--llm-model", help="path to a GGUF chat model")
    g.add_argument("--tts-voice", help="path to a piper voice .onnx (its .onnx.json beside it)")
    g.add_argument("--vad-model", help="path to a Silero VAD .onnx")
    g.add_argument("--turn-model", help="path to a Smart Turn v3 end-of-turn .onnx")
    g.add_argument("--mode", choices=list(MODES), help="how Hearken listens (default: always)")
    g.add_argument(
        "--wake-model",
        help="wake word: hey_jarvis, alexa, hey_mycroft, okay_nabu, or a microWakeWord .tflite",
    )
    g.add_argument("--wake-threshold", type=float, help="wake word sensitivity: lower wakes more easily")
    g.add_argument("--wake-followup-s", type=float, help="seconds a follow-up needs no wake word (default 5)")
    g.add_argument("--wake-name", help="also wake on this name said first, e.g. Hearken (on the transcript)")
    g.add_argument("--stop-words", help="extra comma-separated phrases that stop the assistant")
    g.add_argument("--llm-server-url", help="use an OpenAI-compatible server instead of in-process llama.cpp")
    g.add_argument("--llm-server-model", help="model name to ask the server for")
    g.add_argument("--system-prompt", help="replace the default system prompt")
    g.add_argument("--max-reply-tokens", type=int, help="cap on the length of each reply")
    g.add_argument("--hotwords", help="domain terms to help speech recognition, e.g. 'ComfyUI'")
    g.add_argument("--end-of-turn-silence-ms", type=int, help="silence that ends a turn")
    g.add_argument(
        "--turn-patience-ms", type=int, help="longest pause in a turn that sounds unfinished (default 2500)"
    )
    g.add_argument("--speaking-rate", type=float, help="1.0 normal, 1.2 faster")
    g.add_argument(
        "--no-skills",
        dest="skills",
        action="store_const",
        const=False,
        help="answer everything with the LLM (no clock, timers, sums or declines)",
    )
    g.add_argument("--alarms-db", help="SQLite file that keeps timers and reminders (default: in memory)")
    g.add_argument(
        "--clock", choices=["auto", "12h", "24h"], help="how times are said (default: the locale's)"
    )
    g.add_argument("--config", help="config file (TOML) instead of the one in the user config dir")
