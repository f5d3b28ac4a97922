"""Every error type of the client, each triggered for real by the simulator (or, for replies the simulator
never gives, by a scripted HTTP server on 127.0.0.1)."""

from __future__ import annotations

import pickle
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from scavenger.api import NO_RETRY, ScavengerClient, errors
from scavenger.sim.testing import SimulatorHandle, running_simulator
from scavenger.wallet import Wallet

from .conftest import SMALL_PRE, SMALL_ROM, Canned, ScriptedServer, json_reply

TERMS = (
    "I agree to abide by the terms and conditions as described in version 1-0 of the Midnight scavenger "
    "mining process: 281ba5f69f4b943e3fb8a20390878a232787a04e4be22177f2472b63df01c200"
)


def donation_message(destination: str) -> str:
    return f"Assign accumulated Scavenger rights to: {destination}"


async def registered(api: ScavengerClient, *wallets: Wallet) -> None:
    for w in wallets:
        await api.register(w.address, w.sign(TERMS), w.pubkey_hex)


async def test_registration_errors(sim: SimulatorHandle, wallet: Wallet, other_wallet: Wallet) -> None:
    async with ScavengerClient(sim.url, retry=NO_RETRY) as api:
        with pytest.raises(errors.InvalidPubkey) as bad_key:
            await api.register(wallet.address, wallet.sign(TERMS), "ab" * 16)
        assert bad_key.value.status == 400 and "64-character" in bad_key.value.message
        with pytest.raises(errors.InvalidSignature) as bad_sig:
            await api.register(wallet.address, other_wallet.sign(TERMS), wallet.pubkey_hex)
        assert bad_sig.value.endpoint == "register"
        with pytest.raises(errors.InvalidSignature, match="does not match provided message"):
            await api.register(wallet.address, wallet.sign("other"), wallet.pubkey_hex)
        testnet = Wallet.from_mnemonic(wallet.mnemonic, "testnet")
        with pytest.raises(errors.WrongNetwork, match="expected mainnet, got preprod"):
            await api.register(testnet.address, testnet.sign(TERMS), testnet.pubkey_hex)
        with pytest.raises(errors.TermsNotFound) as terms:
            await api.get_terms("2-0")
        assert (
            terms.value.status == 404 and terms.value.message == "Terms and Conditions version 2-0 not found"
        )


async def test_solution_errors(sim: SimulatorHandle, wallet: Wallet) -> None:
    async with ScavengerClient(sim.url, retry=NO_RETRY) as api:
        with pytest.raises(errors.NotRegistered) as not_registered:
            await api.submit_solution(wallet.address, "**D01C01", "0000000000000000")
        assert not_registered.value.address == wallet.address
        with pytest.raises(errors.NotRegistered):
            await api.statistics(wallet.address)
        await registered(api, wallet)
        with pytest.raises(errors.ChallengeNotFound, match=r"Challenge not found: \*\*D21C24"):
            await api.submit_solution(wallet.address, "**D21C24", "0000000000000000")
        with pytest.raises(ValueError, match="16 lower-case hex"):
            await api.submit_solution(wallet.address, "**D01C01", "ABCDEF0123456789")
        with pytest.raises(ValueError, match="challenge_id 'a/b'"):
            await api.submit_solution(wallet.address, "a/b", "0000000000000000")


async def test_below_difficulty_and_window_closed(tmp_path: Path, wallet: Wallet) -> None:
    # challenge 0 was issued 40 s ago with a 1 s period: its 24 s window is over, the newest one is open
    with running_simulator(
        tmp_path,
        challenge_period=1,
        days=2,
        start="-40s",
        difficulty="00000000",
        rom_size=SMALL_ROM,
        pre_size=SMALL_PRE,
    ) as sim:
        async with ScavengerClient(sim.url, retry=NO_RETRY) as api:
            await registered(api, wallet)
            with pytest.raises(errors.SubmissionWindowClosed) as closed:
                await api.submit_solution(wallet.address, "**D01C01", "0000000000000000")
            assert closed.value.status == 400
            state = await api.get_challenge()
            challenge_id = state.challenge.challenge_id  # type: ignore[union-attr]
            with pytest.raises(errors.BelowDifficulty):
                await api.submit_solution(wallet.address, challenge_id, "0000000000000000")


