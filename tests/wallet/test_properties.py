"""Property tests (bounded): round trips and error detection over random inputs."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scavenger.wallet import Wallet, bech32, bip39, cip8, decode_address
from scavenger.wallet.errors import AddressError, Cip8Error, MnemonicError

WORDS = "test walk nut penalty hip pave soap entry language right filter choice"
WALLET = Wallet.from_mnemonic(WORDS, "mainnet")
ENTROPY_SIZES = st.sampled_from([16, 20, 24, 28, 32])


@settings(max_examples=200, deadline=None)
@given(size=ENTROPY_SIZES, data=st.data())
def test_mnemonic_entropy_round_trip(size: int, data: st.DataObject) -> None:
    entropy = data.draw(st.binary(min_size=size, max_size=size))
    words = bip39.from_entropy(entropy)
    assert len(words.split()) == size * 3 // 4
    assert bip39.to_entropy(words) == entropy


@settings(max_examples=100, deadline=None)
@given(entropy=st.binary(min_size=32, max_size=32), position=st.integers(0, 23), data=st.data())
def test_changing_one_word_is_caught_or_gives_another_wallet(
    entropy: bytes, position: int, data: st.DataObject
) -> None:
    words = bip39.from_entropy(entropy).split()
    replacement = data.draw(st.sampled_from(["abandon", "zoo", "legal", "about"]))
    if replacement == words[position]:
        return
    changed = " ".join([*words[:position], replacement, *words[position + 1 :]])
    try:
        other = bip39.to_entropy(changed)
    except MnemonicError as exc:
        assert "checksum" in str(exc)
    else:  # 1 in 256 substitutions keeps a valid checksum: it must then be different entropy
        assert other != entropy


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(min_size=0, max_size=80), hrp=st.sampled_from(["addr", "addr_test", "stake", "x"]))
def test_bech32_round_trip(payload: bytes, hrp: str) -> None:
    text = bech32.encode(hrp, payload)
    assert bech32.decode(text) == (hrp, payload)
    assert bech32.decode(text.upper()) == (hrp, payload)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(5, len(WALLET.address) - 1), char=st.sampled_from(bech32.CHARSET))
def test_single_character_errors_in_addresses_are_detected(position: int, char: str) -> None:
    address = WALLET.address
    if address[position] == char:
        return
    mutated = address[:position] + char + address[position + 1 :]
    with pytest.raises(AddressError):
        decode_address(mutated)


@settings(max_examples=40, deadline=None)
@given(message=st.text(max_size=300), flip=st.integers(0, 10_000))
def test_sign_verify_and_any_byte_flip(message: str, flip: int) -> None:
    signed_hex = WALLET.sign(message)
    assert cip8.verify(signed_hex, WALLET.pubkey).message == message
    raw = bytearray(bytes.fromhex(signed_hex))
    index = flip % len(raw)
    raw[index] ^= 0x01
    try:
        result = cip8.verify(raw.hex(), WALLET.pubkey)
    except Cip8Error:
        return
    # Only the unprotected header is outside the signature (COSE: it is not authenticated).
    unprotected_start = 1 + len(cbor2.dumps(cip8.protected_header(WALLET.address_bytes)))
    unprotected_end = unprotected_start + len(cbor2.dumps({"hashed": False}))
    assert unprotected_start <= index < unprotected_end
    assert result.payload == message.encode()
