"""A SIGKILLed simulator restarted on the same state file loses nothing and serves the same schedule."""

from __future__ import annotations

from pathlib import Path

import httpx

from scavenger.sim import texts
from scavenger.sim.testing import find_nonce, running_simulator
from scavenger.wallet import Wallet

from .conftest import EASY, SMALL_PRE, SMALL_ROM


def test_sigkill_and_restart_keeps_everything(tmp_path: Path) -> None:
    miner, friend = Wallet.generate("mainnet"), Wallet.generate("mainnet")
    with running_simulator(
        tmp_path, challenge_period=60, difficulty=EASY, rom_size=SMALL_ROM, pre_size=SMALL_PRE
    ) as sim:
        url = sim.url
        registrations = {
            w.address: httpx.post(
                f"{url}/register/{w.address}/{w.sign(texts.TERMS_MESSAGE)}/{w.pubkey_hex}"
            ).json()
            for w in (miner, friend)
        }
        challenge = httpx.get(f"{url}/challenge").json()["challenge"]
        nonce = find_nonce(challenge, miner.address, rom_size=SMALL_ROM, pre_size=SMALL_PRE)
        assert (
            httpx.post(f"{url}/solution/{miner.address}/{challenge['challenge_id']}/{nonce}").status_code
            == 201
        )
        donation = miner.sign(texts.donation_message(friend.address))
        assert httpx.post(f"{url}/donate_to/{friend.address}/{miner.address}/{donation}").status_code == 201
        info = sim.info()

        sim.kill()
        assert sim.process is not None and sim.process.returncode == -9
        sim.start()
        assert sim.url == url  # same port, so clients keep working

        assert sim.info()["receipt_public_key"] == info["receipt_public_key"]
        assert sim.info()["start"] == info["start"]
        assert httpx.get(f"{url}/challenge").json()["challenge"] == challenge
        for w in (miner, friend):
            again = httpx.post(f"{url}/register/{w.address}/{w.sign(texts.TERMS_MESSAGE)}/{w.pubkey_hex}")
            assert again.json() == registrations[w.address]
        duplicate = httpx.post(f"{url}/solution/{miner.address}/{challenge['challenge_id']}/{nonce}")
        assert duplicate.json()["message"] == texts.SOLUTION_EXISTS
        conflict = httpx.post(f"{url}/donate_to/{friend.address}/{miner.address}/{donation}")
        assert conflict.status_code == 409
        stats = httpx.get(f"{url}/statistics/{miner.address}").json()
        assert stats["local"]["crypto_receipts"] == 1 and stats["global"]["wallets"] == 2

        # a graceful restart with different flags keeps the stored schedule
        sim.stop()
        sim.options["difficulty"] = "00000FFF"
        sim.options["start"] = "+1h"
        sim.start()
        assert httpx.get(f"{url}/challenge").json()["challenge"] == challenge
