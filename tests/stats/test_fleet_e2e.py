"""The fleet end to end: two `scavenger mine` processes and the stats backend against the simulator, one
miner stopped. Checked against the simulator's own records: `scavenger status --json` totals and the
estimate, the backend's down state and API error counts, and both miners' /metrics read with
prometheus_client's parser."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from miner.conftest import SIM_OPTIONS, MinerProcess, query, wait_for
from scavenger.sim.testing import running_simulator
from timing import scaled

from .conftest import READ_TOKEN, WRITE_TOKEN, Backend


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _sim_receipts(state: Path) -> dict[str, dict[int, int]]:
    """address -> event day -> receipts, from the simulator's own store."""
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT address, accepted_day, COUNT(*) FROM solutions GROUP BY 1, 2").fetchall()
    finally:
        db.close()
    out: dict[str, dict[int, int]] = {}
    for address, day, n in rows:
        out.setdefault(address, {})[int(day)] = int(n)
    return out


@pytest.mark.timeout(300)
def test_two_miners_one_stopped_status_backend_and_metrics(
    tmp_path: Path, start_backend: Callable[..., Backend], database_url: str
) -> None:
    backend = start_backend(database_url)
    root = tmp_path / "config"
    ports = [_free_port(), _free_port()]
    # Simulated days of 24 s that began 10 s ago: day 1 completes while the miners run, so the estimate
    # has a rate to use and some receipts are still on the open day 2.
    with running_simulator(tmp_path / "sim", challenge_period=1, start="-10s", **SIM_OPTIONS) as sim:
        sim.add_fault(kind="429", count=3, endpoints=["solution"], retry_after=1)
        started: list[MinerProcess] = []
        try:
            for i, port in enumerate(ports):
                env = {
                    "MAX_WALLETS_PER_INSTANCE": "1",
                    "DONATE_ENABLED": "false",
                    "METRICS_PORT": str(port),
                    "INSTANCE_SLOT": str(i + 1),
                    "ENABLE_STATS_BACKEND": "true",
                    "STATS_BACKEND_URL": f"{backend.url}/insert_stat",
                    "API_BACKEND_URL": f"{backend.url}/insert_api_return",
                    "STATS_BEARER_TOKEN": WRITE_TOKEN,
                    "STATS_REPORT_INTERVAL": "1",
                }
                started.append(MinerProcess(root, sim.url, tmp_path / f"m{i + 1}.log", env).start())
            first, second = started

            def logs() -> str:
                return "\n".join(f"--- miner {m.log_path.name}\n{m.log_tail(25)}" for m in started)

            def faults_left() -> int:
                # A rule leaves the list once it has fired ``count`` times.
                return len(httpx.get(f"{sim.url}/_sim/faults", timeout=5).json()["rules"])

            def both_have_receipts() -> bool:
                receipts = _sim_receipts(sim.state_path)
                return len(receipts) == 2 and all(sum(d.values()) >= 2 for d in receipts.values())

            wait_for(both_have_receipts, scaled(60), "receipts for both miners", logs)
            wait_for(lambda: faults_left() == 0, scaled(30), "the three 429 replies", logs)
            wait_for(lambda: len(httpx.get(f"{sim.url}/work_to_star_rate").json()) >= 1, scaled(30),
                     "day 1 to complete", logs)

            # Prometheus, read with the real parser: the three 429s are counted where they happened.
            scraped = [_metrics(port) for port in ports]
            for slot, samples in enumerate(scraped, start=1):
                me = (("miner", f"miner-{slot}"),)
                assert samples[("scavenger_build_info", (("miner", f"miner-{slot}"),
                                                         ("python", sys.version.split()[0]),
                                                         ("version", "0.1.0")))] == 1
                assert samples[("scavenger_hashes_total", me)] > 0
                assert samples[("scavenger_receipts_total", me)] >= 1
                assert ("process_resident_memory_bytes", ()) in samples
            limited = sum(
                s.get(("scavenger_api_responses_total",
                       (("endpoint", "solution"), ("miner", f"miner-{i}"), ("status", "429"))), 0.0)
                for i, s in enumerate(scraped, start=1)
            )
            submit_errors = sum(s[("scavenger_submit_errors_total", (("miner", f"miner-{i}"),))]
                                for i, s in enumerate(scraped, start=1))
            assert limited == 3 and submit_errors == 3

            # Stop one miner: the backend shows it down (and only it), with since-when.
            assert second.terminate() == 0
            with backend.client(READ_TOKEN) as client:

                def states() -> dict[str, Any]:
                    return {m["miner_id"]: m for m in client.get("/api/miners").json()}

                wait_for(lambda: states().get("miner-2", {}).get("state") == "down", scaled(30),
                         "miner-2 down on the backend", logs)
                now = states()
                assert now["miner-1"]["state"] == "up"
                assert now["miner-1"]["container_id"].startswith("miner-1@")
                assert now["miner-2"]["down_since"] == now["miner-2"]["last_report"]
                summary = client.get("/api/hashrate/summary", params={"minutes": 5}).json()
                assert (summary["active_miners"], summary["down_miners"]) == (1, 1)

                # The backend counted the same 429s, per miner.
                def backend_429s() -> int:
                    rows = client.get("/api/api-returns/errors-by-miner", params={"minutes": 15}).json()
                    return sum(
                        r["errors"] for r in rows if r["endpoint"] == "solution" and r["status"] == "429"
                    )

                wait_for(lambda: backend_429s() == 3, scaled(20), "the 429s on the backend", logs)
                backend_metrics = {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for f in text_string_to_metric_families(client.get("/metrics").text) for s in f.samples
                }
                progress_rows = ("scavenger_stats_rows_inserted_total", (("table", "miner_progress"),))
                assert backend_metrics[progress_rows] > 0
            assert first.terminate() == 0
        finally:
            for miner in started:
                miner.kill9()

        # Both stopped: `scavenger status --json` against the simulator's records.
        env = dict(os.environ, ROOT_CONF_PATH=str(root), APP_BASE_URL=sim.url)
        result = subprocess.run(
            [sys.executable, "-c", "from scavenger.cli import main; main()", "status", "--json",
             "--cache-dir", str(tmp_path / "cache")],
            env=env, capture_output=True, text=True, timeout=scaled(60), check=False,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        doc = json.loads(result.stdout)
        records = _sim_receipts(sim.state_path)
        rates = httpx.get(f"{sim.url}/work_to_star_rate").json()
        wallets = [w for slot in doc["slots"] for w in slot["wallets"]]
        assert sorted(w["address"] for w in wallets) == sorted(records)
        for w in wallets:
            mine = records[w["address"]]
            assert w["receipts"] == sum(mine.values()) == w["server"]["crypto_receipts"]
            assert {int(d): n for d, n in w["receipts_by_day"].items()} == mine
            expected = sum(n * rates[d - 1] for d, n in mine.items() if d <= len(rates))
            assert w["estimated_star"] == expected == w["server"]["night_allocation_star"]
        totals = doc["totals"]
        assert totals["receipts"] == sum(sum(d.values()) for d in records.values())
        assert totals["server_crypto_receipts"] == totals["receipts"]
        assert totals["estimated_star"] == totals["server_night_allocation_star"] > 0
        assert totals["estimated_night"] == round(totals["estimated_star"] / 1e6, 6)
        # Realistic rewards: ~1e7 STAR per receipt, not the whole pool.
        assert all(5_000_000 <= r <= 20_000_000 for r in rates)
        journal = root / "1" / "miner-1" / "journal.sqlite3"
        assert query(journal, "SELECT COUNT(*) FROM receipts WHERE body IS NOT NULL")[0][0] == sum(
            w["receipts"] for w in wallets if w["slot"] == 1
        )

