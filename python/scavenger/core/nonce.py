"""Nonce formatting: the nonce travels as 16 lowercase hex digits, in the preimage and in the URL."""

from __future__ import annotations

from scavenger.core._hex import parse_fixed_hex

NONCE_MAX = (1 << 64) - 1


def format_nonce(nonce: int) -> str:
    """Return ``nonce`` as exactly 16 lowercase hex digits (the u64 formatted ``{:016x}``)."""
    if isinstance(nonce, bool) or not isinstance(nonce, int):
        raise TypeError(f"nonce must be an int, got {type(nonce).__name__}")
    if not 0 <= nonce <= NONCE_MAX:
        raise ValueError(f"nonce must be in 0..2**64-1, got {nonce}")
    return f"{nonce:016x}"


def parse_nonce(text: str) -> int:
    """Inverse of :func:`format_nonce`; accepts exactly 16 hex digits."""
    return parse_fixed_hex("nonce", text, 16)
