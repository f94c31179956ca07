"""What the window knows of its engine (loading, ready or failed; closing), shared by its parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class EngineStatus:
    """Written by the window as the host reports; read by the parts that enable controls or word messages."""

    state: str = "loading"  # "loading", "ready" or "failed"
    engine: Any = None  # the engine built last (its models may still be loading)
    engine_mode: str | None = None  # the mode that engine's workers started in
    ready_seconds: float | None = None  # how long the last load took
    load_error: tuple[str, str] | None = None  # (kind, message) of the last load failure
    closing: bool = False  # the window asked the engine to stop and waits for it

    @property
    def ready(self) -> bool:
        return self.state == "ready"
