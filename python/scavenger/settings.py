"""Every setting of every command, declared once: environment variable, CLI flag, default, bound and help.

Commands build their click options from these declarations (``option``), library code reads the environment
through them (``read``), and the docs' tables are generated from them (``markdown_table``; a test keeps
README.md and docs/settings.md equal to what this module generates). Why click and not pydantic-settings:
see docs/settings.md.

Error rule, the same in every command: a bad value stops the command before anything starts, with one line
that names the environment variable if the value came from the environment, or the flag if it came from the
command line, and exit status 2 (``EXIT_BAD_SETTING``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from scavenger import exits
from scavenger.envparse import (
    ConfigError,
    int_in,
    parse_bool,
    parse_port,
    parse_size,
    parse_url,
    seconds_in,
)

EXIT_BAD_SETTING = exits.BAD_SETTING  # click's status for a usage error: both mean "fix the command"
REAL_API_URL = "https://scavenger.prod.gd.midnighttge.io"
MAX_THREADS = 1024  # the core's own limit for Rom.search(threads=...)
MAX_WALLETS = 1000  # a bound on wallets per instance: each is generated, registered and mined in turn
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "critical")
BACKENDS = ("cpu", "opencl", "auto", "opencl+cpu")  # scavenger.core.backend.BACKENDS (not imported: no cycle)
NETWORKS = ("mainnet", "testnet")

Parser = Callable[[str, str], Any]
F = TypeVar("F", bound=Callable[..., Any])


class SettingError(click.ClickException):
    """A bad setting, shown as one ``Error: ...`` line; exit status ``EXIT_BAD_SETTING``."""

    exit_code = EXIT_BAD_SETTING


def choice(choices: tuple[str, ...]) -> Parser:
    def parse(name: str, text: str) -> str:
        value = text.strip().strip('"').lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {text!r}")
        return value

    return parse


def network(name: str, text: str) -> str:
    """mainnet or testnet; preprod and preview (Cardano's test networks) mean testnet, as in the wallet."""
    value = text.strip().strip('"').lower()
    canonical = {"mainnet": "mainnet", "testnet": "testnet", "preprod": "testnet", "preview": "testnet"}
    if value not in canonical:
        raise ConfigError(f"{name} must be mainnet or testnet (preprod/preview mean testnet), got {text!r}")
    return canonical[value]


def text_value(name: str, text: str) -> str:
    return text.strip()


def raw_text(name: str, text: str) -> str:
    """Kept exactly as given (a password may end with a space)."""
    return text


def folder(name: str, text: str) -> str:
    if not text.strip():
        raise ConfigError(f"{name} must be a folder path, got {text!r}")
    return text.strip()


def optional_int(low: int, high: int) -> Parser:
    def parse(name: str, text: str) -> int | None:
        return int_in(low, high)(name, text) if text.strip() else None

    return parse


def optional_slot(name: str, text: str) -> int | None:
    return int_in(1, 9999)(name, text) if text.strip() else None


def size_setting(name: str, text: str) -> int:
    return parse_size(name, text)


@dataclass(frozen=True)
class Setting:
    """One setting. ``parse(label, text)`` turns the text into the value or raises ``ConfigError`` naming
    ``label`` (the variable or the flag). ``flag`` is None for settings that must never be on argv (secrets)
    or only matter to containers. ``default_text`` is how the default reads in help and docs."""

    env: str
    parse: Parser
    default: Any
    help: str
    bound: str
    commands: tuple[str, ...]
    flag: str | None = None
    default_text: str | None = None
    secret: bool = False
    metavar: str | None = None

    def shown_default(self) -> str:
        if self.default_text is not None:
            return self.default_text
        if self.default is None or self.default == "":
            return "empty"
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)

    def default_value(self) -> Any:
        return self.default() if callable(self.default) else self.default


