"""The window's central widget: the header over three columns, history | conversation | details.

The middle column stacks the problem banner, the conversation and the talk controls.  Only layout
lives here; the window and its controllers wire what the widgets do.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QSplitter, QVBoxLayout, QWidget

from app.history import History
from app.ui import theme
from app.ui.banner import ProblemBanner
from app.ui.conversation import ConversationView
from app.ui.details_panel import DetailsPanel
from app.ui.header import HeaderBar
from app.ui.history_panel import HistoryPanel
from app.ui.host import EngineHost
from app.ui.talk_controls import TalkControls


class WindowBody(QWidget):
    """``splitter`` holds the three columns (its state is saved with the window's geometry)."""

    def __init__(
        self,
        colors: theme.Colors,
        history: History,
        host: EngineHost,
        status: Callable[[str, int], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.header = HeaderBar(colors)
        outer.addWidget(self.header)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(8)
        self.history_panel = HistoryPanel(history)
        self.history_panel.setMinimumWidth(200)
        self.splitter.addWidget(self._history_column(self.history_panel))
        self.splitter.addWidget(self._center(colors))
        self.details = DetailsPanel(colors, host, status)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([240, 640, 340])
        outer.addWidget(self.splitter, 1)

    @staticmethod
    def _history_column(panel: QWidget) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(10, 10, 0, 10)
        lay.addWidget(panel)
        return w

    def _center(self, colors: theme.Colors) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(10, 10, 10, 10)
        lay.setSpacing(8)
        self.banner = ProblemBanner()
        lay.addWidget(self.banner)
        chat_panel = QFrame()
        chat_panel.setObjectName("panel")
        cl = QVBoxLayout(chat_panel)
        cl.setContentsMargins(1, 1, 1, 1)
        self.conversation = ConversationView()
        cl.addWidget(self.conversation)
        lay.addWidget(chat_panel, 1)
        self.controls = TalkControls(colors)
        lay.addWidget(self.controls)
        return w

    def set_tab_order(self) -> None:
        """Talk first, then the modes, the conversation, the history and the details."""
        header, hp, audio, banner = self.header, self.history_panel, self.details.audio, self.banner
        chain = [
            self.controls.talk_button,
            self.controls.stop_button,
            *header.mode_buttons.values(),
            header.settings_button,
            self.conversation,
            hp.new_button,
            hp.list,
            hp.open_button,
            hp.export_button,
            hp.delete_button,
            audio.input_combo,
            audio.output_combo,
            banner.settings_button,
            banner.retry_button,
            banner.close_button,
        ]
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)
