"""The simulator's Ed25519 receipt key. The real server key is unpublished; ours is created once per
state file and served at /_sim/info so tests can check receipts."""

from __future__ import annotations

import nacl.signing


class ReceiptSigner:
    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("receipt key seed must be 32 bytes")
        self._key = nacl.signing.SigningKey(seed)

    def __repr__(self) -> str:
        return f"ReceiptSigner(public_key={self.public_key_hex})"

    @property
    def public_key_hex(self) -> str:
        return bytes(self._key.verify_key).hex()

    def sign(self, preimage: str, timestamp: str) -> str:
        """Signature over preimage + timestamp, as the API documentation describes receipts."""
        return bytes(self._key.sign((preimage + timestamp).encode()).signature).hex()
