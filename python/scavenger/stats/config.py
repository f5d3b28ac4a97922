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

from scavenger import settings
from scavenger.envparse import ConfigError as ConfigError

# The one URL redaction helper (it also hides libpq's password/sslpassword query parameters).
from scavenger.redact import redact_url as redact_url

log = logging.getLogger(__name__)

# The seed's .env.example value, the seed's two code defaults and our own manifests' placeholder: published,
# so anyone can guess them.
KNOWN_WEAK_TOKENS = frozenset({"AZERTY", "changeme", "secret_token", "change-me-to-a-long-random-token"})
# A bearer token is the only thing between the internet and the stats database: 16 characters is the least
# a random token (token_urlsafe(12) and up) has; a person-chosen word is usually shorter.
MIN_TOKEN_LENGTH = 16
TOKEN_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
# With this profile in COMPOSE_PROFILES (docker-compose.yml passes the list through), the published default
# token is accepted, with a warning, so the local demo runs without any setup.
DEMO_PROFILE = "demo"


def is_demo_profile(env: Mapping[str, str] | None = None) -> bool:
    profiles = settings.read(["COMPOSE_PROFILES"], env)["COMPOSE_PROFILES"]
    return DEMO_PROFILE in {part.strip() for part in str(profiles).split(",")}


def token_problem(name: str, token: str, *, demo: bool = False) -> str | None:
    """Why ``token`` (the value of setting ``name``) must not be used, in one line with a hint; None if fine.
    Never echoes the token. In the demo profile only the published defaults are let through."""
    if token in KNOWN_WEAK_TOKENS:
        if demo:
            return None
        return (f"{name} is a published default: anyone could use it. Set your own ({TOKEN_HINT}); only the "
                f"demo profile (COMPOSE_PROFILES=demo) accepts it")
    if len(token) < MIN_TOKEN_LENGTH:
        return f"{name} has {len(token)} characters; at least {MIN_TOKEN_LENGTH} are required ({TOKEN_HINT})"
    return None
DEFAULT_PORT: int = settings.SETTINGS["BACKEND_PORT"].default
# The service runs in a container next to the miners; bind narrower with --host / BACKEND_BIND_HOST.
DEFAULT_HOST: str = settings.SETTINGS["BACKEND_BIND_HOST"].default


def build_database_url(env: Mapping[str, str]) -> str:
    """DATABASE_URL when set, else built from POSTGRES_HOST/PORT/USER/PASSWORD/DB.

    The seed's .env.example builds ``postgres://$POSTGRES_DB:$POSTGRES_PASSWORD@...`` (database name used as
    the *user*); that only works because both are ``stats`` there. We use POSTGRES_USER as the user."""
    values = settings.read(_DATABASE_SETTINGS, env)
    explicit = values["DATABASE_URL"]
    if explicit:
        if not explicit.startswith(("postgres://", "postgresql://")):
            raise ConfigError("DATABASE_URL must start with postgres:// or postgresql://")
        return str(explicit)
    credentials = quote(values["POSTGRES_USER"], safe="")
    if values["POSTGRES_PASSWORD"]:
        credentials += ":" + quote(values["POSTGRES_PASSWORD"], safe="")
    host, port, database = values["POSTGRES_HOST"], values["POSTGRES_PORT"], values["POSTGRES_DB"]
    return f"postgresql://{credentials}@{host}:{port}/{quote(database, safe='')}"


_DATABASE_SETTINGS = ("DATABASE_URL", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD",
                      "POSTGRES_DB")




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
    demo: bool = False

    def __post_init__(self) -> None:
        if not self.token:
            raise ConfigError(
                f"STATS_BEARER_TOKEN is empty: refusing to accept unauthenticated inserts ({TOKEN_HINT})"
            )
        for name, value in (("STATS_BEARER_TOKEN", self.token), ("STATS_READ_TOKEN", self.read_token)):
            problem = token_problem(name, value, demo=self.demo) if value else None
            if problem is not None:
                raise ConfigError(problem)
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
        """The settings declared for ``stats-backend`` in scavenger.settings (STATS_BEARER_TOKEN required;
        secrets only from the environment, never argv). ``overrides`` (CLI flags) win when not None."""
        names = ["STATS_BEARER_TOKEN", "STATS_READ_TOKEN", "STATS_PUBLIC_READ", "BACKEND_BIND_HOST",
                 "BACKEND_PORT", "STATS_DB_POOL_MAX", "STATS_DB_TIMEOUT"]
        values = settings.read(names, env)
        fields: dict[str, object] = {
            "token": values["STATS_BEARER_TOKEN"],
            "read_token": values["STATS_READ_TOKEN"],
            "public_read": values["STATS_PUBLIC_READ"],
            "database_url": build_database_url(os.environ if env is None else env),
            "host": values["BACKEND_BIND_HOST"],
            "port": values["BACKEND_PORT"],
            "pool_max": values["STATS_DB_POOL_MAX"],
            "db_timeout": values["STATS_DB_TIMEOUT"],
            "demo": is_demo_profile(env),
        }
        fields.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**fields)  # type: ignore[arg-type]

    def warn_if_weak(self) -> None:
        if self.weak_token:
            log.warning(
                "!!! STATS_BEARER_TOKEN/STATS_READ_TOKEN is a published default, accepted only because this "
                "is the demo profile: anyone can write to this stats database. Outside a demo, %s !!!",
                TOKEN_HINT,
            )
