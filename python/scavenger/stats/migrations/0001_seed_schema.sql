-- The seed's db/init.sql (whosbax/midnight-scavenger), made idempotent so a database the seed already
-- created is adopted as is. Later migrations only add to it.
CREATE TABLE IF NOT EXISTS stats (
    id SERIAL PRIMARY KEY,
    container_id TEXT,
    miner_id TEXT,
    hash_rate DOUBLE PRECISION NOT NULL,
    timestamp TIMESTAMP NOT NULL DEFAULT NOW(),
    description TEXT
);
CREATE INDEX IF NOT EXISTS idx_stats_timestamp ON stats (timestamp);
CREATE INDEX IF NOT EXISTS idx_stats_miner_time ON stats (miner_id, timestamp DESC);

CREATE TABLE IF NOT EXISTS api_return (
    id SERIAL PRIMARY KEY,
    container_id TEXT,
    miner_id TEXT,
    wallet_addr TEXT,
    endpoint TEXT NOT NULL,
    url TEXT NOT NULL,
    timestamp TIMESTAMP NOT NULL DEFAULT NOW(),
    payload JSONB,
    api_response JSONB,
    description TEXT
);
CREATE INDEX IF NOT EXISTS idx_api_wallet_addr ON api_return (wallet_addr);
CREATE INDEX IF NOT EXISTS idx_api_endpoint_time ON api_return (endpoint, timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_api_miner_endpoint ON api_return (miner_id, endpoint);
CREATE INDEX IF NOT EXISTS idx_api_timestamp ON api_return (timestamp);

CREATE OR REPLACE VIEW latest_hashrate AS
    SELECT DISTINCT ON (container_id) *
    FROM stats
    ORDER BY container_id, timestamp DESC;

CREATE OR REPLACE VIEW latest_api_calls AS
    SELECT DISTINCT ON (wallet_addr, endpoint) *
    FROM api_return
    ORDER BY wallet_addr, endpoint, timestamp DESC;
