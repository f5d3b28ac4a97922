"""Fleet views of the backend: up/down per miner, earnings (new miner_progress table), API errors over
time, and the backend's own /metrics, against a real backend process and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from .conftest import READ_TOKEN, Backend


def _stat(container: str, miner: str, ago: float, rate: float) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(seconds=ago)
    return {"container_id": container, "miner_id": miner, "hash_rate": rate, "timestamp": at.isoformat(),
            "interval_secs": 10.0, "hashes": int(rate * 10)}


def _progress(
    container: str, miner: str, ago: float, accepted: int, star: int, challenge: str
) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(seconds=ago)
    return {"container_id": container, "miner_id": miner, "timestamp": at.isoformat(),
            "solutions_found": accepted + 1, "solutions_accepted": accepted, "solutions_pending": 1,
            "solutions_expired": 0, "receipts": accepted, "estimated_star": star,
            "last_challenge_id": challenge, "last_difficulty": "000FFFFF"}


def seed_fleet(backend: Backend) -> None:
    """miner-1@alpha reports every 10 s up to now; miner-2@beta stopped 95 s ago (down)."""
    up, down = ("miner-1@alpha", "miner-1"), ("miner-2@beta", "miner-2")
    stats = [_stat(*up, ago, 1500.0) for ago in range(600, 0, -10)]
    stats += [_stat(*down, ago, 900.0) for ago in range(600, 90, -10)]
    progress = [_progress(*up, ago, (600 - ago) // 60, (600 - ago) // 60 * 10_000_000, "**D02C05")
                for ago in range(600, 0, -10)]
    progress += [_progress(*down, ago, 3, 30_000_000, "**D02C04") for ago in range(600, 90, -10)]
    api = [{"container_id": down[0], "miner_id": down[1], "url": "u", "endpoint": "solution", "status": 429,
            "timestamp": (datetime.now(UTC) - timedelta(seconds=200)).isoformat()}] * 3
    api += [
        {"container_id": up[0], "miner_id": up[1], "url": "u", "endpoint": "challenge", "status": 200}
    ] * 5
    batches = (("/insert_stat", stats), ("/insert_progress", progress), ("/insert_api_return", api))
    with backend.client() as client:
        for path, rows in batches:
            reply = client.post(path, json=rows)
            assert reply.status_code == 200, reply.text


def test_miner_states_earnings_and_errors(start_backend: Callable[..., Backend], database_url: str) -> None:
    backend = start_backend(database_url)
    seed_fleet(backend)
    with backend.client(READ_TOKEN) as client:
        miners = {m["miner_id"]: m for m in client.get("/api/miners").json()}
        assert miners["miner-1"]["state"] == "up" and miners["miner-1"]["down_since"] is None
        down = miners["miner-2"]
        assert down["state"] == "down" and down["down_since"] == down["last_report"]
        assert down["report_interval_secs"] == 10.0 and down["api_errors_15m"] == 3
        assert miners["miner-1"]["solutions_accepted"] == 9
        assert miners["miner-1"]["last_challenge_id"] == "**D02C05"

        summary = client.get("/api/hashrate/summary", params={"minutes": 5}).json()
        # The stopped miner's last samples are still inside the window but it is down: not "now".
        assert summary["total_hashrate_hs"] == 1500.0
        assert (summary["active_miners"], summary["down_miners"]) == (1, 1)

        earnings = client.get("/api/earnings/summary").json()
        assert earnings["solutions_accepted"] == 9 + 3 and earnings["receipts"] == 12
        assert earnings["estimated_star"] == 90_000_000 + 30_000_000
        assert (earnings["last_challenge_id"], earnings["last_difficulty"]) == ("**D02C05", "000FFFFF")

        series = client.get("/api/earnings/series", params={"minutes": 15, "bucket": 60}).json()
        last = series[-1]
        # Carried forward: the down miner's earnings stay in the total after it stopped.
        assert last["series"] == "total" and last["solutions_accepted"] == 12
        per = client.get("/api/earnings/series", params={"minutes": 15, "bucket": 60, "group": "container"})
        assert {r["series"] for r in per.json()} == {"miner-1@alpha", "miner-2@beta"}

        errors = client.get("/api/api-returns/errors-series", params={"minutes": 15, "bucket": 60}).json()
        got = [(e["miner"], e["status"], e["errors"]) for e in errors]
        assert got == [("miner-2@beta / miner-2", "429", 3)]
        by_miner = client.get("/api/api-returns/errors-by-miner", params={"minutes": 15}).json()
        assert by_miner[0]["endpoint"] == "solution" and by_miner[0]["errors"] == 3
        assert client.get("/api/earnings/series", params={"minutes": 10080, "bucket": 5}).status_code == 422

        text = client.get("/metrics").text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("scavenger_stats_rows_inserted_total", (("table", "miner_progress"),))] == 60 + 51
    assert samples[("scavenger_stats_database_up", ())] == 1
    inserts = ("scavenger_stats_http_requests_total", (("route", "/insert_stat"), ("status", "200")))
    assert samples[inserts] == 1
    assert any(name == "process_resident_memory_bytes" for name, _ in samples)
    with backend.client(None) as anonymous:
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/api/miners").status_code == 401


def test_progress_rows_are_validated(start_backend: Callable[..., Backend], database_url: str) -> None:
    backend = start_backend(database_url)
    bad = _progress("c", "m", 0, 1, 1, "**D01C01")
    bad["receipts"] = -1
    with backend.client() as client:
        reply = client.post("/insert_progress", json=bad)
        assert reply.status_code == 422 and "receipts" in reply.text
