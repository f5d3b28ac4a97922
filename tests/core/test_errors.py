"""Bad input to the native core raises a clear Python exception, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scavenger.core import Rom


@pytest.fixture(scope="module")
def rom() -> Rom:
    return Rom(b"errors", size=1 << 16, pre_size=1 << 12)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        (("key",), {"size": 1 << 16}, TypeError, "key must be bytes"),
        ((b"k",), {"size": 0}, ValueError, "size must be > 0"),
        ((b"k",), {"size": 1000}, ValueError, "multiple of 64"),
        ((b"k",), {"size": -64}, ValueError, "size"),
        ((b"k",), {"size": 2**70}, ValueError, "size"),
        ((b"k",), {"size": "1024"}, TypeError, "size must be an int"),
        ((b"k",), {"size": 1.5}, TypeError, "size must be an int"),
        ((b"k",), {"size": 1 << 16, "pre_size": 1000}, ValueError, "power of two"),
        ((b"k",), {"size": 1 << 16, "pre_size": 0}, ValueError, "pre_size"),
        ((b"k",), {"size": 1 << 16, "pre_size": 32}, ValueError, "pre_size"),
        ((b"k",), {"size": 1 << 16, "pre_size": 1 << 17}, ValueError, "larger than size"),
        ((b"k",), {"size": 1 << 16, "pre_size": 1 << 12, "mixing_numbers": 0}, ValueError, "mixing"),
        ((b"k",), {"size": 1 << 16, "pre_size": True}, TypeError, "pre_size"),
        ((b"k",), {"size": 1 << 45}, ValueError, "size must be <="),
        # H' lengths are 32-bit: these once panicked (PanicException, a BaseException) in the build.
        ((b"k",), {"size": 1 << 32, "full_random": True}, ValueError, "size must be < 4 GiB"),
        ((b"k",), {"size": 1 << 33, "pre_size": 1 << 32}, ValueError, "pre_size must be < 4 GiB"),
    ],
)
def test_rom_rejects(args: tuple[Any, ...], kwargs: dict[str, Any], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        Rom(*args, **kwargs)


def test_full_random_ignores_two_step_parameters() -> None:
    rom = Rom(b"k", size=1 << 12, pre_size=1000, full_random=True)
    assert len(rom.digest()) == 64
    assert rom.size == 1 << 12


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"preimage": "text"}, TypeError, "preimage must be bytes"),
        ({"preimage": b"x", "nb_loops": 1}, ValueError, "nb_loops must be >= 2"),
        ({"preimage": b"x", "nb_instrs": 255}, ValueError, "nb_instrs must be >= 256"),
        ({"preimage": b"x", "nb_loops": -1}, ValueError, "nb_loops"),
        ({"preimage": b"x", "nb_instrs": 2**40}, ValueError, "nb_instrs"),
    ],
)
def test_hash_rejects(rom: Rom, kwargs: dict[str, Any], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        rom.hash(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"suffix": "s"}, TypeError, "suffix must be bytes"),
        ({"start": -1}, ValueError, "start"),
        ({"start": 2**64}, ValueError, "start"),
        ({"count": -1}, ValueError, "count"),
        ({"count": 2**64 + 1}, ValueError, "count"),
        ({"start": 2**64 - 2, "count": 3}, ValueError, "overflows"),
        ({"start": 1, "count": 2**64}, ValueError, "overflows"),
        ({"mask": 2**32}, ValueError, "mask"),
        ({"mask": -1}, ValueError, "mask"),
        ({"mask": "000FFFFF"}, TypeError, "mask must be an int"),
        ({"threads": 0}, ValueError, "threads"),
        ({"threads": 100_000}, ValueError, "threads"),
        ({"nb_loops": 0}, ValueError, "nb_loops"),
        ({"nb_instrs": 1}, ValueError, "nb_instrs"),
    ],
)
def test_search_rejects(rom: Rom, kwargs: dict[str, Any], exc: type[Exception], match: str) -> None:
    call: dict[str, Any] = {"suffix": b"s", "start": 0, "count": 1, "mask": 0xFFFFFFFF, **kwargs}
    with pytest.raises(exc, match=match):
        rom.search(**call)


def test_repr_is_informative(rom: Rom) -> None:
    assert "size=65536" in repr(rom)
    result = rom.search(b"s", 0, 1, 0xFFFFFFFF, nb_loops=2)
    assert "nonce=0x0000000000000000" in repr(result)


@pytest.mark.parametrize(
    ("size", "pre_size"),
    [(1 << 30, 16 << 20), (0, 64), (100, 64), (1 << 40, 1 << 20), (1024, 100), (1024, 2048), (64, 64),
     (1 << 34, 1 << 32), ((1 << 34) + 64, 64), (1 << 20, 0), (1 << 33, (1 << 32) - 1)],
)
def test_rom_settings_are_checked_by_the_cores_rule(size: int, pre_size: int) -> None:
    """validate_rom refuses exactly what Rom() refuses, in the same words, without building anything; the
    Python fallback (for an older native build) says the same."""
    from scavenger._core import validate_rom
    from scavenger.core.romcheck import _fallback

    def outcome(check: Callable[[], object]) -> str:
        try:
            check()
        except ValueError as exc:
            return str(exc)
        return "ok"

    native = outcome(lambda: validate_rom(size, pre_size))
    assert outcome(lambda: _fallback(size, pre_size)) == native
    if native != "ok":
        assert outcome(lambda: Rom(b"k", size, pre_size)) == native
