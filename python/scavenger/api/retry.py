"""Retry policy: exponential backoff with full jitter, Retry-After honoured, bounded in attempts and time."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts the first try; ``total_time`` bounds the whole call including waits
    (a wait that would overrun it is not started: the last error is raised instead)."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    total_time: float = 300.0
    honour_retry_after: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0 or self.total_time < 0:
            raise ValueError("retry delays and total_time must be >= 0")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2^(attempt-1))] after failed ``attempt``."""
        ceiling = min(self.max_delay, self.base_delay * (2.0 ** min(max(attempt - 1, 0), 62)))
        return rng.uniform(0.0, ceiling)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        jittered = self.backoff(attempt, rng)
        if retry_after is not None and self.honour_retry_after:
            # The server's wait is a floor; jitter on top keeps many clients from returning in lockstep.
            return retry_after + jittered * 0.1
        return jittered


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)
