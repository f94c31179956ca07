"""The status bar: one line of what is happening (some lines expire) and the model-loading progress."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from app.ui.engine_status import EngineStatus


class StatusLine:
    """Fills ``bar``; an expired line gives way to "Ready" while the engine is ready, else to nothing."""

    def __init__(self, bar: QStatusBar, engine_status: EngineStatus) -> None:
        self._engine_status = engine_status
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Model loading progress")
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.text = QLabel("Starting…")
        self.text.setAccessibleName("Status")
        bar.addWidget(self.text, 1)
        bar.addPermanentWidget(self.progress)
        bar.setSizeGripEnabled(False)

    def show(self, text: str, timeout_ms: int = 0) -> None:
        self.text.setText(text)
        if timeout_ms:
            QTimer.singleShot(timeout_ms, lambda t=text: self._expire(t))

    def _expire(self, text: str) -> None:
        if self.text.text() == text:  # nothing newer replaced it
            if self._engine_status.ready and self._engine_status.ready_seconds is not None:
                self.text.setText(f"Ready · models loaded in {self._engine_status.ready_seconds:.1f} s")
            else:
                self.text.setText("")

    def loading(self) -> None:
        """Loading without a known end yet (a busy bar)."""
        self.progress.show()
        self.progress.setRange(0, 0)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def hide_progress(self) -> None:
        self.progress.hide()
