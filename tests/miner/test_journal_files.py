"""The journal never writes through a planted name and fails with one line naming the file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scavenger.fsafe import UnsafeFileError
from scavenger.miner.journal import Journal
from scavenger.wallet.store import WalletStore
from timing import scaled

SECRET = b"first secret words\nsecond secret words\n"


@pytest.mark.parametrize("name", ["journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm"])
@pytest.mark.parametrize("link", ["hard", "symlink"])
def test_links_at_the_journal_names_are_refused(tmp_path: Path, name: str, link: str) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_bytes(SECRET)
    planted = tmp_path / name
    os.link(seeds, planted) if link == "hard" else planted.symlink_to(seeds)
    with pytest.raises(UnsafeFileError, match=rf"refusing to write .*{name}: it (has 2 hard|is a symbolic)"):
        Journal(tmp_path / "journal.sqlite3")
    assert seeds.read_bytes() == SECRET


def test_dangling_symlink_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    (tmp_path / "journal.sqlite3").symlink_to(target)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        Journal(tmp_path / "journal.sqlite3")
    assert not target.exists()


def test_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(SECRET)
    with pytest.raises(UnsafeFileError, match=r"journal\.sqlite3: it is not an SQLite database"):
        Journal(path)
    assert path.read_bytes() == SECRET


def test_full_disk_at_creation_is_one_clear_line(tmp_path: Path) -> None:
    # RLIMIT_FSIZE=0 makes every write fail as on a full disk, without needing a tiny filesystem.
    script = textwrap.dedent(
        """
        import resource, signal, sys
        from pathlib import Path
        from scavenger.fsafe import UnsafeFileError
        from scavenger.miner.journal import Journal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        try:
            Journal(Path(sys.argv[1]))
        except UnsafeFileError as exc:
            print(exc)
            sys.exit(1)
        """
    )
    path = tmp_path / "journal.sqlite3"
    argv = [sys.executable, "-c", script, str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(60))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith(f"cannot use the journal {path}: ") and done.stdout.count("\n") == 1
    assert done.stderr == ""


def test_miner_stops_with_one_line_and_keeps_the_seeds(tmp_path: Path) -> None:
    root = tmp_path / "config"
    store = WalletStore(root / "1" / "miner-1" / "wallets", "mainnet")
    store.ensure(1)
    seeds = store.seeds_path.read_bytes()
    (root / "1" / "miner-1" / "journal.sqlite3").symlink_to(store.seeds_path)
    env = {
        **os.environ, "ROOT_CONF_PATH": str(root), "APP_BASE_URL": "http://127.0.0.1:9",
        "MAX_WALLETS_PER_INSTANCE": "1", "ENABLE_STATS_BACKEND": "false", "METRICS_PORT": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from scavenger.cli import main; main()", "mine", "--plain"],
        capture_output=True, text=True, env=env, timeout=scaled(60), stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "Error: refusing to write" in done.stderr
    assert "journal.sqlite3: it is a symbolic link" in done.stderr
    assert store.seeds_path.read_bytes() == seeds
