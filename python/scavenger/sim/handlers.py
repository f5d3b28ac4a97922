"""The real API's routes: every check answers with the server's own status, envelope and text.

The handlers block (SQLite commits, CIP-8 checks, AshMaize hashing): the app runs them in worker threads."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from fastapi.responses import JSONResponse, Response

from scavenger.sim import texts
from scavenger.sim.replies import nest_error, solution_error
from scavenger.sim.simulator import Simulator
from scavenger.sim.store import Donation, Registration
from scavenger.sim.timefmt import iso_ms
from scavenger.sim.verify import SignatureRejected, check_signature, is_hex, is_pubkey

_NONCE = re.compile(r"[0-9a-f]{16}")  # fullmatch: "$" would let a trailing newline in


def register(sim: Simulator, address: str, signature: str, pubkey: str) -> Response:
    if not is_pubkey(pubkey):
        return nest_error(400, texts.REGISTER_BAD_PUBKEY)
    if not is_hex(signature):
        return nest_error(400, texts.REGISTER_BAD_SIGNATURE_HEX)
    try:
        check_signature(
            address=address,
            signature=signature,
            pubkey_hex=pubkey,
            message=texts.TERMS_MESSAGE,
            network=sim.network,
            prefix=texts.CIP30_PREFIX,
            mismatch=texts.CIP30_PREFIX + texts.MESSAGE_MISMATCH,
        )
    except SignatureRejected as exc:
        return nest_error(400, exc.message)
    existing = sim.store.registration(address)
    if existing is None:
        preimage = address + signature + pubkey
        receipt_time = iso_ms(sim.clock())
        reply = {
            "preimage": preimage,
            "registrationReceipt": {
                "preimage": preimage,
                "signature": sim.signer.sign(preimage, receipt_time),
                "timestamp": receipt_time,
            },
            "timestamp": iso_ms(sim.clock()),
        }
        existing = sim.store.add_registration(Registration(address, pubkey, signature, reply), receipt_time)
    # A repeated registration answers with the first receipt, as the captured real reply shows.
    return JSONResponse(existing.reply, status_code=201)


def submit_solution(sim: Simulator, address: str, challenge_id: str, nonce: str) -> Response:
    now = sim.clock()
    if sim.store.registration(address) is None:
        return solution_error(400, texts.SOLUTION_NOT_REGISTERED)
    index = sim.schedule.index_of(challenge_id)
    if index is None or index >= sim.schedule.issued_count(now):
        return solution_error(404, texts.challenge_not_found(challenge_id))
    challenge = sim.schedule.challenge(index)
    if now >= challenge.deadline + timedelta(seconds=1):
        return solution_error(400, texts.SOLUTION_WINDOW_CLOSED)
    if sim.store.has_solution(address, challenge.challenge_id):
        return solution_error(400, texts.SOLUTION_EXISTS)
    if not _NONCE.fullmatch(nonce):
        return solution_error(400, texts.SOLUTION_BAD_NONCE)
    ok, digest, preimage = sim.checker.check(nonce, address, challenge)
    if not ok:
        return solution_error(400, texts.SOLUTION_DIFFICULTY)
    accepted = sim.clock()
    timestamp = iso_ms(accepted)
    text = preimage.decode("utf-8")
    receipt = {"preimage": text, "timestamp": timestamp, "signature": sim.signer.sign(text, timestamp)}
    added = sim.store.add_solution(
        address,
        challenge.challenge_id,
        nonce,
        digest.hex(),
        receipt,
        timestamp,
        sim.schedule.day_of(accepted),
    )
    if not added:  # a concurrent submission for the same pair won the race
        return solution_error(400, texts.SOLUTION_EXISTS)
    return JSONResponse({"crypto_receipt": receipt}, status_code=201)


def donate(sim: Simulator, destination: str, original: str, signature: str) -> Response:
    if sim.store.registration(destination) is None:
        return nest_error(404, texts.destination_not_registered(destination))
    original_reg = sim.store.registration(original)
    if original_reg is None:
        return nest_error(404, texts.original_not_registered(original))
    if not is_hex(signature):
        return nest_error(400, texts.DONATE_SIG_PREFIX + texts.REGISTER_BAD_SIGNATURE_HEX)
    try:
        check_signature(
            address=original,
            signature=signature,
            pubkey_hex=original_reg.pubkey,
            message=texts.donation_message(destination),
            network=sim.network,
            prefix=texts.DONATE_SIG_PREFIX,
            mismatch=texts.donate_message_mismatch(destination),
        )
    except SignatureRejected as exc:
        return nest_error(400, exc.message)
    now = iso_ms(sim.clock())
    if destination == original:
        undone = sim.store.undo_donation(original, now)
        if undone is None:
            return nest_error(404, texts.no_active_donation(original))
        return JSONResponse(
            {
                "status": "success",
                "message": texts.donation_undone(original),
                "original_address": original,
                "destination_address": destination,
                "timestamp": now,
                "solutions_consolidated": 0,
            },
            status_code=201,
        )
    current = sim.store.donation(original)
    if current is not None:
        return nest_error(409, texts.donation_conflict(original, current.destination))
    if sim.store.donation(destination) is not None:
        return nest_error(400, texts.chained_donation(destination))
    if sim.store.donors_to(original):
        return nest_error(400, texts.chained_donation(original))
    donation = Donation(original, destination, str(uuid.uuid4()))
    if not sim.store.assign_donation(donation, now):
        current = sim.store.donation(original)
        return nest_error(409, texts.donation_conflict(original, current.destination if current else "?"))
    return JSONResponse(
        {
            "status": "success",
            "message": texts.donation_success(original, destination),
            "donation_id": donation.donation_id,
            "original_address": original,
            "destination_address": destination,
            "timestamp": now,
            "solutions_consolidated": sim.store.solution_count(original),
        },
        status_code=201,
    )


def statistics(sim: Simulator, address: str) -> Response:
    if sim.store.registration(address) is None:
        return nest_error(400, texts.statistics_not_registered(address))
    now = sim.clock()
    recent_since = iso_ms(now - sim.schedule.day_length)
    return JSONResponse(
        {
            "global": {
                "wallets": sim.store.registration_count(),
                "challenges": sim.schedule.issued_count(now),
                "total_challenges": sim.schedule.total,
                "total_crypto_receipts": sim.store.solution_count(),
                "recent_crypto_receipts": sim.store.solutions_since(recent_since),
            },
            "local": {
                "crypto_receipts": sim.store.solution_count(address),
                "night_allocation": sim.allocation(address, now),
            },
        }
    )
