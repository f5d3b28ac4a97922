"""Optional statistics: PostgreSQL-backed ingestion service, dashboard and the miner-side reporter."""
