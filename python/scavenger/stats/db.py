"""Database access of the stats backend: batched inserts and the read queries behind the JSON API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from scavenger.stats.models import ApiReturnIn, StatIn

Group = Literal["total", "container", "miner"]


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL cannot be reached or the pool is exhausted: the client should retry later (HTTP 503)."""


class RejectedData(ValueError):
    """PostgreSQL refused the values themselves (e.g. a JSON string PostgreSQL cannot store): HTTP 422."""


_INSERT_STAT = (
    "INSERT INTO stats (container_id, miner_id, hash_rate, timestamp, description,"
    " hashes, interval_secs, uptime_secs, version)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_API = (
    "INSERT INTO api_return (container_id, miner_id, wallet_addr, endpoint, url, timestamp,"
    " payload, api_response, description, status)"
    " VALUES (%s, %s, %s, %s, %s, COALESCE(%s, NOW()), %s, %s, %s, %s)"
)


def _jsonb(value: Any) -> Jsonb | None:
    # A JSON null in the body means "no payload": store SQL NULL like the seed, not the jsonb 'null'.
    return None if value is None else Jsonb(value)


async def _write(pool: AsyncConnectionPool[Any], query: str, rows: Sequence[tuple[Any, ...]]) -> None:
    try:
        async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            # executemany pipelines the rows in one round trip; one transaction = all or nothing,
            # so a 2xx really means every row of the batch is stored.
            await cur.executemany(query.encode(), rows)
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        raise RejectedData(f"database rejected the values: {type(exc).__name__}") from exc
    except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
        raise DatabaseUnavailable(type(exc).__name__) from exc


async def insert_stats(pool: AsyncConnectionPool[Any], rows: Sequence[StatIn]) -> int:
    await _write(
        pool,
        _INSERT_STAT,
        [
            (r.container_id, r.miner_id, r.hash_rate, r.timestamp, r.description, r.hashes,
             r.interval_secs, r.uptime_secs, r.version)
            for r in rows
        ],
    )
    return len(rows)


async def insert_api_returns(pool: AsyncConnectionPool[Any], rows: Sequence[ApiReturnIn]) -> int:
    await _write(
        pool,
        _INSERT_API,
        [
            (r.container_id, r.miner_id, r.wallet_addr, r.endpoint, r.url, r.timestamp,
             _jsonb(r.payload), _jsonb(r.api_response), r.description, r.status)
            for r in rows
        ],
    )
    return len(rows)


async def fetch(pool: AsyncConnectionPool[Any], query: str, params: dict[str, Any] | None = None
                ) -> list[dict[str, Any]]:
    try:
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query.encode(), params)
            rows: list[dict[str, Any]] = await cur.fetchall()
            return rows
    except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
        raise DatabaseUnavailable(type(exc).__name__) from exc


async def ping(pool: AsyncConnectionPool[Any]) -> bool:
    try:
        await fetch(pool, "SELECT 1 AS ok")
    except DatabaseUnavailable:
        return False
    return True


# -- read queries (parameters are bound, never formatted in) ----------------------------------------
# They read the views stats_readable / api_return_readable (migration 0004): only rows within the
# documented bounds, so a value stored before the bounds existed, or written with SQL, cannot make an
# aggregate overflow or a reply unrenderable.

_BIGINT_MAX = 2**63 - 1


def _saturated_sum(column: str) -> str:
    """SUM(bigint) is NUMERIC; many large counts would overflow the BIGINT it is returned as, so the sum
    saturates instead. (Not LEAST(): it ignores NULL, and a sum of no counts must stay NULL.)"""
    return f"(CASE WHEN SUM({column}) > {_BIGINT_MAX} THEN {_BIGINT_MAX} ELSE SUM({column}) END)::bigint"


_PER_MINER_RECENT = f"""
    SELECT container_id, miner_id, AVG(hash_rate) AS avg_hashrate_hs, MAX(timestamp) AS last_update,
           {_saturated_sum('hashes')} AS hashes, COUNT(*) AS samples
    FROM stats_readable
    WHERE timestamp >= NOW() - make_interval(mins => %(minutes)s::int)
    GROUP BY container_id, miner_id
"""

