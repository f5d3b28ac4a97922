"""PostgreSQL down: the backend answers 503 (not the seed's 200), the reporter keeps its rows and
delivers all of them once the database is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import psycopg

from timing import scaled

from .conftest import Backend, PgCluster, StepClock, make_reporter


async def wait_healthy(backend: Backend, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=scaled(5)) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(backend.url + "/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("backend did not become healthy again")


async def test_outage_gives_503_and_reporter_delivers_after_restart(
    start_backend: Callable[..., Backend], database_url: str, pg_cluster: PgCluster
) -> None:
    backend = start_backend(database_url, STATS_DB_TIMEOUT="0.5")
    clock = StepClock()
    reporter = make_reporter(backend, "CTN/outage", clock, timeout=2.0)
    reporter.record_hashes("miner-1", 100)
    clock.now += 1
    await reporter.flush()
    assert reporter.counters().stats_sent == 1

    pg_cluster.stop()
    try:
        async with httpx.AsyncClient(base_url=backend.url, timeout=scaled(15),
                                     headers={"Authorization": "Bearer " + reporter.config.token}) as client:
            reply = await client.post("/insert_stat", json={
                "container_id": "c", "miner_id": "m", "hash_rate": 1.0,
                "timestamp": datetime.now(UTC).isoformat()})
            assert reply.status_code == 503, reply.text
            assert reply.headers["retry-after"] == "5"
            health = await client.get("/health")
            assert health.status_code == 503 and health.json()["database"] is False
            assert (await client.get("/api/hashrate/summary")).status_code == 503

        for hashes in (200, 300, 400):
            reporter.record_hashes("miner-1", hashes)
            clock.now += 1
            started = time.monotonic()
            await reporter.flush()
            assert time.monotonic() - started < reporter.config.timeout + scaled(2)
        reporter.record_api_event({"endpoint": "/challenge", "url": "https://h/challenge", "status": 200,
                                   "body": {"code": "active"}})
        await reporter.flush()
        counters = reporter.counters()
        assert counters.stats_sent == 1 and counters.pending_stats == 3 and counters.pending_api == 1
        assert counters.stats_dropped == 0
    finally:
        pg_cluster.start()

    await wait_healthy(backend)
    await reporter.aclose()  # no time passed: only the buffered rows are sent
    counters = reporter.counters()
    assert (counters.pending_stats, counters.pending_api) == (0, 0)
    assert (counters.stats_sent, counters.api_sent) == (4, 1)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT hashes, hash_rate FROM stats WHERE container_id = 'CTN/outage'"
                            " ORDER BY timestamp, id").fetchall()
        # Every accepted interval arrived exactly once, in order, with its measured rate.
        assert rows == [(100, 100.0), (200, 200.0), (300, 300.0), (400, 400.0)]
        assert conn.execute("SELECT COUNT(*) FROM api_return").fetchone() == (1,)
