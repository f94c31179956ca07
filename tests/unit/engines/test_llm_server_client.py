"""The OpenAI-compatible client's protocol handling, against a local stub server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.engines.llm import LlmError, OpenAiCompatLlm


class _Handler(BaseHTTPRequestHandler):
    received: list[dict] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        body = json.dumps({"data": [{"id": "stub"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        req = json.loads(self.rfile.read(length))
        _Handler.received.append({"body": req, "auth": self.headers.get("Authorization")})
        if req["model"] == "missing":
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"error": "model not found"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in ["Paris", " is", " the capital", "."]:
            chunk = {"choices": [{"delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b": keep-alive comment\n\ndata: [DONE]\n\n")


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.received.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_streams_deltas_and_sends_the_chat(server):
    llm = OpenAiCompatLlm(server, model="m", api_key="secret")
    llm.check()
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "capital of France?"}]
    out = list(llm.stream_chat(msgs, max_tokens=20))
    assert "".join(out) == "Paris is the capital."
    sent = _Handler.received[-1]
    assert sent["body"]["messages"] == msgs and sent["body"]["stream"] is True
    assert sent["body"]["max_tokens"] == 20
    assert sent["auth"] == "Bearer secret"


def test_stops_between_tokens_when_cancelled(server):
    llm = OpenAiCompatLlm(server + "/v1")
    seen = []
    for delta in llm.stream_chat(
        [{"role": "user", "content": "x"}], max_tokens=5, should_stop=lambda: len(seen) >= 1
    ):
        seen.append(delta)
    assert seen == ["Paris"]


def test_http_error_is_one_clear_message(server):
    llm = OpenAiCompatLlm(server, model="missing")
    with pytest.raises(LlmError, match="answered 404"):
        list(llm.stream_chat([{"role": "user", "content": "x"}], max_tokens=5))


def test_unreachable_server_is_one_clear_message():
    llm = OpenAiCompatLlm("http://127.0.0.1:9", timeout=2)
    with pytest.raises(LlmError, match="cannot be reached"):
        llm.check()
