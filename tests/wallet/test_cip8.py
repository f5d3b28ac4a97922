"""CIP-8 sign/verify round trip, both header forms, tamper detection and malformed input."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

from scavenger.wallet import Wallet, cip8
from scavenger.wallet.errors import Cip8Error

SIG0 = bytes(64)
WORDS = "test walk nut penalty hip pave soap entry language right filter choice"


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.from_mnemonic(WORDS, "mainnet")


@pytest.fixture(scope="module")
def other() -> Wallet:
    return Wallet.from_mnemonic(WORDS, "mainnet", account=1)


def test_round_trip_base_and_enterprise(wallet: Wallet) -> None:
    for message in ("Assign accumulated Scavenger rights to: " + wallet.address, "", "héllo ✓"):
        signed = cip8.verify(wallet.sign(message), wallet.pubkey)
        assert signed.message == message and signed.address == wallet.address_bytes and not signed.hashed
        ent = cip8.verify(wallet.sign(message, enterprise=True), wallet.pubkey_hex)
        assert ent.address == wallet.enterprise_address_bytes
    assert cip8.signer_owns(wallet.address_bytes, wallet.pubkey)


def test_structure_is_cip30(wallet: Wallet) -> None:
    obj = cbor2.loads(bytes.fromhex(wallet.sign("x")))
    assert isinstance(obj, list) and len(obj) == 4
    protected = cbor2.loads(obj[0])
    assert list(protected.items()) == [(1, -8), ("address", wallet.address_bytes)]
    assert obj[1] == {"hashed": False} and obj[2] == b"x" and len(obj[3]) == 64
    assert wallet.sign("x").startswith("845846a201276761646472657373583901")


def test_kid_header_form_and_tag18(wallet: Wallet) -> None:
    raw = wallet.address_bytes
    protected = cbor2.dumps({1: -8, 4: raw, "address": raw})
    payload = b"Assign accumulated Scavenger rights to: somebody"
    sig = wallet.sign_raw(cip8.sig_structure(protected, payload))
    cose = cbor2.dumps([protected, {"hashed": False}, payload, sig])
    assert cip8.verify(cose.hex(), wallet.pubkey).address == raw
    tagged = cbor2.dumps(cbor2.CBORTag(18, [protected, {"hashed": False}, payload, sig]))
    assert cip8.verify(tagged.hex(), wallet.pubkey).payload == payload
    # kid only (no "address"): the address is reported from the kid.
    kid_only = cbor2.dumps({1: -8, 4: raw})
    sig2 = wallet.sign_raw(cip8.sig_structure(kid_only, payload))
    assert cip8.verify(cbor2.dumps([kid_only, {}, payload, sig2]).hex(), wallet.pubkey).address == raw
    # No address header at all (whosbax style) still verifies, with address None.
    bare = cbor2.dumps({1: -8})
    sig3 = wallet.sign_raw(cip8.sig_structure(bare, payload))
    assert cip8.verify(cbor2.dumps([bare, {}, payload, sig3]).hex(), wallet.pubkey).address is None


def test_documented_donate_example_decodes(captures: list[dict[str, Any]]) -> None:
    example = captures[2]
    protected_raw, protected, unprotected, payload, _sig = cip8.decode(example["signature_cose_sign1_hex"])
    assert protected[1] == -8 and protected[4] == protected["address"]
    assert unprotected == {"hashed": False}
    assert payload.decode().startswith("Assign accumulated Scavenger rights to: addr_test1")
    assert cbor2.dumps(protected) == protected_raw


def _tamper(cose_hex: str, index: int, value: Any) -> str:
    obj = cbor2.loads(bytes.fromhex(cose_hex))
    obj[index] = value
    return str(cbor2.dumps(obj).hex())


def test_tamper_detection(wallet: Wallet, other: Wallet) -> None:
    good = wallet.sign("I agree")
    obj = cbor2.loads(bytes.fromhex(good))
    with pytest.raises(Cip8Error, match="does not verify"):
        cip8.verify(good, other.pubkey)
    with pytest.raises(Cip8Error, match="does not verify"):
        cip8.verify(_tamper(good, 2, b"I agreE"), wallet.pubkey)
    with pytest.raises(Cip8Error, match="does not verify"):
        cip8.verify(_tamper(good, 0, cip8.protected_header(other.address_bytes)), wallet.pubkey)
    flipped = bytearray(obj[3])
    flipped[10] ^= 1
    with pytest.raises(Cip8Error, match="does not verify"):
        cip8.verify(_tamper(good, 3, bytes(flipped)), wallet.pubkey)
    # The unprotected header is not signed: changing it must not make the message "hashed" silently valid.
    assert cip8.verify(_tamper(good, 1, {"hashed": True}), wallet.pubkey).hashed is True
    assert not cip8.signer_owns(wallet.address_bytes, other.pubkey)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("zz", "not valid hex"),
        ("ff", "not valid CBOR"),
        (cbor2.dumps([1, 2, 3]).hex(), "array of 4"),
        (cbor2.dumps(["a", {}, b"", b"\0" * 64]).hex(), "protected header is not a byte string"),
        (cbor2.dumps([cbor2.dumps([1]), {}, b"", b"\0" * 64]).hex(), "not a CBOR map"),
        (cbor2.dumps([cbor2.dumps({1: -7}), {}, b"", b"\0" * 64]).hex(), "expected -8"),
        (cbor2.dumps([cbor2.dumps({1: -8}), {}, None, b"\0" * 64]).hex(), "detached"),
        (cbor2.dumps([cbor2.dumps({1: -8}), {}, b"x", b"\0" * 10]).hex(), "64-byte"),
        (cbor2.dumps([cbor2.dumps({1: -8, "address": "addr1"}), {}, b"x", b"\0" * 64]).hex(), "not a byte"),
        (cbor2.dumps([cbor2.dumps({1: -8, 4: b"a", "address": b"b"}), {}, b"x", SIG0]).hex(), "different"),
        (cbor2.dumps(cbor2.CBORTag(98, [])).hex(), "tag 98"),
        ("00" * 9000, "too long"),
    ],
)
def test_malformed(wallet: Wallet, text: str, match: str) -> None:
    with pytest.raises(Cip8Error, match=match):
        cip8.verify(text, wallet.pubkey)


def test_bad_pubkeys(wallet: Wallet) -> None:
    good = wallet.sign("x")
    with pytest.raises(Cip8Error, match="64 hex"):
        cip8.verify(good, wallet.cose_key_hex)
    with pytest.raises(Cip8Error, match="not valid hex"):
        cip8.verify(good, "g" * 64)
    with pytest.raises(Cip8Error, match="32 bytes"):
        cip8.verify(good, b"\1" * 31)
