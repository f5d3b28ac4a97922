-- Reads must survive whatever is stored. Ingestion bounds every number (models.py), but rows written
-- before those bounds, or directly with SQL, may hold 1e200, NaN, Infinity or an 'infinity' timestamp:
-- one such row made AVG() fail with NumericValueOutOfRange (it accumulates squares) and every hash-rate
-- endpoint answer 500, and non-finite values cannot be rendered as JSON at all.
-- stats_readable / api_return_readable hold the rows within the documented bounds (docs/stats.md);
-- out-of-range optional measurements read as NULL. The API and the views below read only these.
-- The bounds are literals here because a view cannot take parameters; keep them equal to models.py.
CREATE OR REPLACE VIEW stats_readable AS
    SELECT id, container_id, miner_id, hash_rate, timestamp, description,
           CASE WHEN hashes BETWEEN 0 AND 1000000000000000000 THEN hashes END AS hashes,
           CASE WHEN interval_secs > 0 AND interval_secs <= 1e6 THEN interval_secs END AS interval_secs,
           CASE WHEN uptime_secs >= 0 AND uptime_secs <= 1e10 THEN uptime_secs END AS uptime_secs,
           version, received_at
    FROM stats
    -- NaN sorts above every number in PostgreSQL, so "<= 1e12" also drops NaN and Infinity.
    WHERE hash_rate >= 0 AND hash_rate <= 1e12
      AND timestamp >= TIMESTAMPTZ '2000-01-01 00:00:00+00'
      AND timestamp < TIMESTAMPTZ '10000-01-01 00:00:00+00';

CREATE OR REPLACE VIEW api_return_readable AS
    SELECT * FROM api_return
    WHERE timestamp >= TIMESTAMPTZ '2000-01-01 00:00:00+00'
      AND timestamp < TIMESTAMPTZ '10000-01-01 00:00:00+00';

-- The views of 0003, unchanged except that they read the readable rows.
CREATE OR REPLACE VIEW hashrate_avg_by_miner AS
    SELECT container_id, miner_id, AVG(hash_rate) AS avg_hashrate_hs, MAX(timestamp) AS last_update
    FROM stats_readable
    GROUP BY container_id, miner_id;

CREATE OR REPLACE VIEW hashrate_avg_5min AS
    SELECT container_id, miner_id, AVG(hash_rate) AS avg_hashrate_hs, MAX(timestamp) AS last_update
    FROM stats_readable
    WHERE timestamp >= NOW() - INTERVAL '5 minutes'
    GROUP BY container_id, miner_id;

CREATE OR REPLACE VIEW hashrate_sum_by_container AS
    SELECT container_id, SUM(hash_rate) AS total_hashrate_hs, MAX(timestamp) AS last_update
    FROM stats_readable
    GROUP BY container_id;

CREATE OR REPLACE VIEW hashrate_api_activity AS
    WITH s AS (
        SELECT container_id, miner_id, SUM(hash_rate) AS total_hashrate_hs,
               AVG(hash_rate) AS avg_hashrate_hs, MAX(timestamp) AS last_hashrate_update
        FROM stats_readable GROUP BY container_id, miner_id
    ), a AS (
        SELECT container_id, miner_id, COUNT(*) AS total_api_calls, MAX(timestamp) AS last_api_call
        FROM api_return_readable GROUP BY container_id, miner_id
    )
    SELECT s.container_id, s.miner_id, s.total_hashrate_hs, s.avg_hashrate_hs,
           COALESCE(a.total_api_calls, 0) AS total_api_calls,
           s.last_hashrate_update, a.last_api_call
    FROM s LEFT JOIN a ON s.container_id = a.container_id AND s.miner_id = a.miner_id;

CREATE OR REPLACE VIEW miners_last_seen AS
    WITH s AS (
        SELECT DISTINCT ON (container_id, miner_id) container_id, miner_id,
               timestamp AS last_stat, hash_rate AS last_hashrate_hs, version
        FROM stats_readable ORDER BY container_id, miner_id, timestamp DESC
    ), a AS (
        SELECT container_id, miner_id, MAX(timestamp) AS last_api_call, COUNT(*) AS api_calls
        FROM api_return_readable GROUP BY container_id, miner_id
    )
    SELECT COALESCE(s.container_id, a.container_id) AS container_id,
           COALESCE(s.miner_id, a.miner_id) AS miner_id,
           s.last_stat, s.last_hashrate_hs, s.version, a.last_api_call, COALESCE(a.api_calls, 0) AS api_calls,
           GREATEST(s.last_stat, a.last_api_call) AS last_seen
    FROM s FULL OUTER JOIN a ON s.container_id = a.container_id AND s.miner_id = a.miner_id;
