"""Typed models and error mapping on the real captured payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from scavenger.api import errors
from scavenger.api.models import (
    CHALLENGE_STATE,
    WORK_TO_STAR_RATE,
    ChallengeActive,
    ChallengeAfter,
    ChallengeBefore,
    Donation,
    Registration,
    SolutionReply,
    Statistics,
    Terms,
)

from .conftest import capture

DOCS = capture("documented_examples")
CHALLENGES = capture("challenge_responses_documented")


def test_challenge_states_parse_and_keep_strings_verbatim() -> None:
    active = CHALLENGE_STATE.validate_python(CHALLENGES["active"])
    assert isinstance(active, ChallengeActive)
    assert active.challenge.latest_submission == "2025-11-20T23:59:59Z"
    assert active.challenge.deadline == datetime(2025, 11, 20, 23, 59, 59, tzinfo=UTC)
    assert active.challenge.issued == datetime(2025, 11, 20, 11, 0, tzinfo=UTC)
    assert active.challenge.model_dump() == CHALLENGES["active"]["challenge"]
    assert isinstance(CHALLENGE_STATE.validate_python(CHALLENGES["before"]), ChallengeBefore)
    assert isinstance(CHALLENGE_STATE.validate_python(CHALLENGES["after"]), ChallengeAfter)


@pytest.mark.parametrize(
    "field,value", [("no_pre_mine_hour", 548571128), ("day", "21"), ("difficulty", None)]
)
def test_challenge_with_wrong_types_is_rejected(field: str, value: Any) -> None:
    broken = {**CHALLENGES["active"], "challenge": {**CHALLENGES["active"]["challenge"], field: value}}
    with pytest.raises(ValidationError):
        CHALLENGE_STATE.validate_python(broken)


def test_other_replies_parse() -> None:
    registration = Registration.model_validate(capture("register_request_and_response")["response"]["body"])
    assert registration.receipt.timestamp == "2025-10-30T02:52:27.696Z"
    assert registration.preimage == registration.receipt.preimage
    receipt = SolutionReply.model_validate(
        capture("ashmaize_test_vector_and_receipt")["crypto_receipt_example"]
    )
    assert receipt.crypto_receipt.timestamp == "2025-10-18T09:01:51.249Z"
    assert Terms.model_validate(DOCS["tandc"]).version == "1-0"
    donation = Donation.model_validate(DOCS["donate_success"])
    assert (
        donation.donation_id == "48a9e58e-139b-4a74-94dd-a37096bd35da"
        and donation.solutions_consolidated == 2
    )
    undo = Donation.model_validate(DOCS["donate_undo"])
    assert undo.donation_id is None and undo.is_undo
    assert WORK_TO_STAR_RATE.validate_python(DOCS["work_to_star_rate_day4"]) == [10882519, 7692307, 12487254]
    sibling = capture("statistics_response_sibling_api")["body"]
    stats = Statistics.model_validate(
        {"global": sibling["global"], "local": {"crypto_receipts": 3, "night_allocation": 12}}
    )
    assert stats.global_.total_challenges == 336 and stats.local.night_allocation == 12


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        ("register", DOCS["register_errors"][0], errors.InvalidPubkey),
        ("register", DOCS["register_errors"][1], errors.WrongNetwork),
        ("register", DOCS["register_errors"][2], errors.InvalidSignature),
        ("solution", DOCS["solution_errors"][0], errors.NotRegistered),
        ("solution", DOCS["solution_errors"][1], errors.ChallengeNotFound),
        ("solution", DOCS["solution_errors"][2], errors.BelowDifficulty),
        (
            "solution",
            capture("solution_duplicate_error_response")["response"]["body"],
            errors.SolutionAlreadyExists,
        ),
        ("donate_to", DOCS["donate_409"], errors.DonationConflict),
        ("donate_to", DOCS["donate_400"], errors.InvalidSignature),
        ("donate_to", DOCS["donate_404"], errors.OriginalNotRegistered),
        (
            "donate_to",
            capture("donate_to_bad_signature_message_response")["response"]["body"],
            errors.InvalidSignature,
        ),
        ("terms", DOCS["tandc_404"], errors.TermsNotFound),
    ],
)
def test_captured_error_bodies_map_to_their_types(
    endpoint: str, body: dict[str, Any], expected: type
) -> None:
    error = errors.error_from_reply(endpoint, body["statusCode"], body)
    assert type(error) is expected
    assert error.status == body["statusCode"] and error.message == body["message"]


@pytest.mark.parametrize(
    ("status", "message"), [(409, "Duplicate registration"), (400, "Address already registered")]
)
def test_duplicate_registration_texts(status: int, message: str) -> None:
    error = errors.error_from_reply("register", status, {"message": message, "statusCode": status})
    assert isinstance(error, errors.AlreadyRegistered) and error.status == status


def test_conflict_names_the_current_destination_and_window_texts_of_both_servers() -> None:
    conflict = errors.error_from_reply("donate_to", 409, DOCS["donate_409"])
    assert isinstance(conflict, errors.DonationConflict)
    assert conflict.current_destination == "addr_test1qq4dl3nhr"  # the documented example is truncated
    for text in ("Solution validation failed: Submission window closed", "Challenge window closed"):
        assert isinstance(
            errors.error_from_reply("solution", 400, {"message": text}), errors.SubmissionWindowClosed
        )
    destination = errors.error_from_reply(
        "donate_to",
        404,
        {"message": "Destination address addr1xyz has not accepted Terms and Conditions"},
        context={"destination": "addr1xyz", "original": "addr1abc"},
    )
    assert isinstance(destination, errors.DestinationNotRegistered) and destination.address == "addr1xyz"
