"""The running window's end of the control socket (``app.ui.control`` has the protocol).

A ``QLocalServer`` on the GUI thread: it never blocks (Qt reads each connection as its bytes
arrive), answers one request per connection and drops a client that says nothing for a few
seconds.  ``talk`` press / release / toggle go to ``TalkController.push_to_talk``; ``activate``
(a second ``hearken`` started) brings the window forward and logs the command line it was given.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

from app.ui import control

log = logging.getLogger(__name__)

IDLE_CLIENT_MS = 5000


def bring_forward(window: QWidget) -> None:
    """Show, un-minimise, raise and activate the window."""
    state = window.windowState() & ~Qt.WindowState.WindowMinimized
    window.setWindowState(state | Qt.WindowState.WindowActive)
    window.show()
    window.raise_()
    window.activateWindow()


class ControlServer(QObject):
    """Serves ``lock.path`` for ``window`` (a ``MainWindow``: its ``talk`` and ``engine_status``)."""

    activated = Signal(list)  # the other start's command line
    talked = Signal(str, str)  # action, the push-to-talk state after it (down | up)

    def __init__(self, window: Any, lock: control.InstanceLock, parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.window = window
        self.lock = lock
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        path = str(self.lock.path)
        QLocalServer.removeServer(path)  # we hold the lock: any file there is stale
        if not self.server.listen(path):
            log.warning("the control socket %s cannot be served: %s", path, self.server.errorString())
            return False
        os.chmod(path, 0o600)
        log.info("control socket: %s", path)
        return True

    def close(self) -> None:
        self.server.close()
        self.lock.release()

    # ---------------------------------------------------------------- connections
    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            self._buffers[sock] = b""
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(lambda s=sock: self._forget(s))
            QTimer.singleShot(IDLE_CLIENT_MS, sock, sock.abort)

    def _forget(self, sock: QLocalSocket) -> None:
        self._buffers.pop(sock, None)
        sock.deleteLater()

    def _read(self, sock: QLocalSocket) -> None:
        if sock not in self._buffers:
            return
        data = self._buffers[sock] + bytes(sock.readAll().data())
        if b"\n" not in data and len(data) <= control.MAX_LINE:
            self._buffers[sock] = data
            return
        line = data.split(b"\n", 1)[0]
        try:
            reply = self.handle(control.parse_request(line))
        except control.ProtocolError as exc:
            reply = {"ok": False, "error": str(exc)}
        self._buffers.pop(sock, None)
        sock.write(control.encode(reply))
        sock.flush()
        sock.disconnectFromServer()

    # ---------------------------------------------------------------- requests
    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request["cmd"]
        if cmd == "ping":
            return {"ok": True, "pid": os.getpid()}
        if cmd == "activate":
            argv = list(request.get("argv", []))
            log.info(
                "Hearken was started again (%s): bringing the window forward", " ".join(argv) or "hearken"
            )
            bring_forward(self.window)
            self.activated.emit(argv)
            return {"ok": True, "pid": os.getpid()}
        return self._talk(request["action"])

    def _talk(self, action: str) -> dict[str, Any]:
        talk = self.window.talk
        pressed = (not talk.ptt_down) if action == "toggle" else action == "press"
        if pressed and not talk.ptt_down:
            if not self.window.engine_status.ready:
                return {"ok": False, "error": "Hearken is still loading its models", "ptt": "up"}
            if talk.mode == "muted":
                return {"ok": False, "error": "Hearken is muted", "ptt": "up"}
        talk.push_to_talk(pressed)
        state = "down" if talk.ptt_down else "up"
        self.talked.emit(action, state)
        return {"ok": True, "ptt": state}
