"""``scavenger status``: every slot's wallets, solutions, receipts and earnings, safe while miners run.

Read-only: journals are opened with SQLite's ``mode=ro`` (no schema change, no checkpoint, no write lock),
wallet addresses come from the public ``wallets.json`` (seeds are never read; a legacy folder of the original
program, which has none, is recognised by ``scavenger.wallet.kinds`` and its journal's addresses shown as
legacy), slot liveness from
``/proc/locks`` (no lock is taken, so a miner starting at that moment is never disturbed). The only thing
written is the API cache, outside the config folder.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scavenger import fsafe
from scavenger.miner.book import ChallengeBook
from scavenger.miner.earnings import DayCalendar, estimate, format_iso, night, parse_iso
from scavenger.miner.slots import (
    LOCK_NAME,
    _locally_locked_inodes,
    _read_holder,
    instance_dir,
    slot_dir,
    slot_numbers,
    wallets_dir,
)
from scavenger.wallet.store import MAX_SEEDS_BYTES, META_FILE

JOURNAL_NAME = "journal.sqlite3"  # same name as scavenger.miner.runner.JOURNAL_NAME (no heavy import here)
STATUS_FORMAT = 1
RECEIPT_DAY_RULE = (
    "a receipt counts for the event day current at its acceptance timestamp (spec 1.6: submission day), "
    "taken from the newest journalled challenge issued at or before it"
)
DEFAULT_KIND = "standard"


@dataclass
class WalletStatus:
    slot: int
    address: str
    kind: str
    registered: bool
    found: int = 0
    accepted: int = 0
    pending: int = 0
    expired: int = 0
    rejected: int = 0
    receipts: int = 0
    receipts_by_day: dict[int, int] = field(default_factory=dict)
    donation: dict[str, str] | None = None
    server: dict[str, Any] | None = None  # crypto_receipts, night_allocation (STAR), fetched_at, source


@dataclass
class SlotStatus:
    slot: int
    instance: str
    path: Path
    running: bool | None  # None: cannot tell (no /proc/locks)
    holder: dict[str, Any] | None
    wallets: list[WalletStatus]
    problems: list[str]
    open_challenges: list[str] = field(default_factory=list)  # ids open now, from the journal


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A journal opened read-only: safe beside the miner that owns it (WAL readers never block it)."""
    uri = f"file:{path.resolve()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as db:
        db.execute("PRAGMA query_only=1")
        yield db


def _public_wallets(directory: Path) -> tuple[list[tuple[str, str]], str | None]:
    """(address, kind) from wallets.json, written by the wallet store without any secret."""
    path = directory / META_FILE
    data = fsafe.read_small(path, MAX_SEEDS_BYTES)  # never blocks on a fifo planted under that name
    if data is None:
        return [], None
    try:
        doc = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        return [], f"{path}: unreadable ({exc})"
    entries = doc.get("wallets") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        return [], f"{path}: no 'wallets' list"
    found: list[tuple[str, str]] = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("address"), str):
            kind = entry.get("kind")
            found.append((entry["address"], kind if isinstance(kind, str) and kind else DEFAULT_KIND))
    return found, None


def _label_legacy(directory: Path, wallets: dict[str, WalletStatus]) -> None:
    """A legacy folder of the original program has no wallets.json: its journal's addresses are legacy."""
    from scavenger.wallet import kinds
    from scavenger.wallet.errors import StoreError

    try:
        legacy = kinds.classify(directory).kind == "legacy"
    except StoreError:
        return
    if legacy:
        for ws in wallets.values():
            if ws.kind == "unknown":
                ws.kind = "legacy"


def _journal_facts(path: Path, slot: int, wallets: dict[str, WalletStatus]) -> None:
    with read_only(path) as db:
        calendar = DayCalendar(json.loads(row[0]) for row in db.execute("SELECT body FROM challenges"))
        registered = {r[0] for r in db.execute("SELECT address FROM registrations")}
        for address in registered:
            # An address in the journal but not in wallets.json (moved or hand-edited folder) is still shown.
            wallets.setdefault(address, WalletStatus(slot, address, "unknown", True)).registered = True
        for address, status, count in db.execute(
            "SELECT address, status, COUNT(*) FROM solutions GROUP BY address, status"
        ):
            ws = wallets.setdefault(address, WalletStatus(slot, address, "unknown", address in registered))
            ws.found += count
            if status in ("accepted", "pending", "expired", "rejected"):
                setattr(ws, status, getattr(ws, status) + count)
        for address, challenge_id, body, received_at in db.execute(
            "SELECT address, challenge_id, body, received_at FROM receipts"
        ):
            ws = wallets.setdefault(address, WalletStatus(slot, address, "unknown", address in registered))
            receipt = json.loads(body) if body else None
            moment = parse_iso(receipt.get("timestamp", "")) if isinstance(receipt, dict) else None
            day = calendar.day_at(moment if moment is not None else float(received_at), challenge_id)
            if receipt is None:
                # "Solution already exists": accepted, but its receipt was lost with a timed-out reply.
                continue
            ws.receipts += 1
            if day is not None:
                ws.receipts_by_day[day] = ws.receipts_by_day.get(day, 0) + 1
        for address, destination, status in db.execute("SELECT address, destination, status FROM donations"):
            if address in wallets:
                wallets[address].donation = {"destination": destination, "status": status}


