"""BIP-39 mnemonics: generation and parsing to entropy with error messages that never echo words.

The ``mnemonic`` package's own ``to_entropy`` puts an unknown word in its exception text; we only use its
word list and do the lookup and checksum ourselves so that errors name a word *position* instead.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from functools import cache

from mnemonic import Mnemonic

from scavenger.wallet.errors import MnemonicError

WORD_COUNTS = (12, 15, 18, 21, 24)
GENERATED_WORDS = 24


@cache
def _english() -> Mnemonic:
    return Mnemonic("english")


@cache
def _index() -> dict[str, int]:
    return {word: i for i, word in enumerate(_english().wordlist)}


def normalize(words: str) -> str:
    """NFKD-normalise, lowercase and collapse whitespace (what wallets do before the lookup)."""
    return " ".join(unicodedata.normalize("NFKD", words).lower().split())


def to_entropy(words: str) -> bytes:
    """Check a mnemonic (word count, English words, checksum) and return its raw entropy."""
    parts = normalize(words).split()
    if len(parts) not in WORD_COUNTS:
        counts = ", ".join(map(str, WORD_COUNTS))
        raise MnemonicError(f"mnemonic has {len(parts)} words; expected one of {counts}")
    index = _index()
    bits = 0
    for position, word in enumerate(parts, start=1):
        value = index.get(word)
        if value is None:
            raise MnemonicError(f"word {position} of {len(parts)} is not in the BIP-39 English word list")
        bits = bits << 11 | value
    total_bits = 11 * len(parts)
    checksum_bits = total_bits // 33
    entropy_bits = total_bits - checksum_bits
    entropy = (bits >> checksum_bits).to_bytes(entropy_bits // 8, "big")
    checksum = bits & ((1 << checksum_bits) - 1)
    expected = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    if checksum != expected:
        raise MnemonicError(
            f"mnemonic checksum does not match ({len(parts)} words): a word is wrong or the order is changed"
        )
    return entropy


def from_entropy(entropy: bytes) -> str:
    if len(entropy) not in (16, 20, 24, 28, 32):
        raise MnemonicError(f"entropy must be 16/20/24/28/32 bytes, got {len(entropy)}")
    return str(_english().to_mnemonic(entropy))


def generate(words: int = GENERATED_WORDS) -> str:
    """A fresh mnemonic from the OS CSPRNG (``secrets``), 24 words by default (256 bits)."""
    if words not in WORD_COUNTS:
        raise MnemonicError(f"cannot generate {words} words; expected one of {WORD_COUNTS}")
    return from_entropy(secrets.token_bytes(words * 11 * 32 // 33 // 8))


def bip39_seed(words: str, passphrase: str = "") -> bytes:
    """The 64-byte BIP-39 seed. Cardano's Icarus scheme does NOT use it; only the legacy code does."""
    to_entropy(words)
    salt = ("mnemonic" + unicodedata.normalize("NFKD", passphrase)).encode()
    return hashlib.pbkdf2_hmac("sha512", normalize(words).encode(), salt, 2048)