async def test_donation_errors(sim: SimulatorHandle, wallet: Wallet, other_wallet: Wallet) -> None:
    third = Wallet.generate("mainnet")
    async with ScavengerClient(sim.url, retry=NO_RETRY) as api:
        sig = wallet.sign(donation_message(other_wallet.address))
        with pytest.raises(errors.DestinationNotRegistered) as dest:
            await api.donate_to(other_wallet.address, wallet.address, sig)
        assert dest.value.address == other_wallet.address and dest.value.status == 404
        await registered(api, other_wallet, third)
        with pytest.raises(errors.OriginalNotRegistered) as orig:
            await api.donate_to(other_wallet.address, wallet.address, sig)
        assert orig.value.address == wallet.address
        await registered(api, wallet)
        with pytest.raises(errors.InvalidSignature, match="Expected signature over message"):
            await api.donate_to(
                other_wallet.address,
                wallet.address,
                wallet.sign(f'"{donation_message(other_wallet.address)}"'),
            )
        with pytest.raises(errors.NoActiveDonation):
            await api.donate_to(wallet.address, wallet.address, wallet.sign(donation_message(wallet.address)))
        await api.donate_to(other_wallet.address, wallet.address, sig)
        with pytest.raises(errors.DonationConflict) as conflict:
            await api.donate_to(third.address, wallet.address, wallet.sign(donation_message(third.address)))
        assert conflict.value.status == 409 and conflict.value.current_destination == other_wallet.address
        with pytest.raises(errors.ChainedDonation):
            await api.donate_to(
                third.address, other_wallet.address, other_wallet.sign(donation_message(third.address))
            )


async def test_infrastructure_errors_from_the_simulator(sim: SimulatorHandle) -> None:
    async with ScavengerClient(sim.url, retry=NO_RETRY, timeout=3.0) as api:
        sim.add_fault("429", retry_after=7)
        with pytest.raises(errors.RateLimited) as limited:
            await api.get_challenge()
        assert limited.value.status == 429 and limited.value.retry_after == 7.0
        for kind, status in (("500", 500), ("503", 503), ("502", 502)):
            sim.add_fault(kind)
            with pytest.raises(errors.ServerError) as server:
                await api.work_to_star_rate()
            assert server.value.status == status
        sim.add_fault("403")
        with pytest.raises(errors.Forbidden):
            await api.get_terms()
        sim.add_fault("html", status=429)
        with pytest.raises(errors.BotPage, match="Vercel Security Checkpoint") as page:
            await api.get_challenge()
        assert page.value.status == 429
        sim.add_fault("slow", delay=5.0, endpoints=["challenge"])
        with pytest.raises(errors.ApiTimeout) as timeout:
            await api.get_challenge()
        assert timeout.value.status is None


async def test_connection_refused_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with ScavengerClient(f"http://127.0.0.1:{port}", retry=NO_RETRY) as api:
        with pytest.raises(errors.TransportError) as refused:
            await api.get_challenge()
    assert refused.value.status is None and refused.value.endpoint == "challenge"


