"""Schema migrations: ordered, recorded, idempotent, safe when several backends start at once, and able
to adopt a database created by the seed's db/init.sql."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from scavenger.stats.migrations import load_migrations, migrate
from timing import scaled

from .conftest import BACKEND_ARGV, Backend, backend_env, free_port

# The seed's db/init.sql schema (naive TIMESTAMP columns), as documented in the spec (A8).
SEED_INIT_SQL = """
CREATE TABLE stats (id SERIAL PRIMARY KEY, container_id TEXT, miner_id TEXT,
    hash_rate DOUBLE PRECISION NOT NULL, timestamp TIMESTAMP NOT NULL DEFAULT NOW(), description TEXT);
CREATE INDEX idx_stats_timestamp ON stats (timestamp);
CREATE INDEX idx_stats_miner_time ON stats (miner_id, timestamp DESC);
CREATE TABLE api_return (id SERIAL PRIMARY KEY, container_id TEXT, miner_id TEXT, wallet_addr TEXT,
    endpoint TEXT NOT NULL, url TEXT NOT NULL, timestamp TIMESTAMP NOT NULL DEFAULT NOW(), payload JSONB,
    api_response JSONB, description TEXT);
CREATE VIEW latest_hashrate AS SELECT DISTINCT ON (container_id) * FROM stats
    ORDER BY container_id, timestamp DESC;
CREATE VIEW latest_api_calls AS SELECT DISTINCT ON (wallet_addr, endpoint) * FROM api_return
    ORDER BY wallet_addr, endpoint, timestamp DESC;
INSERT INTO stats (container_id, miner_id, hash_rate, timestamp)
    VALUES ('CTN/old', 'miner-1', 3333.33, '2025-11-20 10:00:00');
"""


async def test_concurrent_migrations_apply_once(database_url: str) -> None:
    names = [m.name for m in load_migrations()]
    assert names == sorted(names) and names[0].startswith("0001_")
    conns = [await psycopg.AsyncConnection.connect(database_url) for _ in range(6)]
    try:
        results = await asyncio.gather(*(migrate(conn) for conn in conns))
        # Exactly one session applied everything; the others waited on the advisory lock, then found
        # nothing to do (without the lock they would race on CREATE TABLE and fail).
        assert sorted(results, key=len) == [[]] * 5 + [names]
        assert await migrate(conns[0]) == []
        cursor = await conns[0].execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [row[1] for row in await cursor.fetchall()] == names
    finally:
        for conn in conns:
            await conn.close()


async def test_adopts_a_seed_database(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(SEED_INIT_SQL.encode())
        await conn.commit()
        applied = await migrate(conn)
        assert applied == [m.name for m in load_migrations()]
        cursor = await conn.execute("SELECT timestamp, hash_rate FROM stats WHERE container_id = 'CTN/old'")
        # The seed's naive values were UTC; they keep their instant after the type change.
        assert await cursor.fetchall() == [(datetime(2025, 11, 20, 10, 0, tzinfo=UTC), 3333.33)]
        cursor = await conn.execute("SELECT container_id FROM latest_hashrate")
        assert await cursor.fetchall() == [("CTN/old",)]
        readme = (Path(__file__).with_name("seed_readme_queries.sql")).read_text(encoding="utf-8")
        for query in (q for q in readme.split(";") if "SELECT" in q):
            await conn.execute(query.encode())


def test_backends_starting_together_share_one_schema(
    start_backend: Callable[..., Backend], database_url: str
) -> None:
    first = start_backend(database_url, wait_healthy=False)
    second = start_backend(database_url, wait_healthy=False)
    third = start_backend(database_url)
    for backend in (first, second, third):
        with backend.client() as client:
            for _ in range(100):
                if client.get("/health").status_code == 200:
                    break
                time.sleep(0.1)
            assert client.get("/health").json() == {"status": "ok", "database": True, "migrated": True}
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()
        assert row == (len(load_migrations()),)


def test_cli_migrate_only(database_url: str) -> None:
    env = backend_env(database_url, free_port())
    first = subprocess.run([*BACKEND_ARGV, "--migrate-only"], env=env, capture_output=True, text=True,
                           timeout=scaled(60))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "applied: " + ", ".join(m.name for m in load_migrations())
    again = subprocess.run([*BACKEND_ARGV, "--migrate-only"], env=env, capture_output=True, text=True,
                           timeout=scaled(60))
    assert again.returncode == 0 and again.stdout.strip() == "applied: nothing (up to date)"
