"""Which (wallet, challenge) pair to mine next.

Rule: every wallet mines every open challenge it has not solved, nearest deadline first (a challenge about to
close is worth the same as a fresh one, so it goes first), until the deadline minus a safety margin (a
solution found after the deadline cannot be accepted). Pure functions, so the policy is tested without a ROM.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# A batch is ~1 s; stop a little earlier so a found nonce still has time to reach the server.
DEADLINE_MARGIN = 5.0


@dataclass(frozen=True)
class Work:
    address: str
    challenge_id: str
    deadline: float
    rom_key: str
    challenge: dict[str, Any]


def parse_time(text: str) -> float:
    """ISO-8601 ``2025-11-20T23:59:59.000Z`` (or without ms, or with an offset) -> Unix time."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO-8601 time: {text!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"time without a zone (expected ...Z): {text!r}")
    return parsed.timestamp()


def expected_hashes(difficulty: str) -> float:
    """Mean hashes to find a solution: 2^(number of zero bits in the 32-bit mask)."""
    mask = int(difficulty, 16)
    zero_bits = 32 - bin(mask & 0xFFFFFFFF).count("1")
    return math.ldexp(1.0, zero_bits)


def plan(
    challenges: Iterable[tuple[dict[str, Any], float]],
    addresses: Sequence[str],
    solved: set[tuple[str, str]],
    now: float,
    margin: float = DEADLINE_MARGIN,
) -> list[Work]:
    """All pairs still worth mining, best first: nearest deadline, then challenge id, then wallet order."""
    work = []
    for body, deadline in challenges:
        if deadline - margin <= now:
            continue
        challenge_id = body["challenge_id"]
        for address in addresses:
            if (address, challenge_id) not in solved:
                work.append(Work(address, challenge_id, deadline, body["no_pre_mine"], body))
    order = {a: i for i, a in enumerate(addresses)}
    work.sort(key=lambda w: (w.deadline, w.challenge_id, order[w.address]))
    return work
