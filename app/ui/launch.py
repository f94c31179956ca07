"""``hearken gui``: create the application and the window, load the models in the background, run.

``--mic-file FILE`` plays a file into the engine as a virtual microphone once
the models are ready; ``--quit-after-turns N`` closes after N answered turns;
``--screenshot PATH`` saves the window after the last turn (before quitting).

One Hearken at a time: a start while another runs hands its command line to the running one over
the control socket (``app.ui.control``), which brings its window forward, and exits 0.  Runs with
``--mic-file`` / ``--quit-after-turns`` / ``--screenshot`` are automation: they stand alone.
"""

from __future__ import annotations

import argparse
import ctypes.util
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXIT_OK, EXIT_RUNTIME, EXIT_INPUT, EXIT_MODEL, EXIT_DISPLAY = 0, 1, 2, 3, 6  # as app.cli; 4 is audio, 5 native
SCREENSHOT_SETTLE_MS = 600  # let the last bubble, the meters and the plot paint


def display_problem(env: dict[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """One sentence when Qt would have no screen to draw on (instead of Qt aborting)."""
    env = dict(os.environ if env is None else env)
    qpa = env.get("QT_QPA_PLATFORM", "")
    if not platform.startswith("linux") or qpa not in ("", "xcb"):
        return None
    if not qpa and env.get("WAYLAND_DISPLAY"):
        return None
    if not env.get("DISPLAY"):
        if qpa == "xcb":
            return (
                "hearken: QT_QPA_PLATFORM=xcb but DISPLAY is not set, so there is no screen for the window."
            )
        return (
            "hearken: there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set); "
            "run it in a desktop session, or try the headless demo: hearken demo (all commands: hearken --help)."
        )
    if ctypes.util.find_library("xcb-cursor") is None:
        return (
            "hearken: the X11 window needs the libxcb-cursor0 library (apt-get install libxcb-cursor0), "
            "which is missing."
        )
    return None


@dataclass
class GuiRun:
    """What ``run_gui`` set up; tests drive the same objects."""

    app: Any
    window: Any
    host: Any
    args: argparse.Namespace
    t0: float
    exit_code: int = EXIT_OK
    screenshot: Path | None = None
    stall: Any = None
    startup_ms: float | None = None
    events: list[str] = field(default_factory=list)


def _audio_factory(args: argparse.Namespace, host_ref: list[Any]) -> Any:
    from app.filemode import VirtualAudio
    from app.ui.host import MicFileFinished

    mic_file = getattr(args, "mic_file", None)
    if mic_file is not None:

        def finished(path: str) -> None:
            if host_ref:
                host_ref[0].events.put(MicFileFinished(path))

        return lambda: VirtualAudio(Path(mic_file), on_finished=finished)
    from app.live import LiveAudioLink

    return lambda: LiveAudioLink(host_ref[0].settings) if host_ref else VirtualAudio()


def create(args: argparse.Namespace, app: Any | None = None) -> GuiRun:
    """Build the application objects (no event loop yet)."""
    t0 = time.perf_counter()
    from PySide6.QtWidgets import QApplication

    from app.ui import prefs, theme
    from app.ui.heartbeat import StallMeter
    from app.ui.host import EngineHost
    from app.ui.icons import app_icon
    from app.ui.main_window import MainWindow

    if app is None:
        app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "hearken"])
    app.setApplicationName("Hearken")
    app.setApplicationDisplayName("Hearken")
    app.setOrganizationName("Hearken")
    app.setDesktopFileName("hearken")
    app.setWindowIcon(app_icon())
    from app.config import settings_from_args

    settings = settings_from_args(args)
    if settings.alarms_db is None:  # the window's timers and reminders live in its history database
        from app.history import default_path

        settings.alarms_db = str(default_path())
    ui_prefs = prefs.load_ui_prefs()
    colors = theme.apply(app, ui_prefs.theme)
    mic_file = getattr(args, "mic_file", None)
    # a virtual microphone plays unattended, so always-listening; a test holding a key may ask for ptt
    lock_mode = (getattr(args, "mic_file_mode", None) or "always") if mic_file is not None else None
    if lock_mode is not None:
        settings.mode = lock_mode
    host_ref: list[Any] = []
    host = EngineHost(settings, audio_factory=_audio_factory(args, host_ref))
    host_ref.append(host)
    window = MainWindow(host, ui_prefs=ui_prefs, colors=colors, lock_mode=lock_mode)
    run = GuiRun(app, window, host, args, t0)
    run.stall = StallMeter(parent=window)
    _follow_system_theme(app, window, ui_prefs)
    _wire_automation(run)
    return run


def _follow_system_theme(app: Any, window: Any, ui_prefs: Any) -> None:
    hints = app.styleHints()
    signal = getattr(hints, "colorSchemeChanged", None)
    if signal is not None:
        signal.connect(
            lambda _scheme: window.apply_theme("system") if window.ui_prefs.theme == "system" else None
        )


