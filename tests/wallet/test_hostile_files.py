"""Planted files in a wallet folder never cost a seed or hang; reading a backup works on read-only media."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scavenger.wallet import donate_list
from scavenger.wallet.errors import StoreError
from scavenger.wallet.store import KEYS_FILE, LOCK_FILE, WalletStore, wallets_dir
from timing import scaled


@pytest.fixture
def store(tmp_path: Path) -> WalletStore:
    return WalletStore(wallets_dir(tmp_path / "config", 1), "mainnet")


@pytest.mark.parametrize("link", ["hard", "symlink"])
def test_lock_file_linked_to_the_seeds_is_refused(store: WalletStore, link: str) -> None:
    store.ensure(2)
    before = store.seeds_path.read_bytes()
    lock = store.directory / LOCK_FILE
    lock.unlink()
    os.link(store.seeds_path, lock) if link == "hard" else lock.symlink_to(store.seeds_path)
    with pytest.raises(StoreError, match=r"refusing to write .*\.wallets\.lock: it (has 2|is a symbolic)"):
        store.ensure(3)
    assert store.seeds_path.read_bytes() == before


@pytest.mark.timeout(scaled(20))
def test_fifo_seed_file_is_refused_without_hanging(store: WalletStore) -> None:
    store.directory.mkdir(parents=True, mode=0o700)
    os.mkfifo(store.seeds_path)
    with pytest.raises(StoreError, match=r"seeds\.txt is a fifo, not a regular file"):
        store.load()
    with pytest.raises(StoreError, match="is a fifo"):
        store.load(read_only=True)


def test_planted_donate_list_lock_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    victim = tmp_path / "victim"
    (config / donate_list.LOCK_FILE).symlink_to(victim)
    with pytest.raises(StoreError, match="symbolic link"):
        donate_list.ensure(config, "mainnet")
    assert not victim.exists()


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def test_read_only_load_opens_nothing_for_writing(
    store: WalletStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = store.ensure(2)
    # Everything a writable load would repair: loose permissions, a killed writer's temp, missing records.
    os.chmod(store.seeds_path, 0o644)
    (store.directory / f".{KEYS_FILE}.1.ab.tmp").write_text("partial")
    store.meta_path.unlink()
    writes: list[str] = []
    real_open = os.open

    def spy_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & _WRITE_FLAGS:
            writes.append(f"open {path}")
        return real_open(path, flags, *args, **kwargs)

    def refuse(name: str) -> Callable[..., None]:
        def call(*args: Any, **_kwargs: Any) -> None:
            writes.append(f"{name} {args[0]}")
            raise OSError(30, "Read-only file system")

        return call

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", spy_open)
        for name in ("chmod", "unlink", "rename", "replace", "link", "mkdir"):
            patch.setattr(os, name, refuse(name))
        loaded = store.load(read_only=True)
    assert writes == []
    assert [w.address for w in loaded] == [w.address for w in created]


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=scaled(30))
    return probe.returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs user+mount namespaces (unshare -rm)")
def test_list_and_export_work_on_a_read_only_mount(tmp_path: Path) -> None:
    config = tmp_path / "config"
    WalletStore(wallets_dir(config, 1), "mainnet").ensure(2)
    mount = tmp_path / "backup"
    mount.mkdir()
    scavenger = f"{sys.executable} -c 'from scavenger.cli import main; main()'"
    script = (
        f"set -e; mount --bind {config} {mount}; mount -o remount,bind,ro {mount}; "
        f"if touch {mount}/probe 2>/dev/null; then echo NOT-READ-ONLY; exit 3; fi; "
        f"{scavenger} wallet list --config-dir {mount} --json; "
        f"{scavenger} wallet export --config-dir {mount} --show-mnemonic"
    )
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                          timeout=scaled(120))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    listed, _, exported = done.stdout.partition("]\n")
    assert len(json.loads(listed + "]")) == 2
    assert all("mnemonic" in row for row in json.loads(exported))
