"""The OpenCL search: ``OpenClDevice`` compiles the kernel once per process; ``OpenClRom`` holds one
ROM's window on the device (uploaded once per ROM key) and answers ``search`` like ``Rom.search``.

Every nonce the device reports is re-hashed by the CPU core before it is returned: a different digest
(or one that misses the target) raises ``BackendMismatch`` and stops the device for the whole process,
so a wrong kernel can never produce a submission.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from scavenger.core import Rom, format_nonce, meets_difficulty
from scavenger.core.opencl import BackendMismatch, OpenClUnavailable, kernel_source
from scavenger.core.opencl.devices import DeviceInfo, load_pyopencl

log = logging.getLogger(__name__)

# Tuning doubles the launch size until a launch lasts at least TUNE_SECONDS and doubling no longer
# raises the rate by 10 % (a GPU takes about as long for a part of a wave as for a whole one), or a
# launch lasts MAX_LAUNCH_SECONDS; the fastest size wins.
TUNE_SECONDS = 0.2
MAX_LAUNCH_SECONDS = 1.0
MAX_BATCH = 1 << 22
NO_HIT = 0xFFFFFFFF
SELF_TEST_NONCES = 4
DEFAULT_GPU_WORK_GROUP = 64
# The kernel's modes (ashmaize.cl).
MODE_SEARCH, MODE_NONCES, MODE_PREIMAGES = 0, 1, 2


@dataclass(frozen=True)
class DeviceSearchResult:
    """Same fields as ``scavenger.core.SearchResult``."""

    nonce: int | None
    hash: bytes | None
    hashes: int


KERNEL_STD = "-cl-std=CL1.2"
# NVIDIA: capping registers at 128 per work-item lets more warps hide the ROM reads' latency. Measured
# on an H200 in one gpu-check run (real parameters, work-group 64): 405k H/s vs 328k uncapped, 372k at 96.
NVIDIA_OPTIONS = ("-cl-nv-maxrregcount=128",)


def vendor_options(platform: str) -> tuple[str, ...]:
    """Build options that measured faster on this vendor's compiler (a later --cl-option overrides)."""
    return NVIDIA_OPTIONS if "nvidia" in platform.lower() else ()


class OpenClDevice:
    """One device: its context, queue and compiled kernel program, shared by every ROM loaded on it."""

    def __init__(
        self, info: DeviceInfo, work_group: int | None = None, build_options: tuple[str, ...] = ()
    ) -> None:
        cl = load_pyopencl()
        self._cl = cl
        self.info = info
        if not info.device.endian_little:
            raise OpenClUnavailable(f"{info.name}: big-endian devices are not supported")
        self.context = cl.Context([info.device])
        self.queue = cl.CommandQueue(self.context)
        started = time.perf_counter()
        try:
            # OpenCL C 1.2: an unqualified pointer is __private, as the kernel is written (NVIDIA's compiler
            # defaults to 3.0, where such pointers are __generic and passing them on does not build).
            options = [KERNEL_STD, *vendor_options(info.platform), *build_options]
            self.program = cl.Program(self.context, kernel_source()).build(options=options)
        except cl.Error as exc:
            raise OpenClUnavailable(f"the AshMaize kernel does not build on {info.name}: {exc}") from None
        self.build_seconds = time.perf_counter() - started
        # GPUs: a fixed work-group size (register/local-memory budget); CPU runtimes pick their own.
        self.work_group = work_group if work_group else (DEFAULT_GPU_WORK_GROUP if info.is_gpu else None)
        self.batch: int | None = None  # nonces per launch, tuned on the first ROM
        self.tuned_rate = 0.0
        self.stopped: str | None = None  # set on a mismatch: the reason; the device is never used again
        self.lock = threading.RLock()  # one launch sequence (copy in, kernel, copy out) at a time

    @property
    def name(self) -> str:
        return self.info.name

    def load(self, rom: Rom) -> OpenClRom:
        """Uploads ``rom``'s window; the first ROM also tunes the batch size."""
        loaded = OpenClRom(self, rom)
        loaded.self_test()
        if self.batch is None:
            self.batch, self.tuned_rate = loaded.tune()
        return loaded


