"""The global key on X11: ``XGrabKey`` on the root window, read on a thread of its own.

The grab covers the key with every lock-modifier variant (CapsLock, NumLock and both), so a lit
NumLock does not turn the shortcut off.  The thread owns the X connection: it grabs, learns at once
whether another client holds the key (``BadAccess``, reported as such), then waits on the
connection's socket and a wake pipe.  X auto-repeat sends release+press pairs with one timestamp
while a key is held; such a pair is dropped, so holding the key is one press and one release.
Nothing here touches the GUI thread: ``pressed`` and ``grabbed`` are signals, queued to it.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.ui.hotkeys.keyspec import KeySpec, lock_variants

log = logging.getLogger(__name__)

REPEAT_PAIR_WAIT_S = 0.03  # an auto-repeat press follows its release within a few ms


class X11KeyGrab(QObject):
    """``start()`` returns at once; ``grabbed(ok, message)`` follows, then ``pressed(bool)`` per use."""

    pressed = Signal(bool)
    grabbed = Signal(bool, str)

    def __init__(self, spec: KeySpec, display: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.display_name = display
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.down = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="x11-global-key", daemon=True)
        self._thread.start()

    def stop(self, wait_s: float = 1.0) -> None:
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait_s)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    # ---------------------------------------------------------------- the thread
    def _run(self) -> None:
        try:
            from Xlib import XK, X, error
            from Xlib.display import Display
        except ImportError as exc:
            self.grabbed.emit(False, f"python-xlib is not installed ({exc})")
            return
        try:
            disp = Display(self.display_name)
        except (error.DisplayError, error.ConnectionClosedError, OSError) as exc:
            self.grabbed.emit(False, f"cannot connect to the X server ({exc})")
            return
        try:
            keycode = self._grab(disp, X, XK, error)
            if keycode is None:
                return
            self._loop(disp, X, keycode)
        except Exception as exc:  # noqa: BLE001 - a lost X connection must not take the app down
            if not self._stop.is_set():
                log.exception("the X11 global key stopped")
                self.grabbed.emit(False, f"the X connection failed ({type(exc).__name__}: {exc})")
        finally:
            try:
                disp.close()
            except Exception:  # noqa: BLE001
                pass

    def _grab(self, disp: Any, X: Any, XK: Any, error: Any) -> int | None:  # noqa: N803 - Xlib modules
        keysym = XK.string_to_keysym(self.spec.keysym)
        keycode = disp.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            self.grabbed.emit(False, f"this keyboard has no {self.spec.text} key")
            return None
        root = disp.screen().root
        catch = error.CatchError(error.BadAccess)
        for variant in lock_variants(_numlock_mask(disp, XK)):
            root.grab_key(
                keycode, self.spec.x11_mask | variant, False, X.GrabModeAsync, X.GrabModeAsync, onerror=catch
            )
        disp.sync()  # the errors, if any, arrive now
        if catch.get_error() is not None:
            root.ungrab_key(keycode, X.AnyModifier)
            disp.sync()
            self.grabbed.emit(False, f"{self.spec.text} is already taken by another application (BadAccess)")
            return None
        log.info("X11 global key grabbed: %s (keycode %d)", self.spec.text, keycode)
        self.grabbed.emit(True, "")
        return keycode

    def _loop(self, disp: Any, X: Any, keycode: int) -> None:  # noqa: N803 - Xlib module
        fd = disp.fileno()
        while not self._stop.is_set():
            if not disp.pending_events():
                ready, _, _ = select.select([fd, self._wake_r], [], [])
                if self._wake_r in ready:
                    break
                if not disp.pending_events():
                    continue
            ev = disp.next_event()
            if ev.type not in (X.KeyPress, X.KeyRelease) or ev.detail != keycode:
                continue
            if ev.type == X.KeyRelease:
                nxt = self._peek_pair(disp, fd)
                if (
                    nxt is not None
                    and nxt.type == X.KeyPress
                    and nxt.detail == keycode
                    and nxt.time == ev.time
                ):
                    continue  # auto-repeat: the key is still held
                self._set(False)
                if nxt is not None and nxt.type == X.KeyPress and nxt.detail == keycode:
                    self._set(True)
            else:
                self._set(True)

    @staticmethod
    def _peek_pair(disp: Any, fd: int) -> Any:
        """The event right after a release, if one comes within a few ms (auto-repeat's press)."""
        if not disp.pending_events():
            ready, _, _ = select.select([fd], [], [], REPEAT_PAIR_WAIT_S)
            if not ready or not disp.pending_events():
                return None
        return disp.next_event()

    def _set(self, down: bool) -> None:
        if down != self.down:
            self.down = down
            self.pressed.emit(down)


def _numlock_mask(disp: Any, XK: Any) -> int:  # noqa: N803 - Xlib module
    """The modifier bit NumLock sets on this server (usually Mod2)."""
    numlock = disp.keysym_to_keycode(XK.XK_Num_Lock)
    if numlock:
        for index, keycodes in enumerate(disp.get_modifier_mapping()):
            if numlock in keycodes:
                return 1 << index
    return 0
