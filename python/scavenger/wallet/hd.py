"""CIP-3 Icarus master key, BIP32-Ed25519 (V2) child derivation, and Ed25519 signing with extended keys.

Reference: spec cardano-wallet.md §1.2-1.4 and §2.3. libsodium's *noclamp* scalar multiplication is
required because derived scalars are not RFC 8032-clamped and must not be re-clamped.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass, field

from nacl import bindings as nb

from scavenger.wallet import bip39
from scavenger.wallet.errors import DerivationError

HARDENED = 0x80000000
PURPOSE = 1852
COIN_TYPE = 1815
ROLE_EXTERNAL = 0
ROLE_STAKE = 2
_ICARUS_ITERATIONS = 4096


@dataclass(frozen=True)
class ExtendedPrivateKey:
    """A BIP32-Ed25519 key ``(kL, kR, chain_code)``. Its repr shows only the public key."""

    k_left: bytes = field(repr=False)
    k_right: bytes = field(repr=False)
    chain_code: bytes = field(repr=False)
    public_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.k_left) != 32 or len(self.k_right) != 32 or len(self.chain_code) != 32:
            raise DerivationError("extended key parts must each be 32 bytes")
        object.__setattr__(self, "public_key", nb.crypto_scalarmult_ed25519_base_noclamp(self.k_left))

    def __repr__(self) -> str:
        return f"ExtendedPrivateKey(public_key={self.public_key.hex()}, <private parts hidden>)"

    __str__ = __repr__

    def to_bytes(self) -> bytes:
        """96 bytes kL | kR | chain code (secret!)."""
        return self.k_left + self.k_right + self.chain_code

    @property
    def xpub(self) -> bytes:
        """64 bytes public key | chain code."""
        return self.public_key + self.chain_code

    def child(self, index: int) -> ExtendedPrivateKey:
        """BIP32-Ed25519 V2 child; hardened if ``index >= 2**31``."""
        if not 0 <= index < 1 << 32:
            raise DerivationError(f"child index {index} out of range 0..2^32-1")
        ib = index.to_bytes(4, "little")
        if index >= HARDENED:
            data, z_tag, c_tag = self.k_left + self.k_right, b"\x00", b"\x01"
        else:
            data, z_tag, c_tag = self.public_key, b"\x02", b"\x03"
        z = hmac.new(self.chain_code, z_tag + data + ib, hashlib.sha512).digest()
        chain = hmac.new(self.chain_code, c_tag + data + ib, hashlib.sha512).digest()[32:]
        # Only 28 bytes of ZL, times 8, added without reduction: keeps kL a multiple of 8 below 2^255.
        k_left = 8 * int.from_bytes(z[:28], "little") + int.from_bytes(self.k_left, "little")
        if k_left >= 1 << 256:
            raise DerivationError("derived scalar overflowed 256 bits")
        k_right = (int.from_bytes(z[32:], "little") + int.from_bytes(self.k_right, "little")) % (1 << 256)
        return ExtendedPrivateKey(k_left.to_bytes(32, "little"), k_right.to_bytes(32, "little"), chain)

    def derive(self, path: str | list[int]) -> ExtendedPrivateKey:
        key = self
        for index in parse_path(path) if isinstance(path, str) else path:
            key = key.child(index)
        return key

    def sign(self, message: bytes) -> bytes:
        """Pure Ed25519 over ``message`` with the extended key (spec §2.3): a standard 64-byte signature."""
        r = nb.crypto_core_ed25519_scalar_reduce(hashlib.sha512(self.k_right + message).digest())
        big_r = nb.crypto_scalarmult_ed25519_base_noclamp(r)
        h = nb.crypto_core_ed25519_scalar_reduce(hashlib.sha512(big_r + self.public_key + message).digest())
        s = nb.crypto_core_ed25519_scalar_add(nb.crypto_core_ed25519_scalar_mul(h, self.k_left), r)
        return bytes(big_r + s)


def icarus_master_key(entropy: bytes, passphrase: str = "") -> ExtendedPrivateKey:
    """CIP-3 Icarus: PBKDF2-HMAC-SHA512(passphrase, salt=entropy, 4096, 96) then clamp."""
    if len(entropy) not in (16, 20, 24, 28, 32):
        raise DerivationError(f"entropy must be 16-32 bytes, got {len(entropy)}")
    x = bytearray(
        hashlib.pbkdf2_hmac(
            "sha512", unicodedata.normalize("NFKD", passphrase).encode(), entropy, _ICARUS_ITERATIONS, 96
        )
    )
    x[0] &= 0b1111_1000
    x[31] &= 0b0001_1111
    x[31] |= 0b0100_0000
    return ExtendedPrivateKey(bytes(x[:32]), bytes(x[32:64]), bytes(x[64:]))


def master_key_from_mnemonic(words: str, passphrase: str = "") -> ExtendedPrivateKey:
    return icarus_master_key(bip39.to_entropy(words), passphrase)


def parse_path(path: str) -> list[int]:
    """``m/1852'/1815'/0'/0/0`` -> child indices (``'`` or ``h`` marks hardened)."""
    parts = path.strip().split("/")
    if not parts or parts[0] != "m":
        raise DerivationError(f"derivation path {path!r} must start with 'm/'")
    indices: list[int] = []
    for part in parts[1:]:
        hardened = part.endswith(("'", "h", "H"))
        digits = part[:-1] if hardened else part
        if not digits.isdigit() or int(digits) >= HARDENED:
            raise DerivationError(f"bad component {part!r} in derivation path {path!r}")
        indices.append(int(digits) + (HARDENED if hardened else 0))
    return indices


def account_path(account: int) -> str:
    check_index("account", account)
    return f"m/{PURPOSE}'/{COIN_TYPE}'/{account}'"


def payment_path(account: int, index: int) -> str:
    check_index("address index", index)
    return f"{account_path(account)}/{ROLE_EXTERNAL}/{index}"


def stake_path(account: int) -> str:
    return f"{account_path(account)}/{ROLE_STAKE}/0"


def check_index(name: str, value: int) -> int:
    """``value`` if it is a usable non-hardened index (an ``int``, not a ``bool``), else DerivationError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < HARDENED:
        raise DerivationError(f"{name} must be an integer in 0..{HARDENED - 1}, got {value!r}")
    return value
