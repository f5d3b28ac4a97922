"""``scavenger simulate``: run the local Scavenger Mine server."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from scavenger import exits, fsafe, logformat, settings
from scavenger.envparse import ConfigError
from scavenger.redact import install_log_escaping
from scavenger.sim.app import Simulator, create_app
from scavenger.sim.faults import FaultPlan, FaultRule, FaultSpecError, RateLimiter
from scavenger.sim.solver import RomParams, SolutionChecker
from scavenger.sim.state import ScheduleOptions, open_state
from scavenger.sim.timefmt import parse_start

log = logging.getLogger("scavenger.sim")



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


_SIM_OPTIONS = {
    "host": "SCAVENGER_SIM_HOST",
    "port": "SCAVENGER_SIM_PORT",
    "state": "SCAVENGER_SIM_STATE",
    "challenge_period": "SCAVENGER_SIM_CHALLENGE_PERIOD",
    "days": "SCAVENGER_SIM_DAYS",
    "start": "SCAVENGER_SIM_START",
    "difficulty": "SCAVENGER_SIM_DIFFICULTY",
    "network": "SCAVENGER_SIM_NETWORK",
    "rom_size": "ASHMAIZE_ROM_SIZE",
    "pre_size": "ASHMAIZE_PRE_SIZE",
    "rate_limit": "SCAVENGER_SIM_RATE_LIMIT",
    "rate_window": "SCAVENGER_SIM_RATE_WINDOW",
    "faults": "SCAVENGER_SIM_FAULTS",
    "fault_seed": "SCAVENGER_SIM_FAULT_SEED",
    "seed": "SCAVENGER_SIM_SEED",
    "daily_pool_star": "SCAVENGER_SIM_DAILY_POOL_STAR",
    "network_receipts": "SCAVENGER_SIM_NETWORK_RECEIPTS",
    "log_level": "SCAVENGER_SIM_LOG_LEVEL",
}


@click.command("simulate")
@settings.options(*(settings.option(env) for env in _SIM_OPTIONS.values()))
@settings.plain_option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    show_default="none",
    help="Write the bound port here once listening.",
)
@click.option(
    "--parent-pid",
    type=int,
    default=None,
    hidden=True,
    help="Exit when this process is gone (scavenger.sim.testing: no simulator outlives a test run).",
)
def simulate(port_file: Path | None, parent_pid: int | None, **flags: Any) -> None:
    """Run a local, faithful simulator of the Scavenger Mine API."""
    import uvicorn

    given = {env: flags[name] for name, env in _SIM_OPTIONS.items()}
    values = settings.read(_SIM_OPTIONS.values(), given=given)
    host: str = values["SCAVENGER_SIM_HOST"]
    port: int = values["SCAVENGER_SIM_PORT"]
    state_path = Path(values["SCAVENGER_SIM_STATE"])
    log_level: str = values["SCAVENGER_SIM_LOG_LEVEL"]
    faults_json: str = values["SCAVENGER_SIM_FAULTS"]
    logging.basicConfig(level=log_level.upper(), format=logformat.LINE, datefmt=logformat.TIME)
    install_log_escaping()  # request paths and bodies come from clients
    try:
        settings.check_rom(
            values["ASHMAIZE_ROM_SIZE"],
            values["ASHMAIZE_PRE_SIZE"],
            settings.labels(settings.given_on_command_line(click.get_current_context())),
        )
    except ConfigError as exc:
        raise settings.SettingError(str(exc)) from None
    try:
        rom = RomParams(values["ASHMAIZE_ROM_SIZE"], values["ASHMAIZE_PRE_SIZE"])
        options = ScheduleOptions(
            start=parse_start(values["SCAVENGER_SIM_START"], datetime.now(UTC)),
            period=values["SCAVENGER_SIM_CHALLENGE_PERIOD"],
            days=values["SCAVENGER_SIM_DAYS"],
            difficulty=values["SCAVENGER_SIM_DIFFICULTY"],
            network="mainnet" if values["SCAVENGER_SIM_NETWORK"] == "mainnet" else "testnet",
            seed_hex=values["SCAVENGER_SIM_SEED"] or None,
        )
        if port_file is not None:
            fsafe.check_target(port_file)  # refuse a planted link before anything starts
        opened = open_state(state_path, options)
        faults = FaultPlan(values["SCAVENGER_SIM_FAULT_SEED"])
        if faults_json:
            spec = json.loads(faults_json)
            for item in spec if isinstance(spec, list) else [spec]:
                faults.add(FaultRule.from_json(item))
        limiter = RateLimiter(values["SCAVENGER_SIM_RATE_LIMIT"], values["SCAVENGER_SIM_RATE_WINDOW"])
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
        daily_pool_star=values["SCAVENGER_SIM_DAILY_POOL_STAR"],
        network_receipts=values["SCAVENGER_SIM_NETWORK_RECEIPTS"],
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
        status = exits.serve(config, sockets=[sock])
    finally:
        opened.store.close()
    sys.exit(status)
