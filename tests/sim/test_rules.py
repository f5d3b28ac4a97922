"""Server rules over real HTTP (in-process uvicorn with a movable clock): registration checks, the
solution check order, windows, donations, statistics and work_to_star_rate over completed days."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import nacl.signing

from scavenger.sim import texts
from scavenger.sim.testing import find_nonce
from scavenger.wallet import Wallet

from .conftest import SMALL_PRE, SMALL_ROM, InProcessSim


def register(url: str, wallet: Wallet) -> httpx.Response:
    return httpx.post(
        f"{url}/register/{wallet.address}/{wallet.sign(texts.TERMS_MESSAGE)}/{wallet.pubkey_hex}"
    )


def donate(url: str, original: Wallet, destination: str, message: str | None = None) -> httpx.Response:
    signature = original.sign(message if message is not None else texts.donation_message(destination))
    return httpx.post(f"{url}/donate_to/{destination}/{original.address}/{signature}")


def current(url: str) -> dict[str, Any]:
    challenge: dict[str, Any] = httpx.get(f"{url}/challenge").json()["challenge"]
    return challenge


def solve(url: str, wallet: Wallet, challenge: dict[str, Any]) -> httpx.Response:
    nonce = find_nonce(challenge, wallet.address, rom_size=SMALL_ROM, pre_size=SMALL_PRE)
    return httpx.post(f"{url}/solution/{wallet.address}/{challenge['challenge_id']}/{nonce}")


def nest(status: int, message: str) -> dict[str, Any]:
    reason = {400: "Bad Request", 404: "Not Found", 409: "Conflict"}[status]
    return {"message": message, "error": reason, "statusCode": status}


def test_register_checks_each_part_of_the_signature(
    inproc: InProcessSim, wallet: Wallet, other_wallet: Wallet
) -> None:
    url, good_sig = inproc.url, wallet.sign(texts.TERMS_MESSAGE)
    reply = httpx.post(f"{url}/register/{wallet.address}/{good_sig}/{wallet.pubkey_hex[:-2]}")
    assert (reply.status_code, reply.json()) == (400, nest(400, texts.REGISTER_BAD_PUBKEY))
    reply = httpx.post(f"{url}/register/{wallet.address}/sig1notHex/{wallet.pubkey_hex}")
    assert (reply.status_code, reply.json()) == (400, nest(400, texts.REGISTER_BAD_SIGNATURE_HEX))
    testnet = Wallet.from_mnemonic(wallet.mnemonic, "testnet")
    reply = register(url, testnet)
    assert reply.json() == nest(400, texts.wrong_network("mainnet", "preprod"))
    wrong_text = wallet.sign(texts.TERMS_MESSAGE + " ")
    reply = httpx.post(f"{url}/register/{wallet.address}/{wrong_text}/{wallet.pubkey_hex}")
    assert reply.json() == nest(400, texts.CIP30_PREFIX + texts.MESSAGE_MISMATCH)
    # a valid signature by another key: the signature does not verify with the given pubkey
    reply = httpx.post(
        f"{url}/register/{wallet.address}/{other_wallet.sign(texts.TERMS_MESSAGE)}/{wallet.pubkey_hex}"
    )
    assert reply.status_code == 400 and reply.json()["message"].startswith(texts.CIP30_PREFIX)
    # the other wallet's own signature and key, but presented for our address: key hash mismatch
    reply = httpx.post(
        f"{url}/register/{wallet.address}/{other_wallet.sign(texts.TERMS_MESSAGE)}/{other_wallet.pubkey_hex}"
    )
    assert reply.status_code == 400
    assert "does not match" in reply.json()["message"]
    assert inproc.sim.store.registration_count() == 0

    first = register(url, wallet)
    assert first.status_code == 201
    inproc.clock.advance(5)
    again = register(url, wallet)
    assert (again.status_code, again.json()) == (201, first.json())


def test_registration_receipt_is_signed_by_the_simulator_key(inproc: InProcessSim, wallet: Wallet) -> None:
    body = register(inproc.url, wallet).json()
    receipt = body["registrationReceipt"]
    key = nacl.signing.VerifyKey(
        bytes.fromhex(httpx.get(f"{inproc.url}/_sim/info").json()["receipt_public_key"])
    )
    key.verify((receipt["preimage"] + receipt["timestamp"]).encode(), bytes.fromhex(receipt["signature"]))
    assert receipt["preimage"] == wallet.address + wallet.sign(texts.TERMS_MESSAGE) + wallet.pubkey_hex


def test_solution_check_order_and_windows(inproc: InProcessSim, wallet: Wallet) -> None:
    url = inproc.url
    challenge = current(url)
    assert challenge["challenge_id"] == "**D01C01"
    nonce = find_nonce(challenge, wallet.address, rom_size=SMALL_ROM, pre_size=SMALL_PRE)
    reply = httpx.post(f"{url}/solution/{wallet.address}/**D01C01/{nonce}")
    assert reply.json() == {"statusCode": 400, "message": texts.SOLUTION_NOT_REGISTERED}
    register(url, wallet)
    reply = httpx.post(f"{url}/solution/{wallet.address}/**D01C02/{nonce}")  # not issued yet
    assert (reply.status_code, reply.json()) == (
        404,
        {"statusCode": 404, "message": "Challenge not found: **D01C02"},
    )
    reply = httpx.post(f"{url}/solution/{wallet.address}/**D01C01/ABCDEF0123456789")
    assert reply.json()["message"] == texts.SOLUTION_BAD_NONCE
    reply = httpx.post(f"{url}/solution/{wallet.address}/%2A%2AD01C01/{nonce}")
    assert reply.status_code == 201
    reply = httpx.post(f"{url}/solution/{wallet.address}/**D01C01/{nonce}")
    assert reply.json() == {"statusCode": 400, "message": texts.SOLUTION_EXISTS}

    # 24 periods later the first challenge has closed; the one issued just after is still open
    inproc.clock.advance(24 * 10)
    reply = httpx.post(f"{url}/solution/{wallet.address}/**D01C01/{nonce}")
    assert reply.json()["message"] == texts.SOLUTION_WINDOW_CLOSED
    older = inproc.sim.schedule.challenge(1).as_json()
    assert solve(url, wallet, older).status_code == 201


def test_below_difficulty_with_an_impossible_mask(inproc: InProcessSim, wallet: Wallet) -> None:
    register(inproc.url, wallet)
    inproc.sim.schedule = type(inproc.sim.schedule)(
        seed=b"s" * 32, start=inproc.sim.schedule.start, period=10.0, days=2, difficulties=("00000000",)
    )
    reply = httpx.post(f"{inproc.url}/solution/{wallet.address}/**D01C01/0000000000000000")
    assert (reply.status_code, reply.json()) == (
        400,
        {"statusCode": 400, "message": texts.SOLUTION_DIFFICULTY},
    )


def test_donation_rules(inproc: InProcessSim, wallet: Wallet, other_wallet: Wallet) -> None:
    url, third = inproc.url, Wallet.generate("mainnet")
    assert donate(url, wallet, other_wallet.address).json() == nest(
        404, texts.destination_not_registered(other_wallet.address)
    )
    register(url, other_wallet)
    assert donate(url, wallet, other_wallet.address).json() == nest(
        404, texts.original_not_registered(wallet.address)
    )
    register(url, wallet)
    quoted = f'"{texts.donation_message(other_wallet.address)}"'
    reply = donate(url, wallet, other_wallet.address, message=quoted)
    assert reply.json() == nest(400, texts.donate_message_mismatch(other_wallet.address))
    assert donate(url, wallet, wallet.address).json() == nest(404, texts.no_active_donation(wallet.address))

    assert solve(url, wallet, current(url)).status_code == 201
    ok = donate(url, wallet, other_wallet.address)
    assert ok.status_code == 201
    assert ok.json()["solutions_consolidated"] == 1 and len(ok.json()["donation_id"]) == 36
    conflict = donate(url, wallet, other_wallet.address)
    assert conflict.json() == nest(409, texts.donation_conflict(wallet.address, other_wallet.address))
    register(url, third)
    assert donate(url, other_wallet, third.address).status_code == 400  # would chain wallet -> other -> third
    assert donate(url, third, wallet.address).status_code == 400  # destination already donates

    undo = donate(url, wallet, wallet.address)
    assert undo.status_code == 201 and "donation_id" not in undo.json()
    assert donate(url, wallet, third.address).status_code == 201


def test_statistics_and_star_rate_count_completed_days(
    inproc: InProcessSim, wallet: Wallet, other_wallet: Wallet
) -> None:
    url = inproc.url
    assert httpx.get(f"{url}/statistics/{wallet.address}").json() == nest(
        400, texts.statistics_not_registered(wallet.address)
    )
    for w in (wallet, other_wallet):
        register(url, w)
    assert solve(url, wallet, current(url)).status_code == 201
    inproc.clock.advance(10)
    assert solve(url, wallet, current(url)).status_code == 201
    assert solve(url, other_wallet, current(url)).status_code == 201
    assert httpx.get(f"{url}/work_to_star_rate").json() == []
    stats = httpx.get(f"{url}/statistics/{wallet.address}").json()
    assert stats["global"] == {
        "wallets": 2,
        "challenges": 2,
        "total_challenges": 48,
        "total_crypto_receipts": 3,
        "recent_crypto_receipts": 3,
    }
    assert stats["local"] == {"crypto_receipts": 2, "night_allocation": 0}

    inproc.clock.advance(24 * 10)  # day 1 is complete: its 3 receipts share the day's pool
    rate = inproc.sim.daily_pool_star // 3
    assert httpx.get(f"{url}/work_to_star_rate").json() == [rate]
    assert httpx.get(f"{url}/statistics/{wallet.address}").json()["local"]["night_allocation"] == 2 * rate
    donate(url, wallet, other_wallet.address)
    assert httpx.get(f"{url}/statistics/{wallet.address}").json()["local"]["night_allocation"] == 0
    assert (
        httpx.get(f"{url}/statistics/{other_wallet.address}").json()["local"]["night_allocation"] == 3 * rate
    )


def test_before_and_after_phases(inproc: InProcessSim, wallet: Wallet) -> None:
    url, schedule = inproc.url, inproc.sim.schedule
    inproc.clock.now = schedule.start.replace(year=2024)
    assert httpx.get(f"{url}/challenge").json() == {"code": "before", "starts_at": "2025-10-30T00:00:00.000Z"}
    register(url, wallet)  # registration opens before mining (day 0)
    reply = httpx.post(f"{url}/solution/{wallet.address}/**D01C01/0000000000000000")
    assert reply.status_code == 404
    inproc.clock.now = schedule.mining_period_ends.replace(year=2026)
    assert httpx.get(f"{url}/challenge").json() == {"code": "after"}
    assert httpx.get(f"{url}/work_to_star_rate").json() == [inproc.sim.daily_pool_star] * 2


def test_concurrent_submissions_for_one_challenge_accept_exactly_one(
    inproc: InProcessSim, wallet: Wallet
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from scavenger.core import Rom, build_preimage_suffix, format_nonce, parse_difficulty

    register(inproc.url, wallet)
    challenge = current(inproc.url)
    fields = [
        challenge[k]
        for k in ("challenge_id", "difficulty", "no_pre_mine", "latest_submission", "no_pre_mine_hour")
    ]
    rom = Rom(challenge["no_pre_mine"].encode(), size=SMALL_ROM, pre_size=SMALL_PRE)
    suffix, mask = build_preimage_suffix(wallet.address, *fields), parse_difficulty(challenge["difficulty"])
    nonces: list[str] = []
    start = 0
    while len(nonces) < 6:
        found = rom.search(suffix, start, 10_000, mask).nonce
        assert found is not None
        nonces.append(format_nonce(found))
        start = found + 1

    def submit(nonce: str) -> int:
        return httpx.post(
            f"{inproc.url}/solution/{wallet.address}/{challenge['challenge_id']}/{nonce}"
        ).status_code

    with ThreadPoolExecutor(len(nonces)) as pool:
        statuses = sorted(pool.map(submit, nonces))
    assert statuses == [201] + [400] * (len(nonces) - 1)
    assert inproc.sim.store.solution_count(wallet.address) == 1


def test_last_day_challenge_with_capped_deadline_is_solvable(inproc: InProcessSim, wallet: Wallet) -> None:
    register(inproc.url, wallet)
    inproc.clock.advance(24 * 10 + 5 * 10)  # day 2 (the last), challenge 6
    challenge = current(inproc.url)
    assert challenge["challenge_id"] == "**D02C06"
    assert challenge["latest_submission"] == "2025-10-30T00:07:59Z"  # end of mining, no milliseconds
    reply = solve(inproc.url, wallet, challenge)
    assert reply.status_code == 201
    assert "2025-10-30T00:07:59Z" in reply.json()["crypto_receipt"]["preimage"]


def test_path_values_must_match_exactly(inproc: InProcessSim, wallet: Wallet) -> None:
    # regression: "$" also matched before a trailing newline, so a decoded "%0A" slipped through (a 17-char
    # nonce was accepted and hashed), and "\d" took other scripts' digits as a challenge number
    url, sig = inproc.url, wallet.sign(texts.TERMS_MESSAGE)
    reply = httpx.post(f"{url}/register/{wallet.address}/{sig}/{wallet.pubkey_hex}%0A")
    assert (reply.status_code, reply.json()) == (400, nest(400, texts.REGISTER_BAD_PUBKEY))
    reply = httpx.post(f"{url}/register/{wallet.address}/{sig[:-1]}%0A/{wallet.pubkey_hex}")
    assert (reply.status_code, reply.json()) == (400, nest(400, texts.REGISTER_BAD_SIGNATURE_HEX))
    assert register(url, wallet).status_code == 201
    nonce = find_nonce(current(url), wallet.address, rom_size=SMALL_ROM, pre_size=SMALL_PRE)
    reply = httpx.post(f"{url}/solution/{wallet.address}/**D01C01/{nonce}%0A")
    assert reply.json() == {"statusCode": 400, "message": texts.SOLUTION_BAD_NONCE}
    for challenge_id in ("**D01C01\n", "**D\u0660\u0661C01"):
        reply = httpx.post(f"{url}/solution/{wallet.address}/{quote(challenge_id, safe='*')}/{nonce}")
        assert (reply.status_code, reply.json()) == (
            404,
            {"statusCode": 404, "message": texts.challenge_not_found(challenge_id)},
        )
    assert inproc.sim.store.solution_count() == 0
    assert httpx.post(f"{url}/solution/{wallet.address}/**D01C01/{nonce}").status_code == 201


def test_default_rewards_have_the_real_magnitude(
    inproc: InProcessSim, wallet: Wallet, other_wallet: Wallet
) -> None:
    """~10^7 STAR per receipt (the documentation's [10882519, 7692307, 12487254]), a different rate each
    day, no full pool for a day without our receipts, and allocations still exactly receipts x rate."""
    from scavenger.sim.simulator import DEFAULT_NETWORK_RECEIPTS

    url, sim = inproc.url, inproc.sim
    sim.network_receipts = DEFAULT_NETWORK_RECEIPTS
    register(url, wallet)
    register(url, other_wallet)
    assert solve(url, wallet, current(url)).status_code == 201
    assert solve(url, other_wallet, current(url)).status_code == 201
    inproc.clock.advance(24 * 10 * 2)  # both days complete; day 2 had no receipt of ours
    rates = httpx.get(f"{url}/work_to_star_rate").json()
    assert len(rates) == 2 and rates[0] != rates[1]
    assert all(5_000_000 <= r <= 20_000_000 for r in rates), rates
    assert rates[0] == sim.daily_pool_star // (sim.network_receipts_on(1) + 2)
    assert rates[1] == sim.daily_pool_star // sim.network_receipts_on(2)
    assert httpx.get(f"{url}/statistics/{wallet.address}").json()["local"]["night_allocation"] == rates[0]
