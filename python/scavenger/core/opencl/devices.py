"""OpenCL platforms and devices: listing them and choosing one (env OPENCL_DEVICE).

A device is named ``P:D`` (platform index, device index, as ``scavenger devices`` lists them) or by a
case-insensitive part of its name (``H200``, ``pthread``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from scavenger.core.opencl import OpenClUnavailable


def load_pyopencl() -> ModuleType:
    try:
        import pyopencl
    except ImportError as exc:
        raise OpenClUnavailable(
            f"pyopencl is not installed ({exc}); "
            "install the 'gpu' extra: pip install 'midnight-scavenger[gpu]'"
        ) from None
    return pyopencl


@dataclass(frozen=True)
class DeviceInfo:
    platform_index: int
    device_index: int
    platform: str
    name: str
    is_gpu: bool
    compute_units: int
    global_mem_bytes: int
    cache_bytes: int
    device: Any  # the pyopencl.Device

    @property
    def ident(self) -> str:
        return f"{self.platform_index}:{self.device_index}"

    def describe(self) -> str:
        kind = "GPU" if self.is_gpu else "CPU/other"
        return (
            f"{self.ident}  {self.name} [{self.platform}] {kind}, {self.compute_units} compute units, "
            f"{self.global_mem_bytes / 2**30:.1f} GiB memory, {self.cache_bytes / 2**20:.1f} MiB cache"
        )


def list_devices() -> list[DeviceInfo]:
    """Every device of every platform; raises OpenClUnavailable without pyopencl or any platform."""
    cl = load_pyopencl()
    try:
        platforms = cl.get_platforms()
    except cl.Error as exc:
        raise OpenClUnavailable(f"no OpenCL platform: {exc}") from None
    found = []
    for p_index, platform in enumerate(platforms):
        try:
            devices = platform.get_devices()
        except cl.Error:
            continue  # a platform whose driver has no device present
        for d_index, device in enumerate(devices):
            found.append(
                DeviceInfo(
                    platform_index=p_index,
                    device_index=d_index,
                    platform=platform.name.strip(),
                    name=device.name.strip(),
                    is_gpu=bool(device.type & cl.device_type.GPU),
                    compute_units=int(device.max_compute_units),
                    global_mem_bytes=int(device.global_mem_size),
                    cache_bytes=int(device.global_mem_cache_size),
                    device=device,
                )
            )
    if not found:
        raise OpenClUnavailable("no OpenCL device: no platform reports one (is an OpenCL ICD installed?)")
    return found


def select_device(spec: str | None, *, gpu_only: bool) -> DeviceInfo:
    """The device named by ``spec`` (OPENCL_DEVICE), else the first GPU, else (unless ``gpu_only``) the
    first device of any type (e.g. pocl on the CPU, which the tests use)."""
    devices = list_devices()
    spec = (spec or "").strip()
    if spec:
        if ":" in spec and all(part.strip().isdigit() for part in spec.split(":", 1)):
            p, d = (int(part) for part in spec.split(":", 1))
            chosen = [x for x in devices if x.platform_index == p and x.device_index == d]
        else:
            chosen = [
                x for x in devices if spec.lower() in x.name.lower() or spec.lower() in x.platform.lower()
            ]
        if not chosen:
            listed = "; ".join(x.describe() for x in devices)
            raise OpenClUnavailable(f"OPENCL_DEVICE={spec!r} matches no device (devices: {listed})")
        if gpu_only and not chosen[0].is_gpu:
            raise OpenClUnavailable(f"OPENCL_DEVICE={spec!r} is not a GPU: {chosen[0].describe()}")
        return chosen[0]
    gpus = [x for x in devices if x.is_gpu]
    if gpus:
        return gpus[0]
    if gpu_only:
        raise OpenClUnavailable("no OpenCL GPU (only: " + "; ".join(x.describe() for x in devices) + ")")
    return devices[0]
