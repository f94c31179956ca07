"""What a model looks like on disk: a file with a known start, a folder with marker files, companions.

A :class:`ModelFormat` is the resolver's vocabulary for checking a model the user chose
(``stt_model``, ``tts_voice``, ...): each engine spec in :mod:`app.engines.registry` lists
the formats its engine loads, and the resolver asks those instead of knowing engines.  A
format that does not fit says why in one line (the :class:`ModelError` the user sees).

This layer knows nothing of engines, so when a caller names no engine the resolver uses
``ROLE_FORMATS`` in :mod:`app.models.resolver`: the formats of each role's default engine
(``tests/unit/engines/test_registry.py`` keeps the two equal).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.models.catalog import ModelError


@dataclass(frozen=True)
class Companion:
    """A file that must sit next to the model file, named from it: ``{name}`` is the model's file
    name, ``{stem}`` the same without its suffix."""

    pattern: str  # e.g. "{name}.json"
    why: str  # the end of the "is missing" message, e.g. "a Piper voice needs its JSON config next to {name}"
    label: str  # what a broken one is called: "Piper voice config"
    sample_rate_at: tuple[str, ...] = ()  # JSON keys leading to the audio sample rate, if it has one

    def path_for(self, model: Path) -> Path:
        return model.with_name(self.pattern.format(name=model.name, stem=model.stem))


@dataclass(frozen=True)
class ModelFormat:
    name: str  # short id: "gguf", "ctranslate2", "onnx", "piper-voice"
    label: str  # as messages name it: "GGUF model file", "CTranslate2 model directory"
    folder: bool = False  # a folder of files rather than one file
    markers: tuple[str, ...] = ()  # a folder: the files it must hold (the first one is the weights)
    suffix: str = ""  # a file: its usual name ending, for file pickers (a renamed file still loads)
    magic: bytes = b""  # a file: the bytes it starts with
    config: Companion | None = None  # a file: the config that must sit next to it

    @property
    def kind(self) -> str:
        """``"dir"`` or ``"file"``, as the catalog's ``kind`` says it."""
        return "dir" if self.folder else "file"

    def problem(self, path: Path, setting: str) -> str | None:
        """Why ``path`` (an existing path, set by ``setting``) is not this format; None if it is."""
        if self.folder:
            if not path.is_dir():
                needs = " and ".join(self.markers)
                return f"{path} is not a {self.label} (set by {setting}; it needs {needs})"
            missing = [n for n in self.markers if not (path / n).is_file()]
            if missing:
                return f"{path} is not a {self.label} (set by {setting}): no {missing[0]}"
            return None
        if not path.is_file():
            return f"{path} is not a model file (set by {setting})"
        if path.stat().st_size == 0:
            return f"{path} is empty (set by {setting})"
        if self.magic:
            with open(path, "rb") as f:
                head = f.read(len(self.magic))
            if head != self.magic:
                return f"{path} is not a {self.label} (set by {setting})"
        if self.config is not None:
            config = self.config.path_for(path)
            if not config.is_file():
                return f"{config} is missing: {self.config.why.format(name=path.name, stem=path.stem)}"
        return None

    def weights(self, path: Path) -> Path:
        """The file whose size and sha256 identify the model at ``path``."""
        return path / self.markers[0] if self.folder else path

    def companions(self, path: Path) -> tuple[Path, ...]:
        """The other files the model at ``path`` is loaded with (its config, a folder's other markers)."""
        if self.folder:
            return tuple(path / n for n in self.markers[1:])
        return (self.config.path_for(path),) if self.config is not None else ()

    def config_path(self, path: Path) -> Path | None:
        return self.config.path_for(path) if self.config is not None and not self.folder else None

    def sample_rate(self, path: Path, setting: str) -> int | None:
        """The audio rate the model's config declares (None: it declares none, or has no config)."""
        if self.config is None or not self.config.sample_rate_at:
            return None
        config = self.config.path_for(path)
        try:
            value: object = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"{config} is not a valid {self.config.label} (set by {setting}): {exc}"
            ) from exc
        for key in self.config.sample_rate_at:
            value = value.get(key) if isinstance(value, dict) else None
        return int(value) if isinstance(value, int) and value > 0 else None


class TakesModels(Protocol):
    """What the resolver asks of an engine spec (``app.engines.registry.EngineSpec`` is one)."""

    @property
    def formats(self) -> tuple[ModelFormat, ...]: ...


def matching(formats: Sequence[ModelFormat], path: Path, setting: str) -> ModelFormat:
    """The first of ``formats`` that ``path`` is; else ModelError with why it is not the first one."""
    problems: list[str] = []
    for fmt in formats:
        problem = fmt.problem(path, setting)
        if problem is None:
            return fmt
        problems.append(problem)
    if not problems:
        raise ModelError(f"{path} cannot be used (set by {setting}): this engine loads no model file")
    raise ModelError(problems[0])


# The formats today's engines load.
CTRANSLATE2 = ModelFormat(
    "ctranslate2", "CTranslate2 model directory", folder=True, markers=("model.bin", "config.json")
)
GGUF = ModelFormat("gguf", "GGUF model file", suffix=".gguf", magic=b"GGUF")
ONNX = ModelFormat("onnx", "ONNX model file", suffix=".onnx")
PIPER_VOICE = ModelFormat(
    "piper-voice",
    "Piper voice",
    suffix=".onnx",
    config=Companion(
        "{name}.json",
        "a Piper voice needs its JSON config next to {name}",
        "Piper voice config",
        sample_rate_at=("audio", "sample_rate"),
    ),
)
MICRO_WAKEWORD = ModelFormat(
    "micro-wakeword",
    "microWakeWord model",
    suffix=".tflite",
    config=Companion(
        "{stem}.json",
        "a microWakeWord model needs its JSON config (wake phrase, cutoff) next to it, named {stem}.json",
        "microWakeWord config",
    ),
)
