"""Miner configuration: the seed's environment names and defaults, plus the few this project adds.

Everything is validated once at start so a typo stops the process with a message naming the variable,
instead of surfacing hours later as a strange failure in the middle of mining.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://scavenger.prod.gd.midnighttge.io"
DEFAULT_STATS_BACKEND_URL = "http://stats-backend:8080/insert_stat"
DEFAULT_API_BACKEND_URL = "http://stats-backend:8080/insert_api_return"
DEFAULT_ROM_SIZE = 1 << 30
DEFAULT_PRE_SIZE = 16 << 20
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "critical")
NETWORKS = ("mainnet", "testnet")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the variable and the bad value."""


def default_threads() -> int:
    # The CPUs this process may run on (cgroup cpusets in containers), not the host's total.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class MinerConfig:
    log_level: str = "info"
    threads: int = field(default_factory=default_threads)
    max_wallets: int = 2
    enable_stats: bool = False
    stats_backend_url: str = DEFAULT_STATS_BACKEND_URL
    api_backend_url: str = DEFAULT_API_BACKEND_URL
    stats_report_interval: float = 10.0
    stats_bearer_token: str = field(default="", repr=False)
    container_prefix: str = ""
    postgres_host: str = "stats-db"
    postgres_port: int = 5432
    postgres_user: str = "stats"
    postgres_password: str = field(default="", repr=False)
    postgres_db: str = "stats"
    database_url: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    root: Path = Path("config")
    network: str = "mainnet"
    instance_slot: int | None = None
    metrics_port: int = 0
    tip_address: str | None = None
    rom_size: int = DEFAULT_ROM_SIZE
    pre_size: int = DEFAULT_PRE_SIZE
    donate: bool = True
    donate_interval: float = 600.0
    poll_interval: float = 60.0

    def with_overrides(self, **values: Any) -> MinerConfig:
        """Apply CLI flags (None = not given) on top of the environment, validating them the same way."""
        parsed: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue
            env_name, parser = _FIELDS[name]
            parsed[name] = value if isinstance(value, bool) else parser(env_name, str(value))
        return _validated(replace(self, **parsed)) if parsed else self


def _parse_positive_int(name: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a positive integer, got {text!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {text!r}")
    return value


def _parse_port(name: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a port number 0-65535 (0 = off), got {text!r}") from None
    if not 0 <= value <= 65535:
        raise ConfigError(f"{name} must be a port number 0-65535 (0 = off), got {text!r}")
    return value


def _parse_positive_float(name: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a positive number of seconds, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, got {text!r}")
    return value


def _parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {text!r}")


def _parse_url(name: str, text: str) -> str:
    value = text.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {text!r}")
    return value.rstrip("/")


def _parse_choice(choices: tuple[str, ...]) -> Any:
    def parse(name: str, text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {text!r}")
        return value

    return parse


def _parse_size(name: str, text: str) -> int:
    match = _SIZE_RE.match(text)
    if not match:
        raise ConfigError(f"{name} must be a size in bytes (e.g. 1073741824, 64MiB, 1GiB), got {text!r}")
    unit = (match.group(2) or "").lower()[:1]
    value = int(match.group(1)) * _SIZE_UNITS[unit]
    if value < 1:
        raise ConfigError(f"{name} must be a positive size, got {text!r}")
    return value


def _parse_text(name: str, text: str) -> str:
    return text


def _parse_optional_text(name: str, text: str) -> str | None:
    return text.strip() or None


def _parse_path(name: str, text: str) -> Path:
    if not text.strip():
        raise ConfigError(f"{name} must be a folder path, got {text!r}")
    return Path(text.strip())


def _parse_slot(name: str, text: str) -> int | None:
    if not text.strip():
        return None
    return _parse_positive_int(name, text)


def _parse_tip(name: str, text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"addr(_test)?1[02-9ac-hj-np-z]{20,}", value):
        raise ConfigError(f"{name} must be a bech32 Cardano address (addr1...), got {text!r}")
    return value


# field -> (environment variable, parser). The environment names are the seed's where it had one.
_FIELDS: dict[str, tuple[str, Any]] = {
    "log_level": ("APP_LOG_LEVEL", _parse_choice(LOG_LEVELS)),
    "threads": ("MINER_THREADS", _parse_positive_int),
    "max_wallets": ("MAX_WALLETS_PER_INSTANCE", _parse_positive_int),
    "enable_stats": ("ENABLE_STATS_BACKEND", _parse_bool),
    "stats_backend_url": ("STATS_BACKEND_URL", _parse_url),
    "api_backend_url": ("API_BACKEND_URL", _parse_url),
    "stats_report_interval": ("STATS_REPORT_INTERVAL", _parse_positive_float),
    "stats_bearer_token": ("STATS_BEARER_TOKEN", _parse_text),
    "container_prefix": ("CONTAINER_PREFIX", _parse_text),
    "postgres_host": ("POSTGRES_HOST", _parse_text),
    "postgres_port": ("POSTGRES_PORT", _parse_port),
    "postgres_user": ("POSTGRES_USER", _parse_text),
    "postgres_password": ("POSTGRES_PASSWORD", _parse_text),
    "postgres_db": ("POSTGRES_DB", _parse_text),
    "database_url": ("DATABASE_URL", _parse_text),
    "base_url": ("APP_BASE_URL", _parse_url),
    "root": ("ROOT_CONF_PATH", _parse_path),
    "network": ("CARDANO_NETWORK", _parse_choice(NETWORKS)),
    "instance_slot": ("INSTANCE_SLOT", _parse_slot),
    "metrics_port": ("METRICS_PORT", _parse_port),
    "tip_address": ("TIP_ADDRESS", _parse_tip),
    "rom_size": ("ASHMAIZE_ROM_SIZE", _parse_size),
    "pre_size": ("ASHMAIZE_PRE_SIZE", _parse_size),
    "donate": ("DONATE_ENABLED", _parse_bool),
    "donate_interval": ("DONATE_SLEEP_DURATION", _parse_positive_float),
    "poll_interval": ("CHALLENGE_POLL_INTERVAL", _parse_positive_float),
}

ENV_NAMES: dict[str, str] = {name: env for name, (env, _) in _FIELDS.items()}


def _validated(config: MinerConfig) -> MinerConfig:
    if config.pre_size > config.rom_size:
        raise ConfigError(
            f"ASHMAIZE_PRE_SIZE ({config.pre_size}) must not exceed ASHMAIZE_ROM_SIZE ({config.rom_size})"
        )
    if config.enable_stats and not config.stats_bearer_token:
        raise ConfigError("ENABLE_STATS_BACKEND is true but STATS_BEARER_TOKEN is empty")
    if config.tip_address is not None:
        testnet = config.tip_address.startswith("addr_test")
        if testnet != (config.network == "testnet"):
            raise ConfigError(
                f"TIP_ADDRESS is a {'testnet' if testnet else 'mainnet'} address but CARDANO_NETWORK is "
                f"{config.network}"
            )
    return config


def load_config(env: Mapping[str, str] | None = None, **overrides: Any) -> MinerConfig:
    """Read the configuration from ``env`` (default: the process environment), then apply CLI overrides."""
    source = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name, (env_name, parser) in _FIELDS.items():
        text = source.get(env_name)
        if text is None:
            continue
        if not text.strip():
            # An empty value (e.g. `MINER_THREADS=` in a .env file) means "use the default".
            continue
        values[name] = parser(env_name, text)
    config = _validated(MinerConfig(**values))
    return config.with_overrides(**overrides)
