"""The OpenCL backend against the CPU core: every vector bit-exact, thousands of random nonces, the
``Rom.search`` contract, mismatch handling, device choice. Runs on whatever OpenCL device there is (CI:
pocl on the CPU, installed by scripts/test.sh); skipped, with the reason, only without any platform.

pocl runs the kernel at a few hundred hashes per second on this project's 2-core machines, so every
count below is sized to keep each test to seconds.
"""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from scavenger.core import Rom, format_nonce, meets_difficulty
from scavenger.core.backend import HybridRom, open_backend
from scavenger.core.opencl import BackendMismatch, OpenClUnavailable, kernel_source
from scavenger.core.opencl.check import check_vectors
from timing import scaled

from .helpers import SMALL_ROM_LIMIT, RomFactory, load_vectors

VECTORS: list[dict[str, Any]] = load_vectors()["vectors"]
SMALL = [v for v in VECTORS if v["rom_size"] <= SMALL_ROM_LIMIT]
LARGE = [v for v in VECTORS if v["rom_size"] > SMALL_ROM_LIMIT]
SUFFIX = b"addr_test1qq4dl3nhr0axurgcrpun9xyp04pd2r2dwu5x7eeam98psv6**D07C10000FFFFF2025-10-19T08:59:59.000Z"


def _open_device(work_group: int | None = None) -> Any:
    try:
        backend = open_backend("opencl", None, work_group)
    except OpenClUnavailable as exc:
        pytest.skip(f"no OpenCL platform to test the OpenCL backend on: {exc}")
    return backend.device


@pytest.fixture(scope="module")
def device() -> Any:
    dev = _open_device()
    # Small launches so that ranges span several of them (the batch is tuned on the first load).
    dev.batch = 48
    return dev


@pytest.fixture(scope="module")
def rom() -> Rom:
    return Rom(b"opencl-tests", size=1 << 20, pre_size=16 << 10)


@pytest.fixture(scope="module")
def gpu(device: Any, rom: Rom) -> Any:
    loaded = device.load(rom)
    device.batch = 48
    return loaded


def test_kernel_source_is_the_packaged_cl_files() -> None:
    source = kernel_source()
    for name in (
        "compress_words",
        "hprime_first",
        "mix_registers",
        "special2",
        "exec",
        "finish",
        "__kernel void ashmaize_run",
    ):
        assert name in source


def test_small_rom_vectors_are_bit_exact(device: Any, rom_cache: RomFactory) -> None:
    results = check_vectors(SMALL, device.load, build=rom_cache)
    assert len(results) == len(SMALL) >= 15
    assert [r.ident for r in results if not r.ok] == []


@pytest.mark.slow
def test_real_parameter_vectors_are_bit_exact(device: Any, rom_cache: RomFactory) -> None:
    # 1 GiB ROMs built by the CPU core (shared with test_vectors.py); only their 16 MiB window goes
    # to the device.
    results = check_vectors(LARGE, device.load, build=rom_cache)
    assert len(results) == len(LARGE) >= 5
    assert [r.ident for r in results if not r.ok] == []


def test_random_nonces_match_the_cpu_core(gpu: Any, rom: Rom) -> None:
    """2,048 nonces from seeded random starts, with suffix lengths that put the end of the init
    message on each side of a BLAKE2b block boundary, and the top of the nonce space."""
    rng = random.Random(16)
    cases = [(b"", 0), (SUFFIX, (1 << 64) - 256)]
    for length in (43, 44, 45, 171, 172, 173, 300):
        cases.append((bytes(rng.randrange(256) for _ in range(length)), rng.randrange(1 << 64 - 9)))
    per_case = 2048 // len(cases)
    checked = 0
    for suffix, start in cases:
        got = gpu.nonce_digests(suffix, start, per_case)
        for i, digest in enumerate(got):
            want = rom.hash(format_nonce(start + i).encode() + suffix)
            assert digest == want, f"nonce {start + i:#x}, suffix length {len(suffix)}"
        checked += len(got)
    assert checked >= 2000


