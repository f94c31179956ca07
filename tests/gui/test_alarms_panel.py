"""Timers & reminders: rows for ``AlarmsChanged`` with live countdowns, cancel goes to the host, and a
fired alarm becomes a real desktop notification over a private D-Bus (or the tray when there is none)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.messages import Alarm, AlarmFired, AlarmsChanged
from app.ui import theme
from app.ui.alarms_panel import EMPTY_HINT, AlarmsPanel, clock_time, time_left, tooltip_of
from app.ui.bridge import EngineBridge
from app.ui.host import EngineBuilt
from app.ui.notify import DesktopNotifier, note_for

pytestmark = pytest.mark.gui

NOW = datetime(2025, 5, 16, 17, 0, 0).timestamp()  # a Friday, 17:00 local time
PASTA = Alarm(1, "timer", "pasta", NOW + 272, NOW - 300, 572.0)
TEA = Alarm(2, "timer", "", NOW + 1195.2, NOW - 5, 1200.0)
CALL = Alarm(3, "reminder", "call my mother", datetime(2025, 5, 17, 7, 30).timestamp(), NOW - 60)


class FakeHost(SimpleNamespace):
    def __init__(self) -> None:
        super().__init__(events=queue.SimpleQueue(), epoch=1, cancelled=[])

    def cancel_alarm(self, alarm_id: int | None) -> None:
        self.cancelled.append(alarm_id)


@pytest.fixture
def panel_on_bridge(qtbot):
    """A panel fed by a real bridge draining a fake engine's ui_queue; the clock is the test's."""
    host = FakeHost()
    clock = [NOW]
    panel = AlarmsPanel(theme.LIGHT, host, clock=lambda: clock[0])
    qtbot.addWidget(panel)
    panel.show()
    bridge = EngineBridge(host)  # type: ignore[arg-type]
    ui_q: queue.SimpleQueue = queue.SimpleQueue()
    host.events.put(EngineBuilt(SimpleNamespace(orchestrator=SimpleNamespace(ui_queue=ui_q)), 1))
    bridge.alarmsChanged.connect(panel.set_alarms)
    yield SimpleNamespace(panel=panel, bridge=bridge, ui_q=ui_q, host=host, clock=clock)
    bridge.stop_draining()


def send(qtbot, env, alarms) -> None:
    with qtbot.waitSignal(env.bridge.alarmsChanged, timeout=3000):
        env.ui_q.put(AlarmsChanged(tuple(alarms)))


def test_rows_appear_with_a_live_countdown_and_the_reminder_time(qtbot, panel_on_bridge):
    env = panel_on_bridge
    panel = env.panel
    assert panel.hint.isVisible() and panel.hint.text() == EMPTY_HINT and not panel.counting_down
    send(qtbot, env, [PASTA, TEA, CALL])
    assert [(r.title.text(), r.when.text()) for r in panel.rows] == [
        ("Pasta", "4:32 left"),
        ("Timer", "19:56 left"),
        ("Call my mother", "tomorrow 07:30"),
    ]
    assert not panel.hint.isVisible() and panel.cancel_all_button.isVisible()
    assert panel.counting_down
    env.clock[0] += 2.0  # two seconds pass: the 1 Hz timer repaints the countdowns from the clock
    qtbot.waitUntil(lambda: panel.rows[0].when.text() == "4:30 left", timeout=3000)
    assert panel.rows[1].when.text() == "19:54 left" and panel.rows[2].when.text() == "tomorrow 07:30"
    send(qtbot, env, [CALL])  # only a reminder: nothing counts down, one row needs no "Cancel all"
    assert not panel.counting_down and not panel.cancel_all_button.isVisible()
    send(qtbot, env, [])
    assert panel.rows == [] and panel.hint.isVisible() and not panel._tick.isActive()


def test_cancel_buttons_ask_the_host_with_the_id(qtbot, panel_on_bridge):
    env = panel_on_bridge
    send(qtbot, env, [PASTA, TEA, CALL])
    row = env.panel.rows[2]
    assert row.cancel_button.accessibleName() == "Cancel the reminder to call my mother"
    assert env.panel.rows[0].cancel_button.accessibleName() == "Cancel the pasta timer"
    with qtbot.waitSignal(env.panel.cancelRequested, timeout=1000) as blocker:
        qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [3] and env.host.cancelled == [3]
    assert not row.cancel_button.isEnabled()  # until the engine's new list arrives
    env.panel.rows[1].cancel_button.setFocus()
    send(qtbot, env, [PASTA, CALL])  # the engine's list without the one cancelled by keyboard
    assert env.panel.rows[1].cancel_button.hasFocus()  # focus goes to the next row, not nowhere
    qtbot.mouseClick(env.panel.cancel_all_button, Qt.MouseButton.LeftButton)
    assert env.host.cancelled == [3, None]


def test_the_words_of_a_row():
    assert time_left(272.0) == "4:32 left"
    assert time_left(271.2) == "4:32 left"  # rounded up, like a kitchen timer
    assert time_left(3905) == "1:05:05 left"
    assert time_left(0.0) == "due now"
    assert clock_time(datetime(2025, 5, 16, 18, 0).timestamp(), NOW) == "at 18:00"
    assert clock_time(datetime(2025, 5, 17, 7, 30).timestamp(), NOW) == "tomorrow 07:30"
    assert clock_time(datetime(2025, 5, 20, 9, 0).timestamp(), NOW) == "Tue 09:00"
    assert clock_time(datetime(2025, 6, 3, 9, 0).timestamp(), NOW) == "3 Jun 09:00"
    assert clock_time(datetime(2026, 1, 2, 9, 0).timestamp(), NOW) == "2 Jan 2026 09:00"
    assert tooltip_of(PASTA) == "9 min 32 s timer, ends at 17:04:32"
    assert tooltip_of(CALL) == "Due Sat 17 May 2025, 07:30"
    late = AlarmFired(Alarm(5, "reminder", "water the plants", NOW - 60, NOW - 999), "", late=True)
    assert note_for(late) == ("Missed reminder", "Remember to water the plants.")
    assert note_for(AlarmFired(PASTA, "Your pasta timer is done.")) == (
        "Pasta timer done",
        "Your pasta timer is done.",
    )


def test_the_window_lists_alarms_and_cancels_through_the_engine(qtbot, make_window, monkeypatch):
    window = make_window()
    orch = window.engine.orchestrator
    calls: list[int | None] = []
    monkeypatch.setattr(orch, "cancel_alarm", calls.append, raising=False)
    orch.ui_queue.put(AlarmsChanged((PASTA, CALL)))
    qtbot.waitUntil(lambda: len(window.alarms_panel.rows) == 2, timeout=3000)
    qtbot.mouseClick(window.alarms_panel.rows[0].cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: calls == [1], timeout=3000)  # host -> command thread -> orchestrator
    window.notifier.use_dbus = False  # the test machine's own desktop stays out of it
    window.notifier.tray = None
    with qtbot.waitSignal(window.notifier.shown, timeout=3000) as blocker:
        orch.ui_queue.put(AlarmFired(PASTA, "Your pasta timer is done."))
    assert blocker.args == ["log", "Pasta timer done", "Your pasta timer is done."]
    assert window.status_text.text() == "Pasta timer done"


# ---------------------------------------------------------------- a real D-Bus

# A session bus of our own: no service directories, so nothing on this machine is ever activated.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# The notification service, in a child process: QtDBus calls a typed adaptor slot only when the
# signature matches exactly (susssasa{sv}i), as strict servers do; each call is one JSON line.
SERVICE = r"""
import json, sys
from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, Slot
from PySide6.QtDBus import QDBusAbstractAdaptor, QDBusConnection


