"""Log records carry the turn they belong to: each stage thread names the turn it is working on."""

from __future__ import annotations

import logging
import threading

_local = threading.local()


def set_turn(turn_id: int | None) -> None:
    """The turn this thread is handling now (None between turns)."""
    _local.turn = turn_id


def current_turn() -> int | None:
    return getattr(_local, "turn", None)


class TurnFilter(logging.Filter):
    """Adds ``record.turn``: the turn id of the thread that logged, or ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        turn = current_turn()
        record.turn = "-" if turn is None else turn
        return True
