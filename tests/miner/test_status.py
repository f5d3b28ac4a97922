"""`scavenger status` on journals written by the real Journal: counts, the receipt-day rule, read-only
access (nothing in the config folder changes) and the exit codes. The end-to-end check against the
simulator's records is in test_fleet.py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from scavenger.miner.earnings import DayCalendar, estimate
from scavenger.miner.journal import Journal
from scavenger.miner.slots import instance_dir, wallets_dir
from timing import scaled

A = "addr1qx" + "a" * 96
B = "addr1qx" + "b" * 96


def _challenge(day: int, number: int, issued: str) -> dict[str, Any]:
    return {
        "challenge_id": f"**D{day:02d}C{number:02d}",
        "day": day,
        "challenge_number": number,
        "issued_at": issued,
        "latest_submission": "2099-01-01T00:00:00.000Z",
        "difficulty": "0FFFFFFF",
        "no_pre_mine": "ab" * 32,
        "no_pre_mine_hour": "1",
    }


def _make_slot(root: Path) -> Path:
    wallets = wallets_dir(root, 1)
    wallets.mkdir(parents=True)
    (wallets / "wallets.json").write_text(
        json.dumps({"format": 1, "wallets": [{"address": A}, {"address": B, "kind": "legacy"}]})
    )
    journal = Journal(instance_dir(root, 1) / "journal.sqlite3")
    # Day 1's last challenge, then day 2's first: a receipt accepted after day 2 started counts for day 2
    # even though its challenge id says day 1 (spec 1.6, submission day).
    journal.record_challenge(_challenge(1, 24, "2025-10-30T23:00:00.000Z"), 4e9)
    journal.record_challenge(_challenge(2, 1, "2025-10-31T00:00:00.000Z"), 4e9)
    journal.record_registration(A, "00" * 32, "sig", None)
    for address, cid, accepted_at in (
        (A, "**D01C24", "2025-10-30T23:10:00.000Z"),
        (A, "**D02C01", "2025-10-31T00:10:00.000Z"),
    ):
        journal.record_solution(address, cid, "0" * 15 + "1", "p", "h", hashes=1)
        journal.mark_accepted(address, cid, {"preimage": "p", "timestamp": accepted_at, "signature": "s"})
    late = "2025-10-31T00:20:00.000Z"
    journal.record_solution(A, "**D01C23", "0" * 15 + "2", "p", "h", hashes=1)
    journal.mark_accepted(A, "**D01C23", {"preimage": "p", "timestamp": late, "signature": "s"})
    journal.record_solution(A, "**D02C02", "0" * 15 + "3", "p", "h", hashes=1)  # pending
    journal.record_solution(B, "**D02C02", "0" * 15 + "4", "p", "h", hashes=1)
    journal.mark_final(B, "**D02C02", "expired", "deadline passed")
    journal.close()
    return instance_dir(root, 1) / "journal.sqlite3"


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        # SQLite may create the empty -wal/-shm files a WAL reader needs; the journal itself is unchanged.
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def _status(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ROOT_CONF_PATH=str(root))
    return subprocess.run(
        [sys.executable, "-c", "from scavenger.cli import main; main()", "status", *args],
        env=env, capture_output=True, text=True, timeout=scaled(60), check=False,
    )


def test_receipt_day_is_the_day_current_at_acceptance() -> None:
    calendar = DayCalendar(
        [_challenge(1, 24, "2025-10-30T23:00:00.000Z"), _challenge(2, 1, "2025-10-31T00:00:00Z")]
    )
    from scavenger.miner.earnings import parse_iso

    assert calendar.day_at(parse_iso("2025-10-30T23:59:59Z") or 0, "**D01C24") == 1
    assert calendar.day_at(parse_iso("2025-10-31T00:00:01Z") or 0, "**D01C24") == 2
    # Before the first journalled challenge, the calendar still holds (day 1 started at midnight).
    assert calendar.day_at(parse_iso("2025-10-30T00:00:00Z") or 0, "**D05C03") == 1
    # No journalled challenge: the id's day.
    assert DayCalendar([]).day_at(0.0, "**D05C03") == 5
    # A compressed calendar (10 s periods) from two challenges far apart, whatever was missed between.
    fast = DayCalendar([_challenge(1, 3, "2025-10-30T00:00:20Z"), _challenge(3, 2, "2025-10-30T00:08:10Z")])
    assert fast.day_at(parse_iso("2025-10-30T00:03:59.9Z") or 0, "x") == 1
    assert fast.day_at(parse_iso("2025-10-30T00:04:00Z") or 0, "x") == 2
    assert fast.day_at(parse_iso("2025-10-30T00:08:00Z") or 0, "x") == 3
    est = estimate({1: 3, 2: 2, 3: 1}, [10882519, 7692307])
    assert (est.star, est.rated, est.unrated) == (3 * 10882519 + 2 * 7692307, 5, 1)


def test_status_json_counts_days_and_leaves_the_folder_untouched(tmp_path: Path) -> None:
    root = tmp_path / "config"
    _make_slot(root)
    before = _digest(root)
    result = _status(root, "--json", "--offline")
    assert result.returncode == 0, result.stderr
    assert _digest(root) == before
    doc = json.loads(result.stdout)
    assert doc["format"] == 1 and doc["offline"] is True and doc["problems"] == []
    (slot,) = doc["slots"]
    assert slot["running"] is False
    by_address = {w["address"]: w for w in slot["wallets"]}
    a, b = by_address[A], by_address[B]
    assert (a["kind"], a["registered"], b["kind"], b["registered"]) == ("standard", True, "legacy", False)
    assert a["solutions"] == {"found": 4, "accepted": 3, "pending": 1, "expired": 0, "rejected": 0}
    assert b["solutions"]["expired"] == 1
    assert a["receipts"] == 3 and a["receipts_by_day"] == {"1": 1, "2": 2}
    assert a["estimated_star"] == 0 and a["receipts_unrated"] == 3  # offline: no rates
    assert doc["totals"]["found"] == 5 and doc["totals"]["receipts"] == 3 and doc["totals"]["wallets"] == 2


def test_status_exit_codes(tmp_path: Path) -> None:
    missing = _status(tmp_path / "nowhere", "--offline")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    root = tmp_path / "config"
    _make_slot(root)
    (wallets_dir(root, 1) / "wallets.json").write_text("{not json")
    damaged = _status(root, "--json", "--offline")
    assert damaged.returncode == 3
    assert any("wallets.json" in p for p in json.loads(damaged.stdout)["problems"])
    human = _status(root, "--offline")
    assert human.returncode == 3 and "all slots" in human.stdout and "problem:" in human.stdout