def test_loop_and_instruction_counts_match(gpu: Any, rom: Rom) -> None:
    preimages = [b"", b"x" * 200, bytes(range(256))]
    for loops, instrs in ((2, 256), (3, 257), (2, 263), (2, 300)):
        got = gpu.device_hashes(preimages, nb_loops=loops, nb_instrs=instrs)
        assert got == [rom.hash(p, nb_loops=loops, nb_instrs=instrs) for p in preimages], (loops, instrs)


def _scan(rom: Rom, suffix: bytes, start: int, count: int, mask: int) -> int | None:
    for n in range(start, start + count):
        if meets_difficulty(rom.hash(format_nonce(n).encode() + suffix, nb_loops=2), mask):
            return n
    return None


@pytest.mark.parametrize("start", [0, 1000, (1 << 64) - 130])
def test_search_returns_the_smallest_passing_nonce(gpu: Any, rom: Rom, start: int) -> None:
    mask = 0x0FFFFFFF  # 1 in 16 passes; batch 48: the hit is usually past the first launch
    count = 130
    expected = _scan(rom, SUFFIX, start, count, mask)
    assert expected is not None
    result = gpu.search(SUFFIX, start, count, mask, nb_loops=2)
    assert result.nonce == expected
    assert result.hash == rom.hash(format_nonce(expected).encode() + SUFFIX, nb_loops=2)
    # Whole launches up to the one holding the hit.
    assert expected - start < result.hashes <= count
    assert result.hashes % 48 == 0 or result.hashes == count


def test_search_without_hit_hashes_the_whole_range(gpu: Any) -> None:
    result = gpu.search(SUFFIX, 7, 100, 0, nb_loops=2)
    assert (result.nonce, result.hash, result.hashes) == (None, None, 100)
    assert gpu.search(SUFFIX, 7, 0, 0).hashes == 0


