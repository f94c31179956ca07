"""A desktop notification when a timer ends or a reminder falls due, even while the window is minimised.

Where there is a D-Bus session bus (Linux desktops) it goes to the freedesktop notification service
(``org.freedesktop.Notifications``); where that fails or there is none (Windows, macOS, a bare X
server), to the tray icon's balloon if the window has one; else only a log line.  The window also asks
for attention (``QApplication.alert``).  The engine speaks the alarm and plays its chime, so the
notification asks the server to stay silent (``suppress-sound``).

The D-Bus call runs on one worker thread, never on the GUI thread.  PySide6 turns every Python int
into an ``i`` and an empty list into ``av``, but ``Notify`` takes ``susssasa{sv}i`` (``replaces_id``
is a ``uint``) and strict servers (GNOME Shell, anything on GDBus) refuse another signature.  So the
call goes through a ``QDBusInterface`` (built from the service's introspection) invoked with typed
``Q_ARG``s; both the introspection and that call block, which is why they live on the worker.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from typing import Any, Protocol

from PySide6.QtCore import Q_ARG, Q_RETURN_ARG, QMetaObject, QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from app import paths
from app.messages import AlarmFired

try:  # QtDBus is in the Linux wheels; elsewhere the tray does the job
    from PySide6.QtDBus import QDBusConnection, QDBusInterface
except ImportError:  # pragma: no cover - not on Linux
    QDBusConnection = None  # type: ignore[assignment,misc]
    QDBusInterface = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
APP_NAME = "Hearken"
CALL_TIMEOUT_MS = 5000
TRAY_MS = 10_000


class ShowsMessages(Protocol):
    def showMessage(self, title: str, msg: str, icon: Any, msecs: int) -> None: ...  # noqa: N802 - Qt API


def note_for(fired: AlarmFired) -> tuple[str, str]:
    """The notification's summary and body: "Pasta timer done" / what the assistant says about it."""
    alarm = fired.alarm
    label = alarm.label.strip()
    if alarm.kind == "timer":
        name = f"{label[:1].upper()}{label[1:]} timer" if label else "Timer"
        summary = f"{name} ended while Hearken was closed" if fired.late else f"{name} done"
    else:
        summary = "Missed reminder" if fired.late else "Reminder"
    body = fired.text.strip() or (f"Remember to {label}." if alarm.kind != "timer" and label else "")
    return summary, body


class _DBusSender:
    """On the worker thread only: the connection and the interface are made there and reused."""

    def __init__(self, bus_address: str | None) -> None:
        self.bus_address = bus_address
        self.name = f"hearken-notify-{id(self):x}"  # a private connection of its own (tests, a bus address)
        self._bus: Any = None
        self._iface: Any = None

    def _connection(self) -> Any:
        if self._bus is None:
            if self.bus_address:
                self._bus = QDBusConnection.connectToBus(self.bus_address, self.name)
            else:
                self._bus = QDBusConnection.sessionBus()
        return self._bus

    def send(self, summary: str, body: str) -> tuple[bool, str]:
        """(True, the notification's id) or (False, why not)."""
        bus = self._connection()
        if not bus.isConnected():
            return False, f"no D-Bus session bus ({bus.lastError().message() or 'not connected'})"
        if self._iface is None:
            iface = QDBusInterface(SERVICE, OBJECT_PATH, INTERFACE, bus)
            if not iface.isValid():
                return False, iface.lastError().message() or "no notification service on the session bus"
            iface.setTimeout(CALL_TIMEOUT_MS)
            self._iface = iface
        icon = paths.resource("assets", "hearken.png")
        hints = {"desktop-entry": "hearken", "suppress-sound": True}
        try:
            nid = QMetaObject.invokeMethod(
                self._iface,
                "Notify",
                Qt.ConnectionType.DirectConnection,
                Q_RETURN_ARG("uint"),
                Q_ARG("QString", APP_NAME),
                Q_ARG("uint", 0),
                Q_ARG("QString", icon.as_uri() if icon.exists() else ""),
                Q_ARG("QString", summary),
                Q_ARG("QString", body),
                Q_ARG("QStringList", []),
                Q_ARG("QVariantMap", hints),
                Q_ARG("int", -1),
            )
        except RuntimeError as exc:  # the service's introspection has no such Notify
            self._iface = None
            return False, f"Notify could not be called ({exc})"
        error = self._iface.lastError()
        if error.isValid():
            self._iface = None  # the service may have gone: look it up again next time
            return False, error.message() or error.name()
        return True, str(nid)

    def close(self) -> None:
        self._iface = None
        if self._bus is not None and self.bus_address:
            QDBusConnection.disconnectFromBus(self.name)
        self._bus = None


class DesktopNotifier(QObject):
    """``notify(fired)`` returns at once; ``shown(how, summary, body)`` follows (dbus, tray or log)."""

    shown = Signal(str, str, str)
    _sent = Signal(bool, str, str, str)  # from the worker: ok, detail, summary, body

    def __init__(
        self,
        window: QWidget,
        *,
        tray: ShowsMessages | QSystemTrayIcon | None = None,
        use_dbus: bool | None = None,
        bus_address: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent if parent is not None else window)
        self.window = window
        self.tray = tray
        if use_dbus is None:
            use_dbus = sys.platform.startswith("linux")
        self.use_dbus = bool(use_dbus) and QDBusConnection is not None
        self.bus_address = bus_address
        self._jobs: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._sent.connect(self._on_sent)  # queued: the worker's thread is not this object's

    def notify(self, fired: AlarmFired) -> None:
        summary, body = note_for(fired)
        QApplication.alert(self.window, 0)
        if not self.use_dbus:
            self._fallback(summary, body, "D-Bus is not used on this system")
            return
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="notify-dbus", daemon=True)
            self._worker.start()
        self._jobs.put((summary, body))

    def close(self, wait_s: float = 0.0) -> None:
        """Tell the worker to end after the call in progress (at most ``CALL_TIMEOUT_MS``); waits only if
        asked (tests): the window closes without waiting on a notification server."""
        worker, self._worker = self._worker, None
        if worker is not None:
            self._jobs.put(None)
            if wait_s > 0:
                worker.join(wait_s)

    def _run(self) -> None:
        sender = _DBusSender(self.bus_address)
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                summary, body = job
                try:
                    ok, detail = sender.send(summary, body)
                except Exception as exc:  # noqa: BLE001 - a notification must never take the app down
                    log.exception("the desktop notification failed")
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                self._sent.emit(ok, detail, summary, body)
        finally:
            sender.close()

    def _on_sent(self, ok: bool, detail: str, summary: str, body: str) -> None:
        if ok:
            log.info("desktop notification %s: %s", detail, summary)
            self.shown.emit("dbus", summary, body)
        else:
            self._fallback(summary, body, detail)

    def _fallback(self, summary: str, body: str, why: str) -> None:
        tray = self.tray
        if tray is not None:
            tray.showMessage(summary, body, QSystemTrayIcon.MessageIcon.Information, TRAY_MS)
            log.info("tray notification (%s): %s", why, summary)
            self.shown.emit("tray", summary, body)
            return
        log.info("no desktop notification (%s; no tray icon): %s: %s", why, summary, body)
        self.shown.emit("log", summary, body)
