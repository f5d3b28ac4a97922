"""``scavenger simulate``: run the local Scavenger Mine server."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from scavenger import fsafe
from scavenger.envparse import parse_size
from scavenger.redact import install_log_escaping
from scavenger.sim.app import DEFAULT_DAILY_POOL_STAR, DEFAULT_NETWORK_RECEIPTS, Simulator, create_app
from scavenger.sim.faults import FaultPlan, FaultRule, FaultSpecError, RateLimiter
from scavenger.sim.solver import RomParams, SolutionChecker
from scavenger.sim.state import ScheduleOptions, open_state
from scavenger.sim.timefmt import parse_start

log = logging.getLogger("scavenger.sim")

DEFAULT_DIFFICULTY = "000FFFFF"
REAL_ROM_SIZE = 1 << 30
REAL_PRE_SIZE = 16 << 20


def _rom_param(name: str, given: str | None, default: int) -> int:
    """The flag if given, else the environment variable the miner reads too, else the real value."""
    text = given if given is not None else os.environ.get(name, "")
    # A bad value raises ConfigError (a ValueError), reported below as a usage error naming the variable.
    return parse_size(name, text) if text.strip() else default


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets, and without it every
    # keep-alive reply waits ~40 ms (Nagle against delayed ACK)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _write_port_file(path: Path, port: int) -> None:
    try:
        fsafe.replace_file(path, f"{port}\n".encode())
    except fsafe.UnsafeFileError as exc:
        raise click.ClickException(str(exc)) from None


def _exit_with_parent(parent_pid: int) -> None:
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        log.warning("parent process %d is gone; stopping", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@click.command("simulate")
@click.option(
    "--host",
    envvar="SCAVENGER_SIM_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on.",
)
@click.option(
    "--port",
    envvar="SCAVENGER_SIM_PORT",
    default=8088,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port; 0 picks a free one (see --port-file).",
)
@click.option(
    "--state",
    "state_path",
    envvar="SCAVENGER_SIM_STATE",
    default="sim.sqlite3",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite state file; reused on restart (schedule, key, registrations, solutions, donations).",
)
@click.option(
    "--challenge-period",
    envvar="SCAVENGER_SIM_CHALLENGE_PERIOD",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="Seconds between challenges (the real server: 3600).",
)
@click.option(
    "--days",
    envvar="SCAVENGER_SIM_DAYS",
    default=21,
    show_default=True,
    type=click.IntRange(1, 99),
    help="Mining days (24 challenges each).",
)
@click.option(
    "--start",
    envvar="SCAVENGER_SIM_START",
    default="now",
    show_default=True,
    help="First challenge time: 'now', +/-N[smhd] relative to now, or ISO-8601.",
)
@click.option(
    "--difficulty",
    envvar="SCAVENGER_SIM_DIFFICULTY",
    default=DEFAULT_DIFFICULTY,
    show_default=True,
    help="8-hex mask, or a comma list used round-robin per challenge.",
)
@click.option(
    "--network",
    envvar="SCAVENGER_SIM_NETWORK",
    type=click.Choice(["mainnet", "testnet"]),
    default="mainnet",
    show_default=True,
    help="Address network accepted at registration.",
)
@click.option(
    "--rom-size",
    default=None,
    help="AshMaize ROM size, bytes or e.g. 64MiB [env ASHMAIZE_ROM_SIZE, default 1 GiB].",
)
@click.option(
    "--pre-size",
    default=None,
    help="AshMaize pre-ROM size, bytes or e.g. 16MiB [env ASHMAIZE_PRE_SIZE, default 16 MiB].",
)
@click.option(
    "--rate-limit",
    envvar="SCAVENGER_SIM_RATE_LIMIT",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Requests per --rate-window per client before 429 (0: off).",
)
@click.option(
    "--rate-window",
    envvar="SCAVENGER_SIM_RATE_WINDOW",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Rate-limit window in seconds.",
)
@click.option(
    "--faults",
    "faults_json",
    envvar="SCAVENGER_SIM_FAULTS",
    default=None,
    help='JSON fault rule or list, e.g. \'{"kind": "503", "count": 2}\' (see docs/simulator.md).',
)
@click.option(
    "--fault-seed",
    envvar="SCAVENGER_SIM_FAULT_SEED",
    default=None,
    type=click.IntRange(min=0, max=2**64 - 1),
    help="Seed of the fault rules' probability draws (reproducible storms); random and logged if unset.",
)
@click.option(
    "--seed",
    "seed_hex",
    envvar="SCAVENGER_SIM_SEED",
    default=None,
    help="Schedule seed (hex) for a new state file; random if unset.",
)
@click.option(
    "--daily-pool-star",
    envvar="SCAVENGER_SIM_DAILY_POOL_STAR",
    default=DEFAULT_DAILY_POOL_STAR,
    show_default=True,
    type=click.IntRange(min=0),
    help="STAR shared per day among that day's receipts (drives /work_to_star_rate).",
)
@click.option(
    "--network-receipts",
    envvar="SCAVENGER_SIM_NETWORK_RECEIPTS",
    default=DEFAULT_NETWORK_RECEIPTS,
    show_default=True,
    type=click.IntRange(min=0),
    help="Receipts per day of the simulated rest of the world (+-30 %% per day) sharing the pool; 0: none.",
)
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the bound port here once listening.",
)
@click.option(
    "--parent-pid",
    type=int,
    default=None,
    hidden=True,
    help="Exit when this process is gone (scavenger.sim.testing: no simulator outlives a test run).",
)
@click.option(
    "--log-level",
    envvar="SCAVENGER_SIM_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def simulate(
    host: str,
    port: int,
    state_path: Path,
    challenge_period: float,
    days: int,
    start: str,
    difficulty: str,
    network: str,
    rom_size: str | None,
    pre_size: str | None,
    rate_limit: int,
    rate_window: float,
    faults_json: str | None,
    fault_seed: int | None,
    seed_hex: str | None,
    daily_pool_star: int,
    network_receipts: int,
    port_file: Path | None,
    parent_pid: int | None,
    log_level: str,
) -> None:
    """Run a local, faithful simulator of the Scavenger Mine API."""
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_escaping()  # request paths and bodies come from clients
    try:
        rom = RomParams(
            _rom_param("ASHMAIZE_ROM_SIZE", rom_size, REAL_ROM_SIZE),
            _rom_param("ASHMAIZE_PRE_SIZE", pre_size, REAL_PRE_SIZE),
        )
        options = ScheduleOptions(
            start=parse_start(start, datetime.now(UTC)),
            period=challenge_period,
            days=days,
            difficulty=difficulty,
            network="mainnet" if network == "mainnet" else "testnet",
            seed_hex=seed_hex,
        )
        if port_file is not None:
            fsafe.check_target(port_file)  # refuse a planted link before anything starts
        opened = open_state(state_path, options)
        faults = FaultPlan(fault_seed)
        if faults_json:
            spec = json.loads(faults_json)
            for item in spec if isinstance(spec, list) else [spec]:
                faults.add(FaultRule.from_json(item))
        limiter = RateLimiter(rate_limit, rate_window)
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot use state file {state_path}: {exc}") from None
    except (ValueError, FaultSpecError, fsafe.UnsafeFileError) as exc:
        raise click.ClickException(str(exc)) from None

    sim = Simulator(
        store=opened.store,
        schedule=opened.schedule,
        signer=opened.signer,
        checker=SolutionChecker(rom),
        network=opened.network,
        faults=faults,
        limiter=limiter,
        daily_pool_star=daily_pool_star,
        network_receipts=network_receipts,
    )
    app = create_app(sim)
    sock = _bind(host, port)
    bound_port = int(sock.getsockname()[1])
    schedule = opened.schedule
    log.info(
        "simulator on http://%s:%d state=%s (%s) start=%s period=%ss days=%d difficulty=%s network=%s "
        "rom=%d/%d fault-seed=%d",
        host,
        bound_port,
        state_path,
        "new" if opened.created else "reopened",
        schedule.start.isoformat(),
        schedule.period,
        schedule.days,
        ",".join(schedule.difficulties),
        opened.network,
        rom.size,
        rom.pre_size,
        faults.seed,
    )
    if port_file is not None:
        _write_port_file(port_file, bound_port)
    if parent_pid is not None:
        _exit_with_parent(parent_pid)
    config = uvicorn.Config(app, log_level=log_level, access_log=log_level == "debug", lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        opened.store.close()
