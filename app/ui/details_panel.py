"""The details column on the right: timers and reminders, latency of the last turn and of the session, the
models, the audio."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from app.ui import theme
from app.ui.alarms_panel import AlarmsPanel
from app.ui.audio_panel import AudioPanel
from app.ui.host import EngineHost
from app.ui.labels import section_title
from app.ui.meters import LatencyBar, LatencyPlot
from app.ui.models_panel import ModelsPanel


class LatencyPanel(QFrame):
    """Where the last turn's time went, and every voice-to-voice time this session."""

    def __init__(self, colors: theme.Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        ll = QVBoxLayout(self)
        ll.setContentsMargins(14, 10, 14, 10)
        ll.setSpacing(6)
        ll.addWidget(section_title("Latency"))
        self.bar = LatencyBar()
        ll.addWidget(self.bar)
        ll.addSpacing(4)
        ll.addWidget(section_title("This session"))
        self.plot = LatencyPlot(colors)
        ll.addWidget(self.plot)

    def show_report(self, report: Mapping[str, Any]) -> None:
        """A measured turn; an interrupted one is shown in the bar but kept out of the session plot."""
        self.bar.set_report(report)
        if not report.get("interrupted"):
            self.plot.add(float(report["latency_ms"]["voice_to_voice"]))


class DetailsPanel(QScrollArea):
    """Scrolls vertically when the window is short; never horizontally."""

    def __init__(
        self,
        colors: theme.Colors,
        host: EngineHost,
        status: Callable[[str, int], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(300)
        self.setAccessibleName("Details")
        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(0, 10, 10, 10)
        lay.setSpacing(8)
        self.alarms = AlarmsPanel(colors, host)
        lay.addWidget(self.alarms)
        self.latency = LatencyPanel(colors)
        lay.addWidget(self.latency)
        self.models = ModelsPanel()
        lay.addWidget(self.models)
        self.audio = AudioPanel(host, status)
        lay.addWidget(self.audio)
        lay.addStretch(1)
        self.setWidget(inner)
