"""Shared fixtures of the core tests: ROMs built once per session."""

from __future__ import annotations

from typing import Any

import pytest

from scavenger.core import Rom

from .helpers import RomFactory


@pytest.fixture(scope="session")
def rom_cache() -> RomFactory:
    """Builds each distinct ROM once per session (a 1 GiB build takes seconds)."""
    cache: dict[tuple[Any, ...], Rom] = {}

    def get(key: bytes, **kwargs: Any) -> Rom:
        ident = (key, *sorted(kwargs.items()))
        if ident not in cache:
            cache[ident] = Rom(key, **kwargs)
        return cache[ident]

    return get
