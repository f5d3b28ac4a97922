"""The fleet's challenge book: every challenge any instance saw, shared so that none is missed.

The API only shows the current challenge, yet each stays open for 24 hours. An instance that was down
while a challenge was current can still mine it if another instance recorded it. On one host the book is
``<ROOT_CONF_PATH>/challenge_book.json`` beside ``donate_list.txt``; across hosts the stats backend serves
the challenges its miners reported (``GET /api/challenges/open``); by hand, ``scavenger challenges``.

Challenges are keyed by ``challenge_id`` and kept verbatim (every field is hashed as received). Anything
read from the book, the backend or a file is untrusted: an entry is used only if it is well-formed and its
deadline is in the future (and not absurdly far). A forged entry can waste hashes, never crash the miner.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scavenger.miner.earnings import format_iso
from scavenger.miner.scheduler import parse_time
from scavenger.wallet.errors import StoreError
from scavenger.wallet.fsutil import locked, read_file, write_public_file

log = logging.getLogger(__name__)

BOOK_NAME = "challenge_book.json"
LOCK_NAME = ".challenge_book.lock"
BOOK_VERSION = 1
# 21 days x 24 challenges is ~500; a book larger than this was not written by us.
MAX_ENTRIES = 2000
MAX_BOOK_BYTES = 4 << 20
# A real challenge closes 24 h after it is issued; a deadline further out than this is forged or broken.
MAX_OPEN_AHEAD = 48 * 3600.0

SOURCES = ("api", "book", "backend", "import")
FIELDS = ("challenge_id", "difficulty", "no_pre_mine", "latest_submission", "no_pre_mine_hour")
_PATTERNS = {
    "challenge_id": re.compile(r"[!-~]{1,64}"),
    "difficulty": re.compile(r"[0-9A-Fa-f]{8}"),
    "no_pre_mine": re.compile(r"[0-9A-Fa-f]{2,256}"),
    "latest_submission": re.compile(r"[0-9T:.+\-Zz]{10,40}"),
    "no_pre_mine_hour": re.compile(r"[0-9]{1,20}"),
}


class BookError(Exception):
    """A challenge list that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class BookEntry:
    challenge: dict[str, Any]  # the challenge object exactly as the server sent it
    deadline: float  # latest_submission as Unix time
    source: str  # api | backend | import (where this book first heard of it)
    first_seen: str  # ISO 8601 UTC

    @property
    def challenge_id(self) -> str:
        return str(self.challenge["challenge_id"])

    def to_json(self) -> dict[str, Any]:
        return {"challenge": self.challenge, "source": self.source, "first_seen": self.first_seen}


def check_challenge(obj: Any) -> tuple[dict[str, Any], float]:
    """The challenge object and its deadline, or ValueError saying what is malformed."""
    if not isinstance(obj, dict):
        raise ValueError(f"a challenge must be a JSON object, not {type(obj).__name__}")
    for field in FIELDS:
        value = obj.get(field)
        if not isinstance(value, str):
            raise ValueError(f"field {field} missing or not a string")
        if not _PATTERNS[field].fullmatch(value):
            raise ValueError(f"field {field} is malformed: {value[:80]!r}")
    for name, value in obj.items():
        # Every field goes into the preimage or the journal: only JSON scalars of sane size.
        if not isinstance(name, str) or len(name) > 64:
            raise ValueError("field names must be short strings")
        if isinstance(value, dict | list) or (isinstance(value, str) and len(value) > 512):
            raise ValueError(f"field {name} is not a short scalar")
    deadline = parse_time(obj["latest_submission"])
    return obj, deadline


def usable(obj: Any, now: float) -> tuple[dict[str, Any], float]:
    """Like `check_challenge`, and open now but not implausibly far in the future."""
    challenge, deadline = check_challenge(obj)
    if deadline <= now:
        raise ValueError(f"challenge {challenge['challenge_id']} closed at {challenge['latest_submission']}")
    if deadline > now + MAX_OPEN_AHEAD:
        raise ValueError(
            f"challenge {challenge['challenge_id']} claims to stay open until "
            f"{challenge['latest_submission']}, more than 48 h from now"
        )
    return challenge, deadline


