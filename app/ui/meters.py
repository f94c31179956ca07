"""State pill, microphone level meter and the latency meters (stacked bar and session plot)."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.ui import theme

log = logging.getLogger(__name__)

STATE_TEXT = {
    "loading": "Loading models",
    "idle": "Idle",
    "listening": "Listening",
    "waiting": "Waiting for the wake word",
    "hearing": "Hearing you",
    "thinking": "Thinking",
    "speaking": "Speaking",
    "stopping": "Stopping",
    "stopped": "Stopped",
    "error": "Needs attention",
    "muted": "Muted",
}


class StateIndicator(QLabel):
    """A coloured pill: idle / listening / hearing / thinking / speaking."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statePill")
        self.setAccessibleName("Assistant state")
        self.state = ""
        self.set_state("loading")

    def set_state(self, state: str) -> None:
        self.state = state
        text = STATE_TEXT.get(state, state.capitalize())
        color = QColor(theme.STATE_COLORS.get(state, "#8a8f9c"))
        bg = QColor(color)
        bg.setAlpha(40)
        self.setText(f"●  {text}")
        self.setStyleSheet(
            f"QLabel#statePill {{ color: {color.name()}; background: rgba({bg.red()},{bg.green()},"
            f"{bg.blue()},{bg.alpha()}); }}"
        )
        self.setAccessibleDescription(text)
        self.setToolTip(f"The assistant is: {text.lower()}")


