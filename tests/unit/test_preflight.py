"""The native preflight: a crash in a child process becomes one sentence naming the engine and the
signal; the other engines are still checked; a passed set-up is not checked again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from app import preflight
from app.preflight import EngineResult, NativeCrashError, PreflightReport, run_checks

SPEC = {"vad": {"path": "v"}, "llm": {"path": "l"}, "tts": {"path": "t"}}


def _line(event: str, key: str, **kw) -> str:
    return "@@" + json.dumps({"event": event, "key": key, **kw})


class ScriptedChildren:
    """Each call plays the next child: (stdout lines, return code); records the engines asked for."""

    def __init__(self, *children: tuple[list[str], int]) -> None:
        self.children = list(children)
        self.asked: list[list[str]] = []

    def __call__(self, cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        self.asked.append(list(json.loads(cmd[-1])))
        lines, rc = self.children.pop(0)
        return subprocess.CompletedProcess(cmd, rc, "\n".join(lines) + "\n", "Fatal Python error: Segmentation fault")


def test_a_crash_names_the_engine_and_signal_and_the_rest_is_still_checked():
    runner = ScriptedChildren(
        ([_line("begin", "vad"), _line("ok", "vad", seconds=0.1), _line("begin", "llm")], -signal.SIGSEGV),
        ([_line("begin", "tts"), _line("ok", "tts", seconds=0.2)], 0),
    )
    results = run_checks(SPEC, runner=runner)
    assert runner.asked == [["vad", "llm", "tts"], ["tts"]]
    assert [(r.key, r.status) for r in results] == [("vad", "ok"), ("llm", "crashed"), ("tts", "ok")]
    report = PreflightReport(results, "Test CPU", 1.0, log_path="/x/hearken.log")
    message = report.message()
    assert message.startswith("The language model (llama.cpp) crashed (SIGSEGV (signal 11))")
    assert "Test CPU" in message and "--llm-server-url" in message and "/x/hearken.log" in message
    assert "\n" not in message


def test_a_python_error_in_the_child_is_a_failure_with_its_text():
    runner = ScriptedChildren(([_line("begin", "vad"), _line("failed", "vad", detail="OSError: bad file")], 0))
    (result,) = run_checks({"vad": {}}, runner=runner)
    assert (result.status, result.detail) == ("failed", "OSError: bad file")
    assert "could not run: OSError: bad file" in PreflightReport([result], "cpu", 0.0).message()


def test_a_hung_child_is_reported_not_waited_for_forever():
    def runner(cmd, timeout):
        raise subprocess.TimeoutExpired(cmd, timeout, output=_line("begin", "stt") + "\n")

    (result,) = run_checks({"stt": {}}, runner=runner, timeout=3)
    assert result.status == "hung"
    assert "did not finish its first run within" in PreflightReport([result], "cpu", 0.0).message()


def test_a_real_segfault_in_a_child_process_is_caught(tmp_path):
    """A real child that announces an engine and then dies of SIGSEGV in native code."""
    child = tmp_path / "child.py"
    child.write_text(
        textwrap.dedent(
            """
            import ctypes, faulthandler, json, sys
            faulthandler.enable()
            print("@@" + json.dumps({"event": "begin", "key": "llm"}), flush=True)
            ctypes.string_at(0)  # reads address 0: a real segmentation fault
            """
        )
    )

    def runner(cmd, timeout):
        return subprocess.run([sys.executable, str(child)], capture_output=True, text=True, timeout=timeout)

    (result,) = run_checks({"llm": {}}, runner=runner)
    assert result.status == "crashed"
    assert result.detail == "SIGSEGV (signal 11)"


def test_windows_crash_codes_are_named():
    assert preflight.signal_name(0xC0000005) == "an access violation (0xC0000005)"
    assert preflight.signal_name(0xC000001D) == "an illegal instruction (0xC000001D)"
    assert preflight.signal_name(-4) == "SIGILL (signal 4)"


def test_a_passed_setup_is_not_checked_again_but_a_crash_is(monkeypatch, tmp_path):
    monkeypatch.setattr(preflight, "_stamp_path", lambda: tmp_path / "preflight.json")
    ok = ScriptedChildren(([_line("begin", "vad"), _line("ok", "vad")], 0))
    first = preflight.preflight({"vad": {}}, runner=ok)
    assert first.ok and not first.cached
    again = preflight.preflight({"vad": {}}, runner=ScriptedChildren())  # no child may start
    assert again.ok and again.cached
    forced = preflight.preflight({"vad": {}}, runner=ScriptedChildren(([_line("ok", "vad")], 0)), force=True)
    assert not forced.cached
    # another set-up (here: another spec) is checked again, and a crash is never trusted
    crash = ScriptedChildren(([_line("begin", "emotion")], -signal.SIGILL), ([_line("begin", "emotion")], -4))
    assert not preflight.preflight({"emotion": {}}, runner=crash).ok
    assert not preflight.preflight({"emotion": {}}, runner=crash).ok
    assert crash.children == []


def test_ensure_preflight_raises_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(preflight, "_stamp_path", lambda: tmp_path / "preflight.json")
    monkeypatch.setattr(preflight, "spec_for", lambda models, settings: {"tts": {}})
    crash = ScriptedChildren(([_line("begin", "tts")], -signal.SIGSEGV))
    with pytest.raises(NativeCrashError, match=r"^The voice \(piper on onnxruntime\) crashed"):
        preflight.ensure_preflight({"tts": object()}, None, runner=crash)


def test_fingerprint_follows_the_processor_and_the_models(monkeypatch, tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"1234")
    spec = {"llm": {"path": str(model)}}
    base = preflight.fingerprint(spec)
    assert preflight.fingerprint(spec) == base
    model.write_bytes(b"123456")  # an updated model
    assert preflight.fingerprint(spec) != base
    moved = preflight.fingerprint(spec)
    monkeypatch.setattr(preflight, "cpu_signature", lambda: "Another CPU [abc]")
    assert preflight.fingerprint(spec) != moved


def test_cpu_signature_names_this_processor():
    sig = preflight.cpu_signature()
    assert sig and "[" in sig
    assert EngineResult("llm", "ok").label == "the language model (llama.cpp)"


def test_native_files_of_a_single_file_module_is_that_file_not_its_folder():
    files = preflight._native_files("_ctypes")  # an extension module alone in lib-dynload
    assert len(files) == 1 and "_ctypes" in files[0][0]
    assert preflight._native_files("no_such_module_here") == []
