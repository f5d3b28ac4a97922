"""Error classification against the API client's real error types, donation choice, live view rendering."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.console import Console

from scavenger.api import ScavengerClient
from scavenger.api.errors import error_from_reply
from scavenger.miner.apierrors import Outcome, backoff, classify
from scavenger.miner.donate import DonationList, Donor, choose_destination
from scavenger.miner.journal import Counts, Journal
from scavenger.miner.services import Registrar
from scavenger.miner.state import ChallengeState, CurrentWork, MinerState, WalletState
from scavenger.miner.view import render, status_line
from scavenger.sim.testing import running_simulator
from scavenger.wallet import Wallet
from scavenger.wallet.errors import StoreError
from timing import scaled

from .conftest import SIM_OPTIONS, query


@pytest.mark.parametrize(
    ("endpoint", "status", "message", "outcome"),
    [
        ("solution", 400, "Solution validation failed: Solution already exists", Outcome.ALREADY_EXISTS),
        ("solution", 400, "Solution validation failed: Address is not registered", Outcome.NOT_REGISTERED),
        ("solution", 400, "Solution validation failed: Solution does not meet difficulty",
         Outcome.BAD_SOLUTION),
        ("solution", 400, "Submission window closed", Outcome.WINDOW_CLOSED),
        ("solution", 429, "ThrottlerException: Too Many Requests", Outcome.RATE_LIMITED),
        ("solution", 503, "Service Unavailable", Outcome.TRANSIENT),
        ("register", 409, "Duplicate registration", Outcome.ALREADY_REGISTERED),
        ("donate_to", 409, "Original address addr1x already has an active donation assignment to addr1y",
         Outcome.CONFLICT),
    ],
)
def test_classify_real_client_errors(endpoint: str, status: int, message: str, outcome: Outcome) -> None:
    error = error_from_reply(endpoint, status, {"message": message, "statusCode": status})
    assert classify(error) is outcome


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n) for n in range(4)] == [5.0, 10.0, 20.0, 40.0]
    assert backoff(50) == 300.0


def test_destination_choice_is_deterministic_and_spread() -> None:
    destinations = ["addr1a", "addr1b", "addr1c"]
    wallets = [f"addr1wallet{i}" for i in range(300)]
    first = [choose_destination(w, destinations) for w in wallets]
    assert first == [choose_destination(w, list(destinations)) for w in wallets]
    counts = {d: first.count(d) for d in destinations}
    assert all(60 <= n <= 140 for n in counts.values()), counts
    with pytest.raises(ValueError, match="empty"):
        choose_destination("addr1x", [])


@pytest.mark.timeout(scaled(60))
def test_donation_conflict_is_reported_not_overwritten(tmp_path: Path) -> None:
    wallet = Wallet.generate("mainnet")
    other, listed = Wallet.generate("mainnet"), Wallet.generate("mainnet")
    journal = Journal(tmp_path / "journal.sqlite3")
    state = MinerState("miner-1", 1, 1, "")

    async def scenario(url: str) -> list[str]:
        async with ScavengerClient(url) as api:
            registrar = Registrar(api, journal, state, asyncio.Event(), lambda _a: None)
            for w in (wallet, other):
                await registrar.register(w)
            # Assigned elsewhere by hand before the miner's pass.
            await api.donate_to(other.address, wallet.address,
                                wallet.sign(f"Assign accumulated Scavenger rights to: {other.address}"))
            donor = Donor(api, journal, DonationList([listed.address], {listed.address: listed}, True),
                          registrar.register)
            first = await donor.run_pass([wallet])
            second = await donor.run_pass([wallet])
            return [*first.conflicts, *second.done, *second.conflicts]

    with running_simulator(tmp_path / "sim", challenge_period=60, **SIM_OPTIONS) as sim:
        result = asyncio.run(scenario(sim.url))
    assert result == [wallet.address]  # reported once, then left alone
    # The journal keeps where the rights are (named by the 409), for `scavenger legacy report`.
    assert journal.donations()[wallet.address] == (other.address, "conflict")


@pytest.mark.timeout(scaled(60))
def test_assignment_to_another_list_entry_counts_as_done_and_reassign_moves_the_rest(tmp_path: Path) -> None:
    kept, moved, first, second, outside = (Wallet.generate("mainnet") for _ in range(5))
    journal = Journal(tmp_path / "journal.sqlite3")
    state = MinerState("miner-1", 1, 1, "")

    async def scenario(url: str) -> dict[str, str]:
        async with ScavengerClient(url) as api:
            registrar = Registrar(api, journal, state, asyncio.Event(), lambda _a: None)
            for w in (kept, moved, first, second, outside):
                await registrar.register(w)
            for wallet, destination in ((kept, second), (moved, outside)):
                message = f"Assign accumulated Scavenger rights to: {destination.address}"
                await api.donate_to(destination.address, wallet.address, wallet.sign(message))
            listing = DonationList([first.address, second.address], {}, False)
            donor = Donor(api, journal, listing, registrar.register)
            result = await donor.run_pass([kept, moved])
            assert result.done == [kept.address] and result.conflicts == [moved.address]
            assert await donor.reassign(moved) == "done"
            return {w.address: journal.donations()[w.address][0] for w in (kept, moved)}

    with running_simulator(tmp_path / "sim", challenge_period=60, **SIM_OPTIONS) as sim:
        assigned = asyncio.run(scenario(sim.url))
        rows = dict(query(sim.state_path, "SELECT original, destination FROM donations"))
    assert assigned[kept.address] == second.address == rows[kept.address]  # in the list: left, done
    assert assigned[moved.address] in (first.address, second.address)
    assert rows[moved.address] == assigned[moved.address]


def test_original_author_address_is_left_out_unless_tip_address_names_it(tmp_path: Path) -> None:
    from scavenger.miner.donate import load_donation_list
    from scavenger.wallet.donate_list import ORIGINAL_AUTHOR_ADDRESS as author

    mine = Wallet.generate("mainnet").address
    (tmp_path / "donate_list.txt").write_text(f"{mine}\n{author}")
    listing = load_donation_list(tmp_path, "mainnet", None)
    assert listing.addresses == [mine] and listing.left_out == [author]
    assert "NOT used" in (listing.notice() or "") and "TIP_ADDRESS" in (listing.notice() or "")
    kept = load_donation_list(tmp_path, "mainnet", author)
    assert kept.addresses == [mine, author] and kept.left_out == []
    (tmp_path / "donate_list.txt").write_text(author)
    with pytest.raises(StoreError, match="only the original author"):
        load_donation_list(tmp_path, "mainnet", None)


def test_render_shows_rates_progress_and_wallets() -> None:
    state = MinerState("miner-3", 3, 2, "http://127.0.0.1:1")
    state.meter.add(5000, elapsed=2.0)
    state.wallets["addr1qexamplewalletaddress0000000000000000001"] = WalletState(
        "addr1qexamplewalletaddress0000000000000000001", registration="registered", found=2, accepted=1
    )
    state.challenges = [ChallengeState("**D01C05", "0000FFFF", 4102444800.0, 1, 70000)]
    state.current = CurrentWork("addr1qexamplewalletaddress0000000000000000001", "**D01C05", "0000FFFF",
                                32768, 65536.0, 4102444800.0)
    state.phase = "mining"
    state.counts = Counts(found=2, accepted=1, pending=1, expired=0, rejected=0)
    console = Console(record=True, width=160)
    console.print(render(state, 160, 40))
    text = console.export_text()
    assert "miner-3" in text and "**D01C05" in text and "50% of expected" in text
    assert "registered" in text and "kH/s" in text
    assert "32,768/65,536 (50%)" in text  # per-wallet progress against the expected hashes
    line = status_line(state)
    assert "found 2 accepted 1 pending 1" in line
    assert "**D01C05" in line and "32768/65536 expected" in line


def test_donation_list_generated_once_and_tip_only_when_set(tmp_path: Path) -> None:
    from scavenger.miner.donate import load_donation_list

    first = load_donation_list(tmp_path, "mainnet", None)
    assert first.generated and len(first.addresses) == 3
    assert set(first.owned) == set(first.addresses)
    seeds = (tmp_path / "donate_list_seed.txt").read_bytes()
    tip = Wallet.generate("mainnet").address
    again = load_donation_list(tmp_path, "mainnet", tip)
    assert again.addresses == [*first.addresses, tip]
    assert tip not in again.owned
    assert (tmp_path / "donate_list_seed.txt").read_bytes() == seeds  # never rewritten
    assert (tmp_path / "donate_list.txt").read_text().split() == first.addresses  # the tip is not written


def test_render_survives_a_malformed_difficulty() -> None:
    # The engine skips such a challenge; the view must not crash on it (a crashed view stops the miner).
    state = MinerState("miner-1", 1, 1, "")
    state.challenges = [ChallengeState("**D01C06", "not-hex", 4102444800.0, 0, 0)]
    console = Console(record=True, width=160)
    console.print(render(state))
    assert "not-hex" in console.export_text()


@pytest.mark.timeout(scaled(60))
def test_reassign_whose_new_donation_fails_leaves_the_wallet_to_the_next_pass(tmp_path: Path) -> None:
    wallet, outside, unregistered = (Wallet.generate("mainnet") for _ in range(3))
    journal = Journal(tmp_path / "journal.sqlite3")
    state = MinerState("miner-1", 1, 1, "")

    async def scenario(url: str) -> str:
        async with ScavengerClient(url) as api:
            registrar = Registrar(api, journal, state, asyncio.Event(), lambda _a: None)
            for w in (wallet, outside):
                await registrar.register(w)
            message = f"Assign accumulated Scavenger rights to: {outside.address}"
            await api.donate_to(outside.address, wallet.address, wallet.sign(message))
            # The list's only entry is not registered (and not ours to register): the new donation fails.
            donor = Donor(api, journal, DonationList([unregistered.address], {}, False), registrar.register)
            journal.record_donation(wallet.address, outside.address, "conflict", "as a 409 left it")
            return await donor.reassign(wallet)

    with running_simulator(tmp_path / "sim", challenge_period=60, **SIM_OPTIONS) as sim:
        assert asyncio.run(scenario(sim.url)) == "retry"
        assert query(sim.state_path, "SELECT destination FROM donations") == []  # undone on the server
    assert wallet.address not in journal.donations()  # so the next pass assigns it to the list
