"""Server-side figures for ``scavenger status``: ``/statistics/{address}`` and ``/work_to_star_rate``.

``/statistics`` is heavily rate-limited on the real server and ``night_allocation`` only changes once a day
(spec 1.7), so replies are cached on disk (outside the config folder, which status never writes) and
re-asked only when older than ``max_age``. Requests go one at a time, ``spacing`` apart; the first 429
stops asking for this run (its Retry-After is reported), and what is missing is taken from the cache even
when stale, marked ``source: "stale"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scavenger import fsafe
from scavenger.miner.apierrors import message_of, retry_after, status_of
from scavenger.miner.earnings import format_iso

CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scavenger"


def cache_path(cache_dir: Path, api_url: str) -> Path:
    digest = hashlib.sha256(api_url.rstrip("/").encode()).hexdigest()[:16]
    return cache_dir / f"status-{digest}.json"


@dataclass
class ServerFigures:
    rates: list[int] | None = None
    rates_source: str | None = None
    statistics: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> figures
    problems: list[str] = field(default_factory=list)
    requests: int = 0


class StatusCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.doc: dict[str, Any] = {"format": CACHE_FORMAT, "rates": None, "statistics": {}}
        try:
            loaded = json.loads(fsafe.read_small(path, 1 << 26) or b"null")
            if isinstance(loaded, dict) and loaded.get("format") == CACHE_FORMAT:
                self.doc = loaded
        except (OSError, ValueError):
            pass  # no cache, or a damaged one: start afresh

    def save(self) -> str | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fsafe.replace_file(self.path, json.dumps(self.doc).encode(), 0o600)
        except OSError as exc:
            return f"API cache {self.path} not written ({exc.strerror or exc})"
        except fsafe.UnsafeFileError as exc:
            return f"API cache not written: {exc}"
        return None


async def fetch_figures(
    api_url: str,
    addresses: list[str],
    *,
    cache_dir: Path,
    max_age: float,
    spacing: float = 0.25,
    timeout: float = 10.0,
) -> ServerFigures:
    from scavenger.api import RetryPolicy, ScavengerClient

    cache = StatusCache(cache_path(cache_dir, api_url))
    figures = ServerFigures()
    now = time.time()
    limited: str | None = None
    rates_entry = cache.doc.get("rates")
    stats_cache: dict[str, Any] = cache.doc.setdefault("statistics", {})
    # One try per request: a person is waiting, and a 429 must stop us rather than be retried into.
    async with ScavengerClient(api_url, timeout=timeout, retry=RetryPolicy(max_attempts=1)) as api:

        async def ask(what: str, call: Callable[[], Awaitable[Any]]) -> Any:
            nonlocal limited
            if limited is not None:
                return None
            if figures.requests:
                await asyncio.sleep(spacing)
            figures.requests += 1
            try:
                return await call()
            except Exception as exc:
                status = status_of(exc)
                if status == 429:
                    wait = retry_after(exc)
                    limited = "API rate limit (429) reached" + (f"; retry after {wait:.0f} s" if wait else "")
                else:
                    figures.problems.append(f"{what}: {message_of(exc)[:160]}")
                return None

        if isinstance(rates_entry, dict) and now - float(rates_entry.get("fetched_at", 0)) < max_age:
            figures.rates, figures.rates_source = list(rates_entry["value"]), "cache"
        else:
            value = await ask("GET /work_to_star_rate", api.work_to_star_rate)
            if value is not None:
                figures.rates, figures.rates_source = list(value), "api"
                cache.doc["rates"] = {"value": figures.rates, "fetched_at": now}
            elif isinstance(rates_entry, dict):
                figures.rates, figures.rates_source = list(rates_entry["value"]), "stale"
        for address in addresses:
            entry = stats_cache.get(address)
            if isinstance(entry, dict) and now - float(entry.get("fetched_at", 0)) < max_age:
                figures.statistics[address] = {**entry, "source": "cache"}
                continue
            reply = await ask(f"GET /statistics/{address[:20]}…", functools.partial(api.statistics, address))
            if reply is not None:
                entry = {
                    "crypto_receipts": reply.local.crypto_receipts,
                    "night_allocation": reply.local.night_allocation,
                    "fetched_at": time.time(),
                }
                stats_cache[address] = entry
                figures.statistics[address] = {**entry, "source": "api"}
            if reply is None and isinstance(entry, dict):
                figures.statistics[address] = {**entry, "source": "stale"}
    if limited is not None:
        missing = sum(1 for a in addresses if a not in figures.statistics)
        figures.problems.append(f"{limited}; {missing} wallet(s) without server figures")
    problem = cache.save()
    if problem:
        figures.problems.append(problem)
    for entry in figures.statistics.values():
        with contextlib.suppress(TypeError, ValueError):
            entry["fetched_at"] = format_iso(float(entry["fetched_at"]))
    return figures
