"""Miner-side statistics reporter: hash rates to ``/insert_stat`` and API replies to ``/insert_api_return``.

Contract (see docs/ARCHITECTURE.md, section Stats):

* ``record_hashes(miner_id, hashes)`` — call from any thread after each search chunk with the number of
  hashes actually computed (``SearchResult.hashes``). O(1), takes a lock for a dict update only.
* ``record_api_event(event)`` — plug into ``ScavengerClient(on_response=reporter.record_api_event)``.
  O(1) append; the event is converted to a row here, sent later.
* ``start()`` (inside a running loop) or ``await run()``; ``await aclose()`` reports the last partial
  interval and flushes what it can within ``close_timeout``.

Every ``interval`` seconds the reporter turns the hash counts into rates over the *measured* elapsed time
(monotonic clock, so rates are neither quantised nor biased upward), emits a row for every miner it has ever
seen (zero rates included), and sends buffered rows in batches (JSON arrays). While a backend is down the
rows stay in bounded in-memory outboxes (oldest dropped first, counted) and are re-sent later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from scavenger import settings
from scavenger.redact import printable, redact_url
from scavenger.stats.config import is_demo_profile, token_problem
from scavenger.stats.outbox import Outbox, Row

log = logging.getLogger(__name__)

DEFAULT_STATS_URL: str = settings.SETTINGS["STATS_BACKEND_URL"].default
DEFAULT_API_URL: str = settings.SETTINGS["API_BACKEND_URL"].default
DEFAULT_INTERVAL: float = settings.SETTINGS["STATS_REPORT_INTERVAL"].default
DEFAULT_BUFFER: int = settings.SETTINGS["STATS_BUFFER_SIZE"].default
DEFAULT_TIMEOUT: float = settings.SETTINGS["STATS_TIMEOUT"].default
BATCH_SIZE = 500
# Statuses that mean "this batch will never be accepted": retrying would block the queue forever.
_PERMANENT_REJECTIONS = {400, 413, 422}


def default_container_id(
    env: Mapping[str, str], hostname: str | None = None, slot: int | None = None
) -> str:
    """Stable identity of this miner: ``STATS_CONTAINER_ID`` if set, else ``miner-<slot>@<host>`` (host:
    ``STATS_HOST_NAME``, else the hostname)
    (``<hostname>`` alone when the slot is unknown), after ``<CONTAINER_PREFIX>/`` when that is set. People
    recognise the slot and the host (a Docker container's hex hostname alone says nothing), and unlike the
    seed's random suffix it survives restarts, so one miner does not become a new series on every restart."""
    explicit = env.get("STATS_CONTAINER_ID", "").strip()
    if explicit:
        return explicit
    host = env.get("STATS_HOST_NAME", "").strip() or hostname or socket.gethostname()
    name = f"miner-{slot}@{host}" if slot is not None else host
    prefix = env.get("CONTAINER_PREFIX", "").strip().rstrip("/")
    return f"{prefix}/{name}" if prefix else name


def progress_url_for(stats_url: str) -> str:
    """``/insert_progress`` on the same backend as ``STATS_BACKEND_URL`` (``.../insert_stat``)."""
    base, _, last = stats_url.rstrip("/").rpartition("/")
    return f"{base}/insert_progress" if last == "insert_stat" else stats_url.rstrip("/") + "/insert_progress"


@dataclass(frozen=True)
class ReporterConfig:
    enabled: bool
    stats_url: str = DEFAULT_STATS_URL
    api_url: str = DEFAULT_API_URL
    token: str = field(default="", repr=False)
    interval: float = DEFAULT_INTERVAL
    container_id: str = field(default_factory=lambda: default_container_id({}))
    default_miner_id: str = "miner-1"
    version: str = "0.1.0"
    buffer_size: int = DEFAULT_BUFFER
    timeout: float = DEFAULT_TIMEOUT
    close_timeout: float = 5.0
    demo: bool = False  # COMPOSE_PROFILES holds "demo": the published default token is not warned about

    def __post_init__(self) -> None:
        if self.enabled and not self.token:
            raise ValueError("ENABLE_STATS_BACKEND is true but STATS_BEARER_TOKEN is empty")
        if not (math.isfinite(self.interval) and self.interval > 0):
            raise ValueError(f"STATS_REPORT_INTERVAL must be > 0, got {self.interval!r}")
        if self.buffer_size < 1:
            raise ValueError(f"STATS_BUFFER_SIZE must be >= 1, got {self.buffer_size!r}")
        if not self.container_id:
            raise ValueError("container_id must not be empty")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, slot: int | None = None) -> ReporterConfig:
        """Seed variable names: ENABLE_STATS_BACKEND, STATS_BACKEND_URL, API_BACKEND_URL,
        STATS_REPORT_INTERVAL, STATS_BEARER_TOKEN, CONTAINER_PREFIX, APP_VERSION; plus STATS_CONTAINER_ID,
        STATS_BUFFER_SIZE, STATS_TIMEOUT. ``slot`` (or INSTANCE_SLOT) names the default miner
        ``miner-<n>``."""
        env = os.environ if env is None else env
        names = ["INSTANCE_SLOT", "ENABLE_STATS_BACKEND", "STATS_BACKEND_URL", "API_BACKEND_URL",
                 "APP_VERSION", "STATS_BEARER_TOKEN", "STATS_REPORT_INTERVAL", "STATS_BUFFER_SIZE",
                 "STATS_TIMEOUT"]
        values = settings.read(names, env)
        if slot is None:
            slot = values["INSTANCE_SLOT"]
        return cls(
            enabled=values["ENABLE_STATS_BACKEND"],
            stats_url=values["STATS_BACKEND_URL"],
            api_url=values["API_BACKEND_URL"],
            token=values["STATS_BEARER_TOKEN"],
            interval=values["STATS_REPORT_INTERVAL"],
            container_id=default_container_id(env, slot=slot),
            default_miner_id=f"miner-{slot if slot is not None else 1}",
            version=values["APP_VERSION"],
            buffer_size=values["STATS_BUFFER_SIZE"],
            timeout=values["STATS_TIMEOUT"],
            demo=is_demo_profile(env),
        )


