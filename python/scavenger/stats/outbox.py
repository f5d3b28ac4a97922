"""Bounded FIFO of rows waiting to be sent to the stats backend.

Thread-safe because mining threads and the event loop both touch it; every operation holds the lock only
for O(batch) list work, never for I/O, so producers are never slowed by a slow or dead backend."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

Row = dict[str, Any]


class Outbox:
    """FIFO that drops the *oldest* rows once ``capacity`` is reached and counts what it dropped."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"outbox capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._rows: deque[Row] = deque()
        self._lock = threading.Lock()
        self._dropped = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def dropped(self) -> int:
        return self._dropped

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, row: Row) -> None:
        with self._lock:
            if len(self._rows) >= self._capacity:
                self._rows.popleft()
                self._dropped += 1
            self._rows.append(row)

    def take(self, limit: int) -> list[Row]:
        """Remove and return up to ``limit`` of the oldest rows (the caller owns them until put back)."""
        with self._lock:
            count = min(limit, len(self._rows))
            return [self._rows.popleft() for _ in range(count)]

    def put_back(self, rows: list[Row]) -> None:
        """Return rows that could not be delivered to the front, keeping their order; if newer rows
        arrived meanwhile and the total exceeds capacity, the oldest are dropped (and counted)."""
        with self._lock:
            self._rows.extendleft(reversed(rows))
            while len(self._rows) > self._capacity:
                self._rows.popleft()
                self._dropped += 1
