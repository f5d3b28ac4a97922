"""OpenCL AshMaize backend: the same contract as ``Rom.search`` on a GPU (or any OpenCL device).

The kernel source lives beside this file as ``.cl`` files whose pieces carry the names of the Rust
core (``blake2b.cl`` ~ rust/src/blake2b.rs, ``vm.cl`` ~ rust/src/vm.rs, ``ashmaize.cl`` the kernels).
pyopencl is optional (extra ``gpu``): nothing here imports it until a device is asked for, so the
rest of the package installs and runs without any OpenCL runtime.
"""

from __future__ import annotations

from importlib import resources

KERNEL_FILES = ("blake2b.cl", "vm.cl", "ashmaize.cl")


class OpenClUnavailable(RuntimeError):
    """No usable OpenCL: pyopencl missing, no platform, or no device matching OPENCL_DEVICE."""


class BackendMismatch(RuntimeError):
    """The device computed a hash that differs from the CPU core: the device backend is stopped."""


def kernel_source() -> str:
    """The kernel program: the ``.cl`` files concatenated in dependency order."""
    here = resources.files(__name__)
    return "\n".join(here.joinpath(name).read_text(encoding="utf-8") for name in KERNEL_FILES)
