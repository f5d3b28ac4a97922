"""Helpers for the miner's end-to-end tests: real `scavenger mine` processes against a real simulator."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from timing import scaled

# Small ROM (the simulator is started with the same sizes), one thread each: the suite shares 2 cores.
MINER_ENV = {
    "MINER_THREADS": "1",
    "MAX_WALLETS_PER_INSTANCE": "2",
    "ASHMAIZE_ROM_SIZE": str(1 << 20),
    "ASHMAIZE_PRE_SIZE": str(16 << 10),
    "CHALLENGE_POLL_INTERVAL": "1",
    "DONATE_SLEEP_DURATION": "2",
    "APP_LOG_LEVEL": "info",
    "ENABLE_STATS_BACKEND": "false",
}
SIM_OPTIONS: dict[str, Any] = {"rom_size": 1 << 20, "pre_size": 16 << 10, "difficulty": "0FFFFFFF"}


class MinerProcess:
    def __init__(self, root: Path, url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.url = url
        self.log_path = log_path
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MinerProcess:
        env = dict(os.environ)
        env.update(MINER_ENV)
        env.update({"ROOT_CONF_PATH": str(self.root), "APP_BASE_URL": self.url, "PYTHONUNBUFFERED": "1"})
        env.update(self.env)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from scavenger.cli import main; main()", "mine", "--plain"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(scaled(10))

    def terminate(self, timeout: float = scaled(20.0)) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"miner did not stop within {timeout}s\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture
def miners() -> Iterator[Callable[..., MinerProcess]]:
    started: list[MinerProcess] = []

    def start(root: Path, url: str, log_path: Path, env: dict[str, str] | None = None) -> MinerProcess:
        miner = MinerProcess(root, url, log_path, env).start()
        started.append(miner)
        return miner

    yield start
    for miner in started:
        miner.kill9()


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read another process's SQLite file (WAL) without writing to it."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=scaled(10))
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []  # table not created yet
    finally:
        db.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs()}")
