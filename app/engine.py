"""Builds a ready-to-start engine (orchestrator + playback) from settings and the model catalog."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.audio.playback import PlaybackBuffer
from app.config import Settings, auto_llm_batch_threads, auto_llm_threads
from app.models import ResolvedModel, resolve
from app.pipeline.orchestrator import EngineFactories, Orchestrator

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
    from app.engines.llm import LlamaCppLlm, OpenAiCompatLlm
    from app.engines.stt import WhisperStt
    from app.engines.tts import PiperTts
    from app.engines.vad import SileroVad

    def llm() -> Any:
        if settings.llm_server_url:
            engine = OpenAiCompatLlm(
                settings.llm_server_url,
                model=settings.llm_server_model,
                api_key=settings.llm_server_api_key,
                n_ctx=settings.n_ctx,
            )
            engine.check()
            return engine
        threads = settings.llm_threads or auto_llm_threads()
        batch = settings.llm_batch_threads or auto_llm_batch_threads()
        return LlamaCppLlm(
            models["llm"].path,
            n_ctx=settings.n_ctx,
            threads=threads,
            batch_threads=batch,
            seed=settings.llm_seed,
        )

    try:
        from app.engines.emotion import EmotionTagger

        emotion = EmotionTagger()
    except Exception:  # noqa: BLE001 - the assistant works without emotion tags
        log.exception("emotion tagger unavailable")
        emotion = None

    return EngineFactories(
        vad=lambda: SileroVad(models["vad"].path),
        stt=lambda: WhisperStt(
            models["stt"].path,
            threads=settings.stt_threads,
            language=settings.language,
            beam_size=settings.beam_size,
        ),
        llm=llm,
        tts=lambda: PiperTts(
            models["tts"].path,
            models["tts"].config_path,
            speaking_rate=settings.speaking_rate,
            threads=settings.tts_threads,
        ),
        emotion=emotion,
    )


def build_engine(settings: Settings, *, output_rate: int | None = None, record: bool = False) -> Engine:
    """Resolve models (raises ``ModelError`` with one clear line) and wire the pipeline; nothing starts yet."""
    roles = ["vad", "stt", "tts"] + ([] if settings.llm_server_url else ["llm"])
    models = {role: resolve(role, settings) for role in roles}
    rate = output_rate or settings.output_rate or models["tts"].sample_rate or 22050
    playback = PlaybackBuffer(rate, record=record)
    orch = Orchestrator(settings, make_factories(settings, models), playback)
    return Engine(orch, playback, models)
