"""Across hosts: a miner back from an outage mines, through the stats backend, the challenges another
config folder's miner saw meanwhile; the backend serves only well-formed open challenges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from miner.conftest import MinerProcess
from miner.test_book_e2e import book_sources, run_outage
from scavenger.miner.book import ChallengeBook
from timing import scaled

from .conftest import WRITE_TOKEN, Backend


@pytest.mark.timeout(scaled(300))
def test_a_miner_on_another_host_gets_the_missed_challenges_from_the_backend(
    tmp_path: Path,
    database_url: str,
    start_backend: Callable[..., Backend],
    miners: Callable[..., MinerProcess],
) -> None:
    backend = start_backend(database_url)
    env = {
        "ENABLE_STATS_BACKEND": "true",
        "STATS_BACKEND_URL": f"{backend.url}/insert_stat",
        "API_BACKEND_URL": f"{backend.url}/insert_api_return",
        "STATS_BEARER_TOKEN": WRITE_TOKEN,
        "STATS_REPORT_INTERVAL": "1",
    }
    root_a, root_b = tmp_path / "host-a", tmp_path / "host-b"
    b, _wallets, missed = run_outage(tmp_path, miners, root_a, root_b, env)
    book_b = book_sources(root_b)
    assert {book_b[c] for c in missed} == {"backend"}
    assert all(f"challenge {c} from the stats backend" in b.log_path.read_text() for c in missed)

    with backend.client() as client:
        # Every missed challenge still open is served (the backend serves open ones only; under load the
        # earliest may have closed by now).
        still_open = {e.challenge_id for e in ChallengeBook(root_b).open_entries()} & set(missed)
        served = client.get("/api/challenges/open").json()["challenges"]
        assert still_open <= {c["challenge"]["challenge_id"] for c in served}
        # A forged reply reported by some miner is stored, but never served.
        forged = {"code": "active", "challenge": {"challenge_id": "**D99C99", "difficulty": "zz"}}
        row = {"container_id": "x", "miner_id": "m", "endpoint": "challenge", "url": "u",
               "api_response": forged}
        assert client.post("/insert_api_return", json=row).status_code == 200
        served = client.get("/api/challenges/open").json()["challenges"]
        assert "**D99C99" not in {c["challenge"]["challenge_id"] for c in served}
    with backend.client(token=None) as anonymous:
        assert anonymous.get("/api/challenges/open").status_code == 401
