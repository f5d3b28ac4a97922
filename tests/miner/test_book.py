"""The challenge book: verbatim, crash-safe, concurrent, and closed to forged or foreign files."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scavenger.miner.book import BOOK_NAME, BookError, ChallengeBook, check_challenge, parse_entries
from timing import scaled

NOW = time.time()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def challenge(n: int, *, closes_in: float = 3600.0, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "challenge_id": f"**D01C{n:02d}",
        "day": 1,
        "challenge_number": n,
        "issued_at": _iso(NOW - 60),
        "latest_submission": _iso(NOW + closes_in),
        "difficulty": "000FFFFF",
        "no_pre_mine": "fd651ac2725e3b9d804cc8b161c0709af14d6264f93e8d4afef0fd1142a3f011",
        "no_pre_mine_hour": "509681483",
    }
    body.update(extra)
    return body


def test_entries_are_kept_verbatim_and_the_first_sighting_wins(tmp_path: Path) -> None:
    book = ChallengeBook(tmp_path)
    first = challenge(1, extra_field="kept", day=1)
    assert book.add([(first, "api")]) == 1
    forged = challenge(1, difficulty="FFFFFFFF")
    assert book.add([(forged, "backend")]) == 0
    [entry] = book.open_entries()
    assert entry.challenge == first and list(entry.challenge) == list(first)
    assert entry.source == "api"
    stored = json.loads((tmp_path / BOOK_NAME).read_text())
    assert stored["challenges"][0]["challenge"] == first


def test_closed_entries_are_not_offered_and_are_pruned_on_write(tmp_path: Path) -> None:
    book = ChallengeBook(tmp_path)
    book.add([(challenge(1, closes_in=2.0), "api"), (challenge(2), "api")])
    assert [e.challenge_id for e in book.open_entries(now=NOW + 10)] == ["**D01C02"]
    book.add([(challenge(3), "api")], now=NOW + 10)
    stored = json.loads((tmp_path / BOOK_NAME).read_text())["challenges"]
    ids = [c["challenge"]["challenge_id"] for c in stored]
    assert ids == ["**D01C02", "**D01C03"]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("not an object", "JSON object"),
        ({k: v for k, v in challenge(1).items() if k != "no_pre_mine"}, "no_pre_mine missing"),
        (challenge(1, difficulty="0x0FFFFF"), "difficulty is malformed"),
        (challenge(1, difficulty=0xFFFFF), "difficulty missing or not a string"),
        (challenge(1, no_pre_mine_hour="12 34"), "no_pre_mine_hour is malformed"),
        (challenge(1, challenge_id="**D01\u202eC01"), "challenge_id is malformed"),
        (challenge(1, latest_submission="tomorrow"), "latest_submission is malformed"),
        (challenge(1, latest_submission="2025-13-45T99:00:00Z"), "not an ISO-8601 time"),
        (challenge(1, closes_in=-5), "closed at"),
        (challenge(1, closes_in=30 * 86400), "more than 48 h"),
        (challenge(1, extra={"nested": 1}), "not a short scalar"),
        (challenge(1, note="x" * 1000), "not a short scalar"),
    ],
)
def test_forged_or_malformed_entries_are_refused_with_a_reason(item: Any, reason: str) -> None:
    entries, rejected = parse_entries([item], NOW, "import")
    assert entries == []
    assert len(rejected) == 1 and reason in rejected[0]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=6),
        max_leaves=30,
    )
)
def test_any_json_document_parses_without_raising(document: Any) -> None:
    entries, _rejected = parse_entries(document, NOW, "import")
    for entry in entries:
        check_challenge(entry.challenge)


def test_a_symlinked_book_is_never_followed_or_replaced(tmp_path: Path) -> None:
    secret = tmp_path / "seeds.txt"
    secret.write_text("abandon " * 23 + "art\n")
    (tmp_path / BOOK_NAME).symlink_to(secret)
    book = ChallengeBook(tmp_path)
    assert book.open_entries() == []
    with pytest.raises(BookError, match="symlink"):
        book.add([(challenge(1), "api")])
    assert book.try_add([(challenge(1), "api")]) == 0
    assert secret.read_text() == "abandon " * 23 + "art\n"
    assert (tmp_path / BOOK_NAME).is_symlink()


def test_a_garbage_book_reads_as_empty_and_is_not_overwritten(tmp_path: Path, caplog: Any) -> None:
    (tmp_path / BOOK_NAME).write_bytes(b"\x00garbage{")
    book = ChallengeBook(tmp_path)
    assert book.open_entries() == []
    assert "not valid JSON" in caplog.text
    with pytest.raises(BookError, match="not valid JSON"):
        book.add([(challenge(1), "api")])
    assert (tmp_path / BOOK_NAME).read_bytes() == b"\x00garbage{"


def _add_many(root: str, start: int) -> None:
    book = ChallengeBook(Path(root))
    for n in range(start, start + 10):
        book.add([(challenge(n), "api")])


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_add_many, args=(str(tmp_path), 1 + 10 * i)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    ids = {e.challenge_id for e in ChallengeBook(tmp_path).open_entries()}
    assert ids == {f"**D01C{n:02d}" for n in range(1, 41)}
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def _cli(root: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("scavenger")), "challenges", *args, "--config-dir", str(root)],
        input=stdin, capture_output=True, timeout=scaled(60), check=False,
    )


def test_cli_export_import_list_round_trip(tmp_path: Path) -> None:
    source, target = tmp_path / "a", tmp_path / "b"
    source.mkdir()
    target.mkdir()
    ChallengeBook(source).add([(challenge(1), "api"), (challenge(2), "api")])
    exported = _cli(source, "export")
    assert exported.returncode == 0, exported.stderr
    # An exported list plus a raw /challenge reply and a forged entry, as a user might paste them.
    document = json.loads(exported.stdout)
    document["challenges"].append({"code": "active", "challenge": challenge(3)})
    document["challenges"].append(challenge(4, difficulty="nothex!!"))
    imported = _cli(target, "import", "-", stdin=json.dumps(document).encode())
    assert imported.returncode == 0, imported.stderr
    assert b"3 new open challenge(s) added, 0 already known, 1 skipped" in imported.stdout
    assert b"difficulty is malformed" in imported.stderr
    listed = _cli(target, "list", "--json")
    ids = [c["challenge"]["challenge_id"] for c in json.loads(listed.stdout)["challenges"]]
    assert ids == ["**D01C01", "**D01C02", "**D01C03"]
    assert {c["source"] for c in json.loads(listed.stdout)["challenges"]} == {"import"}
    text = _cli(target, "list")
    assert text.returncode == 0 and b"**D01C03" in text.stdout and b"import" in text.stdout


def test_cli_import_of_a_bad_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    result = _cli(tmp_path, "import", str(bad))
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"Error: {bad}: not valid JSON"
    assert not (tmp_path / BOOK_NAME).exists()
