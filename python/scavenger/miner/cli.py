"""Click commands ``mine``, ``demo``, ``slots`` and ``donate`` (loaded lazily by ``scavenger.cli``)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from scavenger import logformat, settings
from scavenger.miner.config import ConfigError, MinerConfig, load_config, start_warnings
from scavenger.miner.slots import SlotError, SlotInfo, list_slots
from scavenger.redact import install_log_escaping

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def setup_logging(level: str, console: Console | None) -> None:
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler
    if console is not None and console.is_terminal:
        # ISO 8601 times like the plain lines (rich's default is the locale's "[11/30/26 18:55:45]").
        handler = RichHandler(
            console=console, show_path=False, rich_tracebacks=False, log_time_format=f"[{logformat.TIME}]"
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter(logformat.LINE, logformat.TIME)
        )
    # Server-provided text (challenge ids, error messages) is logged escaped: no forged lines, no escapes.
    install_log_escaping(handler)
    root.addHandler(handler)
    root.setLevel(_LEVELS[level])
    # httpx logs every request at INFO, which would drown the miner's own lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _config(**flags: Any) -> MinerConfig:
    try:
        given = settings.given_on_command_line(click.get_current_context())
        return load_config(None, flags_given=given, **flags)
    except ConfigError as exc:
        raise settings.SettingError(str(exc)) from None


_options = settings.options
F = TypeVar("F", bound=Callable[..., Any])

_common_options = _options(
    settings.option("ROOT_CONF_PATH", dest="root"),
    settings.option("CARDANO_NETWORK"),
    settings.option("APP_LOG_LEVEL"),
)
_api_option = settings.option("APP_BASE_URL", dest="base_url")
# The demo's own defaults: a small ROM so it starts in a second (the simulator it starts uses the same).
DEMO_ROOT, DEMO_ROM_SIZE, DEMO_PRE_SIZE = "demo-config", "64MiB", "1MiB"


def _mine_options(rom_size: str | None = None, pre_size: str | None = None) -> Callable[[F], F]:
    """Everything `mine` and `demo` share (demo has no --api-url: its API is the simulator it starts)."""
    return _options(
        settings.option("MINER_THREADS"),
        settings.option("MINER_BACKEND", dest="backend"),
        settings.option("OPENCL_DEVICE", dest="opencl_device"),
        settings.option("MAX_WALLETS_PER_INSTANCE", dest="max_wallets"),
        settings.option("INSTANCE_SLOT", dest="instance_slot"),
        settings.option("CHALLENGE_POLL_INTERVAL", dest="poll_interval"),
        settings.option("METRICS_PORT"),
        settings.option("METRICS_HOST"),
        settings.option("ASHMAIZE_ROM_SIZE", default_text=rom_size),
        settings.option("ASHMAIZE_PRE_SIZE", default_text=pre_size),
        settings.option("DONATE_ENABLED", dest="donate"),
        click.option("--plain", is_flag=True, help="Plain log lines instead of the live view."),
    )


def _run(config: MinerConfig, plain: bool) -> int:
    from scavenger.fsafe import UnsafeFileError
    from scavenger.miner.runner import run_miner
    from scavenger.wallet.errors import WalletError

    console = Console(stderr=False) if not plain and sys.stdout.isatty() else None
    setup_logging(config.log_level, console)
    for warning in start_warnings(config):
        logging.getLogger("scavenger.miner").warning("%s", warning)
    try:
        return asyncio.run(run_miner(config, console))
    except ConfigError as exc:
        raise settings.SettingError(str(exc)) from None
    except (SlotError, WalletError, UnsafeFileError) as exc:
        raise click.ClickException(str(exc)) from None


@click.command("mine")
@_common_options
@_api_option
@_mine_options()
def mine(plain: bool, **flags: Any) -> None:
    """Claim a slot, register its wallets and mine every open challenge until stopped."""
    config = _config(**flags)
    sys.exit(_run(config, plain))


@click.command("demo")
@_options(
    settings.option("ROOT_CONF_PATH", dest="root", default_text=f"./{DEMO_ROOT}"),
    settings.option("CARDANO_NETWORK"),
    settings.option("APP_LOG_LEVEL"),
)
@_mine_options(DEMO_ROM_SIZE, DEMO_PRE_SIZE)
@settings.plain_option("--challenge-period", type=click.FloatRange(1, 3600), default=30.0, metavar="SECONDS",
                       bound="1..3600 s", help="Seconds between the simulator's challenges.")
@settings.plain_option("--difficulty", default="001FFFFF", bound="8 hex digits",
                       help="The simulator's difficulty mask.")
def demo(plain: bool, challenge_period: float, difficulty: str, **flags: Any) -> None:
    """Mine against a local simulator in ./demo-config: solutions and receipts within a minute or two."""
    from scavenger.miner.demo import demo_config, running_demo_simulator

    flags["root"] = flags.get("root") or Path(DEMO_ROOT)
    flags["rom_size"] = flags.get("rom_size") or DEMO_ROM_SIZE
    flags["pre_size"] = flags.get("pre_size") or DEMO_PRE_SIZE
    base = _config(**flags)
    console = Console() if not plain and sys.stdout.isatty() else None
    setup_logging(base.log_level, console)
    click.echo(
        f"demo: starting a local Scavenger simulator (challenge every {challenge_period:g} s, difficulty "
        f"{difficulty}, ROM {base.rom_size >> 20} MiB) and mining against it in {base.root}/ "
        "(wallets generated there are demo wallets; nothing touches the real network). Ctrl-C stops both."
    )
    with running_demo_simulator(base, challenge_period=challenge_period, difficulty=difficulty) as url:
        click.echo(f"demo: simulator at {url}")
        sys.exit(_run(demo_config(base, url), plain))


@click.command("slots")
@_common_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects) instead of a table.")
def slots(as_json: bool, **flags: Any) -> None:
    """List instance slots: holder, alive/free, wallet count."""
    config = _config(**flags)
    infos = list_slots(config.root)
    rows = [_slot_row(info) for info in infos]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not infos:
        click.echo(f"no slot in {config.root}", err=True)
        return
    if not sys.stdout.isatty():
        # Piped: whole values, tab-separated under a header (a table would cut timestamps and paths to 80
        # columns).
        click.echo("\t".join((*_SLOT_COLUMNS, "note")))
        for row in rows:
            cells = ["-" if row[key] is None else str(row[key]) for key in _SLOT_COLUMNS]
            cells.append(" ".join(str(row["skipped"] or "-").split()))  # why skipped, on one cell
            click.echo("\t".join(cells))
        return
    table = Table("slot", "state", "holder host", "pid", "since", "wallets", "kind", "folder")
    for info, row in zip(infos, rows, strict=True):
        state = "[green]alive[/]" if info.alive else "free"
        if info.skipped:  # named like a slot but not a folder: never used, shown so it is noticed
            state = f"[yellow]skipped[/]: {escape(info.skipped)}"
        rest = ("-" if row[key] is None else str(row[key]) for key in _SLOT_COLUMNS[2:])
        table.add_row(str(info.number), state, *rest)
    Console().print(table)


_SLOT_COLUMNS = ("slot", "state", "host", "pid", "since", "wallets", "kind", "folder")


def _slot_row(info: SlotInfo) -> dict[str, Any]:
    holder = info.holder
    return {
        "slot": info.number,
        "state": "skipped" if info.skipped else "alive" if info.alive else "free",
        "host": holder.host if holder else None,
        "pid": holder.pid if holder else None,
        "since": holder.started_at if holder else None,
        "wallets": info.wallet_count,
        "kind": None if info.skipped else _slot_kind(info.path / f"miner-{info.number}" / "wallets"),
        "folder": str(info.path),
        "skipped": info.skipped,
    }


def _slot_kind(wallets: Path) -> str:
    """standard, legacy (the original program's folder), ambiguous (needs `scavenger legacy settle`)."""
    from scavenger.wallet import kinds
    from scavenger.wallet.errors import StoreError

    try:
        kind = kinds.classify(wallets).kind
    except (StoreError, OSError):  # unreadable: `slots` still lists everything else
        return "?"
    return "-" if kind == "empty" else kind


@click.command("donate")
@_common_options
@_api_option
def donate(**flags: Any) -> None:
    """One donation pass over the wallets of every slot, then exit."""
    from scavenger.miner.donate_cli import run_donation_pass

    config = _config(**flags)
    setup_logging(config.log_level, None)
    try:
        summary = asyncio.run(run_donation_pass(config))
    except Exception as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary)


