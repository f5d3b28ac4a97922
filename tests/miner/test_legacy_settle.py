"""`scavenger legacy settle` against the simulator: the API decides, or nothing is recorded."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from scavenger.miner.config import load_config
from scavenger.miner.donate_cli import run_donation_pass
from scavenger.miner.legacy import SettleError, settle
from scavenger.sim.testing import running_simulator
from scavenger.wallet import Wallet, bip39, kinds
from scavenger.wallet.legacy import LegacyWallet
from scavenger.wallet.store import wallets_dir
from timing import scaled

from .conftest import SIM_OPTIONS, query


def _register(url: str, wallet: Wallet | LegacyWallet) -> None:
    message = httpx.get(f"{url}/TandC", timeout=scaled(10)).json()["message"]
    path = f"register/{wallet.address}/{wallet.sign(message)}/{wallet.pubkey_hex}"
    reply = httpx.post(f"{url}/{path}", timeout=scaled(10))
    assert reply.status_code == 201, reply.text


@pytest.mark.timeout(scaled(60))
def test_settle_asks_the_api_and_records_only_a_clear_answer(tmp_path: Path) -> None:
    root = tmp_path / "config"
    words = {slot: bip39.generate() for slot in (1, 2, 3)}
    for slot, text in words.items():
        folder = wallets_dir(root, slot)
        folder.mkdir(parents=True)
        (folder / "seeds.txt").write_text(text)
        os.chmod(folder / "seeds.txt", 0o644)
    with running_simulator(tmp_path / "sim", challenge_period=60, **SIM_OPTIONS) as sim:
        config = load_config({}, root=str(root), base_url=sim.url)
        _register(sim.url, Wallet.from_mnemonic(words[1], "mainnet"))  # slot 1: a standard wallet's words
        _register(sim.url, LegacyWallet(words[2], "mainnet"))  # slot 2: the original program's
        assert "recorded 'standard'" in asyncio.run(settle(config, 1))
        assert "recorded 'legacy'" in asyncio.run(settle(config, 2))
        with pytest.raises(SettleError, match="neither the legacy") as info:
            asyncio.run(settle(config, 3))  # slot 3: unknown to the server: no guess
        assert words[3] not in str(info.value)
        assert kinds.classify(wallets_dir(root, 3)).kind == "ambiguous"
        assert "given with --kind" in asyncio.run(settle(config, 3, "legacy"))
        # `scavenger donate` includes the legacy wallets (registered first, donate_to signed with the legacy
        # key) and writes nothing into their folders.
        summary = asyncio.run(run_donation_pass(config))
        assert "slot 2 (legacy): 1 wallet(s), 1 assigned" in summary, summary
        assert "slot 3 (legacy): 1 wallet(s), 1 assigned" in summary, summary
        rows = dict(query(sim.state_path, "SELECT original, destination FROM donations"))
        listed = (root / "donate_list.txt").read_text().split()
        for slot in (2, 3):
            assert rows[LegacyWallet(words[slot], "mainnet").address] in listed
    assert [kinds.classify(wallets_dir(root, s)).kind for s in (1, 2, 3)] == ["standard", "legacy", "legacy"]
    assert sorted(os.listdir(wallets_dir(root, 2))) == ["seeds.txt"]  # the decision lives beside wallets/


def test_the_miner_skips_ambiguous_and_damaged_legacy_slots(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from scavenger.miner.runner import Miner
    from scavenger.miner.slots import claim_slot
    from scavenger.wallet import legacy

    root = tmp_path / "config"
    good = [bip39.generate(), bip39.generate()]
    layout = {
        1: ([bip39.generate()], None),  # ambiguous: seeds.txt only
        2: (good, good[:1]),  # damaged: keys.hex lost a line
        3: (good, good),  # a sound legacy slot
    }
    for slot, (seeds, keys) in layout.items():
        folder = wallets_dir(root, slot)
        folder.mkdir(parents=True)
        (folder / "seeds.txt").write_text("\n".join(seeds))
        if keys is not None:
            (folder / "keys.hex").write_text("\n".join(legacy.legacy_seed(w).hex() for w in keys))
    before = {s: sorted(os.listdir(wallets_dir(root, s))) for s in layout}
    miner = Miner(load_config({}, root=str(root)))
    with claim_slot(root, usable=miner._usable) as lease:
        assert lease.number == 3
    assert "slot 1 skipped" in caplog.text and "scavenger legacy settle" in caplog.text
    assert "slot 2 skipped" in caplog.text and "keys.hex has 1" in caplog.text
    assert {s: sorted(os.listdir(wallets_dir(root, s))) for s in layout} == before
