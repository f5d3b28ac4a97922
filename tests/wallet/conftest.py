from __future__ import annotations

from typing import Any

import pytest

from vector_files import load_vector_file

# The capture kinds that carry a CIP-8 signature of a real or reference wallet.
SIGNATURE_CAPTURES = (
    "register_request_and_response",
    "cip8_registration_signature_vector",
    "donate_to_request_example",
)


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """shared/vectors/cardano.json (public test mnemonics only)."""
    data: dict[str, Any] = load_vector_file("cardano.json")
    return data


@pytest.fixture(scope="session")
def captures() -> list[dict[str, Any]]:
    """Register capture, shadowharvester CIP-8 vector and donate example from scavenger_captures.json."""
    data: list[dict[str, Any]] = [
        entry for entry in load_vector_file("scavenger_captures.json") if entry["kind"] in SIGNATURE_CAPTURES
    ]
    assert len(data) == len(SIGNATURE_CAPTURES)
    return data