_MINER = ("mine", "demo")
_SETTINGS: list[Setting] = [
    # --- where and what to mine --------------------------------------------------------------------------
    Setting("APP_BASE_URL", parse_url, REAL_API_URL, "Scavenger Mine API base URL.",
            "http(s) URL with a host", ("mine", "donate", "status"), flag="--api-url",
            default_text="the real mainnet API", metavar="URL"),
    Setting("ROOT_CONF_PATH", folder, "config", "Config folder shared by all instances.", "a folder path",
            ("mine", "demo", "slots", "donate", "status", "wallet", "challenges"), flag="--config-dir",
            default_text="./config", metavar="DIR"),
    Setting("CARDANO_NETWORK", network, "mainnet", "Cardano network of the wallets.",
            "mainnet or testnet (preprod, preview)", ("mine", "demo", "slots", "donate", "status", "wallet"),
            flag="--network"),
    Setting("INSTANCE_SLOT", optional_slot, None, "Instance slot: folder config/N (Swarm: {{.Task.Slot}}).",
            "1..9999", ("mine", "demo", "wallet"), flag="--slot", default_text="first free", metavar="N"),
    Setting("MINER_THREADS", int_in(1, MAX_THREADS), None, "Hashing threads (a warning above the CPU count).",
            f"1..{MAX_THREADS}", _MINER, flag="--threads", default_text="CPUs available", metavar="N"),
    Setting("MINER_BACKEND", choice(BACKENDS), "cpu",
            "Hashing backend: auto = an OpenCL GPU if present, else cpu; opencl+cpu = the device and "
            "MINER_THREADS CPU threads together.", "cpu, opencl, auto, opencl+cpu", ("mine", "demo", "bench"),
            flag="--backend"),
    Setting("OPENCL_DEVICE", text_value, "", "OpenCL device: see `scavenger devices`.",
            "P:D or a part of a device name", ("mine", "demo", "bench"), flag="--opencl-device",
            default_text="the first GPU", metavar="DEVICE"),
    Setting("MAX_WALLETS_PER_INSTANCE", int_in(1, MAX_WALLETS), 2, "Wallets mined by this instance.",
            f"1..{MAX_WALLETS}", _MINER, flag="--wallets", metavar="N"),
    Setting("ASHMAIZE_ROM_SIZE", size_setting, 1 << 30, "AshMaize ROM size; must match the server.",
            "what the core accepts: a multiple of 64, at most 16 GiB",
            ("mine", "demo", "bench", "simulate"), flag="--rom-size", default_text="1GiB", metavar="SIZE"),
    Setting("ASHMAIZE_PRE_SIZE", size_setting, 16 << 20, "AshMaize pre-ROM size; must match the server.",
            "what the core accepts: a power of two >= 64, at most the ROM size",
            ("mine", "demo", "bench", "simulate"), flag="--pre-size", default_text="16MiB", metavar="SIZE"),
    Setting("CHALLENGE_POLL_INTERVAL", seconds_in(1, 3600), 60.0, "Seconds between polls of GET /challenge.",
            "1..3600 s; at least 10 s against the real API (rate limits)", _MINER, flag="--poll-interval",
            default_text="60", metavar="SECONDS"),
    # --- donations -------------------------------------------------------------------------------------
    Setting("DONATE_ENABLED", parse_bool, True, "Assign every wallet's rights to the donation list.",
            "true or false", _MINER, flag="--donate/--no-donate"),
    Setting("DONATE_SLEEP_DURATION", seconds_in(1, 86400), 600.0, "Seconds between donation retries.",
            "1..86400 s", _MINER, default_text="600"),
    Setting("TIP_ADDRESS", text_value, "", "An optional extra donation address, used only if set.",
            "a Cardano payment address of CARDANO_NETWORK", ("mine", "demo", "donate")),
    # --- observability ---------------------------------------------------------------------------------
    Setting("APP_LOG_LEVEL", choice(LOG_LEVELS), "info", "Log level.",
            "trace, debug, info, warn(ing), error, critical",
            ("mine", "demo", "slots", "donate", "status", "stats-backend"), flag="--log-level"),
    Setting("METRICS_PORT", parse_port, 0, "Prometheus /metrics port, 0 = off.", "0..65535", _MINER,
            flag="--metrics-port", default_text="0 (off)", metavar="PORT"),
    Setting("METRICS_HOST", text_value, "127.0.0.1",
            "Interface /metrics listens on: this machine only by default; the container images and "
            "manifests set 0.0.0.0 so Prometheus can scrape them.", "an address (0.0.0.0 or :: for all)",
            _MINER, flag="--metrics-host", metavar="HOST"),
    # --- miner -> stats backend ------------------------------------------------------------------------
    Setting("ENABLE_STATS_BACKEND", parse_bool, False,
            "Report hash rate and API replies to the stats backend.", "true or false", _MINER),
    Setting("STATS_BACKEND_URL", parse_url, "http://stats-backend:8080/insert_stat",
            "Where hash rates are sent.", "http(s) URL with a host", _MINER),
    Setting("API_BACKEND_URL", parse_url, "http://stats-backend:8080/insert_api_return",
            "Where API replies are sent.", "http(s) URL with a host", _MINER),
    Setting("STATS_REPORT_INTERVAL", seconds_in(1, 3600), 10.0, "Seconds between reports.", "1..3600 s",
            _MINER, default_text="10"),
    Setting("STATS_BUFFER_SIZE", int_in(1, 1_000_000), 10_000, "Rows kept while the backend is down.",
            "1..1000000", _MINER),
    Setting("STATS_TIMEOUT", seconds_in(0.1, 300), 3.0, "Seconds before a report request gives up.",
            "0.1..300 s", _MINER, default_text="3"),
    Setting("STATS_CONTAINER_ID", text_value, "", "Stats container_id.", "any text", _MINER,
            default_text="[CONTAINER_PREFIX/]miner-<slot>@hostname"),
    Setting("CONTAINER_PREFIX", text_value, "", "Prefix of the stats container_id.", "any text", _MINER),
    Setting("STATS_HOST_NAME", text_value, "",
            "Host part of the stats container_id miner-<slot>@<host>: in a container, the Docker host's "
            "name (scripts/docker.sh, Swarm and Kubernetes set it) rather than the container's hex id.",
            "any text", _MINER, default_text="this machine's hostname"),
    Setting("APP_VERSION", text_value, "0.1.0", "Version reported with each stats row.", "any text", _MINER),
    Setting("STATS_BEARER_TOKEN", text_value, "", "Shared secret between miners and the backend.",
            "16+ characters, not a published default such as changeme (the backend refuses to start with "
            "one, except changeme & co. in the demo profile; miners warn)",
            ("mine", "demo", "stats-backend"), default_text="empty", secret=True),
    Setting("COMPOSE_PROFILES", text_value, "",
            "Compose's profile list, passed through by docker-compose.yml: with demo in it, the published "
            "default token is accepted (with a warning).", "comma-separated profile names",
            ("mine", "demo", "stats-backend")),
    # --- stats backend ---------------------------------------------------------------------------------
    Setting("STATS_READ_TOKEN", text_value, "", "Optional read-only token for the dashboard and read API.",
            "empty, or as STATS_BEARER_TOKEN", ("stats-backend",), secret=True),
    Setting("STATS_PUBLIC_READ", parse_bool, False, "Serve the dashboard and read API without a token.",
            "true or false", ("stats-backend",)),
    Setting("BACKEND_BIND_HOST", text_value, "0.0.0.0", "Interface the stats backend listens on.",
            "an address", ("stats-backend",), flag="--host", metavar="HOST"),
    Setting("BACKEND_PORT", int_in(1, 65535), 8080, "TCP port of the stats backend.", "1..65535",
            ("stats-backend",), flag="--port", metavar="PORT"),
    Setting("STATS_DB_POOL_MAX", int_in(1, 100), 8, "Database connections of the stats backend.", "1..100",
            ("stats-backend",)),
    Setting("STATS_DB_TIMEOUT", seconds_in(0.1, 60), 2.0, "Seconds before a database call gives up.",
            "0.1..60 s", ("stats-backend",), default_text="2"),
    Setting("DATABASE_URL", text_value, "", "Full PostgreSQL URL; wins over POSTGRES_*.",
            "postgres:// or postgresql:// URL", ("stats-backend",), default_text="built from POSTGRES_*",
            secret=True),
    Setting("POSTGRES_HOST", text_value, "stats-db", "PostgreSQL host.", "a host name", ("stats-backend",)),
    Setting("POSTGRES_PORT", int_in(1, 65535), 5432, "PostgreSQL port.", "1..65535", ("stats-backend",)),
    Setting("POSTGRES_USER", text_value, "stats", "PostgreSQL user.", "any text", ("stats-backend",)),
    Setting("POSTGRES_PASSWORD", raw_text, "", "PostgreSQL password.", "any text", ("stats-backend",),
            secret=True),
    Setting("POSTGRES_DB", text_value, "stats", "PostgreSQL database.", "any text", ("stats-backend",)),
]

