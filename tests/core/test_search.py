"""Batch search equals a sequential scan: smallest passing nonce, any thread count."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from scavenger.core import Rom, build_preimage, format_nonce, meets_difficulty

# Two loops keep each hash cheap; the search path is the same as at 8 loops.
LOOPS = 2
MASK = 0x03FFFFFF  # 1 hash in 64 passes
SCAN = 400


@pytest.fixture(scope="module")
def rom() -> Rom:
    return Rom(b"search-test", size=1 << 20, pre_size=1 << 14)


@pytest.fixture(scope="module")
def suffix() -> bytes:
    return build_preimage(
        0,
        address="addr_test1qq4dl3nhr0axurgcrpun9xyp04pd2r2dwu5x7eeam98psv6dhxlde8ucclv2p46hm077ds",
        challenge_id="**D21C10",
        difficulty="03FFFFFF",
        no_pre_mine="cddba7b592e3133393c16194fac7431abf2f5485ed711db282183c819e08ebaa",
        latest_submission="2025-10-19T08:59:59.000Z",
        no_pre_mine_hour="509681483",
    )[16:]


@pytest.fixture(scope="module")
def hits(rom: Rom, suffix: bytes) -> list[int]:
    """Every passing nonce in 0..SCAN, by hashing them one at a time."""
    return [
        n
        for n in range(SCAN)
        if meets_difficulty(rom.hash(format_nonce(n).encode() + suffix, nb_loops=LOOPS), MASK)
    ]


def _sequential(hits: list[int], start: int, count: int) -> int | None:
    return next((n for n in hits if start <= n < start + count), None)


def test_scan_has_hits_far_from_the_start(hits: list[int]) -> None:
    assert len(hits) >= 2
    gaps = [b - a for a, b in itertools.pairwise(hits)]
    assert max(gaps) > 40, "fixture should contain a hit far beyond the first thread's chunk"


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_search_matches_sequential_scan(rom: Rom, suffix: bytes, hits: list[int], threads: int) -> None:
    gaps = [(b - a, a) for a, b in itertools.pairwise(hits)]
    _, after = max(gaps)  # start right after a hit: the next one is far away
    ranges = [(0, SCAN), (after + 1, SCAN - after - 1), (hits[0], 1), (hits[0] + 1, SCAN - hits[0] - 1)]
    for start, count in ranges:
        expected = _sequential(hits, start, count)
        result = rom.search(suffix, start, count, MASK, threads=threads, nb_loops=LOOPS)
        assert result.nonce == expected, (start, count)
        assert result.hash == rom.hash(format_nonce(expected).encode() + suffix, nb_loops=LOOPS)
        assert result.hashes >= expected - start + 1
        assert result.hashes <= count


def test_hash_count_single_thread(rom: Rom, suffix: bytes, hits: list[int]) -> None:
    # Nonces are hashed LANES (8) at a time (multi-buffer), so up to seven past the hit are counted.
    for start in (0, hits[0] - 2, hits[0] - 1, hits[0]):
        result = rom.search(suffix, start, SCAN - start, MASK, threads=1, nb_loops=LOOPS)
        assert result.nonce == hits[0]
        assert hits[0] - start + 1 <= result.hashes <= hits[0] - start + 8


def test_range_without_hit_hashes_everything(rom: Rom, suffix: bytes, hits: list[int]) -> None:
    gaps = [(b - a, a) for a, b in itertools.pairwise(hits)]
    gap, after = max(gaps)
    for threads in (1, 2, 3):
        result = rom.search(suffix, after + 1, gap - 1, MASK, threads=threads, nb_loops=LOOPS)
        assert result.nonce is None
        assert result.hash is None
        assert result.hashes == gap - 1


def test_impossible_mask_in_short_range(rom: Rom, suffix: bytes) -> None:
    result = rom.search(suffix, 10, 20, 0, threads=2, nb_loops=LOOPS)
    assert result.nonce is None
    assert result.hashes == 20


def test_top_of_nonce_space(rom: Rom, suffix: bytes) -> None:
    start = 2**64 - 5
    result = rom.search(suffix, start, 5, 0xFFFFFFFF, threads=2, nb_loops=LOOPS)
    assert result.nonce == start
    full = rom.search(suffix, 0, 2**64, 0xFFFFFFFF, threads=2, nb_loops=LOOPS)
    assert full.nonce == 0


def test_count_zero(rom: Rom, suffix: bytes) -> None:
    result = rom.search(suffix, 0, 0, 0xFFFFFFFF)
    assert (result.nonce, result.hash, result.hashes) == (None, None, 0)


def test_default_parameters_match_hash(rom: Rom, suffix: bytes) -> None:
    result = rom.search(suffix, 7, 1, 0xFFFFFFFF)
    assert result.nonce == 7
    assert result.hash == rom.hash(format_nonce(7).encode() + suffix)


@contextlib.contextmanager
def _ticking() -> Iterator[list[int]]:
    """Counts, in ``ticks[0]``, the 1 ms sleeps a Python thread manages while the block runs:
    a native call that holds the GIL leaves it almost none."""
    ticks = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    ticker = threading.Thread(target=count)
    ticker.start()
    try:
        yield ticks
    finally:
        stop.set()
        ticker.join()


def test_search_releases_the_gil(rom: Rom, suffix: bytes) -> None:
    with _ticking() as ticks:
        rom.search(suffix, 0, 300, 0, threads=1, nb_loops=LOOPS)
    assert ticks[0] > 5


def test_rom_shared_between_python_threads(rom: Rom) -> None:
    expected = [rom.hash(bytes([i]), nb_loops=LOOPS) for i in range(8)]
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        results[i] = rom.hash(bytes([i]), nb_loops=LOOPS)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert [results[i] for i in range(8)] == expected


def test_rom_build_releases_the_gil() -> None:
    with _ticking() as ticks:
        started = time.perf_counter()
        Rom(b"gil", size=128 << 20, pre_size=1 << 20)
        took = time.perf_counter() - started
    # About one tick per millisecond while the build runs; a held GIL would allow almost none.
    assert ticks[0] > min(20, took * 1000 / 4)
