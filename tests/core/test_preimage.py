"""Preimage and nonce formatting, including the official example rebuilt from its fields."""

from __future__ import annotations

import pytest

from scavenger.core import build_preimage, build_preimage_suffix, format_nonce, parse_nonce, rom_key
from scavenger.core.bench import BENCH_FIELDS

from .helpers import load_vectors

OFFICIAL = load_vectors()["rom_intermediates_for_official_vector"]
# The bench hashes the official example's fields; the tests below check they are exactly those.
FIELDS = BENCH_FIELDS


def test_official_preimage_from_its_fields() -> None:
    preimage = build_preimage(0x0019C96B6A30EE38, **FIELDS)
    assert preimage == OFFICIAL["preimage"].encode()
    assert preimage[16:] == build_preimage_suffix(**FIELDS)


def test_rom_key_is_the_ascii_hex_string() -> None:
    assert rom_key(FIELDS["no_pre_mine"]) == OFFICIAL["rom_key"].encode()
    assert len(rom_key(FIELDS["no_pre_mine"])) == 64


def test_fields_are_verbatim() -> None:
    # Another timestamp format and a lowercase difficulty must not be normalised.
    fields = {**FIELDS, "latest_submission": "2025-11-20T23:59:59Z", "difficulty": "000fffff"}
    suffix = build_preimage_suffix(**fields)
    assert b"2025-11-20T23:59:59Z" in suffix
    assert b"**D07C10000fffff" in suffix


@pytest.mark.parametrize(
    ("nonce", "text"),
    [
        (0, "0000000000000000"),
        (1, "0000000000000001"),
        (0x0019C96B6A30EE38, "0019c96b6a30ee38"),
        (0x0123456789ABCDEF, "0123456789abcdef"),
        (2**64 - 1, "ffffffffffffffff"),
    ],
)
def test_format_nonce(nonce: int, text: str) -> None:
    assert format_nonce(nonce) == text
    assert parse_nonce(text) == nonce


@pytest.mark.parametrize(
    ("bad", "exc"), [(-1, ValueError), (2**64, ValueError), (True, TypeError), ("1", TypeError)]
)
def test_format_nonce_rejects(bad: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="nonce"):
        format_nonce(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "123", "0019c96b6a30ee3g", "0019c96b6a30ee380"])
def test_parse_nonce_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="16 hex digits"):
        parse_nonce(bad)


@pytest.mark.parametrize(
    ("field", "value", "exc"),
    [
        ("address", "", ValueError),
        ("address", "addr test", ValueError),
        ("challenge_id", "**D07C10\n", ValueError),
        ("no_pre_mine", "fd65é", ValueError),
        ("difficulty", "000FFFF", ValueError),
        ("no_pre_mine_hour", 509681483, TypeError),
    ],
)
def test_bad_fields_are_named(field: str, value: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match=field):
        build_preimage_suffix(**{**FIELDS, field: value})  # type: ignore[arg-type]
