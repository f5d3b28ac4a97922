"""Address decoding errors, bech32 edge cases, mnemonic validation that never echoes words."""

from __future__ import annotations

import pytest

from scavenger.wallet import Wallet, bech32, bip39, decode_address
from scavenger.wallet.address import parse_network, validate_payment_address
from scavenger.wallet.errors import AddressError, MnemonicError

BASE = (
    "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3jcu5d8ps7zex2k2xt3uqxgjqnnj83ws8lhrn648jjxtwqfjkjv7"
)
ENT = "addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8"
WORDS = "test walk nut penalty hip pave soap entry language right filter choice"


def test_decode_and_reencode() -> None:
    base = decode_address(BASE)
    assert base.header == 0x01 and base.network_id == 1 and base.is_base and base.is_key_address
    assert base.text == BASE and str(base) == BASE and len(base.raw) == 57
    assert decode_address(BASE.upper()).text == BASE
    ent = decode_address(ENT)
    assert ent.header == 0x61 and ent.stake_key_hash is None
    assert validate_payment_address(BASE, "mainnet") == base


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (BASE[:-1] + ("q" if BASE[-1] != "q" else "p"), "checksum"),
        (BASE.replace("addr1", "addx1"), "checksum"),
        ("stake1uyevw2xnsc0pvn9t9r9c7qryfqfeerchgrlm3ea2nefr9hqxdekzz", "prefix 'stake'"),
        ("addr1", "separator|shorter"),
        (BASE[:10] + "b" + BASE[11:], "alphabet"),
        (BASE[:20] + BASE[20:].upper(), "mixes"),
        ("", "separator"),
    ],
)
def test_bad_addresses(text: str, match: str) -> None:
    with pytest.raises(AddressError, match=match):
        decode_address(text)


def test_network_mismatch_and_kind() -> None:
    # An address whose HRP says mainnet but whose header says testnet (the old Adalite-era example).
    raw = bytearray(decode_address(BASE).raw)
    raw[0] = 0x00
    with pytest.raises(AddressError, match="does not match network"):
        decode_address(bech32.encode("addr", bytes(raw)))
    with pytest.raises(AddressError, match="expected testnet"):
        validate_payment_address(BASE, "testnet")
    with pytest.raises(AddressError, match="must be 57 bytes"):
        decode_address(bech32.encode("addr", bytes(raw[:-1])))
    with pytest.raises(AddressError, match="unsupported address type 8"):
        decode_address(bech32.encode("addr", b"\x81" + bytes(28)))
    with pytest.raises(ValueError, match="unknown Cardano network 'moon'"):
        parse_network("moon")
    assert parse_network("Preprod") == "testnet"


def test_mnemonic_generation() -> None:
    words = bip39.generate()
    assert len(words.split()) == 24
    assert len(bip39.to_entropy(words)) == 32
    assert bip39.generate() != words
    assert bip39.from_entropy(bip39.to_entropy(words)) == words


def test_mnemonic_errors_never_echo_words() -> None:
    words = WORDS.split()
    cases = [
        (" ".join(words[:11]), "has 11 words"),
        (" ".join([*words[:4], "zebraz", *words[5:]]), "word 5 of 12 is not in the BIP-39"),
        (" ".join([*words[:11], "walk"]), "checksum does not match"),
        (" ".join([words[1], words[0], *words[2:]]), "checksum does not match"),
    ]
    for text, match in cases:
        with pytest.raises(MnemonicError, match=match) as info:
            Wallet.from_mnemonic(text, "mainnet")
        message = str(info.value)
        assert "zebraz" not in message
        assert not any(f" {w} " in f" {message} " for w in words if len(w) > 3), message
        assert info.value.__cause__ is None


def test_mnemonic_normalisation() -> None:
    a = Wallet.from_mnemonic(WORDS, "mainnet")
    b = Wallet.from_mnemonic("  " + WORDS.upper().replace(" ", "\n  ") + "\t", "mainnet")
    assert a.address == b.address and b.mnemonic == WORDS


def test_secrets_absent_from_repr() -> None:
    w = Wallet.from_mnemonic(WORDS, "mainnet")
    key = w._payment_key
    for text in (repr(w), str(w), repr(key), str(key), f"{w}", repr([w])):
        assert "test walk" not in text and "walk" not in text
        assert key.k_left.hex() not in text and key.k_right.hex() not in text
    assert w.pubkey_hex in repr(w)
    import pickle

    clone = pickle.loads(pickle.dumps(w))
    assert clone == w and clone.address == w.address
    assert key.k_left not in pickle.dumps(w)
