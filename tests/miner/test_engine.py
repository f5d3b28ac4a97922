"""The mining engine with the real native core and a real journal (no server needed)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from scavenger.core import Rom, build_preimage, meets_difficulty, parse_difficulty
from scavenger.miner.engine import Engine
from scavenger.miner.journal import Journal
from scavenger.miner.romcache import RomCache
from scavenger.miner.state import MinerState
from timing import scaled

ADDRESS = "addr1qexampleaddressforenginetests0000000000000000"


def _challenge(cid: str, difficulty: str, deadline: float) -> dict[str, str]:
    return {
        "challenge_id": cid,
        "difficulty": difficulty,
        "no_pre_mine": "ab" * 32,
        "latest_submission": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(deadline)),
        "no_pre_mine_hour": "123456789",
    }


def _engine(journal: Journal, roms: RomCache, stop: asyncio.Event, found: list[int]) -> Engine:
    return Engine(
        journal=journal,
        roms=roms,
        addresses=[ADDRESS],
        threads=1,
        state=MinerState("miner-1", 1, 1, ""),
        stop=stop,
        on_solution=lambda: found.append(1),
        on_hashes=lambda n: None,
    )


async def _run_until(engine: Engine, stop: asyncio.Event, condition: object, timeout: float) -> None:
    task = asyncio.create_task(engine.run())
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, scaled(10))


def _rom(key: bytes) -> Rom:
    return Rom(key, size=1 << 20, pre_size=16 << 10)


@pytest.mark.timeout(scaled(60))
async def test_search_resumes_where_it_stopped(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    deadline = time.time() + 3600
    journal.record_challenge(_challenge("**D01C01", "00000000", deadline), deadline)
    roms = RomCache(_rom)
    found: list[int] = []

    stop = asyncio.Event()
    first = _engine(journal, roms, stop, found)
    await _run_until(first, stop, lambda: first._state.meter.total > 0, 30)
    next1, tried1 = journal.progress(ADDRESS, "**D01C01")
    assert next1 > 0 and next1 == tried1  # flushed on stop; every nonce below next1 was hashed

    stop = asyncio.Event()
    second = _engine(journal, roms, stop, found)
    await _run_until(second, stop, lambda: second._state.meter.total > 0, 30)
    next2, tried2 = journal.progress(ADDRESS, "**D01C01")
    # Continued from next1 (not from 0): the new hashes are exactly the nonces after next1.
    assert next2 > next1
    assert next2 - next1 == tried2 - tried1 == second._state.meter.total
    assert found == []


@pytest.mark.timeout(scaled(60))
async def test_found_solution_is_valid_committed_and_pair_done(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    deadline = time.time() + 3600
    body = _challenge("**D01C02", "0FFFFFFF", deadline)
    journal.record_challenge(body, deadline)
    roms = RomCache(_rom)
    found: list[int] = []
    stop = asyncio.Event()
    engine = _engine(journal, roms, stop, found)
    await _run_until(engine, stop, lambda: bool(found), 30)
    (solution,) = journal.solutions()
    assert (solution.address, solution.challenge_id, solution.status) == (ADDRESS, "**D01C02", "pending")
    preimage = build_preimage(
        int(solution.nonce, 16), ADDRESS, "**D01C02", body["difficulty"], body["no_pre_mine"],
        body["latest_submission"], body["no_pre_mine_hour"],
    )
    assert preimage.decode() == solution.preimage
    digest = _rom(body["no_pre_mine"].encode()).hash(preimage)
    assert digest.hex() == solution.hash
    assert meets_difficulty(digest, parse_difficulty(body["difficulty"]))
    assert journal.solved_pairs() == {(ADDRESS, "**D01C02")}


@pytest.mark.timeout(scaled(60))
async def test_rom_is_dropped_when_no_open_challenge_needs_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    roms = RomCache(_rom)
    old = _challenge("**D01C24", "00000000", time.time() + 7)
    old["no_pre_mine"] = "cd" * 32
    journal.record_challenge(old, time.time() + 7)
    new_deadline = time.time() + 3600
    journal.record_challenge(_challenge("**D02C01", "0FFFFFFF", new_deadline), new_deadline)
    stop = asyncio.Event()
    found: list[int] = []
    engine = _engine(journal, roms, stop, found)
    # The old challenge (nearest deadline) is mined first with its own ROM, until its deadline margin.
    await _run_until(engine, stop, lambda: roms.has("cd" * 32), 20)
    assert roms.keys() == ["cd" * 32]
    stop = asyncio.Event()
    engine = _engine(journal, roms, stop, found)
    await _run_until(engine, stop, lambda: bool(found) and not roms.has("cd" * 32), 30)
    assert roms.keys() == ["ab" * 32], "yesterday's ROM must be released once its challenges close"


class _DeviceLike:
    """A searcher like the OpenCL one: fixed launch size (``batch_quantum``); the first ``bad`` calls
    fail the CPU re-check (``BackendMismatch``)."""

    def __init__(self, rom: Rom, quantum: int, bad: int = 0) -> None:
        self.rom = rom
        self.batch_quantum = quantum
        self.bad = bad
        self.counts: list[int] = []

    def search(self, suffix: bytes, start: int, count: int, mask: int, threads: int = 1) -> object:
        self.counts.append(count)
        if self.bad:
            self.bad -= 1
            from scavenger.core.opencl import BackendMismatch

            raise BackendMismatch("device and CPU disagree (test)")
        return self.rom.search(suffix, start, count, mask, threads)


@pytest.mark.timeout(scaled(60))
async def test_device_searchers_get_whole_launches(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    deadline = time.time() + 3600
    journal.record_challenge(_challenge("**D01C01", "00000000", deadline), deadline)
    device = _DeviceLike(_rom(b"k"), quantum=24)
    stop = asyncio.Event()
    engine = _engine(journal, RomCache(lambda key: device), stop, [])
    await _run_until(engine, stop, lambda: len(device.counts) >= 3, 30)
    assert device.counts and all(c % 24 == 0 and c > 0 for c in device.counts)


@pytest.mark.timeout(scaled(60))
async def test_a_backend_mismatch_records_nothing_and_mining_goes_on(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    deadline = time.time() + 3600
    journal.record_challenge(_challenge("**D01C01", "FFFFFFFF", deadline), deadline)  # every nonce passes
    device = _DeviceLike(_rom(b"k"), quantum=8, bad=1)
    found: list[int] = []
    stop = asyncio.Event()
    engine = _engine(journal, RomCache(lambda key: device), stop, found)
    # At once: no pause after a mismatch (the generic error path waits 5 s).
    await _run_until(engine, stop, lambda: bool(found), scaled(3))
    # The failed batch left no trace; the retry (nonce 0 again) found the solution.
    assert len(device.counts) >= 2
    assert found == [1]
    assert journal.progress(ADDRESS, "**D01C01")[0] == 1
