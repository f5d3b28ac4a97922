"""CIP-19 Shelley addresses: key hashes, base/enterprise/reward address encoding and decoding."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from scavenger.wallet import bech32
from scavenger.wallet.errors import AddressError as AddressError

Network = Literal["mainnet", "testnet"]
NETWORKS: tuple[Network, ...] = ("mainnet", "testnet")

KEY_HASH_SIZE = 28
# Header type nibbles (CIP-19). Only key credentials are produced by our wallets.
TYPE_BASE_KEY_KEY = 0
TYPE_ENTERPRISE_KEY = 6
TYPE_REWARD_KEY = 14
_BASE_TYPES = frozenset({0, 1, 2, 3})
_ENTERPRISE_TYPES = frozenset({6, 7})
_REWARD_TYPES = frozenset({14, 15})


def parse_network(value: str) -> Network:
    """Return the canonical network name; raises ValueError naming the bad value."""
    name = value.strip().lower()
    aliases: dict[str, Network] = {
        "mainnet": "mainnet",
        "testnet": "testnet",
        "preprod": "testnet",
        "preview": "testnet",
    }
    if name not in aliases:
        raise ValueError(f"unknown Cardano network {value!r}: expected 'mainnet' or 'testnet'")
    return aliases[name]


def network_id(network: Network) -> int:
    """CIP-19 network nibble: 1 for mainnet, 0 for every testnet."""
    return 1 if network == "mainnet" else 0


def network_name(net_id: int) -> Network:
    return "mainnet" if net_id == 1 else "testnet"


def key_hash(public_key: bytes) -> bytes:
    """blake2b-224 of a 32-byte Ed25519 public key (not of the 64-byte xpub)."""
    if len(public_key) != 32:
        raise AddressError(f"public key must be 32 bytes, got {len(public_key)}")
    return hashlib.blake2b(public_key, digest_size=KEY_HASH_SIZE).digest()


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != KEY_HASH_SIZE:
        raise AddressError(f"{name} must be {KEY_HASH_SIZE} bytes, got {len(value)}")


def _payment_hrp(net_id: int) -> str:
    return "addr" if net_id == 1 else "addr_test"


def _reward_hrp(net_id: int) -> str:
    return "stake" if net_id == 1 else "stake_test"


def base_address_bytes(payment_hash: bytes, stake_hash: bytes, network: Network) -> bytes:
    _check_hash("payment key hash", payment_hash)
    _check_hash("stake key hash", stake_hash)
    return bytes([TYPE_BASE_KEY_KEY << 4 | network_id(network)]) + payment_hash + stake_hash


def enterprise_address_bytes(payment_hash: bytes, network: Network) -> bytes:
    _check_hash("payment key hash", payment_hash)
    return bytes([TYPE_ENTERPRISE_KEY << 4 | network_id(network)]) + payment_hash


def reward_address_bytes(stake_hash: bytes, network: Network) -> bytes:
    _check_hash("stake key hash", stake_hash)
    return bytes([TYPE_REWARD_KEY << 4 | network_id(network)]) + stake_hash


def encode_address_bytes(raw: bytes) -> str:
    """Bech32 text of raw Shelley address bytes, with the HRP chosen from the header."""
    if not raw:
        raise AddressError("empty address bytes")
    header = raw[0]
    net_id = header & 0x0F
    hrp = _reward_hrp(net_id) if header >> 4 in _REWARD_TYPES else _payment_hrp(net_id)
    return bech32.encode(hrp, raw)


def base_address(payment_hash: bytes, stake_hash: bytes, network: Network) -> str:
    return encode_address_bytes(base_address_bytes(payment_hash, stake_hash, network))


def enterprise_address(payment_hash: bytes, network: Network) -> str:
    return encode_address_bytes(enterprise_address_bytes(payment_hash, network))


def reward_address(stake_hash: bytes, network: Network) -> str:
    return encode_address_bytes(reward_address_bytes(stake_hash, network))


@dataclass(frozen=True)
class ShelleyAddress:
    """A decoded Shelley payment address (base or enterprise).

    ``payment_key_hash`` is the payment credential (a script hash for types 1, 3 and 7, see
    ``payment_is_script``); ``stake_key_hash`` is None for enterprise addresses.
    """

    network_id: int
    header: int
    payment_key_hash: bytes
    stake_key_hash: bytes | None
    raw: bytes
    text: str

    @property
    def type(self) -> int:
        return self.header >> 4

    @property
    def network(self) -> Network:
        return network_name(self.network_id)

    @property
    def is_base(self) -> bool:
        return self.type in _BASE_TYPES

    @property
    def is_enterprise(self) -> bool:
        return self.type in _ENTERPRISE_TYPES

    @property
    def payment_is_script(self) -> bool:
        return self.type in (1, 3, 7)

    @property
    def stake_is_script(self) -> bool:
        return self.type in (2, 3)

    @property
    def is_key_address(self) -> bool:
        """Base (key, key) or enterprise (key): the kinds a CIP-30 wallet can sign for with a payment key."""
        return self.type in (TYPE_BASE_KEY_KEY, TYPE_ENTERPRISE_KEY)

    def __str__(self) -> str:
        return self.text


def decode_address_bytes(raw: bytes) -> ShelleyAddress:
    """Decode raw base/enterprise address bytes (e.g. the COSE "address" header)."""
    if not raw:
        raise AddressError("empty address bytes")
    header = raw[0]
    addr_type, net_id = header >> 4, header & 0x0F
    if net_id not in (0, 1):
        raise AddressError(f"unknown network id {net_id} in address header 0x{header:02x}")
    if addr_type in _BASE_TYPES:
        expected = 1 + 2 * KEY_HASH_SIZE
    elif addr_type in _ENTERPRISE_TYPES:
        expected = 1 + KEY_HASH_SIZE
    elif addr_type in _REWARD_TYPES:
        raise AddressError("a reward (stake) address is not a payment address")
    else:
        raise AddressError(f"unsupported address type {addr_type} (header 0x{header:02x}): "
                           "expected a base (type 0-3) or enterprise (type 6-7) address")
    if len(raw) != expected:
        raise AddressError(f"address of type {addr_type} must be {expected} bytes, got {len(raw)}")
    payment = raw[1 : 1 + KEY_HASH_SIZE]
    stake = raw[1 + KEY_HASH_SIZE :] if addr_type in _BASE_TYPES else None
    return ShelleyAddress(net_id, header, payment, stake, raw, bech32.encode(_payment_hrp(net_id), raw))


def decode_address(text: str) -> ShelleyAddress:
    """Decode and validate a bech32 Shelley payment address (``addr1…`` / ``addr_test1…``).

    Checks the bech32 checksum, that the HRP matches the header's network nibble, the type and
    the length. Raises :class:`AddressError` naming the problem.
    """
    if not isinstance(text, str):
        raise AddressError(f"address must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if any(c.isspace() for c in stripped):
        # No address holds a space; words may be a mnemonic pasted in the wrong file: never echo them.
        shown = "(text with spaces, not shown)"
    else:
        shown = repr(stripped if len(stripped) <= 120 else stripped[:117] + "...")
    try:
        hrp, raw = bech32.decode(stripped)
    except bech32.Bech32Error as exc:
        raise AddressError(f"invalid address {shown}: {exc}") from None
    if hrp not in ("addr", "addr_test"):
        raise AddressError(f"invalid address {shown}: prefix {hrp!r} is not 'addr' or 'addr_test'")
    try:
        decoded = decode_address_bytes(raw)
    except AddressError as exc:
        raise AddressError(f"invalid address {shown}: {exc}") from None
    if hrp != _payment_hrp(decoded.network_id):
        raise AddressError(
            f"invalid address {shown}: prefix {hrp!r} does not match network id {decoded.network_id}"
        )
    return decoded


def validate_payment_address(text: str, network: Network) -> ShelleyAddress:
    """Decode ``text`` and require a key-based base/enterprise address on ``network``."""
    decoded = decode_address(text)
    if decoded.network != network:
        raise AddressError(f"address {decoded.text} is a {decoded.network} address, expected {network}")
    if not decoded.is_key_address:
        raise AddressError(f"address {decoded.text} is not a key-based base or enterprise address")
    return decoded
