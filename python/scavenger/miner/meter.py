"""Hash-rate meter: rates over the last 10 s, 60 s and 15 min (XMRig's three columns).

Batches report (time, hashes) when they finish; a rate is the hashes of the batches that ended inside the
window divided by the window, or by the time since the first sample while the meter is younger than the
window (so the first minute does not show a rate diluted by time the miner was not running yet).

Those are wall-clock averages: a miner that waits between challenges (the demo's easy ones are solved in a
second, then it idles until the next) shows a small number there. ``hashing_rate`` is the other figure: the
hashes divided by the time actually spent hashing (the batches' own durations), i.e. what the machine does
while it works, comparable with ``scavenger bench``; ``busy`` is the share of the window spent hashing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOWS = (10.0, 60.0, 900.0)


class HashRateMeter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, int, float]] = deque()  # (end time, hashes, seconds hashing)
        self._lock = threading.Lock()
        self._start: float | None = None
        self.total = 0

    def add(self, hashes: int, elapsed: float | None = None) -> None:
        """Record ``hashes`` computed in a batch that just ended (``elapsed`` seconds long, if known)."""
        now = self._clock()
        with self._lock:
            if self._start is None:
                self._start = now - (elapsed or 0.0)
            self._samples.append((now, hashes, elapsed or 0.0))
            self.total += hashes
            horizon = now - WINDOWS[-1]
            while self._samples and self._samples[0][0] < horizon:
                self._samples.popleft()

    def rate(self, window: float) -> float:
        now = self._clock()
        with self._lock:
            if self._start is None:
                return 0.0
            span = min(window, now - self._start)
            if span <= 0:
                return 0.0
            since = now - window
            hashes = sum(n for t, n, _ in self._samples if t >= since)
        return hashes / span

    def hashing_rate(self, window: float = WINDOWS[1]) -> float:
        """Hashes per second of hashing over the batches that ended in the last ``window`` seconds (0 if none
        reported its duration)."""
        since = self._clock() - window
        with self._lock:
            recent = [(n, busy) for t, n, busy in self._samples if t >= since and busy > 0]
        seconds = sum(busy for _, busy in recent)
        return sum(n for n, _ in recent) / seconds if seconds > 0 else 0.0

    def busy(self, window: float = WINDOWS[1]) -> float:
        """Share (0..1) of the last ``window`` seconds (or of the meter's age, if younger) spent hashing."""
        now = self._clock()
        with self._lock:
            if self._start is None:
                return 0.0
            span = min(window, now - self._start)
            seconds = sum(busy for t, _, busy in self._samples if t >= now - window)
        return min(1.0, seconds / span) if span > 0 else 0.0

    def rates(self) -> tuple[float, float, float]:
        return (self.rate(WINDOWS[0]), self.rate(WINDOWS[1]), self.rate(WINDOWS[2]))
