"""Fault injection and rate limiting, applied in front of the API routes (never to /_sim/*).

A rule fires for the next ``count`` matching requests (or forever when count is None): on every
``every``-th request it matches (deterministic), or with the given probability, drawn from the rule's own
random generator. That generator is seeded by the rule's ``seed`` or else from the plan's seed
(``--fault-seed``), so a run with the same seed and the same requests fires the same faults.
Kinds: an error status with the server's JSON envelope, an HTML bot-checkpoint page, or
``slow``: the request is fully processed and committed, then the reply is held back ``delay`` seconds
so a client timeout hits a request that in fact succeeded."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
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
    every: int = 1  # fire on every Nth matching request (1: each one)
    seed: int | None = None  # seed of this rule's probability draws; None: derived from the plan's seed
    fired: int = field(default=0)
    matched: int = field(default=0)  # requests that reached it (endpoint matched, earlier rules passed)
    _random: random.Random | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, spec: Any) -> FaultRule:
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault rule must be a JSON object")
        unknown = set(spec) - {"kind", "endpoints", "count", "probability", "retry_after", "delay", "status",
                               "every", "seed"}
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
            every = int(spec.get("every", 1))
            seed = spec.get("seed")
            seed = None if seed is None else int(seed)
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int() of a JSON 1e999
            raise FaultSpecError(f"bad number in fault rule: {exc}") from None
        if count is not None and count < 1:
            raise FaultSpecError("count must be >= 1 or null")
        if not 0.0 <= probability <= 1.0:
            raise FaultSpecError("probability must be within [0, 1]")
        if not 1 <= every <= 1_000_000:
            raise FaultSpecError("every must be within [1, 1000000]")
        if every > 1 and probability < 1.0:
            raise FaultSpecError("use either every (deterministic) or probability, not both")
        if seed is not None and not 0 <= seed < 2**64:
            raise FaultSpecError("seed must be within [0, 2**64)")
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
            every,
            seed,
        )

    def as_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        data["endpoints"] = None if self.endpoints is None else sorted(self.endpoints)
        return data

    def fires(self) -> bool:
        """Counts this request as matched and says whether the rule fires for it."""
        self.matched += 1
        if self.every > 1:
            return self.matched % self.every == 0
        if self.probability >= 1.0:
            return True
        assert self._random is not None, "FaultPlan.add gives every rule its generator"
        return self._random.random() < self.probability


class FaultPlan:
    """The active rules, in order. ``seed`` (``--fault-seed``) makes the probability draws of rules
    without their own seed reproducible; unset, a random one is chosen and kept in ``seed`` (logged at
    start, so a surprising run can be replayed)."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self.seed = random.SystemRandom().getrandbits(32) if seed is None else seed
        self._random = random.Random(self.seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            # Each rule draws from its own generator, so one rule's draws do not depend on how many
            # requests reached another; a rule without seed gets the next seed of the plan's sequence.
            own_seed = rule.seed if rule.seed is not None else self._random.getrandbits(64)
            rule._random = random.Random(own_seed)
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
                if not rule.fires():
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
