"""The pure parts of push-to-talk from anywhere: key strings, portal triggers, the control protocol."""

from __future__ import annotations

import json

import pytest
from Xlib import XK

from app.ui import control
from app.ui.hotkeys import keyspec
from app.ui.hotkeys.keyspec import KeySpecError, parse


@pytest.mark.parametrize(
    ("text", "mods", "keysym", "mask", "trigger"),
    [
        ("Ctrl+Alt+Space", {"ctrl", "alt"}, "space", 4 | 8, "CTRL+ALT+space"),
        ("Meta+F9", {"meta"}, "F9", 64, "LOGO+F9"),
        ("Ctrl+Shift+P", {"ctrl", "shift"}, "p", 4 | 1, "CTRL+SHIFT+p"),
        ("Pause", set(), "Pause", 0, "Pause"),
        ("Alt+PgDown", {"alt"}, "Next", 8, "ALT+Next"),
        ("Ctrl++", {"ctrl"}, "plus", 4, "CTRL+plus"),
        ("Ctrl+/", {"ctrl"}, "slash", 4, "CTRL+slash"),
        ("Shift+Alt+Ctrl+7", {"ctrl", "alt", "shift"}, "7", 13, "CTRL+ALT+SHIFT+7"),
    ],
)
def test_key_strings_become_x11_grabs_and_portal_triggers(text, mods, keysym, mask, trigger):
    spec = parse(text)
    assert spec.modifiers == frozenset(mods)
    assert spec.keysym == keysym
    assert spec.x11_mask == mask
    assert spec.portal_trigger == trigger
    assert XK.string_to_keysym(spec.keysym) != 0  # a name the X server knows


def test_keysyms_are_the_x_ones():
    assert XK.string_to_keysym(parse("Ctrl+Alt+Space").keysym) == XK.XK_space
    assert XK.string_to_keysym(parse("F12").keysym) == XK.XK_F12
    assert XK.string_to_keysym(parse("Ctrl+A").keysym) == XK.XK_a


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "no key"),
        ("Ctrl+Alt", "besides its modifiers"),
        ("Hyper+X", "not a modifier"),
        ("Ctrl+Volume Up", "not a key"),
        ("CapsLock", "not a key"),
        ("Alt+ScrollLock", "lock key"),
    ],
)
def test_unusable_keys_say_why(text, why):
    with pytest.raises(KeySpecError, match=why):
        parse(text)


def test_the_grab_covers_the_lock_modifiers():
    assert keyspec.lock_variants(16) == (0, 2, 16, 18)
    assert keyspec.lock_variants(0) == (0, 2)


def test_backends_follow_the_session():
    from app.ui.hotkeys.manager import plan, session_kind

    assert session_kind({"DISPLAY": ":0"}) == "x11"
    assert session_kind({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}) == "wayland"  # XWayland
    assert session_kind({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}) == "wayland"
    assert plan({"DISPLAY": ":0"}) == ["x11", "portal"]
    assert plan({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":1"}) == ["portal"]
    assert plan({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}) == ["portal"]
    assert plan({}) == []


def test_the_portal_request_path_and_shortcut_list():
    from app.ui.hotkeys.portal import request_path, shortcut_list

    assert request_path(":1.42", "hearken_ab") == "/org/freedesktop/portal/desktop/request/1_42/hearken_ab"
    [(sid, props)] = shortcut_list(parse("Ctrl+Alt+Space"))
    assert sid == "push-to-talk"
    assert props["preferred_trigger"] == ("s", "CTRL+ALT+space")
    assert props["description"][0] == "s" and props["description"][1]


# ---------------------------------------------------------------- the control protocol


def test_requests_round_trip_and_are_one_json_line():
    line = control.encode(control.talk_request("toggle"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert control.parse_request(line) == {"hearken": 1, "cmd": "talk", "action": "toggle"}
    act = control.parse_request(control.encode(control.activate_request(["gui", "-v"], cwd="/tmp")))
    assert act["argv"] == ["gui", "-v"] and act["cwd"] == "/tmp"
    assert control.parse_reply(b'{"ok": true, "ptt": "down"}\n') == {"ok": True, "ptt": "down"}


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"not json\n", "not a JSON line"),
        (b"[1, 2]\n", "JSON object"),
        (b'{"cmd": "talk", "action": "press"}\n', "unknown protocol"),
        (json.dumps({"hearken": 1, "cmd": "reboot"}).encode(), "unknown command"),
        (json.dumps({"hearken": 1, "cmd": "talk", "action": "hold"}).encode(), "unknown talk action"),
        (json.dumps({"hearken": 1, "cmd": "activate", "argv": "gui"}).encode(), "list of strings"),
        (b"\xff\xfe\n", "not a JSON line"),
        (b"x" * (control.MAX_LINE + 1), "too long"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(line, why):
    with pytest.raises(control.ProtocolError, match=why):
        control.parse_request(line)


def test_a_reply_must_say_ok():
    with pytest.raises(control.ProtocolError):
        control.parse_reply(b'{"ptt": "down"}')
    with pytest.raises(control.ProtocolError):
        control.talk_request("hold")


def test_the_socket_is_private_and_per_home(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir(mode=0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("HEARKEN_HOME", str(tmp_path / "a"))
    a = control.socket_path()
    monkeypatch.setenv("HEARKEN_HOME", str(tmp_path / "b"))
    b = control.socket_path()
    monkeypatch.delenv("HEARKEN_HOME")
    assert a != b and a.parent == b.parent == run / "hearken"
    assert control.socket_path() == run / "hearken" / "control.sock"
    assert (run / "hearken").stat().st_mode & 0o777 == 0o700


def test_one_lock_at_a_time_and_a_stale_socket_is_removed(tmp_path):
    import socket

    path = tmp_path / "c.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # a crashed run: the file stays, nobody listens
    with pytest.raises(control.NotRunning):
        control.request(control.talk_request("press"), path, timeout=1)
    first = control.claim(path)
    assert first is not None and not path.exists()
    assert control.claim(path) is None  # held
    first.release()
    again = control.claim(path)
    assert again is not None
    again.release()