_SIM = ("simulate",)
_SETTINGS += [
    # --- the local simulator (scavenger simulate); SCAVENGER_SIM_<FLAG> ------------------------------
    Setting("SCAVENGER_SIM_HOST", text_value, "127.0.0.1", "Interface to listen on.", "an address", _SIM,
            flag="--host", metavar="HOST"),
    Setting("SCAVENGER_SIM_PORT", parse_port, 8088, "TCP port; 0 picks a free one (see --port-file).",
            "0..65535", _SIM, flag="--port", metavar="PORT"),
    Setting("SCAVENGER_SIM_STATE", folder, "sim.sqlite3",
            "SQLite state file; reused on restart (schedule, key, registrations, solutions, donations).",
            "a file path", _SIM, flag="--state", metavar="FILE"),
    Setting("SCAVENGER_SIM_CHALLENGE_PERIOD", seconds_in(1, 86400), 3600.0,
            "Seconds between challenges (the real server: 3600).", "1..86400 s", _SIM,
            flag="--challenge-period", default_text="3600", metavar="SECONDS"),
    Setting("SCAVENGER_SIM_DAYS", int_in(1, 99), 21, "Mining days (24 challenges each).", "1..99", _SIM,
            flag="--days", metavar="N"),
    Setting("SCAVENGER_SIM_START", text_value, "now", "First challenge time.",
            "now, +/-N[smhd] relative to now, or ISO 8601", _SIM, flag="--start", metavar="TIME"),
    Setting("SCAVENGER_SIM_DIFFICULTY", text_value, "000FFFFF", "Difficulty mask(s), used round-robin.",
            "8 hex digits, or a comma list of them", _SIM, flag="--difficulty", metavar="MASK"),
    Setting("SCAVENGER_SIM_NETWORK", network, "mainnet", "Address network accepted at registration.",
            "mainnet or testnet (preprod, preview)", _SIM, flag="--network"),
    Setting("SCAVENGER_SIM_RATE_LIMIT", int_in(0, 1_000_000), 0,
            "Requests per --rate-window per client before 429 (0: off).", "0..1000000", _SIM,
            flag="--rate-limit", metavar="N"),
    Setting("SCAVENGER_SIM_RATE_WINDOW", seconds_in(0.01, 3600), 1.0, "Rate-limit window in seconds.",
            "0.01..3600 s", _SIM, flag="--rate-window", default_text="1", metavar="SECONDS"),
    Setting("SCAVENGER_SIM_FAULTS", text_value, "", "JSON fault rule or list (see docs/simulator.md).",
            'JSON, e.g. {"kind": "503", "count": 2}', _SIM, flag="--faults", metavar="JSON"),
    Setting("SCAVENGER_SIM_FAULT_SEED", optional_int(0, 2**64 - 1), None,
            "Seed of the fault rules' probability draws (reproducible storms).", "0..2^64-1", _SIM,
            flag="--fault-seed", default_text="random, logged", metavar="N"),
    Setting("SCAVENGER_SIM_SEED", text_value, "", "Schedule seed (hex) for a new state file.",
            "hex digits", _SIM, flag="--seed", default_text="random", metavar="HEX"),
    Setting("SCAVENGER_SIM_DAILY_POOL_STAR", int_in(0, 10**18), 30_000_000 * 1_000_000,
            "STAR shared per day among that day's receipts (drives /work_to_star_rate).", "0..10^18", _SIM,
            flag="--daily-pool-star", metavar="STAR"),
    Setting("SCAVENGER_SIM_NETWORK_RECEIPTS", int_in(0, 10**9), 3_000_000,
            "Receipts per day of the simulated rest of the world (+-30 % per day) sharing the pool; 0: none.",
            "0..10^9", _SIM, flag="--network-receipts", metavar="N"),
    Setting("SCAVENGER_SIM_LOG_LEVEL", choice(("debug", "info", "warning", "error")), "info",
            "Log level of the simulator.", "debug, info, warning, error", _SIM, flag="--log-level"),
]

