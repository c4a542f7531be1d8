"""What returning shoppers bought before, kept in memory so their requests need no query.

A shopper's purchases are read once and kept until an order of the shop is paid,
cancelled or refunded (``forget``), or for ``HISTORY_SECONDS`` at most: another process
of the shop may have sold to them meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

HISTORY_SECONDS = 60.0
HISTORY_SHOPPERS = 10_000
"""The shoppers kept (the least recently asked for go first)."""

Reader = Callable[[str, str], list[int]]
"""(channel, external id) → product ids bought, most recent first."""


class Histories:
    def __init__(self, read: Reader, *, seconds: float = HISTORY_SECONDS,
                 size: int = HISTORY_SHOPPERS) -> None:
        self._read = read
        self._seconds = seconds
        self._size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, str], tuple[tuple[int, ...], float]] = (
            OrderedDict())
        self._generation = 0
        """Counts the ``forget`` calls, so a read that overlapped one is not kept."""

    def get(self, channel: str, external_id: str) -> list[int]:
        key = (channel, external_id)
        now = time.monotonic()
        with self._lock:
            kept, generation = self._kept.get(key), self._generation
            if kept is not None and now - kept[1] < self._seconds:
                self._kept.move_to_end(key)
                return list(kept[0])
        bought = self._read(channel, external_id)
        with self._lock:
            if generation == self._generation:
                self._kept[key] = (tuple(bought), now)
                self._kept.move_to_end(key)
                while len(self._kept) > self._size:
                    self._kept.popitem(last=False)
        return bought

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._kept.clear()
