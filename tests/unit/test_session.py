"""The session layer on fake engines: the same life cycle for every way of running Hearken."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import Engine
from app.filemode import FeedPlan, FilesLink
from app.pipeline.orchestrator import EngineFactories, Orchestrator
from app.session import AudioStatus, EngineStartError, Progress, Session
from tests.fakes import EnergyVad, ScriptedLlm, ToneTts, make_orchestrator, silence, speech


class RecordingLink:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self, engine):
        self.calls.append("start")
        return AudioStatus("test mic", "test speaker")

    def on_ready(self, engine) -> None:
        assert engine.orchestrator.ready  # input only once every model is warm
        self.calls.append("on_ready")

    def stop(self) -> None:
        self.calls.append("stop")


def engine_of(orch: Orchestrator) -> Engine:
    return Engine(orch, orch.playback, {})


def test_a_session_opens_its_link_then_feeds_it_once_ready_and_closes_it_before_the_engine():
    link = RecordingLink()
    session = Session(engine_of(make_orchestrator()), link)
    steps: list[Progress] = []
    assert session.start() == AudioStatus("test mic", "test speaker")
    assert session.wait_ready(10, progress=steps.append)
    session.begin()
    session.stop()
    session.stop()  # twice is harmless
    assert link.calls == ["start", "on_ready", "stop"]
    assert not any(w.alive for w in session.orchestrator.workers)
    assert all(0 < p.done <= p.total for p in steps)


def test_a_model_that_fails_to_load_is_named():
    def broken_llm():
        raise RuntimeError("the file is not a GGUF model")

    orch = make_orchestrator()
    orch.llm_worker.llm_factory = broken_llm
    session = Session(engine_of(orch))
    session.start()
    with pytest.raises(EngineStartError, match="language model could not be loaded: .*not a GGUF"):
        session.wait_ready(10)
    session.stop()


def test_recordings_through_the_session_give_the_report():
    from app.filemode import run_files

    orch = make_orchestrator()
    report = run_files(engine_of(orch), [np.concatenate([speech(0.6), silence(0.2)])], realtime=False)
    assert [t["user_text"] for t in report["turns"]] == ["what is the capital of france?"]
    assert report["turns"][0]["assistant_text"].startswith("Paris")
    assert report["errors"] == []


def test_files_link_says_what_it_plays():
    link = FilesLink(FeedPlan([silence(0.1)] * 2, realtime=False))
    orch = Orchestrator(
        make_orchestrator().settings,
        EngineFactories(vad=EnergyVad, stt=lambda: None, llm=ScriptedLlm, tts=ToneTts),
        make_orchestrator().playback,
    )
    status = link.start(engine_of(orch))
    link.stop()
    assert status.input == "2 recording(s), as fast as it can" and status.ok
