"""The LLM stage talking to a real OpenAI-compatible server (llama-cpp-python's server, same model)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from app.config import Settings
from app.models import resolve
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llm_server():
    model = resolve("llm", Settings()).path
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start")
    yield url
    proc.terminate()
    proc.wait(10)


def test_spoken_turn_through_server(llm_server, spoken, tmp_path):
    report_path = tmp_path / "r.json"
    res = run_cli(
        "listen",
        str(spoken["capital"]),
        "--llm-server-url",
        llm_server,
        "--report",
        str(report_path),
        timeout=180,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(report_path.read_text())
    assert report["models"]["llm"]["url"] == llm_server
    turn = [t for t in report["turns"] if not t.get("dropped")][0]
    assert "paris" in turn["assistant_text"].lower()
    assert turn["latency_ms"]["voice_to_voice"] > 0


def test_unreachable_server_fails_with_one_line(spoken):
    res = run_cli("listen", str(spoken["capital"]), "--llm-server-url", "http://127.0.0.1:9", timeout=120)
    assert res.returncode == 1
    assert "cannot be reached" in res.stderr and "Traceback" not in res.stderr


def test_skills_answer_in_front_of_the_server_and_the_rest_reaches_it(llm_server, spoken, tmp_path):
    """The server path has the same skills: the timer is set by Hearken itself (no server round
    trip, no invented "Sure, I'll set it"), the knowledge question is the server's."""
    report_path = tmp_path / "r.json"
    res = run_cli(
        "listen",
        str(spoken["timer"]),
        str(spoken["capital"]),
        "--llm-server-url",
        llm_server,
        "--report",
        str(report_path),
        timeout=180,
    )
    assert res.returncode == 0, res.stderr
    turns = [t for t in json.loads(report_path.read_text())["turns"] if not t.get("dropped")]
    timer, capital = turns
    assert timer["skill"]["name"] == "timer.set" and timer["skill"]["args"]["seconds"] == 300
    assert timer["assistant_text"] == "OK, timer set for 5 minutes."
    assert capital["skill"] is None and "paris" in capital["assistant_text"].lower()
    assert "[skill timer.set" in res.stdout
