"""Base worker: one permanent thread feeding one engine from a bounded queue."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from app.logs import set_turn

log = logging.getLogger(__name__)

_STOP = object()


class BoundedQueue:
    """A queue that never blocks the producer: when full it drops the oldest item and counts it."""

    def __init__(self, maxsize: int, name: str = "") -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self.name = name
        self.dropped = 0
        self._lock = threading.Lock()

    def put(self, item: Any, block: bool = False) -> None:
        if block:
            self._q.put(item)
            return
        with self._lock:
            while True:
                try:
                    self._q.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        self._q.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass

    def get(self, timeout: float | None = None) -> Any:
        return self._q.get(timeout=timeout)

    def empty(self) -> bool:
        return self._q.empty()

    def qsize(self) -> int:
        return self._q.qsize()

    def drain(self, keep: Callable[[Any], bool] = lambda _item: False) -> int:
        """Remove queued items (those for which ``keep`` is false); returns how many went."""
        removed = 0
        kept = []
        with self._lock:
            while True:
                try:
                    item = self._q.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP or keep(item):
                    kept.append(item)
                else:
                    removed += 1
            for item in kept:
                self._q.put_nowait(item)
        return removed


class Worker:
    """Runs ``handle(item)`` for each queued item on its own thread.

    Items carrying a stale ``gen`` are dropped before handling.  Exceptions are
    logged and reported through ``on_error`` and the worker carries on.
    """

    name = "worker"

    def __init__(
        self,
        inbox: BoundedQueue,
        *,
        is_stale: Callable[[int], bool] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.inbox = inbox
        self.is_stale = is_stale
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.busy = False
        self.ready = threading.Event()  # set once setup() (model load and warm-up) has finished

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.inbox.put(_STOP, block=False)

    @property
    def alive(self) -> bool:
        """Its thread is running (False before ``start`` and once it has ended, e.g. a failed setup)."""
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def setup(self) -> None:
        """Runs first on the worker's own thread (load or warm up a model here)."""

    def handle(self, item: Any) -> None:
        raise NotImplementedError

    def idle(self) -> None:
        """Called about every 50 ms when no item arrives."""

    def _run(self) -> None:
        try:
            self.setup()
        except BaseException as exc:  # noqa: BLE001 - reported, the worker then serves nothing
            log.error("%s could not start: %s", self.name, exc)
            log.debug("%s setup failure", self.name, exc_info=True)
            if self.on_error:
                self.on_error(self.name, exc)
            return
        self.ready.set()
        while not self._stop.is_set():
            try:
                item = self.inbox.get(timeout=0.05)
            except queue.Empty:
                try:
                    self.idle()
                except Exception as exc:  # noqa: BLE001
                    log.exception("%s: idle step failed", self.name)
                    if self.on_error:
                        self.on_error(self.name, exc)
                continue
            if item is _STOP:
                break
            gen = getattr(item, "gen", None)
            if gen is not None and self.is_stale is not None and self.is_stale(gen):
                continue
            self.busy = True
            set_turn(getattr(item, "turn_id", None))  # every log line of this item names its turn
            try:
                self.handle(item)
            except Exception as exc:  # noqa: BLE001 - a worker survives bad input
                log.exception("%s: failed on %s", self.name, type(item).__name__)
                if self.on_error:
                    self.on_error(self.name, exc)
            finally:
                self.busy = False
                set_turn(None)
