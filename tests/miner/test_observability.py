"""Stats reporter feed, Prometheus /metrics and the operator commands, against real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from scavenger.sim.testing import running_simulator
from timing import scaled

from .conftest import SIM_OPTIONS, MinerProcess, query, wait_for

TOKEN = "test-token-7f3a"


class _Recorder(BaseHTTPRequestHandler):
    rows: ClassVar[list[tuple[str, str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        self.rows.append((self.path, self.headers.get("Authorization", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stats_server() -> Iterator[tuple[str, list[tuple[str, str, Any]]]]:
    rows: ClassVar[list[tuple[str, str, Any]]] = []
    handler = type("Recorder", (_Recorder,), {"rows": rows})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", rows
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flatten(rows: list[tuple[str, str, Any]], path: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p, _, body in rows:
        if p == path:
            out.extend(body if isinstance(body, list) else [body])
    return out


@pytest.mark.timeout(scaled(120))
def test_stats_reporter_and_metrics_are_fed(
    tmp_path: Path,
    miners: Callable[..., MinerProcess],
    stats_server: tuple[str, list[tuple[str, str, Any]]],
) -> None:
    url, rows = stats_server
    port = _free_port()
    env = {
        "ENABLE_STATS_BACKEND": "true",
        "STATS_BACKEND_URL": f"{url}/insert_stat",
        "API_BACKEND_URL": f"{url}/insert_api_return",
        "STATS_BEARER_TOKEN": TOKEN,
        "STATS_REPORT_INTERVAL": "1",
        "METRICS_PORT": str(port),
        "MAX_WALLETS_PER_INSTANCE": "1",
    }
    root = tmp_path / "config"
    with running_simulator(tmp_path / "sim", challenge_period=2, **SIM_OPTIONS) as sim:
        miner = miners(root, sim.url, tmp_path / "m.log", env)
        wait_for(
            lambda: len(query(sim.state_path, "SELECT * FROM solutions")) >= 2,
                scaled(60), "receipts", miner.log_tail
        )
        wait_for(
            lambda: any(r.get("hash_rate", 0) > 0 for r in _flatten(rows, "/insert_stat")),
            scaled(30),
            "a non-zero hash-rate row",
            miner.log_tail,
        )
        stats = _flatten(rows, "/insert_stat")
        assert {r["miner_id"] for r in stats} == {"miner-1"}
        api = _flatten(rows, "/insert_api_return")
        assert {"register", "challenge", "solution"} <= {r["endpoint"] for r in api}
        assert all(auth == f"Bearer {TOKEN}" for _, auth, _ in rows)

        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=scaled(5)).text
        metrics = {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }
        assert metrics['scavenger_hashes_total{miner="miner-1"}'] > 0
        assert metrics['scavenger_solutions_settled_total{miner="miner-1",outcome="accepted"}'] >= 1
        assert metrics['scavenger_wallets{miner="miner-1",registration="registered"}'] == 1
        assert not any("instance=" in name for name in metrics)
        # Challenges are journalled as the server sent them (same fields, values and order).
        current = httpx.get(f"{sim.url}/challenge", timeout=scaled(5)).json()["challenge"]
        journal = root / "1" / "miner-1" / "journal.sqlite3"
        sql = "SELECT body FROM challenges WHERE challenge_id = ?"
        wait_for(lambda: bool(query(journal, sql, (current["challenge_id"],))),
            scaled(10), "journal", miner.log_tail)
        stored = json.loads(query(journal, sql, (current["challenge_id"],))[0][0])
        assert list(stored.items()) == list(current.items())

        assert miner.terminate() == 0
        assert TOKEN not in miner.log_path.read_text()


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60) -> Any:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from scavenger.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


def test_bad_configuration_stops_at_start_naming_the_variable(tmp_path: Path) -> None:
    result = _cli("mine", env={"MINER_THREADS": "abc", "ROOT_CONF_PATH": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr == "Error: MINER_THREADS must be a whole number in 1..1024, got 'abc'\n"
    assert not any(tmp_path.iterdir()), "nothing is created when the configuration is wrong"


@pytest.mark.timeout(scaled(120))
def test_slots_and_donate_commands(tmp_path: Path, miners: Callable[..., MinerProcess]) -> None:
    root = tmp_path / "config"
    env = {"DONATE_ENABLED": "false", "MAX_WALLETS_PER_INSTANCE": "1"}
    with running_simulator(tmp_path / "sim", challenge_period=5, **SIM_OPTIONS) as sim:
        miner = miners(root, sim.url, tmp_path / "m.log", env)
        wait_for(lambda: (root / "1" / "miner-1" / "journal.sqlite3").exists(),
            scaled(30), "journal", miner.log_tail)
        listing = _cli("slots", env={"ROOT_CONF_PATH": str(root), "COLUMNS": "200"})
        assert listing.returncode == 0, listing.stderr
        # Piped: tab-separated whole values under a header (scavenger slots --json for scripts)
        line = next(line for line in listing.stdout.splitlines() if line.startswith("1\t"))
        assert "alive" in line and str(miner.pid) in line
        assert miner.terminate() == 0
        listing = _cli("slots", env={"ROOT_CONF_PATH": str(root), "COLUMNS": "200"})
        assert "free" in listing.stdout

        # A user-supplied list is used as given; the pass registers our wallet and assigns it.
        own = _cli("wallet", "--help")
        assert own.returncode == 0
        destination_root = tmp_path / "dest"
        from scavenger.wallet.store import WalletStore

        (destination,) = WalletStore(destination_root, "mainnet").ensure(1)
        (root / "donate_list.txt").write_text(destination.address + "\n")
        result = _cli("donate", env={"ROOT_CONF_PATH": str(root), "APP_BASE_URL": sim.url})
        # Our list address is not registered on the server: the pass must say so and retry later.
        assert result.returncode == 0, result.stderr
        assert "1 to retry" in result.stdout
        assert query(sim.state_path, "SELECT * FROM donations") == []
        assert not (root / "donate_list_seed.txt").exists()

        import asyncio

        from scavenger.api import ScavengerClient

        async def register_destination() -> None:
            async with ScavengerClient(sim.url) as api:
                terms = await api.get_terms()
                signature = destination.sign(terms.message)
                await api.register(destination.address, signature, destination.pubkey_hex)

        asyncio.run(register_destination())
        result = _cli("donate", env={"ROOT_CONF_PATH": str(root), "APP_BASE_URL": sim.url})
        assert result.returncode == 0, result.stderr
        assert "1 assigned" in result.stdout
        (row,) = query(sim.state_path, "SELECT destination FROM donations")
        assert row[0] == destination.address


@pytest.mark.timeout(scaled(120))
def test_demo_shows_receipts_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update({"MINER_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-c", "from scavenger.cli import main; main()", "demo", "--plain"),
                *("--challenge-period", "3", "--difficulty", "0FFFFFFF"),
                *("--rom-size", "1MiB", "--pre-size", "16KiB"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + scaled(60)
        while "accepted" not in log_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.25)
        text = log_path.read_text()
        assert "accepted" in text, text
        assert "demo: starting a local Scavenger simulator" in text
        assert (tmp_path / "demo-config" / "1" / "miner-1" / "wallets").is_dir()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130  # Ctrl-C, as shells expect, after the clean shutdown
        sim_pids = [
            p for p in Path("/proc").iterdir() if p.name.isdigit() and str(tmp_path) in _cmdline(p)
        ]
        assert sim_pids == [], "the simulator must stop with the demo"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(scaled(10))


def _cmdline(proc_dir: Path) -> str:
    try:
        return (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_reporter_gets_its_settings_and_the_miners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scavenger.miner.config import load_config
    from scavenger.miner.runner import _make_reporter
    from scavenger.miner.slots import claim_slot

    env = {
        "ENABLE_STATS_BACKEND": "true",
        "STATS_BEARER_TOKEN": "t0ken",
        "STATS_BACKEND_URL": "http://127.0.0.1:9/insert_stat",
        "STATS_REPORT_INTERVAL": "7",
        "STATS_BUFFER_SIZE": "123",
        "STATS_TIMEOUT": "1.5",
        "APP_VERSION": "9.9.9",
        "STATS_CONTAINER_ID": "rack-4",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = load_config(env)
    lease = claim_slot(tmp_path)
    try:
        reporter = _make_reporter(config, lease)
    finally:
        lease.release()
    got = reporter.config
    assert (got.enabled, got.token, got.interval) == (True, "t0ken", 7.0)
    assert got.stats_url == "http://127.0.0.1:9/insert_stat"
    assert (got.buffer_size, got.timeout, got.version, got.container_id) == (123, 1.5, "9.9.9", "rack-4")
    assert got.default_miner_id == lease.instance_id


def test_a_bad_reporter_setting_stops_the_miner_naming_it(tmp_path: Path) -> None:
    env = {**os.environ, "STATS_BUFFER_SIZE": "lots", "ROOT_CONF_PATH": str(tmp_path / "config")}
    env["APP_BASE_URL"] = "http://127.0.0.1:9"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("scavenger")), "mine", "--plain"],
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(60),
    )
    assert done.returncode == 2
    assert "STATS_BUFFER_SIZE must be a whole number in 1..1000000, got 'lots'" in done.stderr
    assert not (tmp_path / "config").exists()  # refused before a slot is claimed


def test_log_times_are_iso_8601_in_the_live_view_and_plain_lines() -> None:
    import io
    import logging
    import re

    from rich.console import Console

    from scavenger.miner.cli import setup_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    try:
        setup_logging("info", Console(file=out, force_terminal=True, width=120))
        logging.getLogger("scavenger.test").info("hello")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    # rich's default was the locale's "[11/30/26 18:55:45]"
    assert re.search(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\]", out.getvalue()), out.getvalue()
