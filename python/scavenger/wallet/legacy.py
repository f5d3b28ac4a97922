"""Recognise the seed program's NON-STANDARD keys (whosbax/midnight-scavenger ``src/wallet.rs``).

That program used ``BIP39_seed(mnemonic)[0:32]`` as a plain RFC 8032 Ed25519 seed and registered the
enterprise address of it. No CIP-1852 wallet (Eternl, Lace, Yoroi) can restore those keys from the words,
so we never generate them; we only detect them to give users a precise error instead of silently
deriving *other* (unregistered) addresses from their old ``seeds.txt``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.signing import SigningKey

from scavenger.wallet import address as addr
from scavenger.wallet import bip39
from scavenger.wallet.address import Network


@dataclass(frozen=True)
class LegacyKey:
    """Public view of a legacy key; the seed itself is not kept."""

    pubkey_hex: str
    enterprise_address: str


def legacy_seed(words: str) -> bytes:
    """The 32-byte Ed25519 seed the legacy program derived (secret)."""
    return bip39.bip39_seed(words)[:32]


def legacy_key(words: str, network: Network) -> LegacyKey:
    pub = bytes(SigningKey(legacy_seed(words)).verify_key)
    return LegacyKey(pub.hex(), addr.enterprise_address(addr.key_hash(pub), network))


def is_legacy_key_line(words: str, key_line: str) -> bool:
    """True if ``key_line`` (a line of the old ``keys.hex``) is the legacy seed of ``words``."""
    text = key_line.strip().lower()
    if len(text) != 64:
        return False
    try:
        return bytes.fromhex(text) == legacy_seed(words)
    except ValueError:
        return False
