"""Real PostgreSQL and a real stats backend process for the stats tests.

One throwaway cluster per session (initdb as the ``postgres`` user when running as root, because initdb
refuses root), listening on 127.0.0.1 only with password (SCRAM) authentication; one fresh database per
test; the backend runs as a real ``scavenger stats-backend`` subprocess."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

# The miner tests' `miners` fixture (real `scavenger mine` processes), for the end-to-end tests here.
from miner.conftest import miners  # noqa: F401
from scavenger.stats.reporter import ReporterConfig, StatsReporter
from timing import scaled

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
WRITE_TOKEN = "test-write-" + secrets.token_hex(8)
READ_TOKEN = "test-read-" + secrets.token_hex(8)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *argv]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(argv)]


@dataclass
class PgCluster:
    bin_dir: Path
    root: Path
    port: int
    superuser_password: str = field(repr=False)
    app_password: str = field(repr=False)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args]),
                       check=True, capture_output=True, timeout=scaled(60))

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
                   # Not UTC on purpose: the README's NOW() - INTERVAL queries must not depend on it.
                   " -c timezone=America/New_York")
        self._pg_ctl("-o", options, "-l", str(self.root / "server.log"), "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "-t", "30", "stop")

    def url(self, database: str, *, user: str = "stats") -> str:
        password = self.superuser_password if user == "postgres" else self.app_password
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url("postgres", user="postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER stats'.encode())
        return name


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bin_dir = next((d for d in PG_BIN_CANDIDATES if (d / "initdb").exists()), None)
    if bin_dir is None:
        pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                    "(scripts/test.sh installs Debian's postgresql package)")
    root = Path(tempfile.mkdtemp(prefix="scavenger-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PgCluster(bin_dir, root, free_port(), secrets.token_hex(12), "app-" + secrets.token_hex(12))
    pwfile = root / "pw"
    pwfile.write_text(cluster.superuser_password + "\n")
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(cluster.data), "-U", "postgres", "-E", "UTF8",
                      "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"]),
        check=True, capture_output=True, timeout=scaled(120),
    )
    cluster.start()
    try:
        with psycopg.connect(cluster.url("postgres", user="postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE stats LOGIN PASSWORD '{cluster.app_password}'".encode())
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(pg_cluster: PgCluster) -> str:
    return pg_cluster.url(pg_cluster.create_database())


@dataclass
class Backend:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, token: str | None = WRITE_TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=scaled(10))


def backend_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("POSTGRES_", "STATS_", "DATABASE_URL", "BACKEND_", "COMPOSE_"))}
    env.update({"STATS_BEARER_TOKEN": WRITE_TOKEN, "STATS_READ_TOKEN": READ_TOKEN,
                "DATABASE_URL": database_url, "BACKEND_PORT": str(port),
                "BACKEND_BIND_HOST": "127.0.0.1", "APP_LOG_LEVEL": "info"})
    env.update(extra)
    return env


BACKEND_ARGV = [sys.executable, "-c", "from scavenger.cli import main; main()", "stats-backend"]


@pytest.fixture
def start_backend(tmp_path: Path) -> Iterator[Callable[..., Backend]]:
    started: list[Backend] = []

    def start(database_url: str, *, wait_healthy: bool = True, **extra: str) -> Backend:
        port = free_port()
        log_path = tmp_path / f"backend-{port}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(BACKEND_ARGV, env=backend_env(database_url, port, **extra),
                                       stdout=log_file, stderr=subprocess.STDOUT)
        backend = Backend(f"http://127.0.0.1:{port}", process, log_path)
        started.append(backend)
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"backend exited with {process.returncode}:\n{backend.log_text()}")
            with contextlib.suppress(httpx.HTTPError):
                status = httpx.get(backend.url + "/health", timeout=2).status_code
                if status == 200 or not wait_healthy:
                    return backend
            time.sleep(0.1)
        raise AssertionError(f"backend not ready after 30 s:\n{backend.log_text()}")

    yield start
    for backend in started:
        if backend.process.poll() is None:
            backend.process.terminate()
            try:
                backend.process.wait(scaled(10))
            except subprocess.TimeoutExpired:
                backend.process.kill()
                backend.process.wait(scaled(10))


class StepClock:
    """Monotonic clock the test advances explicitly, so rates have exact expected values."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_reporter(backend: Backend, container_id: str, clock: StepClock, **overrides: Any) -> StatsReporter:
    config = ReporterConfig(
        enabled=True,
        stats_url=backend.url + "/insert_stat",
        api_url=backend.url + "/insert_api_return",
        token=WRITE_TOKEN,
        interval=10.0,
        container_id=container_id,
        default_miner_id="miner-1",
        **overrides,
    )
    return StatsReporter(config, clock=clock)
