"""Every AshMaize vector of the research file, byte for byte (ROM digest and hash)."""

from __future__ import annotations

from typing import Any

import pytest

from scavenger.core import Rom

from .helpers import SMALL_ROM_LIMIT, RomFactory, decode, load_vectors, rom_args

DATA = load_vectors()
VECTORS: list[dict[str, Any]] = DATA["vectors"]
SMALL = [v for v in VECTORS if v["rom_size"] <= SMALL_ROM_LIMIT]
LARGE = [v for v in VECTORS if v["rom_size"] > SMALL_ROM_LIMIT]
VARIANTS: list[dict[str, Any]] = DATA["non_matching_variants"]


def _check(vector: dict[str, Any], rom_cache: RomFactory) -> None:
    rom = rom_cache(decode(vector["rom_key"], vector["rom_key_encoding"]), **rom_args(vector))
    assert rom.digest().hex() == vector["rom_digest_hex"]
    preimage = decode(vector["preimage"], vector["preimage_encoding"])
    digest = rom.hash(preimage, nb_loops=vector["nb_loops"], nb_instrs=vector["nb_instrs"])
    assert digest.hex() == vector["digest_hex"]


def test_the_file_has_both_kinds() -> None:
    assert len(SMALL) >= 15
    assert len(LARGE) >= 5


@pytest.mark.parametrize("vector", SMALL, ids=[f"v{v['id']}" for v in SMALL])
def test_small_rom_vector(vector: dict[str, Any], rom_cache: RomFactory) -> None:
    _check(vector, rom_cache)


@pytest.mark.slow
@pytest.mark.parametrize("vector", LARGE, ids=[f"v{v['id']}" for v in LARGE])
def test_real_parameter_vector(vector: dict[str, Any], rom_cache: RomFactory) -> None:
    _check(vector, rom_cache)


def _variant(what: str) -> dict[str, Any]:
    matches = [v for v in VARIANTS if what in v["what"]]
    assert len(matches) == 1, what
    return matches[0]


def _official() -> dict[str, Any]:
    return next(v for v in VECTORS if v["digest_hex"].startswith("000694200fb04137"))


@pytest.mark.slow
def test_hex_decoded_key_does_not_match(rom_cache: RomFactory) -> None:
    variant = _variant("hex-DECODED")
    rom = rom_cache(
        bytes.fromhex(variant["rom_key_hex"]),
        size=variant["rom_size"],
        pre_size=variant["pre_size"],
        mixing_numbers=variant["mixing_numbers"],
    )
    assert rom.digest().hex() == variant["rom_digest_hex"]
    digest = rom.hash(variant["preimage"].encode())
    assert digest.hex() == variant["digest_hex"]
    assert digest.hex() != _official()["digest_hex"]


@pytest.mark.slow
def test_address_typo_does_not_match(rom_cache: RomFactory) -> None:
    variant = _variant("typo")
    official = _official()
    rom = rom_cache(variant["rom_key"].encode(), **rom_args(official))
    digest = rom.hash(variant["preimage"].encode())
    assert digest.hex() == variant["digest_hex"]
    assert digest.hex() != official["digest_hex"]


@pytest.mark.parametrize(
    ("what", "key", "kwargs", "preimage"),
    [
        ("test_eq", b"123", {"size": 10 << 20, "pre_size": 16384, "mixing_numbers": 4}, b"hello"),
        ("doc-test", b"seed", {"size": 16384, "full_random": True}, b"salt"),
    ],
)
def test_semantics_changing_fork_does_not_match(
    what: str, key: bytes, kwargs: dict[str, Any], preimage: bytes, rom_cache: RomFactory
) -> None:
    variant = _variant(what)
    digest = rom_cache(key, **kwargs).hash(preimage)
    assert digest.hex() != variant["digest_hex"]
    reference = next(
        v
        for v in SMALL
        if v["rom_key"] == key.decode()
        and v["preimage"] == preimage.decode()
        and v["nb_loops"] == 8
        and v["nb_instrs"] == 256
        and v["rom_size"] == kwargs["size"]
    )
    assert digest.hex() == reference["digest_hex"]


def test_rom_digest_is_stable_across_builds() -> None:
    a = Rom(b"twice", size=1 << 20, pre_size=1 << 14)
    b = Rom(b"twice", size=1 << 20, pre_size=1 << 14)
    assert a.digest() == b.digest()
    assert a.hash(b"x") == b.hash(b"x")
