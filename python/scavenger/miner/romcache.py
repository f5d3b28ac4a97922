"""One ROM per ``no_pre_mine`` key, shared by every wallet and thread of the process.

A real ROM is 1 GiB, and the key changes daily: the cache is pruned to the keys some open, unsolved challenge
still needs (the seed never evicted, growing 1 GiB a day until OOM). Building runs in a worker thread (the
native builder releases the GIL) and concurrent requests for one key share a single build.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

RomFactory = Callable[[bytes], Any]


class RomCache:
    def __init__(self, factory: RomFactory) -> None:
        self._factory = factory
        self._roms: dict[str, Any] = {}
        self._building: dict[str, asyncio.Future[Any]] = {}

    def has(self, key: str) -> bool:
        return key in self._roms

    def keys(self) -> list[str]:
        return sorted(self._roms)

    async def get(self, key: str) -> Any:
        rom = self._roms.get(key)
        if rom is not None:
            return rom
        pending = self._building.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            started = time.monotonic()
            # The ROM key is the ASCII text of no_pre_mine, not its hex-decoded bytes.
            rom = await asyncio.to_thread(self._factory, key.encode("ascii"))
            log.info("ROM for no_pre_mine %s… built in %.1f s", key[:12], time.monotonic() - started)
            self._roms[key] = rom
            future.set_result(rom)
            return rom
        except BaseException as exc:
            future.set_exception(exc)
            # Mark retrieved so a failed build nobody else awaited does not log "never retrieved".
            future.exception()
            raise
        finally:
            del self._building[key]

    def prune(self, needed: Iterable[str]) -> list[str]:
        """Drop ROMs no open challenge needs any more; returns the dropped keys."""
        keep = set(needed)
        dropped = [key for key in self._roms if key not in keep]
        for key in dropped:
            del self._roms[key]
            log.info("ROM for no_pre_mine %s… released", key[:12])
        return dropped
