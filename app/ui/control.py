"""The local control socket: ``hearken talk`` and a second ``hearken`` reach the running window.

No Qt here: the command line imports this to talk to the app (a plain ``AF_UNIX`` client), and the
window's server (``control_server``) uses the same protocol and paths.  One request per connection:
a line of JSON, ``{"hearken": 1, "cmd": "talk", "action": "toggle"}``, answered by a line of JSON,
``{"ok": true, "ptt": "down"}`` or ``{"ok": false, "error": "..."}``.

The socket lives in the user's runtime dir (``$XDG_RUNTIME_DIR/hearken/``, else a private
``/tmp/hearken-UID/``), mode 0600 in a 0700 folder.  Which process owns it is decided by an
``flock`` on the lock file beside it, held for the owner's lifetime: a crashed run leaves a socket
file but no lock, so a stale file never blocks the next start.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

PROTOCOL = 1
MAX_LINE = 64 * 1024
TALK_ACTIONS = ("press", "release", "toggle")
COMMANDS = ("talk", "activate", "ping")
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes


class ProtocolError(ValueError):
    """A malformed request or reply."""


class NotRunning(ConnectionError):
    """No Hearken answers on the control socket."""


# ---------------------------------------------------------------- where


def runtime_dir() -> Path:
    """A private folder for the socket: the XDG runtime dir's ``hearken/``, else ``/tmp/hearken-UID``."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isdir(base) and os.access(base, os.W_OK | os.X_OK):
        folder = Path(base) / "hearken"
    else:
        folder = Path(tempfile.gettempdir()) / f"hearken-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{folder} belongs to another user")
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def socket_path() -> Path:
    """One instance per user, or per ``HEARKEN_HOME`` (tests and portable installs keep apart)."""
    home = os.environ.get("HEARKEN_HOME")
    name = "control.sock"
    if home:
        digest = hashlib.sha256(os.path.abspath(os.path.expanduser(home)).encode()).hexdigest()[:12]
        name = f"control-{digest}.sock"
    path = runtime_dir() / name
    if len(os.fsencode(str(path))) > MAX_SOCKET_PATH:
        folder = Path(tempfile.gettempdir()) / f"hearken-{os.getuid()}"
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / name
    return path


# ---------------------------------------------------------------- protocol


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    if len(data) > MAX_LINE:
        raise ProtocolError("message too long")
    return data


def talk_request(action: str) -> dict[str, Any]:
    if action not in TALK_ACTIONS:
        raise ProtocolError(f"talk action must be one of {', '.join(TALK_ACTIONS)}")
    return {"hearken": PROTOCOL, "cmd": "talk", "action": action}


def activate_request(argv: list[str], cwd: str | None = None) -> dict[str, Any]:
    return {"hearken": PROTOCOL, "cmd": "activate", "argv": list(argv), "cwd": cwd or os.getcwd()}


def _decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_LINE:
        raise ProtocolError("message too long")
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is a JSON object")
    return message


def parse_request(line: bytes) -> dict[str, Any]:
    """The request, checked: raises ``ProtocolError`` with the reason."""
    message = _decode(line)
    if message.get("hearken") != PROTOCOL:
        raise ProtocolError(f"unknown protocol {message.get('hearken')!r} (this Hearken speaks {PROTOCOL})")
    cmd = message.get("cmd")
    if cmd not in COMMANDS:
        raise ProtocolError(f"unknown command {cmd!r}")
    if cmd == "talk" and message.get("action") not in TALK_ACTIONS:
        raise ProtocolError(f"unknown talk action {message.get('action')!r}")
    if cmd == "activate":
        argv = message.get("argv", [])
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise ProtocolError("activate's argv is a list of strings")
    return message


def parse_reply(line: bytes) -> dict[str, Any]:
    reply = _decode(line)
    if not isinstance(reply.get("ok"), bool):
        raise ProtocolError("a reply says ok: true or false")
    return reply


# ---------------------------------------------------------------- client


def request(message: dict[str, Any], path: Path | None = None, timeout: float = 3.0) -> dict[str, Any]:
    """Send one request and wait (at most ``timeout``) for its reply; ``NotRunning`` if no one listens."""
    path = path or socket_path()
    if not hasattr(socket, "AF_UNIX"):  # pragma: no cover - not on Linux
        raise NotRunning("this system has no local sockets")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(str(exc)) from None
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTSOCK):
                raise NotRunning(str(exc)) from None
            raise
        sock.sendall(encode(message))
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_LINE:
                raise ProtocolError("reply too long")
    if not data:
        raise ProtocolError("Hearken closed the connection without answering")
    return parse_reply(data)


# ---------------------------------------------------------------- one instance


@dataclass
class InstanceLock:
    """Held by the running window for its lifetime (released by the kernel if it crashes)."""

    path: Path  # the socket this instance serves
    file: TextIO

    def release(self) -> None:
        if not self.file.closed:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()


def claim(path: Path | None = None) -> InstanceLock | None:
    """The lock if no other Hearken holds it (a stale socket file is removed); else None."""
    path = path or socket_path()
    lock_path = path.with_suffix(".lock")
    f = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process's lifetime
    os.chmod(lock_path, 0o600)
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    try:
        path.unlink()  # what a crashed run left
    except FileNotFoundError:
        pass
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return InstanceLock(path, f)


def forward(argv: list[str], path: Path | None = None, wait_s: float = 5.0) -> dict[str, Any]:
    """Hand the command line to the running instance, waiting up to ``wait_s`` while it starts."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return request(activate_request(argv), path, timeout=max(1.0, wait_s))
        except NotRunning:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)  # it holds the lock but is not listening yet (not a GUI thread)
