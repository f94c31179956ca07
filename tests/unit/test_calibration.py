"""Calibration: the rule that turns measured speeds into thread counts, the store keyed by this
machine and its models, and the LLM's arguments taking the stored choice (settings still win).
No real measurement here: the figures are made up, the run's engines are fakes."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app import calibrate, calibration
from app.calibration import ThreadSpeed, choose
from app.config import Settings, auto_llm_batch_threads, auto_llm_threads
from app.engines import registry


def speeds(*rows: tuple[int, float, float, float, float]) -> list[ThreadSpeed]:
    """(threads, prefill alone, decode alone, prefill busy, decode busy)."""
    return [ThreadSpeed(t, p, d, pb, db) for t, p, d, pb, db in rows]


# --------------------------------------------------------------------------- the rule


def test_a_count_that_collapses_beside_a_busy_core_is_not_chosen_for_decode():
    # measured on this Intel Xeon (issue 15): two threads twice as fast alone, half as fast when busy
    choice = choose(speeds((1, 59.2, 15.5, 59.1, 14.8), (2, 97.8, 26.2, 26.5, 7.7)))
    assert (choice.llm_threads, choice.llm_batch_threads) == (1, 1)
    assert "fastest beside a busy core (14.8 tokens/s, 2 threads 7.7 there though 26.2 alone)" in choice.why


def test_a_large_quiet_gain_wins_when_the_busy_speed_stays_within_80_percent():
    # the AMD EPYC's prompt evaluation: 132 -> 72 ms alone, 138 -> 152 ms beside a busy core
    choice = choose(speeds((1, 58.0, 22.0, 55.0, 20.0), (2, 99.0, 33.0, 50.0, 3.0)))
    assert choice.llm_batch_threads == 2  # 50 is 91 % of 55, and 99 is 71 % faster alone
    assert choice.llm_threads == 1  # 3 tokens/s beside a busy core is a collapse
    assert "91% of the best there" in choice.why


def test_a_small_quiet_gain_does_not_give_up_the_worst_case():
    # two threads 10 % faster alone, 85 % of one thread's speed when busy: not worth it
    choice = choose(speeds((1, 60.0, 20.0, 60.0, 20.0), (2, 66.0, 22.0, 51.0, 17.0)))
    assert (choice.llm_threads, choice.llm_batch_threads) == (1, 1)


def test_exactly_at_the_limits_the_faster_count_is_taken():
    floor, gain = calibration.CONTENDED_FLOOR, calibration.QUIET_GAIN
    choice = choose(
        speeds((1, 50.0, 10.0, 50.0, 10.0), (2, 50.0 * gain, 10.0 * gain, 50.0 * floor, 10.0 * floor))
    )
    assert (choice.llm_threads, choice.llm_batch_threads) == (2, 2)


def test_ties_go_to_fewer_threads():
    choice = choose(
        speeds((1, 60.0, 20.0, 60.0, 20.0), (2, 61.0, 20.5, 61.0, 20.5), (3, 61.5, 20.6, 61.5, 20.6))
    )
    assert (choice.llm_threads, choice.llm_batch_threads) == (1, 1)


def test_on_four_cores_the_best_worst_case_or_a_much_faster_safe_count():
    rows = speeds(
        (1, 50.0, 14.0, 50.0, 14.0),
        (2, 95.0, 26.0, 90.0, 25.0),
        (3, 130.0, 34.0, 120.0, 31.0),  # the best beside a busy core
        (4, 160.0, 40.0, 60.0, 12.0),  # the neighbour shares a core with one of its threads
    )
    choice = choose(rows)
    assert (choice.llm_threads, choice.llm_batch_threads) == (3, 3)


def test_no_figures_is_an_error():
    with pytest.raises(ValueError):
        choose([])


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class Model:
    """What ``app.models.resolve`` gives, as far as a calibration looks at it."""

    role: str
    id: str
    path: Path
    size: int
    verified: bool | None = None


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARKEN_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Model]:
    out = {}
    for role in ("llm", "stt", "tts", "vad"):
        path = tmp_path / f"{role}.bin"
        path.write_bytes(b"x" * 10)
        out[role] = Model(role, f"user-{role}", path, 10)
    return out


CHOICE = {"llm_threads": 2, "llm_batch_threads": 1, "why": "made up"}


def test_an_entry_is_found_for_the_same_machine_and_models(home, models):
    assert calibration.find(models) is None
    calibration.save(calibration.new_entry(models, choice=CHOICE))
    found = calibration.find(models)
    assert found is not None and found["choice"] == CHOICE
    assert found["cpu"] == calibration.cpu_signature()
    assert set(found["models"]) == {"llm", "stt", "tts"}  # the VAD was not measured
    assert calibration.store_path().parent == home / "home" / "config"


def test_another_cpu_finds_nothing(home, models, monkeypatch):
    calibration.save(calibration.new_entry(models, choice=CHOICE))
    other = dict(calibration.cpu_signature(), flags="0123456789ab")
    monkeypatch.setattr(calibration, "cpu_signature", lambda: other)
    assert calibration.find(models) is None
    monkeypatch.setattr(calibration, "cpu_signature", lambda: dict(other, cores=other["cores"] + 2))
    assert calibration.find(models) is None


def test_a_changed_model_file_finds_nothing_but_the_vad_does_not_matter(home, models):
    calibration.save(calibration.new_entry(models, choice=CHOICE))
    other_vad = dict(models, vad=Model("vad", "another-vad", models["vad"].path, 99))
    assert calibration.find(other_vad) is not None
    llm = models["llm"]
    llm.path.write_bytes(b"y" * 20)
    grown = dict(models, llm=Model("llm", llm.id, llm.path, 20))
    assert calibration.find(grown) is None
    assert calibration.find(grown, roles=("stt", "tts")) is not None


def test_a_catalog_model_is_known_by_its_sha256(home, tmp_path):
    from app.models import load_catalog

    entry = next(e for e in load_catalog() if e.role == "llm")
    model = Model("llm", entry.id, tmp_path / "nowhere.gguf", entry.weights.size, verified=True)
    ident = calibration.model_identity(model)
    assert ident == {"id": entry.id, "size": entry.weights.size, "sha256": entry.weights.sha256}


def test_a_new_measurement_replaces_the_old_one_and_the_file_stays_small(home, models, monkeypatch):
    calibration.save(calibration.new_entry(models, choice=CHOICE))
    calibration.save(calibration.new_entry(models, choice=dict(CHOICE, llm_threads=1)))
    entries = calibration.load_entries()
    assert len(entries) == 1 and entries[0]["choice"]["llm_threads"] == 1
    base = calibration.cpu_signature()
    for i in range(calibration.MAX_ENTRIES + 3):
        monkeypatch.setattr(calibration, "cpu_signature", lambda i=i: dict(base, flags=f"cpu{i}"))
        calibration.save(calibration.new_entry(models, choice=CHOICE))
    entries = calibration.load_entries()
    assert len(entries) == calibration.MAX_ENTRIES
    assert entries[-1]["cpu"]["flags"] == f"cpu{calibration.MAX_ENTRIES + 2}"


def test_an_unreadable_or_foreign_file_is_no_calibration(home, models):
    path = calibration.store_path()
    path.write_text("{not json", encoding="utf-8")
    assert calibration.load_entries() == [] and calibration.find(models) is None
    path.write_text(json.dumps({"schema": 999, "entries": [{"cpu": {}}]}), encoding="utf-8")
    assert calibration.load_entries() == []
    calibration.save(calibration.new_entry(models, choice=CHOICE))  # overwrites it
    assert calibration.find(models) is not None


# --------------------------------------------------------------------------- using it


def test_without_a_calibration_the_defaults_apply(home, models):
    threads = calibration.llm_threads(Settings(), models["llm"])
    assert (threads.threads, threads.batch_threads) == (auto_llm_threads(), auto_llm_batch_threads())
    assert "not calibrated" in threads.source


def test_the_stored_choice_is_used_and_settings_still_win(home, models):
    calibration.save(calibration.new_entry(models, choice=CHOICE))
    threads = calibration.llm_threads(Settings(), models["llm"])
    assert (threads.threads, threads.batch_threads, threads.source) == (2, 1, "calibrated on this computer")
    threads = calibration.llm_threads(Settings(llm_threads=3), models["llm"])
    assert (threads.threads, threads.batch_threads) == (3, 1)
    assert threads.source == "decode set in the settings, prompt calibrated on this computer"
    threads = calibration.llm_threads(Settings(llm_threads=3, llm_batch_threads=4), models["llm"])
    assert (threads.threads, threads.batch_threads, threads.source) == (3, 4, "set in the settings")


def test_the_llm_is_built_with_the_calibrated_threads(home, models):
    spec = registry.spec("llm", "llama.cpp")
    _, kwargs = spec.arguments(models["llm"], Settings())
    assert (kwargs["threads"], kwargs["batch_threads"]) == (auto_llm_threads(), auto_llm_batch_threads())
    calibration.save(calibration.new_entry(models, choice=CHOICE))
    _, kwargs = spec.arguments(models["llm"], Settings())
    assert (kwargs["threads"], kwargs["batch_threads"]) == (2, 1)
    _, kwargs = spec.arguments(registry.ModelPaths(models["llm"].path), Settings())  # no id: defaults
    assert kwargs["threads"] == auto_llm_threads()


def test_describe_says_what_was_chosen(home, models):
    assert "Not measured" in calibration.describe(None)
    entry = calibration.new_entry(
        models,
        choice=CHOICE,
        llm={"threads": [{"threads": 2, "decode_tps": 24.04, "decode_tps_busy": 11.0}]},
    )
    text = calibration.describe(entry)
    assert "decodes on 2 threads (24.0 tokens/s, 11.0 beside a busy core)" in text
    assert "prompt on 1." in text


# --------------------------------------------------------------------------- the run, on fakes


class FakeLlmEngine:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.llm = object()


class FakeStt:
    def warm_up(self) -> None: ...

    def transcribe(self, audio: Any) -> Any:
        return type("R", (), {"text": "thunderstorms could"})()


class FakeTts:
    sample_rate = 22050

    def warm_up(self) -> None: ...

    def synthesize(self, text: str):
        import numpy as np

        yield np.zeros(22050, dtype=np.float32)


class FakeSpec:
    def __init__(self, make) -> None:
        self.name, self.make = "fake", make

    def build(self, model, settings, **kw):
        return self.make(**kw)


def test_the_run_measures_each_count_alone_and_beside_the_neighbour(home, models, monkeypatch):
    busy = {"on": False}

    @contextlib.contextmanager
    def neighbour():
        busy["on"] = True
        yield
        busy["on"] = False

    # (prefill, decode) per round: alone the better round counts, beside the neighbour their mean
    table = {
        (1, False): [(60.0, 15.0), (58.0, 14.0)],
        (2, False): [(90.0, 24.0), (100.0, 26.0)],
        (1, True): [(59.0, 14.5), (59.0, 14.5)],
        (2, True): [(26.0, 6.0), (28.0, 8.0)],
    }
    runs: list[tuple[int, bool]] = []

    def fake_run(llm, prompt, decode_tokens, threads, max_s):
        runs.append((threads, busy["on"]))
        if decode_tokens == 4:  # the warm-up
            return (1.0, 1.0)
        return table[(threads, busy["on"])].pop(0)

    monkeypatch.setattr(calibrate, "llm_run", fake_run)
    monkeypatch.setattr(calibrate, "_prompt", lambda llm, n: list(range(n)))
    fakes = {"llm": FakeSpec(FakeLlmEngine), "stt": FakeSpec(FakeStt), "tts": FakeSpec(FakeTts)}
    monkeypatch.setattr(registry, "spec", lambda role, name: fakes[str(role)])
    monkeypatch.setattr(registry, "default", lambda role, settings: fakes[str(role)])
    seen: list[tuple[int, int, str]] = []
    plan = calibrate.Plan(threads=(1, 2), rounds=2)
    entry = calibrate.run(
        Settings(),
        plan=plan,
        progress=lambda d, t, s: seen.append((d, t, s)),
        models=models,
        neighbour=neighbour,
    )
    # a warm-up, then two interleaved rounds alone and two beside the busy core
    assert runs == [(2, False), *[(1, False), (2, False)] * 2, *[(1, True), (2, True)] * 2]
    assert [r["threads"] for r in entry["llm"]["threads"]] == [1, 2]
    assert entry["llm"]["threads"][1] == {
        "threads": 2,
        "prefill_tps": 100.0,
        "decode_tps": 26.0,
        "prefill_tps_busy": 27.0,
        "decode_tps_busy": 7.0,
    }
    assert entry["choice"]["llm_threads"] == 1 and entry["choice"]["llm_batch_threads"] == 1
    assert entry["stt"]["text"] == "thunderstorms could" and entry["tts"]["audio_s"] == 1.0
    assert entry["in_use"] == {"threads": 1, "batch_threads": 1, "source": "calibrated on this computer"}
    assert calibration.find(models)["choice"] == entry["choice"]
    done = [d for d, _, _ in seen]
    assert done == sorted(done) and done[0] == 0 and seen[-1][0] == seen[-1][1] == 3 + 2 * 2 * 2 + 5
    report = calibrate.format_report(entry)
    assert "Chosen: decode on 1 thread, prompt on 1 thread\n" in report
    assert "In use: decode on 1 thread, prompt on 1 thread (calibrated on this computer)" in report


# --------------------------------------------------------------------------- words and the child


def test_progress_lines_read_back():
    line = calibrate.progress_line(3, 16, "language model on 2 threads, beside a busy core")
    assert calibrate.parse_progress(line + "\n") == (3, 16, "language model on 2 threads, beside a busy core")
    assert calibrate.parse_progress("WARNING something else") is None


def test_the_child_asks_for_the_same_models_at_a_lower_priority():
    cmd = calibrate.child_command(Settings(llm_model="/m/q.gguf", profile="quality"))
    assert cmd[cmd.index("calibrate") :][:4] == ["calibrate", "--json", "--nice", str(calibrate.NICE)]
    assert cmd[cmd.index("--llm-model") + 1] == "/m/q.gguf" and cmd[cmd.index("--profile") + 1] == "quality"
    assert "--stt-model" not in cmd


def test_the_busy_neighbour_spins_and_ends():
    import psutil

    with calibrate.BusyNeighbour() as n:
        assert n.proc is not None
        pid = n.proc.pid
        assert psutil.Process(pid).is_running()
    assert n.proc is None and not psutil.pid_exists(pid)


# --------------------------------------------------------------------------- the bench says what it uses


def test_the_bench_prints_the_threads_it_uses_and_where_they_come_from(home, models, monkeypatch):
    import app.models
    from app.tools import bench, bench_table

    monkeypatch.setattr(app.models, "resolve", lambda role, settings, **kw: models[role])
    setup = bench.llm_setup(Settings())
    assert setup["calibration"] is None and "not calibrated" in str(setup["llm_threads_source"])
    calibration.save(calibration.new_entry(models, choice=CHOICE))
    setup = bench.llm_setup(Settings())
    assert (setup["llm_threads"], setup["llm_batch_threads"]) == (2, 1)
    assert setup["calibration"]["choice"] == CHOICE
    line = bench_table._llm_threads(setup)
    assert line == "LLM threads: decode 2, prompt 1 (calibrated on this computer)"
    assert bench_table._llm_threads({"llm_threads": 0}) == "LLM threads 0"  # an older summary
    served = bench.llm_setup(Settings(llm_server_url="http://127.0.0.1:8080/v1"))
    assert served["llm_threads"] is None and served["llm_threads_source"] == "an LLM server"


def test_the_window_is_told_when_to_measure(home, models, monkeypatch):
    status = calibration.status(models, Settings())
    assert status.due and status.entry is None and status.threads.threads == auto_llm_threads()
    monkeypatch.setenv("HEARKEN_CALIBRATE", "0")
    assert not calibration.status(models, Settings()).due
    monkeypatch.delenv("HEARKEN_CALIBRATE")
    assert calibration.status(models, Settings(llm_server_url="http://x/v1")) == calibration.Status(False, None, None)
    assert calibration.status({}, Settings()) == calibration.Status(False, None, None)
    calibration.save(calibration.new_entry(models, choice=CHOICE))
    status = calibration.status(models, Settings())
    assert not status.due and status.entry["choice"] == CHOICE
    assert (status.threads.threads, status.threads.batch_threads) == (2, 1)
