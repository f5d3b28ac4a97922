"""Fixed-width hex fields of the API (difficulty, nonce): one validating parser for both."""

from __future__ import annotations

_HEX = frozenset("0123456789abcdefABCDEF")


def parse_fixed_hex(name: str, text: str, digits: int) -> int:
    """``text`` as an int; it must be a str of exactly ``digits`` hex digits (either case)."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    if len(text) != digits or not set(text) <= _HEX:
        raise ValueError(f"{name} must be exactly {digits} hex digits, got {text!r}")
    return int(text, 16)
