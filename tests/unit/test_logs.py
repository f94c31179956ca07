"""Each log line names the turn its stage thread was working on."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from app.logs import TurnFilter, current_turn
from app.pipeline.worker import BoundedQueue, Worker


@dataclass
class Item:
    turn_id: int
    gen: int = 0


class Recording(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(TurnFilter())
        self.setFormatter(logging.Formatter("[turn %(turn)s] %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_a_stage_logs_with_the_turn_it_handles_and_none_after():
    handled = threading.Event()
    logger = logging.getLogger("test.stage")
    handler = Recording()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    idled = threading.Event()

    class Stage(Worker):
        name = "test-stage"

        def handle(self, item: Item) -> None:
            logger.info("working")
            handled.set()

        def idle(self) -> None:
            if handled.is_set() and not idled.is_set():
                logger.info("idle, same thread, after the turn")
                idled.set()

    inbox = BoundedQueue(4)
    stage = Stage(inbox)
    stage.start()
    try:
        inbox.put(Item(turn_id=7))
        assert handled.wait(5) and idled.wait(5)
        logger.info("outside any turn")
    finally:
        stage.stop()
        assert stage.join(5)
        logger.removeHandler(handler)
    assert handler.lines == [
        "[turn 7] working",
        "[turn -] idle, same thread, after the turn",
        "[turn -] outside any turn",
    ]
    assert current_turn() is None
