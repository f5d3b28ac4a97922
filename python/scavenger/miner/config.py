"""Miner configuration: the seed's environment names and defaults, plus the few this project adds.

Everything is validated once at start so a typo stops the process with a message naming the variable,
instead of surfacing hours later as a strange failure in the middle of mining.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scavenger import settings
from scavenger.envparse import ConfigError as ConfigError  # re-exported: callers catch it from here
from scavenger.settings import BACKENDS as BACKENDS
from scavenger.settings import LOG_LEVELS as LOG_LEVELS
from scavenger.settings import NETWORKS as NETWORKS
from scavenger.settings import SETTINGS


def default_threads() -> int:
    # The CPUs this process may run on (cgroup cpusets in containers), not the host's total.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _d(env: str) -> Any:
    """The declared default of a setting (scavenger.settings), so the dataclass never disagrees with it."""
    return SETTINGS[env].default


DEFAULT_BASE_URL: str = _d("APP_BASE_URL")
DEFAULT_STATS_BACKEND_URL: str = _d("STATS_BACKEND_URL")
DEFAULT_API_BACKEND_URL: str = _d("API_BACKEND_URL")
DEFAULT_ROM_SIZE: int = _d("ASHMAIZE_ROM_SIZE")
DEFAULT_PRE_SIZE: int = _d("ASHMAIZE_PRE_SIZE")


@dataclass(frozen=True)
class MinerConfig:
    log_level: str = _d("APP_LOG_LEVEL")
    threads: int = field(default_factory=default_threads)
    max_wallets: int = _d("MAX_WALLETS_PER_INSTANCE")
    enable_stats: bool = _d("ENABLE_STATS_BACKEND")
    stats_backend_url: str = DEFAULT_STATS_BACKEND_URL
    api_backend_url: str = DEFAULT_API_BACKEND_URL
    stats_report_interval: float = _d("STATS_REPORT_INTERVAL")
    stats_bearer_token: str = field(default="", repr=False)
    container_prefix: str = _d("CONTAINER_PREFIX")
    postgres_host: str = _d("POSTGRES_HOST")
    postgres_port: int = _d("POSTGRES_PORT")
    postgres_user: str = _d("POSTGRES_USER")
    postgres_password: str = field(default="", repr=False)
    postgres_db: str = _d("POSTGRES_DB")
    database_url: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    root: Path = Path(_d("ROOT_CONF_PATH"))
    network: str = _d("CARDANO_NETWORK")
    instance_slot: int | None = None
    metrics_port: int = _d("METRICS_PORT")
    metrics_host: str = _d("METRICS_HOST")
    tip_address: str | None = None
    rom_size: int = DEFAULT_ROM_SIZE
    pre_size: int = DEFAULT_PRE_SIZE
    donate: bool = _d("DONATE_ENABLED")
    donate_interval: float = _d("DONATE_SLEEP_DURATION")
    poll_interval: float = _d("CHALLENGE_POLL_INTERVAL")
    backend: str = _d("MINER_BACKEND")
    opencl_device: str | None = None


# field -> environment variable; each variable's parser, default, bound and help are declared once, in
# scavenger.settings. The environment names are the seed's where it had one.
_FIELDS: dict[str, str] = {
    "log_level": "APP_LOG_LEVEL",
    "threads": "MINER_THREADS",
    "max_wallets": "MAX_WALLETS_PER_INSTANCE",
    "enable_stats": "ENABLE_STATS_BACKEND",
    "stats_backend_url": "STATS_BACKEND_URL",
    "api_backend_url": "API_BACKEND_URL",
    "stats_report_interval": "STATS_REPORT_INTERVAL",
    "stats_bearer_token": "STATS_BEARER_TOKEN",
    "container_prefix": "CONTAINER_PREFIX",
    "postgres_host": "POSTGRES_HOST",
    "postgres_port": "POSTGRES_PORT",
    "postgres_user": "POSTGRES_USER",
    "postgres_password": "POSTGRES_PASSWORD",
    "postgres_db": "POSTGRES_DB",
    "database_url": "DATABASE_URL",
    "base_url": "APP_BASE_URL",
    "root": "ROOT_CONF_PATH",
    "network": "CARDANO_NETWORK",
    "instance_slot": "INSTANCE_SLOT",
    "metrics_port": "METRICS_PORT",
    "metrics_host": "METRICS_HOST",
    "tip_address": "TIP_ADDRESS",
    "rom_size": "ASHMAIZE_ROM_SIZE",
    "pre_size": "ASHMAIZE_PRE_SIZE",
    "donate": "DONATE_ENABLED",
    "donate_interval": "DONATE_SLEEP_DURATION",
    "poll_interval": "CHALLENGE_POLL_INTERVAL",
    "backend": "MINER_BACKEND",
    "opencl_device": "OPENCL_DEVICE",
}

ENV_NAMES: dict[str, str] = dict(_FIELDS)
# The real API's host: polling it more often than this is what gets clients rate-limited (429).
_REAL_API_HOST_SUFFIX = ".midnighttge.io"
MIN_REAL_API_POLL_INTERVAL = 10.0


def _validated(config: MinerConfig, label: Mapping[str, str]) -> MinerConfig:
    """Rules between settings. ``label`` names each setting as the user gave it (flag or variable)."""
    settings.check_rom(config.rom_size, config.pre_size, label)
    if config.enable_stats and not config.stats_bearer_token:
        raise ConfigError("ENABLE_STATS_BACKEND is true but STATS_BEARER_TOKEN is empty")
    host = urlsplit(config.base_url).hostname or ""
    if host.endswith(_REAL_API_HOST_SUFFIX) and config.poll_interval < MIN_REAL_API_POLL_INTERVAL:
        raise ConfigError(
            f"{label['CHALLENGE_POLL_INTERVAL']} must be at least {MIN_REAL_API_POLL_INTERVAL:g} s against "
            f"the real API (it rate-limits), got {config.poll_interval:g}"
        )
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


def load_config(
    env: Mapping[str, str] | None = None, *, flags_given: Iterable[str] = (), **overrides: Any
) -> MinerConfig:
    """Read the configuration from ``env`` (default: the process environment), then apply ``overrides``
    (CLI flags by field name; None = not given), each checked by its setting's parser. ``flags_given`` (env
    names) are the settings given as flags, so that messages name the flag rather than the variable."""
    label = settings.labels(flags_given)
    given: dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        env_name = _FIELDS[name]
        given[env_name] = value if isinstance(value, bool) else SETTINGS[env_name].parse(
            label[env_name], str(value)
        )
    values = settings.read(_FIELDS.values(), env, given)
    # The miner's other settings (the stats reporter's) are read later, after the slot is claimed: check them
    # now, so a bad one stops the start before anything is created.
    settings.read((s.env for s in SETTINGS.values() if "mine" in s.commands and s.env not in values), env)
    fields = {name: values[env_name] for name, env_name in _FIELDS.items()}
    fields["root"] = Path(fields["root"])
    fields["tip_address"] = _parse_tip("TIP_ADDRESS", fields["tip_address"] or "")
    fields["opencl_device"] = fields["opencl_device"] or None
    if fields["threads"] is None:
        fields["threads"] = default_threads()
    return _validated(MinerConfig(**fields), label)


def start_warnings(config: MinerConfig) -> list[str]:
    """Accepted but probably unintended settings, logged once at start."""
    cpus = default_threads()
    if config.threads > cpus:
        return [f"MINER_THREADS={config.threads} is more than the {cpus} CPU(s) available: threads will "
                "compete for cores and the hash rate will not rise"]
    return []


def _parse_tip(name: str, text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"addr(_test)?1[02-9ac-hj-np-z]{20,}", value):
        raise ConfigError(f"{name} must be a bech32 Cardano address (addr1...), got {text!r}")
    return value
