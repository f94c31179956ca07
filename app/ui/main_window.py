"""The main window: conversation, state, modes, push-to-talk, latency, models, devices, history."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QSystemTrayIcon,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.history import History, TurnRecord
from app.messages import AssistantTurn, UserTurn
from app.ui import icons, prefs, theme
from app.ui.bridge import EngineBridge
from app.ui.conversation import ConversationView
from app.ui.device_list import DeviceList, list_devices
from app.ui.history_panel import HistoryPanel
from app.ui.host import ROLE_LABELS, AudioStatus, EngineHost
from app.ui.meters import LatencyBar, LatencyPlot, LevelMeter, StateIndicator
from app.ui.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)

MODES = (
    ("always", "Always listening", "The assistant listens and answers when you pause"),
    ("ptt", "Push to talk", "The assistant only hears you while you hold Talk or the push-to-talk key"),
    ("muted", "Muted", "The microphone is off"),
)
MODE_HINT = {
    "always": "Just speak — Hearken answers when you pause. Hold {key} to talk over it.",
    "ptt": "Hold the Talk button or {key} while you speak.",
    "muted": "The microphone is muted.",
}
ROLE_ORDER = ("stt", "llm", "tts", "vad")
ROLE_TITLE = {"stt": "Speech", "llm": "Language", "tts": "Voice", "vad": "VAD"}
TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit, QKeySequenceEdit, QAbstractSpinBox, QComboBox)


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("panelTitle")
    return label


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


class MainWindow(QMainWindow):
    """Give it an ``EngineHost`` (real or with fakes); ``start()`` loads the models in the background."""

    turnFinished = Signal(object)  # the turn report of every answered (or interrupted) turn
    shown = Signal()  # first paint: the window is usable
    closed = Signal()

    def __init__(
        self,
        host: EngineHost,
        *,
        history: History | None = None,
        ui_prefs: prefs.UiPrefs | None = None,
        colors: theme.Colors | None = None,
        lock_mode: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.settings = host.settings
        self.history = history if history is not None else History()
        self.ui_prefs = ui_prefs if ui_prefs is not None else prefs.load_ui_prefs()
        self.colors = colors or theme.resolve(self.ui_prefs.theme)
        self.lock_mode = lock_mode  # e.g. "always" with a virtual microphone
        self.mode = lock_mode or self.ui_prefs.mode
        self.settings.mode = self.mode
        self.bridge = EngineBridge(host, self)
        self.engine: Any = None
        self.engine_state = "loading"
        self.ready_seconds: float | None = None
        self.load_error: tuple[str, str] | None = None
        self.conversation_id: int | None = None
        self.answered = 0
        self.reports: list[dict[str, Any]] = []
        self._epoch = 0
        self._ptt_down = False
        self._closing = False
        self._can_close = False
        self._carried: object | None = None  # a user bubble whose words moved into the next turn
        self._t_created = time.perf_counter()
        self.shown_at: float | None = None
        self.setWindowTitle("Hearken")
        self.setWindowIcon(icons.app_icon())
        self.setAccessibleName("Hearken")
        self.setMinimumSize(880, 560)
        screen = QApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        if avail is not None and avail.width() > 0:
            self.resize(min(1260, avail.width()), min(800, avail.height()))
        else:
            self.resize(1260, 800)
        self._build()
        self._build_menus()
        self._connect()
        self._set_mode_ui(self.mode)
        self._set_ready_ui(False)
        self._build_tray()
        self._tab_order()
        QApplication.instance().installEventFilter(self)
        geo, split = prefs.load_window_state()
        if geo is not None:
            self.restoreGeometry(geo)
        if split is not None:
            self.splitter.restoreState(split)

    # ================================================================ layout
    def _build(self) -> None:
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._header())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(8)
        self.history_panel = HistoryPanel(self.history)
        self.history_panel.setMinimumWidth(200)
        self.splitter.addWidget(self._wrap(self.history_panel))
        self.splitter.addWidget(self._center())
        self.splitter.addWidget(self._side())
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([240, 640, 340])
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(root)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Model loading progress")
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.status_text = QLabel("Starting…")
        self.status_text.setAccessibleName("Status")
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().setSizeGripEnabled(False)

    @staticmethod
    def _wrap(panel: QWidget) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(10, 10, 0, 10)
        lay.addWidget(panel)
        return w

    def _header(self) -> QWidget:
        c = self.colors
        bar = QFrame()
        bar.setObjectName("header")
        lay = QHBoxLayout(bar)
        lay.setContentsMargins(16, 10, 16, 10)
        lay.setSpacing(12)
        logo = QLabel()
        logo.setPixmap(icons.app_icon().pixmap(28, 28))
        logo.setAccessibleName("Hearken logo")
        title = QLabel("Hearken")
        title.setObjectName("appTitle")
        lay.addWidget(logo)
        lay.addWidget(title)
        lay.addSpacing(10)
        self.state = StateIndicator()
        lay.addWidget(self.state)
        mic = QLabel()
        mic.setPixmap(icons.icon("mic", c.muted).pixmap(16, 16))
        mic.setAccessibleName("Microphone")
        lay.addWidget(mic)
        self.level_meter = LevelMeter()
        lay.addWidget(self.level_meter)
        lay.addStretch(1)
        self.mode_group = QButtonGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_buttons: dict[str, QToolButton] = {}
        seg = QHBoxLayout()
        seg.setSpacing(0)
        mode_icons = {"always": "wave", "ptt": "hand", "muted": "mic_off"}
        for i, (mode, text, tip) in enumerate(MODES):
            b = QToolButton()
            b.setObjectName("modeButton")
            b.setText(text)
            b.setIcon(icons.icon(mode_icons[mode], c.text))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setCheckable(True)
            b.setAccessibleName(f"{text} mode")
            b.setToolTip(f"{tip} (Ctrl+{i + 1})")
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)  # never elided
            radius = "8px"
            if i == 0:
                b.setStyleSheet(
                    f"QToolButton#modeButton {{ border-top-left-radius: {radius}; "
                    f"border-bottom-left-radius: {radius}; }}"
                )
            elif i == len(MODES) - 1:
                b.setStyleSheet(
                    f"QToolButton#modeButton {{ border-top-right-radius: {radius}; "
                    f"border-bottom-right-radius: {radius}; }}"
                )
            self.mode_group.addButton(b)
            self.mode_buttons[mode] = b
            seg.addWidget(b)
        lay.addLayout(seg)
        lay.addSpacing(6)
        self.settings_button = QToolButton()
        self.settings_button.setIcon(icons.icon("gear", c.text))
        self.settings_button.setText("Settings")
        self.settings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.settings_button.setAccessibleName("Settings")
        self.settings_button.setToolTip("Models, voice, turn taking, keys and theme (Ctrl+,)")
        lay.addWidget(self.settings_button)
        return bar

    def _center(self) -> QWidget:
        c = self.colors
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(10, 10, 10, 10)
        lay.setSpacing(8)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        bl = QVBoxLayout(self.banner)
        bl.setContentsMargins(14, 10, 14, 10)
        self.banner_title = QLabel()
        self.banner_title.setStyleSheet("font-weight: 600; font-size: 14px;")
        self.banner_title.setWordWrap(True)  # long titles wrap instead of being cut at the edge
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_text.setAccessibleName("Problem details")
        brow = QHBoxLayout()
        self.banner_settings = QPushButton("Open settings")
        self.banner_settings.setAccessibleName("Open settings to fix the problem")
        self.banner_retry = QPushButton("Retry")
        self.banner_retry.setAccessibleName("Retry loading the models")
        self.banner_close = QPushButton("Dismiss")
        self.banner_close.setAccessibleName("Dismiss this message")
        brow.addStretch(1)
        brow.addWidget(self.banner_settings)
        brow.addWidget(self.banner_retry)
        brow.addWidget(self.banner_close)
        bl.addWidget(self.banner_title)
        bl.addWidget(self.banner_text)
        bl.addLayout(brow)
        self.banner.hide()
        lay.addWidget(self.banner)
        chat_panel = QFrame()
        chat_panel.setObjectName("panel")
        cl = QVBoxLayout(chat_panel)
        cl.setContentsMargins(1, 1, 1, 1)
        self.conversation = ConversationView()
        cl.addWidget(self.conversation)
        lay.addWidget(chat_panel, 1)
        controls = QHBoxLayout()
        controls.setSpacing(10)
        self.talk_button = QPushButton("Hold to talk")
        self.talk_button.setObjectName("talkButton")
        self.talk_button.setIcon(icons.icon("mic", c.accent_text))
        self.talk_button.setMinimumHeight(52)
        self.talk_button.setMinimumWidth(220)
        self.talk_button.setAccessibleName("Talk (hold)")
        self.talk_button.setAutoDefault(False)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setIcon(icons.icon("stop", c.danger))
        self.stop_button.setMinimumHeight(44)
        self.stop_button.setAccessibleName("Stop the assistant")
        self.stop_button.setToolTip("Stop the assistant at once (Esc)")
        self.mode_hint = _muted()
        self.mode_hint.setAccessibleName("How to talk in this mode")
        controls.addStretch(1)
        controls.addWidget(self.talk_button)
        controls.addWidget(self.stop_button)
        controls.addStretch(1)
        lay.addLayout(controls)
        self.mode_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.mode_hint)
        return w

    def _side(self) -> QWidget:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)
        scroll.setAccessibleName("Details")
        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(0, 10, 10, 10)
        lay.setSpacing(8)

        lat = QFrame()
        lat.setObjectName("panel")
        ll = QVBoxLayout(lat)
        ll.setContentsMargins(14, 10, 14, 10)
        ll.setSpacing(6)
        ll.addWidget(_section("Latency"))
        self.latency_bar = LatencyBar()
        ll.addWidget(self.latency_bar)
        ll.addSpacing(4)
        ll.addWidget(_section("This session"))
        self.latency_plot = LatencyPlot(self.colors)
        ll.addWidget(self.latency_plot)
        lay.addWidget(lat)

        models = QFrame()
        models.setObjectName("panel")
        ml = QVBoxLayout(models)
        ml.setContentsMargins(14, 10, 14, 10)
        ml.setSpacing(2)
        ml.addWidget(_section("Models"))
        self.model_labels: dict[str, QLabel] = {}
        for role in ROLE_ORDER:
            row = QHBoxLayout()
            name = QLabel(ROLE_TITLE[role])
            name.setObjectName("muted")
            name.setMinimumWidth(70)
            value = QLabel("…")
            value.setWordWrap(True)
            value.setAccessibleName(f"{ROLE_LABELS[role].capitalize()} model")
            row.addWidget(name)
            row.addWidget(value, 1)
            ml.addLayout(row)
            self.model_labels[role] = value
        lay.addWidget(models)

        audio = QFrame()
        audio.setObjectName("panel")
        al = QVBoxLayout(audio)
        al.setContentsMargins(14, 10, 14, 10)
        al.setSpacing(6)
        al.addWidget(_section("Audio"))
        self.input_combo = QComboBox()
        self.input_combo.setAccessibleName("Microphone device")
        self.output_combo = QComboBox()
        self.output_combo.setAccessibleName("Speaker device")
        for combo in (self.input_combo, self.output_combo):
            combo.addItem("System default", None)
            combo.setEnabled(False)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Microphone", self.input_combo)
        form.addRow("S&peaker", self.output_combo)
        al.addLayout(form)
        self.audio_note = _muted("Looking for sound devices…")
        self.audio_note.setAccessibleName("Sound device status")
        al.addWidget(self.audio_note)
        self.audio_route = _muted()
        self.audio_route.setAccessibleName("Audio in use")
        al.addWidget(self.audio_route)
        lay.addWidget(audio)
        lay.addStretch(1)
        scroll.setWidget(inner)
        return scroll

    def _build_menus(self) -> None:
        bar = self.menuBar()
        conv = bar.addMenu("&Conversation")
        self.act_new = conv.addAction("&New conversation")
        self.act_new.setShortcut(QKeySequence.StandardKey.New)
        self.act_settings = conv.addAction("&Settings…")
        self.act_settings.setShortcuts([QKeySequence("Ctrl+,"), QKeySequence.StandardKey.Preferences])
        conv.addSeparator()
        self.act_quit = conv.addAction("&Quit")
        self.act_quit.setShortcut(QKeySequence.StandardKey.Quit)
        talk = bar.addMenu("&Talk")
        self.mode_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for i, (mode, text, _tip) in enumerate(MODES):
            act = talk.addAction(text)
            act.setCheckable(True)
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _c=False, m=mode: self.set_mode(m))
            group.addAction(act)
            self.mode_actions[mode] = act
        talk.addSeparator()
        self.act_stop = talk.addAction("&Stop the assistant")
        self.act_stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.act_stop.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction("&Keyboard shortcuts", self._show_shortcuts)

    def _tab_order(self) -> None:
        """Talk first, then the modes, the conversation, the history and the details."""
        hp = self.history_panel
        chain = [
            self.talk_button,
            self.stop_button,
            *self.mode_buttons.values(),
            self.settings_button,
            self.conversation,
            hp.new_button,
            hp.list,
            hp.open_button,
            hp.export_button,
            hp.delete_button,
            self.input_combo,
            self.output_combo,
            self.banner_settings,
            self.banner_retry,
            self.banner_close,
        ]
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)

    def _build_tray(self) -> None:
        self.tray: QSystemTrayIcon | None = None
        if not QSystemTrayIcon.isSystemTrayAvailable():
            log.info("no system tray on this desktop: tray icon skipped")
            return
        tray = QSystemTrayIcon(icons.app_icon(), self)
        tray.setToolTip("Hearken")
        menu = QMenu(self)
        menu.addAction("Show Hearken", self._raise)
        menu.addSeparator()
        for mode in self.mode_actions:
            menu.addAction(self.mode_actions[mode])
        menu.addSeparator()
        menu.addAction(self.act_quit)
        tray.setContextMenu(menu)
        tray.activated.connect(
            lambda reason: self._raise() if reason == QSystemTrayIcon.ActivationReason.Trigger else None
        )
        tray.show()
        self.tray = tray

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def _connect(self) -> None:
        b = self.bridge
        b.loadProgress.connect(self._on_progress)
        b.engineBuilt.connect(self._on_engine_built)
        b.ready.connect(self._on_ready)
        b.loadFailed.connect(self._on_load_failed)
        b.stopped.connect(self._on_stopped)
        b.audioStatus.connect(self._on_audio_status)
        b.stateChanged.connect(self._on_state)
        b.speechStarted.connect(self._on_speech_started)
        b.partialTranscript.connect(self._on_partial)
        b.userTurn.connect(self._on_user_turn)
        b.assistantDelta.connect(self._on_delta)
        b.assistantTurn.connect(self._on_assistant_turn)
        b.turnDone.connect(self._on_turn_done)
        b.level.connect(self.level_meter.set_level)
        b.engineError.connect(self._on_engine_error)
        b.notice.connect(self._on_notice)
        b.other.connect(self._on_other)
        self.talk_button.pressed.connect(lambda: self.push_to_talk(True))
        self.talk_button.released.connect(lambda: self.push_to_talk(False))
        self.stop_button.clicked.connect(self.interrupt)
        for mode, button in self.mode_buttons.items():
            button.clicked.connect(lambda _c=False, m=mode: self.set_mode(m))
        self.settings_button.clicked.connect(self.open_settings)
        self.act_settings.triggered.connect(self.open_settings)
        self.act_new.triggered.connect(self.new_conversation)
        self.act_quit.triggered.connect(self.close)
        self.act_stop.triggered.connect(self.interrupt)
        self.history_panel.newRequested.connect(self.new_conversation)
        self.history_panel.openRequested.connect(self.open_conversation)
        self.history_panel.deleted.connect(self._on_deleted)
        self.banner_close.clicked.connect(self.banner.hide)
        self.banner_retry.clicked.connect(self.retry)
        self.banner_settings.clicked.connect(self.open_settings)
        self.input_combo.activated.connect(lambda _i: self._device_chosen("input_device", self.input_combo))
        self.output_combo.activated.connect(
            lambda _i: self._device_chosen("output_device", self.output_combo)
        )

    # ================================================================ life cycle
    def start(self) -> None:
        """Show the models loading and start them in the background."""
        self.engine_state = "loading"
        self.state.set_state("loading")
        self.progress.show()
        self.progress.setRange(0, 0)
        self.host.start()
        self.host.run_in_background(list_devices, name="list-devices")

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.shown_at is None:
            QTimer.singleShot(0, self._first_paint)

    def _first_paint(self) -> None:
        self.shown_at = time.perf_counter()
        log.debug("window painted %.0f ms after it was created", (self.shown_at - self._t_created) * 1000)
        self.shown.emit()

    def retry(self) -> None:
        self.banner.hide()
        self.load_error = None
        self.host.restart(self.host.settings)
        self.engine_state = "loading"
        self.state.set_state("loading")
        self.progress.show()
        self.progress.setRange(0, 0)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self._can_close or self.host.state in ("idle", "stopped") and not self._closing:
            self._finish_close()
            event.accept()
            return
        event.ignore()
        if self._closing:
            return
        self._closing = True
        self.state.set_state("stopping")
        self.show_status("Stopping…")
        self._set_ready_ui(False)
        self.host.stop()
        QTimer.singleShot(10_000, self._force_close)  # threads are daemons: never hang on exit

    def _force_close(self) -> None:
        if not self._can_close:
            log.warning("the engine did not report stopping in time; closing anyway")
            self._can_close = True
            self.close()

    def _on_stopped(self) -> None:
        if self._closing:
            self._can_close = True
            self.close()

    def _finish_close(self) -> None:
        if getattr(self, "_finished", False):
            return
        self._finished = True
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.bridge.stop_draining()
        self.host.close()
        try:
            prefs.save_window_state(self.saveGeometry(), self.splitter.saveState())
        except Exception:  # noqa: BLE001 - never block closing on preferences
            log.exception("saving the window state failed")
        if self.tray is not None:
            self.tray.hide()
        self.closed.emit()

    # ================================================================ engine events
    def _on_progress(self, text: str, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.show_status(text)

    def _on_engine_built(self, engine: Any) -> None:
        self.engine = engine
        self._epoch += 1
        self._engine_mode = engine.orchestrator.settings.mode  # the mode its workers start in
        names = _model_names(engine)
        for role, label in self.model_labels.items():
            label.setText(names.get(role, "—") + "  ·  loading…" if role in names else "—")
            label.setToolTip(_model_tip(engine, role))

    def _on_ready(self, seconds: float) -> None:
        self.ready_seconds = seconds
        self.engine_state = "ready"
        self.progress.hide()
        self.show_status(f"Ready · models loaded in {seconds:.1f} s")
        note = getattr(self.host, "first_run_note", "")
        if note:  # the first start's verdict: every native engine ran once in a child process
            self.host.first_run_note = ""
            self.show_status(f"{note} Ready in {seconds:.1f} s.", 15000)
        names = _model_names(self.engine) if self.engine is not None else {}
        for role, label in self.model_labels.items():
            if role in names:
                verified = _verified(self.engine, role)
                label.setText(f"{names[role]}  {'✓' if verified else ''}".rstrip())
        self._set_ready_ui(True)
        if self.mode != getattr(self, "_engine_mode", self.mode):
            self.host.set_mode(self.mode)  # it changed while the models were loading
        if self.state.state == "loading":
            self._on_state("listening")

    def _on_load_failed(self, kind: str, message: str) -> None:
        self.engine_state = "failed"
        self.load_error = (kind, message)
        self.progress.hide()
        self.state.set_state("error")
        self._set_ready_ui(False)
        if kind == "model":
            title = "Hearken could not load its models"
            todo = (
                "What to do: install what the message names (running “make run” in the Hearken folder "
                "installs the default models), or pick another model in Settings, then press Retry."
            )
        elif kind == "native":
            title = "A part of Hearken crashed on this computer"
            todo = "It was caught in a test run, so nothing else was affected. Retry checks it again."
        elif kind == "input":
            title = "The microphone file cannot be used"
            todo = "What to do: give --mic-file a WAV, FLAC, OGG or MP3 file with speech in it."
        else:
            title = "The assistant could not start"
            todo = "What to do: press Retry; if it happens again, run “hearken selftest” in a terminal."
        self.show_banner(title, f"{message}\n\n{todo}", retry=True, settings=kind == "model")
        self.show_status(title)
        for label in self.model_labels.values():
            if label.text().endswith("loading…"):
                label.setText(label.text().replace("  ·  loading…", "  ·  not loaded"))
            elif label.text() == "…":
                label.setText("not loaded")

    def _on_audio_status(self, st: AudioStatus) -> None:
        text = f"In use: {st.input}" + (f"; {st.output}" if st.output else "")
        self.audio_route.setText(text)
        if not st.ok and not self.lock_mode:
            self.show_banner("No microphone", st.problem or "No microphone is connected.", retry=False)

    def _on_notice(self, message: str) -> None:
        if message.startswith("mode: "):
            return  # the mode buttons already show it
        self.show_status(message[:1].upper() + message[1:], 5000)

    def _on_other(self, ev: object) -> None:
        if isinstance(ev, DeviceList):
            self._fill_devices(ev)

    def _on_state(self, state: str) -> None:
        if state in ("error",) and self.engine_state == "loading":
            return  # the load failure explains it
        shown = "muted" if self.mode == "muted" and state in ("listening", "idle") else state
        self.state.set_state(shown)
        busy = state in ("thinking", "speaking")
        self.stop_button.setEnabled(self.engine_state == "ready")
        self.stop_button.setProperty("busy", busy)
        if state != "hearing" and not self._ptt_down:
            self._set_held(False)

    def _key(self, turn_id: int) -> tuple[int, int]:
        return (self._epoch, turn_id)

    def _on_speech_started(self, turn_id: int) -> None:
        self.conversation.user_partial(self._key(turn_id), "")

    def _on_partial(self, turn_id: int, text: str) -> None:
        self.conversation.user_partial(self._key(turn_id), text)

    def _on_user_turn(self, ev: UserTurn) -> None:
        key = self._key(ev.turn_id)
        if self._carried is not None:
            old = self.conversation.get(self._carried, "user")
            if old is not None and ev.text.startswith(old.text.text()):
                self.conversation.remove(self._carried, "user")
            self._carried = None
        self.conversation.user_final(key, ev.text, ev.emotion.to_dict() if ev.emotion else None)

    def _on_delta(self, turn_id: int, text: str) -> None:
        self.conversation.assistant_text(self._key(turn_id), text)

    def _on_assistant_turn(self, ev: AssistantTurn) -> None:
        key = self._key(ev.turn_id)
        if ev.interrupted and not ev.text:
            # Nothing was heard: the engine keeps these words and adds them to the next turn.
            self.conversation.remove(key, "assistant")
            b = self.conversation.get(key, "user")
            if b is not None:
                b.set_meta("You · stopped before an answer; kept for your next turn")
                self._carried = key
            return
        self.conversation.assistant_final(key, ev.text, ev.full_text, ev.interrupted)

    def _on_turn_done(self, turn_id: int, report: Mapping[str, Any]) -> None:
        key = self._key(turn_id)
        if report.get("dropped"):
            b = self.conversation.get(key, "user")
            if b is not None and not report.get("user_text"):
                self.conversation.remove(key, "user")
            if not self.conversation.has(key, "assistant") and b is not None and report.get("user_text"):
                b.set_meta("You · " + str(report.get("dropped")))
            return
        self.reports.append(dict(report))
        lat = report.get("latency_ms") or {}
        heard = bool(report.get("assistant_text"))
        if lat.get("voice_to_voice") is not None:
            self.latency_bar.set_report(report)
            if not report.get("interrupted"):
                self.latency_plot.add(float(lat["voice_to_voice"]))
            self.conversation.set_latency(key, float(lat["voice_to_voice"]))
        if report.get("user_text") and (heard or not report.get("interrupted")):
            self._save_turn(report)
        if heard and not report.get("interrupted"):
            self.answered += 1
        self.turnFinished.emit(dict(report))

    def _on_engine_error(self, where: str, message: str) -> None:
        if self.engine_state != "ready":
            return  # a load failure gets its own banner
        stage = ROLE_LABELS.get(where, where)
        self.show_banner(
            f"The {stage} had a problem",
            f"{message}\n\nThe assistant carries on; if it keeps happening, try another model in Settings.",
            retry=False,
        )

    # ================================================================ user actions
    def push_to_talk(self, pressed: bool) -> None:
        if pressed == self._ptt_down:
            return
        if pressed and (self.engine_state != "ready" or self.mode == "muted"):
            return
        self._ptt_down = pressed
        self._set_held(pressed)
        self.host.push_to_talk(pressed)

    def _set_held(self, held: bool) -> None:
        b = self.talk_button
        if bool(b.property("held")) != held:
            b.setProperty("held", held)
            b.style().unpolish(b)
            b.style().polish(b)
        b.setText("Listening… release to send" if held else "Hold to talk")

    def interrupt(self) -> None:
        if self.engine_state == "ready":
            self.host.interrupt("user")
            self.show_status("Stopped", 2000)

    def set_mode(self, mode: str) -> None:
        if self.lock_mode and mode != self.lock_mode:
            self.show_status("The virtual microphone needs always-listening mode", 4000)
            self._set_mode_ui(self.mode)
            return
        if self._ptt_down and mode != "ptt":
            self._ptt_down = False  # the held turn carries on under the new mode
            self._set_held(False)
        self.mode = mode
        self._set_mode_ui(mode)
        self.host.set_mode(mode)
        if not self.lock_mode:
            self.ui_prefs.mode = mode
            prefs.save_ui_prefs(self.ui_prefs)
        self._on_state(self.engine.orchestrator.state if self.engine is not None else self.state.state)

    def _set_mode_ui(self, mode: str) -> None:
        for m, button in self.mode_buttons.items():
            button.setChecked(m == mode)
        for m, act in self.mode_actions.items():
            act.setChecked(m == mode)
        key = QKeySequence(self.ui_prefs.ptt_key).toString(QKeySequence.SequenceFormat.NativeText) or "Space"
        self.mode_hint.setText(MODE_HINT[mode].format(key=key))
        self.talk_button.setToolTip(f"Hold while you speak (or hold {key} while this window has focus)")
        self._set_ready_ui(self.engine_state == "ready")

    def _set_ready_ui(self, ready: bool) -> None:
        ready = ready and not self._closing
        self.talk_button.setEnabled(ready and self.mode != "muted")
        self.stop_button.setEnabled(ready)
        self.act_stop.setEnabled(ready)
        if not ready and self.engine_state == "loading":
            self.conversation.set_hint("Loading the models… you can talk as soon as they are ready.")
        elif self.engine_state == "failed":
            self.conversation.set_hint("The assistant is not available — see the message above.")
        else:
            self.conversation.set_hint("Say something, or hold the Talk button.")

    def new_conversation(self) -> None:
        self.host.new_conversation()
        self.conversation.clear()
        self.conversation_id = None
        self._carried = None
        self.history_panel.set_current(None)
        self.show_status("New conversation: the assistant starts fresh", 3000)

    def open_conversation(self, conversation_id: int) -> None:
        turns = self.history.turns(conversation_id)
        self.conversation.show_turns(turns)
        self.conversation_id = conversation_id
        self._carried = None
        memory: list[tuple[str, str, bool]] = []
        for t in turns:
            memory.append(("user", t.user_text, False))
            memory.append(("assistant", t.assistant_text, t.interrupted))
        self.host.new_conversation(memory=memory)
        self.history_panel.set_current(conversation_id)
        self.show_status("Conversation reopened: new turns continue it", 3000)

    def _on_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            self.new_conversation()

    def _save_turn(self, report: Mapping[str, Any]) -> None:
        try:
            if self.conversation_id is None:
                self.conversation_id = self.history.new_conversation()
            self.history.add_turn(self.conversation_id, TurnRecord.from_report(report))
        except Exception:  # noqa: BLE001 - a full disk must not end the conversation
            log.exception("saving the turn to the history failed")
            self.show_status("The turn could not be saved to the history", 5000)
            return
        self.history_panel.set_current(self.conversation_id)

    # ---------------- devices ----------------
    def _fill_devices(self, devices: DeviceList) -> None:
        for combo, names, key, default in (
            (self.input_combo, devices.inputs, "input_device", devices.default_input),
            (self.output_combo, devices.outputs, "output_device", devices.default_output),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(f"System default ({default})" if default else "System default", None)
            for name in names:
                combo.addItem(name, name)
            current = getattr(self.settings, key)
            if current:
                i = combo.findData(current)
                if i < 0:
                    combo.addItem(f"{current} (not connected)", current)
                    i = combo.count() - 1
                combo.setCurrentIndex(i)
            combo.setEnabled(bool(names))
            combo.blockSignals(False)
        self.audio_note.setText(devices.problem or "A new choice is opened at once and remembered.")

    def _device_chosen(self, key: str, combo: QComboBox) -> None:
        value = combo.currentData()
        try:
            prefs.save_engine_settings({key: value})
        except OSError as exc:
            self.show_status(f"The choice could not be saved: {exc}", 5000)
            return
        self.host.apply_live({key: value})
        self.show_status(
            f"{'Microphone' if key == 'input_device' else 'Speaker'}: {combo.currentText()}", 3000
        )

    # ---------------- settings ----------------
    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.host.settings, self.ui_prefs, self)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.values(), dialog.prefs()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.settings_dialog = dialog
        return dialog

    def apply_settings(self, values: Mapping[str, Any], ui: prefs.UiPrefs) -> None:
        """Persist what changed, apply it live where possible, reload models when needed."""
        changes = prefs.diff(self.host.settings, values)
        if changes:
            try:
                prefs.save_engine_settings(changes)
            except (OSError, ValueError) as exc:
                QMessageBox.warning(self, "Settings not saved", f"The settings could not be saved: {exc}")
                return
        theme_changed = ui.theme != self.ui_prefs.theme
        self.ui_prefs = ui
        prefs.save_ui_prefs(ui)
        self._set_mode_ui(self.mode)
        if theme_changed:
            self.apply_theme(ui.theme)
        reload = {k: v for k, v in changes.items() if k in prefs.RELOAD_KEYS}
        live = {k: v for k, v in changes.items() if k not in prefs.RELOAD_KEYS}
        if live:
            self.host.apply_live(live)
        if reload:
            new = self.host.settings.updated({})
            for k, v in changes.items():
                setattr(new, k, v)
            self.engine_state = "loading"
            self.state.set_state("loading")
            self._set_ready_ui(False)
            self.progress.show()
            self.progress.setRange(0, 0)
            self.host.restart(new)
            self.settings = new
            self.show_status("Reloading the models…")
        elif changes:
            self.show_status("Settings saved and applied", 3000)

    def apply_theme(self, name: str) -> None:
        app = QApplication.instance()
        self.colors = theme.apply(app, name)  # type: ignore[arg-type]
        self.latency_plot.apply_colors(self.colors)

    # ---------------- helpers ----------------
    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.status_text.setText(text)
        if timeout_ms:
            QTimer.singleShot(timeout_ms, lambda t=text: self._clear_status(t))

    def _clear_status(self, text: str) -> None:
        if self.status_text.text() == text:
            if self.engine_state == "ready" and self.ready_seconds is not None:
                self.status_text.setText(f"Ready · models loaded in {self.ready_seconds:.1f} s")
            else:
                self.status_text.setText("")

    def show_banner(self, title: str, text: str, *, retry: bool, settings: bool = False) -> None:
        self.banner_title.setText(title)
        self.banner_text.setText(text)
        self.banner_retry.setVisible(retry)
        self.banner_settings.setVisible(settings)
        self.banner.setAccessibleName(title)
        self.banner.show()

    def _show_shortcuts(self) -> None:
        key = QKeySequence(self.ui_prefs.ptt_key).toString(QKeySequence.SequenceFormat.NativeText)
        QMessageBox.information(
            self,
            "Keyboard shortcuts",
            f"Hold {key}: push to talk (while this window has focus)\n"
            "Esc: stop the assistant\nCtrl+1 / 2 / 3: always listening / push to talk / muted\n"
            "Ctrl+N: new conversation\nCtrl+,: settings\nCtrl+Q: quit\n\n"
            "A system-wide push-to-talk hotkey is not available in this version.",
        )

    # ---------------- push-to-talk key ----------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        et = event.type()
        if et not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        if not self.isActiveWindow() or QApplication.activeModalWidget() is not None:
            return False
        seq = QKeySequence(self.ui_prefs.ptt_key)
        if seq.isEmpty() or event.key() != seq[0].key():
            return False
        focus = QApplication.focusWidget()
        if isinstance(focus, TEXT_INPUTS) or (focus is not None and focus.window() is not self):
            return False
        if not event.isAutoRepeat():
            self.push_to_talk(et == QEvent.Type.KeyPress)
        return True


def _model_names(engine: Any) -> dict[str, str]:
    from app.models import ModelError, entry_by_id

    out: dict[str, str] = {}
    for role, m in getattr(engine, "models", {}).items():
        try:
            out[role] = entry_by_id(m.id).name
        except (ModelError, KeyError, AttributeError):
            out[role] = str(getattr(m, "id", role))
    settings = getattr(getattr(engine, "orchestrator", None), "settings", None)
    if settings is not None and settings.llm_server_url:
        out["llm"] = f"server at {settings.llm_server_url}"
    if not out:  # an engine built without the catalog (tests): name the engines' classes
        factories = getattr(getattr(engine, "orchestrator", None), "factories", None)
        for role in ROLE_ORDER:
            fn = getattr(factories, role, None)
            if fn is not None:
                out[role] = getattr(fn, "__name__", type(fn).__name__).strip("<>")
    return out


def _verified(engine: Any, role: str) -> bool:
    m = getattr(engine, "models", {}).get(role)
    return bool(m is not None and m.verified)


def _model_tip(engine: Any, role: str) -> str:
    m = getattr(engine, "models", {}).get(role)
    if m is None:
        return ROLE_LABELS[role]
    check = "sha256 verified" if m.verified else "not checksum-verified"
    return (
        f"{ROLE_LABELS[role].capitalize()}: {m.id}\n{m.path}\n{m.size / 1e6:.0f} MB · {m.licence} · {check}"
    )
