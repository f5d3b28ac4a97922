"""Fixtures for the simulator tests: real subprocess simulators, and an in-process one (real uvicorn on
127.0.0.1 in a thread) whose clock the test moves, for rules that depend on time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from scavenger.sim.app import Simulator, create_app
from scavenger.sim.schedule import Schedule
from scavenger.sim.signer import ReceiptSigner
from scavenger.sim.solver import RomParams, SolutionChecker
from scavenger.sim.store import Store
from scavenger.wallet import Wallet
from timing import scaled

SMALL_ROM = 1 << 20
SMALL_PRE = 1 << 16
EASY = "0FFFFFFF"  # 1 in 16 hashes passes: instant with a small ROM
START = datetime(2025, 10, 30, tzinfo=UTC)


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class InProcessSim:
    url: str
    sim: Simulator
    clock: MovableClock


@pytest.fixture
def inproc(tmp_path: Path) -> Iterator[InProcessSim]:
    """Period 10 s, 2 days, easy mask, mainnet; the clock starts 1 s after the first challenge."""
    schedule = Schedule(seed=b"s" * 32, start=START, period=10.0, days=2, difficulties=(EASY,))
    clock = MovableClock(START + timedelta(seconds=1))
    store = Store(tmp_path / "sim.sqlite3")
    sim = Simulator(
        store=store,
        schedule=schedule,
        signer=ReceiptSigner(b"k" * 32),
        checker=SolutionChecker(RomParams(SMALL_ROM, SMALL_PRE)),
        network="mainnet",
        clock=clock,
        # Our receipts alone share each day's pool: exact, small numbers for the rules tests.
        network_receipts=0,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(create_app(sim), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + scaled(10)
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("in-process simulator did not start")
        time.sleep(0.01)
    try:
        yield InProcessSim(f"http://127.0.0.1:{sock.getsockname()[1]}", sim, clock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        store.close()


@pytest.fixture
def wallet() -> Wallet:
    return Wallet.generate("mainnet")


@pytest.fixture
def other_wallet() -> Wallet:
    return Wallet.generate("mainnet")
