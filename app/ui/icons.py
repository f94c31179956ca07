"""Icons drawn for Hearken as small SVGs, tinted to the theme at run time."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app import paths

log = logging.getLogger(__name__)

# 24x24 outline icons; "{c}" is the colour.
_SVG = {
    "mic": (
        '<rect x="9" y="3" width="6" height="11" rx="3" fill="none" stroke="{c}" stroke-width="2"/>'
        '<path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7" fill="none" stroke="{c}" '
        'stroke-width="2" stroke-linecap="round"/>'
    ),
    "mic_off": (
        '<rect x="9" y="3" width="6" height="11" rx="3" fill="none" stroke="{c}" stroke-width="2"/>'
        '<path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7M4 4l16 16" fill="none" stroke="{c}" '
        'stroke-width="2" stroke-linecap="round"/>'
    ),
    "wave": (
        '<path d="M4 10v4M8 7v10M12 4v16M16 8v8M20 10v4" fill="none" stroke="{c}" stroke-width="2" '
        'stroke-linecap="round"/>'
    ),
    "hand": (
        '<path d="M8 13V6.5a1.5 1.5 0 0 1 3 0V12m0-6.5v-1a1.5 1.5 0 0 1 3 0V12m0-5.5a1.5 1.5 0 0 1 3 0V14'
        'a7 7 0 0 1-7 7h-.6a6 6 0 0 1-4.7-2.3L3.5 15.2a1.6 1.6 0 0 1 2.4-2.1L8 15" fill="none" '
        'stroke="{c}" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>'
    ),
    "ear": (
        '<path d="M7 9a5 5 0 0 1 10 0c0 3-3 4-3 7a3 3 0 0 1-5.6 1.5M10 9.5a2 2 0 0 1 4 0" fill="none" '
        'stroke="{c}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>'
    ),
    "stop": '<rect x="6" y="6" width="12" height="12" rx="2.5" fill="{c}"/>',
    "gear": (
        '<circle cx="12" cy="12" r="3.2" fill="none" stroke="{c}" stroke-width="2"/>'
        '<path d="M12 2.8v2.6M12 18.6v2.6M2.8 12h2.6M18.6 12h2.6M5.5 5.5l1.8 1.8M16.7 16.7l1.8 1.8'
        'M5.5 18.5l1.8-1.8M16.7 7.3l1.8-1.8" stroke="{c}" stroke-width="2" stroke-linecap="round"/>'
        '<circle cx="12" cy="12" r="6.6" fill="none" stroke="{c}" stroke-width="2"/>'
    ),
    "plus": '<path d="M12 5v14M5 12h14" stroke="{c}" stroke-width="2.2" stroke-linecap="round"/>',
    "trash": (
        '<path d="M4 7h16M9 7V4.5h6V7M6.5 7l1 13h9l1-13M10 11v5.5M14 11v5.5" fill="none" stroke="{c}" '
        'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>'
    ),
    "export": (
        '<path d="M12 3v12M7.5 7.5 12 3l4.5 4.5M5 14v5.5h14V14" fill="none" stroke="{c}" '
        'stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/>'
    ),
}


def svg_text(name: str, color: str) -> str:
    body = _SVG[name].replace("{c}", color)
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">{body}</svg>'


def render_svg(svg: bytes, size: int) -> QPixmap:
    """An SVG drawn antialiased on a transparent square of ``size`` pixels."""
    renderer = QSvgRenderer(QByteArray(svg))
    image = QImage(QSize(size, size), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return QPixmap.fromImage(image)


@lru_cache(maxsize=128)
def icon(name: str, color: str) -> QIcon:
    """A theme-tinted icon (rendered at 24, 48 and 96 px for crisp scaling)."""
    svg = svg_text(name, color).encode()
    ico = QIcon()
    for size in (24, 48, 96):
        ico.addPixmap(render_svg(svg, size))
    return ico


def app_icon_path() -> Path:
    return paths.resource("assets", "hearken.svg")


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    path = app_icon_path()
    ico = QIcon()
    try:
        data = path.read_bytes()
    except OSError:
        log.warning("app icon missing at %s", path)
        return ico
    for size in (16, 24, 32, 48, 64, 128, 256):
        ico.addPixmap(render_svg(data, size))
    return ico


def write_app_png(out: Path, size: int = 256) -> Path:
    """Render the app icon to a PNG (for packaging and platforms without SVG icons)."""
    render_svg(app_icon_path().read_bytes(), size).save(str(out), "PNG")
    return out
