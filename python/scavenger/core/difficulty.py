"""The Scavenger Mine difficulty rule: a hash is valid iff ``BE32(hash[:4]) & ~mask == 0``."""

from __future__ import annotations

from scavenger.core._hex import parse_fixed_hex

MASK_MAX = 0xFFFFFFFF


def parse_difficulty(difficulty: str) -> int:
    """Parse the API's difficulty string (exactly 8 hex digits, e.g. ``000FFFFF``) into a mask."""
    return parse_fixed_hex("difficulty", difficulty, 8)


def meets_difficulty(digest: bytes, mask: int) -> bool:
    """True iff the first 4 bytes of ``digest``, read big-endian, have no bit outside ``mask``."""
    if not isinstance(digest, (bytes, bytearray, memoryview)):
        raise TypeError(f"digest must be bytes, got {type(digest).__name__}")
    if len(digest) < 4:
        raise ValueError(f"digest must be at least 4 bytes, got {len(digest)}")
    if isinstance(mask, bool) or not isinstance(mask, int):
        raise TypeError(f"mask must be an int, got {type(mask).__name__}")
    if not 0 <= mask <= MASK_MAX:
        raise ValueError(f"mask must be a 32-bit unsigned int, got {mask}")
    prefix = int.from_bytes(bytes(digest[:4]), "big")
    return prefix & ~mask & MASK_MAX == 0