def read_slot(root: Path, number: int, local_locks: set[tuple[int, int, int]] | None) -> SlotStatus:
    import os

    problems: list[str] = []
    lock_path = slot_dir(root, number) / LOCK_NAME
    holder = _read_holder(lock_path)
    running: bool | None = None
    if local_locks is not None:
        try:
            st = lock_path.stat()
            running = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in local_locks
        except OSError:
            running = False
    public, problem = _public_wallets(wallets_dir(root, number))
    if problem:
        problems.append(problem)
    wallets = {a: WalletStatus(number, a, kind, False) for a, kind in public}
    journal = instance_dir(root, number) / JOURNAL_NAME
    open_ids: list[str] = []
    if journal.exists():
        try:
            _journal_facts(journal, number, wallets)
            with read_only(journal) as db:
                rows = db.execute("SELECT challenge_id FROM challenges WHERE deadline > ?", (time.time(),))
                open_ids = [str(row[0]) for row in rows]
        except (sqlite3.Error, ValueError) as exc:
            problems.append(f"{journal}: cannot read ({exc})")
    if not public and any(ws.kind == "unknown" for ws in wallets.values()):
        _label_legacy(wallets_dir(root, number), wallets)
    return SlotStatus(
        slot=number,
        instance=f"miner-{number}",
        path=slot_dir(root, number),
        running=running,
        holder=None
        if holder is None
        else {"host": holder.host, "pid": holder.pid, "since": holder.started_at},
        wallets=list(wallets.values()),
        problems=problems,
        open_challenges=open_ids,
    )


def read_slots(root: Path) -> list[SlotStatus]:
    local = _locally_locked_inodes()
    return [read_slot(root, n, local) for n in slot_numbers(root)]


# -- the JSON document ---------------------------------------------------------------------------------

_COUNT_FIELDS = ("found", "accepted", "pending", "expired", "rejected", "receipts")


def _wallet_doc(ws: WalletStatus, rates: list[int] | None) -> dict[str, Any]:
    est = estimate(ws.receipts_by_day, rates)
    server = None
    if ws.server is not None:
        server = {
            "crypto_receipts": ws.server["crypto_receipts"],
            "night_allocation_star": ws.server["night_allocation"],
            "night_allocation_night": night(ws.server["night_allocation"]),
            "fetched_at": ws.server["fetched_at"],
            "source": ws.server["source"],
        }
    return {
        "slot": ws.slot,
        "address": ws.address,
        "kind": ws.kind,
        "registered": ws.registered,
        "solutions": {k: getattr(ws, k) for k in ("found", "accepted", "pending", "expired", "rejected")},
        "receipts": ws.receipts,
        "receipts_by_day": {str(d): n for d, n in sorted(ws.receipts_by_day.items())},
        "estimated_star": est.star,
        "estimated_night": night(est.star),
        "receipts_unrated": est.unrated,
        "donation": ws.donation,
        "server": server,
    }


def _totals(wallets: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, Any] = {
        "wallets": len(wallets),
        "registered": sum(1 for w in wallets if w["registered"]),
    }
    for key in ("found", "accepted", "pending", "expired", "rejected"):
        totals[key] = sum(w["solutions"][key] for w in wallets)
    totals["receipts"] = sum(w["receipts"] for w in wallets)
    totals["receipts_unrated"] = sum(w["receipts_unrated"] for w in wallets)
    totals["estimated_star"] = sum(w["estimated_star"] for w in wallets)
    totals["estimated_night"] = night(totals["estimated_star"])
    served = [w["server"] for w in wallets if w["server"] is not None]
    totals["server_wallets"] = len(served)
    totals["server_crypto_receipts"] = sum(s["crypto_receipts"] for s in served)
    totals["server_night_allocation_star"] = sum(s["night_allocation_star"] for s in served)
    totals["server_night_allocation_night"] = night(totals["server_night_allocation_star"])
    return totals


def challenges_doc(root: Path, slots: list[SlotStatus]) -> dict[str, Any]:
    """Open challenges known to the fleet on this host: the shared book's, and any journal's (a challenge
    only in a journal was seen on the API before the book existed)."""
    sources = {e.challenge_id: e.source for e in ChallengeBook(root).open_entries()}
    for slot in slots:
        for challenge_id in slot.open_challenges:
            sources.setdefault(challenge_id, "api")
    by_source: dict[str, int] = {}
    for source in sources.values():
        by_source[source] = by_source.get(source, 0) + 1
    return {"open": len(sources), "by_source": dict(sorted(by_source.items()))}


def status_document(
    root: Path,
    slots: list[SlotStatus],
    *,
    api_url: str,
    offline: bool,
    rates: list[int] | None,
    rates_source: str | None,
    problems: list[str],
) -> dict[str, Any]:
    slot_docs = []
    every: list[dict[str, Any]] = []
    for slot in slots:
        wallets = [_wallet_doc(w, rates) for w in slot.wallets]
        every.extend(wallets)
        slot_docs.append(
            {
                "slot": slot.slot,
                "instance": slot.instance,
                "path": str(slot.path),
                "running": slot.running,
                "holder": slot.holder,
                "wallets": wallets,
                "totals": _totals(wallets),
                "problems": slot.problems,
            }
        )
    return {
        "format": STATUS_FORMAT,
        "generated_at": format_iso(),
        "config_dir": str(root),
        "api_url": api_url,
        "offline": offline,
        "star_per_night": 1_000_000,
        "receipt_day_rule": RECEIPT_DAY_RULE,
        "work_to_star_rate": {"star_per_receipt": rates, "source": rates_source},
        "slots": slot_docs,
        "challenges": challenges_doc(root, slots),
        "totals": _totals(every),
        "problems": [*problems, *(p for s in slots for p in s.problems)],
    }
