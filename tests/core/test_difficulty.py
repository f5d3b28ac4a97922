"""The difficulty rule BE32(hash[:4]) & ~mask == 0 and the difficulty string parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scavenger.core import meets_difficulty, parse_difficulty


def _digest(prefix_hex: str) -> bytes:
    return bytes.fromhex(prefix_hex) + bytes(60)


def test_api_doc_example_passes() -> None:
    # The API doc checks its own hash 00069420... against 000FFFFF.
    assert meets_difficulty(_digest("00069420"), parse_difficulty("000FFFFF"))


@pytest.mark.parametrize(
    ("prefix", "difficulty", "ok"),
    [
        ("00007529", "0000FFFF", True),  # smallest passing nonce of the GET /challenge example
        ("00000b66", "00007FFF", True),  # published mainnet solution
        ("00100000", "000FFFFF", False),
        ("000fffff", "000FFFFF", True),
        ("00008000", "00007FFF", False),
        ("00001fff", "00001FFF", True),
        ("00002000", "00001FFF", False),
        ("ffffffff", "FFFFFFFF", True),
        ("00000001", "00000000", False),
        ("00000000", "00000000", True),
    ],
)
def test_examples(prefix: str, difficulty: str, ok: bool) -> None:
    assert meets_difficulty(_digest(prefix), parse_difficulty(difficulty)) is ok


def test_only_the_first_four_bytes_count() -> None:
    assert meets_difficulty(bytes(4) + b"\xff" * 60, 0)
    assert not meets_difficulty(b"\x00\x00\x00\x01" + bytes(60), 0)


def test_bits_are_read_big_endian() -> None:
    # A little-endian reading would see 0x80000000 here and fail the mask.
    assert meets_difficulty(bytes.fromhex("00000080"), 0x000000FF)
    assert not meets_difficulty(bytes.fromhex("80000000"), 0x000000FF)


def test_rule_is_subset_of_mask_for_any_mask() -> None:
    # Non-contiguous mask: every set bit of the prefix must be a set bit of the mask.
    assert meets_difficulty(bytes.fromhex("f0f0f0f0"), 0xF0F0F0F0)
    assert meets_difficulty(bytes.fromhex("10203040"), 0xF0F0F0F0)
    assert not meets_difficulty(bytes.fromhex("01000000"), 0xF0F0F0F0)


@given(prefix=st.integers(0, 2**32 - 1), zeros=st.integers(0, 32))
def test_equals_leading_zero_rule_for_contiguous_masks(prefix: int, zeros: int) -> None:
    mask = (1 << (32 - zeros)) - 1
    leading_zeros = 32 - prefix.bit_length()
    assert meets_difficulty(prefix.to_bytes(4, "big"), mask) is (leading_zeros >= zeros)


def test_parse_accepts_both_cases() -> None:
    assert parse_difficulty("000FFFFF") == 0x000FFFFF
    assert parse_difficulty("0000ffff") == 0x0000FFFF


@pytest.mark.parametrize("bad", ["000FFFF", "000FFFFFF", "", "0x0FFFFF", "GGGGGGGG", " 00FFFFF", "000FFFF\n"])
def test_parse_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError, match="8 hex digits"):
        parse_difficulty(bad)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(TypeError, match="difficulty"):
        parse_difficulty(0x000FFFFF)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("digest", "mask", "exc"),
    [
        (b"\x00\x00\x00", 0, ValueError),
        ("00000000", 0, TypeError),
        (bytes(64), -1, ValueError),
        (bytes(64), 2**32, ValueError),
        (bytes(64), True, TypeError),
    ],
)
def test_meets_rejects_bad_input(digest: object, mask: object, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        meets_difficulty(digest, mask)  # type: ignore[arg-type]
