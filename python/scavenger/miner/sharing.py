"""Feeds the instance's journal from the fleet's challenge book and the stats backend, and the book from
what this instance sees on the API (see `scavenger.miner.book`)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scavenger.miner.book import BookEntry, ChallengeBook, parse_entries
from scavenger.miner.journal import Journal
from scavenger.miner.state import MinerState

log = logging.getLogger(__name__)

OPEN_CHALLENGES_PATH = "/api/challenges/open"
# The backend's list is small (a few hundred challenges at most); a larger reply is not its.
MAX_BACKEND_REPLY = 4 << 20

Fetch = Callable[[], Awaitable[Any]]


def open_challenges_url(stats_backend_url: str) -> str:
    """``http://host:8080/insert_stat`` -> ``http://host:8080/api/challenges/open``."""
    parts = urlsplit(stats_backend_url)
    return urlunsplit((parts.scheme, parts.netloc, OPEN_CHALLENGES_PATH, "", ""))


def backend_fetcher(stats_backend_url: str, token: str, timeout: float = 5.0) -> Fetch:
    """A coroutine function returning the backend's open challenges (JSON), or raising on failure."""
    import httpx

    url = open_challenges_url(stats_backend_url)

    async def fetch() -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            client.stream("GET", url, headers=headers) as reply,
        ):
            if reply.status_code != 200:
                raise RuntimeError(f"HTTP {reply.status_code}")
            body = b""
            async for chunk in reply.aiter_bytes():
                body += chunk
                if len(body) > MAX_BACKEND_REPLY:
                    raise RuntimeError(f"reply larger than {MAX_BACKEND_REPLY} bytes")
        return json.loads(body)

    return fetch


class ChallengeSharing:
    def __init__(
        self,
        book: ChallengeBook,
        journal: Journal,
        state: MinerState,
        fetch_backend: Fetch | None = None,
    ) -> None:
        self._book = book
        self._journal = journal
        self._state = state
        self._fetch_backend = fetch_backend
        self._backend_failing: str | None = None

    async def publish(self, challenges: list[dict[str, Any]], source: str = "api") -> None:
        """Share challenges this instance saw (``source`` api) with the other instances on this host."""
        if challenges:
            await asyncio.to_thread(self._book.try_add, [(c, source) for c in challenges])

    async def publish_journal(self) -> None:
        """At start: what this instance's journal already holds and the book may not (older versions)."""
        stored = self._journal.challenges(open_after=time.time())
        await self.publish([c.body for c in stored])

    async def _backend_entries(self) -> list[BookEntry]:
        if self._fetch_backend is None:
            return []
        try:
            document = await self._fetch_backend()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:200]
            if reason != self._backend_failing:
                log.warning("stats backend: open challenges unavailable (%s); using the local book", reason)
            self._backend_failing = reason
            return []
        if self._backend_failing is not None:
            log.info("stats backend open challenges available again")
            self._backend_failing = None
        entries, rejected = parse_entries(document, time.time(), "backend")
        if rejected:
            log.debug("stats backend: %d unusable challenge(s) ignored, e.g. %s", len(rejected), rejected[0])
        return [BookEntry(e.challenge, e.deadline, "backend", e.first_seen) for e in entries]

    async def merge(self) -> int:
        """Record every usable open challenge of the book (and the backend) in the journal; returns how
        many were new to this instance."""
        remote = await self._backend_entries()
        if remote:
            await asyncio.to_thread(self._book.try_add, [(e.challenge, "backend") for e in remote])
        local = await asyncio.to_thread(self._book.open_entries)
        by_id: dict[str, BookEntry] = {e.challenge_id: e for e in remote}
        by_id.update({e.challenge_id: e for e in local})
        new = 0
        for entry in sorted(by_id.values(), key=lambda e: (e.deadline, e.challenge_id)):
            if self._journal.record_challenge(entry.challenge, entry.deadline):
                new += 1
                log.info(
                    "challenge %s from the %s (first seen %s), open until %s",
                    entry.challenge_id,
                    "stats backend" if entry.source == "backend" else f"fleet book ({entry.source})",
                    entry.first_seen,
                    entry.challenge["latest_submission"],
                )
        self._count_sources(by_id)
        return new

    def _count_sources(self, known: dict[str, BookEntry]) -> None:
        counts: Counter[str] = Counter()
        for stored in self._journal.challenges(open_after=time.time()):
            entry = known.get(stored.challenge_id)
            counts[entry.source if entry is not None else "api"] += 1
        self._state.challenge_sources = dict(counts)