@ClassInfo({"D-Bus Interface": "org.freedesktop.Notifications"})
class Notifications(QDBusAbstractAdaptor):
    @Slot(str, "uint", str, str, str, "QStringList", "QVariantMap", int, result="uint")
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, timeout):
        print(json.dumps({"app_name": app_name, "replaces_id": replaces_id, "app_icon": app_icon,
                          "summary": summary, "body": body, "actions": list(actions),
                          "hints": dict(hints), "timeout": timeout}), flush=True)
        return 7

    @Slot(result="QStringList")
    def GetCapabilities(self):
        return ["body"]


app = QCoreApplication(sys.argv)
bus = QDBusConnection.sessionBus()
root = QObject()
Notifications(root)
ok = bus.registerObject("/org/freedesktop/Notifications", root)
ok = ok and bus.registerService("org.freedesktop.Notifications")
print("ready" if ok else "failed: " + bus.lastError().message(), flush=True)
sys.exit(app.exec() if ok else 1)
"""


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def private_bus(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("dbus-daemon") or "/usr/bin/dbus-daemon"
    if not os.path.exists(exe):
        pytest.skip("dbus-daemon is not installed (apt-get install dbus), so there is no bus to test on")
    conf = tmp_path / "session.conf"
    conf.write_text(BUS_CONFIG)
    proc = subprocess.Popen(
        [exe, f"--config-file={conf}", "--print-address", "--nofork"], stdout=subprocess.PIPE, text=True
    )
    try:
        address = proc.stdout.readline().strip()  # printed once it listens
        assert address.startswith("unix:"), f"dbus-daemon did not start (exit {proc.poll()})"
        yield address
    finally:
        _stop(proc)


@pytest.fixture
def notification_service(private_bus: str) -> Iterator[list[dict]]:
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=private_bus, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-c", SERVICE], stdout=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline().strip()
        assert first == "ready", f"the notification service did not start: {first!r}"
        received: list[dict] = []

        def read() -> None:
            for line in proc.stdout:
                received.append(json.loads(line))

        threading.Thread(target=read, name="notify-service-reader", daemon=True).start()
        yield received
    finally:
        _stop(proc)


class FakeTray:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def showMessage(self, title, msg, icon, msecs) -> None:  # noqa: N802 - Qt API
        self.messages.append((title, msg))


def make_notifier(qtbot, address: str, tray: FakeTray | None = None) -> DesktopNotifier:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    return DesktopNotifier(window, tray=tray, use_dbus=True, bus_address=address)


def test_a_fired_alarm_reaches_the_freedesktop_notification_service(qtbot, private_bus, notification_service):
    tray = FakeTray()
    notifier = make_notifier(qtbot, private_bus, tray)
    try:
        with qtbot.waitSignal(notifier.shown, timeout=10_000) as blocker:
            notifier.notify(AlarmFired(PASTA, "Your pasta timer is done."))
        assert blocker.args == ["dbus", "Pasta timer done", "Your pasta timer is done."]
        qtbot.waitUntil(lambda: len(notification_service) == 1, timeout=5000)
    finally:
        notifier.close(wait_s=5.0)
    got = notification_service[0]
    assert (got["summary"], got["body"]) == ("Pasta timer done", "Your pasta timer is done.")
    assert got["app_name"] == "Hearken" and got["replaces_id"] == 0 and got["actions"] == []
    assert got["hints"] == {"desktop-entry": "hearken", "suppress-sound": True}  # the engine plays the chime
    assert got["app_icon"].startswith("file://") and got["app_icon"].endswith("hearken.png")
    assert tray.messages == []


def test_without_a_notification_service_the_tray_says_it(qtbot, private_bus):
    tray = FakeTray()
    notifier = make_notifier(qtbot, private_bus, tray)
    try:
        with qtbot.waitSignal(notifier.shown, timeout=10_000) as blocker:
            notifier.notify(AlarmFired(CALL, "Time to call your mother."))
    finally:
        notifier.close(wait_s=5.0)
    assert blocker.args[0] == "tray"
    assert tray.messages == [("Reminder", "Time to call your mother.")]