def _field(event: Any, *names: str) -> Any:
    """First present attribute/key among ``names``: the API client's ApiEvent is an object, tests and
    other callers may pass a plain mapping."""
    for name in names:
        if isinstance(event, Mapping):
            if name in event:
                return event[name]
        elif hasattr(event, name):
            return getattr(event, name)
    return None


def _truncate(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


def _rfc3339(value: Any) -> str:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return stamp.isoformat()
    if isinstance(value, str) and value:
        return value
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class ReporterCounters:
    """Snapshot for logs/metrics: rows delivered, rows dropped (buffer full or rejected), rows pending."""

    stats_sent: int
    api_sent: int
    stats_dropped: int
    api_dropped: int
    rejected: int
    pending_stats: int
    pending_api: int


class StatsReporter:
    def __init__(
        self,
        config: ReporterConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._transport = transport
        self._started_at = clock()
        self._last_tick = self._started_at
        self._hash_lock = threading.Lock()
        self._hashes: dict[str, int] = {}
        self._stats = Outbox(config.buffer_size)
        self._api = Outbox(config.buffer_size)
        self._progress_box = Outbox(config.buffer_size)
        self._progress: dict[str, dict[str, Any]] = {}
        self._progress_unsupported = False
        self._flush_lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._stats_sent = 0
        self._api_sent = 0
        self._rejected = 0
        self._healthy: dict[str, bool] = {}
        # Warned, not refused: mining never depends on statistics. The backend refuses such a token, so
        # without this line the only symptom would be rows buffered forever behind 401s.
        problem = token_problem("STATS_BEARER_TOKEN", config.token, demo=config.demo)
        if config.enabled and problem is not None:
            log.warning("stats: %s; the stats backend refuses it, so no statistics will be stored", problem)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, slot: int | None = None) -> StatsReporter:
        return cls(ReporterConfig.from_env(env, slot=slot))

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    # -- producers (mining threads, API client hook) -------------------------------------------------

    def register_miner(self, miner_id: str) -> None:
        """Report ``miner_id`` from now on even before its first hash (a zero rate is information too)."""
        if not self.config.enabled:
            return
        with self._hash_lock:
            self._hashes.setdefault(miner_id, 0)

    def record_hashes(self, miner_id: str, hashes: int) -> None:
        """Add ``hashes`` computed by ``miner_id``; thread-safe, O(1), never does I/O."""
        if not self.config.enabled:
            return
        if hashes < 0:
            raise ValueError(f"hashes must be >= 0, got {hashes}")
        if not miner_id:
            raise ValueError("miner_id must not be empty")
        with self._hash_lock:
            self._hashes[miner_id] = self._hashes.get(miner_id, 0) + hashes

    def record_progress(self, miner_id: str, progress: Mapping[str, Any]) -> None:
        """The latest cumulative counts of ``miner_id`` (``solutions_found``, ``solutions_accepted``,
        ``solutions_pending``, ``solutions_expired``, ``receipts``, ``estimated_star``,
        ``last_challenge_id``, ``last_difficulty``); sent to ``/insert_progress`` with every report.
        O(1), no I/O: call it as often as the counts change."""
        if not self.config.enabled:
            return
        with self._hash_lock:
            self._progress[miner_id] = dict(progress)

    def record_api_event(self, event: Any, *, miner_id: str | None = None) -> None:
        """Queue one API reply (``scavenger.api`` ApiEvent or a mapping with endpoint, url, address,
        status, body/json, optional payload, miner_id, timestamp). Never raises on odd events: the API
        client calls this after every reply and stats must not break mining."""
        if not self.config.enabled:
            return
        try:
            status = _field(event, "status", "status_code")
            endpoint = str(_field(event, "endpoint") or "unknown")
            row: Row = {
                "container_id": self.config.container_id,
                "miner_id": miner_id or _field(event, "miner_id") or self.config.default_miner_id,
                "wallet_addr": _field(event, "address", "wallet_addr"),
                "endpoint": endpoint,
                "url": redact_url(_field(event, "url") or endpoint),  # stored in PostgreSQL: no secrets
                # Only real HTTP statuses: anything else (0 for "no reply"...) would get the row rejected.
                "status": int(status) if status is not None and 100 <= int(status) <= 599 else None,
                "payload": _field(event, "payload", "request"),
                "api_response": _field(event, "body", "json", "api_response", "response"),
                # The backend's limit; a longer text would get the whole row rejected.
                "description": _truncate(_field(event, "description"), 2000),
                "timestamp": _rfc3339(_field(event, "timestamp")),
            }
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(float("inf"))
            log.warning("stats: ignoring malformed API event (%s)", type(exc).__name__)
            return
        self._api.put(row)

    # -- consumer ------------------------------------------------------------------------------------

    def counters(self) -> ReporterCounters:
        return ReporterCounters(
            stats_sent=self._stats_sent,
            api_sent=self._api_sent,
            stats_dropped=self._stats.dropped,
            api_dropped=self._api.dropped,
            rejected=self._rejected,
            pending_stats=len(self._stats),
            pending_api=len(self._api),
        )

    def tick(self) -> int:
        """Turn the hash counts accumulated since the previous tick into rate rows (queued, not sent).
        Returns how many rows were queued."""
        now = self._clock()
        with self._hash_lock:
            elapsed = now - self._last_tick
            if elapsed <= 0:
                return 0
            snapshot = dict(self._hashes)
            for miner_id in self._hashes:
                self._hashes[miner_id] = 0
            self._last_tick = now
            progress = {m: dict(p) for m, p in self._progress.items()}
        stamp = datetime.now(UTC).isoformat()
        uptime = now - self._started_at
        for miner_id, hashes in snapshot.items():
            self._stats.put(
                {
                    "container_id": self.config.container_id,
                    "miner_id": miner_id,
                    "hash_rate": hashes / elapsed,
                    "timestamp": stamp,
                    "hashes": hashes,
                    "interval_secs": elapsed,
                    "uptime_secs": uptime,
                    "version": self.config.version,
                }
            )
        if not self._progress_unsupported:
            for miner_id, fields in progress.items():
                row = {"container_id": self.config.container_id, "miner_id": miner_id, "timestamp": stamp}
                self._progress_box.put({**row, **fields})
        return len(snapshot)

    async def flush(self) -> None:
        """Tick, then send everything buffered (stats and API rows independently) until empty or the
        backend refuses; undelivered rows stay queued for the next attempt."""
        if not self.config.enabled:
            return
        async with self._flush_lock:
            self.tick()
            client = self._ensure_client()
            await self._drain(client, self._stats, self.config.stats_url, "stats")
            await self._drain(client, self._api, self.config.api_url, "api")
            if not self._progress_unsupported:
                url = progress_url_for(self.config.stats_url)
                await self._drain(client, self._progress_box, url, "progress")

    async def run(self) -> None:
        """Report every ``interval`` seconds until ``aclose()`` (or cancellation)."""
        if not self.config.enabled:
            return
        # start() creates the event up front so that aclose() right after start() can already use it.
        if self._stop is None or self._stop.is_set():
            self._stop = asyncio.Event()
        stop = self._stop
        interval = self.config.interval
        next_at = self._clock() + interval
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - self._clock()))
                return
            # If a flush overran (slow backend), skip the missed slots instead of bursting to catch up.
            next_at = max(next_at + interval, self._clock())
            try:
                await self.flush()
            except Exception:  # a reporter bug must not kill the miner's event loop
                log.exception("stats: report failed")

    def start(self) -> asyncio.Task[None] | None:
        """Run in the background of the current event loop; returns the task (None when disabled)."""
        if not self.config.enabled:
            return None
        if self._task is None or self._task.done():
            self._stop = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self.run(), name="stats-reporter")
        return self._task

    async def aclose(self) -> None:
        """Stop the loop, report the last partial interval and flush, all within ``close_timeout``."""
        deadline = asyncio.get_running_loop().time() + self.config.close_timeout
        task, self._task = self._task, None
        if task is not None:
            # Let a flush in progress finish rather than cancelling it: a request cancelled after the
            # backend committed would be re-sent, and stored twice.
            if self._stop is not None:
                self._stop.set()
            await asyncio.wait({task}, timeout=self.config.close_timeout)
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.config.enabled:
            remaining = max(0.1, deadline - asyncio.get_running_loop().time())
            try:
                await asyncio.wait_for(self.flush(), remaining)
            except TimeoutError:
                log.warning("stats: final flush timed out; %d rows not delivered", self._pending())
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> StatsReporter:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- internals -----------------------------------------------------------------------------------

    def _pending(self) -> int:
        return len(self._stats) + len(self._api) + len(self._progress_box)

    def _ensure_client(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = self.config.timeout
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
                headers={"Authorization": f"Bearer {self.config.token}", "Content-Type": "application/json"},
                transport=self._transport,
            )
        return self._client

    async def _drain(self, client: httpx.AsyncClient, outbox: Outbox, url: str, kind: str) -> None:
        while True:
            batch = outbox.take(BATCH_SIZE)
            if not batch:
                return
            remaining = batch
            try:
                remaining = await self._settle(client, url, kind, batch)
            finally:
                # Also on cancellation: rows taken but not confirmed go back, never silently vanish.
                if remaining:
                    outbox.put_back(remaining)
            if remaining:
                return

    async def _settle(self, client: httpx.AsyncClient, url: str, kind: str, batch: list[Row]) -> list[Row]:
        """Deliver ``batch``; returns the rows still to retry later (empty when all are settled).

        A permanent rejection (400/413/422) of several rows is bisected so that one bad row only costs
        itself, not the 499 good rows sent with it."""
        outcome = await self._post(client, url, kind, batch)
        if outcome == "retry":
            return batch
        if outcome == "stored":
            return []
        if len(batch) == 1:
            self._rejected += 1
            return []
        middle = len(batch) // 2
        rest = await self._settle(client, url, kind, batch[:middle])
        if rest:
            return rest + batch[middle:]
        return await self._settle(client, url, kind, batch[middle:])

    async def _post(self, client: httpx.AsyncClient, url: str, kind: str, batch: list[Row]) -> str:
        """"stored", "rejected" (will never be accepted as is) or "retry"."""
        try:
            response = await client.post(url, content=json.dumps(batch, default=str))
        except httpx.HTTPError as exc:
            self._set_health(kind, False, f"{type(exc).__name__} posting to {redact_url(url)}")
            return "retry"
        status = response.status_code
        if kind == "progress" and status in (404, 405):
            # A backend older than /insert_progress (e.g. the seed's): say so once, stop sending earnings.
            self._progress_unsupported = True
            self._progress_box.take(self.config.buffer_size)
            log.warning("stats: %s does not exist (older backend); earnings are not reported", url)
            return "stored"
        if 200 <= status < 300:
            if kind == "stats":
                self._stats_sent += len(batch)
            else:
                self._api_sent += len(batch)
            self._set_health(kind, True, "")
            return "stored"
        if status in _PERMANENT_REJECTIONS:
            if len(batch) == 1:
                log.error("stats: %s rejected a row with HTTP %d: %s", redact_url(url), status,
                          printable(response.text, 300))
            return "rejected"
        hint = " (check STATS_BEARER_TOKEN)" if status in (401, 403) else ""
        self._set_health(kind, False, f"HTTP {status} from {redact_url(url)}{hint}")
        return "retry"

    def _set_health(self, kind: str, healthy: bool, reason: str) -> None:
        # Log transitions only: a backend down for hours must not flood the miner's log every interval.
        if self._healthy.get(kind, True) == healthy:
            return
        self._healthy[kind] = healthy
        if healthy:
            log.info("stats: %s backend reachable again; %d rows pending", kind, self._pending())
        else:
            log.warning("stats: %s backend unavailable (%s); buffering up to %d rows", kind, reason,
                        self.config.buffer_size)
