from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"


def load_json(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """Copy of /work/shared/vectors/cardano.json (public test mnemonics only)."""
    data: dict[str, Any] = load_json("cardano.json")
    return data


@pytest.fixture(scope="session")
def captures() -> list[dict[str, Any]]:
    """Register capture, shadowharvester CIP-8 vector and donate example from scavenger_captures.json."""
    data: list[dict[str, Any]] = load_json("scavenger_captures_signatures.json")
    return data
