"""Solution checking with the real AshMaize core: one ROM per no_pre_mine, built once and reused."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from scavenger.sim.schedule import Challenge

log = logging.getLogger(__name__)

# Two days overlap (yesterday's challenges stay open for 24 periods), so two ROMs are always enough.
_MAX_ROMS = 2


@dataclass(frozen=True)
class RomParams:
    size: int
    pre_size: int

    def __post_init__(self) -> None:
        if self.size <= 0 or self.pre_size <= 0:
            raise ValueError(f"ROM sizes must be positive, got size={self.size} pre_size={self.pre_size}")
        if self.pre_size > self.size:
            raise ValueError(f"ROM pre_size {self.pre_size} exceeds size {self.size}")


class SolutionChecker:
    def __init__(self, params: RomParams) -> None:
        self.params = params
        self._roms: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}
        self._warming: set[str] = set()

    def warm(self, no_pre_mine: str) -> None:
        """Build the ROM in the background, so the first submission of a day does not wait seconds for
        a 1 GiB build while the miner's request times out."""
        with self._lock:
            if no_pre_mine in self._roms or no_pre_mine in self._warming:
                return
            self._warming.add(no_pre_mine)
        threading.Thread(target=self._warm, args=(no_pre_mine,), name="rom-warm", daemon=True).start()

    def _warm(self, no_pre_mine: str) -> None:
        try:
            self._rom(no_pre_mine)
        except Exception:
            log.exception("building the ROM in the background failed")
        finally:
            with self._lock:
                self._warming.discard(no_pre_mine)

    def _rom(self, no_pre_mine: str) -> Any:
        from scavenger.core import Rom, rom_key

        with self._lock:
            rom = self._roms.get(no_pre_mine)
            if rom is not None:
                self._roms.move_to_end(no_pre_mine)
                return rom
            build_lock = self._building.setdefault(no_pre_mine, threading.Lock())
        # Built outside the cache lock: a 1 GiB ROM takes seconds and other days must stay served.
        with build_lock:
            with self._lock:
                rom = self._roms.get(no_pre_mine)
            if rom is None:
                rom = Rom(rom_key(no_pre_mine), size=self.params.size, pre_size=self.params.pre_size)
                with self._lock:
                    self._roms[no_pre_mine] = rom
                    while len(self._roms) > _MAX_ROMS:
                        self._roms.popitem(last=False)
                    self._building.pop(no_pre_mine, None)
        return rom

    def preimage(self, nonce: str, address: str, challenge: Challenge) -> bytes:
        from scavenger.core import build_preimage_suffix

        suffix: bytes = build_preimage_suffix(
            address,
            challenge.challenge_id,
            challenge.difficulty,
            challenge.no_pre_mine,
            challenge.latest_submission,
            challenge.no_pre_mine_hour,
        )
        return nonce.encode("ascii") + suffix

    def check(self, nonce: str, address: str, challenge: Challenge) -> tuple[bool, bytes, bytes]:
        """(meets difficulty, digest, preimage). Blocking: call from a worker thread."""
        from scavenger.core import meets_difficulty, parse_difficulty

        preimage = self.preimage(nonce, address, challenge)
        digest: bytes = self._rom(challenge.no_pre_mine).hash(preimage)
        return bool(meets_difficulty(digest, parse_difficulty(challenge.difficulty))), digest, preimage
