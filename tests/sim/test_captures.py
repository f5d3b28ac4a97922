"""Simulator replies compared field by field with real captured payloads (scavenger_captures.json, a copy
of /work/shared/vectors): key sets, JSON types, string formats, and exact texts where they are known."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scavenger.sim import texts
from scavenger.sim.testing import SimulatorHandle, find_nonce, running_simulator
from scavenger.wallet import Wallet
from vector_files import load_vector_file

from .conftest import EASY, SMALL_PRE, SMALL_ROM

CAPTURES: list[dict[str, Any]] = load_vector_file("scavenger_captures.json")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
HEX128 = re.compile(r"^[0-9a-f]{128}$")


def capture(kind: str) -> dict[str, Any]:
    return next(c for c in CAPTURES if c["kind"] == kind)


DOCS = capture("documented_examples")
CHALLENGES = capture("challenge_responses_documented")
CAP = capture("register_request_and_response")
CIP8 = capture("cip8_registration_signature_vector")


def same_shape(ours: Any, real: Any, where: str = "$") -> None:
    """Same JSON types recursively and, for objects, the same key sets."""
    assert type(ours) is type(real), f"{where}: {type(ours).__name__} != {type(real).__name__}"
    if isinstance(real, dict):
        assert set(ours) == set(real), f"{where}: keys {sorted(ours)} != {sorted(real)}"
        for key in real:
            same_shape(ours[key], real[key], f"{where}.{key}")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    with running_simulator(
        tmp_path_factory.mktemp("sim"),
        challenge_period=30,
        difficulty=EASY,
        rom_size=SMALL_ROM,
        pre_size=SMALL_PRE,
    ) as handle:
        yield handle


def test_challenge_active_matches_documented_reply(sim: SimulatorHandle) -> None:
    ours = httpx.get(f"{sim.url}/challenge").json()
    same_shape(ours, CHALLENGES["active"])
    challenge = ours["challenge"]
    assert re.fullmatch(r"\*\*D\d\dC\d\d", challenge["challenge_id"])
    assert ISO_MS.match(challenge["issued_at"]) and ISO_MS.match(challenge["latest_submission"])
    assert re.fullmatch(r"[0-9A-F]{8}", challenge["difficulty"])
    assert re.fullmatch(r"[0-9a-f]{64}", challenge["no_pre_mine"])
    assert re.fullmatch(r"\d{9,10}", challenge["no_pre_mine_hour"])
    assert ISO_S.match(ours["mining_period_ends"]) and ISO_S.match(ours["next_challenge_starts_at"])
    assert (ours["max_day"], ours["total_challenges"]) == (21, 504)
    assert httpx.get(f"{sim.url}/api/challenge").json()["challenge"] == challenge


def test_terms_match_documented_reply(sim: SimulatorHandle) -> None:
    ours = httpx.get(f"{sim.url}/TandC").json()
    same_shape(ours, DOCS["tandc"])
    assert ours["version"] == DOCS["tandc"]["version"] and ours["message"] == DOCS["tandc"]["message"]
    assert ours["content"].startswith(DOCS["tandc"]["content"].removesuffix("..."))
    assert httpx.get(f"{sim.url}/TandC/1-0").json() == ours
    missing = httpx.get(f"{sim.url}/TandC/2-0")
    assert (missing.status_code, missing.json()) == (404, DOCS["tandc_404"])


def test_captured_real_registration_is_accepted_with_the_same_reply_shape_and_length(
    sim: SimulatorHandle,
) -> None:
    path = CAP["request"]["url"].removeprefix("https://sm.midnight.gd/api")
    reply = httpx.post(sim.url + path)
    real = CAP["response"]["body"]
    assert reply.status_code == CAP["response"]["status"] == 201
    ours = reply.json()
    same_shape(ours, real)
    assert ours["preimage"] == real["preimage"] == ours["registrationReceipt"]["preimage"]
    assert HEX128.match(ours["registrationReceipt"]["signature"])
    assert ISO_MS.match(ours["timestamp"]) and ISO_MS.match(ours["registrationReceipt"]["timestamp"])
    # same compact JSON as the real server: byte length equals the captured content-length
    assert len(reply.content) == int(CAP["response"]["headers"]["content-length"])
    assert list(ours) == list(real) and list(ours["registrationReceipt"]) == list(real["registrationReceipt"])
    # the proxy path under /api answers the same stored receipt
    assert httpx.post(sim.url + "/api" + path).json() == ours


def test_shadow_harvester_cip8_vector_registers(sim: SimulatorHandle) -> None:
    reply = httpx.post(
        f"{sim.url}/register/{CIP8['address']}/{CIP8['signature_cose_sign1_hex']}/{CIP8['pubkey_hex']}"
    )
    assert reply.status_code == 201
    assert reply.json()["preimage"] == CIP8["address"] + CIP8["signature_cose_sign1_hex"] + CIP8["pubkey_hex"]


def test_register_error_texts_equal_documented_ones(sim: SimulatorHandle, tmp_path: Path) -> None:
    wallet = Wallet.generate("mainnet")
    sig = wallet.sign(texts.TERMS_MESSAGE)
    bad_pubkey = httpx.post(f"{sim.url}/register/{wallet.address}/{sig}/abc")
    assert (bad_pubkey.status_code, bad_pubkey.json()) == (400, DOCS["register_errors"][0])
    other_text = wallet.sign("I agree to something else")
    mismatch = httpx.post(f"{sim.url}/register/{wallet.address}/{other_text}/{wallet.pubkey_hex}")
    assert (mismatch.status_code, mismatch.json()) == (400, DOCS["register_errors"][2])
    # the documented wrong-network text came from the preprod server, given a mainnet address
    with running_simulator(tmp_path, network="testnet", rom_size=SMALL_ROM, pre_size=SMALL_PRE) as preprod:
        wrong = httpx.post(f"{preprod.url}/register/{wallet.address}/{sig}/{wallet.pubkey_hex}")
    assert (wrong.status_code, wrong.json()) == (400, DOCS["register_errors"][1])


def test_solution_receipt_and_errors_match_documented_shapes(sim: SimulatorHandle) -> None:
    wallet = Wallet.generate("mainnet")
    unregistered = httpx.post(f"{sim.url}/solution/{wallet.address}/**D01C01/0000000000000000")
    assert (unregistered.status_code, unregistered.json()) == (400, DOCS["solution_errors"][0])
    httpx.post(f"{sim.url}/register/{wallet.address}/{wallet.sign(texts.TERMS_MESSAGE)}/{wallet.pubkey_hex}")
    unknown = httpx.post(f"{sim.url}/solution/{wallet.address}/**D09C09/0000000000000000")
    expected = dict(DOCS["solution_errors"][1], message="Challenge not found: **D09C09")
    assert (unknown.status_code, unknown.json()) == (404, expected)

    challenge = httpx.get(f"{sim.url}/challenge").json()["challenge"]
    nonce = find_nonce(challenge, wallet.address, rom_size=SMALL_ROM, pre_size=SMALL_PRE)
    accepted = httpx.post(f"{sim.url}/solution/{wallet.address}/{challenge['challenge_id']}/{nonce}")
    assert accepted.status_code == 201
    documented = capture("ashmaize_test_vector_and_receipt")["crypto_receipt_example"]
    same_shape(accepted.json(), documented)
    receipt = accepted.json()["crypto_receipt"]
    fields = ("challenge_id", "difficulty", "no_pre_mine", "latest_submission", "no_pre_mine_hour")
    assert receipt["preimage"] == nonce + wallet.address + "".join(challenge[f] for f in fields)
    assert HEX128.match(receipt["signature"]) and ISO_MS.match(receipt["timestamp"])

    duplicate = httpx.post(f"{sim.url}/solution/{wallet.address}/{challenge['challenge_id']}/{nonce}")
    real_duplicate = capture("solution_duplicate_error_response")["response"]
    assert (duplicate.status_code, duplicate.json()) == (real_duplicate["status"], real_duplicate["body"])


def test_donation_replies_match_documented_shapes(sim: SimulatorHandle) -> None:
    original, destination = Wallet.generate("mainnet"), Wallet.generate("mainnet")
    for w in (original, destination):
        httpx.post(f"{sim.url}/register/{w.address}/{w.sign(texts.TERMS_MESSAGE)}/{w.pubkey_hex}")

    def donate(to: str, message: str | None = None) -> httpx.Response:
        signature = original.sign(message or texts.donation_message(to))
        return httpx.post(f"{sim.url}/donate_to/{to}/{original.address}/{signature}")

    quoted = donate(destination.address, f'"{texts.donation_message(destination.address)}"')
    real_400 = capture("donate_to_bad_signature_message_response")
    real_dest = real_400["response"]["body"]["message"].rsplit(": ", 1)[1].strip('"')
    assert quoted.status_code == 400
    assert quoted.json() == {
        **real_400["response"]["body"],
        "message": real_400["response"]["body"]["message"].replace(real_dest, destination.address),
    }
    success = donate(destination.address)
    same_shape(success.json(), DOCS["donate_success"])
    assert success.json()["message"] == texts.donation_success(original.address, destination.address)
    conflict = donate(destination.address)
    same_shape(conflict.json(), DOCS["donate_409"])
    assert conflict.status_code == 409
    pattern = re.escape(DOCS["donate_409"]["message"]).replace(
        re.escape("addr_test1qrv3cp0..."), "(addr1\\w+)"
    )
    pattern = pattern.replace(re.escape("addr_test1qq4dl3nhr..."), "(addr1\\w+)")
    match = re.fullmatch(pattern, conflict.json()["message"])
    assert match is not None and match.groups() == (original.address, destination.address)
    undo = donate(original.address)
    same_shape(undo.json(), DOCS["donate_undo"])
    assert undo.json()["message"] == DOCS["donate_undo"]["message"].replace(
        "addr_test1qrv3cp0m9u7y0...", original.address
    )
    missing = httpx.post(f"{sim.url}/donate_to/{destination.address}/{Wallet.generate('mainnet').address}/00")
    same_shape(missing.json(), DOCS["donate_404"])
    assert missing.status_code == 404 and missing.json()["message"].endswith("is not registered")


def test_statistics_and_rate_shapes(sim: SimulatorHandle) -> None:
    wallet = Wallet.generate("mainnet")
    httpx.post(f"{sim.url}/register/{wallet.address}/{wallet.sign(texts.TERMS_MESSAGE)}/{wallet.pubkey_hex}")
    stats = httpx.get(f"{sim.url}/statistics/{wallet.address}").json()
    sibling = capture("statistics_response_sibling_api")["body"]
    same_shape(stats["global"], sibling["global"])
    assert set(stats) == {"global", "local"}
    assert stats["local"] == {"crypto_receipts": 0, "night_allocation": 0}
    rates = httpx.get(f"{sim.url}/work_to_star_rate").json()
    assert isinstance(rates, list) and all(isinstance(r, int) for r in rates)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ashmaize_test_vector_and_receipt", "mainnet_solution_example"])
def test_solution_checker_reproduces_real_solutions_at_real_parameters(kind: str) -> None:
    """The simulator's verification path (preimage assembly + 1 GiB ROM + mask) accepts real solutions."""
    from datetime import UTC, datetime

    from scavenger.sim.schedule import Challenge
    from scavenger.sim.solver import RomParams, SolutionChecker

    vector = capture(kind)
    fields = vector["challenge"]
    moment = datetime(2025, 10, 30, tzinfo=UTC)
    challenge = Challenge(
        index=0,
        challenge_id=fields["challenge_id"],
        day=1,
        challenge_number=1,
        issued=moment,
        deadline=moment,
        issued_at="",
        latest_submission=fields["latest_submission"],
        difficulty=fields["difficulty"],
        no_pre_mine=fields["no_pre_mine"],
        no_pre_mine_hour=fields["no_pre_mine_hour"],
    )
    ok, digest, preimage = SolutionChecker(RomParams(1 << 30, 16 << 20)).check(
        vector["nonce"], vector["address"], challenge
    )
    assert preimage.decode() == vector["preimage"]
    assert digest.hex() == vector.get("expected_hash", vector.get("hash_with_ascii_rom_key"))
    assert ok
