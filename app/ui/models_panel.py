"""The Models panel: which speech, language, voice and VAD model the engine uses, and whether it loaded."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.ui.host import ROLE_LABELS
from app.ui.labels import section_title

ROLE_ORDER = ("stt", "llm", "tts", "vad", "turn")
ROLE_TITLE = {"stt": "Speech", "llm": "Language", "tts": "Voice", "vad": "VAD", "turn": "Turn end"}
LOADING = "  ·  loading…"


class ModelsPanel(QFrame):
    """One row per role; "…" until an engine is built, then its model's name as it loads."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        ml = QVBoxLayout(self)
        ml.setContentsMargins(14, 10, 14, 10)
        ml.setSpacing(2)
        ml.addWidget(section_title("Models"))
        self.labels: dict[str, QLabel] = {}
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
            self.labels[role] = value

    def show_loading(self, engine: Any) -> None:
        """An engine was built: name its models, still loading."""
        names = model_names(engine)
        for role, label in self.labels.items():
            label.setText(names.get(role, "—") + LOADING if role in names else "—")
            label.setToolTip(model_tip(engine, role))

    def show_ready(self, engine: Any) -> None:
        """The models loaded: a tick for each whose checksum was verified."""
        names = model_names(engine) if engine is not None else {}
        for role, label in self.labels.items():
            if role in names:
                label.setText(f"{names[role]}  {'✓' if verified(engine, role) else ''}".rstrip())

    def show_not_loaded(self) -> None:
        for label in self.labels.values():
            if label.text().endswith("loading…"):
                label.setText(label.text().replace(LOADING, "  ·  not loaded"))
            elif label.text() == "…":
                label.setText("not loaded")


def model_names(engine: Any) -> dict[str, str]:
    """Role -> the catalog name of the engine's model (or the server, or the engine class in tests)."""
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


def verified(engine: Any, role: str) -> bool:
    m = getattr(engine, "models", {}).get(role)
    return bool(m is not None and m.verified)


def model_tip(engine: Any, role: str) -> str:
    m = getattr(engine, "models", {}).get(role)
    if m is None:
        return ROLE_LABELS[role]
    check = "sha256 verified" if m.verified else "not checksum-verified"
    return (
        f"{ROLE_LABELS[role].capitalize()}: {m.id}\n{m.path}\n{m.size / 1e6:.0f} MB · {m.licence} · {check}"
    )
