from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from scavenger.miner.journal import Journal

CHALLENGE = {
    "challenge_id": "**D01C01",
    "day": 1,
    "challenge_number": 1,
    "issued_at": "2025-10-30T00:00:00.000Z",
    "latest_submission": "2025-10-30T23:59:59.000Z",
    "difficulty": "000FFFFF",
    "no_pre_mine": "ab" * 32,
    "no_pre_mine_hour": "123456789",
}


def test_journal_settings_and_challenge_kept_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    assert journal.record_challenge(dict(CHALLENGE), 100.0) is True
    changed = dict(CHALLENGE, difficulty="0000FFFF")
    assert journal.record_challenge(changed, 100.0) is False  # first sight wins
    stored = journal.challenge("**D01C01")
    assert stored is not None and stored.body == CHALLENGE
    assert journal.challenges(open_after=100.0) == []
    assert [c.challenge_id for c in journal.challenges(open_after=99.0)] == ["**D01C01"]
    journal.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_solution_lifecycle(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    assert journal.record_solution("addr1", "**D01C01", "00000000000000ff", "pre", "00ab", hashes=256)
    assert not journal.record_solution("addr1", "**D01C01", "0000000000000100", "pre", "00ab", hashes=300)
    assert journal.progress("addr1", "**D01C01") == (256, 256)
    assert journal.solved_pairs() == {("addr1", "**D01C01")}
    journal.mark_retry("addr1", "**D01C01", "HTTP 500", next_attempt=5.0)
    (pending,) = journal.solutions(status="pending")
    assert (pending.nonce, pending.attempts, pending.last_error) == ("00000000000000ff", 1, "HTTP 500")
    journal.mark_accepted("addr1", "**D01C01", {"preimage": "p", "signature": "s", "timestamp": "t"})
    assert journal.counts().accepted == 1 and journal.counts().pending == 0
    assert journal.receipt("addr1", "**D01C01") == {"preimage": "p", "signature": "s", "timestamp": "t"}
    journal.record_solution("addr2", "**D01C01", "0000000000000001", "pre", "00", hashes=2)
    journal.mark_accepted("addr2", "**D01C01", None)  # "already exists": accepted without receipt
    assert journal.receipt("addr2", "**D01C01") is None
    assert journal.receipt_count() == 1
    journal.record_solution("addr3", "**D01C01", "0000000000000001", "pre", "00", hashes=2)
    journal.mark_final("addr3", "**D01C01", "expired", "Submission window closed")
    assert journal.counts_by_address()["addr3"].expired == 1
    with pytest.raises(ValueError, match="expired or rejected"):
        journal.mark_final("addr3", "**D01C01", "accepted", "x")


def test_registrations_and_donations_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    journal.record_registration("addr1", "pk", "sig", {"signature": "x"})
    journal.record_donation("addr1", "addrD", "done", None)
    journal.save_progress("addr1", "**D01C01", 1000, 1000)
    journal.close()
    again = Journal(path)
    assert again.registered() == {"addr1"}
    assert again.donations() == {"addr1": ("addrD", "done")}
    assert again.all_progress() == {("addr1", "**D01C01"): (1000, 1000)}
    again.forget_registration("addr1")
    assert again.registered() == set()


def test_a_failed_commit_does_not_leave_the_journal_stuck(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    # A deferred foreign key makes COMMIT itself fail, as a full disk or an I/O error would.
    journal._db.execute("PRAGMA foreign_keys=ON")
    journal._db.execute(
        "CREATE TABLE child (parent TEXT REFERENCES challenges(challenge_id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(sqlite3.IntegrityError), journal._tx() as db:
        db.execute("INSERT INTO child VALUES ('no such challenge')")
    assert not journal._db.in_transaction
    assert journal.record_solution("addr1", "**D01C01", "0000000000000001", "pre", "00", hashes=2)
    assert journal.solved_pairs() == {("addr1", "**D01C01")}
