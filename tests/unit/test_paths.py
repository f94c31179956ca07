"""What a frozen (PyInstaller) build relies on: bundled resources found through ``sys._MEIPASS``,
a windowed build with no stdout/stderr, the child-process command that re-enters the app."""

from __future__ import annotations

import sys

from app import __main__ as entry
from app import paths, preflight


def test_resources_come_from_the_bundle_when_frozen(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resource_root() == tmp_path
    assert paths.resource("models", "catalog.json") == tmp_path / "models" / "catalog.json"


def test_resources_come_from_the_checkout_otherwise(monkeypatch):
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    assert (paths.resource_root() / "models" / "catalog.json").is_file()
    assert (paths.resource("assets", "selftest-recording.wav")).is_file()


def test_a_windowed_build_without_stdout_or_stderr_can_still_write(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    entry._ensure_streams()
    assert sys.stdout is not None and sys.stderr is not None
    print("nobody reads this")  # noqa: T201 - must not raise
    sys.stderr.write("nor this\n")


def test_the_preflight_child_re_enters_the_frozen_executable(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/hearken/hearken")
    cmd = preflight.child_command({"vad": {"path": "x"}})
    assert cmd[:2] == ["/opt/hearken/hearken", preflight.CHILD_FLAG]
    monkeypatch.setattr(sys, "frozen", False)
    assert preflight.child_command({})[1:4] == ["-m", "app", preflight.CHILD_FLAG]


def test_user_dirs_follow_hearken_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HEARKEN_HOME", str(tmp_path))
    assert paths.log_dir() == tmp_path / "log" and paths.log_dir().is_dir()
    assert preflight.log_file() == tmp_path / "log" / "hearken.log"
