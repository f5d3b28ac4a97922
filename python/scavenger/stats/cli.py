"""``scavenger stats-backend``: serve the ingestion API, read API and dashboard."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from scavenger import exits, logformat, settings
from scavenger.redact import install_log_escaping
from scavenger.stats.config import BackendConfig, ConfigError

log = logging.getLogger("scavenger.stats")


async def _migrate_only(config: BackendConfig) -> list[str]:
    import psycopg

    from scavenger.stats.migrations import migrate

    async with await psycopg.AsyncConnection.connect(config.database_url, connect_timeout=10) as conn:
        return await migrate(conn)


@click.command("stats-backend")
@settings.option("BACKEND_BIND_HOST")
@settings.option("BACKEND_PORT")
@settings.option("APP_LOG_LEVEL")
@click.option("--migrate-only", is_flag=True, help="Apply pending schema migrations and exit.")
def stats_backend(host: str | None, port: int | None, log_level: str | None, migrate_only: bool) -> None:
    """Run the PostgreSQL statistics service (POST /insert_stat, /insert_api_return; dashboard at /).

    Secrets come from the environment only (never argv): STATS_BEARER_TOKEN, optional STATS_READ_TOKEN,
    DATABASE_URL or POSTGRES_HOST/PORT/USER/PASSWORD/DB."""
    level_name = log_level or settings.SETTINGS["APP_LOG_LEVEL"].default
    level_name = {"trace": "debug", "warn": "warning"}.get(level_name, level_name)
    level = getattr(logging, level_name.upper(), logging.INFO)
    logging.basicConfig(level=level, format=logformat.LINE, datefmt=logformat.TIME)
    install_log_escaping()  # rows and errors carry text from clients
    try:
        config = BackendConfig.from_env(host=host, port=port)
    except ConfigError as exc:
        raise settings.SettingError(str(exc)) from None
    config.warn_if_weak()
    if migrate_only:
        applied = asyncio.run(_migrate_only(config))
        click.echo(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")
        return

    import uvicorn

    from scavenger.stats.app import create_app

    log.info("stats: listening on %s:%d", config.host, config.port)
    server_config = uvicorn.Config(
        create_app(config), host=config.host, port=config.port,
        log_level=level_name if level_name in {"debug", "info", "warning", "error"} else "info",
    )
    sys.exit(exits.serve(server_config))
