"""WalletStore on real files: layout, permissions, read-back, corrupt files, legacy folders, secrets."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from scavenger.wallet import Wallet, bip39, decode_address, kinds, legacy
from scavenger.wallet.errors import AmbiguousWalletsError, LegacyWalletError, MnemonicError, StoreError
from scavenger.wallet.store import WalletStore, wallets_dir

from .helpers import assert_no_secret

VECTOR_WORDS = "test walk nut penalty hip pave soap entry language right filter choice"


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if not p.name.startswith(".")}


@pytest.fixture
def store(tmp_path: Path) -> WalletStore:
    return WalletStore(wallets_dir(tmp_path / "config", 3), "mainnet")


def test_layout_permissions_and_round_trip(store: WalletStore, tmp_path: Path) -> None:
    assert store.directory == tmp_path / "config" / "3" / "miner-3" / "wallets"
    assert store.load() == []
    created = store.ensure(3)
    assert len({w.address for w in created}) == 3
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    for name in ("seeds.txt", "keys.hex", "wallets.json", ".wallets.lock"):
        assert stat.S_IMODE((store.directory / name).stat().st_mode) == 0o600, name
    seeds = store.seeds_path.read_text().splitlines()
    assert [len(line.split()) for line in seeds] == [24, 24, 24]
    assert store.seeds_path.read_bytes().endswith(b"\n")
    assert store.keys_path.read_text().split() == [w.payment_xpub_hex for w in created]
    meta = json.loads(store.meta_path.read_text())
    assert [e["address"] for e in meta["wallets"]] == [w.address for w in created]
    assert all(w.address.startswith("addr1q") for w in created)
    # Reload in a fresh object: same wallets re-derived, and they sign.
    again = WalletStore(store.directory, "mainnet").load()
    assert [w.address for w in again] == [w.address for w in created]
    assert [w.mnemonic for w in again] == seeds
    assert store.ensure(2) == created[:2]
    assert len(store.load()) == 3
    more = store.create(2)
    assert len(store.load()) == 5 and store.load()[3:] == more
    assert store.seeds_path.read_text().splitlines()[:3] == seeds


def test_testnet_store_and_network_mismatch(tmp_path: Path) -> None:
    test_store = WalletStore(tmp_path / "w", "testnet")
    (wallet,) = test_store.ensure(1)
    assert wallet.address.startswith("addr_test1q")
    before = _snapshot(tmp_path / "w")
    with pytest.raises(StoreError, match=r"wallets\.json, line 1: wallet is for testnet"):
        WalletStore(tmp_path / "w", "mainnet").load()
    assert _snapshot(tmp_path / "w") == before


def test_import_existing_mnemonic(store: WalletStore) -> None:
    store.ensure(1)
    imported = store.add(VECTOR_WORDS)
    assert imported.address == Wallet.from_mnemonic(VECTOR_WORDS, "mainnet").address
    with pytest.raises(StoreError, match="already stored at line 2"):
        store.add(VECTOR_WORDS.upper())
    second_account = store.add(VECTOR_WORDS, account=1)
    loaded = store.load()
    assert [(w.account, w.index) for w in loaded] == [(0, 0), (0, 0), (1, 0)]
    assert loaded[2].address == second_account.address
    assert loaded[1].mnemonic == VECTOR_WORDS


def test_foreign_seeds_without_keys_are_ambiguous_until_settled(store: WalletStore) -> None:
    """A seeds.txt this program did not write, without keys.hex, is never derived silently (legacy or
    standard?); once recorded as standard it is adopted and kept byte for byte (no final newline)."""
    store.directory.mkdir(parents=True)
    words = [bip39.generate(), bip39.generate()]
    original = "\n".join(words).encode()
    fd = os.open(store.seeds_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, original)
    os.close(fd)
    for action in (store.load, lambda: store.ensure(3), lambda: store.create(1)):
        with pytest.raises(AmbiguousWalletsError, match="scavenger legacy settle") as info:
            action()
        assert_no_secret(str(info.value), words)
    assert sorted(p.name for p in store.directory.iterdir()) == ["seeds.txt"]  # no lock file, no keys.hex
    assert stat.S_IMODE(store.seeds_path.stat().st_mode) == 0o644  # not even chmod-ed
    kinds.record_kind(store.directory, "standard", "test")
    assert (store.directory.parent / "wallet_kind.txt").exists()
    loaded = store.load()
    assert [w.mnemonic for w in loaded] == words
    assert stat.S_IMODE(store.seeds_path.stat().st_mode) == 0o600  # tightened
    assert store.keys_path.exists() and store.meta_path.exists()  # public records completed
    store.create(1)
    data = store.seeds_path.read_bytes()
    assert data.startswith(original + b"\n") and data.count(b"\n") == 3


def test_legacy_whosbax_folder_is_refused_untouched(store: WalletStore) -> None:
    store.directory.mkdir(parents=True, mode=0o700)
    words = [bip39.generate(), bip39.generate()]
    store.seeds_path.write_text("\n".join(words))
    store.keys_path.write_text("\n".join(legacy.legacy_seed(w).hex() for w in words))
    os.chmod(store.seeds_path, 0o600)
    os.chmod(store.keys_path, 0o600)
    before = _snapshot(store.directory)
    for action in (store.load, lambda: store.ensure(3), lambda: store.create(1)):
        with pytest.raises(LegacyWalletError, match="legacy folder of the original") as info:
            action()
    assert "never adds a wallet" in str(info.value)
    assert_no_secret(str(info.value), words)
    assert legacy.legacy_seed(words[0]).hex() not in str(info.value)
    assert _snapshot(store.directory) == before
    assert sorted(os.listdir(store.directory)) == ["keys.hex", "seeds.txt"]  # not even a lock file


def _bad_checksum(words: list[str]) -> str:
    """Replace word 6 by the first word that breaks the checksum (a same-checksum word exists 1/256)."""
    for candidate in ("zoo", "zone", "abandon", "ability"):
        text = " ".join([*words[:5], candidate, *words[6:]])
        if candidate != words[5]:
            try:
                bip39.to_entropy(text)
            except MnemonicError:
                return text
    raise AssertionError("no checksum-breaking candidate")


def _corrupt_cases(seeds: list[str]) -> list[tuple[str, bytes, str]]:
    words = seeds[1].split()
    first = seeds[0].encode()

    def two(second: str) -> bytes:
        return first + b"\n" + second.encode()

    return [
        ("truncated line", two(" ".join(words[:13])), r"seeds\.txt, line 2: mnemonic has 13 words"),
        ("bad checksum word", two(_bad_checksum(words)), r"seeds\.txt, line 2: .*checksum"),
        ("unknown word", two(" ".join([*words[:3], "qq", *words[4:]])), r"seeds\.txt, line 2: word 4 of"),
        ("blank line", two("\n" + seeds[1]), r"seeds\.txt, line 2: empty line"),
        ("lost line", first, r"keys\.hex lists 2 wallets but .*seeds\.txt holds only 1"),
        ("swapped lines", seeds[1].encode() + b"\n" + first, r"line 1: recorded address"),
        ("not utf-8", first + b"\n\xff", r"seeds\.txt: not UTF-8"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_corrupt_seeds_give_clear_errors(store: WalletStore, case: int) -> None:
    created = store.ensure(2)
    seeds = [w.mnemonic for w in created]
    name, data, pattern = _corrupt_cases(seeds)[case]
    store.seeds_path.write_bytes(data)
    before = _snapshot(store.directory)
    for action in (store.load, lambda: store.ensure(3), lambda: store.create(1)):
        with pytest.raises(StoreError, match=pattern) as info:
            action()
        assert_no_secret(str(info.value), seeds)
        assert _snapshot(store.directory) == before, f"{name}: files changed after an error"


def test_address_mismatch_in_public_files(store: WalletStore) -> None:
    created = store.ensure(2)
    meta = json.loads(store.meta_path.read_text())
    meta["wallets"][1]["address"] = created[0].address
    store.meta_path.write_text(json.dumps(meta))
    with pytest.raises(StoreError, match=r"wallets\.json, line 2: recorded address"):
        store.load()
    store.meta_path.unlink()
    lines = store.keys_path.read_text().splitlines()
    store.keys_path.write_text("\n".join([lines[1], lines[1]]) + "\n")
    with pytest.raises(StoreError, match=r"keys\.hex, line 1: payment key does not match .* line 1"):
        store.load()
    store.meta_path.write_text("{not json")
    with pytest.raises(StoreError, match=r"wallets\.json: corrupt metadata"):
        store.load()


def test_symlinked_seed_file_is_refused(store: WalletStore, tmp_path: Path) -> None:
    store.directory.mkdir(parents=True, mode=0o700)
    target = tmp_path / "elsewhere.txt"
    target.write_text(bip39.generate() + "\n")
    store.seeds_path.symlink_to(target)
    with pytest.raises(StoreError, match="symlink"):
        store.load()


def test_secrets_absent_from_logs_and_reprs(store: WalletStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    created = store.ensure(2)
    store.load()
    store.create(1)
    mnemonics = [w.mnemonic for w in store.load()]
    assert caplog.records, "the store should log what it does (public data only)"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert created[0].address in text
    assert_no_secret(text, mnemonics)
    assert_no_secret(repr(store) + repr(created), mnemonics)


def test_legacy_folder_can_still_sign(tmp_path: Path) -> None:
    """The legacy keys can be recomputed read-only, e.g. to donate their rights to a standard wallet."""
    from scavenger.wallet import cip8

    folder = tmp_path / "1" / "miner-1" / "wallets"
    folder.mkdir(parents=True)
    words = [VECTOR_WORDS, bip39.generate()]
    (folder / "seeds.txt").write_text("\n".join(words))
    (folder / "keys.hex").write_text("\n".join(legacy.legacy_seed(w).hex() for w in words))
    before = _snapshot(folder)
    wallets = legacy.load_legacy_folder(folder, "mainnet")
    assert wallets[0].address == "addr1v8qce4r4ccedzpkmlcxr5las2a3mcamwh35wje02m7jyxpcd082nc"
    message = f"Assign accumulated Scavenger rights to: {Wallet.from_mnemonic(words[1], 'mainnet').address}"
    for wallet in wallets:
        signed = cip8.verify(wallet.sign(message), wallet.pubkey_hex)
        assert signed.message == message
        assert signed.address == decode_address(wallet.address).raw
        assert legacy.legacy_seed(words[1]).hex() not in repr(wallet)
        assert_no_secret(repr(wallet), words)
    assert _snapshot(folder) == before
    (folder / "keys.hex").write_text("\n".join(legacy.legacy_seed(w).hex() for w in reversed(words)))
    with pytest.raises(StoreError, match=r"keys\.hex, line 1: not the legacy key"):
        legacy.load_legacy_folder(folder, "mainnet")


def test_unusable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "wallets"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="is not a directory"):
        WalletStore(blocker, "mainnet").ensure(1)
    with pytest.raises(StoreError, match="cannot access"):
        WalletStore(blocker / "sub", "mainnet").ensure(1)
    assert blocker.read_text() == "not a folder"


def test_short_writes_are_continued_not_skipped(store: WalletStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # os.write may take fewer bytes than offered (e.g. a nearly full disk); the rest must still be written
    # from where it stopped, or seeds.txt would be published with a hole in a mnemonic.
    real_write = os.write

    def short_write(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data)[:7])

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", short_write)
        created = store.create(1)  # a new seeds.txt (published with link)
        created += store.create(2)  # then a longer version of it (published with rename)
    assert store.load() == created
    assert [w.mnemonic for w in store.load()] == store.seeds_path.read_text().splitlines()
