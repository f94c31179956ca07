"""The conversation: chat bubbles, live partial transcripts, emotion chips, interrupted replies."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme

log = logging.getLogger(__name__)

BUBBLE_WIDTH = 0.74  # of the visible width
STICK_PX = 32  # "at the bottom" tolerance for auto-scroll


def emotion_text(tags: Mapping[str, Any]) -> tuple[str, str]:
    """Chip text and tooltip for an emotion dict (``EmotionTags.to_dict()``)."""
    label = str(tags.get("label") or "neutral")
    conf = float(tags.get("confidence") or 0.0)
    text = f"{label.capitalize()} · {conf:.0%}"
    lines = [f"Emotion: {label} ({conf:.0%} confident)"]
    cues = list(tags.get("cues") or ())
    lines.append("Cues: " + (", ".join(cues) if cues else "none stood out"))
    if tags.get("arousal") is not None and tags.get("valence") is not None:
        lines.append(f"Arousal {float(tags['arousal']):+.2f} · valence {float(tags['valence']):+.2f}")
    scores = tags.get("scores") or {}
    if scores:
        top = sorted(scores.items(), key=lambda kv: -kv[1])[:3]
        lines.append("Also: " + ", ".join(f"{k} {v:.0%}" for k, v in top if k != label))
    return text, "\n".join(lines)


class Chip(QLabel):
    def __init__(self, tags: Mapping[str, Any], parent: QWidget | None = None) -> None:
        text, tip = emotion_text(tags)
        super().__init__(text, parent)
        self.setObjectName("chip")
        color = theme.EMOTION_COLORS.get(str(tags.get("label")), "#7d8597")
        self.setStyleSheet(f"QLabel#chip {{ background: {color}; }}")
        self.setToolTip(tip)
        self.setAccessibleName(f"Emotion {tags.get('label')}, {float(tags.get('confidence') or 0):.0%}")
        self.setAccessibleDescription(tip)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # keyboard users can reach the tooltip text
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)


class Bubble(QFrame):
    """One message: text, optional chips, and a small meta line."""

    def __init__(self, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName("bubble")
        self.setProperty("role", role)
        self.setProperty("partial", False)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Minimum)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 9, 14, 9)
        lay.setSpacing(5)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setStyleSheet("font-size: 14px;")
        lay.addWidget(self.text)
        self.unheard = QLabel()
        self.unheard.setObjectName("unheard")
        self.unheard.setWordWrap(True)
        self.unheard.setTextFormat(Qt.TextFormat.PlainText)
        self.unheard.hide()
        lay.addWidget(self.unheard)
        self.chips = QHBoxLayout()
        self.chips.setSpacing(6)
        self.chips.setContentsMargins(0, 0, 0, 0)
        self.chip_widgets: list[Chip] = []
        lay.addLayout(self.chips)
        meta_row = QHBoxLayout()
        meta_row.setSpacing(8)
        self.meta = QLabel()
        self.meta.setObjectName("bubbleMeta")
        self.mark = QLabel("■ interrupted")
        self.mark.setObjectName("interruptedMark")
        self.mark.hide()
        meta_row.addWidget(self.meta)
        meta_row.addWidget(self.mark)
        meta_row.addStretch(1)
        lay.addLayout(meta_row)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.max_width = 480
        self.set_meta("You" if role == "user" else "Hearken")

    def set_max_width(self, width: int) -> None:
        """Bubbles grow with their text up to ``width``, then wrap."""
        self.max_width = max(160, width)
        self.setMaximumWidth(self.max_width)
        self._fit()

    def _fit(self) -> None:
        inner = self.max_width - 28
        widest = 0
        for label in (self.text, self.unheard, self.meta):
            if label.isVisibleTo(self) or label is self.text:
                fm = label.fontMetrics()
                for line in label.text().splitlines() or [""]:
                    widest = max(widest, fm.horizontalAdvance(line) + 4)
        self.text.setMinimumWidth(min(inner, max(40, widest)))

    def set_meta(self, text: str) -> None:
        self.meta.setText(text)
        self._fit()

    def set_text(self, text: str, *, partial: bool = False) -> None:
        self.text.setText(text)
        self._fit()
        if bool(self.property("partial")) != partial:
            self.setProperty("partial", partial)
            self.style().unpolish(self)
            self.style().polish(self)
            for child in self.findChildren(QLabel):
                child.style().unpolish(child)
                child.style().polish(child)
        who = "You" if self.role == "user" else "Hearken"
        self.setAccessibleName(f"{who}: {text}")

    def set_emotion(self, tags: Mapping[str, Any] | None) -> None:
        for chip in self.chip_widgets:
            chip.setParent(None)
            chip.deleteLater()
        self.chip_widgets = []
        while self.chips.count():
            self.chips.takeAt(0)
        if tags:
            chip = Chip(tags, self)
            self.chips.addWidget(chip)
            self.chip_widgets.append(chip)
            self.chips.addStretch(1)

    def set_interrupted(self, heard: str, full: str) -> None:
        self.mark.show()
        self.mark.setToolTip("You interrupted this reply; only the words shown were heard.")
        rest = full[len(heard) :].strip() if full.startswith(heard) else ""
        if rest:
            self.unheard.setText(f"Not heard: {rest}")
            self.unheard.show()
            self._fit()
        self.setAccessibleName(f"Hearken, interrupted. Heard: {heard or 'nothing'}")


class ConversationView(QScrollArea):
    """Chat bubbles, newest at the bottom; follows new text unless the user scrolled up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.canvas = QWidget()
        self.canvas.setObjectName("chatCanvas")
        self.rows = QVBoxLayout(self.canvas)
        self.rows.setContentsMargins(18, 16, 18, 16)
        self.rows.setSpacing(10)
        self.empty = QLabel("Say something, or hold the Talk button.")
        self.empty.setObjectName("hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.rows.addWidget(self.empty, 1)
        self.rows.addStretch(1)
        self.setWidget(self.canvas)
        self._bubbles: dict[tuple[object, str], Bubble] = {}
        self._rows: dict[tuple[object, str], QWidget] = {}
        self._stick = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._range_changed)
        self.jump = QPushButton("↓ Latest", self.viewport())
        self.jump.setAccessibleName("Jump to the latest message")
        self.jump.setCursor(Qt.CursorShape.PointingHandCursor)
        self.jump.hide()
        self.jump.clicked.connect(self.scroll_to_bottom)
        self.viewport().installEventFilter(self)

    # ---------------- scrolling ----------------
    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - STICK_PX
        if self._stick:
            self.jump.hide()

    def _range_changed(self, _lo: int, hi: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(hi)
        else:
            self.jump.show()
            self._place_jump()

    def scroll_to_bottom(self) -> None:
        self._stick = True
        self.jump.hide()
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    @property
    def following(self) -> bool:
        return self._stick

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.viewport() and event.type() == QEvent.Type.Resize:
            self._place_jump()
            width = int(self.viewport().width() * BUBBLE_WIDTH)
            for b in self._bubbles.values():
                b.set_max_width(width)
        return super().eventFilter(obj, event)

    def _place_jump(self) -> None:
        vp = self.viewport()
        self.jump.adjustSize()
        self.jump.move(vp.width() - self.jump.width() - 16, vp.height() - self.jump.height() - 12)
        self.jump.raise_()

    # ---------------- bubbles ----------------
    def bubble(self, key: object, role: str) -> Bubble:
        b = self._bubbles.get((key, role))
        if b is not None:
            return b
        self.empty.hide()
        b = Bubble(role, self.canvas)
        b.set_max_width(max(260, int(self.viewport().width() * BUBBLE_WIDTH)))
        row = QWidget(self.canvas)
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        if role == "user":
            lay.addStretch(1)
            lay.addWidget(b)
        else:
            lay.addWidget(b)
            lay.addStretch(1)
        # user bubble first, then the reply, whatever order events arrive in
        index = self.rows.count() - 1
        if role == "user" and (key, "assistant") in self._rows:
            index = self.rows.indexOf(self._rows[(key, "assistant")])
        self.rows.insertWidget(index, row)
        self._bubbles[(key, role)] = b
        self._rows[(key, role)] = row
        return b

    def has(self, key: object, role: str) -> bool:
        return (key, role) in self._bubbles

    def get(self, key: object, role: str) -> Bubble | None:
        return self._bubbles.get((key, role))

    def remove(self, key: object, role: str) -> None:
        row = self._rows.pop((key, role), None)
        self._bubbles.pop((key, role), None)
        if row is not None:
            self.rows.removeWidget(row)
            row.setParent(None)
            row.deleteLater()
        if not self._bubbles:
            self.empty.show()

    def clear(self) -> None:
        for key, role in list(self._bubbles):
            self.remove(key, role)
        self._stick = True

    def set_hint(self, text: str) -> None:
        self.empty.setText(text)

    def bubbles(self) -> list[Bubble]:
        out = []
        for i in range(self.rows.count()):
            w = self.rows.itemAt(i).widget()
            if w is not None and w is not self.empty:
                out += [b for b in w.findChildren(Bubble)]
        return out

    # ---------------- turns ----------------
    def user_partial(self, key: object, text: str) -> None:
        b = self.bubble(key, "user")
        b.set_text(text or "…", partial=True)
        b.set_meta("You · speaking…")

    def user_final(
        self, key: object, text: str, emotion: Mapping[str, Any] | None, when: float | None = None
    ) -> None:
        b = self.bubble(key, "user")
        b.set_text(text, partial=False)
        b.set_emotion(emotion)
        b.set_meta("You · " + _clock(when))

    def assistant_text(self, key: object, text: str) -> None:
        b = self.bubble(key, "assistant")
        b.set_text(text, partial=True)
        b.set_meta("Hearken · answering…")

    def assistant_final(
        self,
        key: object,
        heard: str,
        full: str,
        interrupted: bool,
        when: float | None = None,
        latency_ms: float | None = None,
    ) -> None:
        b = self.bubble(key, "assistant")
        b.set_text(heard if (heard or not interrupted) else "(interrupted before any word was heard)")
        meta = "Hearken · " + _clock(when)
        if latency_ms is not None:
            meta += f" · answered in {latency_ms:,.0f} ms"
        b.set_meta(meta)
        if interrupted:
            b.set_interrupted(heard, full)

    def set_latency(self, key: object, latency_ms: float) -> None:
        b = self.get(key, "assistant")
        if b is not None and "answered in" not in b.meta.text():
            b.set_meta(b.meta.text() + f" · answered in {latency_ms:,.0f} ms")

    def show_turns(self, turns: list[Any]) -> None:
        """Replace the view with saved turns (``app.history.TurnRecord``)."""
        self.clear()
        for i, t in enumerate(turns):
            key = ("saved", i)
            self.user_final(key, t.user_text, t.emotion, t.created)
            if t.assistant_text or t.interrupted:
                self.assistant_final(
                    key,
                    t.assistant_text,
                    t.assistant_full_text,
                    t.interrupted,
                    t.created,
                    (t.latency or {}).get("voice_to_voice"),
                )
        QTimer.singleShot(0, self.scroll_to_bottom)


def _clock(when: float | None) -> str:
    return time.strftime("%H:%M", time.localtime(when if when is not None else time.time()))
