"""What the client reports after every HTTP reply (for the stats reporter's /insert_api_return)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class ApiEvent:
    endpoint: str  # terms, register, challenge, solution, donate_to, work_to_star_rate, statistics
    method: str
    url: str
    address: str | None
    status: int
    body: Any  # parsed JSON, or None for a non-JSON reply
    attempt: int
    elapsed: float  # seconds for this attempt
    description: str | None = None  # for non-JSON replies: what came back instead
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
