"""Side panel: saved conversations (newest first), new, reopen, delete, export."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.history import ConversationSummary, History

log = logging.getLogger(__name__)


def export_conversation(history: History, conversation_id: int, path: Path) -> Path:
    """Write one conversation as Markdown (``.md``) or JSON (any other suffix)."""
    text = (
        history.export_markdown(conversation_id)
        if path.suffix.lower() in (".md", ".markdown")
        else history.export_json(conversation_id)
    )
    path.write_text(text, encoding="utf-8")
    return path


class HistoryPanel(QFrame):
    """Lists conversations; emits ``openRequested(id)``, ``newRequested()`` and ``deleted(id)``."""

    openRequested = Signal(int)
    newRequested = Signal()
    deleted = Signal(int)

    def __init__(self, history: History, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.history = history
        self.current_id: int | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 12, 10, 10)
        lay.setSpacing(8)
        title = QLabel("Conversations")
        title.setObjectName("panelTitle")
        lay.addWidget(title)
        self.new_button = QPushButton("New conversation")
        self.new_button.setAccessibleName("New conversation")
        self.new_button.setToolTip("Start fresh: the assistant forgets this conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.newRequested.emit)
        lay.addWidget(self.new_button)
        self.list = QListWidget()
        self.list.setAccessibleName("Saved conversations")
        self.list.setWordWrap(False)
        self.list.setUniformItemSizes(False)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.itemActivated.connect(self._activated)
        self.list.itemDoubleClicked.connect(self._activated)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        delete = QAction("Delete", self.list)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self.delete_selected)
        self.list.addAction(delete)
        lay.addWidget(self.list, 1)
        self.empty = QLabel("Conversations are saved here as you talk.")
        self.empty.setObjectName("muted")
        self.empty.setWordWrap(True)
        lay.addWidget(self.empty)
        row = QHBoxLayout()
        row.setSpacing(6)
        self.open_button = QPushButton("Open")
        self.open_button.setAccessibleName("Open the selected conversation")
        self.open_button.clicked.connect(self._open_selected)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setAccessibleName("Export the selected conversation")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("As Markdown…", lambda: self.export_selected("md"))
        menu.addAction("As JSON…", lambda: self.export_selected("json"))
        self.export_button.setMenu(menu)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName("Delete the selected conversation")
        self.delete_button.clicked.connect(self.delete_selected)
        for b in (self.open_button, self.export_button, self.delete_button):
            b.setObjectName("small")
        row.addWidget(self.open_button)
        row.addWidget(self.export_button)
        row.addWidget(self.delete_button)
        lay.addLayout(row)
        self.refresh()

    # ---------------- list ----------------
    def refresh(self) -> None:
        selected = self.selected_id()
        self.list.clear()
        for c in self.history.conversations():
            item = QListWidgetItem(self._label(c))
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            item.setToolTip(c.title)
            if c.id == self.current_id:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
            if c.id == selected:
                self.list.setCurrentItem(item)
        self.empty.setVisible(self.list.count() == 0)
        self._update_buttons()

    @staticmethod
    def _label(c: ConversationSummary) -> str:
        when = time.strftime("%d %b %H:%M", time.localtime(c.updated))
        turns = f"{c.turns} turn{'s' if c.turns != 1 else ''}"
        return f"{c.title or 'Untitled'}\n{when} · {turns}"

    def set_current(self, conversation_id: int | None) -> None:
        self.current_id = conversation_id
        self.refresh()

    def selected_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _update_buttons(self) -> None:
        has = self.selected_id() is not None
        for b in (self.open_button, self.export_button, self.delete_button):
            b.setEnabled(has)

    def _activated(self, item: QListWidgetItem) -> None:
        self.openRequested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _open_selected(self) -> None:
        cid = self.selected_id()
        if cid is not None:
            self.openRequested.emit(cid)

    def _context_menu(self, pos: object) -> None:
        item = self.list.itemAt(pos)  # type: ignore[arg-type]
        if item is None:
            return
        menu = QMenu(self)
        menu.addAction("Open", self._open_selected)
        menu.addAction("Export as Markdown…", lambda: self.export_selected("md"))
        menu.addAction("Export as JSON…", lambda: self.export_selected("json"))
        menu.addSeparator()
        menu.addAction("Delete", self.delete_selected)
        menu.popup(self.list.viewport().mapToGlobal(pos))  # type: ignore[arg-type]

    # ---------------- actions ----------------
    def delete_selected(self, *, confirm: bool = True) -> None:
        cid = self.selected_id()
        if cid is None:
            return
        if confirm:
            answer = QMessageBox.question(
                self,
                "Delete conversation",
                "Delete this conversation from the history? This cannot be undone.",
                QMessageBox.StandardButton.Delete | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Delete:
                return
        self.history.delete(cid)
        self.refresh()
        self.deleted.emit(cid)

    def export_selected(self, fmt: str) -> Path | None:
        cid = self.selected_id()
        if cid is None:
            return None
        summary = self.history.summary(cid)
        stem = "".join(ch if ch.isalnum() or ch in " -_" else "" for ch in (summary.title if summary else ""))
        stem = "-".join(stem.split())[:40] or f"conversation-{cid}"
        filt = "Markdown (*.md)" if fmt == "md" else "JSON (*.json)"
        path, _ = QFileDialog.getSaveFileName(self, "Export conversation", f"{stem}.{fmt}", filt)
        if not path:
            return None
        out = Path(path)
        if not out.suffix:
            out = out.with_suffix(f".{fmt}")
        try:
            return export_conversation(self.history, cid, out)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"The conversation could not be written: {exc}")
            return None
