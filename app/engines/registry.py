"""The engine registry: one :class:`EngineSpec` per engine, and the only place engines are constructed.

A spec says which role the engine fills, which model formats it loads (the resolver checks
a user's file against them), which optional capabilities it has, and how settings become
its constructor's arguments.  Everything that needs an engine asks here::

    from app.engines import registry

    stt = registry.build("stt", settings)                # the engine the settings pick, model resolved
    tts = registry.build("tts", settings, model, threads=1)  # a resolved model, one argument overridden
    registry.default("llm", settings).name               # "openai-server" or "llama.cpp"

Importing this module is cheap: the engine modules (and their native libraries) are
imported only when a spec builds its engine.  How to add an engine: docs/engines.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.engines.capabilities import NONE, Capability
from app.models.formats import CTRANSLATE2, GGUF, MICRO_WAKEWORD, ONNX, PIPER_VOICE, ModelFormat

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger(__name__)


class Role(str, Enum):
    VAD = "vad"  # speech probability per frame
    STT = "stt"  # speech to text
    LLM = "llm"  # the chat model
    TTS = "tts"  # text to speech
    EMOTION = "emotion"  # tags the user's voice and words with an emotion
    TURN = "turn"  # end-of-turn model: the probability that the speaker has finished
    WAKE = "wake"  # wake word: the probability that its phrase just ended

    def __str__(self) -> str:
        return self.value


class ModelFiles(Protocol):
    """The model an engine loads: ``app.models.ResolvedModel`` is one, :class:`ModelPaths` another."""

    @property
    def path(self) -> Path: ...
    @property
    def config_path(self) -> Path | None: ...


@dataclass(frozen=True)
class ModelPaths:
    """A model given by its paths alone (the preflight child has no resolver to ask)."""

    path: Path
    config_path: Path | None = None


Arguments = tuple[tuple[Any, ...], dict[str, Any]]


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class EngineSpec:
    name: str  # "whisper", "llama.cpp", ...: unique within its role
    role: Role
    load: Callable[[], type]  # imports the engine class (only when building)
    arguments: Callable[[ModelFiles | None, Settings], Arguments]  # constructor args from model + settings
    formats: tuple[ModelFormat, ...] = ()  # the models it loads, best first; () = it takes no model file
    capabilities: frozenset[Capability] = NONE  # the same set its class declares
    when: Callable[[Settings], bool] = _always  # whether settings pick it over the role's specs after it
    ready: Callable[[Any], None] | None = None  # run on a new engine before it is handed out

    @property
    def needs_model(self) -> bool:
        return bool(self.formats)

    def format_of(self, path: Path) -> ModelFormat | None:
        """Which of its formats the model at ``path`` has (None: none of them)."""
        return next((f for f in self.formats if f.problem(path, "") is None), None)

    def accepts(self, path: Path) -> bool:
        """Whether ``path`` is a model this engine loads."""
        return self.format_of(path) is not None

    def companions(self, path: Path) -> tuple[Path, ...]:
        """The files loaded with the model at ``path`` besides it (a voice's config, ...)."""
        fmt = self.format_of(path) or (self.formats[0] if self.formats else None)
        return fmt.companions(path) if fmt is not None else ()

    def build(self, model: ModelFiles | None, settings: Settings, **overrides: Any) -> Any:
        """A new engine for ``model`` (None if it takes none); ``overrides`` replace constructor keywords."""
        if self.needs_model and model is None:
            raise ValueError(f"the {self.role} engine {self.name!r} needs a model")
        args, kwargs = self.arguments(model, settings)
        engine = self.load()(*args, **(kwargs | overrides))
        if self.ready is not None:
            self.ready(engine)
        return engine


# --------------------------------------------------------------------------- the engines


def _model(model: ModelFiles | None) -> ModelFiles:
    assert model is not None  # EngineSpec.build checked it
    return model


def _silero() -> type:
    from app.engines.vad import SileroVad

    return SileroVad


def _silero_args(model: ModelFiles | None, settings: Settings) -> Arguments:
    return (_model(model).path,), {}


def _whisper() -> type:
    from app.engines.stt import WhisperStt

    return WhisperStt


def _whisper_args(model: ModelFiles | None, settings: Settings) -> Arguments:
    options = {
        "threads": settings.stt_threads,
        "language": settings.language,
        "beam_size": settings.beam_size,
    }
    return (_model(model).path,), options


def _llama_cpp() -> type:
    from app.engines.llm import LlamaCppLlm

    return LlamaCppLlm


def _llama_cpp_args(model: ModelFiles | None, settings: Settings) -> Arguments:
    """Threads: the user's settings, else what ``hearken calibrate`` chose on this machine for this
    model (``app.calibration``, one small JSON file), else the defaults (``app.config``)."""
    from app.calibration import llm_threads

    threads = llm_threads(settings, model)
    options = {
        "n_ctx": settings.n_ctx,
        "threads": threads.threads,
        "batch_threads": threads.batch_threads,
        "seed": settings.llm_seed,
    }
    return (_model(model).path,), options


def _openai_server() -> type:
    from app.engines.llm import OpenAiCompatLlm

    return OpenAiCompatLlm


def _openai_server_args(model: ModelFiles | None, settings: Settings) -> Arguments:
    options = {
        "model": settings.llm_server_model,
        "api_key": settings.llm_server_api_key,
        "n_ctx": settings.n_ctx,
    }
    return (settings.llm_server_url,), options


def _server_is_there(engine: Any) -> None:
    engine.check()  # fail at load with one clear line, not at the first turn


def _piper() -> type:
    from app.engines.tts import PiperTts

    return PiperTts


def _piper_args(model: ModelFiles | None, settings: Settings) -> Arguments:
    voice = _model(model)
    options = {"speaking_rate": settings.speaking_rate, "threads": settings.tts_threads}
    return (voice.path, voice.config_path), options


def _voice_emotion() -> type:
    from app.engines.emotion import EmotionTagger

    return EmotionTagger


def _smart_turn() -> type:
    from app.engines.turn import SmartTurn

    return SmartTurn


def _smart_turn_args(model: ModelFiles | None, settings: Settings) -> Arguments:
    return (_model(model).path,), {"threads": 1}  # ~0.1 s a call; it runs at a pause, beside Whisper


def _micro_wakeword() -> type:
    from app.engines.wake import MicroWakeWordDetector

    return MicroWakeWordDetector


def _micro_wakeword_args(model: ModelFiles | None, settings: Settings) -> Arguments:
    """The model's files, and the threshold Hearken measured for a catalog model (docs/wake.md):
    the cutoff in a model's own JSON is tuned for a microcontroller's microphone and misses
    a quarter of the phrases spoken here, so the catalog may carry a better one."""
    from app.models import ModelError, entry_by_id

    files = _model(model)
    kwargs: dict[str, Any] = {}
    model_id = getattr(files, "id", None)
    if model_id:
        try:
            threshold = entry_by_id(model_id).extra.get("wake_threshold")
        except ModelError:
            threshold = None  # a user's own model: its JSON's cutoff
        if threshold is not None:
            kwargs["cutoff"] = float(threshold)
    return (files.path, files.config_path), kwargs


def _no_arguments(model: ModelFiles | None, settings: Settings) -> Arguments:
    return (), {}


def _server_url_set(settings: Settings) -> bool:
    return bool(settings.llm_server_url)


SPECS: tuple[EngineSpec, ...] = (
    EngineSpec("silero", Role.VAD, _silero, _silero_args, formats=(ONNX,)),
    EngineSpec(
        "whisper",
        Role.STT,
        _whisper,
        _whisper_args,
        formats=(CTRANSLATE2,),
        capabilities=frozenset({Capability.WARM_UP, Capability.HOTWORDS, Capability.WORD_TIMES}),
    ),
    EngineSpec(
        "openai-server",
        Role.LLM,
        _openai_server,
        _openai_server_args,
        capabilities=frozenset({Capability.WARM_UP}),
        when=_server_url_set,
        ready=_server_is_there,
    ),
    EngineSpec(
        "llama.cpp",
        Role.LLM,
        _llama_cpp,
        _llama_cpp_args,
        formats=(GGUF,),
        capabilities=frozenset({Capability.WARM_UP, Capability.PREFILL}),
    ),
    EngineSpec(
        "piper",
        Role.TTS,
        _piper,
        _piper_args,
        formats=(PIPER_VOICE,),
        capabilities=frozenset({Capability.WARM_UP, Capability.SPEAKING_RATE}),
    ),
    EngineSpec("voice-emotion", Role.EMOTION, _voice_emotion, _no_arguments),
    EngineSpec(
        "smart-turn",
        Role.TURN,
        _smart_turn,
        _smart_turn_args,
        formats=(ONNX,),
        capabilities=frozenset({Capability.WARM_UP}),
    ),
    EngineSpec("micro-wakeword", Role.WAKE, _micro_wakeword, _micro_wakeword_args, formats=(MICRO_WAKEWORD,)),
)


# --------------------------------------------------------------------------- lookup


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise LookupError(f"unknown engine role {role!r} (expected one of {known})") from None


def specs(role: Role | str) -> tuple[EngineSpec, ...]:
    """Every engine of ``role``, in the order ``default`` considers them (() for a role with none yet)."""
    wanted = _role(role)
    return tuple(s for s in SPECS if s.role is wanted)


def spec(role: Role | str, name: str) -> EngineSpec:
    """The engine ``name`` of ``role``; LookupError naming the known ones."""
    found = specs(role)
    for candidate in found:
        if candidate.name == name:
            return candidate
    known = ", ".join(s.name for s in found) or "none yet"
    raise LookupError(f"no {_role(role)} engine {name!r} (known: {known})")


def default(role: Role | str, settings: Settings) -> EngineSpec:
    """The engine ``settings`` pick for ``role``: the first of ``specs(role)`` whose ``when`` holds."""
    for candidate in specs(role):
        if candidate.when(settings):
            return candidate
    raise LookupError(f"no {_role(role)} engine is registered")


def build(role: Role | str, settings: Settings, model: ModelFiles | None = None, **overrides: Any) -> Any:
    """A new engine of ``role``, the one ``settings`` pick, ready to use.

    ``model``: what it loads; None: resolved from ``settings`` when the engine needs one
    (``ModelError`` with one clear line when it cannot be).  ``overrides`` replace the
    constructor keywords the settings give (``threads=1``, ...).
    """
    chosen = default(role, settings)
    if model is None and chosen.needs_model:
        from app.models import resolve

        model = resolve(chosen.role.value, settings, engine=chosen)
    return chosen.build(model, settings, **overrides)
