"""The mining loop: one native search batch at a time, on the best (wallet, challenge) pair.

All MINER_THREADS threads work on one pair per batch (``rom.search`` splits the nonce range natively, with
the GIL released), so no core is ever idle waiting for Python. Batches last about one second so that new
challenges, deadlines and shutdown are noticed quickly; between batches the plan is recomputed, and the
search position of every pair is kept in the journal, so switching pairs or restarting loses no work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from scavenger.core import build_preimage_suffix, format_nonce, parse_difficulty
from scavenger.core.opencl import BackendMismatch
from scavenger.miner.journal import Journal, StoredChallenge
from scavenger.miner.romcache import RomCache
from scavenger.miner.scheduler import Work, expected_hashes, plan
from scavenger.miner.services import _wait_either
from scavenger.miner.state import ChallengeState, CurrentWork, MinerState

log = logging.getLogger(__name__)

TARGET_BATCH_SECONDS = 1.0
MAX_BATCH = 1 << 26
NONCE_LIMIT = (1 << 64) - 1
PROGRESS_SAVE_SECONDS = 10.0


class Engine:
    def __init__(
        self,
        *,
        journal: Journal,
        roms: RomCache,
        addresses: list[str],
        threads: int,
        state: MinerState,
        stop: asyncio.Event,
        on_solution: Callable[[], None],
        on_hashes: Callable[[int], None],
    ) -> None:
        self._journal = journal
        self._roms = roms
        self._addresses = addresses
        self._threads = threads
        self._state = state
        self._stop = stop
        self._on_solution = on_solution
        self._on_hashes = on_hashes
        self.wake = asyncio.Event()
        # Start small: the first batch measures the real speed (1 GiB ROM vs a test ROM differ 10x).
        self._batch = max(16, 8 * threads)
        self._progress = journal.all_progress()
        self._dirty: set[tuple[str, str]] = set()
        self._saved_at = time.monotonic()
        self._open: list[StoredChallenge] = []
        # Pairs whose challenge cannot be mined (malformed field): skipped, not retried every batch.
        self._broken: set[tuple[str, str]] = set()

    def _plan(self) -> list[Work]:
        now = time.time()
        stored = self._journal.challenges(open_after=now)
        self._open = stored
        solved = self._journal.solved_pairs()
        work = plan(((c.body, c.deadline) for c in stored), self._addresses, solved | self._broken, now)
        self._state.challenges = [
            ChallengeState(
                challenge_id=c.challenge_id,
                difficulty=str(c.body.get("difficulty", "")),
                deadline=c.deadline,
                solved_by=sum(1 for a in self._addresses if (a, c.challenge_id) in solved),
                tried=sum(self._progress.get((a, c.challenge_id), (0, 0))[1] for a in self._addresses),
            )
            for c in stored
        ]
        return work

    async def run(self) -> None:
        try:
            await self._loop()
        finally:
            self.flush_progress()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            work = self._plan()
            # Keep the newest challenge's ROM even when it is fully solved: the next hourly challenge of the
            # same day uses the same key, and rebuilding 1 GiB every hour would waste seconds of mining.
            newest = max(self._open, key=lambda c: c.deadline, default=None)
            keep = {w.rom_key for w in work} | ({str(newest.body["no_pre_mine"])} if newest else set())
            self._roms.prune(keep)
            if not work:
                self._state.current = None
                self._state.phase = "idle"
                await self._idle(5.0)
                continue
            try:
                await self._batch_on(work[0])
            except BackendMismatch:
                # The device disagreed with the CPU core: nothing of that batch is recorded or submitted, the
                # device is stopped for good (logged once by the backend) and the CPU core redoes the batch.
                continue
            except (KeyError, TypeError, ValueError):
                # A malformed challenge must not stop the other pairs: skip it for the rest of this run.
                log.exception("challenge %s cannot be mined; skipping it", work[0].challenge_id)
                self._broken.add((work[0].address, work[0].challenge_id))
            except Exception:
                log.exception("mining %s for %s failed", work[0].challenge_id, work[0].address[:20])
                await self._idle(5.0)

    async def _idle(self, seconds: float) -> None:
        self.wake.clear()
        await _wait_either(self._stop, self.wake, seconds)

    async def _batch_on(self, work: Work) -> None:
        body: dict[str, Any] = work.challenge
        if not self._roms.has(work.rom_key):
            self._state.phase = "building ROM"
        rom = await self._roms.get(work.rom_key)
        if self._stop.is_set():
            return
        difficulty = str(body["difficulty"])
        suffix = build_preimage_suffix(
            work.address,
            work.challenge_id,
            difficulty,
            str(body["no_pre_mine"]),
            str(body["latest_submission"]),
            str(body["no_pre_mine_hour"]),
        )
        mask = parse_difficulty(difficulty)
        key = (work.address, work.challenge_id)
        start, tried = self._progress.get(key, (0, 0))
        # A device searcher launches fixed-size batches: whole ones only, so no launch runs a part-empty wave.
        quantum = int(getattr(rom, "batch_quantum", 1))
        wanted = max(quantum, self._batch // quantum * quantum)
        count = max(1, min(wanted, NONCE_LIMIT - start + 1))
        self._state.phase = "mining"
        self._state.current = CurrentWork(
            work.address, work.challenge_id, difficulty, tried, expected_hashes(difficulty), work.deadline
        )
        began = time.monotonic()
        result = await asyncio.to_thread(rom.search, suffix, start, count, mask, self._threads)
        elapsed = time.monotonic() - began
        hashes = int(result.hashes)
        self._state.meter.add(hashes, elapsed)
        self._on_hashes(hashes)
        tried += hashes
        self._state.current.tried = tried
        self._tune(count, hashes, elapsed, found=result.nonce is not None)
        if result.nonce is not None:
            nonce = format_nonce(int(result.nonce))
            preimage = nonce + suffix.decode("ascii")
            digest = bytes(result.hash or b"").hex()
            # Committed (fsync) before the submitter can see it: a kill -9 from here on loses nothing.
            self._journal.record_solution(
                work.address, work.challenge_id, nonce, preimage, digest, hashes=tried
            )
            self._progress[key] = (int(result.nonce) + 1, tried)
            log.info(
                "solution for %s by %s… nonce %s after %d hashes",
                work.challenge_id,
                work.address[:24],
                nonce,
                tried,
            )
            self._on_solution()
        else:
            self._progress[key] = (start + count, tried)
            self._dirty.add(key)
            if time.monotonic() - self._saved_at >= PROGRESS_SAVE_SECONDS:
                self.flush_progress()

    def flush_progress(self) -> None:
        """Persist search positions. Done every few seconds, not every batch: an fsync per batch costs
        mining time, and a crash then only repeats a few seconds of hashes (found solutions are always
        committed at once)."""
        for address, challenge_id in sorted(self._dirty):
            next_nonce, tried = self._progress[(address, challenge_id)]
            self._journal.save_progress(address, challenge_id, next_nonce, tried)
        self._dirty.clear()
        self._saved_at = time.monotonic()

    def _tune(self, count: int, hashes: int, elapsed: float, *, found: bool) -> None:
        # An early exit (solution found) says nothing about the speed of a full batch.
        if found or elapsed <= 0 or hashes < count:
            return
        ideal = count * TARGET_BATCH_SECONDS / elapsed
        # Move halfway towards the ideal so one slow batch (ROM swap, noisy neighbour) does not whipsaw it.
        new = int((count + ideal) / 2)
        self._batch = max(self._threads, min(MAX_BATCH, new))