class OpenClRom:
    """A ROM on an OpenCL device. ``hash``/``digest``/``size`` are the CPU core's; ``search`` runs on the
    device (or on the CPU core with ``threads`` once the device is stopped by a mismatch)."""

    def __init__(self, device: OpenClDevice, rom: Rom) -> None:
        import numpy as np

        cl = device._cl
        self._np = np
        self._cl = cl
        self.device = device
        self.rom = rom
        self.size = rom.size
        self._nb_chunks = rom.size // 64
        window = rom.window()
        # Whole 64-bit words plus one spare word: the kernel reads 9 words around an unaligned line.
        padded = window + bytes(((len(window) + 7) // 8) * 8 + 8 - len(window))
        flags = cl.mem_flags
        ctx = device.context
        self._window = cl.Buffer(
            ctx, flags.READ_ONLY | flags.COPY_HOST_PTR, hostbuf=np.frombuffer(padded, np.uint8)
        )
        self._digest = cl.Buffer(
            ctx, flags.READ_ONLY | flags.COPY_HOST_PTR, hostbuf=np.frombuffer(rom.digest(), np.uint8)
        )
        self._best = cl.Buffer(ctx, flags.READ_WRITE, 4)
        self._unused = cl.Buffer(ctx, flags.READ_WRITE, 64)  # for the arguments a mode does not read
        self._kernel = cl.Kernel(device.program, "ashmaize_run")
        self._suffix_key: bytes | None = None
        self._suffix_buf: Any = None

    # The CPU core's view of the same ROM.
    def digest(self) -> bytes:
        return self.rom.digest()

    def hash(self, preimage: bytes, nb_loops: int = 8, nb_instrs: int = 256) -> bytes:
        return self.rom.hash(preimage, nb_loops=nb_loops, nb_instrs=nb_instrs)

    def _global_size(self, count: int) -> tuple[tuple[int], tuple[int] | None]:
        wg = self.device.work_group
        if wg is None:
            return (count,), None
        return (-(-count // wg) * wg,), (wg,)

    def _run(
        self,
        mode: int,
        data: Any,
        offsets: Any,
        suffix_len: int,
        start: int,
        count: int,
        nb_loops: int,
        nb_instrs: int,
        mask: int,
        out: Any,
    ) -> None:
        """One launch of the kernel over ``count`` work-items, waited for (the wait releases the GIL)."""
        np, cl = self._np, self._cl
        gsize, lsize = self._global_size(count)
        with self.device.lock:
            self._kernel.set_args(
                self._window,
                np.uint32(self._nb_chunks),
                self._digest,
                data,
                offsets,
                np.uint32(suffix_len),
                np.uint64(start),
                np.uint32(count),
                np.uint32(nb_loops),
                np.uint32(nb_instrs),
                np.uint32(mask),
                np.uint32(mode),
                self._best,
                out,
            )
            cl.enqueue_nd_range_kernel(self.device.queue, self._kernel, gsize, lsize).wait()

    def _suffix(self, suffix: bytes) -> Any:
        if suffix != self._suffix_key:
            cl = self._cl
            # A zero-length buffer is invalid in OpenCL: keep one spare byte.
            self._suffix_buf = cl.Buffer(
                self.device.context,
                cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR,
                hostbuf=self._np.frombuffer(suffix + b"\0", self._np.uint8),
            )
            self._suffix_key = suffix
        return self._suffix_buf

    def device_hashes(self, preimages: list[bytes], nb_loops: int = 8, nb_instrs: int = 256) -> list[bytes]:
        """Digests of arbitrary preimages computed on the device (for the bit-exactness checks)."""
        np, cl = self._np, self._cl
        if not preimages:
            return []
        offsets = np.zeros(len(preimages) + 1, np.uint32)
        offsets[1:] = np.cumsum([len(p) for p in preimages])
        flags = cl.mem_flags
        ctx = self.device.context
        data = cl.Buffer(
            ctx,
            flags.READ_ONLY | flags.COPY_HOST_PTR,
            hostbuf=np.frombuffer(b"".join(preimages) + b"\0", np.uint8),
        )
        offs = cl.Buffer(ctx, flags.READ_ONLY | flags.COPY_HOST_PTR, hostbuf=offsets)
        out = np.zeros(8 * len(preimages), np.uint64)
        out_buf = cl.Buffer(ctx, flags.WRITE_ONLY, out.nbytes)
        with self.device.lock:
            self._run(MODE_PREIMAGES, data, offs, 0, 0, len(preimages), nb_loops, nb_instrs, 0, out_buf)
            cl.enqueue_copy(self.device.queue, out, out_buf)
        raw = out.tobytes()
        return [raw[64 * i : 64 * i + 64] for i in range(len(preimages))]

    def nonce_digests(
        self, suffix: bytes, start: int, count: int, nb_loops: int = 8, nb_instrs: int = 256
    ) -> list[bytes]:
        """Digests of nonces ``start .. start+count-1`` (preimage = 16 hex digits + suffix) on the device."""
        np, cl = self._np, self._cl
        if count <= 0:
            return []
        out = np.zeros(8 * count, np.uint64)
        out_buf = cl.Buffer(self.device.context, cl.mem_flags.WRITE_ONLY, out.nbytes)
        with self.device.lock:
            self._run(
                MODE_NONCES,
                self._suffix(suffix),
                self._unused,
                len(suffix),
                start,
                count,
                nb_loops,
                nb_instrs,
                0,
                out_buf,
            )
            cl.enqueue_copy(self.device.queue, out, out_buf)
        raw = out.tobytes()
        return [raw[64 * i : 64 * i + 64] for i in range(count)]

    def _launch(
        self, suffix: bytes, start: int, count: int, mask: int, nb_loops: int, nb_instrs: int
    ) -> int | None:
        """One search launch: the smallest passing offset in ``0 .. count-1``, or None."""
        np, cl = self._np, self._cl
        best = np.array([NO_HIT], np.uint32)
        queue = self.device.queue
        with self.device.lock:
            cl.enqueue_copy(queue, self._best, best)
            self._run(
                MODE_SEARCH,
                self._suffix(suffix),
                self._unused,
                len(suffix),
                start,
                count,
                nb_loops,
                nb_instrs,
                mask,
                self._unused,
            )
            cl.enqueue_copy(queue, best, self._best)
        value = int(best[0])
        return None if value == NO_HIT else value

    def self_test(self, start: int = 0) -> None:
        """A few nonces on the device against the CPU core; a difference stops the device."""
        suffix = b"scavenger-opencl-self-test"
        got = self.nonce_digests(suffix, start, SELF_TEST_NONCES)
        for i, digest in enumerate(got):
            want = self.rom.hash(format_nonce(start + i).encode() + suffix)
            if digest != want:
                self._stop(
                    f"self-test nonce {start + i}: device {digest[:8].hex()}… != CPU {want[:8].hex()}…"
                )

    def tune(self, seconds: float = TUNE_SECONDS) -> tuple[int, float]:
        """The launch size with the best rate, doubling from one work-group per compute unit."""
        wg = self.device.work_group or 16
        n = max(wg, self.device.info.compute_units * wg)
        suffix = b"scavenger-opencl-tune"
        self._launch(suffix, 0, n, 0, 8, 256)  # warm-up (lazy compilation on some drivers)
        tried: list[tuple[float, int]] = []
        while True:
            started = time.perf_counter()
            self._launch(suffix, 0, n, 0, 8, 256)
            elapsed = max(time.perf_counter() - started, 1e-9)
            tried.append((n / elapsed, n))
            gained = len(tried) < 2 or tried[-1][0] > 1.1 * tried[-2][0]
            if n * 2 > MAX_BATCH or elapsed >= MAX_LAUNCH_SECONDS or (elapsed >= seconds and not gained):
                break
            n *= 2
        rate, n = max(tried)
        log.info(
            "OpenCL %s: batch %d nonces per launch (%.0f H/s while tuning; tried %s)",
            self.device.name,
            n,
            rate,
            ", ".join(f"{size}: {r:.0f} H/s" for r, size in tried),
        )
        return n, rate

    @property
    def batch_quantum(self) -> int:
        """Callers sizing their ranges in multiples of this keep every launch full."""
        return self.device.batch or 1

    def _stop(self, reason: str) -> None:
        self.device.stopped = reason
        log.error("OpenCL backend stopped on %s: %s; the CPU core takes over", self.device.name, reason)
        raise BackendMismatch(f"OpenCL backend stopped on {self.device.name}: {reason}")

    def search(
        self,
        suffix: bytes,
        start: int,
        count: int,
        mask: int,
        threads: int = 1,
        nb_loops: int = 8,
        nb_instrs: int = 256,
    ) -> Any:
        """Smallest nonce in ``start .. start+count-1`` whose hash meets ``mask`` (as ``Rom.search``)."""
        if self.device.stopped is not None:
            return self.rom.search(suffix, start, count, mask, threads, nb_loops, nb_instrs)
        _check_search_args(suffix, start, count, mask, nb_loops, nb_instrs)
        batch = self.device.batch or MAX_BATCH
        end = start + count
        pos = start
        hashes = 0
        while pos < end:
            n = min(batch, end - pos)
            hit = self._launch(suffix, pos, n, mask, nb_loops, nb_instrs)
            hashes += n
            if hit is not None:
                nonce = pos + hit
                return DeviceSearchResult(
                    nonce, self._verify(suffix, nonce, mask, nb_loops, nb_instrs), hashes
                )
            pos += n
        return DeviceSearchResult(None, None, hashes)

    def _verify(self, suffix: bytes, nonce: int, mask: int, nb_loops: int, nb_instrs: int) -> bytes:
        """The CPU digest of a device hit; any disagreement stops the device (raises BackendMismatch)."""
        preimage = format_nonce(nonce).encode() + suffix
        want = self.rom.hash(preimage, nb_loops=nb_loops, nb_instrs=nb_instrs)
        got = self.nonce_digests(suffix, nonce, 1, nb_loops, nb_instrs)[0]
        if got != want or not meets_difficulty(want, mask):
            self._stop(
                f"nonce {format_nonce(nonce)}: device {got[:8].hex()}…, CPU {want[:8].hex()}… "
                f"(mask {mask:08x})"
            )
        return want


def _check_search_args(
    suffix: bytes, start: int, count: int, mask: int, nb_loops: int, nb_instrs: int
) -> None:
    """The same rules as the native ``Rom.search`` (rust/src/python.rs)."""
    if not isinstance(suffix, bytes):
        raise TypeError(f"suffix must be bytes, got {type(suffix).__name__}")
    for name, value, top in (
        ("start", start, (1 << 64) - 1),
        ("count", count, 1 << 64),
        ("mask", mask, (1 << 32) - 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if not 0 <= value <= top:
            raise ValueError(f"{name} must be in 0..={top}, got {value}")
    if count and start + count - 1 > (1 << 64) - 1:
        raise ValueError(f"start + count overflows the 64-bit nonce space (start={start}, count={count})")
    if nb_loops < 2:
        raise ValueError(f"nb_loops must be >= 2, got {nb_loops}")
    if nb_instrs < 256:
        raise ValueError(f"nb_instrs must be >= 256, got {nb_instrs}")
