"""Server-side checks of registration and donation signatures (CIP-8 via scavenger.wallet).

Each failure raises SignatureRejected carrying the exact reply text, so the routes stay thin."""

from __future__ import annotations

import re
from typing import Literal

from scavenger.sim import texts

Network = Literal["mainnet", "testnet"]
# fullmatch throughout: "$" would also match before a trailing newline (a decoded "%0A").
_HEX = re.compile(r"[0-9a-fA-F]*")
_PUBKEY = re.compile(r"[0-9a-fA-F]{64}")
# The real server names the test network "preprod" in its messages.
_NETWORK_LABEL = {"mainnet": "mainnet", "testnet": "preprod"}


class SignatureRejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_pubkey(text: str) -> bool:
    return bool(_PUBKEY.fullmatch(text))


def is_hex(text: str) -> bool:
    return bool(text) and len(text) % 2 == 0 and bool(_HEX.fullmatch(text))


def check_signature(
    *,
    address: str,
    signature: str,
    pubkey_hex: str,
    message: str,
    network: Network,
    prefix: str,
    mismatch: str,
) -> None:
    """Verify that ``signature`` is the address owner's CIP-8 signature over ``message``.

    ``prefix`` is the reply's lead-in ("CIP-30 signature verification failed: " for register,
    "Invalid CIP-30 signature failed: " for donate_to); ``mismatch`` the whole reply when the signed
    payload is not ``message`` (each route words it differently)."""
    from scavenger.wallet import cip8
    from scavenger.wallet.address import decode_address, key_hash
    from scavenger.wallet.errors import WalletError

    try:
        decoded = decode_address(address)
    except (WalletError, ValueError) as exc:
        raise SignatureRejected(f"{prefix}Invalid address: {exc}") from None
    got = _NETWORK_LABEL["mainnet" if decoded.network_id == 1 else "testnet"]
    if got != _NETWORK_LABEL[network]:
        raise SignatureRejected(texts.wrong_network(_NETWORK_LABEL[network], got, prefix))
    pubkey = bytes.fromhex(pubkey_hex)
    try:
        signed = cip8.verify(signature, pubkey)
    except (WalletError, ValueError) as exc:
        raise SignatureRejected(f"{prefix}{exc}") from None
    if signed.payload != message.encode():
        raise SignatureRejected(mismatch)
    if key_hash(pubkey) != decoded.payment_key_hash:
        raise SignatureRejected(f"{prefix}Public key does not match the address payment credential")
    if signed.address is not None and signed.address != decoded.raw:
        raise SignatureRejected(f"{prefix}Address in signature does not match provided address")