SUMMARY = f"""
    WITH recent AS ({_PER_MINER_RECENT})
    SELECT COALESCE(SUM(avg_hashrate_hs), 0) AS total_hashrate_hs,
           COUNT(*) AS active_miners,
           COUNT(DISTINCT container_id) AS active_containers,
           COALESCE({_saturated_sum('hashes')}, 0) AS hashes,
           MAX(last_update) AS last_update,
           (SELECT COUNT(*) FROM stats) AS stat_rows,
           (SELECT COUNT(*) FROM api_return) AS api_rows,
           %(minutes)s::int AS window_minutes
    FROM recent
"""

RECENT = f"{_PER_MINER_RECENT} ORDER BY container_id, miner_id"

BY_MINER = "SELECT * FROM hashrate_avg_by_miner ORDER BY container_id, miner_id"

BY_CONTAINER = f"""
    WITH recent AS ({_PER_MINER_RECENT}),
    cur AS (
        SELECT container_id, SUM(avg_hashrate_hs) AS current_hashrate_hs, COUNT(*) AS active_miners
        FROM recent GROUP BY container_id
    )
    SELECT t.container_id, COALESCE(cur.current_hashrate_hs, 0) AS current_hashrate_hs,
           COALESCE(cur.active_miners, 0) AS active_miners,
           t.total_hashrate_hs AS sum_of_samples_hs, t.last_update
    FROM hashrate_sum_by_container t LEFT JOIN cur ON cur.container_id IS NOT DISTINCT FROM t.container_id
    ORDER BY t.container_id
"""

ACTIVITY = "SELECT * FROM hashrate_api_activity ORDER BY total_hashrate_hs DESC, total_api_calls DESC"

_SERIES_KEYS: dict[Group, str] = {
    "total": "'total'",
    "container": "container_id",
    "miner": "container_id || ' / ' || miner_id",
}


def series_query(group: Group) -> str:
    """Rate per time bucket: each miner's average within the bucket, summed over the group, so a miner
    reporting twice in one bucket is not counted twice."""
    key = _SERIES_KEYS[group]
    return f"""
        WITH per_miner AS (
            SELECT date_bin(make_interval(secs => %(bucket)s::double precision), timestamp,
                            TIMESTAMPTZ '2000-01-01') AS bucket,
                   container_id, miner_id, AVG(hash_rate) AS rate
            FROM stats_readable
            WHERE timestamp >= NOW() - make_interval(mins => %(minutes)s::int)
            GROUP BY 1, 2, 3
        )
        SELECT bucket, {key} AS series, SUM(rate) AS hashrate_hs, COUNT(*) AS miners
        FROM per_miner GROUP BY 1, 2 ORDER BY 1, 2
    """


API_BY_ENDPOINT = """
    SELECT endpoint, status, COUNT(*) AS calls, MAX(timestamp) AS last_call
    FROM api_return_readable
    WHERE timestamp >= NOW() - make_interval(mins => %(minutes)s::int)
    GROUP BY endpoint, status
    ORDER BY endpoint, status NULLS LAST
"""

LAST_SEEN = "SELECT * FROM miners_last_seen ORDER BY last_seen DESC NULLS LAST, container_id, miner_id"

# Challenges seen by any miner in the last 49 h (a challenge stays open 24 h; the margin covers clock skew
# and the last day's cap). The first sighting of each id wins, so a later forged copy cannot replace it.
OPEN_CHALLENGES = """
SELECT DISTINCT ON (api_response->'challenge'->>'challenge_id')
       api_response->'challenge' AS challenge, timestamp AS first_seen
FROM api_return
WHERE endpoint = 'challenge' AND timestamp >= NOW() - INTERVAL '49 hours'
  AND jsonb_typeof(api_response->'challenge') = 'object'
  AND jsonb_typeof(api_response->'challenge'->'challenge_id') = 'string'
ORDER BY api_response->'challenge'->>'challenge_id', timestamp
"""
