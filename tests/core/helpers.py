"""Helpers of the core tests: the AshMaize vector file and how to read its entries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from scavenger.core import Rom
from vector_files import VECTORS_DIR

VECTORS_FILE = VECTORS_DIR / "ashmaize.json"
# ROMs up to this size are cheap enough (well under a second) for the default run.
SMALL_ROM_LIMIT = 64 << 20

RomFactory = Callable[..., Rom]


def load_vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS_FILE.read_text())
    return data


def decode(text: str, encoding: str) -> bytes:
    if encoding == "utf8":
        return text.encode("utf-8")
    if encoding == "hex":
        return bytes.fromhex(text)
    raise ValueError(f"unknown encoding {encoding!r}")


def rom_args(vector: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of ``Rom`` for a vector entry."""
    if vector["rom_generation"] == "FullRandom":
        return {"size": vector["rom_size"], "full_random": True}
    return {
        "size": vector["rom_size"],
        "pre_size": vector["pre_size"],
        "mixing_numbers": vector["mixing_numbers"],
    }
