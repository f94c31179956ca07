"""Push-to-talk from another application: the X11 grab under Xvfb and the desktop portal against a
fake portal service on a private session bus.  The Hearken window runs on the real orchestrator with
scripted engines (offscreen); the key events come from a real X server and a real D-Bus daemon."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import speech
from tests.gui.conftest import feed
from tests.gui.test_alarms_panel import BUS_CONFIG, _stop

pytestmark = pytest.mark.gui

KEY = "Ctrl+Alt+Space"


# ---------------------------------------------------------------- an X server with another app focused


@pytest.fixture
def xserver(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.fail("Xvfb is needed for the X11 global key test (apt-get install xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "xvfb.log", "w"),  # noqa: SIM115
    )
    os.close(write)
    try:
        with os.fdopen(read) as f:
            number = f.readline().strip()  # written once the server accepts clients
        assert number.isdigit(), f"Xvfb did not start: {(tmp_path / 'xvfb.log').read_text()}"
        yield f":{number}"
    finally:
        _stop(proc)


def xdotool(display: str, *args: str) -> str:
    exe = shutil.which("xdotool")
    if exe is None:
        pytest.fail("xdotool is needed for the X11 global key test (apt-get install xdotool)")
    out = subprocess.run(
        [exe, *args], env=dict(os.environ, DISPLAY=display), capture_output=True, text=True, timeout=10
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def other_app(xserver: str) -> Iterator[int]:
    """A window of another X client, mapped and holding the keyboard focus."""
    from Xlib import X
    from Xlib.display import Display

    disp = Display(xserver)
    screen = disp.screen()
    win = screen.root.create_window(
        10,
        10,
        300,
        200,
        0,
        screen.root_depth,
        X.InputOutput,
        X.CopyFromParent,
        background_pixel=screen.white_pixel,
        event_mask=X.KeyPressMask | X.KeyReleaseMask,
    )
    win.set_wm_name("Another application")
    win.map()
    disp.sync()
    xdotool(xserver, "windowfocus", "--sync", str(win.id))
    assert int(xdotool(xserver, "getwindowfocus")) == win.id
    yield win.id
    disp.close()


def start_keys(qtbot, window, *, env: dict[str, str], display: str | None = None, bus: str | None = None):
    keys = window.global_keys
    keys.env, keys.display, keys.bus_address = env, display, bus
    seen: list[bool] = []
    ptt = keys.on_ptt
    keys.on_ptt = lambda down: (seen.append(down), ptt(down))
    with qtbot.waitSignal(keys.statusChanged, timeout=10_000, check_params_cb=lambda m, _s: m != "starting"):
        keys.start(KEY)
    return keys, seen


def user_texts(window) -> list[str]:
    return [b.text.text() for b in window.conversation.bubbles() if b.role == "user"]


def test_the_x11_key_talks_while_another_application_has_focus(qtbot, make_window, xserver, other_app):
    window = make_window(mode="ptt")
    keys, seen = start_keys(qtbot, window, env={"DISPLAY": xserver}, display=xserver)
    assert (keys.method, keys.status) == ("x11", f"X11 key grab: {KEY}")
    assert int(xdotool(xserver, "getwindowfocus")) == other_app  # Hearken never took the focus

    xdotool(xserver, "keydown", "ctrl+alt+space")
    qtbot.waitUntil(lambda: window.talk.ptt_down and window.state.state == "hearing", timeout=5000)
    feed(window, speech(0.6))
    with qtbot.waitSignal(window.turnFinished, timeout=10_000) as done:
        xdotool(xserver, "keyup", "space", "alt", "ctrl")
    assert done.args[0]["user_text"] == "what is the capital of france?"
    assert seen == [True, False]
    assert user_texts(window) == ["what is the capital of france?"]

    # NumLock on: the grab still holds (the lock-modifier variants)
    xdotool(xserver, "key", "Num_Lock")
    xdotool(xserver, "keydown", "ctrl+alt+space")
    qtbot.waitUntil(lambda: seen == [True, False, True], timeout=5000)
    xdotool(xserver, "keyup", "space", "alt", "ctrl")
    qtbot.waitUntil(lambda: seen == [True, False, True, False], timeout=5000)


def test_a_key_taken_by_another_application_is_reported(qtbot, make_window, xserver, other_app):
    from Xlib import XK, X
    from Xlib.display import Display

    thief = Display(xserver)
    keycode = thief.keysym_to_keycode(XK.XK_space)
    thief.screen().root.grab_key(keycode, X.ControlMask | X.Mod1Mask, False, X.GrabModeAsync, X.GrabModeAsync)
    thief.sync()
    try:
        window = make_window(mode="ptt")
        keys, _seen = start_keys(qtbot, window, env={"DISPLAY": xserver}, display=xserver)
        assert keys.method == "none"
        assert "already taken by another application (BadAccess)" in keys.status
        assert "hearken talk --toggle" in keys.status
        dialog = window.open_settings()
        assert dialog.global_key_status.text() == keys.status
        assert dialog.global_ptt_key.keySequence().toString() == KEY
        dialog.reject()
    finally:
        thief.close()


# ---------------------------------------------------------------- the desktop portal, faked


PORTAL = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"


class FakePortal(threading.Thread):
    """org.freedesktop.portal.GlobalShortcuts as xdg-desktop-portal answers it: each call returns a
    Request path and the result follows as that Request's Response signal."""

    def __init__(self, address: str, *, offer: bool = True) -> None:
        super().__init__(name="fake-portal", daemon=True)
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.conn = open_dbus_connection(address)
        self.offer = offer
        reply = self.conn.send_and_get_reply(message_bus.RequestName(PORTAL), timeout=5)
        assert reply.body == (1,), reply.body  # primary owner
        self.calls: list[tuple[str, tuple]] = []
        self.commands: collections.deque = collections.deque()
        self.session = ""
        self.client = ""
        self.halt = threading.Event()

    def emit(self, member: str, session: str, shortcut_id: str) -> None:
        self.commands.append((member, session, shortcut_id))

    def run(self) -> None:
        from jeepney import HeaderFields, MessageType

        while not self.halt.is_set():
            while self.commands:
                member, session, sid = self.commands.popleft()
                self._signal(PATH, SHORTCUTS, member, "osta{sv}", (session, sid, 1234, {}))
            try:
                msg = self.conn.receive(timeout=0.05)
            except TimeoutError:
                continue
            if msg.header.message_type == MessageType.method_call:
                fields = msg.header.fields
                self._call(
                    msg,
                    fields[HeaderFields.interface],
                    fields[HeaderFields.member],
                    fields[HeaderFields.sender],
                )

    def _signal(self, path: str, interface: str, member: str, signature: str, body: tuple) -> None:
        """Sent to the client only, as xdg-desktop-portal does (a unicast signal)."""
        from jeepney import DBusAddress, HeaderFields, new_signal

        msg = new_signal(DBusAddress(path, interface=interface), member, signature, body)
        msg.header.fields[HeaderFields.destination] = self.client
        self.conn.send(msg)

    def _call(self, msg, interface: str, member: str, sender: str) -> None:
        from jeepney import new_error, new_method_return

        self.calls.append((member, msg.body))
        self.client = sender
        if interface == "org.freedesktop.DBus.Properties" and member == "Get" and self.offer:
            self.conn.send(new_method_return(msg, "v", (("u", 1),)))
            return
        if interface != SHORTCUTS or not self.offer:
            self.conn.send(
                new_error(msg, "org.freedesktop.DBus.Error.UnknownInterface", "s", ("no such interface",))
            )
            return
        options = msg.body[0] if member == "CreateSession" else msg.body[-1]
        request = f"{PATH}/request/{sender[1:].replace('.', '_')}/{options['handle_token'][1]}"
        self.conn.send(new_method_return(msg, "o", (request,)))
        if member == "CreateSession":
            self.session = (
                f"{PATH}/session/{sender[1:].replace('.', '_')}/{options['session_handle_token'][1]}"
            )
            results = {"session_handle": ("s", self.session)}
        else:
            results = {
                "shortcuts": (
                    "a(sa{sv})",
                    [
                        (
                            sid,
                            {"description": p["description"], "trigger_description": ("s", "Ctrl+Alt+Space")},
                        )
                        for sid, p in msg.body[1]
                    ],
                )
            }
        self._signal(request, "org.freedesktop.portal.Request", "Response", "ua{sv}", (0, results))

    def close(self) -> None:
        self.halt.set()
        self.join(5)
        self.conn.close()


