"""The instance's durable journal (SQLite, WAL, synchronous=FULL).

Every fact that would cost work or money if lost is committed here before it is acted on: a challenge's JSON
on first sight (the server re-derives the preimage from it), a found solution before it is submitted, the
search position of each (wallet, challenge) so a restart does not redo hashes, registrations, receipts and
donation assignments. With synchronous=FULL a commit that returned survives kill -9 and power loss.

One connection, used from the event-loop thread only; writes are tiny, so they do not stall mining.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scavenger import fsafe

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS challenges (
    challenge_id      TEXT PRIMARY KEY,
    body              TEXT NOT NULL,          -- the challenge object exactly as the server sent it
    latest_submission TEXT NOT NULL,
    deadline          REAL NOT NULL,          -- latest_submission as a Unix time, for ordering
    first_seen        REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS solutions (
    address       TEXT NOT NULL,
    challenge_id  TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    preimage      TEXT NOT NULL,
    hash          TEXT NOT NULL,
    found_at      REAL NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',  -- pending | accepted | expired | rejected
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  REAL NOT NULL DEFAULT 0,
    last_error    TEXT,
    settled_at    REAL,
    PRIMARY KEY (address, challenge_id)
);
CREATE TABLE IF NOT EXISTS receipts (
    address       TEXT NOT NULL,
    challenge_id  TEXT NOT NULL,
    body          TEXT,                     -- crypto_receipt JSON; NULL when the server said "already exists"
    received_at   REAL NOT NULL,
    PRIMARY KEY (address, challenge_id)
);
CREATE TABLE IF NOT EXISTS progress (
    address       TEXT NOT NULL,
    challenge_id  TEXT NOT NULL,
    next_nonce    INTEGER NOT NULL,
    hashes        INTEGER NOT NULL,
    PRIMARY KEY (address, challenge_id)
);
CREATE TABLE IF NOT EXISTS registrations (
    address       TEXT PRIMARY KEY,
    pubkey        TEXT NOT NULL,
    signature     TEXT NOT NULL,
    receipt       TEXT,
    registered_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS donations (
    address       TEXT PRIMARY KEY,
    destination   TEXT NOT NULL,
    status        TEXT NOT NULL,            -- done | conflict
    detail        TEXT,
    updated_at    REAL NOT NULL
);
"""

_SAVE_PROGRESS = (
    "INSERT INTO progress VALUES (?, ?, ?, ?) ON CONFLICT (address, challenge_id) "
    "DO UPDATE SET next_nonce = excluded.next_nonce, hashes = excluded.hashes"
)


@dataclass(frozen=True)
class StoredChallenge:
    challenge_id: str
    body: dict[str, Any]
    deadline: float


@dataclass(frozen=True)
class Solution:
    address: str
    challenge_id: str
    nonce: str
    preimage: str
    hash: str
    found_at: float
    status: str
    attempts: int
    next_attempt: float
    last_error: str | None


@dataclass(frozen=True)
class Counts:
    found: int
    accepted: int
    pending: int
    expired: int
    rejected: int


def _counts(by_status: dict[str, int]) -> Counts:
    return Counts(
        found=sum(by_status.values()),
        accepted=by_status.get("accepted", 0),
        pending=by_status.get("pending", 0),
        expired=by_status.get("expired", 0),
        rejected=by_status.get("rejected", 0),
    )


