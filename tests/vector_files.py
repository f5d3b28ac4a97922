"""Test vector files: one copy in tests/vectors/, checked against ../shared/vectors/ by test_vectors.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).parent / "vectors"
SHARED_VECTORS_DIR = Path(__file__).resolve().parents[2] / "shared" / "vectors"
VECTOR_FILES = ("ashmaize.json", "cardano.json", "scavenger_captures.json")


def load_vector_file(name: str) -> Any:
    return json.loads((VECTORS_DIR / name).read_text(encoding="utf-8"))