@click.command("status")
@_common_options
@_api_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout (shape: docs/miner.md).")
@click.option("--offline", is_flag=True, help="Local journals only; ask the API nothing.")
@settings.plain_option("--max-age", type=click.FloatRange(min=0), default=600.0, metavar="SECONDS",
                       bound="0 or more seconds", help="How long a cached API reply is used.")
@settings.plain_option("--cache-dir", type=click.Path(path_type=Path), default=None, metavar="DIR",
                       show_default="$XDG_CACHE_HOME/scavenger or ~/.cache/scavenger", help="API cache.")
def status(as_json: bool, offline: bool, max_age: float, cache_dir: Path | None, **flags: Any) -> None:
    """Every slot's wallets, solutions, receipts and earnings (read-only; safe while miners run)."""
    from scavenger.miner.status_cli import run_status

    config = _config(**flags)
    # Problems are part of the output; only debugging asks for the log lines too.
    setup_logging(config.log_level if config.log_level in ("debug", "trace") else "error", None)
    sys.exit(run_status(config, as_json=as_json, offline=offline, max_age=max_age, cache_dir=cache_dir))


@click.group("legacy")
def legacy() -> None:
    """Bring the original program's wallets along: settle ambiguous slots, report and move assignments."""


@legacy.command("settle")
@_common_options
@_api_option
@click.option("--slot", type=click.IntRange(min=1), required=True, help="The ambiguous slot number.")
@click.option(
    "--kind",
    type=click.Choice(["legacy", "standard"]),
    default=None,
    help="Record this kind without asking the API (you know where the words come from).",
)
def legacy_settle(slot: int, kind: str | None, **flags: Any) -> None:
    """Decide whether a seeds.txt without keys.hex holds legacy or standard wallets, and record it.

    Asks the API which derivation's addresses are registered (GET /statistics: 400 "not registered" for an
    unknown address). Writes only config/<n>/miner-<n>/wallet_kind.txt, never inside wallets/.
    """
    from scavenger.miner.legacy import SettleError, settle
    from scavenger.wallet.errors import WalletError

    config = _config(**flags)
    setup_logging(config.log_level, None)
    try:
        click.echo(asyncio.run(settle(config, slot, kind)))
    except (SettleError, WalletError) as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # API unreachable, rate limited...: one line, nothing recorded
        raise click.ClickException(f"nothing recorded: {exc}") from None


@legacy.command("report")
@_common_options
@_api_option
@click.option(
    "--reassign",
    is_flag=True,
    help="Move wallets assigned outside your donation list to it (undo, then donate). Never by default.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
def legacy_report(reassign: bool, as_json: bool, **flags: Any) -> None:
    """Per wallet (legacy and standard): address, kind, registered, receipts, current assignment."""
    from scavenger.miner.legacy import report
    from scavenger.wallet.errors import WalletError

    config = _config(**flags)
    setup_logging(config.log_level, None)
    try:
        result = asyncio.run(report(config, reassign=reassign))
    except WalletError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.json() if as_json else result.text())
