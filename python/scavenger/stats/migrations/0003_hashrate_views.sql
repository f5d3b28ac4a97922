-- The README's hash-rate queries as views, so dashboards and psql users share one definition.

-- README query 2: average rate per miner over all time.
CREATE OR REPLACE VIEW hashrate_avg_by_miner AS
    SELECT container_id, miner_id, AVG(hash_rate) AS avg_hashrate_hs, MAX(timestamp) AS last_update
    FROM stats
    GROUP BY container_id, miner_id;

-- README query 3: average rate per miner over the last 5 minutes.
CREATE OR REPLACE VIEW hashrate_avg_5min AS
    SELECT container_id, miner_id, AVG(hash_rate) AS avg_hashrate_hs, MAX(timestamp) AS last_update
    FROM stats
    WHERE timestamp >= NOW() - INTERVAL '5 minutes'
    GROUP BY container_id, miner_id;

-- README query 4 verbatim: the SUM of every sample per container. Note: this grows with time (it adds
-- rates of successive intervals); hashrate_current_by_container is the current combined rate.
CREATE OR REPLACE VIEW hashrate_sum_by_container AS
    SELECT container_id, SUM(hash_rate) AS total_hashrate_hs, MAX(timestamp) AS last_update
    FROM stats
    GROUP BY container_id;

-- Combined current rate of each container: per miner, the average over the last 5 minutes, summed.
CREATE OR REPLACE VIEW hashrate_current_by_container AS
    SELECT container_id, SUM(avg_hashrate_hs) AS total_hashrate_hs, COUNT(*) AS miners,
           MAX(last_update) AS last_update
    FROM hashrate_avg_5min
    GROUP BY container_id;

-- README query 1, corrected: the README joins every stats row with every api_return row of the same
-- miner, which multiplies SUM(hash_rate) by the number of API calls and COUNT by the number of samples.
-- Aggregating each table first gives the numbers the query meant.
CREATE OR REPLACE VIEW hashrate_api_activity AS
    WITH s AS (
        SELECT container_id, miner_id, SUM(hash_rate) AS total_hashrate_hs,
               AVG(hash_rate) AS avg_hashrate_hs, MAX(timestamp) AS last_hashrate_update
        FROM stats GROUP BY container_id, miner_id
    ), a AS (
        SELECT container_id, miner_id, COUNT(*) AS total_api_calls, MAX(timestamp) AS last_api_call
        FROM api_return GROUP BY container_id, miner_id
    )
    SELECT s.container_id, s.miner_id, s.total_hashrate_hs, s.avg_hashrate_hs,
           COALESCE(a.total_api_calls, 0) AS total_api_calls,
           s.last_hashrate_update, a.last_api_call
    FROM s LEFT JOIN a ON s.container_id = a.container_id AND s.miner_id = a.miner_id;

-- Last sign of life of each miner, from either table.
CREATE OR REPLACE VIEW miners_last_seen AS
    WITH s AS (
        SELECT DISTINCT ON (container_id, miner_id) container_id, miner_id,
               timestamp AS last_stat, hash_rate AS last_hashrate_hs, version
        FROM stats ORDER BY container_id, miner_id, timestamp DESC
    ), a AS (
        SELECT container_id, miner_id, MAX(timestamp) AS last_api_call, COUNT(*) AS api_calls
        FROM api_return GROUP BY container_id, miner_id
    )
    SELECT COALESCE(s.container_id, a.container_id) AS container_id,
           COALESCE(s.miner_id, a.miner_id) AS miner_id,
           s.last_stat, s.last_hashrate_hs, s.version, a.last_api_call, COALESCE(a.api_calls, 0) AS api_calls,
           GREATEST(s.last_stat, a.last_api_call) AS last_seen
    FROM s FULL OUTER JOIN a ON s.container_id = a.container_id AND s.miner_id = a.miner_id;