def _wire_automation(run: GuiRun) -> None:
    from PySide6.QtCore import QTimer

    args, window = run.args, run.window
    quit_after = getattr(args, "quit_after_turns", None)
    shot = getattr(args, "screenshot", None)
    run.screenshot = Path(shot) if shot else None

    def finish(code: int) -> None:
        if run.screenshot is not None:
            save_screenshot(window, run.screenshot)
        run.exit_code = code
        window.close()

    def on_turn(_report: dict[str, Any]) -> None:
        if not quit_after and run.screenshot is not None:  # keep the picture of the latest turn
            QTimer.singleShot(SCREENSHOT_SETTLE_MS, lambda: save_screenshot(window, run.screenshot))
        if quit_after and window.answered >= quit_after:
            log.info("%d answered turn(s); longest GUI stall %.0f ms", window.answered, run.stall.longest_ms)
            QTimer.singleShot(SCREENSHOT_SETTLE_MS, lambda: finish(EXIT_OK))

    def on_failed(kind: str, _message: str) -> None:
        if quit_after:  # unattended: show the message, take the picture, leave with the CLI's code
            code = {"model": EXIT_MODEL, "input": EXIT_INPUT}.get(kind, EXIT_RUNTIME)
            QTimer.singleShot(SCREENSHOT_SETTLE_MS, lambda: finish(code))

    def on_mic_done(_path: str) -> None:
        if quit_after and window.answered < quit_after:
            log.warning("the microphone file ended after %d answered turn(s)", window.answered)
            QTimer.singleShot(1500, lambda: finish(EXIT_RUNTIME) if window.answered < quit_after else None)

    window.turnFinished.connect(on_turn)
    window.bridge.loadFailed.connect(on_failed)
    window.bridge.micFileFinished.connect(on_mic_done)


def save_screenshot(window: Any, path: Path) -> Path | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixmap = window.grab()
    if pixmap.isNull() or not pixmap.save(str(path), "PNG"):
        log.error("the screenshot could not be saved to %s", path)
        return None
    log.info("screenshot saved to %s (%dx%d)", path, pixmap.width(), pixmap.height())
    return path


def _startup_since_process() -> float | None:
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:  # noqa: BLE001
        return None


def is_automation(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) for k in ("mic_file", "quit_after_turns", "screenshot"))


def claim_instance(args: argparse.Namespace, argv: list[str]) -> tuple[Any, int | None]:
    """(the instance lock, None) to go on; (None, exit code) when a running Hearken took over."""
    if is_automation(args) or sys.platform == "win32":  # the socket and its flock are POSIX (not built here)
        return None, None
    from app.ui import control

    try:
        lock = control.claim()
    except OSError as exc:
        log.warning("no control socket (%s): a second start will not find this one", exc)
        return None, None
    if lock is not None:
        return lock, None
    try:
        control.forward(argv, wait_s=10.0)
    except (OSError, control.ProtocolError) as exc:
        log.warning(
            "another Hearken holds %s but does not answer (%s); starting anyway", control.socket_path(), exc
        )
        return None, None
    log.info("Hearken is already running: its window was brought forward")
    sys.stderr.write("hearken: already running; its window was brought forward\n")
    return None, EXIT_OK


def start_remote(run: GuiRun, lock: Any) -> Any:
    """Serve the control socket (``hearken talk``, a second start) and start the global key."""
    window = run.window
    if not is_automation(run.args):
        window.global_keys.start(window.ui_prefs.global_ptt_key)
    if lock is None:
        return None
    from app.ui.control_server import ControlServer

    server = ControlServer(window, lock)
    if not server.listen():
        lock.release()
        return None
    return server


def run_gui(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Open the desktop app; returns the process exit code."""
    problem = display_problem()
    if problem:
        sys.stderr.write(problem + "\n")
        return EXIT_DISPLAY
    lock, code = claim_instance(args, sys.argv[1:] if argv is None else argv)
    if code is not None:
        return code
    from PySide6.QtCore import qInstallMessageHandler

    previous = qInstallMessageHandler(_qt_to_logging)
    server = None
    try:
        run = create(args)
        window = run.window
        server = start_remote(run, lock)

        def usable() -> None:
            run.startup_ms = ((window.shown_at or time.perf_counter()) - run.t0) * 1000
            since = _startup_since_process()
            log.info(
                "window usable %.0f ms after run_gui (%s since the process started)",
                run.startup_ms,
                f"{since * 1000:.0f} ms" if since is not None else "unknown",
            )

        window.shown.connect(usable)
        window.show()
        run.stall.start()
        window.start()
        window.closed.connect(run.app.quit)
        run.app.exec()
        log.info("longest GUI stall this session: %.0f ms", run.stall.longest_ms)
        if run.exit_code == EXIT_OK and window.load_error is not None:
            kind = window.load_error[0]
            run.exit_code = {"model": EXIT_MODEL, "input": EXIT_INPUT}.get(kind, EXIT_RUNTIME)
        return run.exit_code
    finally:
        if server is not None:
            server.close()
        elif lock is not None:
            lock.release()
        qInstallMessageHandler(previous)


def _qt_to_logging(mode: Any, context: Any, message: str) -> None:
    from PySide6.QtCore import QtMsgType

    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }.get(mode, logging.WARNING)
    logging.getLogger("qt").log(level, "%s", message)
