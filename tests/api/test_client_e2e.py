"""The client against the real simulator: the whole life of a wallet, with a real Wallet and real mining."""

from __future__ import annotations

import nacl.signing
import pytest

from scavenger.api import ApiEvent, ScavengerClient, errors
from scavenger.api.models import ChallengeActive
from scavenger.sim.testing import SimulatorHandle, find_nonce
from scavenger.wallet import Wallet

from .conftest import FAST, SMALL_PRE, SMALL_ROM, Canned, ScriptedServer


def donation_message(destination: str) -> str:
    return f"Assign accumulated Scavenger rights to: {destination}"


async def test_register_mine_submit_donate_undo_statistics(
    sim: SimulatorHandle, wallet: Wallet, other_wallet: Wallet
) -> None:
    events: list[ApiEvent] = []
    receipt_key = nacl.signing.VerifyKey(bytes.fromhex(sim.info()["receipt_public_key"]))
    async with ScavengerClient(sim.url, retry=FAST, on_response=events.append, timeout=10) as api:
        terms = await api.get_terms()
        assert terms.version == "1-0" and terms.message.endswith(
            "281ba5f69f4b943e3fb8a20390878a232787a04e4be22177f2472b63df01c200"
        )
        registration = await api.register(wallet.address, wallet.sign(terms.message), wallet.pubkey_hex)
        assert (
            registration.receipt.preimage == wallet.address + wallet.sign(terms.message) + wallet.pubkey_hex
        )
        receipt_key.verify(
            (registration.receipt.preimage + registration.receipt.timestamp).encode(),
            bytes.fromhex(registration.receipt.signature),
        )
        again = await api.register(wallet.address, wallet.sign(terms.message), wallet.pubkey_hex)
        assert again == registration
        await api.register(other_wallet.address, other_wallet.sign(terms.message), other_wallet.pubkey_hex)

        state = await api.get_challenge()
        assert isinstance(state, ChallengeActive)
        challenge = state.challenge
        assert challenge.deadline > challenge.issued
        nonce = find_nonce(challenge.model_dump(), wallet.address, rom_size=SMALL_ROM, pre_size=SMALL_PRE)
        accepted = await api.submit_solution(wallet.address, challenge.challenge_id, nonce)
        assert accepted.receipt is not None and not accepted.already_existed
        assert accepted.receipt.preimage.startswith(nonce + wallet.address + challenge.challenge_id)
        receipt_key.verify(
            (accepted.receipt.preimage + accepted.receipt.timestamp).encode(),
            bytes.fromhex(accepted.receipt.signature),
        )

        # our own nonce again: recognised as already accepted; another nonce: a real conflict
        repeat = await api.submit_solution(wallet.address, challenge.challenge_id, nonce)
        assert repeat.receipt is None and repeat.already_existed
        other_nonce = "ffffffffffffffff" if nonce != "ffffffffffffffff" else "0000000000000000"
        with pytest.raises(errors.SolutionAlreadyExists) as refused:
            await api.submit_solution(wallet.address, challenge.challenge_id, other_nonce)
        assert refused.value.status == 400
        assert refused.value.message == "Solution validation failed: Solution already exists"

        donation = await api.donate_to(
            other_wallet.address, wallet.address, wallet.sign(donation_message(other_wallet.address))
        )
        assert donation.donation_id is not None and donation.solutions_consolidated == 1
        assert not donation.is_undo and not donation.already_done
        undo = await api.donate_to(
            wallet.address, wallet.address, wallet.sign(donation_message(wallet.address))
        )
        assert undo.is_undo and undo.donation_id is None

        stats = await api.statistics(wallet.address)
        assert stats.local.crypto_receipts == 1
        assert stats.global_.wallets >= 2 and stats.global_.total_challenges == 504
        assert await api.work_to_star_rate() == []

    assert [e.endpoint for e in events[:3]] == ["terms", "register", "register"]
    solution_events = [e for e in events if e.endpoint == "solution"]
    assert [e.status for e in solution_events] == [201, 400, 400]
    assert solution_events[0].address == wallet.address
    assert solution_events[0].body["crypto_receipt"]["signature"] == accepted.receipt.signature
    assert all(e.attempt == 1 and e.elapsed >= 0 for e in events)


async def test_raw_challenge_id_user_agent_and_empty_json_body(scripted: ScriptedServer) -> None:
    scripted.reply(Canned(201, b'{"crypto_receipt":{"preimage":"p","timestamp":"t","signature":"s"}}'))
    async with ScavengerClient(scripted.url + "/api/", retry=FAST) as api:
        result = await api.submit_solution("addr1abc", "**D07C10", "0019c96b6a30ee38")
    seen = scripted.seen[0]
    assert seen.method == "POST" and seen.raw_path == "/api/solution/addr1abc/**D07C10/0019c96b6a30ee38"
    assert seen.headers["User-Agent"].startswith("midnight-scavenger/")
    assert seen.body == b"{}" and seen.headers["Content-Type"] == "application/json"
    assert result.receipt is not None and result.receipt.signature == "s"


async def test_async_hook_is_awaited_and_a_failing_hook_never_breaks_calls(sim: SimulatorHandle) -> None:
    seen: list[str] = []

    async def hook(event: ApiEvent) -> None:
        seen.append(event.endpoint)
        raise RuntimeError("stats backend down")

    async with ScavengerClient(sim.url, retry=FAST, on_response=hook) as api:
        assert (await api.get_terms()).version == "1-0"
    assert seen == ["terms"]
