"""The benchmark's picture: per-stage stacked bars and latency over turns, drawn with QPainter.

Drawn offscreen on a ``QImage`` (``QT_QPA_PLATFORM=offscreen`` when no display is
set), so it needs no plotting library beyond the Qt the app already ships.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Keys are the serial pieces of the critical path (app.tools.bench_path.SEGMENT_NAMES), bottom to top.
ENGINE_COLOURS = {
    "wait_and_stt": "#9aa5b1",
    "llm_to_first_clause": "#2f80ed",
    "tts_first_clause": "#27ae60",
    "held_for_end_of_turn": "#f0b429",
    "output": "#8e44ad",
}
BASELINE_COLOURS = {
    "end_of_turn_wait": "#9aa5b1",
    "stt": "#e67e22",
    "llm_full": "#2f80ed",
    "tts_full": "#27ae60",
    "output": "#8e44ad",
}


def _app() -> Any:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A QApplication, not a bare QGuiApplication: a window opened later in the same process (the
    # test suite) needs the widgets' application, and Qt allows one application per process.
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(["hearken-bench"])
    return app


def _nice_max(value: float) -> float:
    for step in (250, 500, 1000, 2000, 5000, 10000):
        top = step * (int(value // step) + 1)
        if top / step <= 8:
            return float(top)
    return float(value * 1.1 or 1.0)


def draw(summary: dict[str, Any], path: Path, width: int = 1400, height: int = 900) -> Path:
    """Writes a PNG with the stacked per-turn stages (top) and voice-to-voice over turns (bottom)."""
    _app()
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

    per_turn = summary["per_turn"]
    base = summary.get("baseline") or {}
    seg_p50 = summary.get("segments_p50") or {}
    img = QImage(width, height, QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(13)
    p.setFont(font)
    pub = summary["public"]
    m = pub["machine"]
    title = (
        f"Hearken voice-to-voice: p50 {pub['voice_to_voice_ms']['p50']} ms, p95 {pub['voice_to_voice_ms']['p95']} ms; "
        f"plain cascade p50 {pub['baseline_voice_to_voice_ms']['p50']} ms; ratio {pub['ratio_p50']}   "
        f"({m['cpu']}, {m['cores']} cores)"
    )
    p.setPen(QColor("black"))
    p.drawText(QRectF(20, 8, width - 40, 22), Qt.AlignmentFlag.AlignLeft, title)

    def panel(top: float, bottom: float, ymax: float, label: str) -> tuple[float, float, float, float]:
        left, right = 70.0, width - 300.0
        p.setPen(QPen(QColor("#cccccc"), 1))
        for i in range(6):
            y = bottom - (bottom - top) * i / 5
            p.drawLine(QPointF(left, y), QPointF(right, y))
            p.setPen(QColor("#555555"))
            p.drawText(QRectF(0, y - 8, left - 6, 16), Qt.AlignmentFlag.AlignRight, f"{ymax * i / 5:.0f}")
            p.setPen(QPen(QColor("#cccccc"), 1))
        p.setPen(QColor("black"))
        p.drawText(QRectF(left, top - 22, right - left, 18), Qt.AlignmentFlag.AlignLeft, label)
        return left, right, top, bottom

    # ---- top: stacked bars per turn, then the medians of ours and the cascade
    bars: list[tuple[str, dict[str, float], dict[str, str]]] = [
        (str(r["turn"]), r["segments_ms"], ENGINE_COLOURS) for r in per_turn if r["voice_to_voice_ms"]
    ]
    bars.append(("ours p50", {k: v for k, v in seg_p50.items() if v is not None}, ENGINE_COLOURS))
    if base.get("segments_p50"):
        bars.append(
            ("cascade", {k: v for k, v in base["segments_p50"].items() if v is not None}, BASELINE_COLOURS)
        )
    tallest = max((sum(max(0.0, v) for v in segs.values()) for _, segs, _ in bars), default=1000.0)
    typical = max(sum(max(0.0, v) for v in bars[-1][1].values()), 1000.0)
    ymax = _nice_max(min(tallest, 2.5 * typical))  # outliers are clipped and labelled
    left, right, top, bottom = panel(
        60, 470, ymax, "time from end of speech to first audible sample, per stage (ms)"
    )
    n = max(1, len(bars))
    slot = (right - left) / n
    bw = max(3.0, slot * 0.7)
    for i, (name, segs, colours) in enumerate(bars):
        x = left + i * slot + (slot - bw) / 2
        y = bottom
        for key, colour in colours.items():
            v = max(0.0, float(segs.get(key) or 0.0))
            h = min((bottom - top) * v / ymax, y - top)
            p.fillRect(QRectF(x, y - h, bw, h), QColor(colour))
            y -= h
        total = sum(max(0.0, float(v or 0.0)) for v in segs.values())
        if total > ymax:
            p.setPen(QColor("#c0392b"))
            p.drawText(QRectF(x - 25, top - 16, bw + 50, 14), Qt.AlignmentFlag.AlignHCenter, f"{total:.0f}")
        if n <= 25 or i % max(1, n // 25) == 0 or i >= n - 2:
            p.setPen(QColor("#333333"))
            label = {"ours p50": "ours", "cascade": "cascade"}.get(name, name)
            dy = 14 if name == "cascade" and slot < 45 else 0  # narrow bars: two summary labels, two lines
            p.drawText(QRectF(x - 20, bottom + 2 + dy, bw + 40, 16), Qt.AlignmentFlag.AlignHCenter, label)
    y_target = bottom - (bottom - top) * 700.0 / ymax
    p.setPen(QPen(QColor("#c0392b"), 1, Qt.PenStyle.DashLine))
    p.drawLine(QPointF(left, y_target), QPointF(right, y_target))
    legend = [
        ("pause + STT / cascade: wait", ENGINE_COLOURS["wait_and_stt"]),
        ("cascade: STT", BASELINE_COLOURS["stt"]),
        ("LLM to 1st clause / all", ENGINE_COLOURS["llm_to_first_clause"]),
        ("TTS 1st clause / all", ENGINE_COLOURS["tts_first_clause"]),
        ("held for end of turn", ENGINE_COLOURS["held_for_end_of_turn"]),
        ("to first audible sample", ENGINE_COLOURS["output"]),
        ("700 ms target", "#c0392b"),
        ("bars: turns, our p50, cascade p50", "#ffffff"),
    ]
    for i, (key, colour) in enumerate(legend):
        ly = top + i * 20
        p.fillRect(QRectF(right + 15, ly, 14, 12), QColor(colour))
        p.setPen(QColor("black"))
        p.drawText(QRectF(right + 35, ly - 2, 260, 16), Qt.AlignmentFlag.AlignLeft, key)

    # ---- bottom: voice-to-voice over turns (ours and the cascade on the same question)
    ours = [(r["turn"], r["voice_to_voice_ms"]) for r in per_turn if r["voice_to_voice_ms"]]
    theirs = [(r["turn"], r["baseline_ms"]) for r in per_turn if r["baseline_ms"]]
    values = sorted(v for _, v in ours + theirs)
    median = values[len(values) // 2] if values else 1000.0
    vmax = _nice_max(min(max(values + [1000.0]), max(3.0 * median, 1500.0)))
    left, right, top, bottom = panel(540, 860, vmax, "voice-to-voice over the conversation (ms)")
    turns = max([t for t, _ in ours + theirs] + [2])

    def pt(turn: float, v: float) -> QPointF:
        return QPointF(
            left + (right - left) * (turn - 1) / max(1, turns - 1),
            bottom - (bottom - top) * min(v, vmax) / vmax,
        )

    for series, colour in ((theirs, "#e67e22"), (ours, "#2f80ed")):
        p.setPen(QPen(QColor(colour), 2))
        for (t1, v1), (t2, v2) in zip(series, series[1:], strict=False):
            p.drawLine(pt(t1, v1), pt(t2, v2))
        p.setBrush(QColor(colour))
        for t, v in series:
            p.drawEllipse(pt(t, v), 3, 3)
            if v > vmax:
                p.drawText(
                    QRectF(pt(t, v).x() - 30, top - 16, 60, 14), Qt.AlignmentFlag.AlignHCenter, f"{v:.0f}"
                )
    p.setPen(QPen(QColor("#c0392b"), 1, Qt.PenStyle.DashLine))
    p.drawLine(pt(1, 700), pt(turns, 700))
    for i, (key, colour) in enumerate((("ours", "#2f80ed"), ("plain cascade (same question)", "#e67e22"))):
        ly = top + i * 20
        p.fillRect(QRectF(right + 15, ly, 14, 12), QColor(colour))
        p.setPen(QColor("black"))
        p.drawText(QRectF(right + 35, ly - 2, 260, 16), Qt.AlignmentFlag.AlignLeft, key)
    p.setPen(QColor("#333333"))
    p.drawText(QRectF(left, bottom + 4, right - left, 16), Qt.AlignmentFlag.AlignHCenter, "turn")
    p.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not img.save(str(path), "PNG"):
        raise OSError(f"{path}: could not write the PNG")
    return path
