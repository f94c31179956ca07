"""Picks the global push-to-talk key's backend at run time and says which is active and why.

On X11 the key is grabbed (``x11``); on Wayland, where no app may grab keys, the desktop portal
binds it (``portal``); where neither works (a taken key, a desktop without the portal) the status
says so and points at ``hearken talk --toggle``, which the control socket serves everywhere.
Every press and release ends in ``on_ptt(pressed)`` on the GUI thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, Signal, Slot

from app.ui.hotkeys.keyspec import KeySpec, KeySpecError, parse

log = logging.getLogger(__name__)

FALLBACK = "No global key on this desktop: bind `hearken talk --toggle` in your desktop's keyboard settings"


def session_kind(env: Mapping[str, str]) -> str:
    """wayland | x11 | none (XWayland's DISPLAY does not make a Wayland session X11)."""
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return "wayland"
    return "x11" if env.get("DISPLAY") else "none"


def plan(env: Mapping[str, str]) -> list[str]:
    """The backends to try, in order, for this session."""
    kind = session_kind(env)
    if kind == "x11":
        return ["x11", "portal"]
    if kind == "wayland" or env.get("DBUS_SESSION_BUS_ADDRESS"):
        return ["portal"]
    return []


class GlobalKeys(QObject):
    """``start(key)`` returns at once; ``method`` / ``status`` follow (``statusChanged``)."""

    statusChanged = Signal(str, str)  # method (x11 | portal | none | off | starting), status text

    def __init__(
        self,
        on_ptt: Callable[[bool], None],
        *,
        env: Mapping[str, str] | None = None,
        display: str | None = None,
        bus_address: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.on_ptt = on_ptt
        self.env = env
        self.display = display
        self.bus_address = bus_address
        self.method = "off"
        self.status = "Not started"
        self.key = ""
        self._spec: KeySpec | None = None
        self._plan: list[str] = []
        self._reasons: list[str] = []
        self._backend: QObject | None = None
        self.started = False

    def start(self, key: str) -> None:
        self.stop()
        self.started = True
        self.key = key.strip()
        self._reasons = []
        if not self.key:
            self._set("off", "Off: no global key is set (`hearken talk --toggle` still works)")
            return
        try:
            self._spec = parse(self.key)
        except KeySpecError as exc:
            self._set("none", f"{FALLBACK} ({exc})")
            return
        env = dict(os.environ) if self.env is None else dict(self.env)
        if self.display:
            env.setdefault("DISPLAY", self.display)
        self._plan = plan(env)
        if not self._plan:
            self._reasons.append("no X11 display and no D-Bus session bus")
        self._set("starting", "Setting up the global key…")
        self._next()

    def stop(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()  # type: ignore[attr-defined]
            backend.deleteLater()
        self._plan = []

    # ---------------------------------------------------------------- trying each backend
    def _next(self) -> None:
        if not self._plan:
            why = "; ".join(self._reasons)
            self._set("none", f"{FALLBACK}" + (f" ({why})" if why else ""))
            return
        spec = self._spec
        assert spec is not None
        kind = self._plan.pop(0)
        if kind == "x11":
            from app.ui.hotkeys.x11 import X11KeyGrab

            grab = X11KeyGrab(spec, self.display, parent=self)
            grab.grabbed.connect(self._on_grabbed)
            grab.pressed.connect(self._on_pressed)
            self._backend = grab
            grab.start()
        else:
            from app.ui.hotkeys.portal import PortalShortcut

            portal = PortalShortcut(spec, self.bus_address, parent=self)
            portal.bound.connect(self._on_bound)
            portal.failed.connect(self._on_failed)
            portal.pressed.connect(self._on_pressed)
            self._backend = portal
            portal.start()

    def _current(self) -> bool:
        return self.sender() is not None and self.sender() is self._backend

    def _drop(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()  # type: ignore[attr-defined]
            backend.deleteLater()

    @Slot(bool, str)
    def _on_grabbed(self, ok: bool, message: str) -> None:
        if not self._current():
            return
        if ok:
            self._set("x11", f"X11 key grab: {self.key}")
            return
        self._reasons.append(f"X11: {message}")
        self._drop()
        self._next()

    @Slot(str)
    def _on_bound(self, trigger: str) -> None:
        if self._current():
            self._set("portal", f"Desktop portal (GlobalShortcuts): {trigger}")

    @Slot(str)
    def _on_failed(self, why: str) -> None:
        if not self._current():
            return
        self._reasons.append(f"portal: {why}")
        self._drop()
        self._next()

    @Slot(bool)
    def _on_pressed(self, down: bool) -> None:
        if self._current():
            self.on_ptt(down)

    def _set(self, method: str, status: str) -> None:
        self.method, self.status = method, status
        if method != "starting":
            log.info("global push-to-talk key: %s", status)
        self.statusChanged.emit(method, status)
