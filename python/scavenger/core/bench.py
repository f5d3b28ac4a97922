"""Benchmark of the native core: ROM build time, peak RSS, and hash rate per thread count,
measured through the same ``Rom.search`` path the miner uses."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from scavenger.core import Rom, build_preimage_suffix, rom_key

# The official example's fields: a realistic preimage length (the nonce is the only change).
BENCH_FIELDS = {
    "address": (
        "addr_test1qq4dl3nhr0axurgcrpun9xyp04pd2r2dwu5x7eeam98psv6dhxlde8"
        "ucclv2p46hm077ds4vzelf5565fg3ky794uhrq5up0he"
    ),
    "challenge_id": "**D07C10",
    "difficulty": "000FFFFF",
    "no_pre_mine": "fd651ac2725e3b9d804cc8b161c0709af14d6264f93e8d4afef0fd1142a3f011",
    "latest_submission": "2025-10-19T08:59:59.000Z",
    "no_pre_mine_hour": "509681483",
}
# A target no hash is expected to meet (2^-32), so every step hashes for its whole duration.
IMPOSSIBLE_MASK = 0
# Each native call lasts about this long, so the clock is checked often without Python overhead.
CALL_SECONDS = 0.25


@dataclass(frozen=True)
class BuildResult:
    rom: Rom
    seconds: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class RateResult:
    threads: int
    hashes: int
    seconds: float
    # CPU time of the whole process over the step (user + system): on a shared machine the
    # hashes per CPU-second move far less with other load than the wall-clock rate does.
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.hashes / self.seconds if self.seconds > 0 else 0.0

    @property
    def rate_per_cpu_second(self) -> float:
        return self.hashes / self.cpu_seconds if self.cpu_seconds > 0 else 0.0


def process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if os.uname().sysname == "Darwin" else int(peak) * 1024


def build_rom(size: int, pre_size: int, key: bytes | None = None) -> BuildResult:
    key = rom_key(BENCH_FIELDS["no_pre_mine"]) if key is None else key
    started = time.perf_counter()
    rom = Rom(key, size=size, pre_size=pre_size)
    seconds = time.perf_counter() - started
    return BuildResult(rom=rom, seconds=seconds, peak_rss_bytes=peak_rss_bytes())


def measure_rate(
    rom: Any, threads: int, seconds: float, start_nonce: int = 0, first_batch: int | None = None
) -> RateResult:
    """Hash for about ``seconds`` with ``threads`` native threads (or through any searcher with the
    ``Rom.search`` contract, e.g. the OpenCL backend, whose tuned batch is ``first_batch``)."""
    suffix = build_preimage_suffix(**BENCH_FIELDS)
    batch = first_batch or 16 * threads
    hashes = 0
    nonce = start_nonce
    started = time.perf_counter()
    cpu_started = process_cpu_seconds()
    elapsed = 0.0
    while elapsed < seconds:
        call_started = time.perf_counter()
        result = rom.search(suffix, nonce, batch, IMPOSSIBLE_MASK, threads=threads)
        call_seconds = time.perf_counter() - call_started
        hashes += result.hashes
        nonce += batch
        elapsed = time.perf_counter() - started
        # Size the next call from the observed speed, without overshooting the step's end.
        rate = result.hashes / call_seconds if call_seconds > 0 else 0.0
        remaining = max(seconds - elapsed, 0.0)
        batch = max(threads, int(rate * min(CALL_SECONDS, remaining)))
        # Whole device launches; on the CPU whole groups of the core's 8 lanes per thread (a
        # partial group is hashed one nonce at a time, which would understate the rate).
        quantum = int(getattr(rom, "batch_quantum", 0)) or 16 * threads
        batch = max(quantum, batch // quantum * quantum)
    return RateResult(
        threads=threads,
        hashes=hashes,
        seconds=elapsed,
        cpu_seconds=process_cpu_seconds() - cpu_started,
    )


def run_steps(
    rom: Rom, thread_counts: Iterable[int], seconds: float, report: Callable[[RateResult], None]
) -> list[RateResult]:
    results = []
    nonce = 0
    for threads in thread_counts:
        result = measure_rate(rom, threads, seconds, start_nonce=nonce)
        nonce += result.hashes + 1024
        report(result)
        results.append(result)
    return results


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.uname().machine
