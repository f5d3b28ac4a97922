"""The core's own rule for ROM parameters, asked before anything starts (``_core.validate_rom``): a setting
the core would refuse when it builds the ROM is refused at start instead, with the core's own words."""

from __future__ import annotations

from scavenger import _core

# rust/src/rom.rs MAX_SIZE. Only the fallback below uses it.
_MAX_SIZE = 1 << 34


def check_rom_params(size: int, pre_size: int) -> None:
    """Raises ValueError (the core's message) if ``Rom(key, size, pre_size)`` would be refused."""
    validate = getattr(_core, "validate_rom", None)
    if validate is None:
        _fallback(size, pre_size)
        return
    try:
        validate(size, pre_size)
    except TypeError as exc:  # only reachable with non-int input, which the settings parsers never produce
        raise ValueError(str(exc)) from None


def _fallback(size: int, pre_size: int) -> None:
    """The same rule, same words, for a native module built before validate_rom existed (a checkout whose
    scripts/setup.sh has not run since); tests/core/test_errors.py keeps the two equal."""
    if size == 0:
        raise ValueError("size must be > 0")
    if size % 64:
        raise ValueError(f"size must be a multiple of 64, got {size}")
    if size > _MAX_SIZE:
        raise ValueError(f"size must be <= {_MAX_SIZE}, got {size}")
    if pre_size < 64 or pre_size & (pre_size - 1):
        raise ValueError(f"pre_size must be a power of two >= 64, got {pre_size}")
    if pre_size > 0xFFFFFFFF:
        raise ValueError(f"pre_size must be < 4 GiB, got {pre_size}")
    if pre_size > size:
        raise ValueError(f"pre_size ({pre_size}) must not be larger than size ({size})")
