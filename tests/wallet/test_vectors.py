"""Every vector of cardano.json: CIP-3 master keys, CIP-1852 derivation, CIP-19 addresses, signData."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import cbor2
import pytest
from nacl.signing import SigningKey

from scavenger.wallet import Wallet, address, bip39, cip8, decode_address, hd, legacy


def test_icarus_master_keys(vectors: dict[str, Any]) -> None:
    assert len(vectors["icarus_master_key"]) == 2
    for vec in vectors["icarus_master_key"]:
        entropy = bip39.to_entropy(vec["mnemonic"])
        assert entropy.hex() == vec["entropy_hex"]
        root = hd.icarus_master_key(entropy, vec["passphrase"])
        assert root.to_bytes().hex() == vec["master_key_hex_kL_kR_chaincode"]


@pytest.mark.parametrize("i", [0, 1])
def test_cip1852_derivation(vectors: dict[str, Any], i: int) -> None:
    vec = vectors["cip1852_derivation"][i]
    assert bip39.to_entropy(vec["mnemonic"]).hex() == vec["entropy_hex"]
    root = hd.master_key_from_mnemonic(vec["mnemonic"], vec["passphrase"])
    assert root.to_bytes().hex() == vec["root_xprv_hex_kL_kR_chaincode"]
    assert root.derive(hd.account_path(0)).xpub.hex() == vec["account_xpub_hex_m_1852h_1815h_0h"]
    payment = root.derive(vec["payment_path"])
    assert payment.public_key.hex() == vec["payment_pubkey_hex"]
    assert payment.chain_code.hex() == vec["payment_chaincode_hex"]
    assert payment.xpub.hex() == vec["payment_xpub_hex"]
    assert address.key_hash(payment.public_key).hex() == vec["payment_keyhash_hex"]
    stake = root.derive(vec["stake_path"])
    assert stake.public_key.hex() == vec["stake_pubkey_hex"]
    assert address.key_hash(stake.public_key).hex() == vec["stake_keyhash_hex"]
    assert root.derive(vec["drep_path"]).public_key.hex() == vec["drep_pubkey_hex"]

    for net in ("mainnet", "testnet"):
        wallet = Wallet.from_mnemonic(vec["mnemonic"], net)
        assert wallet.address == vec[f"base_address_{net}"]
        assert wallet.enterprise_address == vec[f"enterprise_address_{net}"]
        assert wallet.reward_address == vec[f"reward_address_{net}"]
        assert wallet.pubkey_hex == vec["payment_pubkey_hex"]
        assert wallet.stake_pubkey_hex == vec["stake_pubkey_hex"]
        assert wallet.payment_xpub_hex == vec["payment_xpub_hex"]
        assert wallet.path == vec["payment_path"]
        base = decode_address(wallet.address)
        assert base.payment_key_hash.hex() == vec["payment_keyhash_hex"]
        assert base.stake_key_hash is not None
        assert base.stake_key_hash.hex() == vec["stake_keyhash_hex"]
        assert base.network == net
        ent = decode_address(wallet.enterprise_address)
        assert ent.stake_key_hash is None and ent.is_enterprise
        assert ent.payment_key_hash.hex() == vec["payment_keyhash_hex"]


def test_lengths_and_prefixes(vectors: dict[str, Any]) -> None:
    vec = vectors["cip1852_derivation"][0]
    assert len(vec["base_address_mainnet"]) == 103 and vec["base_address_mainnet"].startswith("addr1q")
    assert len(vec["base_address_testnet"]) == 108 and vec["base_address_testnet"].startswith("addr_test1q")
    ent = vec["enterprise_address_mainnet"]
    assert len(ent) == 58 and ent.startswith("addr1v")
    assert len(vec["reward_address_mainnet"]) == 59


def test_cip19_vectors(vectors: dict[str, Any]) -> None:
    c = vectors["cip19_addresses"]
    from scavenger.wallet import bech32

    hrp, pay = bech32.decode(c["payment_vk_bech32"])
    assert hrp == "addr_vk" and pay.hex() == c["payment_vk_hex"]
    hrp, stake = bech32.decode(c["stake_vk_bech32"])
    assert hrp == "stake_vk" and stake.hex() == c["stake_vk_hex"]
    ph, sh = address.key_hash(pay), address.key_hash(stake)
    assert address.base_address(ph, sh, "mainnet") == c["type_00_base_mainnet"]
    assert address.base_address(ph, sh, "testnet") == c["type_00_base_testnet"]
    assert address.enterprise_address(ph, "mainnet") == c["type_06_enterprise_mainnet"]
    assert address.enterprise_address(ph, "testnet") == c["type_06_enterprise_testnet"]
    assert address.reward_address(sh, "mainnet") == c["type_14_reward_mainnet"]
    # The note in the vectors: CIP-19's stake key is not the 12-word wallet's stake key.
    wallet = Wallet.from_mnemonic(vectors["cip1852_derivation"][0]["mnemonic"], "mainnet")
    assert wallet.pubkey_hex == c["payment_vk_hex"]
    assert wallet.address != c["type_00_base_mainnet"]
    assert wallet.enterprise_address == c["type_06_enterprise_mainnet"]


def _sign_vector(vectors: dict[str, Any], name_start: str) -> dict[str, Any]:
    matches = [v for v in vectors["sign_data"] if v["name"].startswith(name_start)]
    assert len(matches) == 1
    found: dict[str, Any] = matches[0]
    return found


def test_every_sign_data_vector_verifies(vectors: dict[str, Any]) -> None:
    assert len(vectors["sign_data"]) == 6
    for vec in vectors["sign_data"]:
        cose_key = cbor2.loads(bytes.fromhex(vec["cose_key"]))
        pubkey = cose_key[-2]
        if "pubkey" in vec:
            assert pubkey.hex() == vec["pubkey"]
            assert cip8.cose_key(pubkey).hex() == vec["cose_key"]
        signed = cip8.verify(vec["cose_sign1"], pubkey)
        assert signed.hashed is vec["hashed"]
        assert signed.address is not None
        assert signed.address == decode_raw(vec["address"])
        if vec["hashed"]:
            assert signed.payload.hex() == vec["payload_hex"]
            assert signed.payload == hashlib.blake2b(vec["message"].encode(), digest_size=28).digest()
        else:
            assert signed.message == vec["message"]
        assert cip8.signer_owns(signed.address, pubkey)


def decode_raw(text: str) -> bytes:
    from scavenger.wallet import bech32

    return bech32.decode(text)[1]


def test_production_registration_capture(vectors: dict[str, Any], captures: list[dict[str, Any]]) -> None:
    vec = _sign_vector(vectors, "PRODUCTION capture")
    signed = cip8.verify(vec["cose_sign1"], vec["pubkey"])
    assert signed.message == vectors["scavenger_tandc_message_v1_0"]
    assert signed.address == decode_address(vec["address"]).raw
    # The capture in scavenger_captures.json: the URL parts are address / signature / pubkey.
    url = captures[0]["request"]["url"]
    addr_text, sig_hex, pub_hex = url.rsplit("/", 3)[1:]
    assert (addr_text, sig_hex, pub_hex) == (vec["address"], vec["cose_sign1"], vec["pubkey"])
    assert cip8.verify(sig_hex, pub_hex).message == captures[0]["signed_message"]
    assert captures[0]["response"]["status"] == 201


@pytest.mark.parametrize("name", ["Scavenger T&C registration message", "Scavenger T&C message, enterprise"])
def test_our_signatures_byte_for_byte(vectors: dict[str, Any], name: str) -> None:
    vec = _sign_vector(vectors, name)
    wallet = Wallet.from_mnemonic(vec["mnemonic"], vec["network"])
    enterprise = vec["address_type"].startswith("enterprise")
    assert (wallet.enterprise_address if enterprise else wallet.address) == vec["address"]
    header = wallet.enterprise_address_bytes if enterprise else wallet.address_bytes
    assert header.hex() == vec["address_hex"]
    assert cip8.protected_header(header).hex() == vec["protected_hex"]
    payload = vec["message"].encode()
    assert cip8.sig_structure(cip8.protected_header(header), payload).hex() == vec["sig_structure_hex"]
    assert wallet.sign_raw(bytes.fromhex(vec["sig_structure_hex"])).hex() == vec["signature_hex"]
    assert wallet.sign(vec["message"], enterprise=enterprise) == vec["cose_sign1"]
    assert wallet.cose_key_hex == vec["cose_key"]
    assert vec["register_url_path"] == f"/register/{vec['address']}/{vec['cose_sign1']}/{wallet.pubkey_hex}"


def _plain_signer(key: SigningKey) -> Callable[[bytes], bytes]:
    return lambda message: bytes(key.sign(message).signature)


def test_plain_key_vectors_reproduced(vectors: dict[str, Any], captures: list[dict[str, Any]]) -> None:
    """cardano-signer (plain, hashed) and shadowharvester vectors: plain Ed25519 keys, same COSE builder."""
    for vec in (_sign_vector(vectors, "cardano-signer"), _sign_vector(vectors, "hashed payload")):
        key = SigningKey(bytes.fromhex(vec["secret_key_ed25519_seed_hex"]))
        assert bytes(key.verify_key).hex() == vec["pubkey"]
        raw = bytes.fromhex(vec["address_hex"])
        assert address.encode_address_bytes(raw) == vec["address"]
        payload = bytes.fromhex(vec["payload_hex"]) if vec["hashed"] else vec["message"].encode()
        built = cip8.sign(raw, payload, _plain_signer(key), hashed=vec["hashed"])
        assert built.hex() == vec["cose_sign1"]
        if "sig_structure_hex" in vec:
            assert cip8.sig_structure(cip8.protected_header(raw), payload).hex() == vec["sig_structure_hex"]
    sh = captures[1]
    key = SigningKey(bytes.fromhex(sh["secret_key_hex_32"]))
    assert bytes(key.verify_key).hex() == sh["pubkey_hex"]
    raw = decode_address(sh["address"]).raw
    built = cip8.sign(raw, sh["message"].encode(), _plain_signer(key))
    assert built.hex() == sh["signature_cose_sign1_hex"]
    assert cip8.verify(sh["signature_cose_sign1_hex"], sh["pubkey_hex"]).address == raw


def test_non_standard_example_is_recognised(vectors: dict[str, Any]) -> None:
    ns = vectors["non_standard_example"]
    assert bip39.bip39_seed(ns["mnemonic"]).hex() == ns["bip39_seed_hex"]
    assert legacy.legacy_seed(ns["mnemonic"]).hex() == ns["ed25519_seed_hex"]
    key = legacy.legacy_key(ns["mnemonic"], "mainnet")
    assert key.pubkey_hex == ns["pubkey_hex"]
    assert key.enterprise_address == ns["enterprise_address_mainnet"]
    assert legacy.is_legacy_key_line(ns["mnemonic"], ns["ed25519_seed_hex"])
    # ...and no CIP-1852 wallet of the same words has that key: Eternl/Lace cannot restore it.
    root = hd.master_key_from_mnemonic(ns["mnemonic"])
    for account in range(3):
        for role in (0, 1, 2):
            for index in range(3):
                derived = root.derive(f"m/1852'/1815'/{account}'/{role}/{index}")
                assert derived.public_key.hex() != ns["pubkey_hex"]
    standard = Wallet.from_mnemonic(ns["mnemonic"], "mainnet")
    assert not legacy.is_legacy_key_line(ns["mnemonic"], standard.pubkey_hex)
    assert standard.enterprise_address != ns["enterprise_address_mainnet"]


def test_tandc_message_in_vectors_is_the_spec_text(vectors: dict[str, Any]) -> None:
    msg = vectors["scavenger_tandc_message_v1_0"]
    assert len(msg.encode()) == 179
    assert msg.endswith("281ba5f69f4b943e3fb8a20390878a232787a04e4be22177f2472b63df01c200")
