"""What the Scavenger API has been answering: counts per (endpoint, status), recent failures, and log lines
that tell an operator about every kind of failure without flooding.

Every reply (and every request that got none: ``timeout``, ``network``) is counted under
``(endpoint, status)``. A failure is logged at WARNING the first time its kind, ``(endpoint, status)``,
appears, with its effect ("will retry in 30 s"); later ones of the same kind are counted and summarised in
at most one line per ``summary_every`` seconds ("429 x 57 so far, 12 since the last line"), so a storm of
429s gives one line a minute, not thousands.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("scavenger.api.health")

RECENT_WINDOW = 900.0  # "last 15 min" of the live view


def is_success(status: str) -> bool:
    return status.isdigit() and 200 <= int(status) < 300


@dataclass
class _Kind:
    count: int = 0
    logged_count: int = 0
    last_line: float = float("-inf")


class ApiHealth:
    """Thread-safe; one per process is enough (share it between clients)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, summary_every: float = 60.0) -> None:
        self._clock = clock
        self._summary_every = summary_every
        self._lock = threading.Lock()
        self._responses: Counter[tuple[str, str]] = Counter()
        self._recent: deque[tuple[float, str, str]] = deque()
        self._kinds: dict[tuple[str, str], _Kind] = {}

    def count(self, endpoint: str, status: str) -> None:
        """One reply (``"200"``, ``"429"``...) or one request without reply (``"timeout"``, ``"network"``)."""
        now = self._clock()
        with self._lock:
            self._responses[(endpoint, status)] += 1
            if not is_success(status):
                self._recent.append((now, endpoint, status))
                self._trim(now)

    def failed(
        self, endpoint: str, status: str, message: str, effect: str, level: int = logging.WARNING
    ) -> None:
        """Log a failed request once per kind, then as a periodic summary with the running count."""
        now = self._clock()
        with self._lock:
            kind = self._kinds.setdefault((endpoint, status), _Kind())
            kind.count += 1
            due = kind.count == 1 or now - kind.last_line >= self._summary_every
            if not due:
                return
            since = kind.count - kind.logged_count
            kind.logged_count, kind.last_line = kind.count, now
            count = kind.count
        what = status if not status.isdigit() else f"HTTP {status}"
        if count == 1:
            log.log(level, "API /%s: %s (%s); %s", endpoint, what, message[:200], effect)
        else:
            log.log(
                level,
                "API /%s: %s x %d so far (%d since the last line; latest: %s); %s",
                endpoint, what, count, since, message[:200], effect,
            )

    def responses(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._responses)

    def recent_failures(self, window: float = RECENT_WINDOW) -> dict[str, dict[str, int]]:
        """endpoint -> status -> failures in the last ``window`` seconds."""
        now = self._clock()
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            self._trim(now)
            for t, endpoint, status in self._recent:
                if t >= now - window:
                    by_status = out.setdefault(endpoint, {})
                    by_status[status] = by_status.get(status, 0) + 1
        return out

    def failures(self, endpoint: str) -> int:
        with self._lock:
            return sum(n for (e, s), n in self._responses.items() if e == endpoint and not is_success(s))

    def _trim(self, now: float) -> None:
        horizon = now - RECENT_WINDOW
        while self._recent and self._recent[0][0] < horizon:
            self._recent.popleft()
