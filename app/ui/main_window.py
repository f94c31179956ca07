"""The main window: puts its parts together, wires them, closes cleanly and applies new settings.

Each part owns one thing: ``WindowBody`` the layout (header, history, conversation, details),
``StatusLine`` the status bar, ``WindowMenus`` the menus and shortcuts, ``LoadController`` the
engine's loading and its messages, ``ConversationController`` the turns on screen and in the history,
``TalkController`` the modes, push-to-talk and Stop, ``CalibrationRunner`` the machine's calibration
(``hearken calibrate`` in a child process).  What they know of the engine is one shared
``EngineStatus``.  The widgets and the state other code reads stay reachable on the window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QWidget

from app.config import Settings
from app.history import History
from app.ui import icons, prefs, theme
from app.ui.bridge import EngineBridge
from app.ui.calibration_runner import CalibrationRunner
from app.ui.conversation_controller import ConversationController
from app.ui.engine_status import EngineStatus
from app.ui.host import EngineHost
from app.ui.hotkeys.manager import GlobalKeys
from app.ui.load_controller import FIRST_RUN_NOTE_MS, LoadController
from app.ui.menus import WindowMenus, make_tray, show_shortcuts
from app.ui.meters import STATE_TEXT
from app.ui.notify import DesktopNotifier
from app.ui.settings_dialog import SettingsDialog
from app.ui.status_line import StatusLine
from app.ui.talk_controller import TalkController
from app.ui.window_body import WindowBody

log = logging.getLogger(__name__)


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
        self.history = history if history is not None else History()
        self.ui_prefs = ui_prefs if ui_prefs is not None else prefs.load_ui_prefs()
        self.colors = colors or theme.resolve(self.ui_prefs.theme)
        self.lock_mode = lock_mode  # e.g. "always" with a virtual microphone
        mode = lock_mode or self.ui_prefs.mode
        host.settings.mode = mode
        self.bridge = EngineBridge(host, self)
        self.engine_status = EngineStatus()
        self._can_close = False
        self._finished = False
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

        self.body = body = WindowBody(self.colors, self.history, host, self.show_status)
        self.setCentralWidget(body)
        self.status_line = StatusLine(self.statusBar(), self.engine_status)
        self.menus = WindowMenus(self)
        self.conversations = ConversationController(
            host=host,
            bridge=self.bridge,
            history=self.history,
            view=body.conversation,
            history_panel=body.history_panel,
            latency=body.details.latency,
            status=self.show_status,
            parent=self,
        )
        self.talk = TalkController(
            self,
            host=host,
            engine_status=self.engine_status,
            header=body.header,
            controls=body.controls,
            menus=self.menus,
            conversation=body.conversation,
            ui_prefs=lambda: self.ui_prefs,
            status=self.show_status,
            mode=mode,
            lock_mode=lock_mode,
        )
        self.global_keys = GlobalKeys(self.talk.push_to_talk, parent=self)  # started by the launcher
        self.load = LoadController(
            host=host,
            bridge=self.bridge,
            engine_status=self.engine_status,
            body=body,
            status_line=self.status_line,
            talk=self.talk,
            lock_mode=lock_mode,
            parent=self,
        )
        self.calibration = CalibrationRunner(self)
        self._calibration_tried = False  # the first start's calibration runs once per window
        self._calibration_first = False  # the one running is the first start's
        self._expose_widgets()
        self._connect()
        self.talk.show_mode()
        self.talk.show_ready(False)
        self.tray = make_tray(self, self.menus)
        self.notifier = DesktopNotifier(self, tray=self.tray)
        self.bridge.alarmFired.connect(self.notifier.notify)
        self.notifier.shown.connect(lambda _how, summary, _body: self.show_status(summary, 10_000))
        body.set_tab_order()
        QApplication.instance().installEventFilter(self.talk)
        geo, split = prefs.load_window_state()
        if geo is not None:
            self.restoreGeometry(geo)
        if split is not None:
            body.splitter.restoreState(split)

    def _expose_widgets(self) -> None:
        """The widgets the tests and the automation reach through the window."""
        body = self.body
        self.splitter = body.splitter
        self.conversation = body.conversation
        self.history_panel = body.history_panel
        self.state = body.header.state
        self.mode_buttons = body.header.mode_buttons
        self.settings_button = body.header.settings_button
        self.talk_button = body.controls.talk_button
        self.stop_button = body.controls.stop_button
        self.mode_hint = body.controls.mode_hint
        self.banner = body.banner
        self.banner_title = body.banner.title
        self.banner_text = body.banner.text
        self.banner_settings = body.banner.settings_button
        self.banner_retry = body.banner.retry_button
        self.latency_bar = body.details.latency.bar
        self.latency_plot = body.details.latency.plot
        self.alarms_panel = body.details.alarms
        self.model_labels = body.details.models.labels
        self.status_text = self.status_line.text

    def _connect(self) -> None:
        b = self.bridge
        b.stopped.connect(self._on_stopped)
        b.stateChanged.connect(self.talk.on_state)
        b.stateChanged.connect(self._show_state_in_tray)
        b.level.connect(self.body.header.level_meter.set_level)
        b.alarmsChanged.connect(self.body.details.alarms.set_alarms)
        self.conversations.turnFinished.connect(self.turnFinished)
        self.body.header.settings_button.clicked.connect(self.open_settings)
        self.body.banner.settings_button.clicked.connect(self.open_settings)
        self.menus.act_settings.triggered.connect(self.open_settings)
        self.menus.act_new.triggered.connect(self.conversations.new_conversation)
        self.menus.act_quit.triggered.connect(self.close)
        self.menus.act_shortcuts.triggered.connect(lambda: show_shortcuts(self, self.ui_prefs.ptt_key))
        b.ready.connect(self._calibrate_if_due)
        self.calibration.progress.connect(self._on_calibration_progress)
        self.calibration.finished.connect(self._on_calibrated)
        self.calibration.failed.connect(self._on_calibration_failed)

    # ================================================================ what the parts own
    @property
    def settings(self) -> Settings:
        """The settings the engine was last (re)started with."""
        return self.load.settings

    @property
    def mode(self) -> str:
        return self.talk.mode

    @property
    def engine(self) -> Any:
        return self.engine_status.engine

    @property
    def ready_seconds(self) -> float | None:
        return self.engine_status.ready_seconds

    @property
    def load_error(self) -> tuple[str, str] | None:
        return self.engine_status.load_error

    @property
    def _closing(self) -> bool:
        return self.engine_status.closing

    @property
    def conversation_id(self) -> int | None:
        return self.conversations.conversation_id

    @property
    def answered(self) -> int:
        return self.conversations.answered

    @property
    def reports(self) -> list[dict[str, Any]]:
        return self.conversations.reports

    def start(self) -> None:
        """Show the models loading and start them in the background."""
        self.load.start()

    def push_to_talk(self, pressed: bool) -> None:
        self.talk.push_to_talk(pressed)

    def interrupt(self) -> None:
        self.talk.interrupt()

    def _show_state_in_tray(self, state: str) -> None:
        """The tray says whether Hearken waits for its wake word or listens, also while minimised."""
        tray = getattr(self, "tray", None)
        if tray is not None:
            tray.setToolTip(f"Hearken — {STATE_TEXT.get(state, state)}")

    def set_mode(self, mode: str) -> None:
        self.talk.set_mode(mode)

    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.status_line.show(text, timeout_ms)

    # ================================================================ showing and closing
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.shown_at is None:
            QTimer.singleShot(0, self._first_paint)

    def _first_paint(self) -> None:
        self.shown_at = time.perf_counter()
        log.debug("window painted %.0f ms after it was created", (self.shown_at - self._t_created) * 1000)
        self.shown.emit()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        closing = self.engine_status.closing
        if self._can_close or self.host.state in ("idle", "stopped") and not closing:
            self._finish_close()
            event.accept()
            return
        event.ignore()
        if closing:
            return
        self.engine_status.closing = True
        self.state.set_state("stopping")
        self.show_status("Stopping…")
        self.talk.show_ready(False)
        self.host.stop()
        QTimer.singleShot(10_000, self._force_close)  # threads are daemons: never hang on exit

    def _force_close(self) -> None:
        if not self._can_close:
            log.warning("the engine did not report stopping in time; closing anyway")
            self._can_close = True
            self.close()

    def _on_stopped(self) -> None:
        if self.engine_status.closing:
            self._can_close = True
            self.close()

    def _finish_close(self) -> None:
        if self._finished:
            return
        self._finished = True
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.talk)
        self.bridge.stop_draining()
        self.calibration.stop()
        self.global_keys.stop()
        self.host.close()
        self.notifier.close()
        try:
            prefs.save_window_state(self.saveGeometry(), self.splitter.saveState())
        except Exception:  # noqa: BLE001 - never block closing on preferences
            log.exception("saving the window state failed")
        if self.tray is not None:
            self.tray.hide()
        self.closed.emit()

    # ================================================================ calibration
    def _calibrate_if_due(self, _seconds: float) -> None:
        """First start with these models on this machine: measure it in the background, once the
        first start's preflight verdict has been read.  Not in an unattended run (a virtual
        microphone plays a file): measuring beside it would disturb both."""
        status = self.host.calibration
        if status is None or not status.due or self._calibration_tried or self.lock_mode is not None:
            return
        self._calibration_tried = True
        delay = FIRST_RUN_NOTE_MS if self.load.first_run_note_shown else 0
        QTimer.singleShot(delay, self._first_calibration)

    def _first_calibration(self) -> None:
        if not (self._finished or self.engine_status.closing):
            self.calibrate_now(first=True)

    def calibrate_now(self, first: bool = False) -> bool:
        """Run ``hearken calibrate`` in a child process (False: one runs already)."""
        self._calibration_first = first
        started = self.calibration.start(self.host.settings)
        if started:
            self.status_line.progress.show()
            self.status_line.set_progress(0, 1)
            self.show_status(self._calibration_line("starting"))
        return started

    def _calibration_line(self, text: str) -> str:
        lead = "First start on this computer: measuring its speed" if self._calibration_first else (
            "Measuring this computer's speed"
        )
        return f"{lead} to choose the language model's threads ({text})…"

    def _on_calibration_progress(self, done: int, total: int, text: str) -> None:
        self.status_line.progress.show()
        self.status_line.set_progress(done, total)
        self.show_status(self._calibration_line(text))

    def _on_calibrated(self, entry: dict[str, Any]) -> None:
        from app.calibration import describe

        self.status_line.hide_progress()
        text = f"Calibrated in {float(entry.get('seconds', 0)):.0f} s. {describe(entry)}"
        status = self.host.calibration
        now = (status.threads.threads, status.threads.batch_threads) if status and status.threads else None
        in_use = entry.get("in_use") or {}
        new = (in_use.get("threads"), in_use.get("batch_threads"))
        if now is None or new == now:
            self.show_status(text, 15_000)
            return
        idle = self.body.header.state.state in ("listening", "waiting", "idle", "muted")
        if self.engine_status.ready and idle and self.conversations.conversation_id is None:
            self.load.reload(self.host.settings.updated({}))
            self.show_status(f"{text} Reloading the models to use it…")
        else:
            self.show_status(f"{text} It applies the next time the models load.", 15_000)

    def _on_calibration_failed(self, why: str) -> None:
        self.status_line.hide_progress()
        self.show_status(f"Measuring this computer's speed failed ({why}): the default threads stay", 15_000)

    def _calibration_text(self) -> str:
        from app.calibration import describe

        if self.calibration.running:
            return f"Measuring… ({self.calibration.last_progress or 'starting'})"
        status = self.host.calibration
        return describe(self.calibration.last_entry or (status.entry if status is not None else None))

    # ================================================================ settings
    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(
            self.host.settings,
            self.ui_prefs,
            self,
            global_key_status=self.global_keys.status,
            calibration_text=self._calibration_text(),
            calibration_running=self.calibration.running,
        )
        self.global_keys.statusChanged.connect(dialog.show_global_key_status)
        dialog.calibrateRequested.connect(self.calibrate_now)
        self.calibration.progress.connect(dialog.show_calibration_progress)
        self.calibration.finished.connect(dialog.show_calibration_result)
        self.calibration.failed.connect(dialog.show_calibration_failure)
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
        global_key_changed = ui.global_ptt_key != self.ui_prefs.global_ptt_key
        self.ui_prefs = ui
        prefs.save_ui_prefs(ui)
        self.talk.show_mode()
        if global_key_changed and self.global_keys.started:
            self.global_keys.start(ui.global_ptt_key)
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
            self.load.reload(new)
        elif changes:
            self.show_status("Settings saved and applied", 3000)

    def apply_theme(self, name: str) -> None:
        app = QApplication.instance()
        self.colors = theme.apply(app, name)  # type: ignore[arg-type]
        self.body.details.latency.plot.apply_colors(self.colors)
        self.body.details.alarms.apply_colors(self.colors)
