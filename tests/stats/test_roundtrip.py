"""Miner reporter -> real backend process -> real PostgreSQL -> the seed README's SQL, verbatim."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from .conftest import READ_TOKEN, Backend, StepClock, make_reporter

README_SQL = (Path(__file__).with_name("seed_readme_queries.sql")).read_text(encoding="utf-8")


def readme_queries() -> list[str]:
    queries = [q.strip() for q in README_SQL.split(";") if "SELECT" in q]
    assert len(queries) == 4, "the seed README has four hash-rate queries"
    return queries


async def test_reporter_rows_reach_postgres_and_readme_queries_answer(
    start_backend: Callable[..., Backend], database_url: str
) -> None:
    backend = start_backend(database_url)
    clock, clock_b = StepClock(), StepClock()
    reporter_a = make_reporter(backend, "CTN/host-a", clock)
    reporter_b = make_reporter(backend, "CTN/host-b", clock_b)

    # host-a: miner-1 hashes 3000 then 1500 over two 1.5 s intervals; miner-2 registered, never hashes.
    reporter_a.register_miner("miner-2")
    reporter_a.record_hashes("miner-1", 1000)
    reporter_a.record_hashes("miner-1", 2000)
    clock.now += 1.5
    await reporter_a.flush()
    reporter_a.record_hashes("miner-1", 1500)
    # two API replies for miner-1 of host-a, as the API client's on_response would deliver them
    reporter_a.record_api_event({"endpoint": "/challenge", "url": "https://api.example/challenge",
                                 "address": None, "status": 200, "body": {"code": "active"}})
    reporter_a.record_api_event({"endpoint": "/solution", "url": "https://api.example/solution/a/b/c",
                                 "address": "addr_test1xyz", "status": 201, "body": {"crypto_receipt": {}}})
    clock.now += 1.5
    await reporter_a.flush()
    # host-b: one miner at 250 H/s over 4 s
    reporter_b.record_hashes("miner-1", 1000)
    clock_b.now += 4.0
    await reporter_b.flush()
    # No time passed since the last flush: closing adds no partial-interval row.
    await reporter_a.aclose()
    await reporter_b.aclose()
    assert reporter_a.counters().stats_sent == 4  # 2 intervals x 2 miners (a zero row included)
    assert reporter_a.counters().api_sent == 2
    assert reporter_b.counters().pending_stats == 0

    # An old sample (1 hour ago, sent directly with the seed's body) is outside the 5-minute window.
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with backend.client() as client:
        reply = client.post("/insert_stat", json={"container_id": "CTN/host-b", "miner_id": "miner-1",
                                                   "hash_rate": 50.0, "timestamp": old,
                                                   "uptime_secs": 5, "version": "0.1.0"})
        assert reply.status_code == 200, reply.text

    with psycopg.connect(database_url) as conn:
        raw = conn.execute(
            "SELECT container_id, miner_id, hash_rate, hashes, interval_secs FROM stats"
            " WHERE hashes IS NOT NULL ORDER BY id").fetchall()
        # Exact rates from counts over measured intervals; zero rates are reported, not skipped.
        assert raw == [
            ("CTN/host-a", "miner-2", 0.0, 0, 1.5),
            ("CTN/host-a", "miner-1", 2000.0, 3000, 1.5),
            ("CTN/host-a", "miner-2", 0.0, 0, 1.5),
            ("CTN/host-a", "miner-1", 1000.0, 1500, 1.5),
            ("CTN/host-b", "miner-1", 250.0, 1000, 4.0),
        ]

        q_combined, q_avg, q_recent, q_container = (
            conn.execute(q.encode()).fetchall() for q in readme_queries()
        )
        # README query 1 as written: the LEFT JOIN pairs each of host-a/miner-1's 2 samples with its 2 API
        # rows, so the sum is doubled (3000 x 2 = 6000) and the count is 2 x 2 = 4. We reproduce the seed's
        # numbers faithfully; view hashrate_api_activity has the corrected ones (checked below).
        assert [row[:4] for row in q_combined] == [
            ("CTN/host-a", "miner-1", 6000.0, 4),
            ("CTN/host-b", "miner-1", 300.0, 0),
            ("CTN/host-a", "miner-2", 0.0, 0),
        ]
        assert [row[:3] for row in q_avg] == [
            ("CTN/host-a", "miner-1", 1500.0),
            ("CTN/host-a", "miner-2", 0.0),
            ("CTN/host-b", "miner-1", 150.0),
        ]
        # The server runs with TimeZone=America/New_York; timestamptz keeps the 5-minute window right.
        assert [row[:3] for row in q_recent] == [
            ("CTN/host-a", "miner-1", 1500.0),
            ("CTN/host-a", "miner-2", 0.0),
            ("CTN/host-b", "miner-1", 250.0),
        ]
        assert [row[:2] for row in q_container] == [("CTN/host-a", 3000.0), ("CTN/host-b", 300.0)]

        activity = conn.execute(
            "SELECT container_id, miner_id, total_hashrate_hs, total_api_calls FROM hashrate_api_activity"
            " ORDER BY container_id, miner_id").fetchall()
        assert activity == [("CTN/host-a", "miner-1", 3000.0, 2), ("CTN/host-a", "miner-2", 0.0, 0),
                            ("CTN/host-b", "miner-1", 300.0, 0)]
        api_rows = conn.execute(
            "SELECT endpoint, status, wallet_addr, api_response FROM api_return ORDER BY id").fetchall()
        assert api_rows == [("/challenge", 200, None, {"code": "active"}),
                            ("/solution", 201, "addr_test1xyz", {"crypto_receipt": {}})]
        # The seed's views still exist and answer.
        latest = conn.execute("SELECT container_id, hash_rate FROM latest_hashrate ORDER BY container_id")
        assert len(latest.fetchall()) == 2
        assert len(conn.execute("SELECT * FROM latest_api_calls").fetchall()) == 2

    # The JSON read API agrees with the SQL (read-only token).
    with backend.client(READ_TOKEN) as client:
        summary = client.get("/api/hashrate/summary", params={"minutes": 5}).json()
        assert summary["total_hashrate_hs"] == pytest.approx(1500.0 + 0.0 + 250.0)
        assert summary["active_miners"] == 3 and summary["active_containers"] == 2
        assert summary["hashes"] == 3000 + 1500 + 1000
        by_container = client.get("/api/hashrate/by-container").json()
        assert [(r["container_id"], r["current_hashrate_hs"], r["sum_of_samples_hs"])
                for r in by_container] == [("CTN/host-a", 1500.0, 3000.0), ("CTN/host-b", 250.0, 300.0)]
        endpoints = client.get("/api/api-returns/by-endpoint").json()
        assert [(r["endpoint"], r["status"], r["calls"]) for r in endpoints] == [
            ("/challenge", 200, 1), ("/solution", 201, 1)]
        seen = {(r["container_id"], r["miner_id"]): r for r in client.get("/api/miners/last-seen").json()}
        assert set(seen) == {("CTN/host-a", "miner-1"), ("CTN/host-a", "miner-2"), ("CTN/host-b", "miner-1")}
        assert seen[("CTN/host-a", "miner-1")]["api_calls"] == 2
        series = client.get("/api/hashrate/series", params={"group": "container", "minutes": 10,
                                                            "bucket": 3600}).json()
        # One hour-wide bucket (unless the run straddles an hour boundary): per-miner averages summed.
        per_container: dict[str, float] = {}
        for point in series:
            per_container[point["series"]] = per_container.get(point["series"], 0.0) + point["hashrate_hs"]
        if len(series) == 2:
            assert per_container == {"CTN/host-a": 1500.0, "CTN/host-b": 250.0}
        assert set(per_container) == {"CTN/host-a", "CTN/host-b"}
