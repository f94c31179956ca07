"""The Timers & reminders panel: what is running, a live countdown for timers, a cancel button for each.

It only paints ``AlarmsChanged`` (the engine sends the whole list after every change) and asks the
host to cancel; it never removes a row itself, so what it shows is always what the engine holds.  One
``QTimer`` repaints the countdowns once a second, and runs only while a timer is on the list.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.messages import Alarm
from app.ui import theme
from app.ui.icons import render_svg
from app.ui.labels import muted_label, section_title

EMPTY_HINT = "Say “set a timer for five minutes” or “remind me at six to call Sam”."

# 24x24 outline glyphs, "{c}" is the colour (drawn for Hearken, like app/ui/icons.py).
_GLYPHS = {
    "timer": (
        '<circle cx="12" cy="13.5" r="7.5" fill="none" stroke="{c}" stroke-width="2"/>'
        '<path d="M12 13.5V9.5M9.5 2.5h5M12 2.5V6M18.2 6.8l1.4-1.4" fill="none" stroke="{c}" '
        'stroke-width="2" stroke-linecap="round"/>'
    ),
    "reminder": (
        '<path d="M6 16.5V11a6 6 0 0 1 12 0v5.5l1.5 2h-15zM10 20.5a2.2 2.2 0 0 0 4 0" fill="none" '
        'stroke="{c}" stroke-width="1.9" stroke-linejoin="round" stroke-linecap="round"/>'
    ),
    "close": '<path d="M7 7l10 10M17 7 7 17" stroke="{c}" stroke-width="2.2" stroke-linecap="round"/>',
}


class CancelsAlarms(Protocol):
    def cancel_alarm(self, alarm_id: int | None) -> None: ...


def _row_style(c: theme.Colors) -> str:
    """The rows' cancel buttons are flat until hovered or focused (the app's buttons are boxed)."""
    return (
        "QToolButton#alarmCancel { background: transparent; border: 1px solid transparent;"
        " border-radius: 6px; padding: 3px; }"
        f" QToolButton#alarmCancel:hover {{ border-color: {c.border}; background: {c.surface_alt}; }}"
        f" QToolButton#alarmCancel:focus {{ border: 2px solid {c.accent}; }}"
    )


def _glyph(name: str, color: str, size: int) -> QPixmap:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">'
        f"{_GLYPHS[name].replace('{c}', color)}</svg>"
    )
    return render_svg(svg.encode(), size)


def _glyph_icon(name: str, color: str) -> QIcon:
    ico = QIcon()
    for size in (16, 32, 48):
        ico.addPixmap(_glyph(name, color, size))
    return ico


# ---------------------------------------------------------------- the words on a row (pure functions)


def title_of(alarm: Alarm) -> str:
    """The row's name: the alarm's label, or "Timer" / "Reminder"."""
    label = alarm.label.strip()
    if not label:
        return "Timer" if alarm.kind == "timer" else "Reminder"
    return label[:1].upper() + label[1:]


def time_left(seconds: float) -> str:
    """A countdown, rounded up like a kitchen timer: "4:32 left", "1:05:00 left", "due now"."""
    s = math.ceil(seconds - 1e-6)
    if s <= 0:
        return "due now"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d} left" if h else f"{m}:{sec:02d} left"


# The window is in English: the names are too, whatever locale Qt set for the C library.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clock_time(due: float, now: float) -> str:
    """When a reminder is due, by the local clock: "at 18:00", "tomorrow 07:30", "Fri 09:00", "3 Jun 09:00"."""
    when = datetime.fromtimestamp(due)
    today = datetime.fromtimestamp(now).date()
    hm = when.strftime("%H:%M")
    days = (when.date() - today).days
    if days <= 0:
        return f"at {hm}"
    if days == 1:
        return f"tomorrow {hm}"
    if days < 7:
        return f"{_DAYS[when.weekday()]} {hm}"
    year = f" {when.year}" if when.year != today.year else ""
    return f"{when.day} {_MONTHS[when.month - 1]}{year} {hm}"


def what_time(alarm: Alarm, now: float) -> str:
    return time_left(alarm.due - now) if alarm.kind == "timer" else clock_time(alarm.due, now)


def _duration(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{h} h" if h else "", f"{m} min" if m else "", f"{sec} s" if sec else ""]
    return " ".join(p for p in parts if p) or "0 s"


def tooltip_of(alarm: Alarm) -> str:
    ends = datetime.fromtimestamp(alarm.due)
    if alarm.kind == "timer":
        length = f"{_duration(alarm.duration)} timer, " if alarm.duration else ""
        return f"{length}ends at {ends:%H:%M:%S}"
    day = f"{_DAYS[ends.weekday()]} {ends.day} {_MONTHS[ends.month - 1]} {ends.year}"
    return f"Due {day}, {ends:%H:%M}"


# ---------------------------------------------------------------- widgets


class AlarmRow(QFrame):
    """One alarm: its kind's glyph, its name, when it goes off, and a cancel button.

    A timer is one line (its name, the countdown on the right); a reminder's text may be long, so its
    time goes under it."""

    def __init__(self, alarm: Alarm, colors: theme.Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.alarm = alarm
        self.setObjectName("alarmRow")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 2, 0, 2)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(0)
        timer = alarm.kind == "timer"
        self.glyph = QLabel()
        self.glyph.setFixedSize(18, 18)
        self.glyph.setScaledContents(True)
        grid.addWidget(self.glyph, 0, 0, Qt.AlignmentFlag.AlignVCenter)
        kind = "Timer" if timer else "Reminder"
        self.title = QLabel(title_of(alarm))
        self.title.setWordWrap(True)
        self.title.setAccessibleName(f"{kind}: {self.title.text()}")
        grid.addWidget(self.title, 0, 1)
        self.when = QLabel()
        if timer:
            self.when.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            font = self.when.font()
            font.setBold(True)
            self.when.setFont(font)
            grid.addWidget(self.when, 0, 2)
        else:
            self.when.setObjectName("muted")
            grid.addWidget(self.when, 1, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        self.cancel_button = QToolButton()
        self.cancel_button.setObjectName("alarmCancel")
        self.cancel_button.setIconSize(QSize(14, 14))
        label = alarm.label.strip()
        if timer:
            name = f"the {label} timer" if label else "this timer"
        else:
            name = f"the reminder to {label}" if label else "this reminder"
        self.cancel_button.setAccessibleName(f"Cancel {name}")
        self.cancel_button.setToolTip(f"Cancel {name}")
        grid.addWidget(self.cancel_button, 0, 3, 2 if not timer else 1, 1, Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip(tooltip_of(alarm))
        self.apply_colors(colors)

    def apply_colors(self, colors: theme.Colors) -> None:
        self.glyph.setPixmap(_glyph("timer" if self.alarm.kind == "timer" else "reminder", colors.accent, 36))
        self.cancel_button.setIcon(_glyph_icon("close", colors.muted))

    def refresh(self, now: float) -> None:
        text = what_time(self.alarm, now)
        if self.when.text() != text:
            self.when.setText(text)


class AlarmsPanel(QFrame):
    """Paints the list ``set_alarms`` gets; ``cancelRequested`` names the id asked for (None: all)."""

    cancelRequested = Signal(object)  # int | None

    def __init__(
        self,
        colors: theme.Colors,
        host: CancelsAlarms,
        *,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.colors = colors
        self.clock = clock
        self.alarms: tuple[Alarm, ...] = ()
        self.rows: list[AlarmRow] = []
        self.setObjectName("panel")
        self.setAccessibleName("Timers and reminders")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 10, 14, 10)
        outer.setSpacing(4)
        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(section_title("Timers & reminders"), 1)
        self.cancel_all_button = QPushButton("Cancel all")
        self.cancel_all_button.setObjectName("small")
        self.cancel_all_button.setAccessibleName("Cancel all timers and reminders")
        self.cancel_all_button.setToolTip("Cancel every timer and reminder")
        self.cancel_all_button.clicked.connect(lambda: self._cancel(None))
        self.cancel_all_button.hide()
        head.addWidget(self.cancel_all_button)
        outer.addLayout(head)
        self.hint = muted_label(EMPTY_HINT)
        outer.addWidget(self.hint)
        self._rows_box = QVBoxLayout()
        self._rows_box.setContentsMargins(0, 0, 0, 0)
        self._rows_box.setSpacing(2)
        outer.addLayout(self._rows_box)
        self.setStyleSheet(_row_style(colors))
        self._tick = QTimer(self)
        self._tick.setSingleShot(True)  # re-armed each tick, just after the soonest timer's next second
        self._tick.timeout.connect(self._on_tick)

    @property
    def counting_down(self) -> bool:
        """The countdown timer runs (once a second) because a timer is on the list."""
        return self._tick.isActive() and self._tick.interval() <= 1000

    def set_alarms(self, alarms: Sequence[Alarm]) -> None:
        """The engine's whole list, soonest first: rebuild the rows."""
        self.alarms = tuple(alarms)
        focus = QApplication.focusWidget()
        focused = next((i for i, r in enumerate(self.rows) if r.isAncestorOf(focus)), None)
        for row in self.rows:
            self._rows_box.removeWidget(row)
            row.hide()
            row.deleteLater()
        self.rows = []
        for alarm in self.alarms:
            row = AlarmRow(alarm, self.colors)
            row.cancel_button.clicked.connect(lambda _c=False, r=row: self._cancel_row(r))
            self._rows_box.addWidget(row)
            self.rows.append(row)
        self.hint.setVisible(not self.rows)
        self.cancel_all_button.setVisible(len(self.rows) > 1)
        self.cancel_all_button.setEnabled(True)
        if focused is not None and self.rows:  # a keyboard user who cancelled one lands on the next
            self.rows[min(focused, len(self.rows) - 1)].cancel_button.setFocus()
        self._on_tick()

    def apply_colors(self, colors: theme.Colors) -> None:
        self.colors = colors
        self.setStyleSheet(_row_style(colors))
        for row in self.rows:
            row.apply_colors(colors)

    def _cancel_row(self, row: AlarmRow) -> None:
        row.cancel_button.setEnabled(False)  # until the engine's new list arrives
        self._cancel(row.alarm.id)

    def _cancel(self, alarm_id: int | None) -> None:
        if alarm_id is None:
            self.cancel_all_button.setEnabled(False)
        self.cancelRequested.emit(alarm_id)
        self.host.cancel_alarm(alarm_id)

    def _on_tick(self) -> None:
        now = self.clock()
        for row in self.rows:
            row.refresh(now)
        timers = [a.due - now for a in self.alarms if a.kind == "timer" and a.due > now]
        delays_ms: list[float] = []
        if timers:  # the soonest timer's next whole second, plus a little so its figure has changed
            delays_ms.append(max(50, min(1000, (min(timers) % 1.0) * 1000 + 15)))
        if any(a.kind == "reminder" for a in self.alarms):  # "tomorrow 07:30" becomes "at 07:30"
            delays_ms.append((next_midnight(now) - now) * 1000 + 50)
        if delays_ms:
            self._tick.start(round(min(delays_ms)))
        else:
            self._tick.stop()


def next_midnight(now: float) -> float:
    """When "tomorrow 07:30" becomes "at 07:30" (the panel repaints reminders then)."""
    day = datetime.fromtimestamp(now).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day).timestamp()
