"""The global key through the desktop portal: ``org.freedesktop.portal.GlobalShortcuts`` (KDE,
GNOME 48+, other Wayland desktops), the only way an app may have one on Wayland.

The calls follow the portal's request pattern: every method returns a ``Request`` object path at
once and the result comes later as that object's ``Response(u response, a{sv} results)`` signal, so
the path is predicted from our unique name and a ``handle_token`` and its signals are listened to
before the call.  CreateSession gives the session handle; BindShortcuts offers one shortcut,
``push-to-talk``, with our preferred trigger (the desktop may ask the user, who may change it);
then ``Activated`` / ``Deactivated`` for that session are press / release.

D-Bus runs on a thread of its own with jeepney's blocking connection: PySide6's QtDBus cannot
marshal BindShortcuts's ``a(sa{sv})`` argument (it needs a C++ type registered with QtDBus), and a
thread keeps every wait (the user answering the desktop's dialog) off the GUI thread.  ``pressed``,
``bound`` and ``failed`` are signals, queued to the GUI thread.
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.ui.hotkeys.keyspec import KeySpec

log = logging.getLogger(__name__)

PORTAL = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
REQUEST = "org.freedesktop.portal.Request"
SHORTCUT_ID = "push-to-talk"
DESCRIPTION = "Hearken: hold to talk"
CALL_TIMEOUT_S = 5.0
USER_TIMEOUT_S = 300.0  # the desktop may show a dialog for BindShortcuts


class PortalError(RuntimeError):
    pass


def request_path(unique_name: str, token: str) -> str:
    """Where the portal puts a call's Request object: ``.../request/SENDER/TOKEN``."""
    sender = unique_name.lstrip(":").replace(".", "_")
    return f"{PORTAL_PATH}/request/{sender}/{token}"


def shortcut_list(spec: KeySpec) -> list[tuple[str, dict[str, tuple[str, Any]]]]:
    """BindShortcuts's ``a(sa{sv})``: our one shortcut, its description and preferred trigger."""
    return [
        (SHORTCUT_ID, {"description": ("s", DESCRIPTION), "preferred_trigger": ("s", spec.portal_trigger)})
    ]


