"""Sorting API failures into what the miner should do about them.

The client raises one type per server condition; the miner only needs to know the consequence, so this reads
the HTTP status and server message (present on every API error) rather than depending on each class name.
"""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    ALREADY_REGISTERED = "already registered"  # register refused as a duplicate: the address IS registered
    ALREADY_EXISTS = "already exists"  # our solution (or an earlier copy of it) is already stored: accepted
    WINDOW_CLOSED = "window closed"
    NOT_REGISTERED = "not registered"
    BAD_SOLUTION = "bad solution"  # difficulty not met: a bug, retrying cannot help
    NOT_FOUND = "not found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate limited"
    TRANSIENT = "transient"  # 5xx, network, timeouts, HTML checkpoint pages
    REJECTED = "rejected"  # any other 4xx


def status_of(exc: BaseException) -> int | None:
    for name in ("status", "status_code", "http_status"):
        value = getattr(exc, name, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def message_of(exc: BaseException) -> str:
    for name in ("server_message", "message", "detail"):
        value = getattr(exc, name, None)
        if isinstance(value, str) and value:
            return value
    return str(exc) or type(exc).__name__


def classify(exc: BaseException) -> Outcome:
    status = status_of(exc)
    text = message_of(exc).lower()
    name = type(exc).__name__.lower()
    if "alreadyregistered" in name or "duplicate registration" in text:
        return Outcome.ALREADY_REGISTERED
    if "already exists" in text or "alreadyexists" in name:
        return Outcome.ALREADY_EXISTS
    if "window closed" in text or "windowclosed" in name:
        return Outcome.WINDOW_CLOSED
    if "not registered" in text or "not accepted terms" in text or "notregistered" in name:
        return Outcome.NOT_REGISTERED
    if "does not meet difficulty" in text or "difficulty" in name:
        return Outcome.BAD_SOLUTION
    if status == 429 or "ratelimit" in name or "toomany" in name:
        return Outcome.RATE_LIMITED
    if status == 409:
        return Outcome.CONFLICT
    if status == 404:
        return Outcome.NOT_FOUND
    if status is None or status >= 500 or status in (403, 408):
        return Outcome.TRANSIENT
    return Outcome.REJECTED


def failure_label(exc: BaseException) -> str:
    """The ``status`` label of a failed request: HTTP status, ``timeout``, ``network`` or ``bad reply``."""
    status = status_of(exc)
    if status is not None:
        return str(status)
    name = type(exc).__name__.lower()
    if "timeout" in name:
        return "timeout"
    if "transport" in name or isinstance(exc, OSError):
        return "network"
    return "bad reply"


def retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def backoff(attempt: int, base: float = 5.0, cap: float = 300.0) -> float:
    """5 s, 10 s, 20 s ... capped at 5 min, as peers found workable against the real server."""
    return float(min(cap, base * (2 ** min(attempt, 16))))
