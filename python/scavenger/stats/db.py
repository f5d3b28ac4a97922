"""Database access of the stats backend: batched inserts and the read queries behind the JSON API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from scavenger.stats.models import ApiReturnIn, ProgressIn, StatIn

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


_INSERT_PROGRESS = (
    "INSERT INTO miner_progress (container_id, miner_id, timestamp, solutions_found, solutions_accepted,"
    " solutions_pending, solutions_expired, receipts, estimated_star, last_challenge_id, last_difficulty)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
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


async def insert_progress(pool: AsyncConnectionPool[Any], rows: Sequence[ProgressIn]) -> int:
    await _write(
        pool,
        _INSERT_PROGRESS,
        [
            (r.container_id, r.miner_id, r.timestamp, r.solutions_found, r.solutions_accepted,
             r.solutions_pending, r.solutions_expired, r.receipts, r.estimated_star, r.last_challenge_id,
             r.last_difficulty)
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

# A miner is down when its last report is older than DOWN_AFTER_INTERVALS of its own report interval (the
# measured interval_secs of its last row, 10 s when unknown, clamped to 1 s .. 1 h).
DOWN_AFTER_INTERVALS = 3
_LATEST = """
    SELECT DISTINCT ON (container_id, miner_id) container_id, miner_id, timestamp AS last_report,
           LEAST(GREATEST(COALESCE(interval_secs, 10), 1), 3600) AS report_interval_secs,
           hash_rate AS last_hashrate_hs, version, uptime_secs
    FROM stats_readable ORDER BY container_id, miner_id, timestamp DESC
"""
_STATE = f"""
    SELECT l.*,
           CASE WHEN l.last_report >= NOW() - make_interval(
                    secs => {DOWN_AFTER_INTERVALS} * l.report_interval_secs)
                THEN 'up' ELSE 'down' END AS state
    FROM ({_LATEST}) l
"""

SUMMARY = f"""
    WITH recent AS ({_PER_MINER_RECENT}), st AS ({_STATE}),
    up AS (
        SELECT r.* FROM recent r JOIN st USING (container_id, miner_id) WHERE st.state = 'up'
    )
    SELECT COALESCE(SUM(avg_hashrate_hs), 0) AS total_hashrate_hs,
           COUNT(*) AS active_miners,
           (SELECT COUNT(*) FROM st WHERE state = 'down') AS down_miners,
           COUNT(DISTINCT container_id) AS active_containers,
           COALESCE({_saturated_sum('hashes')}, 0) AS hashes,
           (SELECT MAX(last_report) FROM st) AS last_update,
           (SELECT COUNT(*) FROM stats) AS stat_rows,
           (SELECT COUNT(*) FROM api_return) AS api_rows,
           %(minutes)s::int AS window_minutes
    FROM up
"""

# miner_progress rows within datetime's range, like stats_readable (an 'infinity' timestamp written with
# SQL cannot be returned as JSON and made every earnings endpoint answer 500).
_PROGRESS = ("(SELECT * FROM miner_progress WHERE timestamp >= TIMESTAMPTZ '2000-01-01 00:00:00+00'"
             " AND timestamp < TIMESTAMPTZ '10000-01-01 00:00:00+00')")

_LATEST_PROGRESS = f"""
    SELECT DISTINCT ON (container_id, miner_id) container_id, miner_id, timestamp AS progress_at,
           solutions_found, solutions_accepted, solutions_pending, solutions_expired, receipts,
           estimated_star, last_challenge_id, last_difficulty
    FROM {_PROGRESS} AS progress ORDER BY container_id, miner_id, timestamp DESC
"""

MINERS = f"""
    WITH st AS ({_STATE}), p AS ({_LATEST_PROGRESS}),
    errors AS (
        SELECT container_id, miner_id, COUNT(*) AS api_errors_15m
        FROM api_return_readable
        WHERE timestamp >= NOW() - INTERVAL '15 minutes'
          AND (status IS NULL OR status NOT BETWEEN 200 AND 299)
        GROUP BY container_id, miner_id
    )
    SELECT COALESCE(st.container_id, p.container_id) AS container_id,
           COALESCE(st.miner_id, p.miner_id) AS miner_id,
           COALESCE(st.state, 'down') AS state,
           st.last_report, st.report_interval_secs,
           CASE WHEN COALESCE(st.state, 'down') = 'down' THEN COALESCE(st.last_report, p.progress_at) END
               AS down_since,
           st.last_hashrate_hs, st.version, st.uptime_secs,
           p.progress_at, p.solutions_found, p.solutions_accepted, p.solutions_pending, p.solutions_expired,
           p.receipts, p.estimated_star, p.last_challenge_id, p.last_difficulty,
           COALESCE(errors.api_errors_15m, 0) AS api_errors_15m
    FROM st FULL OUTER JOIN p ON st.container_id = p.container_id AND st.miner_id = p.miner_id
    LEFT JOIN errors ON errors.container_id = COALESCE(st.container_id, p.container_id)
                    AND errors.miner_id = COALESCE(st.miner_id, p.miner_id)
    ORDER BY 1, 2
