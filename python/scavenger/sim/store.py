"""SQLite state of the simulator. Every reply that changes state is committed before it is sent, so a
SIGKILL right after a reply loses nothing the client saw."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scavenger import fsafe

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS registrations (
    address TEXT PRIMARY KEY,
    pubkey TEXT NOT NULL,
    signature TEXT NOT NULL,
    reply TEXT NOT NULL,
    registered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS solutions (
    address TEXT NOT NULL,
    challenge_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    digest TEXT NOT NULL,
    receipt TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    accepted_day INTEGER NOT NULL,
    PRIMARY KEY (address, challenge_id)
);
CREATE TABLE IF NOT EXISTS donations (
    original TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    donation_id TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS donation_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    original TEXT NOT NULL,
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Registration:
    address: str
    pubkey: str
    signature: str
    reply: dict[str, Any]


@dataclass(frozen=True)
class Donation:
    original: str
    destination: str
    donation_id: str


class Store:
    """One connection guarded by a lock: the simulator's load is tiny and this keeps writes ordered."""

    def __init__(self, path: Path) -> None:
        """``fsafe.UnsafeFileError`` if the state file is unusable (a link, not a database, disk full)."""
        self.path = path
        self._lock = threading.Lock()

        def setup(db: sqlite3.Connection) -> None:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)

        self._db = fsafe.connect_sqlite(path, setup, what="simulator state file")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # meta -------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def init_meta(self, values: dict[str, str]) -> dict[str, str]:
        """Store values for keys not yet present; return the stored values (first writer wins)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for key, value in values.items():
                    self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        return {str(k): str(v) for k, v in rows}

    # registrations ----------------------------------------------------------------------------------
    def registration(self, address: str) -> Registration | None:
        with self._lock:
            row = self._db.execute(
                "SELECT address, pubkey, signature, reply FROM registrations WHERE address = ?", (address,)
            ).fetchone()
        if row is None:
            return None
        return Registration(row[0], row[1], row[2], json.loads(row[3]))

    def add_registration(self, reg: Registration, at: str) -> Registration:
        """Insert unless present; return the stored one (the first registration's receipt is kept)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO registrations (address, pubkey, signature, reply, registered_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (reg.address, reg.pubkey, reg.signature, json.dumps(reg.reply), at),
            )
        stored = self.registration(reg.address)
        if stored is None:  # registrations are never deleted, so this means the database is broken
            raise RuntimeError(f"registration of {reg.address} vanished right after being written")
        return stored

    def registration_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM registrations").fetchone()[0])

    # solutions --------------------------------------------------------------------------------------
    def has_solution(self, address: str, challenge_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM solutions WHERE address = ? AND challenge_id = ?", (address, challenge_id)
            ).fetchone()
        return row is not None

    def add_solution(
        self,
        address: str,
        challenge_id: str,
        nonce: str,
        digest: str,
        receipt: dict[str, Any],
        at: str,
        day: int,
    ) -> bool:
        """False when this address already has a solution for the challenge (raced or repeated)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO solutions"
                " (address, challenge_id, nonce, digest, receipt, accepted_at, accepted_day)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (address, challenge_id, nonce, digest, json.dumps(receipt), at, day),
            )
            return cursor.rowcount == 1

    def solution_count(self, address: str | None = None) -> int:
        with self._lock:
            if address is None:
                row = self._db.execute("SELECT COUNT(*) FROM solutions").fetchone()
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM solutions WHERE address = ?", (address,)
                ).fetchone()
        return int(row[0])

    def solutions_since(self, at: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM solutions WHERE accepted_at >= ?", (at,)).fetchone()
        return int(row[0])

    def receipts_per_day(self) -> dict[int, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT accepted_day, COUNT(*) FROM solutions GROUP BY accepted_day"
            ).fetchall()
        return {int(day): int(count) for day, count in rows}

    def receipts_per_day_for(self, addresses: list[str]) -> dict[int, int]:
        if not addresses:
            return {}
        marks = ",".join("?" * len(addresses))
        with self._lock:
            rows = self._db.execute(
                f"SELECT accepted_day, COUNT(*) FROM solutions WHERE address IN ({marks})"
                " GROUP BY accepted_day",
                addresses,
            ).fetchall()
        return {int(day): int(count) for day, count in rows}

    # donations --------------------------------------------------------------------------------------
    def donation(self, original: str) -> Donation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT original, destination, donation_id FROM donations WHERE original = ?", (original,)
            ).fetchone()
        return None if row is None else Donation(row[0], row[1], row[2])

    def donors_to(self, destination: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT original FROM donations WHERE destination = ?", (destination,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def assign_donation(self, donation: Donation, at: str) -> bool:
        """False when the original already has an active assignment (checked and written atomically)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO donations (original, destination, donation_id, assigned_at)"
                " VALUES (?, ?, ?, ?)",
                (donation.original, donation.destination, donation.donation_id, at),
            )
            if cursor.rowcount == 1:
                self._db.execute(
                    "INSERT INTO donation_log (original, destination, action, at) VALUES (?, ?, 'assign', ?)",
                    (donation.original, donation.destination, at),
                )
            return cursor.rowcount == 1

    def undo_donation(self, original: str, at: str) -> Donation | None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT original, destination, donation_id FROM donations WHERE original = ?", (original,)
                ).fetchone()
                if row is not None:
                    self._db.execute("DELETE FROM donations WHERE original = ?", (original,))
                    self._db.execute(
                        "INSERT INTO donation_log (original, destination, action, at)"
                        " VALUES (?, ?, 'undo', ?)",
                        (original, row[1], at),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return None if row is None else Donation(row[0], row[1], row[2])