def unwrap(document: Any) -> Iterator[tuple[Any, str | None, str | None]]:
    """(challenge, source, first_seen) from any of the shapes people have: our book or export
    (``{"challenges": [{"challenge": …, "source": …}]}``), a ``/challenge`` reply or a list of them, a bare
    challenge object or a list of them."""
    if isinstance(document, dict) and isinstance(document.get("challenges"), list):
        items: list[Any] = document["challenges"]
    elif isinstance(document, list):
        items = document
    else:
        items = [document]
    for item in items[:MAX_ENTRIES]:
        if isinstance(item, dict) and isinstance(item.get("challenge"), dict):
            source = item.get("source") if isinstance(item.get("source"), str) else None
            seen = item.get("first_seen") if isinstance(item.get("first_seen"), str) else None
            yield item["challenge"], source, seen
        else:
            yield item, None, None


def parse_entries(document: Any, now: float, default_source: str) -> tuple[list[BookEntry], list[str]]:
    """Usable entries of ``document`` and one reason per rejected item."""
    entries: dict[str, BookEntry] = {}
    rejected: list[str] = []
    for obj, source, seen in unwrap(document):
        try:
            challenge, deadline = usable(obj, now)
        except ValueError as exc:
            rejected.append(str(exc))
            continue
        if source not in SOURCES:
            source = default_source
        if seen is None or len(seen) > 40:
            seen = format_iso(now)
        entries.setdefault(challenge["challenge_id"], BookEntry(challenge, deadline, source, seen))
    return list(entries.values()), rejected


class ChallengeBook:
    """``challenge_book.json`` under the config root: read without locking (it is replaced atomically),
    written under an exclusive flock by temp file + fsync + rename, so concurrent writers never lose each
    other's entries and a crash leaves the old or the new book, whole."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / BOOK_NAME
        self._warned: str | None = None

    def _warn_once(self, message: str) -> None:
        if message != self._warned:
            self._warned = message
            log.warning("%s", message)

    def _read(self, now: float) -> list[BookEntry]:
        try:
            data = read_file(self.path)
        except StoreError as exc:
            raise BookError(f"challenge book: {exc}") from None
        if data is None:
            return []
        if len(data) > MAX_BOOK_BYTES:
            raise BookError(f"challenge book {self.path} is larger than {MAX_BOOK_BYTES} bytes; not used")
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            raise BookError(f"challenge book {self.path} is not valid JSON; not used") from None
        entries, _rejected = parse_entries(document, now, "book")
        return entries

    def open_entries(self, now: float | None = None) -> list[BookEntry]:
        """The usable open challenges in the book; a broken or foreign book reads as empty (warned once)."""
        try:
            entries = self._read(time.time() if now is None else now)
        except BookError as exc:
            self._warn_once(str(exc))
            return []
        return sorted(entries, key=lambda e: (e.deadline, e.challenge_id))

    def add(self, challenges: Iterable[tuple[dict[str, Any], str]], now: float | None = None) -> int:
        """Merge (challenge, source) pairs in; returns how many were new. Closed entries are dropped.

        An unusable book file (a symlink, garbage) is never overwritten: BookError says why.
        """
        moment = time.time() if now is None else now
        fresh: list[tuple[dict[str, Any], float, str]] = []
        for obj, source in challenges:
            try:
                challenge, deadline = usable(obj, moment)
            except ValueError:
                continue
            fresh.append((challenge, deadline, source))
        if not fresh:
            return 0
        try:
            with locked(self.root / LOCK_NAME, timeout=10.0):
                current = {e.challenge_id: e for e in self._read(moment)}
                added = 0
                for challenge, deadline, source in fresh:
                    if challenge["challenge_id"] not in current:
                        current[challenge["challenge_id"]] = BookEntry(
                            challenge, deadline, source, format_iso(moment)
                        )
                        added += 1
                if added:
                    kept = sorted(current.values(), key=lambda e: (e.deadline, e.challenge_id))[-MAX_ENTRIES:]
                    body = {"version": BOOK_VERSION, "challenges": [e.to_json() for e in kept]}
                    write_public_file(self.path, (json.dumps(body, indent=1) + "\n").encode(), "book")
                return added
        except StoreError as exc:
            raise BookError(f"challenge book: {exc}") from None
        except OSError as exc:
            raise BookError(f"challenge book {self.path}: {exc.strerror or exc}") from None

    def try_add(self, challenges: Iterable[tuple[dict[str, Any], str]]) -> int:
        """`add` for the miner: a book that cannot be written is warned about once, never fatal."""
        try:
            return self.add(challenges)
        except BookError as exc:
            self._warn_once(f"{exc}; challenges are not shared through it")
            return 0


def export_document(entries: Iterable[BookEntry]) -> dict[str, Any]:
    return {"version": BOOK_VERSION, "challenges": [e.to_json() for e in entries]}
