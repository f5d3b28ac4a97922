"""Preimage construction: ``nonce | address | challenge_id | difficulty | no_pre_mine |
latest_submission | no_pre_mine_hour`` as ASCII text without separators. Every field after the
nonce is taken verbatim from the API (never reformatted), because the server rebuilds the same
string to verify a solution."""

from __future__ import annotations

from scavenger.core.difficulty import parse_difficulty
from scavenger.core.nonce import format_nonce


def _field(name: str, value: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError(f"{name} must be printable ASCII without whitespace, got {value!r}")
    return value.encode("ascii")


def build_preimage_suffix(
    address: str,
    challenge_id: str,
    difficulty: str,
    no_pre_mine: str,
    latest_submission: str,
    no_pre_mine_hour: str,
) -> bytes:
    """Everything after the 16 nonce characters; constant for one (address, challenge)."""
    parse_difficulty(difficulty)  # validates; the string itself is used verbatim
    return b"".join(
        (
            _field("address", address),
            _field("challenge_id", challenge_id),
            _field("difficulty", difficulty),
            _field("no_pre_mine", no_pre_mine),
            _field("latest_submission", latest_submission),
            _field("no_pre_mine_hour", no_pre_mine_hour),
        )
    )


def build_preimage(
    nonce: int,
    address: str,
    challenge_id: str,
    difficulty: str,
    no_pre_mine: str,
    latest_submission: str,
    no_pre_mine_hour: str,
) -> bytes:
    """The full preimage hashed for ``nonce``."""
    suffix = build_preimage_suffix(
        address, challenge_id, difficulty, no_pre_mine, latest_submission, no_pre_mine_hour
    )
    return format_nonce(nonce).encode("ascii") + suffix


def rom_key(no_pre_mine: str) -> bytes:
    """The ROM key: the ASCII bytes of the ``no_pre_mine`` hex string (not hex-decoded)."""
    return _field("no_pre_mine", no_pre_mine)
