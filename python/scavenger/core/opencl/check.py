"""Bit-exactness check of the OpenCL kernel against the AshMaize vectors (``tests/vectors/ashmaize.json``):
each distinct ROM is built once by the CPU core, its window uploaded, and every vector's preimage hashed
on the device. Used by the tests and by ``scripts/gpu-check.sh``:

    python -m scavenger.core.opencl.check tests/vectors/ashmaize.json [--device P:D]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scavenger.core import Rom


@dataclass(frozen=True)
class VectorResult:
    ident: str
    ok: bool
    device_hex: str
    expected_hex: str


def _bytes(text: str, encoding: str) -> bytes:
    return bytes.fromhex(text) if encoding == "hex" else text.encode("utf-8")


def _rom_ident(v: dict[str, Any]) -> tuple[Any, ...]:
    return (
        v["rom_key"],
        v["rom_key_encoding"],
        v["rom_generation"],
        v["rom_size"],
        v.get("pre_size"),
        v.get("mixing_numbers"),
    )


def _build(key: bytes, **kwargs: Any) -> Rom:
    return Rom(key, **kwargs)


def check_vectors(
    vectors: Iterable[dict[str, Any]],
    load: Callable[[Rom], Any],
    progress: Callable[[str], None] = lambda _: None,
    build: Callable[..., Rom] = _build,
) -> list[VectorResult]:
    """Hashes every vector on the device given by ``load`` (Rom -> OpenClRom); one ROM build per key
    (``build(key, **Rom keyword arguments)``, e.g. a cache shared with other tests)."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for v in vectors:
        groups.setdefault(_rom_ident(v), []).append(v)
    results = []
    for group in groups.values():
        first = group[0]
        key = _bytes(first["rom_key"], first["rom_key_encoding"])
        started = time.perf_counter()
        if first["rom_generation"] == "FullRandom":
            rom = build(key, size=first["rom_size"], full_random=True)
        else:
            rom = build(
                key,
                size=first["rom_size"],
                pre_size=first["pre_size"],
                mixing_numbers=first["mixing_numbers"],
            )
        device_rom = load(rom)
        progress(f"ROM {first['rom_size']} bytes built and uploaded in {time.perf_counter() - started:.1f} s")
        # One launch per (nb_loops, nb_instrs) pair of this ROM.
        by_params: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for v in group:
            by_params.setdefault((v["nb_loops"], v["nb_instrs"]), []).append(v)
        for (loops, instrs), items in by_params.items():
            preimages = [_bytes(v["preimage"], v["preimage_encoding"]) for v in items]
            digests = device_rom.device_hashes(preimages, nb_loops=loops, nb_instrs=instrs)
            for v, digest in zip(items, digests, strict=True):
                results.append(
                    VectorResult(
                        str(v.get("id", "?")), digest.hex() == v["digest_hex"], digest.hex(), v["digest_hex"]
                    )
                )
    return results


def main(argv: list[str] | None = None) -> int:
    from scavenger.core.backend import open_backend
    from scavenger.core.opencl import OpenClUnavailable

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vectors", type=Path)
    parser.add_argument("--device", default=None, help="OPENCL_DEVICE (P:D or part of the name)")
    parser.add_argument("--max-rom-size", type=int, default=None, help="skip vectors with larger ROMs")
    args = parser.parse_args(argv)
    vectors = json.loads(args.vectors.read_text(encoding="utf-8"))["vectors"]
    if args.max_rom_size is not None:
        vectors = [v for v in vectors if v["rom_size"] <= args.max_rom_size]
    try:
        backend = open_backend("opencl", args.device)
    except OpenClUnavailable as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 2
    assert backend.device is not None
    device = backend.device
    print(f"check: device {device.info.describe()}", flush=True)
    results = check_vectors(vectors, device.load, lambda line: print(f"check: {line}", flush=True))
    for r in results:
        status = "ok" if r.ok else f"MISMATCH device {r.device_hex[:16]}… expected {r.expected_hex[:16]}…"
        print(f"check: vector {r.ident:>3} {status}")
    good = sum(r.ok for r in results)
    print(f"check: {good}/{len(results)} vectors bit-exact on {device.name}", flush=True)
    return 0 if good == len(results) and results else 1


if __name__ == "__main__":
    sys.exit(main())
