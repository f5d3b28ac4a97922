"""Click commands ``mine``, ``demo``, ``slots`` and ``donate`` (loaded lazily by ``scavenger.cli``)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from scavenger.miner.config import ConfigError, MinerConfig, load_config
from scavenger.miner.slots import SlotError, list_slots
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
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
        )
    # Server-provided text (challenge ids, error messages) is logged escaped: no forged lines, no escapes.
    install_log_escaping(handler)
    root.addHandler(handler)
    root.setLevel(_LEVELS[level])
    # httpx logs every request at INFO, which would drown the miner's own lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _config(**flags: Any) -> MinerConfig:
    try:
        return load_config(None, **flags)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _common_options(func: Any) -> Any:
    options = [
        click.option("--config-dir", "root", type=click.Path(path_type=Path), default=None,
                     help="Config folder shared by all instances [env ROOT_CONF_PATH, default ./config]."),
        click.option("--network", type=click.Choice(["mainnet", "testnet"]), default=None,
                     help="Cardano network of the wallets [env CARDANO_NETWORK, default mainnet]."),
        click.option("--log-level", type=click.Choice(["trace", "debug", "info", "warn", "error"]),
                     default=None, help="[env APP_LOG_LEVEL, default info]"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _mine_options(func: Any) -> Any:
    options = [
        click.option("--api-url", "base_url", default=None,
                     help="Scavenger API base URL [env APP_BASE_URL, default the real mainnet API]."),
        click.option("--threads", type=int, default=None,
                     help="Hashing threads [env MINER_THREADS, default: CPUs available]."),
        click.option("--backend", type=click.Choice(["cpu", "opencl", "auto", "opencl+cpu"]), default=None,
                     help="Hashing backend [env MINER_BACKEND, default cpu]; auto = an OpenCL GPU if "
                     "present, else cpu; opencl+cpu = the device and MINER_THREADS CPU threads together."),
        click.option("--opencl-device", default=None,
                     help="OpenCL device, P:D or part of its name [env OPENCL_DEVICE]; "
                     "see `scavenger devices`."),
        click.option("--wallets", "max_wallets", type=int, default=None,
                     help="Wallets mined by this instance [env MAX_WALLETS_PER_INSTANCE, default 2]."),
        click.option("--slot", "instance_slot", type=int, default=None,
                     help="Force the slot number [env INSTANCE_SLOT]; default: first free."),
        click.option("--metrics-port", type=int, default=None,
                     help="Prometheus /metrics port, 0 = off [env METRICS_PORT]."),
        click.option("--rom-size", default=None,
                     help="ROM size, tests/demos only, must match the server [env ASHMAIZE_ROM_SIZE]."),
        click.option("--pre-size", default=None, help="AshMaize pre-ROM size [env ASHMAIZE_PRE_SIZE]."),
        click.option("--donate/--no-donate", "donate", default=None,
                     help="Assign rights to the donation list [env DONATE_ENABLED, default on]."),
        click.option("--plain", is_flag=True, help="Plain log lines instead of the live view."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run(config: MinerConfig, plain: bool) -> int:
    from scavenger.fsafe import UnsafeFileError
    from scavenger.miner.runner import run_miner
    from scavenger.wallet.errors import WalletError

    console = Console(stderr=False) if not plain and sys.stdout.isatty() else None
    setup_logging(config.log_level, console)
    try:
        return asyncio.run(run_miner(config, console))
    except (SlotError, WalletError, ConfigError, UnsafeFileError) as exc:
        raise click.ClickException(str(exc)) from None


@click.command("mine")
@_common_options
@_mine_options
def mine(plain: bool, **flags: Any) -> None:
    """Claim a slot, register its wallets and mine every open challenge until stopped."""
    config = _config(**flags)
    sys.exit(_run(config, plain))


@click.command("demo")
@_common_options
@_mine_options
@click.option("--challenge-period", type=float, default=30.0, show_default=True,
              help="Seconds between the simulator's challenges.")
@click.option("--difficulty", default="001FFFFF", show_default=True, help="The simulator's difficulty mask.")
def demo(plain: bool, challenge_period: float, difficulty: str, **flags: Any) -> None:
    """Mine against a local simulator in ./demo-config: solutions and receipts within a minute or two."""
    from scavenger.miner.demo import demo_config, running_demo_simulator

    flags["root"] = flags.get("root") or Path("demo-config")
    flags["rom_size"] = flags.get("rom_size") or "64MiB"
    flags["pre_size"] = flags.get("pre_size") or "1MiB"
    base = _config(**{k: v for k, v in flags.items() if k != "base_url"})
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
def slots(**flags: Any) -> None:
    """List instance slots: holder, alive/free, wallet count."""
    config = _config(**flags)
    infos = list_slots(config.root)
    if not infos:
        click.echo(f"no slot in {config.root}")
        return
    table = Table("slot", "state", "holder host", "pid", "since", "wallets", "folder")
    for info in infos:
        holder = info.holder
        state = "[green]alive[/]" if info.alive else "free"
        if info.skipped:  # named like a slot but not a folder: never used, shown so it is noticed
            state = f"[yellow]skipped[/]: {escape(info.skipped)}"
        table.add_row(
            str(info.number),
            state,
            holder.host if holder else "-",
            str(holder.pid) if holder else "-",
            holder.started_at if holder else "-",
            str(info.wallet_count),
            str(info.path),
        )
    Console().print(table)


@click.command("donate")
@_common_options
@click.option("--api-url", "base_url", default=None, help="[env APP_BASE_URL]")
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
@click.option("--api-url", "base_url", default=None, help="[env APP_BASE_URL]")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout (shape: docs/miner.md).")
@click.option("--offline", is_flag=True, help="Local journals only; ask the API nothing.")
@click.option("--max-age", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds a cached API reply is used before asking again.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
              help="API cache folder [default $XDG_CACHE_HOME/scavenger or ~/.cache/scavenger].")
def status(as_json: bool, offline: bool, max_age: float, cache_dir: Path | None, **flags: Any) -> None:
    """Every slot's wallets, solutions, receipts and earnings (read-only; safe while miners run)."""
    from scavenger.miner.status_cli import run_status

    config = _config(**flags)
    # Problems are part of the output; only debugging asks for the log lines too.
    setup_logging(config.log_level if config.log_level in ("debug", "trace") else "error", None)
    sys.exit(run_status(config, as_json=as_json, offline=offline, max_age=max_age, cache_dir=cache_dir))