@pytest.fixture
def private_bus(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("dbus-daemon")
    if exe is None:
        pytest.fail("dbus-daemon is needed for the portal test (apt-get install dbus)")
    conf = tmp_path / "session.conf"
    conf.write_text(BUS_CONFIG)
    proc = subprocess.Popen(
        [exe, f"--config-file={conf}", "--print-address", "--nofork"], stdout=subprocess.PIPE, text=True
    )
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("unix:"), f"dbus-daemon did not start (exit {proc.poll()})"
        yield address
    finally:
        _stop(proc)


@pytest.fixture
def portal(private_bus: str) -> Iterator[FakePortal]:
    service = FakePortal(private_bus)
    service.start()
    yield service
    service.close()


def test_the_portal_binds_the_key_and_its_signals_press_and_release(qtbot, make_window, private_bus, portal):
    window = make_window(mode="ptt")
    keys, seen = start_keys(
        qtbot,
        window,
        env={"WAYLAND_DISPLAY": "wayland-0", "DBUS_SESSION_BUS_ADDRESS": private_bus},
        bus=private_bus,
    )
    assert (keys.method, keys.status) == ("portal", "Desktop portal (GlobalShortcuts): Ctrl+Alt+Space"), (
        keys.status
    )
    members = [m for m, _ in portal.calls]
    assert members == ["Get", "CreateSession", "BindShortcuts"]
    create = portal.calls[1][1][0]
    assert set(create) == {"handle_token", "session_handle_token"}
    session, shortcuts, parent, options = portal.calls[2][1]
    assert session == portal.session
    assert shortcuts == [
        (
            "push-to-talk",
            {"description": ("s", "Hearken: hold to talk"), "preferred_trigger": ("s", "CTRL+ALT+space")},
        )
    ]
    assert parent == "" and set(options) == {"handle_token"}

    portal.emit("Activated", "/org/other/session", "push-to-talk")  # another app's session: not ours
    portal.emit("Activated", portal.session, "something-else")
    portal.emit("Activated", portal.session, "push-to-talk")
    qtbot.waitUntil(lambda: window.talk.ptt_down and window.state.state == "hearing", timeout=5000)
    assert seen == [True]
    feed(window, speech(0.6))
    with qtbot.waitSignal(window.turnFinished, timeout=10_000) as done:
        portal.emit("Deactivated", portal.session, "push-to-talk")
    assert done.args[0]["user_text"] == "what is the capital of france?"
    assert seen == [True, False]


def test_without_the_portal_the_status_points_at_hearken_talk(qtbot, make_window, private_bus):
    absent = FakePortal(private_bus, offer=False)
    absent.start()
    try:
        window = make_window(mode="ptt")
        keys, _seen = start_keys(qtbot, window, env={"WAYLAND_DISPLAY": "wayland-0"}, bus=private_bus)
        assert keys.method == "none"
        assert keys.status.startswith("No global key on this desktop: bind `hearken talk --toggle`")
        assert "no GlobalShortcuts" in keys.status
    finally:
        absent.close()


# ---------------------------------------------------------------- a real turn, real models


@pytest.mark.integration
def test_a_real_push_to_talk_turn_through_the_x11_key(qtbot, xserver, other_app, tmp_path):
    """``hearken gui --mic-file`` in push-to-talk mode: the key held from another app while the
    virtual microphone plays the question; released, the real models answer it."""
    import argparse

    from app.ui import launch

    raw, question = tmp_path / "q.raw.wav", tmp_path / "q.wav"
    # "capital city of France": espeak's "capital of France" is heard by Whisper tiny.en as "capital
    # and friends" at 20 of 64 start offsets (where a push-to-talk turn starts varies), this at none.
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), "What is the capital city of France?"],
        check=True,
    )
    subprocess.run(["sox", str(raw), "-r", "16000", str(question), "pad", "0.6", "1.0"], check=True)
    args = argparse.Namespace(
        mic_file=question, quit_after_turns=1, screenshot=None, config=None, mic_file_mode="ptt"
    )
    run = launch.create(args)
    window = run.window
    window.show()
    keys, seen = start_keys(qtbot, window, env={"DISPLAY": xserver}, display=xserver)
    assert keys.method == "x11", keys.status
    import soundfile
    from PySide6.QtCore import QTimer

    # the virtual microphone plays in real time from "ready": hold the key for exactly the recording
    held_ms = round(soundfile.info(str(question)).duration * 1000) + 200

    def hold(*_args) -> None:
        xdotool(xserver, "keydown", "ctrl+alt+space")
        QTimer.singleShot(held_ms, lambda: xdotool(xserver, "keyup", "space", "alt", "ctrl"))

    window.bridge.ready.connect(hold)
    with qtbot.waitSignal(window.closed, timeout=240_000):  # loads, holds, answers one turn, closes
        window.start()
    assert run.exit_code == launch.EXIT_OK, window.load_error
    assert seen == [True, False]
    assert window.answered == 1
    assert "capital" in user_texts(window)[0].lower()
    reply = [b.text.text() for b in window.conversation.bubbles() if b.role == "assistant"]
    assert reply and "paris" in reply[0].lower()
