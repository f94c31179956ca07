"""Persisted settings of the desktop app.

Engine settings (models, prompt, voice, turn taking, devices) go to the same
``config.toml`` the command line reads (``app.config.config_file()``), so the
app and the CLI agree.  Only keys the user changed are written; a value set
back to its default is removed from the file.  Window-only preferences (theme,
push-to-talk key, mode, geometry) go to ``gui.ini`` (``QSettings``) beside it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import tomllib
from PySide6.QtCore import QByteArray, QSettings

from app import paths
from app.config import Settings, config_file

log = logging.getLogger(__name__)

# Settings fields the app edits and persists.
ENGINE_KEYS = (
    "profile",
    "vad_model",
    "stt_model",
    "llm_model",
    "tts_voice",
    "system_prompt",
    "speaking_rate",
    "vad_threshold",
    "end_of_turn_silence_ms",
    "turn_patience_ms",
    "hotwords",
    "input_device",
    "output_device",
    "wake_model",
    "wake_threshold",
    "wake_followup_s",
    "wake_name",
    "stop_words",
)
# Of those, the ones that need the models reloaded to take effect.
RELOAD_KEYS = frozenset({"profile", "vad_model", "stt_model", "llm_model", "tts_voice", "wake_model"})


# ---------------------------------------------------------------- config.toml


def read_config(path: Path | None = None) -> dict[str, Any]:
    path = path or config_file()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return {}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot store {value!r} in TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ValueError(f"cannot store {type(value).__name__} in TOML")


def dumps_toml(data: Mapping[str, Any]) -> str:
    """TOML for flat keys plus one level of tables (all this config ever holds)."""
    lines = ["# Hearken settings (written by the app; the command line reads them too)"]
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    for key, value in data.items():
        if key not in tables and value is not None:
            lines.append(f"{_key(key)} = {_toml_value(value)}")
    for name, table in tables.items():
        lines += ["", f"[{_key(name)}]"]
        for key, value in table.items():
            if value is not None and not isinstance(value, Mapping):
                lines.append(f"{_key(key)} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def save_engine_settings(changes: Mapping[str, Any], path: Path | None = None) -> Path:
    """Merge ``changes`` into the config file atomically; defaults and None remove the key."""
    path = path or config_file()
    data = read_config(path)
    defaults = Settings()
    for key, value in changes.items():
        if key not in ENGINE_KEYS:
            raise KeyError(f"{key} is not a setting the app stores")
        default = getattr(defaults, key)
        if value is None or value == default or (value == "" and default is None):
            data.pop(key, None)
        else:
            data[key] = value
    text = dumps_toml(data)
    tomllib.loads(text)  # never write a file the CLI cannot read
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("settings saved to %s: %s", path, ", ".join(changes))
    return path


def engine_values(settings: Settings) -> dict[str, Any]:
    return {k: getattr(settings, k) for k in ENGINE_KEYS}


def diff(settings: Settings, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that differ from ``settings``."""
    known = {f.name for f in fields(Settings)}
    return {k: v for k, v in values.items() if k in known and getattr(settings, k) != v}


# ---------------------------------------------------------------- gui.ini


@dataclass
class UiPrefs:
    theme: str = "system"  # system | light | dark
    ptt_key: str = "Space"  # a QKeySequence string of one key
    global_ptt_key: str = "Ctrl+Alt+Space"  # push-to-talk from any application; "" = off
    mode: str = "wake"  # wake | always | ptt | muted (a new install waits for its wake word)

    def validated(self) -> UiPrefs:
        if self.theme not in ("system", "light", "dark"):
            self.theme = "system"
        if self.mode not in ("always", "wake", "ptt", "muted"):
            self.mode = "wake"
        if not self.ptt_key:
            self.ptt_key = "Space"
        return self


MAY_BE_EMPTY = frozenset({"global_ptt_key"})  # empty turns it off


def gui_settings_path() -> Path:
    return paths.config_dir() / "gui.ini"


def qsettings() -> QSettings:
    return QSettings(str(gui_settings_path()), QSettings.Format.IniFormat)


def load_ui_prefs() -> UiPrefs:
    s = qsettings()
    prefs = UiPrefs()
    for f in fields(UiPrefs):
        value = s.value(f"ui/{f.name}")
        if isinstance(value, str) and (value or f.name in MAY_BE_EMPTY):
            setattr(prefs, f.name, value)
    return prefs.validated()


def save_ui_prefs(prefs: UiPrefs) -> None:
    s = qsettings()
    for f in fields(UiPrefs):
        s.setValue(f"ui/{f.name}", getattr(prefs, f.name))
    s.sync()


def save_window_state(geometry: QByteArray, splitter: QByteArray) -> None:
    s = qsettings()
    s.setValue("window/geometry", geometry)
    s.setValue("window/splitter", splitter)
    s.sync()


def load_window_state() -> tuple[QByteArray | None, QByteArray | None]:
    s = qsettings()
    geo, split = s.value("window/geometry"), s.value("window/splitter")
    return (
        geo if isinstance(geo, QByteArray) else None,
        split if isinstance(split, QByteArray) else None,
    )
