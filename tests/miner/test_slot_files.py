"""Hostile entries under config/: a planted lock never costs a seed, a stray entry never blocks a start."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scavenger.miner.slots import Holder, SlotError, claim_slot, list_slots
from timing import scaled

MNEMONICS = b"first secret words\nsecond secret words\n"
ME = Holder("host", 1, "t")


def _seeds(root: Path, number: int = 1) -> Path:
    wallets = root / str(number) / f"miner-{number}" / "wallets"
    wallets.mkdir(parents=True)
    seeds = wallets / "seeds.txt"
    seeds.write_bytes(MNEMONICS)
    return seeds


def _mine(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # COLUMNS: a wide table, so no cell text is wrapped across lines.
    env = {**os.environ, "ROOT_CONF_PATH": str(root), "APP_BASE_URL": "http://127.0.0.1:9", "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-c", "from scavenger.cli import main; main()", *args],
        capture_output=True, text=True, env=env, timeout=scaled(60), stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("link", ["hard", "symlink"])
def test_lock_linked_to_the_seeds_is_refused_and_the_seeds_survive(tmp_path: Path, link: str) -> None:
    root = tmp_path / "config"
    seeds = _seeds(root)
    lock = root / "1" / "in_use.lock"
    os.link(seeds, lock) if link == "hard" else lock.symlink_to(seeds)
    with pytest.raises(SlotError, match=r"refusing to write .*in_use\.lock: it (has 2 hard|is a symbolic)"):
        claim_slot(root, forced=1)
    with pytest.raises(SlotError, match=r"in_use\.lock"):
        claim_slot(root)  # the automatic choice stops too: a planted lock is never silently skipped
    assert seeds.read_bytes() == MNEMONICS


def test_dangling_lock_symlink_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "1").mkdir(parents=True)
    target = tmp_path / "elsewhere" / "victim"
    target.parent.mkdir()
    (root / "1" / "in_use.lock").symlink_to(target)
    with pytest.raises(SlotError, match="symbolic link"):
        claim_slot(root, forced=1)
    assert not target.exists()


@pytest.mark.timeout(scaled(20))
def test_fifo_lock_is_refused_without_hanging(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "1").mkdir(parents=True)
    os.mkfifo(root / "1" / "in_use.lock")
    with pytest.raises(SlotError, match="is a fifo"):
        claim_slot(root, forced=1)
    (info,) = list_slots(root)  # listing reads the lock's text: must not block on the fifo either
    assert info.holder is None and not info.alive


def test_foreign_content_in_the_lock_is_never_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "1").mkdir(parents=True)
    lock = root / "1" / "in_use.lock"
    lock.write_bytes(MNEMONICS)  # e.g. `mv seeds.txt in_use.lock`
    with pytest.raises(SlotError, match=r"holds 39 bytes that are not a slot lock"):
        claim_slot(root, forced=1)
    assert lock.read_bytes() == MNEMONICS


def test_seed_programs_empty_lock_and_our_own_lock_are_reused(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "1").mkdir(parents=True)
    (root / "1" / "in_use.lock").write_bytes(b"")  # what the seed program leaves
    with claim_slot(root, holder=ME) as lease:
        assert lease.number == 1
    with claim_slot(root, holder=Holder("other", 2, "u")) as lease:  # our previous holder line
        assert lease.number == 1
        assert json.loads((root / "1" / "in_use.lock").read_text())["host"] == "other"


@pytest.mark.parametrize("kind", ["file", "symlink", "fifo"])
def test_non_folder_entries_are_skipped(tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "config"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    entry = root / "1"
    if kind == "file":
        entry.write_text("not a folder\n")
    elif kind == "symlink":
        entry.symlink_to(elsewhere)
    else:
        os.mkfifo(entry)
    with caplog.at_level(logging.WARNING), claim_slot(root, holder=ME) as lease:
        assert lease.number == 2
    assert f"skipping {entry}" in caplog.text
    assert list(elsewhere.iterdir()) == []  # nothing was written where the symlink points
    infos = list_slots(root)
    assert [(i.number, i.skipped is not None) for i in infos] == [(1, True), (2, False)]
    assert infos[0].skipped is not None and "not a folder" in infos[0].skipped
    with pytest.raises(SlotError, match=r"config/1 is .*not a folder; INSTANCE_SLOT=1 cannot be used"):
        claim_slot(root, forced=1)


def test_cli_says_one_line_and_fails_on_a_planted_lock(tmp_path: Path) -> None:
    root = tmp_path / "config"
    seeds = _seeds(root)
    os.link(seeds, root / "1" / "in_use.lock")
    done = _mine(root, "mine", "--plain")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "in_use.lock" in done.stderr and "hard links" in done.stderr
    assert seeds.read_bytes() == MNEMONICS


def test_slots_command_lists_a_skipped_entry(tmp_path: Path) -> None:
    root = tmp_path / "config"
    root.mkdir()
    (root / "1").write_text("x")
    claim_slot(root, forced=2, holder=ME).release()
    done = _mine(root, "slots")
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stdout and "regular file" in done.stdout


def test_a_planted_instance_folder_link_stops_the_claim(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "1").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "1" / "miner-1").symlink_to(elsewhere)
    with pytest.raises(SlotError, match=r"refusing to use .*miner-1: it is a symbolic link, not a folder"):
        claim_slot(root, forced=1)
    assert list(elsewhere.iterdir()) == []
