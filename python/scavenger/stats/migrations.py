"""Versioned schema migrations: ordered ``migrations/NNNN_name.sql`` files, each applied once.

All pending files run in one transaction holding a transaction-scoped advisory lock, so several backends
starting together serialise here: the first applies, the others wait, then see nothing left to do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from psycopg import AsyncConnection

# Arbitrary but fixed 64-bit key; every backend of this project must use the same one.
ADVISORY_LOCK_KEY = 0x5CA7_57A7_0001
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """The packaged migrations in version order; a misnamed or duplicated file is a packaging bug."""
    found: dict[str, Migration] = {}
    for entry in resources.files("scavenger.stats").joinpath("migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise RuntimeError(f"migration file name {entry.name!r} does not match NNNN_name.sql")
        version = match.group(1)
        if version in found:
            raise RuntimeError(f"two migrations share version {version}: {found[version].name}, {entry.name}")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


async def migrate(conn: AsyncConnection[Any]) -> list[str]:
    """Apply pending migrations; returns the file names applied by *this* call (empty when up to date)."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version TEXT PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())"
        )
        cursor = await conn.execute("SELECT version FROM schema_migrations")
        done = {str(row[0]) for row in await cursor.fetchall()}  # type: ignore[index]
        for migration in load_migrations():
            if migration.version in done:
                continue
            # bytes: the file holds several statements and is trusted packaged SQL, not a template.
            await conn.execute(migration.sql.encode("utf-8"))
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied_now.append(migration.name)
    return applied_now
