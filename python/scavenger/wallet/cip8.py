"""CIP-8 / CIP-30 ``signData`` messages: build and verify untagged COSE_Sign1 structures.

The layout copies what CIP-30 wallets (Eternl, Lace) return and what the Scavenger API accepted
(spec scavenger-api.md §2.3): protected ``{1: -8, "address": raw}``, unprotected ``{"hashed": false}``,
payload = message bytes, Ed25519 over ``["Signature1", protected, b"", payload]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from scavenger.wallet.address import key_hash
from scavenger.wallet.errors import Cip8Error as Cip8Error

ALG_EDDSA = -8
_LABEL_ALG = 1
_LABEL_KID = 4
# A Scavenger message is < 300 bytes; this bounds the decoder's work on hostile input.
MAX_SIGNATURE_HEX = 16 * 1024


@dataclass(frozen=True)
class SignedMessage:
    """What a verified COSE_Sign1 says: the signed payload and the ``"address"`` header bytes.

    ``address`` falls back to the ``kid`` (label 4) header, and is None if neither is present.
    ``hashed`` is True when the payload is a blake2b-224 hash of the message (never used by Scavenger).
    """

    payload: bytes
    address: bytes | None
    hashed: bool = False

    @property
    def message(self) -> str:
        """The payload as UTF-8 text; raises Cip8Error if it is not valid UTF-8."""
        try:
            return self.payload.decode("utf-8")
        except UnicodeDecodeError:
            raise Cip8Error("signed payload is not valid UTF-8 text") from None


def protected_header(address_raw: bytes) -> bytes:
    # Insertion order = CBOR map order: int key 1 first, then "address", as wallets and CSL emit it.
    return bytes(cbor2.dumps({_LABEL_ALG: ALG_EDDSA, "address": address_raw}))


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return bytes(cbor2.dumps(["Signature1", protected, b"", payload]))


def cose_key(public_key: bytes) -> bytes:
    """CIP-30 ``DataSignature.key``: COSE_Key {1: 1 (OKP), 3: -8, -1: 6 (Ed25519), -2: pubkey}."""
    if len(public_key) != 32:
        raise Cip8Error(f"public key must be 32 bytes, got {len(public_key)}")
    return bytes(cbor2.dumps({1: 1, 3: ALG_EDDSA, -1: 6, -2: public_key}))


def sign(
    address_raw: bytes, payload: bytes, signer: Callable[[bytes], bytes], *, hashed: bool = False
) -> bytes:
    """Build the COSE_Sign1 bytes; ``signer`` returns a 64-byte Ed25519 signature of its input."""
    protected = protected_header(address_raw)
    signature = signer(sig_structure(protected, payload))
    if len(signature) != 64:
        raise Cip8Error(f"signer returned {len(signature)} bytes, expected a 64-byte Ed25519 signature")
    return bytes(cbor2.dumps([protected, {"hashed": hashed}, payload, signature]))


def _as_pubkey(pubkey: bytes | str) -> bytes:
    if isinstance(pubkey, str):
        text = pubkey.strip()
        if len(text) != 64:
            raise Cip8Error(f"public key must be 64 hex characters, got {len(text)}")
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise Cip8Error("public key is not valid hex") from None
    if len(pubkey) != 32:
        raise Cip8Error(f"public key must be 32 bytes, got {len(pubkey)}")
    return bytes(pubkey)


def _decode(data: bytes, what: str) -> Any:
    try:
        return cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several unrelated types on malformed input
        raise Cip8Error(f"{what} is not valid CBOR ({type(exc).__name__})") from None


def decode(signature_hex: str) -> tuple[bytes, Mapping[Any, Any], Mapping[Any, Any], bytes, bytes]:
    """Split a COSE_Sign1 hex string into (protected bytes, protected map, unprotected, payload, sig)."""
    if not isinstance(signature_hex, str):
        raise Cip8Error(f"signature must be a hex string, got {type(signature_hex).__name__}")
    text = signature_hex.strip()
    if len(text) > MAX_SIGNATURE_HEX:
        raise Cip8Error(f"signature is too long ({len(text)} hex characters, limit {MAX_SIGNATURE_HEX})")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise Cip8Error("signature is not valid hex") from None
    obj = _decode(raw, "signature")
    if isinstance(obj, cbor2.CBORTag):
        # Tag 18 (COSE_Sign1) is optional in COSE; CIP-30 wallets omit it, some libraries add it.
        if obj.tag != 18:
            raise Cip8Error(f"signature has CBOR tag {obj.tag}, expected none or 18 (COSE_Sign1)")
        obj = obj.value
    # Inside a tag cbor2 >= 6 yields immutable tuples/frozendicts instead of lists/dicts.
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise Cip8Error("signature is not a COSE_Sign1 array of 4 elements")
    protected_raw, unprotected, payload, sig = obj
    if not isinstance(protected_raw, bytes):
        raise Cip8Error("COSE_Sign1 protected header is not a byte string")
    protected = _decode(protected_raw, "protected header") if protected_raw else {}
    if not isinstance(protected, Mapping):
        raise Cip8Error("COSE_Sign1 protected header is not a CBOR map")
    if not isinstance(unprotected, Mapping):
        raise Cip8Error("COSE_Sign1 unprotected header is not a CBOR map")
    if payload is None:
        raise Cip8Error("COSE_Sign1 has a detached (null) payload")
    if not isinstance(payload, bytes):
        raise Cip8Error("COSE_Sign1 payload is not a byte string")
    if not isinstance(sig, bytes) or len(sig) != 64:
        raise Cip8Error("COSE_Sign1 signature is not a 64-byte Ed25519 signature")
    return protected_raw, protected, unprotected, payload, sig


def verify(signature_hex: str, pubkey: bytes | str) -> SignedMessage:
    """Verify a CIP-8 COSE_Sign1 (hex) against a raw 32-byte Ed25519 key (bytes or 64 hex).

    Accepts both header forms seen in production, ``{1:-8, "address"}`` and ``{1:-8, 4:addr, "address"}``.
    Raises :class:`Cip8Error` if the structure is malformed, the algorithm is not EdDSA, or the
    signature does not verify. It does not compare the address with the key: see :func:`signer_owns`.
    """
    key = _as_pubkey(pubkey)
    protected_raw, protected, unprotected, payload, sig = decode(signature_hex)
    alg = protected.get(_LABEL_ALG)
    if alg != ALG_EDDSA:
        raise Cip8Error(f"protected header alg is {alg!r}, expected -8 (EdDSA)")
    address = protected.get("address")
    kid = protected.get(_LABEL_KID)
    if address is not None and not isinstance(address, bytes):
        raise Cip8Error("protected header 'address' is not a byte string")
    if kid is not None and not isinstance(kid, bytes):
        raise Cip8Error("protected header kid (4) is not a byte string")
    if address is not None and kid is not None and kid != address:
        raise Cip8Error("protected header kid (4) and 'address' name different addresses")
    hashed = unprotected.get("hashed", False)
    if not isinstance(hashed, bool):
        raise Cip8Error("unprotected header 'hashed' is not a boolean")
    try:
        VerifyKey(key).verify(sig_structure(protected_raw, payload), sig)
    except BadSignatureError:
        raise Cip8Error("Ed25519 signature does not verify for this public key and payload") from None
    except Exception as exc:  # e.g. a public key that is not a curve point
        raise Cip8Error(f"cannot verify with this public key ({type(exc).__name__})") from None
    return SignedMessage(payload=payload, address=address if address is not None else kid, hashed=hashed)


def signer_owns(address_raw: bytes, pubkey: bytes | str) -> bool:
    """True if the address's payment credential is blake2b-224 of ``pubkey`` (what the server assumes)."""
    key = _as_pubkey(pubkey)
    return len(address_raw) >= 29 and address_raw[1:29] == key_hash(key)
