"""donate_list: creation, user lists, validation, never overwriting or regenerating seeds."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from scavenger.wallet import Wallet, donate_list
from scavenger.wallet.errors import StoreError

from .helpers import assert_no_secret

WORDS = "test walk nut penalty hip pave soap entry language right filter choice"
MAINNET = Wallet.from_mnemonic(WORDS, "mainnet")


def test_created_once_with_seeds_first(tmp_path: Path) -> None:
    result = donate_list.ensure(tmp_path, "mainnet")
    assert len(result.addresses) == 3 and len(result.wallets) == 3
    assert list(result.addresses) == [w.address for w in result.wallets]
    seeds = tmp_path / donate_list.SEED_FILE
    listing = tmp_path / donate_list.LIST_FILE
    assert stat.S_IMODE(seeds.stat().st_mode) == 0o600
    assert [Wallet.from_mnemonic(line, "mainnet").address for line in seeds.read_text().splitlines()] == list(
        result.addresses
    )
    assert listing.read_text().splitlines() == list(result.addresses)
    seeds_bytes, list_bytes = seeds.read_bytes(), listing.read_bytes()
    again = donate_list.ensure(tmp_path, "mainnet")
    assert again.addresses == result.addresses
    assert seeds.read_bytes() == seeds_bytes and listing.read_bytes() == list_bytes
    assert_no_secret(repr(again), [w.mnemonic for w in again.wallets])


def test_user_list_is_respected(tmp_path: Path) -> None:
    text = f"# my destinations\n\n{MAINNET.address}\n{MAINNET.address}\n"
    (tmp_path / donate_list.LIST_FILE).write_text(text)
    result = donate_list.ensure(tmp_path, "mainnet")
    assert result.addresses == (MAINNET.address,)
    assert result.wallets == ()
    assert not (tmp_path / donate_list.SEED_FILE).exists()


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("", "contains no address"),
        ("# only a comment\n", "contains no address"),
        (f"{MAINNET.address}\naddr1qxbroken\n", r"donate_list\.txt, line 2: invalid address"),
        (f"{MAINNET.enterprise_address}\n{Wallet.from_mnemonic(WORDS, 'testnet').address}\n",
         r"line 2: .*testnet address, expected mainnet"),
    ],
)
def test_bad_user_lists_are_errors_not_regenerated(tmp_path: Path, content: str, pattern: str) -> None:
    (tmp_path / donate_list.LIST_FILE).write_text(content)
    seeds = tmp_path / donate_list.SEED_FILE
    seeds.write_text("old seeds that must survive\n")
    with pytest.raises(StoreError, match=pattern):
        donate_list.ensure(tmp_path, "mainnet")
    assert seeds.read_text() == "old seeds that must survive\n"
    assert (tmp_path / donate_list.LIST_FILE).read_text() == content


def test_mnemonic_pasted_into_the_address_list_is_not_echoed(tmp_path: Path) -> None:
    # donate_list.txt sits next to donate_list_seed.txt: words written into the wrong file must not be
    # copied into the error message (and from there into logs).
    (tmp_path / donate_list.LIST_FILE).write_text(WORDS + "\n")
    with pytest.raises(StoreError, match=r"donate_list\.txt, line 1: invalid address") as info:
        donate_list.ensure(tmp_path, "mainnet")
    assert_no_secret(str(info.value), [WORDS])


def test_existing_seed_file_is_reused_not_overwritten(tmp_path: Path) -> None:
    seeds = tmp_path / donate_list.SEED_FILE
    seeds.write_text(WORDS + "\n")
    seeds.chmod(0o600)
    result = donate_list.ensure(tmp_path, "mainnet")
    assert result.addresses == (MAINNET.address,)
    assert seeds.read_text() == WORDS + "\n"


def test_corrupt_seed_file_is_an_error(tmp_path: Path) -> None:
    seeds = tmp_path / donate_list.SEED_FILE
    seeds.write_text(WORDS.replace("choice", "walk") + "\n")
    with pytest.raises(StoreError, match=r"donate_list_seed\.txt, line 1: .*checksum") as info:
        donate_list.ensure(tmp_path, "mainnet")
    assert "penalty hip" not in str(info.value)
    assert not (tmp_path / donate_list.LIST_FILE).exists()
    with pytest.raises(StoreError, match="does not exist"):
        donate_list.load(tmp_path, "mainnet")


def test_new_config_folder_is_made_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A config folder created here must have its own entry fsynced in its parent, or a power cut could
    # lose the folder together with the seed file fsynced inside it.
    synced: list[Path] = []
    real_fsync_dir = donate_list.fsutil.fsync_dir

    def recording_fsync_dir(path: Path) -> None:
        synced.append(path)
        real_fsync_dir(path)

    monkeypatch.setattr(donate_list.fsutil, "fsync_dir", recording_fsync_dir)
    config = tmp_path / "new" / "config"
    donate_list.ensure(config, "mainnet", count=1)
    assert synced[:2] == [tmp_path, tmp_path / "new"]
    assert config in synced
