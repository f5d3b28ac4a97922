-- What the miners earn, reported every interval beside the hash rate: cumulative solution and receipt
-- counts from each miner's journal, its estimate in STAR, and the last challenge it saw. A new table, so
-- the seed's tables and columns stay exactly as they were.
CREATE TABLE IF NOT EXISTS miner_progress (
    id                  BIGSERIAL PRIMARY KEY,
    container_id        TEXT NOT NULL,
    miner_id            TEXT NOT NULL,
    timestamp           TIMESTAMPTZ NOT NULL,
    solutions_found     BIGINT NOT NULL,
    solutions_accepted  BIGINT NOT NULL,
    solutions_pending   BIGINT NOT NULL,
    solutions_expired   BIGINT NOT NULL,
    receipts            BIGINT NOT NULL,
    estimated_star      BIGINT NOT NULL,
    last_challenge_id   TEXT,
    last_difficulty     TEXT,
    received_at         TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_miner_progress_miner_time ON miner_progress (container_id, miner_id, timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_miner_progress_time ON miner_progress (timestamp);
-- The API error charts filter api_return by time.
CREATE INDEX IF NOT EXISTS idx_api_return_time ON api_return (timestamp);