"""

EARNINGS = f"""
    WITH p AS ({_LATEST_PROGRESS})
    SELECT COALESCE({_saturated_sum('solutions_found')}, 0) AS solutions_found,
           COALESCE({_saturated_sum('solutions_accepted')}, 0) AS solutions_accepted,
           COALESCE({_saturated_sum('solutions_pending')}, 0) AS solutions_pending,
           COALESCE({_saturated_sum('solutions_expired')}, 0) AS solutions_expired,
           COALESCE({_saturated_sum('receipts')}, 0) AS receipts,
           COALESCE({_saturated_sum('estimated_star')}, 0) AS estimated_star,
           (SELECT last_challenge_id FROM {_PROGRESS} AS progress WHERE last_challenge_id IS NOT NULL
             ORDER BY timestamp DESC LIMIT 1) AS last_challenge_id,
           (SELECT last_difficulty FROM {_PROGRESS} AS progress WHERE last_challenge_id IS NOT NULL
             ORDER BY timestamp DESC LIMIT 1) AS last_difficulty
    FROM p
"""


def progress_series_query(group: Group) -> str:
    """Cumulative counts per time bucket: each miner's latest report at or before the bucket's end
    (carried forward, so a stopped miner's earnings do not vanish from the total), summed per group."""
    key = _SERIES_KEYS[group].replace("container_id", "m.container_id").replace("miner_id", "m.miner_id")
    return f"""
        WITH buckets AS (
            SELECT generate_series(
                date_bin(make_interval(secs => %(bucket)s::double precision),
                         NOW() - make_interval(mins => %(minutes)s::int), TIMESTAMPTZ '2000-01-01'),
                NOW(), make_interval(secs => %(bucket)s::double precision)) AS bucket
        ), miners AS (
            SELECT DISTINCT container_id, miner_id FROM {_PROGRESS} AS progress
        )
        SELECT b.bucket, {key} AS series,
               {_saturated_sum('p.solutions_accepted')} AS solutions_accepted,
               {_saturated_sum('p.receipts')} AS receipts,
               {_saturated_sum('p.estimated_star')} AS estimated_star
        FROM buckets b CROSS JOIN miners m
        JOIN LATERAL (
            SELECT solutions_accepted, receipts, estimated_star FROM {_PROGRESS} q
            WHERE q.container_id = m.container_id AND q.miner_id = m.miner_id
              AND q.timestamp < b.bucket + make_interval(secs => %(bucket)s::double precision)
            ORDER BY q.timestamp DESC LIMIT 1
        ) p ON TRUE
        GROUP BY 1, 2 ORDER BY 1, 2
    """


API_ERROR_SERIES = """
    SELECT date_bin(make_interval(secs => %(bucket)s::double precision), timestamp, TIMESTAMPTZ '2000-01-01')
               AS bucket,
           container_id || ' / ' || miner_id AS miner, COALESCE(status::text, 'no reply') AS status,
           COUNT(*) AS errors
    FROM api_return_readable
    WHERE timestamp >= NOW() - make_interval(mins => %(minutes)s::int)
      AND (status IS NULL OR status NOT BETWEEN 200 AND 299)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""

API_ERRORS_BY_MINER = """
    SELECT container_id, miner_id, endpoint, COALESCE(status::text, 'no reply') AS status,
           COUNT(*) AS errors, MAX(timestamp) AS last_error
    FROM api_return_readable
    WHERE timestamp >= NOW() - make_interval(mins => %(minutes)s::int)
      AND (status IS NULL OR status NOT BETWEEN 200 AND 299)
    GROUP BY 1, 2, 3, 4 ORDER BY errors DESC, 1, 2, 3, 4
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
FROM api_return_readable
WHERE endpoint = 'challenge' AND timestamp >= NOW() - INTERVAL '49 hours'
  AND jsonb_typeof(api_response->'challenge') = 'object'
  AND jsonb_typeof(api_response->'challenge'->'challenge_id') = 'string'
ORDER BY api_response->'challenge'->>'challenge_id', timestamp
"""
