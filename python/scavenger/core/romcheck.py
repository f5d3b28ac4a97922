"""The core's own rule for ROM parameters, asked before anything starts (``_core.validate_rom``): a setting
the core would refuse when it builds the ROM is refused at start instead, with the core's own words."""

from __future__ import annotations

from scavenger import _core


def check_rom_params(size: int, pre_size: int) -> None:
    """Raises ValueError (the core's message) if ``Rom(key, size, pre_size)`` would be refused."""
    validate = getattr(_core, "validate_rom", None)
    if validate is None:
        # A native module built before validate_rom existed (scripts/setup.sh rebuilds it): the ROM build
        # will still refuse bad parameters, only later.
        return
    try:
        validate(size, pre_size)
    except TypeError as exc:  # only reachable with non-int input, which the settings parsers never produce
        raise ValueError(str(exc)) from None
