"""Every BLAKE2b lane kernel (AVX-512, AVX2, portable) gives the reference results: the
kernel is picked at run time, so each forced level runs in its own process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scavenger import _core
from timing import scaled

from .helpers import VECTORS_FILE

SCRIPT = """
import json, sys
from scavenger import _core
from scavenger.core import Rom
vectors = json.load(open(sys.argv[1]))["vectors"]
v = next(v for v in vectors if v["id"] == 0)
rom = Rom(b"123", size=v["rom_size"], pre_size=v["pre_size"], mixing_numbers=4)
assert rom.hash(b"hello").hex() == v["digest_hex"]
# The search hashes eight nonces per group through the lane kernel.
suffix = b"kernels"
direct = [rom.hash(b"%016x" % n + suffix, nb_loops=2) for n in range(16)]
first = next(n for n, d in enumerate(direct) if int.from_bytes(d[:4], "big") & ~0x7FFFFFFF == 0)
found = rom.search(suffix, 0, 16, 0x7FFFFFFF, threads=2, nb_loops=2)
assert found.nonce == first and found.hash == direct[first], (found, first)
print(_core._simd_kernel())
"""


def test_kernel_name_is_known() -> None:
    assert _core._simd_kernel() in {"avx512", "avx2", "portable"}


@pytest.mark.parametrize("level", ["portable", "avx2", ""])
def test_forced_kernel_matches_reference(level: str) -> None:
    vectors = str(VECTORS_FILE)
    env = {**os.environ, "SCAVENGER_SIMD": level}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, vectors],
        capture_output=True,
        text=True,
        timeout=scaled(120),
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    used = done.stdout.strip()
    if level == "portable":
        assert used == "portable"
    elif level == "avx2":
        assert used in {"avx2", "portable"}  # portable only on a CPU without AVX2
    else:
        assert used == _core._simd_kernel()
