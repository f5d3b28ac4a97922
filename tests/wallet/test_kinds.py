"""Slot folder kinds (standard / legacy / ambiguous) and the original program's donation list, real files."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

import pytest

from scavenger.wallet import Wallet, bip39, donate_list, kinds, legacy
from scavenger.wallet.errors import AmbiguousWalletsError, StoreError
from scavenger.wallet.legacy import LegacyWallet
from scavenger.wallet.store import WalletStore, wallets_dir

from .helpers import assert_no_secret

AUTHOR = donate_list.ORIGINAL_AUTHOR_ADDRESS


def _write_original(path: Path, lines: list[str]) -> None:
    """As the original program writes: lines joined by "\\n", no final newline, default 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join(lines).encode())
    os.chmod(path, 0o644)


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_classify_each_kind_without_touching_anything(tmp_path: Path) -> None:
    folder = wallets_dir(tmp_path / "config", 2)
    assert kinds.classify(folder).kind == "empty"
    words = [bip39.generate(), bip39.generate()]
    _write_original(folder / "seeds.txt", words)
    assert kinds.classify(folder).kind == "ambiguous"
    _write_original(folder / "keys.hex", [legacy.legacy_seed(w).hex() for w in words])
    found = kinds.classify(folder)
    assert (found.kind, found.has_keys) == ("legacy", True)
    assert sorted(os.listdir(folder)) == ["keys.hex", "seeds.txt"]
    assert not (folder.parent / kinds.KIND_FILE).exists()

    ours = WalletStore(wallets_dir(tmp_path / "config", 3), "mainnet")
    ours.ensure(1)
    assert kinds.classify(ours.directory).kind == "standard"
    # A crash between seeds.txt and keys.hex leaves our lock file: still ours, not ambiguous.
    ours.keys_path.unlink()
    ours.meta_path.unlink()
    assert kinds.classify(ours.directory).kind == "standard"
    assert kinds.slot_of(folder) == (tmp_path / "config", 2)


def test_legacy_folder_is_loaded_read_only_and_the_mode_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = wallets_dir(tmp_path / "config", 1)
    words = [bip39.generate(), bip39.generate()]
    _write_original(folder / "seeds.txt", words)
    _write_original(folder / "keys.hex", [legacy.legacy_seed(w).hex() for w in words])
    before = _digests(folder)
    caplog.set_level(logging.WARNING)
    for _ in range(2):
        loaded = kinds.load_slot_wallets(folder, "mainnet", ensure=5)  # ensure does not apply to legacy
        assert loaded.kind == "legacy"
        assert [w.address for w in loaded.wallets] == [
            legacy.legacy_key(w, "mainnet").enterprise_address for w in words
        ]
    assert all(w.address.startswith("addr1v") and w.kind == "legacy" for w in loaded.wallets)
    assert _digests(folder) == before
    assert stat.S_IMODE((folder / "seeds.txt").stat().st_mode) == 0o644
    warnings = [r.getMessage() for r in caplog.records if "readable by other users" in r.getMessage()]
    assert len(warnings) == 2  # seeds.txt and keys.hex, once each
    for text in caplog.messages:
        assert_no_secret(text, words)


def test_recorded_kind_settles_an_ambiguous_folder(tmp_path: Path) -> None:
    folder = wallets_dir(tmp_path / "config", 4)
    words = [bip39.generate()]
    _write_original(folder / "seeds.txt", words)
    with pytest.raises(AmbiguousWalletsError, match="--slot 4"):
        kinds.load_slot_wallets(folder, "mainnet", ensure=2)
    kinds.record_kind(folder, "legacy", "test")
    loaded = kinds.load_slot_wallets(folder, "mainnet", ensure=2)
    assert loaded.kind == "legacy" and len(loaded.wallets) == 1
    assert sorted(os.listdir(folder)) == ["seeds.txt"]
    (folder.parent / kinds.KIND_FILE).write_text("maybe\n")
    with pytest.raises(StoreError, match="must be 'legacy' or 'standard'"):
        kinds.classify(folder)


def test_original_donation_list_destinations_are_legacy_wallets(tmp_path: Path) -> None:
    root = tmp_path / "config"
    words = [bip39.generate() for _ in range(3)]
    addresses = [LegacyWallet(w, "mainnet").address for w in words]
    _write_original(root / "donate_list.txt", [*addresses, AUTHOR])
    _write_original(root / "donate_list_seed.txt", words)
    before = (root / "donate_list.txt").read_bytes(), (root / "donate_list_seed.txt").read_bytes()
    loaded = donate_list.ensure(root, "mainnet")
    assert loaded.addresses == (*addresses, AUTHOR)
    assert [w.address for w in loaded.wallets] == addresses
    assert all(isinstance(w, LegacyWallet) for w in loaded.wallets)
    assert ((root / "donate_list.txt").read_bytes(), (root / "donate_list_seed.txt").read_bytes()) == before
    # Our own generated list keeps standard destinations.
    other = tmp_path / "ours"
    generated = donate_list.ensure(other, "mainnet")
    assert all(isinstance(w, Wallet) for w in generated.wallets)
