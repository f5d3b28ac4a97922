-- Timestamps become TIMESTAMPTZ: the seed stored naive UTC, which makes the README's
-- "timestamp >= NOW() - INTERVAL '5 minutes'" wrong whenever the session TimeZone is not UTC.
-- Existing naive values were written as UTC, hence AT TIME ZONE 'UTC'. Views depend on the columns,
-- so they are dropped and recreated (with the new columns).
DROP VIEW IF EXISTS latest_hashrate;
DROP VIEW IF EXISTS latest_api_calls;

ALTER TABLE stats ALTER COLUMN timestamp TYPE TIMESTAMPTZ USING timestamp AT TIME ZONE 'UTC';
ALTER TABLE api_return ALTER COLUMN timestamp TYPE TIMESTAMPTZ USING timestamp AT TIME ZONE 'UTC';

-- What the miner already sends and the seed dropped, plus what makes rates auditable:
-- hashes counted over interval_secs gives hash_rate exactly; received_at shows buffering delays.
ALTER TABLE stats ADD COLUMN IF NOT EXISTS hashes BIGINT;
ALTER TABLE stats ADD COLUMN IF NOT EXISTS interval_secs DOUBLE PRECISION;
ALTER TABLE stats ADD COLUMN IF NOT EXISTS uptime_secs DOUBLE PRECISION;
ALTER TABLE stats ADD COLUMN IF NOT EXISTS version TEXT;
ALTER TABLE stats ADD COLUMN IF NOT EXISTS received_at TIMESTAMPTZ NOT NULL DEFAULT NOW();
ALTER TABLE api_return ADD COLUMN IF NOT EXISTS status INTEGER;
ALTER TABLE api_return ADD COLUMN IF NOT EXISTS received_at TIMESTAMPTZ NOT NULL DEFAULT NOW();

CREATE INDEX IF NOT EXISTS idx_stats_container_miner_time ON stats (container_id, miner_id, timestamp DESC);

CREATE VIEW latest_hashrate AS
    SELECT DISTINCT ON (container_id) *
    FROM stats
    ORDER BY container_id, timestamp DESC;

CREATE VIEW latest_api_calls AS
    SELECT DISTINCT ON (wallet_addr, endpoint) *
    FROM api_return
    ORDER BY wallet_addr, endpoint, timestamp DESC;
