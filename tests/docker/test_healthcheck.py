"""The container health check (docker/healthcheck.py) against real processes, real kernel locks and a
real HTTP server on 127.0.0.1; no Docker engine needed."""

from __future__ import annotations

import fcntl
import importlib.util
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from .dockerlib import REPO

# Stands in for the `scavenger` entry point: same argv shape (python .../scavenger mine --config-dir X),
# optionally holding the slot lock the way the miner does (flock on config/<n>/in_use.lock).
FAKE_ENTRY_POINT = """
import fcntl, os, sys, time
root, lock = sys.argv[3], sys.argv[4]
if lock != "none":
    fd = os.open(os.path.join(root, lock, "in_use.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scavenger_healthcheck", REPO / "docker" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def config_root(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    for slot in ("1", "2"):
        (root / slot).mkdir(parents=True)
        (root / slot / "in_use.lock").write_text("")
    return root


def start_fake_miner(tmp_path: Path, root: Path, lock: str) -> subprocess.Popen[str]:
    entry = tmp_path / "bin" / "scavenger"
    entry.parent.mkdir(exist_ok=True)
    entry.write_text(FAKE_ENTRY_POINT)
    proc = subprocess.Popen(
        [sys.executable, str(entry), "mine", "--config-dir", str(root), lock],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@pytest.fixture
def fake_miners(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


def find(healthcheck: ModuleType, pid: int) -> object:
    matches = [p for p in healthcheck.scavenger_processes() if p.pid == pid]
    assert len(matches) == 1, f"process {pid} not recognised as a scavenger process"
    return matches[0]


def test_miner_holding_its_slot_lock_is_healthy(
    healthcheck: ModuleType, tmp_path: Path, config_root: Path, fake_miners: list[subprocess.Popen[str]]
) -> None:
    proc = start_fake_miner(tmp_path, config_root, "2")
    fake_miners.append(proc)
    process = find(healthcheck, proc.pid)
    assert process.command == "mine"  # type: ignore[attr-defined]
    assert healthcheck.check_miner(process) == f"miner pid {proc.pid} holds slot 2"


def test_miner_without_a_lock_is_unhealthy_even_if_someone_else_holds_one(
    healthcheck: ModuleType, tmp_path: Path, config_root: Path, fake_miners: list[subprocess.Popen[str]]
) -> None:
    proc = start_fake_miner(tmp_path, config_root, "none")
    fake_miners.append(proc)
    # Another process (this one) holds slot 1: it must not make the lock-less miner look healthy.
    with (config_root / "1" / "in_use.lock").open("r+") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(healthcheck.Unhealthy, match=f"miner pid {proc.pid} holds no slot lock"):
            healthcheck.check_miner(find(healthcheck, proc.pid))


def test_launchers_are_not_mistaken_for_the_miner(
    healthcheck: ModuleType, tmp_path: Path, fake_miners: list[subprocess.Popen[str]]
) -> None:
    # Like `tini -- scavenger-entrypoint scavenger mine`: "scavenger" appears, but not as the program.
    launcher = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "scavenger", "mine"])
    try:
        assert all(p.pid != launcher.pid for p in healthcheck.scavenger_processes())
    finally:
        launcher.kill()
        launcher.wait(timeout=10)


def test_option_values_in_both_click_spellings(healthcheck: ModuleType) -> None:
    argv = ["--host", "0.0.0.0", "--port=8088", "--config-dir", "/c"]
    assert healthcheck.option_value(argv, "--port") == "8088"
    assert healthcheck.option_value(argv, "--config-dir") == "/c"
    assert healthcheck.option_value(argv, "--state") is None


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_http_probe_accepts_200_and_names_any_other_status(healthcheck: ModuleType) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        healthcheck.http_ok(f"{base}/ok")
        with pytest.raises(healthcheck.Unhealthy, match="answered HTTP 503"):
            healthcheck.http_ok(f"{base}/health")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(healthcheck.Unhealthy, match="unreachable"):
        healthcheck.http_ok(f"{base}/ok")
