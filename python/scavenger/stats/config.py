"""Configuration of the stats backend from the seed's environment names.

Secrets (token, database password) are kept out of reprs; ``safe_database_url`` is what may be logged.
Errors are ``scavenger.envparse.ConfigError`` (re-exported here), like every other command's settings;
messages name the variable, never a secret value."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from scavenger.envparse import ConfigError as ConfigError
from scavenger.envparse import parse_bool

# The one URL redaction helper (it also hides libpq's password/sslpassword query parameters).
from scavenger.redact import redact_url as redact_url

log = logging.getLogger(__name__)

# The seed's .env.example value and the seed's two code defaults: anyone can guess them.
KNOWN_WEAK_TOKENS = frozenset({"AZERTY", "changeme", "secret_token"})
DEFAULT_PORT = 8080
DEFAULT_HOST = "0.0.0.0"  # the service runs in a container next to the miners; bind narrower with --host


def build_database_url(env: Mapping[str, str]) -> str:
    """DATABASE_URL when set, else built from POSTGRES_HOST/PORT/USER/PASSWORD/DB.

    The seed's .env.example builds ``postgres://$POSTGRES_DB:$POSTGRES_PASSWORD@...`` (database name used as
    the *user*); that only works because both are ``stats`` there. We use POSTGRES_USER as the user."""
    explicit = env.get("DATABASE_URL", "").strip()
    if explicit:
        if not explicit.startswith(("postgres://", "postgresql://")):
            raise ConfigError("DATABASE_URL must start with postgres:// or postgresql://")
        return explicit
    host = env.get("POSTGRES_HOST", "").strip() or "stats-db"
    port_text = env.get("POSTGRES_PORT", "").strip() or "5432"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"POSTGRES_PORT must be a TCP port, got {port_text!r}")
    user = env.get("POSTGRES_USER", "").strip() or "stats"
    password = env.get("POSTGRES_PASSWORD", "")
    database = env.get("POSTGRES_DB", "").strip() or "stats"
    credentials = quote(user, safe="")
    if password:
        credentials += ":" + quote(password, safe="")
    return f"postgresql://{credentials}@{host}:{port_text}/{quote(database, safe='')}"




@dataclass(frozen=True)
class BackendConfig:
    token: str = field(repr=False)
    database_url: str = field(repr=False)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    read_token: str = field(default="", repr=False)
    public_read: bool = False
    pool_min: int = 1
    pool_max: int = 8
    db_timeout: float = 2.0
    max_batch: int = 5000

    def __post_init__(self) -> None:
        if not self.token:
            raise ConfigError("STATS_BEARER_TOKEN is empty: refusing to accept unauthenticated inserts")
        if not 0 < self.port < 65536:
            raise ConfigError(f"BACKEND_PORT must be a TCP port, got {self.port}")
        if not 1 <= self.pool_min <= self.pool_max:
            raise ConfigError(f"pool sizes must satisfy 1 <= min <= max, got {self.pool_min}/{self.pool_max}")

    @property
    def safe_database_url(self) -> str:
        return redact_url(self.database_url)

    @property
    def weak_token(self) -> bool:
        return self.token in KNOWN_WEAK_TOKENS or self.read_token in KNOWN_WEAK_TOKENS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> BackendConfig:
        """STATS_BEARER_TOKEN (required), STATS_READ_TOKEN (optional read-only token), STATS_PUBLIC_READ
        (true = dashboard/read API without token), DATABASE_URL or POSTGRES_*, BACKEND_BIND_HOST,
        BACKEND_PORT, STATS_DB_POOL_MAX, STATS_DB_TIMEOUT. ``overrides`` (CLI flags) win when not None."""
        env = os.environ if env is None else env
        port_text = env.get("BACKEND_PORT", "").strip() or str(DEFAULT_PORT)
        if not port_text.isdigit():
            raise ConfigError(f"BACKEND_PORT must be a TCP port, got {port_text!r}")
        pool_text = env.get("STATS_DB_POOL_MAX", "").strip() or "8"
        if not pool_text.isdigit():
            raise ConfigError(f"STATS_DB_POOL_MAX must be an integer, got {pool_text!r}")
        timeout_text = env.get("STATS_DB_TIMEOUT", "").strip() or "2"
        try:
            db_timeout = float(timeout_text)
        except ValueError:
            raise ConfigError(f"STATS_DB_TIMEOUT must be a number of seconds, got {timeout_text!r}") from None
        if not 0 < db_timeout <= 60:
            raise ConfigError(f"STATS_DB_TIMEOUT must be in (0, 60] seconds, got {timeout_text!r}")
        values: dict[str, object] = {
            "token": env.get("STATS_BEARER_TOKEN", "").strip(),
            "read_token": env.get("STATS_READ_TOKEN", "").strip(),
            "public_read": parse_bool("STATS_PUBLIC_READ", env.get("STATS_PUBLIC_READ", "")),
            "database_url": build_database_url(env),
            "host": env.get("BACKEND_BIND_HOST", "").strip() or DEFAULT_HOST,
            "port": int(port_text),
            "pool_max": int(pool_text),
            "db_timeout": db_timeout,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

    def warn_if_weak(self) -> None:
        if self.weak_token:
            log.warning(
                "!!! STATS_BEARER_TOKEN/STATS_READ_TOKEN is a published default (AZERTY/changeme/"
                "secret_token): anyone can write to this stats database. Set a long random token. !!!"
            )
