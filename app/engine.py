"""Builds a ready-to-start engine (orchestrator + playback) from settings and the model catalog."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.audio.playback import PlaybackBuffer
from app.audio.sounds import load_sound
from app.config import Settings
from app.models import ModelError, ResolvedModel, resolve
from app.pipeline.orchestrator import EngineFactories, Orchestrator
from app.skills import AlarmStore, Skills

log = logging.getLogger(__name__)


@dataclass
class Engine:
    orchestrator: Orchestrator
    playback: PlaybackBuffer
    models: dict[str, ResolvedModel]

    def models_report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for role, m in self.models.items():
            out[role] = {"id": m.id, "path": str(m.path), "size": m.size, "verified": m.verified}
        if self.orchestrator.settings.llm_server_url:
            out["llm"] = {"id": "server", "url": self.orchestrator.settings.llm_server_url}
        return out


def make_factories(settings: Settings, models: dict[str, ResolvedModel]) -> EngineFactories:
    from app.engines import registry

    try:
        emotion = registry.build("emotion", settings)
    except Exception:  # noqa: BLE001 - the assistant works without emotion tags
        log.exception("emotion tagger unavailable")
        emotion = None

    return EngineFactories(
        vad=lambda: registry.build("vad", settings, models["vad"]),
        stt=lambda: registry.build("stt", settings, models["stt"]),
        llm=lambda: registry.build("llm", settings, models.get("llm")),  # none for an LLM server
        tts=lambda: registry.build("tts", settings, models["tts"]),
        emotion=emotion,
        turn=lambda: registry.build("turn", settings, models["turn"]),
        wake=(lambda: registry.build("wake", settings, models["wake"])) if "wake" in models else None,
    )


def build_engine(settings: Settings, *, output_rate: int | None = None, record: bool = False) -> Engine:
    """Resolve models (raises ``ModelError`` with one clear line) and wire the pipeline; nothing starts yet."""
    roles = ["vad", "stt", "tts", "turn"] + ([] if settings.llm_server_url else ["llm"])
    models = {role: resolve(role, settings) for role in roles}
    wake = _wake_model(settings)
    if wake is not None:
        models["wake"] = wake
    rate = output_rate or settings.output_rate or models["tts"].sample_rate or 22050
    playback = PlaybackBuffer(rate, record=record)
    orch = Orchestrator(
        settings, make_factories(settings, models), playback, skills=make_skills(settings), sound=load_sound
    )
    return Engine(orch, playback, models)


def _wake_model(settings: Settings) -> ResolvedModel | None:
    """The wake word model: a user's choice must resolve (one clear line if not); the default one
    is optional, since only wake word mode needs it (the mode then says it is missing)."""
    if settings.wake_model:
        return resolve("wake", settings)
    try:
        return resolve("wake", settings)
    except ModelError as exc:
        log.warning("no wake word model: %s", exc)
        return None


def make_skills(settings: Settings) -> Skills | None:
    """The local skills over the configured alarm store (None when turned off)."""
    if not settings.skills:
        return None
    store = AlarmStore(Path(settings.alarms_db).expanduser() if settings.alarms_db else None)
    clock_24h = None if settings.clock == "auto" else settings.clock == "24h"
    return Skills(store, clock_24h=clock_24h)
