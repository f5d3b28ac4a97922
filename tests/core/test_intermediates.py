"""Published intermediate values of the official Scavenger vector (seed, pre-ROM, offsets, ROM
chunks, VM init buffer, first instructions), checked stage by stage."""

from __future__ import annotations

from typing import Any

import pytest

from scavenger import _core

from .helpers import load_vectors

INTER: dict[str, Any] = load_vectors()["rom_intermediates_for_official_vector"]


@pytest.fixture(scope="module")
def stages() -> dict[str, Any]:
    return _core._rom_intermediates(
        INTER["rom_key"].encode(), INTER["rom_size"], INTER["pre_size"], INTER["mixing_numbers"], 4
    )


def test_seed(stages: dict[str, Any]) -> None:
    assert stages["seed"] == bytes.fromhex(INTER["seed_blake2b256_hex"])


def test_pre_rom_prefix(stages: dict[str, Any]) -> None:
    expected = bytes.fromhex(INTER["pre_rom_first_128_bytes_hex"])
    assert stages["pre_rom"][: len(expected)] == expected


def test_offsets(stages: dict[str, Any]) -> None:
    expected = bytes.fromhex(INTER["offsets_base_first_64_bytes_hex"])
    assert stages["base"][: len(expected)] == expected
    assert stages["diffs"] == INTER["offsets_diff_u16"]


def test_rom_chunks(stages: dict[str, Any]) -> None:
    expected = [bytes.fromhex(INTER[f"rom_chunk{i}_hex"]) for i in range(4)]
    assert stages["chunks"] == expected


def test_vm_init_and_first_instructions() -> None:
    init = _core._vm_init(bytes.fromhex(INTER["rom_digest_hex"]), INTER["preimage"].encode())
    assert init == bytes.fromhex(INTER["vm_init_buffer_448_hex"])
    program = _core._hprime(20 * 256, init[384:448])
    expected = [bytes.fromhex(h) for h in INTER["program_loop0_first_3_instructions_hex"]]
    assert [program[20 * i : 20 * i + 20] for i in range(3)] == expected


def test_internal_helpers_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        _core._vm_init(b"short", b"")
    with pytest.raises(ValueError, match="length"):
        _core._hprime(0, b"")
    with pytest.raises(ValueError, match="pre_size"):
        _core._rom_intermediates(b"k", 1 << 20, 1000, 4, 1)