def test_search_rejects_bad_arguments_like_the_cpu_core(gpu: Any) -> None:
    with pytest.raises(ValueError, match="overflows"):
        gpu.search(SUFFIX, (1 << 64) - 1, 2, 0)
    with pytest.raises(ValueError, match="mask"):
        gpu.search(SUFFIX, 0, 1, 1 << 32)
    with pytest.raises(TypeError, match="suffix"):
        gpu.search("text", 0, 1, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nb_loops"):
        gpu.search(SUFFIX, 0, 1, 0, nb_loops=1)


@pytest.fixture
def ticks() -> Iterator[list[int]]:
    count = [0]
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            count[0] += 1
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    yield count
    stop.set()
    ticker.join()


def test_search_releases_the_gil(gpu: Any, ticks: list[int]) -> None:
    started = time.perf_counter()
    gpu.search(SUFFIX, 0, 96, 0, nb_loops=2)
    took = time.perf_counter() - started
    assert ticks[0] > min(20, took * 1000 / 4)


def test_hybrid_search_matches_the_cpu_core(gpu: Any, rom: Rom) -> None:
    hybrid = HybridRom(gpu, rom)
    mask = 0x07FFFFFF
    for start in (0, 5000):
        want = rom.search(SUFFIX, start, 160, mask, threads=1, nb_loops=2)
        got = hybrid.search(SUFFIX, start, 160, mask, 1, nb_loops=2)
        assert (got.nonce, got.hash) == (want.nonce, want.hash)
        assert got.hashes >= (want.nonce - start + 1 if want.nonce is not None else 160)


def test_a_mismatch_stops_the_device_and_never_returns_the_hit(rom: Rom, caplog: Any) -> None:
    device = _open_device()
    loaded = device.load(Rom(b"another ROM", size=1 << 20, pre_size=16 << 10))
    loaded.rom = rom  # the CPU check now disagrees with every device hash
    with caplog.at_level(logging.ERROR), pytest.raises(BackendMismatch, match="nonce 0000000000000000"):
        loaded.search(SUFFIX, 0, 8, 0xFFFFFFFF, nb_loops=2)
    assert device.stopped is not None
    assert "OpenCL backend stopped" in caplog.text
    # From then on the CPU core answers, with the CPU's digest.
    result = loaded.search(SUFFIX, 0, 8, 0xFFFFFFFF, 1, nb_loops=2)
    assert result.nonce == 0
    assert result.hash == rom.hash(format_nonce(0).encode() + SUFFIX, nb_loops=2)


class _ZeroWindow:
    """A ROM whose window reads as zeros: the device then hashes something else than the CPU core."""

    def __init__(self, rom: Rom) -> None:
        self._rom = rom
        self.size = rom.size

    def window(self) -> bytes:
        return bytes(self.size // 64 + 63)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rom, name)


def test_self_test_catches_a_wrong_window(rom: Rom) -> None:
    fresh = _open_device()
    with pytest.raises(BackendMismatch, match="self-test"):
        fresh.load(_ZeroWindow(rom))
    assert fresh.stopped is not None


def test_device_choice(device: Any) -> None:
    with pytest.raises(OpenClUnavailable, match="OPENCL_DEVICE='no such device'"):
        open_backend("opencl", "no such device")
    assert open_backend("opencl", "0:0").device is not None
    by_name = open_backend("opencl", device.name.split()[0][:6])
    assert by_name.device is not None


def test_auto_without_a_gpu_falls_back_to_the_cpu_with_one_line(device: Any, caplog: Any) -> None:
    if device.info.is_gpu:
        pytest.skip("this machine has an OpenCL GPU: auto picks it")
    with caplog.at_level(logging.INFO):
        backend = open_backend("auto")
    assert backend.name == "cpu" and backend.device is None
    lines = [r.getMessage() for r in caplog.records if "backend auto" in r.getMessage()]
    assert len(lines) == 1 and "mining on the CPU core" in lines[0]


def test_without_pyopencl_everything_else_runs(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.setitem(sys.modules, "pyopencl", None)  # import pyopencl now raises ImportError
    with pytest.raises(OpenClUnavailable, match="pyopencl is not installed"):
        open_backend("opencl")
    with caplog.at_level(logging.INFO):
        assert open_backend("auto").name == "cpu"
    assert "pyopencl is not installed" in caplog.text
    assert open_backend("cpu").searcher(Rom(b"k", size=1 << 16, pre_size=1 << 10)).size == 1 << 16


def test_bench_and_devices_commands(device: Any, tmp_path: Any) -> None:
    cli = [sys.executable, "-c", "from scavenger.cli import main; main()"]
    listed = subprocess.run([*cli, "devices"], capture_output=True, text=True, timeout=scaled(60))
    assert listed.returncode == 0 and device.name in listed.stdout
    out = subprocess.run(
        [*cli, "bench", "--backend", "opencl", "--rom-size", "1MiB", "--pre-size", "16KiB", "-s", "0.5"],
        capture_output=True,
        text=True,
        timeout=scaled(120),
    )
    assert out.returncode == 0, out.stderr
    assert "nonces per launch (tuned), self-test ok" in out.stdout
    assert " H/s on opencl" in out.stdout


@pytest.mark.parametrize("option", ["-DASHMAIZE_SIMPLE_EXEC", "-DASHMAIZE_INLINE"])
def test_kernel_variants_for_device_tuning_are_bit_exact(
    option: str, rom: Rom, rom_cache: RomFactory
) -> None:
    """The variants scripts/gpu-check.sh compares on a GPU (bench --cl-option)."""
    try:
        variant = open_backend("opencl", None, None, (option,)).device
    except OpenClUnavailable as exc:
        pytest.skip(f"no OpenCL platform to test the OpenCL backend on: {exc}")
    variant.batch = 64  # no tuning run
    # Odd nb_instrs, nb_loops=2, an empty preimage, a full-random ROM.
    picked = [v for v in SMALL if v["id"] in (4, 3, 5, 9)]
    assert len(picked) == 4
    results = check_vectors(picked, variant.load, build=rom_cache)
    assert results and all(r.ok for r in results)
    got = variant.load(rom).nonce_digests(SUFFIX, 99, 64)
    assert got == [rom.hash(format_nonce(99 + i).encode() + SUFFIX) for i in range(64)]


def test_vendor_options_cap_registers_on_nvidia_only() -> None:
    from scavenger.core.opencl.searcher import vendor_options

    assert vendor_options("NVIDIA CUDA") == ("-cl-nv-maxrregcount=128",)
    assert vendor_options("Portable Computing Language") == ()
    assert vendor_options("AMD Accelerated Parallel Processing") == ()