class Journal:
    def __init__(self, path: Path) -> None:
        """Raises ``fsafe.UnsafeFileError`` (one line naming the file) if the journal cannot be used: a
        symlink, hard link or non-database planted under its name, or a full disk."""
        self.path = path

        def setup(db: sqlite3.Connection) -> None:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

        self._db = fsafe.connect_sqlite(path, setup, what="journal")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            # Also when COMMIT itself fails (disk full, I/O error): a transaction left open would make every
            # later BEGIN fail, so no solution could be journalled again until a restart.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    # -- challenges --------------------------------------------------------------------------------------

    def record_challenge(self, body: dict[str, Any], deadline: float) -> bool:
        """Store a challenge on first sight; later sightings never change it. True if it was new."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO challenges VALUES (?, ?, ?, ?, ?)",
                (body["challenge_id"], json.dumps(body), body["latest_submission"], deadline, time.time()),
            )
            return cur.rowcount == 1

    def challenges(self, *, open_after: float | None = None) -> list[StoredChallenge]:
        query = "SELECT challenge_id, body, deadline FROM challenges"
        params: tuple[Any, ...] = ()
        if open_after is not None:
            query += " WHERE deadline > ?"
            params = (open_after,)
        rows = self._db.execute(query + " ORDER BY deadline, challenge_id", params).fetchall()
        return [StoredChallenge(r[0], json.loads(r[1]), r[2]) for r in rows]

    def challenge(self, challenge_id: str) -> StoredChallenge | None:
        row = self._db.execute(
            "SELECT challenge_id, body, deadline FROM challenges WHERE challenge_id = ?", (challenge_id,)
        ).fetchone()
        return StoredChallenge(row[0], json.loads(row[1]), row[2]) if row else None

    # -- search progress -----------------------------------------------------------------------------------

    def progress(self, address: str, challenge_id: str) -> tuple[int, int]:
        row = self._db.execute(
            "SELECT next_nonce, hashes FROM progress WHERE address = ? AND challenge_id = ?",
            (address, challenge_id),
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def all_progress(self) -> dict[tuple[str, str], tuple[int, int]]:
        rows = self._db.execute("SELECT address, challenge_id, next_nonce, hashes FROM progress").fetchall()
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}

    def save_progress(self, address: str, challenge_id: str, next_nonce: int, hashes: int) -> None:
        with self._tx() as db:
            db.execute(_SAVE_PROGRESS, (address, challenge_id, next_nonce, hashes))

    # -- solutions ---------------------------------------------------------------------------------------

    def record_solution(
        self, address: str, challenge_id: str, nonce: str, preimage: str, digest: str, *, hashes: int
    ) -> bool:
        """Commit a found solution (and the final search position) before anything is sent."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO solutions (address, challenge_id, nonce, preimage, hash, found_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (address, challenge_id, nonce, preimage, digest, time.time()),
            )
            if cur.rowcount != 1:
                return False
            db.execute(_SAVE_PROGRESS, (address, challenge_id, int(nonce, 16) + 1, hashes))
            return True

    def solved_pairs(self) -> set[tuple[str, str]]:
        """(address, challenge_id) pairs that need no more mining, whatever their submission state."""
        rows = self._db.execute("SELECT address, challenge_id FROM solutions").fetchall()
        return {(r[0], r[1]) for r in rows}

    def solutions(self, *, status: str | None = None) -> list[Solution]:
        query = (
            "SELECT address, challenge_id, nonce, preimage, hash, found_at, status, attempts, next_attempt, "
            "last_error FROM solutions"
        )
        params: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        rows = self._db.execute(query + " ORDER BY found_at", params).fetchall()
        return [Solution(*r) for r in rows]

    def mark_accepted(self, address: str, challenge_id: str, receipt: dict[str, Any] | None) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE solutions SET status = 'accepted', settled_at = ?, last_error = NULL "
                "WHERE address = ? AND challenge_id = ?",
                (now, address, challenge_id),
            )
            db.execute(
                "INSERT OR REPLACE INTO receipts VALUES (?, ?, ?, ?)",
                (address, challenge_id, json.dumps(receipt) if receipt is not None else None, now),
            )

    def mark_retry(self, address: str, challenge_id: str, error: str, next_attempt: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE solutions SET attempts = attempts + 1, next_attempt = ?, last_error = ? "
                "WHERE address = ? AND challenge_id = ?",
                (next_attempt, error[:500], address, challenge_id),
            )

    def mark_final(self, address: str, challenge_id: str, status: str, error: str) -> None:
        if status not in ("expired", "rejected"):
            raise ValueError(f"final solution status must be expired or rejected, got {status!r}")
        with self._tx() as db:
            db.execute(
                "UPDATE solutions SET status = ?, settled_at = ?, last_error = ?, attempts = attempts + 1 "
                "WHERE address = ? AND challenge_id = ?",
                (status, time.time(), error[:500], address, challenge_id),
            )

    def receipt(self, address: str, challenge_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body FROM receipts WHERE address = ? AND challenge_id = ?", (address, challenge_id)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    def receipt_days(self) -> dict[int, int]:
        """Receipts (with a body) per event day, by the rule of scavenger.miner.earnings."""
        from scavenger.miner.earnings import DayCalendar, parse_iso

        calendar = DayCalendar(json.loads(r[0]) for r in self._db.execute("SELECT body FROM challenges"))
        days: dict[int, int] = {}
        for challenge_id, body, received_at in self._db.execute(
            "SELECT challenge_id, body, received_at FROM receipts WHERE body IS NOT NULL"
        ):
            receipt = json.loads(body)
            moment = parse_iso(str(receipt.get("timestamp", ""))) if isinstance(receipt, dict) else None
            day = calendar.day_at(moment if moment is not None else float(received_at), challenge_id)
            if day is not None:
                days[day] = days.get(day, 0) + 1
        return days

    def receipt_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM receipts WHERE body IS NOT NULL").fetchone()[0])

    def counts(self) -> Counts:
        rows = dict(self._db.execute("SELECT status, COUNT(*) FROM solutions GROUP BY status").fetchall())
        return _counts(rows)

    def counts_by_address(self) -> dict[str, Counts]:
        result: dict[str, dict[str, int]] = {}
        for address, status, n in self._db.execute(
            "SELECT address, status, COUNT(*) FROM solutions GROUP BY address, status"
        ):
            result.setdefault(address, {})[status] = n
        return {a: _counts(s) for a, s in result.items()}

    # -- registrations -----------------------------------------------------------------------------------

    def record_registration(
        self, address: str, pubkey: str, signature: str, receipt: dict[str, Any] | None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO registrations VALUES (?, ?, ?, ?, ?)",
                (address, pubkey, signature, None if receipt is None else json.dumps(receipt), time.time()),
            )

    def registered(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT address FROM registrations").fetchall()}

    def forget_registration(self, address: str) -> None:
        # The server said "not registered" although we recorded it (e.g. a reset test server): register again.
        with self._tx() as db:
            db.execute("DELETE FROM registrations WHERE address = ?", (address,))

    # -- donations ---------------------------------------------------------------------------------------

    def record_donation(self, address: str, destination: str, status: str, detail: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO donations VALUES (?, ?, ?, ?, ?)",
                (address, destination, status, detail, time.time()),
            )

    def donations(self) -> dict[str, tuple[str, str]]:
        rows = self._db.execute("SELECT address, destination, status FROM donations").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def forget_donation(self, address: str) -> None:
        # The assignment was undone on the server: the next donation pass assigns the wallet again.
        with self._tx() as db:
            db.execute("DELETE FROM donations WHERE address = ?", (address,))
