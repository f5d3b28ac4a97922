"""Classic bech32 (BIP-173, checksum constant 1) without BIP-173's 90-character limit.

Cardano base addresses are 103/108 characters, so a stock BIP-173 decoder that enforces the limit would
reject them; this is also why we do not use bech32m (constant 0x2bc830a3).
"""

from __future__ import annotations

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_REV = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
# Far above any Cardano address (108 chars) but bounds the work done on hostile input.
MAX_LENGTH = 1023


class Bech32Error(ValueError):
    """The text is not valid bech32."""


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: list[int]) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ 1
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def convertbits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    """Regroup a sequence of ``frombits``-bit integers into ``tobits``-bit integers."""
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    max_acc = (1 << (frombits + tobits - 1)) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise Bech32Error(f"value {value} does not fit in {frombits} bits")
        acc = ((acc << frombits) | value) & max_acc
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise Bech32Error("invalid padding in the data part")
    return out


def encode(hrp: str, payload: bytes) -> str:
    """Encode ``payload`` bytes under human-readable part ``hrp`` (lowercase)."""
    if not hrp or any(ord(c) < 33 or ord(c) > 126 for c in hrp) or hrp.lower() != hrp:
        raise Bech32Error("human-readable part must be non-empty lowercase printable ASCII")
    data = convertbits(payload, 8, 5, pad=True)
    return hrp + "1" + "".join(CHARSET[d] for d in data + _create_checksum(hrp, data))


def decode(text: str) -> tuple[str, bytes]:
    """Decode bech32 text into ``(hrp, payload bytes)``; raises :class:`Bech32Error`."""
    if len(text) > MAX_LENGTH:
        raise Bech32Error(f"too long ({len(text)} characters)")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise Bech32Error("contains characters outside printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixes upper and lower case")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1:
        raise Bech32Error("missing human-readable part or separator '1'")
    if pos + 7 > len(text):
        raise Bech32Error("data part shorter than the 6-character checksum")
    hrp, data_part = text[:pos], text[pos + 1 :]
    try:
        data = [_CHARSET_REV[c] for c in data_part]
    except KeyError as exc:
        raise Bech32Error(f"character {exc.args[0]!r} is not in the bech32 alphabet") from None
    if _polymod(_hrp_expand(hrp) + data) != 1:
        raise Bech32Error("checksum mismatch (bech32m or a typo?)")
    return hrp, bytes(convertbits(data[:-6], 5, 8, pad=False))