async def test_html_200_wrong_shapes_and_http_date_retry_after(scripted: ScriptedServer) -> None:
    async with ScavengerClient(scripted.url, retry=NO_RETRY) as api:
        scripted.reply(
            Canned(200, b"<html><title>Just a moment...</title></html>", {"Content-Type": "text/html"})
        )
        with pytest.raises(errors.BotPage, match="Just a moment"):
            await api.get_challenge()
        scripted.reply(json_reply(200, {"code": "active", "challenge": {"challenge_id": 5}}))
        with pytest.raises(errors.UnexpectedResponse, match="challenge"):
            await api.get_challenge()
        scripted.reply(json_reply(200, {"code": "sideways"}))
        with pytest.raises(errors.UnexpectedResponse):
            await api.get_challenge()
        scripted.reply(json_reply(200, ["1", 2]))
        with pytest.raises(errors.UnexpectedResponse):
            await api.work_to_star_rate()
        scripted.reply(Canned(204, b"", {}))
        with pytest.raises(errors.BotPage, match="empty non-JSON reply"):
            await api.statistics("addr1abc")
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
        scripted.reply(
            json_reply(429, {"statusCode": 429, "message": "Too Many Requests"}, **{"Retry-After": when})
        )
        with pytest.raises(errors.RateLimited) as limited:
            await api.get_terms()
        assert limited.value.retry_after is not None and 25 <= limited.value.retry_after <= 30
        scripted.reply(json_reply(418, {"message": ["a", "b"], "statusCode": 418}))
        with pytest.raises(errors.ClientError, match="a; b") as teapot:
            await api.get_terms()
        assert type(teapot.value) is errors.ClientError


def test_errors_never_show_more_than_status_endpoint_and_server_text() -> None:
    error = errors.SolutionAlreadyExists(
        "Solution validation failed: Solution already exists", status=400, endpoint="solution"
    )
    assert str(error) == "solution: HTTP 400: Solution validation failed: Solution already exists"
    assert isinstance(error, errors.ClientError) and isinstance(error, errors.ApiError)
    assert not errors.is_retryable(error)
    conflict = errors.DonationConflict(
        "taken", status=409, endpoint="donate_to", current_destination="addr1x"
    )
    copy = pickle.loads(pickle.dumps(conflict))
    assert type(copy) is errors.DonationConflict and str(copy) == str(conflict)
    assert (copy.current_destination, copy.status, copy.message) == ("addr1x", 409, "taken")
    assert errors.is_retryable(errors.ApiTimeout("timed out", endpoint="solution"))


async def test_unknown_route_is_not_found_and_the_servers_nonce_text_maps_to_invalid_nonce(
    sim: SimulatorHandle, wallet: Wallet
) -> None:
    async with ScavengerClient(sim.url + "/v2", retry=NO_RETRY) as api:
        with pytest.raises(errors.NotFound) as missing:
            await api.get_challenge()
    assert type(missing.value) is errors.NotFound and missing.value.message == "Cannot GET /v2/challenge"
    # the client never sends a malformed nonce, so take the server's own reply to one
    async with ScavengerClient(sim.url, retry=NO_RETRY) as api:
        await registered(api, wallet)
    reply = httpx.post(f"{sim.url}/solution/{wallet.address}/**D01C01/zzzzzzzzzzzzzzzz")
    error = errors.error_from_reply("solution", reply.status_code, reply.json())
    assert isinstance(error, errors.InvalidNonce) and error.status == 400


async def test_a_trailing_newline_is_refused_before_anything_is_sent() -> None:
    # regression: "$" let "value\n" through, and httpx then raised InvalidURL instead of the documented
    # ValueError; nothing listens on this port, so getting a ValueError shows no request was tried
    async with ScavengerClient("http://127.0.0.1:9", retry=NO_RETRY) as api:
        with pytest.raises(ValueError, match="address 'addr1abc\\\\n' cannot be sent"):
            await api.submit_solution("addr1abc\n", "**D01C01", "0000000000000000")
        with pytest.raises(ValueError, match="challenge_id"):
            await api.submit_solution("addr1abc", "**D01C01\n", "0000000000000000")


async def test_an_undecodable_body_is_a_transport_error(scripted: ScriptedServer) -> None:
    # regression: httpx.DecodingError is no httpx.TransportError, so it escaped as a raw httpx exception
    scripted.reply(Canned(200, b"not gzip", {"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    async with ScavengerClient(scripted.url, retry=NO_RETRY) as api:
        with pytest.raises(errors.TransportError, match="DecodingError") as broken:
            await api.get_challenge()
    assert broken.value.status is None and errors.is_retryable(broken.value)
