"""StatsReporter behaviour: configuration, bounded buffering, periodic loop, never blocking producers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest

from scavenger.api.events import ApiEvent
from scavenger.stats.outbox import Outbox
from scavenger.stats.reporter import ReporterConfig, StatsReporter, default_container_id
from timing import scaled

from .conftest import WRITE_TOKEN, Backend, StepClock, free_port


def test_outbox_drops_oldest_and_counts() -> None:
    box = Outbox(3)
    for i in range(5):
        box.put({"i": i})
    assert box.dropped == 2 and len(box) == 3
    taken = box.take(2)
    assert [r["i"] for r in taken] == [2, 3]
    box.put({"i": 5})
    box.put({"i": 6})
    box.put_back(taken)  # 2,3 back in front of 4,5,6: over capacity, the oldest (2, 3) go
    assert [r["i"] for r in box.take(10)] == [4, 5, 6]
    assert box.dropped == 4
    with pytest.raises(ValueError, match="capacity"):
        Outbox(0)


def test_config_from_seed_environment() -> None:
    env = {"ENABLE_STATS_BACKEND": "true", "STATS_BACKEND_URL": "http://b:8080/insert_stat",
           "API_BACKEND_URL": "http://b:8080/insert_api_return", "STATS_REPORT_INTERVAL": "10",
           "STATS_BEARER_TOKEN": "s3cret-token", "CONTAINER_PREFIX": "CTN_PREFIX", "INSTANCE_SLOT": "3"}
    config = ReporterConfig.from_env(env)
    assert config.enabled and config.interval == 10.0 and config.default_miner_id == "miner-3"
    assert config.container_id == f"CTN_PREFIX/miner-3@{socket.gethostname()}"
    # Stable across restarts: the same environment on the same host gives the same id.
    assert ReporterConfig.from_env(env).container_id == config.container_id
    assert "s3cret-token" not in repr(config)
    assert default_container_id({"STATS_CONTAINER_ID": "rack-2/box-9"}) == "rack-2/box-9"
    assert default_container_id({}, hostname="h1") == "h1"
    assert default_container_id({}, hostname="h1", slot=2) == "miner-2@h1"
    # In a container the hostname is a hex id: the Docker host's name is passed in instead.
    assert default_container_id({"STATS_HOST_NAME": "rig-7"}, hostname="3f2a9c", slot=2) == "miner-2@rig-7"
    with pytest.raises(ValueError, match="STATS_BEARER_TOKEN is empty"):
        ReporterConfig.from_env({**env, "STATS_BEARER_TOKEN": ""})
    with pytest.raises(ValueError, match="STATS_REPORT_INTERVAL"):
        ReporterConfig.from_env({**env, "STATS_REPORT_INTERVAL": "0"})
    with pytest.raises(ValueError, match="ENABLE_STATS_BACKEND"):
        ReporterConfig.from_env({**env, "ENABLE_STATS_BACKEND": "maybe"})
    # Disabled (the seed's default): everything is a cheap no-op, no token needed.
    disabled = StatsReporter.from_env({})
    assert not disabled.enabled
    disabled.record_hashes("miner-1", 10)
    disabled.record_api_event({"endpoint": "/challenge"})
    assert disabled.tick() == 0 and disabled.counters().pending_api == 0


async def test_disabled_reporter_runs_nothing() -> None:
    reporter = StatsReporter.from_env({"ENABLE_STATS_BACKEND": "false"})
    assert reporter.start() is None
    await reporter.run()
    await reporter.aclose()


async def test_buffer_is_bounded_while_backend_is_unreachable() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    clock = StepClock()
    reporter = StatsReporter(ReporterConfig(enabled=True, stats_url=dead + "/insert_stat",
                                            api_url=dead + "/insert_api_return", token="t", buffer_size=3,
                                            container_id="c", timeout=1.0), clock=clock)
    for i in range(5):
        reporter.record_hashes("miner-1", 10 * (i + 1))
        clock.now += 1
        await reporter.flush()
    counters = reporter.counters()
    assert (counters.pending_stats, counters.stats_dropped, counters.stats_sent) == (3, 2, 0)
    await reporter.aclose()


async def test_rejected_token_keeps_rows(start_backend: Callable[..., Backend], database_url: str) -> None:
    backend = start_backend(database_url)
    clock = StepClock()
    config = ReporterConfig(enabled=True, stats_url=backend.url + "/insert_stat",
                            api_url=backend.url + "/insert_api_return", token="not-the-token",
                            container_id="c")
    reporter = StatsReporter(config, clock=clock)
    reporter.record_hashes("miner-1", 5)
    clock.now += 1
    await reporter.flush()
    # 401 is a configuration problem, not bad data: keep the rows for when the token is fixed.
    assert reporter.counters().pending_stats == 1 and reporter.counters().rejected == 0
    await reporter.aclose()


async def test_periodic_loop_delivers_every_hash(start_backend: Callable[..., Backend],
                                                 database_url: str) -> None:
    backend = start_backend(database_url)
    config = ReporterConfig(enabled=True, stats_url=backend.url + "/insert_stat",
                            api_url=backend.url + "/insert_api_return", token=WRITE_TOKEN,
                            container_id="CTN/loop", interval=0.2)
    reporter = StatsReporter(config)
    total = 0

    def mine(miner_id: str) -> None:
        nonlocal total
        for _ in range(2000):
            reporter.record_hashes(miner_id, 7)

    async with reporter:
        for _ in range(5):
            threads = [threading.Thread(target=mine, args=(f"miner-{n}",)) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            total += 4 * 2000 * 7
            # Wait for the loop to deliver one more interval (a row per miner seen) rather than sleeping a
            # fixed time and hoping it ran: on a loaded machine it once had not.
            sent = reporter.counters().stats_sent
            deadline = time.monotonic() + scaled(10)
            while reporter.counters().stats_sent < sent + 4:
                assert time.monotonic() < deadline, "the periodic loop delivered nothing for 10 s"
                await asyncio.sleep(0.02)
    # aclose reported the last partial interval too: nothing counted is missing.
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT SUM(hashes), COUNT(DISTINCT miner_id), COUNT(*) FROM stats").fetchone()
        assert row is not None
        # Exactly once: closing does not cancel a request in flight (which would then be re-sent).
        assert (int(row[0]), row[1]) == (total, 4), row
        assert row[2] >= 5 * 4  # the loop ran: at least one interval per round, 4 miners each
        bad = conn.execute("SELECT COUNT(*) FROM stats WHERE abs(hash_rate - hashes / interval_secs) > 1e-6")
        assert bad.fetchone() == (0,)


async def test_producers_never_wait_for_a_hung_backend() -> None:
    # A listener that never answers: the flush waits for its timeout, producers must not.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        # The flush's timeout is far longer than the test: the backend stays silent until the test closes
        # it, so "the flush is still waiting" is certain, not a race against a 1 s timeout.
        reporter = StatsReporter(ReporterConfig(enabled=True, stats_url=url + "/insert_stat",
                                                api_url=url + "/insert_api_return", token="t",
                                                container_id="c", timeout=scaled(60)))
        reporter.record_hashes("miner-1", 1)
        flush = asyncio.create_task(reporter.flush())
        await asyncio.sleep(0.1)
        slowest = 0.0

        def produce() -> None:
            nonlocal slowest
            for _ in range(20_000):
                started = time.perf_counter()
                reporter.record_hashes("miner-1", 3)
                slowest = max(slowest, time.perf_counter() - started)

        await asyncio.to_thread(produce)  # the event loop keeps serving the flush meanwhile
        assert not flush.done(), "the flush should still be waiting on the silent backend"
        server.close()  # the queued connection is reset: the flush fails now instead of at its timeout
        await asyncio.wait_for(flush, scaled(10))
        # A producer that waited on the backend would have taken the whole 60 s; a second bounds what a
        # loaded machine's scheduling adds to a dict update under a lock.
        assert slowest < 1.0, slowest
        assert reporter.counters().pending_stats == 1
        await reporter.aclose()


async def test_forwards_the_api_clients_events(start_backend: Callable[..., Backend],
                                               database_url: str) -> None:
    backend = start_backend(database_url)
    reporter = StatsReporter(ReporterConfig(enabled=True, stats_url=backend.url + "/insert_stat",
                                            api_url=backend.url + "/insert_api_return", token=WRITE_TOKEN,
                                            container_id="CTN/api", default_miner_id="miner-2"))
    when = datetime(2025, 11, 20, 12, 30, tzinfo=UTC)
    reporter.record_api_event(ApiEvent(endpoint="solution", method="POST",
                                       url="https://api.example/solution/addr1q/**D07C10/00ff",
                                       address="addr1q", status=201,
                                       body={"crypto_receipt": {"signature": "ab"}}, attempt=1,
                                       elapsed=0.2, timestamp=when))
    reporter.record_api_event(ApiEvent(endpoint="challenge", method="GET", url="https://api.example/challenge",
                                       address=None, status=503, body=None, attempt=2, elapsed=1.0,
                                       description="HTML error page"))
    await reporter.aclose()
    assert reporter.counters().api_sent == 2
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT container_id, miner_id, endpoint, status, wallet_addr, api_response,"
                            " description, timestamp FROM api_return ORDER BY id").fetchall()
    receipt = {"crypto_receipt": {"signature": "ab"}}
    assert rows[0] == ("CTN/api", "miner-2", "solution", 201, "addr1q", receipt, None, when)
    assert rows[1][:7] == ("CTN/api", "miner-2", "challenge", 503, None, None, "HTML error page")


async def test_one_bad_row_does_not_cost_the_batch(start_backend: Callable[..., Backend],
                                                   database_url: str) -> None:
    backend = start_backend(database_url)
    reporter = StatsReporter(ReporterConfig(enabled=True, stats_url=backend.url + "/insert_stat",
                                            api_url=backend.url + "/insert_api_return", token=WRITE_TOKEN,
                                            container_id="CTN/bisect"))
    for i in range(40):
        # PostgreSQL's jsonb refuses \\u0000: the backend answers 422 for any batch holding row 17.
        body = {"text": "nul\x00here"} if i == 17 else {"i": i}
        reporter.record_api_event({"endpoint": "challenge", "url": f"https://h/c/{i}", "status": 200,
                                   "body": body, "description": "x" * 5000})
    await reporter.aclose()
    counters = reporter.counters()
    assert (counters.api_sent, counters.rejected, counters.pending_api) == (39, 1, 0)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT api_response, length(description) FROM api_return ORDER BY id").fetchall()
    assert [r[0]["i"] for r in rows] == [i for i in range(40) if i != 17]
    assert {r[1] for r in rows} == {2000}


def test_odd_api_events_are_skipped_not_raised() -> None:
    # The API client calls record_api_event after every reply: an odd event must never raise into it.
    reporter = StatsReporter(ReporterConfig(enabled=True, token="t", container_id="c"))
    for status in ("teapot", float("nan"), float("inf"), object()):
        reporter.record_api_event({"endpoint": "challenge", "status": status})
    reporter.record_api_event({"endpoint": "challenge", "status": 200})
    assert reporter.counters().pending_api == 1