class PortalShortcut(QObject):
    """``start()`` returns at once; then ``bound(trigger)`` or ``failed(why)``, and ``pressed(bool)``."""

    pressed = Signal(bool)
    bound = Signal(str)
    failed = Signal(str)

    def __init__(self, spec: KeySpec, bus_address: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.bus_address = bus_address or "SESSION"
        self.session_handle: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="portal-global-key", daemon=True)
        self._thread.start()

    def stop(self, wait_s: float = 1.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait_s)

    # ---------------------------------------------------------------- the thread
    def _run(self) -> None:
        try:
            from jeepney.io.blocking import open_dbus_connection
        except ImportError as exc:
            self.failed.emit(f"jeepney is not installed ({exc})")
            return
        try:
            conn = open_dbus_connection(self.bus_address)
        except Exception as exc:  # noqa: BLE001 - no bus is an ordinary answer
            self.failed.emit(f"no D-Bus session bus ({exc})")
            return
        self._conn = conn
        try:
            signals: collections.deque = collections.deque(maxlen=256)
            with conn.filter(_rule(type="signal"), queue=signals):
                self._session(conn, signals)
                self._listen(conn, signals)
        except PortalError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken bus must not take the app down
            if not self._stop.is_set():
                log.exception("the portal's global key stopped")
                self.failed.emit(f"the portal connection failed ({type(exc).__name__}: {exc})")
        finally:
            self._close_session(conn)
            conn.close()

    def _session(self, conn: Any, signals: collections.deque) -> None:
        from jeepney import DBusAddress, Properties, new_method_call
        from jeepney.bus_messages import message_bus

        for rule in (
            _rule(type="signal", interface=REQUEST, member="Response"),
            _rule(type="signal", interface=SHORTCUTS),
        ):
            conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT_S)
        portal = DBusAddress(PORTAL_PATH, bus_name=PORTAL, interface=SHORTCUTS)
        reply = conn.send_and_get_reply(Properties(portal).get("version"), timeout=CALL_TIMEOUT_S)
        if reply.header.message_type.name == "error":
            raise PortalError(f"the desktop portal has no GlobalShortcuts ({_error_text(reply)})")
        version = reply.body[0][1]
        token = f"hearken_{secrets.token_hex(6)}"
        options = {
            "handle_token": ("s", token),
            "session_handle_token": ("s", f"hearken_{secrets.token_hex(6)}"),
        }
        results = self._call(
            conn, signals, token, new_method_call(portal, "CreateSession", "a{sv}", (options,))
        )
        handle = results.get("session_handle", ("s", ""))[1]
        if not handle:
            raise PortalError("the portal created no session")
        self.session_handle = str(handle)
        token = f"hearken_{secrets.token_hex(6)}"
        call = new_method_call(
            portal,
            "BindShortcuts",
            "oa(sa{sv})sa{sv}",
            (self.session_handle, shortcut_list(self.spec), "", {"handle_token": ("s", token)}),
        )
        results = self._call(conn, signals, token, call, USER_TIMEOUT_S)
        bound = {sid: props for sid, props in results.get("shortcuts", ("a(sa{sv})", []))[1]}
        if SHORTCUT_ID not in bound:
            raise PortalError("the desktop did not bind the shortcut (refused or cancelled)")
        trigger = bound[SHORTCUT_ID].get("trigger_description", ("s", ""))[1] or self.spec.portal_trigger
        log.info("portal global key bound (GlobalShortcuts v%s): %s", version, trigger)
        self.bound.emit(str(trigger))

    def _call(
        self, conn: Any, signals: collections.deque, token: str, msg: Any, wait_s: float = CALL_TIMEOUT_S
    ) -> dict:
        """Make a portal call and wait for its Request's Response; the results, or ``PortalError``."""
        path = request_path(conn.unique_name, token)
        reply = conn.send_and_get_reply(msg, timeout=CALL_TIMEOUT_S)
        if reply.header.message_type.name == "error":
            raise PortalError(f"{_member(msg)} failed: {_error_text(reply)}")
        actual = str(reply.body[0])
        for _ in range(int(wait_s / 0.2) + 1):
            for sig in list(signals):
                if _is(sig, REQUEST, "Response") and _path(sig) in (path, actual):
                    signals.remove(sig)
                    code, results = sig.body
                    if code != 0:
                        raise PortalError(
                            f"{_member(msg)} was {'cancelled' if code == 1 else 'refused'} ({code})"
                        )
                    return dict(results)
            if self._stop.is_set():
                raise PortalError("stopped")
            try:
                _pump(conn, signals)
            except TimeoutError:
                pass
        raise PortalError(f"no answer from the portal to {_member(msg)}")

    def _listen(self, conn: Any, signals: collections.deque) -> None:
        while not self._stop.is_set():
            try:
                _pump(conn, signals)
            except TimeoutError:
                continue
            while signals:
                sig = signals.popleft()
                if not (_is(sig, SHORTCUTS, "Activated") or _is(sig, SHORTCUTS, "Deactivated")):
                    continue
                session, shortcut_id = sig.body[0], sig.body[1]
                if str(session) == self.session_handle and shortcut_id == SHORTCUT_ID:
                    self.pressed.emit(_member(sig) == "Activated")

    def _close_session(self, conn: Any) -> None:
        if self.session_handle:
            from jeepney import DBusAddress, new_method_call

            session = DBusAddress(
                self.session_handle, bus_name=PORTAL, interface="org.freedesktop.portal.Session"
            )
            try:
                conn.send(new_method_call(session, "Close"))
            except Exception:  # noqa: BLE001 - the bus may be gone already
                pass


def _pump(conn: Any, signals: collections.deque, timeout: float = 0.2) -> None:
    """Wait up to ``timeout`` for the next message; a signal joins ``signals`` (``TimeoutError`` if none)."""
    from jeepney import MessageType

    msg = conn.receive(timeout=timeout)
    if msg.header.message_type == MessageType.signal:
        signals.append(msg)


def _rule(**kw: Any) -> Any:
    from jeepney import MatchRule

    return MatchRule(**kw)


def _header(msg: Any, name: str) -> Any:
    from jeepney import HeaderFields

    return msg.header.fields.get(getattr(HeaderFields, name))


def _member(msg: Any) -> str:
    return str(_header(msg, "member") or "")


def _path(msg: Any) -> str:
    return str(_header(msg, "path") or "")


def _is(msg: Any, interface: str, member: str) -> bool:
    return _header(msg, "interface") == interface and _member(msg) == member


def _error_text(reply: Any) -> str:
    name = _header(reply, "error_name") or "error"
    return f"{name}: {reply.body[0]}" if reply.body else str(name)