SETTINGS: dict[str, Setting] = {s.env: s for s in _SETTINGS}


def read(
    names: Iterable[str], env: Mapping[str, str] | None = None, given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The value of each named setting: ``given[name]`` when not None (a CLI flag, already parsed), else the
    environment variable parsed (an empty value means the default), else the default."""
    source = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name in names:
        setting = SETTINGS[name]
        if given is not None and given.get(name) is not None:
            values[name] = given[name]
            continue
        text = source.get(name, "")
        values[name] = setting.parse(name, text) if text.strip() else setting.default_value()
    return values


def value(name: str, given: Any = None) -> Any:
    """One setting's value: ``given`` (a click option's value: flag or variable) if not None, else the
    default (for a command that does not pass it through ``read`` with others)."""
    return read([name], given={name: given})[name]


class _SettingType(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """Converts a flag's or the environment's text with the setting's own parser, naming whichever the
    value came from."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting
        self.name = setting.metavar or "TEXT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        return _convert(self.setting, value, param, ctx)


class _BoolSettingType(click.types.BoolParamType):
    """The same for an on/off flag (click wants a bool type for ``--x/--no-x``)."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, bool):
            return value
        return _convert(self.setting, str(value), param, ctx)


def _convert(setting: Setting, text: str, param: click.Parameter | None, ctx: click.Context | None) -> Any:
    try:
        return setting.parse(label_of(ctx, param, setting), text)
    except ConfigError as exc:
        raise SettingError(str(exc)) from None


class SettingOption(click.Option):
    """A click option whose --help shows the declared default as written (``default: 1GiB``), while its
    value stays None when not given (so the command applies the default and knows it was not given)."""

    def __init__(self, *args: Any, setting: Setting, default_text: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setting = setting
        self.default_text = default_text

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        extra["default"] = self.default_text
        return extra


class PlainOption(click.Option):
    """A command's own option (not a setting shared through the environment) in the same help style as the
    settings: ``Accepted: <bound>.`` in the help text and ``[default: X]`` as written."""

    def __init__(self, *args: Any, bound: str | None = None, **kwargs: Any) -> None:
        if bound is not None:
            kwargs["help"] = f"{kwargs.get('help', '')} Accepted: {bound}.".lstrip()
        super().__init__(*args, **kwargs)

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        extra.pop("range", None)  # said once, in the help text
        if isinstance(self.show_default, str):
            extra["default"] = self.show_default
        return extra


def plain_option(*decls: str, **kwargs: Any) -> Callable[[F], F]:
    """``click.option`` with ``PlainOption`` (defaults shown); ``bound=`` says what is accepted."""
    kwargs.setdefault("show_default", True)
    decorator: Callable[[F], F] = click.option(*decls, cls=PlainOption, **kwargs)
    return decorator


def label_of(ctx: click.Context | None, param: click.Parameter | None, setting: Setting) -> str:
    """The name a message should use: the flag if the value came from the command line, else the variable."""
    if (
        ctx is not None
        and param is not None
        and param.name is not None
        and setting.flag
        and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE
    ):
        return setting.flag.split("/")[0]
    return setting.env


def option(name: str, *, dest: str | None = None, default_text: str | None = None,
           help: str | None = None) -> Callable[[F], F]:
    """The click option of setting ``name``: its flag, ``envvar`` (shown in --help), default and help.
    The value is None when neither the flag nor the variable is given, so the command knows to apply
    the default (``read``). ``default_text`` overrides how the default reads for a command whose default
    differs (``demo --config-dir``)."""
    setting = SETTINGS[name]
    if setting.flag is None:
        raise ValueError(f"{name} has no flag")
    decls = [setting.flag] + ([dest] if dest else [])
    on_off = "/" in setting.flag
    decorator: Callable[[F], F] = click.option(
        *decls,
        cls=SettingOption,
        setting=setting,
        type=_BoolSettingType(setting) if on_off else _SettingType(setting),
        envvar=setting.env,
        show_envvar=True,
        default=None,
        default_text=default_text or setting.shown_default(),
        help=f"{help or setting.help} Accepted: {setting.bound}.",
    )
    return decorator


def markdown_table(command: str | None = None) -> str:
    """The docs' table of settings (all, or those one command reads)."""
    rows = [
        "| variable | flag | default | accepted | meaning | read by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for setting in _SETTINGS:
        if command is not None and command not in setting.commands:
            continue
        flag = f"`{setting.flag}`" if setting.flag else "–"
        default = setting.shown_default()
        # A literal value reads as code; a phrase ("CPUs available") as text.
        default = _md(default) if " " in default else f"`{default}`"
        rows.append(
            f"| `{setting.env}` | {flag} | {default} | {_md(setting.bound)} | {_md(setting.help)} "
            f"| {', '.join(setting.commands)} |"
        )
    return "\n".join(rows) + "\n"


def _md(text: str) -> str:
    # Table cells: a pipe would split the cell, and <...> would be taken for HTML.
    return text.replace("|", "\\|").replace("<", "&lt;")


def options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several options as one decorator, in the order listed (as they appear in --help)."""

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def check_rom(rom_size: int, pre_size: int, label: Mapping[str, str]) -> None:
    """Refuses, before anything starts, ROM sizes the AshMaize core would refuse when it builds the ROM,
    naming the setting as the user gave it (``label``: see ``labels``) and quoting the core."""
    from scavenger.core.romcheck import check_rom_params

    try:
        check_rom_params(rom_size, pre_size)
    except ValueError as exc:
        # The core names its argument (size / pre_size); name the setting instead.
        which = label["ASHMAIZE_PRE_SIZE" if str(exc).startswith("pre_size") else "ASHMAIZE_ROM_SIZE"]
        rom, pre = label["ASHMAIZE_ROM_SIZE"], label["ASHMAIZE_PRE_SIZE"]
        raise ConfigError(
            f"{which} is refused by the AshMaize core: {exc} ({rom}={rom_size}, {pre}={pre_size})"
        ) from None


def given_on_command_line(ctx: click.Context) -> set[str]:
    """Env names of the settings given as flags in this invocation (for messages that name two settings)."""
    return {
        param.setting.env
        for param in ctx.command.params
        if isinstance(param, SettingOption)
        and param.name is not None
        and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE
    }


def labels(flags_given: Iterable[str]) -> dict[str, str]:
    """{env name: label}: the flag for settings given on the command line, else the variable."""
    given = set(flags_given)
    return {s.env: (s.flag.split("/")[0] if s.env in given and s.flag else s.env) for s in _SETTINGS}