class LevelMeter(QWidget):
    """Microphone level: a rounded bar with a peak hold, fed at about 20 Hz."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Microphone level")
        self.setToolTip("Microphone level")
        self.level = 0.0
        self.peak = 0.0
        self.setMinimumSize(56, 12)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._last = 0.0
        self._decay = QTimer(self)
        self._decay.setInterval(80)
        self._decay.timeout.connect(self._fade)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(150, 12)

    def set_level(self, value: float) -> None:
        value = max(0.0, min(1.0, value))
        # fast attack, gentle release, so speech reads as a smooth envelope
        self.level = value if value > self.level else self.level * 0.6 + value * 0.4
        self.peak = max(value, self.peak * 0.92)
        self._last = time.perf_counter()
        if not self._decay.isActive():
            self._decay.start()
        self.update()

    def _fade(self) -> None:
        """No level for a while (microphone stopped): let the bar fall back to zero."""
        if time.perf_counter() - self._last < 0.15:
            return
        self.level *= 0.5
        self.peak *= 0.8
        if self.peak < 0.005:
            self.level = self.peak = 0.0
            self._decay.stop()
        self.update()

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = r.height() / 2
        pal = self.palette()
        track = pal.color(pal.ColorRole.AlternateBase)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(track)
        p.drawRoundedRect(r, radius, radius)
        # perceptual scale: speech sits mid-bar, not squashed at the left
        shown = min(1.0, self.level**0.5)
        if shown > 0.01:
            w = max(r.height(), r.width() * shown)
            color = (
                QColor("#2e9d62")
                if shown < 0.75
                else QColor("#e0a100")
                if shown < 0.92
                else QColor("#d14343")
            )
            p.setBrush(color)
            p.drawRoundedRect(QRectF(r.left(), r.top(), w, r.height()), radius, radius)
        peak = min(1.0, self.peak**0.5)
        if peak > 0.02:
            x = r.left() + r.width() * peak
            p.setBrush(pal.color(pal.ColorRole.Text))
            p.drawRect(QRectF(min(x, r.right() - 2), r.top() + 2, 2, r.height() - 4))
        p.end()


# ---------------------------------------------------------------- latency

# name, stamp that ends the stage, stamp its own work starts from, what it is
SEGMENTS = (
    ("End-of-turn wait", "eot_decided", "speech_end", "Silence waited to be sure you had finished"),
    ("Speech recognition", "stt_done", "speech_end", "Transcription still running after the end of turn"),
    (
        "LLM first token",
        "llm_first_token",
        "llm_start",
        "The language model reading the turn to its first word",
    ),
    ("LLM first clause", "first_clause", "llm_first_token", "The model writing its first speakable clause"),
    ("TTS first chunk", "tts_first_chunk", "first_clause", "Synthesizing the first clause's first audio"),
    ("To first audio", "first_audio", "tts_first_chunk", "From synthesized audio to the first sample heard"),
)


@dataclass(frozen=True)
class Segment:
    name: str
    ms: float  # time this stage added to the wait
    help: str
    own_ms: float | None = None  # the stage's own duration (more when it overlapped an earlier one)

    @property
    def overlapped(self) -> bool:
        return self.own_ms is not None and self.own_ms - self.ms > max(20.0, 0.25 * self.own_ms)


def latency_segments(report: Mapping[str, Any]) -> list[Segment]:
    """Where the time went between the end of speech and the first audible sample.

    Built from the turn's session-clock stamps (``report["t"]``), laid end to
    end: each stage counts only the time it added after the previous one, so the
    segments add up to voice-to-voice latency.  Work done in parallel (the
    speculative transcription during the pause) adds little or nothing; its own
    duration is kept in ``own_ms``.
    """
    t = report.get("t") or {}
    start = t.get("speech_end")
    if start is None:
        return []
    out: list[Segment] = []
    prev = float(start)
    for name, stamp, began, help_text in SEGMENTS:
        when = t.get(stamp)
        if when is None:
            out.append(Segment(name, 0.0, help_text + " (not measured)"))
            continue
        own = (float(when) - float(t[began])) * 1000.0 if t.get(began) is not None else None
        when = max(prev, float(when))
        out.append(Segment(name, (when - prev) * 1000.0, help_text, own))
        prev = when
    return out


class StackedBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.segments: list[Segment] = []
        self.setMinimumHeight(22)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(240, 22)

    def set_segments(self, segments: Sequence[Segment]) -> None:
        self.segments = list(segments)
        total = sum(s.ms for s in self.segments)
        self.setToolTip("\n".join(f"{s.name}: {s.ms:.0f} ms" for s in self.segments) or "No turn yet")
        self.setAccessibleDescription(f"Total {total:.0f} milliseconds")
        self.update()

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        clip = QPainterPath()
        clip.addRoundedRect(r, 6, 6)
        p.setClipPath(clip)
        pal = self.palette()
        p.fillRect(r, pal.color(pal.ColorRole.AlternateBase))
        total = sum(s.ms for s in self.segments)
        if total > 0:
            x = r.left()
            for i, seg in enumerate(self.segments):
                w = r.width() * seg.ms / total
                if w <= 0:
                    continue
                p.fillRect(
                    QRectF(x, r.top(), w, r.height()),
                    QColor(theme.LATENCY_COLORS[i % len(theme.LATENCY_COLORS)]),
                )
                x += w
        p.end()


class LatencyBar(QWidget):
    """The last turn: total voice-to-voice latency and a stacked bar of where it went."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Latency of the last turn")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        self.total = QLabel("—")
        self.total.setObjectName("latencyTotal")
        self.total.setStyleSheet("font-size: 22px; font-weight: 600;")
        self.total.setAccessibleName("Voice-to-voice latency of the last turn")
        self.caption = QLabel("voice to voice, last turn")
        self.caption.setObjectName("muted")
        self.bar = StackedBar(self)
        self.bar.setAccessibleName("Latency breakdown bar")
        lay.addWidget(self.total)
        lay.addWidget(self.caption)
        lay.addWidget(self.bar)
        grid = QGridLayout()
        grid.setContentsMargins(0, 2, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        for col, (text, tip) in enumerate(
            (
                ("took", "How long the stage itself ran (ms)"),
                ("added", "How much it added to your wait (ms); this column adds up to the total"),
            )
        ):
            head = QLabel(text)
            head.setObjectName("muted")
            head.setToolTip(tip)
            head.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(head, 0, 2 + col)
        self.values: list[QLabel] = []  # "added" column
        self.own: list[QLabel] = []  # "took" column
        for i, (name, _stamp, _began, help_text) in enumerate(SEGMENTS, start=1):
            swatch = QLabel()
            swatch.setFixedSize(10, 10)
            swatch.setStyleSheet(f"background: {theme.LATENCY_COLORS[i - 1]}; border-radius: 3px;")
            label = QLabel(name)
            label.setToolTip(help_text)
            own = QLabel("—")
            own.setObjectName("muted")
            own.setAccessibleName(f"{name}: milliseconds it took")
            value = QLabel("—")
            value.setAccessibleName(f"{name}: milliseconds it added")
            for w in (own, value):
                w.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(swatch, i, 0)
            grid.addWidget(label, i, 1)
            grid.addWidget(own, i, 2)
            grid.addWidget(value, i, 3)
            self.values.append(value)
            self.own.append(own)
        grid.setColumnStretch(1, 1)
        lay.addLayout(grid)
        self.report: Mapping[str, Any] | None = None

    def set_report(self, report: Mapping[str, Any]) -> None:
        segments = latency_segments(report)
        if not segments:
            return
        self.report = report
        v2v = (report.get("latency_ms") or {}).get("voice_to_voice")
        total = v2v if v2v is not None else sum(s.ms for s in segments)
        self.total.setText(f"{total:,.0f} ms")
        self.bar.set_segments(segments)
        for seg, label, own in zip(segments, self.values, self.own, strict=True):
            tip = seg.help
            label.setText(f"{seg.ms:,.0f}")
            own.setText(f"{seg.own_ms:,.0f}" if seg.own_ms is not None else "—")
            if seg.overlapped:
                tip += (
                    f". It took {seg.own_ms:,.0f} ms, but ran while an earlier stage was still going,"
                    f" so it added only {seg.ms:,.0f} ms to the wait."
                )
            label.setToolTip(tip)
            own.setToolTip(tip)


class LatencyPlot(QWidget):
    """Voice-to-voice latency of every answered turn this session, with the median."""

    def __init__(self, colors: theme.Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        self.setAccessibleName("Voice-to-voice latency over the session")
        self.values: list[float] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.caption = QLabel("No answered turn yet")
        self.caption.setObjectName("muted")
        self.caption.setAccessibleName("Median voice-to-voice latency")
        lay.addWidget(self.caption)
        self.plot = pg.PlotWidget()
        self.plot.setFixedHeight(104)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot.getPlotItem().setContentsMargins(0, 4, 4, 0)
        self.plot.setLabel("left", "ms")
        self.curve = self.plot.plot([], [], symbol="o", symbolSize=6)
        self.median = pg.InfiniteLine(angle=0, movable=False)
        self.median.setVisible(False)
        self.plot.addItem(self.median)
        lay.addWidget(self.plot)
        self.plot.setXRange(0.5, 5.5, padding=0)
        self.plot.setYRange(0, 2000, padding=0)
        self.apply_colors(colors)

    def apply_colors(self, c: theme.Colors) -> None:
        pg = self._pg
        self.plot.setBackground(c.surface)
        for axis in ("left", "bottom"):
            ax = self.plot.getAxis(axis)
            ax.setPen(pg.mkPen(c.border))
            ax.setTextPen(pg.mkPen(c.muted))
        accent = theme.STATE_COLORS["speaking"]
        self.curve.setPen(pg.mkPen(accent, width=2))
        self.curve.setSymbolBrush(pg.mkBrush(accent))
        self.curve.setSymbolPen(pg.mkPen(c.surface))
        self.median.setPen(pg.mkPen(theme.STATE_COLORS["listening"], width=1.5, style=Qt.PenStyle.DashLine))

    def add(self, ms: float) -> None:
        self.values.append(float(ms))
        xs = list(range(1, len(self.values) + 1))
        self.curve.setData(xs, self.values)
        med = statistics.median(self.values)
        self.median.setPos(med)
        self.median.setVisible(True)
        self.plot.setXRange(0.5, max(5, len(xs)) + 0.5, padding=0)
        self.plot.setYRange(0, max(self.values) * 1.25 + 50, padding=0)
        self.caption.setText(f"Median {med:,.0f} ms over {len(self.values)} turn{'s' if len(xs) > 1 else ''}")

    def clear(self) -> None:
        self.values.clear()
        self.curve.setData([], [])
        self.plot.setXRange(0.5, 5.5, padding=0)
        self.plot.setYRange(0, 2000, padding=0)
        self.median.setVisible(False)
        self.caption.setText("No answered turn yet")
