"""Fault injection and rate limiting, applied in front of the API routes (never to /_sim/*).

A rule fires for the next ``count`` matching requests (or forever when count is None) with the given
probability. Kinds: an error status with the server's JSON envelope, an HTML bot-checkpoint page, or
``slow``: the request is fully processed and committed, then the reply is held back ``delay`` seconds
so a client timeout hits a request that in fact succeeded."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

ENDPOINTS = frozenset(
    {"terms", "register", "challenge", "solution", "donate_to", "work_to_star_rate", "statistics"}
)
KINDS = frozenset({"403", "429", "500", "502", "503", "html", "slow"})
_MAX_DELAY = 300.0


class FaultSpecError(ValueError):
    pass


@dataclass
class FaultRule:
    kind: str
    endpoints: frozenset[str] | None = None  # None: every API endpoint
    count: int | None = 1  # None: until cleared
    probability: float = 1.0
    retry_after: float | None = None  # seconds, sent as Retry-After on 429/503/html
    delay: float = 0.0  # for "slow"
    status: int = 429  # HTTP status of the "html" page (Vercel's checkpoint answers 429)
    fired: int = field(default=0)

    @classmethod
    def from_json(cls, spec: Any) -> FaultRule:
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault rule must be a JSON object")
        unknown = set(spec) - {"kind", "endpoints", "count", "probability", "retry_after", "delay", "status"}
        if unknown:
            raise FaultSpecError(f"unknown fault rule fields: {sorted(unknown)}")
        kind = str(spec.get("kind", ""))
        if kind not in KINDS:
            raise FaultSpecError(f"fault kind {kind!r} is not one of {sorted(KINDS)}")
        endpoints = spec.get("endpoints")
        if endpoints is not None:
            if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
                raise FaultSpecError("endpoints must be a list of endpoint names")
            bad = set(endpoints) - ENDPOINTS
            if bad:
                raise FaultSpecError(f"unknown endpoints {sorted(bad)}; known: {sorted(ENDPOINTS)}")
        try:
            count = spec.get("count", 1)
            count = None if count is None else int(count)
            probability = float(spec.get("probability", 1.0))
            retry_after = spec.get("retry_after")
            retry_after = None if retry_after is None else float(retry_after)
            delay = float(spec.get("delay", 0.0))
            status = int(spec.get("status", 429))
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int() of a JSON 1e999
            raise FaultSpecError(f"bad number in fault rule: {exc}") from None
        if count is not None and count < 1:
            raise FaultSpecError("count must be >= 1 or null")
        if not 0.0 <= probability <= 1.0:
            raise FaultSpecError("probability must be within [0, 1]")
        if not 0.0 <= delay <= _MAX_DELAY or (retry_after is not None and not 0 <= retry_after <= _MAX_DELAY):
            raise FaultSpecError(f"delay and retry_after must be within [0, {_MAX_DELAY}] seconds")
        if not 400 <= status <= 599:
            raise FaultSpecError("status must be a 4xx or 5xx code")
        if kind == "slow" and delay <= 0:
            raise FaultSpecError("a slow rule needs delay > 0")
        return cls(
            kind,
            None if endpoints is None else frozenset(endpoints),
            count,
            probability,
            retry_after,
            delay,
            status,
        )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["endpoints"] = None if self.endpoints is None else sorted(self.endpoints)
        return data


class FaultPlan:
    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_json() for rule in self._rules]

    def pick(self, endpoint: str) -> FaultRule | None:
        """The first matching rule that fires for this request (consumes one of its count)."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoints is not None and endpoint not in rule.endpoints:
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count == 0:
                        self._rules.remove(rule)
                return rule
        return None


class RateLimiter:
    """Sliding window per client address; ``limit`` 0 disables it."""

    def __init__(self, limit: int = 0, window: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self.configure(limit, window)

    def configure(self, limit: int, window: float) -> None:
        if limit < 0 or not (math.isfinite(window) and window > 0):  # NaN/inf would break Retry-After
            raise ValueError(f"rate limit must be >= 0 requests per window > 0 s, got {limit}/{window}")
        with self._lock:
            self.limit = limit
            self.window = window
            self._hits.clear()

    def check(self, client: str) -> float | None:
        """None if allowed, else seconds until a slot frees (for Retry-After)."""
        if self.limit == 0:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.0)
            hits.append(now)
            if len(self._hits) > 10_000:  # bound memory under address-spraying clients
                self._hits = {k: v for k, v in self._hits.items() if v}
            return None


def retry_after_header(seconds: float) -> str:
    """HTTP wants whole seconds; rounding up keeps a client that obeys it from arriving early."""
    return str(max(0, math.ceil(seconds)))
