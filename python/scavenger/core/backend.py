"""Which engine hashes: the CPU core, an OpenCL device, or both side by side (MINER_BACKEND).

- ``cpu``: the native core (``Rom.search``) on MINER_THREADS threads.
- ``opencl``: the OpenCL device chosen by OPENCL_DEVICE (default: the first GPU, else any device, e.g.
  pocl on the CPU); it is an error when there is none.
- ``auto``: ``opencl`` when an OpenCL GPU is present, else ``cpu`` with one log line saying why.
- ``opencl+cpu``: the device and MINER_THREADS CPU threads share every nonce range.

Each returns a "searcher" for a built ``Rom``: an object with ``search`` (same contract as
``Rom.search``), ``digest`` and ``hash``.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scavenger.core import Rom
from scavenger.core.opencl import BackendMismatch, OpenClUnavailable

if TYPE_CHECKING:
    from scavenger.core.opencl.searcher import OpenClDevice

log = logging.getLogger(__name__)

BACKENDS = ("cpu", "opencl", "auto", "opencl+cpu")


@dataclass
class Backend:
    """The resolved choice: ``name`` is ``cpu``, ``opencl`` or ``opencl+cpu``; ``device`` is set for the
    last two."""

    name: str
    device: OpenClDevice | None = None

    def describe(self) -> str:
        if self.device is None:
            return "cpu (native core)"
        return f"{self.name} on {self.device.info.describe()}"

    def searcher(self, rom: Rom) -> Any:
        """What the miner calls ``search`` on for this ROM (uploads the window once)."""
        if self.device is None or self.device.stopped is not None:
            return rom
        gpu = self.device.load(rom)
        if self.name == "opencl+cpu":
            return HybridRom(gpu, rom)
        return gpu


def open_backend(
    choice: str,
    device_spec: str | None = None,
    work_group: int | None = None,
    build_options: tuple[str, ...] = (),
) -> Backend:
    """Resolves ``choice`` (one of BACKENDS); compiles the kernel on the chosen device (``build_options``:
    extra OpenCL compiler options, for kernel A/B runs). Raises OpenClUnavailable when
    ``opencl``/``opencl+cpu`` cannot get a device."""
    from scavenger.core.opencl.devices import select_device

    if choice not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {choice!r}")
    if choice == "cpu":
        return Backend("cpu")
    if choice == "auto":
        try:
            info = select_device(device_spec, gpu_only=True)
            return Backend("opencl", _compile(info, work_group, build_options))
        except OpenClUnavailable as exc:
            log.info("backend auto: no usable OpenCL GPU (%s); mining on the CPU core", exc)
            return Backend("cpu")
    info = select_device(device_spec, gpu_only=False)
    return Backend(choice, _compile(info, work_group, build_options))


def _compile(info: Any, work_group: int | None, build_options: tuple[str, ...]) -> OpenClDevice:
    from scavenger.core.opencl.searcher import OpenClDevice

    device = OpenClDevice(info, work_group, build_options)
    log.info("OpenCL device %s: kernel built in %.1f s", info.describe(), device.build_seconds)
    return device


@dataclass(frozen=True)
class HybridResult:
    nonce: int | None
    hash: bytes | None
    hashes: int


class HybridRom:
    """The device and the CPU core search one range together: the device takes the lower part, sized by
    the two measured rates so both finish together, and the smallest hit of the two is the answer (a
    device hit, being lower, wins whatever the CPU found)."""

    def __init__(self, gpu: Any, rom: Rom) -> None:
        self.gpu = gpu
        self.rom = rom
        self.size = rom.size
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cpu-search")
        self._gpu_rate = max(float(gpu.device.tuned_rate), 1.0)
        self._cpu_rate = 0.0  # unknown until measured: start with a small CPU share

    def digest(self) -> bytes:
        return self.rom.digest()

    def hash(self, preimage: bytes, nb_loops: int = 8, nb_instrs: int = 256) -> bytes:
        return self.rom.hash(preimage, nb_loops=nb_loops, nb_instrs=nb_instrs)

    @property
    def batch_quantum(self) -> int:
        return int(self.gpu.batch_quantum)

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
        if self.gpu.device.stopped is not None or count < 2:
            return self.rom.search(suffix, start, count, mask, threads, nb_loops, nb_instrs)
        cpu_rate = self._cpu_rate or self._gpu_rate / 16
        share = count * self._gpu_rate / (self._gpu_rate + cpu_rate)
        quantum = self.batch_quantum
        # Whole device launches when the range allows it; the CPU takes the rest.
        gpu_count = round(share / quantum) * quantum if count > quantum else round(share)
        gpu_count = max(1, min(count - 1, gpu_count))
        cpu_start, cpu_count = start + gpu_count, count - gpu_count

        def cpu_part() -> tuple[Any, float]:
            began = time.perf_counter()
            return self.rom.search(suffix, cpu_start, cpu_count, mask, threads, nb_loops, nb_instrs), (
                time.perf_counter() - began
            )

        cpu_future = self._pool.submit(cpu_part)
        began = time.perf_counter()
        try:
            gpu = self.gpu.search(suffix, start, gpu_count, mask, threads, nb_loops, nb_instrs)
        except BackendMismatch:
            cpu_future.result()
            raise
        gpu_seconds = time.perf_counter() - began
        cpu, cpu_seconds = cpu_future.result()
        if gpu.nonce is None and gpu.hashes == gpu_count and gpu_seconds > 0:
            self._gpu_rate = gpu.hashes / gpu_seconds
        if cpu.nonce is None and cpu_seconds > 0:
            self._cpu_rate = int(cpu.hashes) / cpu_seconds
        hashes = int(gpu.hashes) + int(cpu.hashes)
        if gpu.nonce is not None:
            return HybridResult(int(gpu.nonce), gpu.hash, hashes)
        if cpu.nonce is not None:
            return HybridResult(int(cpu.nonce), bytes(cpu.hash or b""), hashes)
        return HybridResult(None, None, hashes)
