"""``hearken calibrate`` run from the window: a child process at a lower priority, its progress as
signals.  The window never waits for it, and a native crash in it takes only the child down."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QProcess, Signal

from app.calibrate import child_command, parse_progress
from app.config import Settings

log = logging.getLogger(__name__)


class CalibrationRunner(QObject):
    """One calibration at a time; ``command`` builds the child's command line (tests replace it)."""

    progress = Signal(int, int, str)  # steps done, steps in all, what it measures now
    finished = Signal(object)  # the entry it stored (dict, as ``app.calibration`` keeps it)
    failed = Signal(str)  # one line: why there is no result

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.command: Callable[[Settings], list[str]] = child_command
        self.last_entry: dict[str, Any] | None = None  # the latest result of this window's runs
        self.last_progress = ""
        self._proc: QProcess | None = None
        self._err = ""  # stderr not yet split into lines
        self._other: list[str] = []  # stderr lines that are not progress (the end of a traceback)

    @property
    def running(self) -> bool:
        return self._proc is not None

    def start(self, settings: Settings) -> bool:
        """Start measuring in the background; False when a calibration already runs."""
        if self._proc is not None:
            return False
        program, *args = self.command(settings)
        proc = QProcess(self)
        proc.setProgram(program)
        proc.setArguments(args)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._error)
        self._proc, self._err, self._other, self.last_progress = proc, "", [], ""
        log.info("calibration started: %s %s", program, " ".join(args))
        proc.start()
        return True

    def stop(self) -> None:
        """End a running calibration (the window closes): no result, no signal."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.blockSignals(True)
        proc.kill()
        proc.waitForFinished(3000)
        proc.deleteLater()

    def _read_stderr(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._err += bytes(proc.readAllStandardError().data()).decode("utf-8", "replace")
        *lines, self._err = self._err.split("\n")
        for line in lines:
            step = parse_progress(line)
            if step is not None:
                self.last_progress = step[2]
                self.progress.emit(*step)
            elif line.strip():
                self._other = [*self._other[-19:], line.rstrip()]

    def _done(self) -> QProcess | None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.deleteLater()
        return proc

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._proc is not None:
            self._done()
            self.failed.emit("the calibration could not be started")

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        proc = self._proc
        if proc is None:
            return
        self._read_stderr()
        out = bytes(proc.readAllStandardOutput().data()).decode("utf-8", "replace")
        self._done()
        entry: Any = None
        if code == 0 and status == QProcess.ExitStatus.NormalExit:
            try:
                entry = json.loads(out)
            except ValueError:
                entry = None
        if not isinstance(entry, dict):
            why = self._other[-1] if self._other else f"it ended with exit code {code}"
            if status != QProcess.ExitStatus.NormalExit:
                why = "it crashed" + (f" ({self._other[-1]})" if self._other else "")
            log.error("calibration failed: %s\n%s", why, "\n".join(self._other))
            self.failed.emit(why)
            return
        self.last_entry = entry
        self.finished.emit(entry)
