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

from scavenger.envparse import ConfigError as ConfigError  # re-exported: callers catch it from here
from scavenger.envparse import (
    parse_bool,
    parse_port,
    parse_positive_float,
    parse_positive_int,
    parse_size,
    parse_url,
)

DEFAULT_BASE_URL = "https://scavenger.prod.gd.midnighttge.io"
DEFAULT_STATS_BACKEND_URL = "http://stats-backend:8080/insert_stat"
DEFAULT_API_BACKEND_URL = "http://stats-backend:8080/insert_api_return"
DEFAULT_ROM_SIZE = 1 << 30
DEFAULT_PRE_SIZE = 16 << 20
BACKENDS = ("cpu", "opencl", "auto", "opencl+cpu")  # scavenger.core.backend.BACKENDS (not imported: no cycle)
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "critical")
NETWORKS = ("mainnet", "testnet")



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
    backend: str = "cpu"
    opencl_device: str | None = None

    def with_overrides(self, **values: Any) -> MinerConfig:
        """Apply CLI flags (None = not given) on top of the environment, validating them the same way."""
        parsed: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue
            env_name, parser = _FIELDS[name]
            parsed[name] = value if isinstance(value, bool) else parser(env_name, str(value))
        return _validated(replace(self, **parsed)) if parsed else self


def _parse_choice(choices: tuple[str, ...]) -> Any:
    def parse(name: str, text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {text!r}")
        return value

    return parse


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
    return parse_positive_int(name, text)


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
    "threads": ("MINER_THREADS", parse_positive_int),
    "max_wallets": ("MAX_WALLETS_PER_INSTANCE", parse_positive_int),
    "enable_stats": ("ENABLE_STATS_BACKEND", parse_bool),
    "stats_backend_url": ("STATS_BACKEND_URL", parse_url),
    "api_backend_url": ("API_BACKEND_URL", parse_url),
    "stats_report_interval": ("STATS_REPORT_INTERVAL", parse_positive_float),
    "stats_bearer_token": ("STATS_BEARER_TOKEN", _parse_text),
    "container_prefix": ("CONTAINER_PREFIX", _parse_text),
    "postgres_host": ("POSTGRES_HOST", _parse_text),
    "postgres_port": ("POSTGRES_PORT", parse_port),
    "postgres_user": ("POSTGRES_USER", _parse_text),
    "postgres_password": ("POSTGRES_PASSWORD", _parse_text),
    "postgres_db": ("POSTGRES_DB", _parse_text),
    "database_url": ("DATABASE_URL", _parse_text),
    "base_url": ("APP_BASE_URL", parse_url),
    "root": ("ROOT_CONF_PATH", _parse_path),
    "network": ("CARDANO_NETWORK", _parse_choice(NETWORKS)),
    "instance_slot": ("INSTANCE_SLOT", _parse_slot),
    "metrics_port": ("METRICS_PORT", parse_port),
    "tip_address": ("TIP_ADDRESS", _parse_tip),
    "rom_size": ("ASHMAIZE_ROM_SIZE", parse_size),
    "pre_size": ("ASHMAIZE_PRE_SIZE", parse_size),
    "donate": ("DONATE_ENABLED", parse_bool),
    "donate_interval": ("DONATE_SLEEP_DURATION", parse_positive_float),
    "poll_interval": ("CHALLENGE_POLL_INTERVAL", parse_positive_float),
    "backend": ("MINER_BACKEND", _parse_choice(BACKENDS)),
    "opencl_device": ("OPENCL_DEVICE", _parse_optional_text),
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
        _check_address("TIP_ADDRESS", config.tip_address, config.network)
    return config


def _check_address(name: str, text: str, network: str) -> None:
    # The same check as every line of donate_list.txt: a mistyped character fails the bech32 checksum here,
    # at start, instead of as a donate_to failure retried forever for the wallets that draw this address.
    from scavenger.wallet.address import parse_network, validate_payment_address
    from scavenger.wallet.errors import AddressError

    try:
        validate_payment_address(text, parse_network(network))
    except AddressError as exc:
        raise ConfigError(f"{name} is not a valid Cardano payment address: {exc}") from None


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
